"""OpenFinOps ``agents/saas_services_telemetry_agent.py``: SaaS services (MongoDB Atlas, Redis Cloud, GitHub,
Datadog), as CloudTally's ``SaaSServicesTelemetryAgent``.

``from agents.saas_services_telemetry_agent import SaaSServicesTelemetryAgent``, or run ``python
agents/saas_services_telemetry_agent.py --help`` (= ``cloudtally agent saas --help``). See
:mod:`agents._wrapper`.
"""

import sys

if __package__:
    from . import _wrapper
else:  # run as a script: the checkout's root makes ``agents`` importable
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from agents import _wrapper

__getattr__ = _wrapper.lazy("saas_services_telemetry_agent")

if __name__ == "__main__":
    sys.exit(_wrapper.main("saas_services_telemetry_agent"))
