"""OpenFinOps-compatible telemetry agents, running CloudTally's collectors (no second implementation)."""

from .aws_telemetry_agent import AWSTelemetryAgent
from .azure_telemetry_agent import AzureTelemetryAgent

__all__ = ["AWSTelemetryAgent", "AzureTelemetryAgent"]
