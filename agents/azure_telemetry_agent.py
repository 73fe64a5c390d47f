"""OpenFinOps ``agents/azure_telemetry_agent.py``: Azure (VMs, AKS, Functions, SQL, Storage), as CloudTally's
``AzureTelemetryAgent``.

``from agents.azure_telemetry_agent import AzureTelemetryAgent``, or run ``python
agents/azure_telemetry_agent.py --help`` (= ``cloudtally agent azure --help``). See :mod:`agents._wrapper`.
"""

import sys

if __package__:
    from . import _wrapper
else:  # run as a script: the checkout's root makes ``agents`` importable
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from agents import _wrapper

__getattr__ = _wrapper.lazy("azure_telemetry_agent")

if __name__ == "__main__":
    sys.exit(_wrapper.main("azure_telemetry_agent"))
