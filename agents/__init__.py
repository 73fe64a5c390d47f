"""The OpenFinOps docs' agent scripts, by their file names, as thin wrappers of CloudTally's agents.

From a checkout (the repository root on ``sys.path``)::

    from agents.aws_telemetry_agent import AWSTelemetryAgent
    python agents/databricks_telemetry_agent.py --openfinops-endpoint http://localhost:8080 --interval 300

See :mod:`agents._wrapper`.
"""
