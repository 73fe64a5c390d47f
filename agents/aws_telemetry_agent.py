"""OpenFinOps ``agents/aws_telemetry_agent.py``: AWS (EC2, EKS, Lambda, RDS, S3), as CloudTally's
``AWSTelemetryAgent``.

``from agents.aws_telemetry_agent import AWSTelemetryAgent``, or run ``python agents/aws_telemetry_agent.py
--help`` (= ``cloudtally agent aws --help``). See :mod:`agents._wrapper`.
"""

import sys

if __package__:
    from . import _wrapper
else:  # run as a script: the checkout's root makes ``agents`` importable
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from agents import _wrapper

__getattr__ = _wrapper.lazy("aws_telemetry_agent")

if __name__ == "__main__":
    sys.exit(_wrapper.main("aws_telemetry_agent"))
