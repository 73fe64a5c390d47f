"""CloudTally: serverless FinOps on FOCUS-shaped cost records.

Importing this package imports no cloud SDK; collectors and the store import theirs lazily. The OpenFinOps
top-level names (``from openfinops import ObservabilityHub``) are here too, imported on first use.
"""

from typing import Any

__version__ = "0.1.0"

_LAZY = {"ObservabilityHub": "cloudtally.observability.observability_hub",
         "LLMObservabilityHub": "cloudtally.observability.llm_observability",
         "CostObservatory": "cloudtally.hub.cost_observatory"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cloudtally' has no attribute {name!r}")
