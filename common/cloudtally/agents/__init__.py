"""OpenFinOps-compatible telemetry agents, running CloudTally's collectors (no second implementation)."""

from .aws_telemetry_agent import AWSTelemetryAgent
from .gcp_telemetry_agent import GCPTelemetryAgent

__all__ = ["AWSTelemetryAgent", "GCPTelemetryAgent"]
