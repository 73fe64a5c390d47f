"""The OpenFinOps observability API (``openfinops.observability``) on CloudTally: API clients only.

``from cloudtally.observability import ObservabilityHub`` is the OpenFinOps
``from openfinops.observability import ObservabilityHub``; the modules mirror OpenFinOps':
``cloudtally.observability.observability_hub`` (``ObservabilityHub``, ``SystemMetrics``, ``ServiceMetrics``),
``cloudtally.observability.llm_observability`` (``LLMObservabilityHub``, ``LLMTrainingMetrics``,
``RAGPipelineMetrics``) and ``cloudtally.observability.cost_observatory`` (``CostObservatory``, ``CostEntry``,
``Budget``).
"""

from .markers import NotCollected
from .observability_hub import ObservabilityHub, ServiceMetrics, SystemMetrics

__all__ = ["NotCollected", "ObservabilityHub", "ServiceMetrics", "SystemMetrics"]
