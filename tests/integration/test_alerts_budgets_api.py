"""Budgets and anomalies over the API (in-process Chalice, DynamoDB Local): CRUD, 400s, status, FX."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.conftest import TEST_NOW
from tests.helpers import key_headers, rec

pytestmark = pytest.mark.integration
TODAY = TEST_NOW.date()   # the in-process API's clock (the settings fixture pins it)


def call(api, method, path, key, body=None):
    h = key_headers(key, **{"Content-Type": "application/json"})
    r = getattr(api.http, method)(path, headers=h, body=json.dumps(body) if body is not None else None)
    return r.status_code, json.loads(r.body)


def ingest(api, keys, records):
    status, body = call(api, "post", "/v1/records", keys["ingest"], records)
    assert status == 200 and body["accepted"] == len(records), body


def today_rec(**kw):
    d = TODAY.isoformat()
    return rec(ChargePeriodStart=f"{d}T00:00:00Z", ChargePeriodEnd=f"{d}T01:00:00Z", **kw)


@pytest.mark.parametrize("patch, field", [
    ({"amount": "-1"}, "amount"), ({"amount": 0}, "amount"), ({"currency": "ABC"}, "currency"),
    ({"thresholds": [{"percentage": 0, "type": "actual"}]}, "thresholds[0].percentage"),
    ({"thresholds": [{"percentage": 1500, "type": "forecast"}]}, "thresholds[0].percentage"),
    ({"scope": {"team": "x"}}, "scope.team"),
    ({"period": "custom", "start": "2024-06-01", "end": "2024-05-01"}, "end"),
])
def test_bad_budgets_get_400_naming_the_field(api, keys, patch, field):
    status, body = call(api, "post", "/v1/budgets", keys["admin"], {"name": "x", "amount": "10", **patch})
    assert status == 400
    assert field in [d["field"] for d in body["error"]["details"]]


def test_budget_crud_and_scopes(api, keys):
    doc = {"id": "eng", "name": "Engineering", "amount": "500.00", "currency": "USD", "period": "quarterly",
           "scope": {"provider": "AWS", "tags": {"team": "eng"}}}
    assert call(api, "post", "/v1/budgets", keys["read"], doc)[0] == 403
    status, created = call(api, "post", "/v1/budgets", keys["admin"], doc)
    assert status == 201 and created["amount"] == "500.00" and created["thresholds"][0] == {
        "percentage": "50", "type": "actual"}
    assert call(api, "post", "/v1/budgets", keys["admin"], doc)[0] == 409
    assert call(api, "get", "/v1/budgets/eng", keys["admin"])[1]["scope"] == {"provider": ["AWS"], "tags": {"team": ["eng"]}}
    status, updated = call(api, "put", "/v1/budgets/eng", keys["admin"], {**doc, "amount": "750"})
    assert status == 200 and updated["amount"] == "750"
    assert [b["id"] for b in call(api, "get", "/v1/budgets", keys["admin"])[1]["budgets"]] == ["eng"]
    assert call(api, "get", "/v1/budgets/status", keys["read"])[0] == 200
    assert call(api, "delete", "/v1/budgets/eng", keys["admin"])[0] == 200
    assert call(api, "get", "/v1/budgets/eng", keys["admin"])[0] == 404
    assert call(api, "put", "/v1/budgets/eng", keys["admin"], doc)[0] == 404


def test_status_converts_with_the_dated_fx_table_or_refuses_to_mix(api, keys):
    ingest(api, keys, [today_rec(ResourceId="a", BilledCost="10.811"),
                       today_rec(ResourceId="b", BilledCost="5", BillingCurrency="GBP", BillingAccountId="222222222222")])
    call(api, "post", "/v1/budgets", keys["admin"], {"id": "eur", "name": "EUR budget", "amount": "20", "currency": "EUR",
                                                     "scope": {"account": "111111111111"}})
    call(api, "post", "/v1/budgets", keys["admin"], {"id": "all", "name": "All", "amount": "100", "currency": "USD"})
    status, body = call(api, "get", "/v1/budgets/status", keys["read"])
    assert status == 200
    eur, mixed = body["budgets"]["eur"], body["budgets"]["all"]
    assert Decimal(eur["spent"]) == Decimal(10) and Decimal(eur["remaining"]) == Decimal(10)
    assert eur["percentage_used"] == "50.00" and eur["status"] == "ok"
    assert eur["fx"]["date"] == "2024-03-28" and eur["fx"]["converted"] == ["USD"]
    assert {t["type"] + t["percentage"]: t["state"] for t in eur["thresholds"]}["actual50"] == "crossed"
    assert eur["forecast"]["method"] and Decimal(eur["forecast"]["high"]) >= Decimal(eur["forecast"]["value"])
    assert mixed["status"] == "cannot_evaluate" and "GBP" in mixed["reason"] and mixed["spent"] is None


def test_anomalies_list_and_mark_expected(api, keys, store):
    from cloudtally.store.budgets_repo import AnomalyRepo
    day = TODAY - timedelta(days=1)
    AnomalyRepo(store).put({"id": f"{day.isoformat()}-abc123", "day": day.isoformat(), "currency": "USD",
                            "root_cause": {"dimension": "service", "value": "Amazon S3"}, "expected": Decimal(10),
                            "observed": Decimal(90), "impact": Decimal(80), "severity": "critical", "status": "open"})
    status, body = call(api, "get", "/v1/anomalies", keys["read"])
    assert status == 200 and [a["root_cause"]["value"] for a in body["anomalies"]] == ["Amazon S3"]
    assert body["anomalies"][0]["expected"] == "10"
    assert call(api, "post", f"/v1/anomalies/{day.isoformat()}-abc123/expected", keys["read"])[0] == 403
    status, marked = call(api, "post", f"/v1/anomalies/{day.isoformat()}-abc123/expected", keys["admin"])
    assert status == 200 and marked["status"] == "expected"
    assert call(api, "get", "/v1/anomalies?status=open", keys["read"])[1]["anomalies"] == []
    assert AnomalyRepo(store).suppressions(day + timedelta(days=3)) == {"USD#service=Amazon S3"}
    assert call(api, "post", "/v1/anomalies/nope/expected", keys["admin"])[0] == 404
    assert call(api, "get", "/v1/anomalies?status=bad", keys["read"])[0] == 400


def test_openapi_documents_the_budget_operations(api):
    doc = json.loads(api.http.get("/v1/openapi.json").body)
    assert {"post", "get"} <= set(doc["paths"]["/v1/budgets"])
    assert "get" in doc["paths"]["/v1/budgets/status"] and "post" in doc["paths"]["/v1/anomalies/{anomaly_id}/expected"]
