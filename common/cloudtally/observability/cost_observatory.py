"""``openfinops.observability.cost_observatory`` on CloudTally: the API-backed ``CostObservatory``
(implemented in :mod:`cloudtally.hub.cost_observatory`)."""

from ..hub.cost_observatory import Budget, CostEntry, CostObservatory

__all__ = ["Budget", "CostEntry", "CostObservatory"]
