"""OpenFinOps-compatible hubs backed by the CloudTally API (one implementation each: ``ObservabilityHub``
lives in :mod:`cloudtally.observability.observability_hub`, re-exported here)."""

from ..observability.observability_hub import ObservabilityHub
from .cost_observatory import Budget, CostEntry, CostObservatory

__all__ = ["Budget", "CostEntry", "CostObservatory", "ObservabilityHub"]
