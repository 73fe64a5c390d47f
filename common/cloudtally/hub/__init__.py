"""OpenFinOps-compatible hubs backed by the CloudTally API."""

from .cost_observatory import Budget, CostEntry, CostObservatory
from .observability_hub import ObservabilityHub

__all__ = ["Budget", "CostEntry", "CostObservatory", "ObservabilityHub"]
