"""gcp: see :mod:`cloudtally.providers` (this package imports nothing on its own)."""
