"""Anomalies end to end: records in DynamoDB Local → detection → one SNS message; expected suppresses repeats."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cloudtally.alerts import AlertEvaluator, run_concurrently
from cloudtally.focus import parse_record
from cloudtally.store.budgets_repo import AnomalyRepo
from tests.helpers import rec
from tests.integration.test_alerts_sns import drain, sns_sqs  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration
D0 = date(2024, 7, 1)
SPIKE = D0 + timedelta(days=45)


def _records(days: int, spike: dict[date, Decimal]):
    rng = random.Random(11)
    out = []
    for i in range(days):
        d = D0 + timedelta(days=i)
        for svc, mean in (("Amazon EC2", 400), ("Amazon S3", 120), ("AWS Lambda", 60)):
            cost = Decimal(mean) + Decimal(rng.randint(-1000, 1000)) * mean / 40000
            cost += spike.get(d, Decimal(0)) if svc == "Amazon S3" else 0
            out.append(parse_record(rec(ServiceName=svc, ResourceId=f"r-{svc}", BilledCost=str(cost),
                                        ChargePeriodStart=f"{d.isoformat()}T00:00:00Z",
                                        ChargePeriodEnd=f"{(d + timedelta(days=1)).isoformat()}T00:00:00Z")))
    return out


def noon(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 12, tzinfo=timezone.utc)


def test_spike_is_one_anomaly_sent_once_and_marking_it_expected_suppresses_the_repeat(store, settings, sns_sqs):
    sns, sqs, topic, q = sns_sqs
    cfg = dataclasses.replace(settings, sns_topic_arn=topic)
    store.write_records(_records(48, {SPIKE: Decimal(300), SPIKE + timedelta(days=1): Decimal(300)}))
    quiet = AlertEvaluator(store, sns, cfg).run(noon(SPIKE), budgets=False)  # detects the day before the spike
    assert quiet.anomalies == 0
    run_concurrently(lambda: AlertEvaluator(store, sns, cfg), 4, noon(SPIKE + timedelta(days=1)), budgets=False)
    msgs = drain(sqs, q)
    assert len(msgs) == 1
    a = msgs[0]["message"]
    assert a["kind"] == "anomaly" and a["root_cause"] == {"dimension": "service", "value": "Amazon S3"}
    assert a["day"] == SPIKE.isoformat() and Decimal(a["observed"]) - Decimal(a["expected"]) > 250
    assert msgs[0]["attributes"]["severity"]["Value"] == a["severity"]
    assert "Amazon S3" in msgs[0]["subject"]
    repo = AnomalyRepo(store)
    repo.mark_expected(a["id"])
    # the repeat on the next day is recorded as expected and pages no one
    report = AlertEvaluator(store, sns, cfg).run(noon(SPIKE + timedelta(days=2)), budgets=False)
    assert report.anomalies == 1 and not report.published
    assert drain(sqs, q) == []
    listed = repo.list(SPIKE, SPIKE + timedelta(days=2))
    assert [(x["day"], x["status"]) for x in listed] == [((SPIKE + timedelta(days=1)).isoformat(), "expected"),
                                                         (SPIKE.isoformat(), "expected")]
