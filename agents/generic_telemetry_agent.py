"""OpenFinOps ``agents/generic_telemetry_agent.py``: custom and on-premises sources, as CloudTally's
``GenericTelemetryAgent``.

``from agents.generic_telemetry_agent import GenericTelemetryAgent``, or run ``python
agents/generic_telemetry_agent.py --help`` (= ``cloudtally agent generic --help``). See
:mod:`agents._wrapper`.
"""

import sys

if __package__:
    from . import _wrapper
else:  # run as a script: the checkout's root makes ``agents`` importable
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from agents import _wrapper

__getattr__ = _wrapper.lazy("generic_telemetry_agent")

if __name__ == "__main__":
    sys.exit(_wrapper.main("generic_telemetry_agent"))
