"""Alerts sent once: concurrent evaluators, SNS failures, new periods; against moto server SNS → SQS."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import boto3
import pytest

from cloudtally.alerts import AlertEvaluator, run_concurrently
from cloudtally.budgets import parse_budget
from cloudtally.focus import parse_record
from cloudtally.store.budgets_repo import BudgetRepo
from tests.helpers import rec

pytestmark = pytest.mark.integration


@pytest.fixture
def sns_sqs(moto_endpoint):
    kw = {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}
    sns, sqs = boto3.client("sns", **kw), boto3.client("sqs", **kw)
    name = f"alerts-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    q = sqs.create_queue(QueueName=name)["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    return sns, sqs, topic, q


def drain(sqs, q) -> list[dict]:
    out = []
    while True:
        resp = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        msgs = resp.get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            env = json.loads(m["Body"])
            out.append({"subject": env.get("Subject"), "message": json.loads(env["Message"]),
                        "attributes": env.get("MessageAttributes", {})})
            sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])


def spend(store, month: str, days: range, cost: str) -> None:
    store.write_records([parse_record(rec(ResourceId="i-budget", BilledCost=cost,
                                          ChargePeriodStart=f"{month}-{d:02d}T00:00:00Z",
                                          ChargePeriodEnd=f"{month}-{d:02d}T23:00:00Z")) for d in days])


def at(month: str, day: int) -> datetime:
    y, m = map(int, month.split("-"))
    return datetime(y, m, day, 12, tzinfo=timezone.utc)


class FlakySNS:
    """An SNS client whose first ``failures`` publishes raise, like a throttled or unreachable SNS."""

    def __init__(self, real, failures: int):
        self.real, self.failures = real, failures

    def publish(self, **kw):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("injected SNS outage")
        return self.real.publish(**kw)


def _kinds(msgs):
    return sorted((m["message"]["threshold"]["type"], m["message"]["threshold"]["percentage"]) for m in msgs)


def test_eight_concurrent_evaluators_three_runs_send_each_threshold_once(store, settings, sns_sqs):
    sns, sqs, topic, q = sns_sqs
    cfg = dataclasses.replace(settings, sns_topic_arn=topic, dashboard_url="https://costs.example.org")
    BudgetRepo(store).create(parse_budget({"id": "team-a", "name": "Team A", "amount": "1000", "currency": "USD",
                                           "scope": {"provider": "AWS"}}))

    def make():
        return AlertEvaluator(store, sns, cfg)

    # GIVEN two quiet days: 2 % spent, forecast 30 % -> nothing
    spend(store, "2024-09", range(1, 3), "10")
    run_concurrently(make, 8, at("2024-09", 3), anomalies=False)
    assert drain(sqs, q) == []
    # WHEN spend reaches 55 % (forecast 165 %): the 50 % actual and the 100 % forecast thresholds
    spend(store, "2024-09", range(1, 11), "55")
    reports = run_concurrently(make, 8, at("2024-09", 11), anomalies=False)
    first = drain(sqs, q)
    assert _kinds(first) == [("actual", "50"), ("forecast", "100")]
    assert sum(len(r.published) for r in reports) == 2
    assert sum(r.already_claimed for r in reports) == 14
    # then 85 % and 105 %
    spend(store, "2024-09", range(11, 16), "60")
    run_concurrently(make, 8, at("2024-09", 16), anomalies=False)
    second = drain(sqs, q)
    spend(store, "2024-09", range(16, 21), "40")
    run_concurrently(make, 8, at("2024-09", 21), anomalies=False)
    third = drain(sqs, q)
    # THEN exactly three actual-threshold messages and one forecast message in all
    assert _kinds(second) == [("actual", "80")]
    assert _kinds(third) == [("actual", "100")]
    msgs = first + second + third
    assert len([m for m in msgs if m["message"]["threshold"]["type"] == "actual"]) == 3
    assert len({m["message"]["dedup_id"] for m in msgs}) == 4

    m = third[0]
    body = m["message"]
    assert body["budget"] == {"id": "team-a", "name": "Team A"}
    assert body["period"]["label"] == "2024-09" and body["currency"] == "USD"
    assert Decimal(body["spent"]) == Decimal("1050") and body["spent"] == "1050"
    assert body["forecast"] is not None and "run-rate" in body["forecast_method"]
    assert body["dashboard_url"] == "https://costs.example.org/#/budgets/team-a"
    assert m["subject"].startswith("Budget Team A: actual 100% threshold crossed for 2024-09")
    attrs = {k: v["Value"] for k, v in m["attributes"].items()}
    assert attrs["kind"] == "budget" and attrs["threshold_type"] == "actual" and attrs["budget_id"] == "team-a"
    assert attrs["dedup_id"] == body["dedup_id"]


def test_a_failed_publish_is_retried_by_the_next_evaluation_without_duplicate(store, settings, sns_sqs):
    sns, sqs, topic, q = sns_sqs
    cfg = dataclasses.replace(settings, sns_topic_arn=topic)
    BudgetRepo(store).create(parse_budget({"id": "b1", "name": "B1", "amount": "100", "currency": "USD",
                                           "thresholds": [{"percentage": 50, "type": "actual"}]}))
    spend(store, "2024-09", range(1, 6), "12")  # 60 %
    failing = AlertEvaluator(store, FlakySNS(sns, failures=1), cfg).run(at("2024-09", 6), anomalies=False)
    assert len(failing.failed) == 1 and not failing.published
    assert drain(sqs, q) == []
    ledger = AlertEvaluator(store, sns, cfg).ledger
    assert ledger.get("budget#b1#2024-09#actual#50")["state"] == "pending"
    # the next evaluation (8 of them at once) sends it once
    run_concurrently(lambda: AlertEvaluator(store, sns, cfg), 8, at("2024-09", 6), anomalies=False)
    AlertEvaluator(store, sns, cfg).run(at("2024-09", 7), anomalies=False)
    msgs = drain(sqs, q)
    assert _kinds(msgs) == [("actual", "50")]
    state = ledger.get("budget#b1#2024-09#actual#50")
    assert state["state"] == "sent" and state["attempts"] == 2 and "injected" in state["error"]


def test_a_new_month_alerts_again(store, settings, sns_sqs):
    sns, sqs, topic, q = sns_sqs
    cfg = dataclasses.replace(settings, sns_topic_arn=topic)
    BudgetRepo(store).create(parse_budget({"id": "m", "name": "Monthly", "amount": "100", "currency": "USD",
                                           "thresholds": [{"percentage": 50, "type": "actual"}]}))
    ev = AlertEvaluator(store, sns, cfg)
    spend(store, "2024-09", range(1, 6), "12")
    ev.run(at("2024-09", 6), anomalies=False)
    ev.run(at("2024-09", 20), anomalies=False)
    spend(store, "2024-10", range(1, 6), "12")
    ev.run(at("2024-10", 6), anomalies=False)
    ev.run(at("2024-10", 7), anomalies=False)
    msgs = drain(sqs, q)
    assert sorted(m["message"]["period"]["label"] for m in msgs) == ["2024-09", "2024-10"]


def test_the_ledger_records_when_an_alert_was_claimed_retried_and_acknowledged(store):
    from cloudtally.store.budgets_repo import AlertLedger
    t0 = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc).timestamp()
    ticks = iter([t0, t0, t0 + 60.25, t0 + 60.25, t0 + 61])
    ledger = AlertLedger(store, lease_seconds=300, clock=lambda: next(ticks))
    # GIVEN a claim whose publish failed (released) WHEN the next evaluation claims it again and SNS acknowledges
    assert ledger.claim("budget#x#2026-12#actual#50", "d1")
    ledger.release("budget#x#2026-12#actual#50", "ConnectionError: injected")
    assert ledger.claim("budget#x#2026-12#actual#50", "d1")
    pending = ledger.get("budget#x#2026-12#actual#50")
    ledger.mark_sent("budget#x#2026-12#actual#50", "m-1")
    sent = ledger.get("budget#x#2026-12#actual#50")
    # THEN the first claim, the claim that published and the acknowledgment each have their time
    assert (pending["state"], pending["sent_at"], pending["attempts"]) == ("pending", None, 2)
    assert (sent["state"], sent["claimed_at"], sent["last_claimed_at"], sent["sent_at"]) == (
        "sent", "2026-12-01T09:30:00Z", "2026-12-01T09:31:00.250Z", "2026-12-01T09:31:01Z")
    # a claim stored before these times were recorded reports none rather than a made-up one
    store._call("PutItem", {"TableName": store.table, "Item": {
        "pk": {"S": "L#old"}, "sk": {"S": "L"}, "st": {"S": "sent"}, "lu": {"N": "1"}, "n": {"N": "1"},
        "did": {"S": "d0"}, "mid": {"S": "m-0"}}}, "write")
    old = ledger.get("old")
    assert (old["state"], old["claimed_at"], old["sent_at"]) == ("sent", None, None)
