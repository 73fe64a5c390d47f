"""OpenFinOps-compatible telemetry agents, running CloudTally's collectors (no second implementation)."""

from .aws_telemetry_agent import AWSTelemetryAgent

__all__ = ["AWSTelemetryAgent"]
