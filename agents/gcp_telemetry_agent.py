"""OpenFinOps ``agents/gcp_telemetry_agent.py``: GCP (Compute Engine, GKE, Cloud Functions, Cloud SQL, Storage),
as CloudTally's ``GCPTelemetryAgent``.

``from agents.gcp_telemetry_agent import GCPTelemetryAgent``, or run ``python agents/gcp_telemetry_agent.py
--help`` (= ``cloudtally agent gcp --help``). See :mod:`agents._wrapper`.
"""

import sys

if __package__:
    from . import _wrapper
else:  # run as a script: the checkout's root makes ``agents`` importable
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from agents import _wrapper

__getattr__ = _wrapper.lazy("gcp_telemetry_agent")

if __name__ == "__main__":
    sys.exit(_wrapper.main("gcp_telemetry_agent"))
