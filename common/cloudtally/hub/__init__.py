"""OpenFinOps-compatible hubs backed by the CloudTally API."""

from .cost_observatory import Budget, CostEntry, CostObservatory

__all__ = ["Budget", "CostEntry", "CostObservatory"]
