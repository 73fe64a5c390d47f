"""DynamoDB store (PynamoDB): records, rollups, keys, agents, collector status, metric points."""

from ..query import Query, parse_query
from .repository import Store, WriteResult

__all__ = ["Query", "Store", "WriteResult", "parse_query"]
