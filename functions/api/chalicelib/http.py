"""Tests and benchmarks inject a service bound to their own store here (the app itself is built by
:func:`cloudtally.api.chalice_app.build_app`)."""

from cloudtally.api.chalice_app import service, set_service  # noqa: F401
