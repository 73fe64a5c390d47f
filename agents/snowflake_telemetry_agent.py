"""OpenFinOps ``agents/snowflake_telemetry_agent.py``: Snowflake (credits, warehouses, storage), as CloudTally's
``SnowflakeTelemetryAgent``.

``from agents.snowflake_telemetry_agent import SnowflakeTelemetryAgent``, or run ``python
agents/snowflake_telemetry_agent.py --help`` (= ``cloudtally agent snowflake --help``). See
:mod:`agents._wrapper`.
"""

import sys

if __package__:
    from . import _wrapper
else:  # run as a script: the checkout's root makes ``agents`` importable
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from agents import _wrapper

__getattr__ = _wrapper.lazy("snowflake_telemetry_agent")

if __name__ == "__main__":
    sys.exit(_wrapper.main("snowflake_telemetry_agent"))
