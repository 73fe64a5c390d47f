"""One run of a data-platform collector for an agent: a fixed window, a ListSink, the agent's secrets; and
the records the totals count (billed supersedes estimated per account and day, as the API's totals do)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def collect(agent: Any, collector: str, hours: float, *, config: dict[str, Any], env: dict[str, str],
            clients: Any = None) -> tuple[list[Any], list[Any], dict[str, Any], datetime]:
    """(counted records, metric points, run summary, now) of ``collector`` over the agent's last ``hours``."""
    from ..collectors import registry, runner
    from ..collectors.secrets import Secrets

    spec = registry.get(collector)
    now = agent.now()
    window = runner.Window(now - timedelta(hours=hours), now)
    sink = runner.ListSink()
    summary = runner.run(spec, sink=sink, clients=clients, config=config, now=now, window=window, logger=agent.log,
                         secrets=Secrets(spec.all_secrets, env=env))
    return counted(list(sink.records.values())), list(sink.metrics), summary, now


def counted(records: list[Any]) -> list[Any]:
    billed_days = {(r.BillingAccountId, r.day) for r in records if r.x_CostSource == "billed"}
    return [r for r in records if r.x_CostSource == "billed" or (r.BillingAccountId, r.day) not in billed_days]
