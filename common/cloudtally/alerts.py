"""The alert evaluator: budget thresholds and cost anomalies → SNS, each alert published once.

For every budget threshold crossed in the current period, and every new anomaly, the evaluator
claims the alert in the ledger (a conditional write only one concurrent evaluator wins), publishes
it to the SNS topic from config, and marks it sent. A failed publish releases the claim, so the next
evaluation retries it; nothing is dropped and nothing is sent twice by CloudTally. The message
carries a stable ``dedup_id`` (also a message attribute, and the FIFO deduplication id on a
``.fifo`` topic) so a subscriber can drop the duplicate of a lost SNS acknowledgment.

The SNS client is injected (the Lambda handler and the CLI create it; tests point it at moto). The
clock (``cfg.clock``, or ``clock=``) is "now" for :meth:`AlertEvaluator.run` and the time the ledger
records for each claim and acknowledgment; ``run(now=...)`` evaluates another instant (a backfill)
without changing when things happened.
"""

from __future__ import annotations

import hashlib
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable

from . import anomaly as anomaly_mod
from . import budgets as budgets_mod
from .clock import Clock, utc_now
from .config import Settings
from .errors import ConfigError
from .focus import UTC
from .money import dumps, fmt
from .query import Query
from .store.budgets_repo import AlertLedger, AnomalyRepo, BudgetRepo

log = logging.getLogger("cloudtally.alerts")
ANOMALY_DIMS = ("provider", "account", "service")


@dataclass
class Report:
    evaluated_budgets: int = 0
    published: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    already_claimed: int = 0
    anomalies: int = 0
    not_evaluated: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"evaluated_budgets": self.evaluated_budgets, "published": self.published, "failed": self.failed,
                "already_claimed": self.already_claimed, "anomalies": self.anomalies,
                "not_evaluated": self.not_evaluated}


def dedup_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def _subject(text: str) -> str:
    """SNS subjects: ASCII, no line breaks, at most 100 characters."""
    s = re.sub(r"[^\x20-\x7e]", "?", text)
    return s if len(s) <= 100 else s[:97] + "..."


def _attrs(**kv: Any) -> dict[str, dict[str, str]]:
    out = {}
    for k, v in kv.items():
        if v is None or v == "":
            continue
        if isinstance(v, Decimal):
            out[k] = {"DataType": "Number", "StringValue": fmt(v)}
        else:
            out[k] = {"DataType": "String", "StringValue": str(v)[:256]}
    return out


