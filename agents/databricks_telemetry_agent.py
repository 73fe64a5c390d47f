"""OpenFinOps ``agents/databricks_telemetry_agent.py``: Databricks (DBUs, clusters, jobs, SQL warehouses), as
CloudTally's ``DatabricksTelemetryAgent``.

``from agents.databricks_telemetry_agent import DatabricksTelemetryAgent``, or run ``python
agents/databricks_telemetry_agent.py --help`` (= ``cloudtally agent databricks --help``). See
:mod:`agents._wrapper`.
"""

import sys

if __package__:
    from . import _wrapper
else:  # run as a script: the checkout's root makes ``agents`` importable
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from agents import _wrapper

__getattr__ = _wrapper.lazy("databricks_telemetry_agent")

if __name__ == "__main__":
    sys.exit(_wrapper.main("databricks_telemetry_agent"))
