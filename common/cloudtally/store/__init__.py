"""DynamoDB store (PynamoDB): records, rollups, keys, agents, collector status, metric points.

``Store`` is imported lazily so that modules needing only the record codec (the API's cold start,
exports) do not pay for PynamoDB and botocore at import.
"""

from typing import Any

from ..query import Query, parse_query

__all__ = ["Query", "Store", "WriteResult", "parse_query"]


def __getattr__(name: str) -> Any:
    if name in ("Store", "WriteResult"):
        from . import repository
        return getattr(repository, name)
    raise AttributeError(name)