class AlertEvaluator:
    """One evaluation pass over all budgets (and, optionally, anomalies of recent days)."""

    def __init__(self, store, sns, cfg: Settings, *, lease_seconds: int = 300,
                 anomaly_cfg: anomaly_mod.AnomalyConfig | None = None, fx: budgets_mod.FxTable | None = None,
                 clock: Clock | None = None):
        if not cfg.sns_topic_arn:
            raise ConfigError("CLOUDTALLY_SNS_TOPIC_ARN is not set: the alert evaluator needs a topic")
        self.store = store
        self.sns = sns
        self.cfg = cfg
        self.topic = cfg.sns_topic_arn
        self.clock = clock or cfg.clock
        self.budgets = BudgetRepo(store)
        self.ledger = AlertLedger(store, lease_seconds=lease_seconds, clock=self.clock.timestamp)
        self.anomalies = AnomalyRepo(store)
        self.anomaly_cfg = anomaly_cfg or anomaly_mod.AnomalyConfig()
        self.fx = fx or budgets_mod.fx_table()

    # ------------------------------------------------------------------ publishing
    def _link(self, frag: str) -> str | None:
        return f"{self.cfg.dashboard_url.rstrip('/')}/#/{frag}" if self.cfg.dashboard_url else None

    def _send_once(self, key: str, subject: str, message: dict[str, Any], attrs: dict, report: Report) -> None:
        did = dedup_id(key)
        if not self.ledger.claim(key, did):
            report.already_claimed += 1
            return
        message = {**message, "dedup_id": did}
        kwargs: dict[str, Any] = {"TopicArn": self.topic, "Subject": _subject(subject), "Message": dumps(message),
                                  "MessageAttributes": {**attrs, **_attrs(dedup_id=did)}}
        if self.topic.endswith(".fifo"):
            kwargs["MessageDeduplicationId"] = did
            kwargs["MessageGroupId"] = message.get("kind", "cloudtally")
        try:
            resp = self.sns.publish(**kwargs)
        except Exception as e:  # any SNS/transport failure: give the claim back for the next evaluation
            log.warning("publish of %s failed, released for retry: %s", key, e)
            self.ledger.release(key, f"{type(e).__name__}: {e}")
            report.failed.append({"key": key, "error": f"{type(e).__name__}: {str(e)[:200]}"})
            return
        self.ledger.mark_sent(key, resp.get("MessageId", ""))
        report.published.append({"key": key, "dedup_id": did, "message_id": resp.get("MessageId")})

    # ------------------------------------------------------------------ budgets
    def evaluate_budget(self, b: budgets_mod.Budget, now: datetime, report: Report) -> dict[str, Any]:
        st = budgets_mod.evaluate(b, self.store, now, self.fx)
        report.evaluated_budgets += 1
        if st["status"] == "cannot_evaluate":
            report.not_evaluated.append({"budget_id": b.id, "reason": st["reason"]})
            return st
        period = st["period"]
        for t in st["thresholds"]:
            if t["state"] != "crossed":
                continue
            pct = fmt(t["percentage"].normalize())
            key = f"budget#{b.id}#{period['label']}#{t['type']}#{pct}"
            fc = st["forecast"] or {}
            what = (f"spent {fmt(st['percentage_used'])} %" if t["type"] == "actual"
                    else f"forecast {fmt(fc.get('percentage', Decimal(0)))} %")
            msg = {"kind": "budget", "budget": {"id": b.id, "name": b.name},
                   "threshold": {"type": t["type"], "percentage": t["percentage"]},
                   "period": period, "amount": b.amount, "spent": st["spent"], "remaining": st["remaining"],
                   "percentage_used": st["percentage_used"], "status": st["status"],
                   "forecast": fc.get("value"), "forecast_interval": [fc.get("low"), fc.get("high")],
                   "forecast_method": fc.get("method"), "currency": b.currency,
                   "dashboard_url": self._link(f"budgets/{b.id}"), "evaluated_at": st["evaluated_at"]}
            subject = f"Budget {b.name}: {t['type']} {pct}% threshold crossed for {period['label']} ({what})"
            attrs = _attrs(kind="budget", budget_id=b.id, threshold_type=t["type"], threshold=t["percentage"],
                           currency=b.currency, status=st["status"], period=period["label"])
            self._send_once(key, subject, msg, attrs, report)
        return st

    # ------------------------------------------------------------------ anomalies
    def detect_anomalies(self, day: date) -> list[dict[str, Any]]:
        """Detect and store the anomalies of one (complete) day; returns them with their stored status."""
        dims = ANOMALY_DIMS + tuple(f"tag:{k}" for k in self.store.cfg.rollup_tag_keys[:2])
        window = self.anomaly_cfg.window
        q = Query(start=day - timedelta(days=window), end=day + timedelta(days=1), granularity="day", group_by=dims)
        res = self.store.summary(q)
        supp = self.anomalies.suppressions(day)
        found = []
        for cur, leaves in anomaly_mod.leaves_from_summary(res["results"], dims).items():
            for a in anomaly_mod.detect(leaves, dims, day, currency=cur, cfg=self.anomaly_cfg, suppressed=supp):
                found.append(self.anomalies.put(a))
        return found

    def alert_anomalies(self, found: Iterable[dict[str, Any]], report: Report) -> None:
        for a in found:
            report.anomalies += 1
            if a.get("status") != "open":
                continue
            rc = a["root_cause"]
            msg = {"kind": "anomaly", **a, "dashboard_url": self._link(f"anomalies/{a['id']}")}
            subject = (f"Cost anomaly {a['severity']}: {rc['dimension']} {rc['value']} on {a['day']} "
                       f"({fmt(a['observed'])} vs {fmt(a['expected'])} {a['currency']} expected)")
            attrs = _attrs(kind="anomaly", severity=a["severity"], dimension=rc["dimension"], currency=a["currency"],
                           impact=a["impact"])
            self._send_once(f"anomaly#{a['id']}", subject, msg, attrs, report)

    # ------------------------------------------------------------------ entry point
    def run(self, now: datetime | None = None, *, budgets: bool = True, anomalies: bool = True,
            touched_days: Iterable[str] | None = None) -> Report:
        """Evaluate every budget (or only those whose current period contains a ``touched_days`` day)
        and, with ``anomalies``, yesterday's anomalies."""
        now = utc_now(now, self.clock)
        report = Report()
        if budgets:
            today = now.astimezone(UTC).date()
            touched = sorted(set(touched_days)) if touched_days is not None else None
            for b in self.budgets.list():
                if touched is not None:
                    s, e, _ = budgets_mod.period_bounds(b, today)
                    if not any(s.isoformat() <= d < e.isoformat() for d in touched):
                        continue
                self.evaluate_budget(b, now, report)
        if anomalies:
            day = now.astimezone(UTC).date() - timedelta(days=1)
            self.alert_anomalies(self.detect_anomalies(day), report)
        return report


def run_concurrently(make_evaluator, n: int, now: datetime, **kw: Any) -> list[Report]:
    """Run ``n`` evaluators at once (tests and the ``--concurrency`` CLI flag use it)."""
    with ThreadPoolExecutor(n) as ex:
        return list(ex.map(lambda _: make_evaluator().run(now, **kw), range(n)))
