"""Alert evaluator Lambda: on its schedule, and after ingest (DynamoDB stream of the table).

* Scheduled (EventBridge): every budget and yesterday's anomalies.
* Post-ingest (DynamoDB stream, filtered to rollup dirty markers ``U#<month>`` / ``<day>#d``): the
  budgets whose current period contains a touched day; anomalies wait for the schedule.

Thin: parse the event, call :class:`cloudtally.alerts.AlertEvaluator`, return its report. A publish
that failed is retried by the next run; the handler raises so the failure is visible in metrics.
"""

from __future__ import annotations

import logging
from typing import Any

from cloudtally.alerts import AlertEvaluator
from cloudtally.config import settings
from cloudtally.errors import CloudTallyError

log = logging.getLogger("cloudtally.alerts")
_clients: dict[str, Any] = {}


def touched_days(event: dict[str, Any]) -> list[str] | None:
    """Days whose rollups were marked dirty, from a DynamoDB stream event; None for other events."""
    recs = event.get("Records")
    if not isinstance(recs, list):
        return None
    days = set()
    for r in recs:
        keys = ((r.get("dynamodb") or {}).get("Keys") or {}) if isinstance(r, dict) else {}
        pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
        if pk.startswith("U#") and sk.endswith("#d"):
            days.add(sk[:-2])
    return sorted(days)


def _evaluator() -> AlertEvaluator:
    if "evaluator" not in _clients:
        import boto3  # created on first invocation, never at import
        from cloudtally.store import Store
        cfg = settings()
        _clients["evaluator"] = AlertEvaluator(Store(cfg), boto3.client("sns", region_name=cfg.region), cfg)
    return _clients["evaluator"]


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    days = touched_days(event or {})
    if days == []:
        return {"skipped": "no rollup day touched"}
    report = _evaluator().run(budgets=True, anomalies=days is None, touched_days=days)
    out = report.to_dict()
    log.info("alerts: %d published, %d failed, %d already claimed", len(report.published), len(report.failed),
             report.already_claimed)
    if report.failed:
        raise CloudTallyError(f"{len(report.failed)} alert(s) not published; the next run retries them",
                              code="alerts_pending", details=report.failed)
    return out
