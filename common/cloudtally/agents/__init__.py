"""OpenFinOps-compatible telemetry agents, running CloudTally's collectors (no second implementation)."""

from .aws_telemetry_agent import AWSTelemetryAgent
from .azure_telemetry_agent import AzureTelemetryAgent
from .databricks_telemetry_agent import DatabricksTelemetryAgent
from .gcp_telemetry_agent import GCPTelemetryAgent
from .generic_telemetry_agent import GenericTelemetryAgent
from .saas_services_telemetry_agent import SaaSServicesTelemetryAgent
from .snowflake_telemetry_agent import SnowflakeTelemetryAgent

__all__ = ["AWSTelemetryAgent", "AzureTelemetryAgent", "DatabricksTelemetryAgent", "GCPTelemetryAgent",
           "GenericTelemetryAgent", "SaaSServicesTelemetryAgent", "SnowflakeTelemetryAgent"]
