"""The store: one facade over the single table, its concerns in their own modules.

* :mod:`.base` — the connection, retried calls, consumed capacity, the paginated-query helper
* :mod:`.records` — idempotent record writes, deletes, reads
* :mod:`.rollups` — daily cubes recomputed from the records (exact after re-sends, races and crashes)
* :mod:`.queries` — the cost summary and the most expensive resources
* :mod:`.imports` — period replace: staged records that replace billing periods in one visible step
* :mod:`.keys`, :mod:`.agents`, :mod:`.collector_state`, :mod:`.metrics` — API keys, agents and host
  agents' heartbeats, collector status and day ledgers, metric points and idempotent OTLP batches
* :mod:`.budgets_repo` — budgets, the alert ledger, anomalies (repositories over a :class:`Store`)
"""

from __future__ import annotations

from .agents import AgentsMixin, HeartbeatsMixin
from .base import Table, conditional_failed, err_code  # noqa: F401 (re-export)
from .collector_state import CollectorStateMixin
from .imports import ImportsMixin
from .keys import KeysMixin
from .metrics import MetricBatchesMixin, MetricsMixin
from .queries import QueriesMixin
from .records import RecordsMixin, WriteResult  # noqa: F401 (re-export)
from .rollups import RollupsMixin

_err_code = err_code   # the name the budget repositories import


class Store(RecordsMixin, RollupsMixin, QueriesMixin, ImportsMixin, KeysMixin, AgentsMixin, CollectorStateMixin,
            MetricsMixin, HeartbeatsMixin, MetricBatchesMixin, Table):
    """Repository over the single table. Thread-safe; one per process is enough."""
