"""OpenFinOps-compatible telemetry agents, running CloudTally's collectors (no second implementation)."""

from .aws_telemetry_agent import AWSTelemetryAgent
from .generic_telemetry_agent import GenericTelemetryAgent
from .saas_services_telemetry_agent import SaaSServicesTelemetryAgent

__all__ = ["AWSTelemetryAgent", "GenericTelemetryAgent", "SaaSServicesTelemetryAgent"]
