"""The alerts Lambda handler: post-ingest stream events evaluate the touched periods; failures raise."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest

from cloudtally.alerts import AlertEvaluator
from cloudtally.budgets import parse_budget
from cloudtally.errors import CloudTallyError
from cloudtally.focus import parse_record
from cloudtally.store.budgets_repo import BudgetRepo
from tests.conftest import ROOT
from tests.helpers import rec
from tests.integration.test_alerts_sns import FlakySNS, drain, sns_sqs  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def load_handler():
    spec = importlib.util.spec_from_file_location("alerts_handler", ROOT / "functions" / "alerts" / "handler.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def stream(*keys):
    return {"Records": [{"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": sk}}}}
                        for pk, sk in keys]}


def test_touched_days_come_from_dirty_markers_only():
    h = load_handler()
    assert h.touched_days(stream(("U#2024-09", "2024-09-03#d"), ("R#2024-09-03", "abc"), ("U#2024-09", "2024-09-03"))) \
        == ["2024-09-03"]
    assert h.touched_days({"source": "aws.events"}) is None
    assert h.handler(stream(("R#2024-09-03", "abc"))) == {"skipped": "no rollup day touched"}


def test_post_ingest_event_alerts_and_a_failed_publish_raises(store, settings, sns_sqs):
    sns, sqs, topic, q = sns_sqs
    cfg = dataclasses.replace(settings, sns_topic_arn=topic)
    today = cfg.clock.today().isoformat()   # the evaluator runs at the settings' pinned clock
    BudgetRepo(store).create(parse_budget({"id": "h", "name": "H", "amount": "10", "currency": "USD",
                                           "thresholds": [{"percentage": 100, "type": "actual"}]}))
    store.write_records([parse_record(rec(BilledCost="12", ChargePeriodStart=f"{today}T00:00:00Z",
                                          ChargePeriodEnd=f"{today}T01:00:00Z"))])
    h = load_handler()
    h._clients["evaluator"] = AlertEvaluator(store, FlakySNS(sns, failures=1), cfg)
    with pytest.raises(CloudTallyError, match="not published"):
        h.handler(stream(("U#" + today[:7], today + "#d")))
    out = h.handler(stream(("U#" + today[:7], today + "#d")))
    assert len(out["published"]) == 1
    assert h.handler({"source": "aws.events"})["published"] == []
    assert len(drain(sqs, q)) == 1
