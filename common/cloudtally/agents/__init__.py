"""OpenFinOps-compatible telemetry agents, running CloudTally's collectors (no second implementation)."""

from .aws_telemetry_agent import AWSTelemetryAgent
from .databricks_telemetry_agent import DatabricksTelemetryAgent
from .snowflake_telemetry_agent import SnowflakeTelemetryAgent

__all__ = ["AWSTelemetryAgent", "DatabricksTelemetryAgent", "SnowflakeTelemetryAgent"]
