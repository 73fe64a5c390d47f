"""GET /v1/dashboard/{view}: one call per page, totals equal to /v1/costs/summary to the cent."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from cloudtally.demo import load_demo
from tests.helpers import key_headers

pytestmark = pytest.mark.integration
TODAY = date.today()


@pytest.fixture(scope="module")
def demo_api(ddb_endpoint):
    """The demo estate loaded once for the module (loading takes seconds), behind the in-process API."""
    import uuid

    from chalice.test import Client

    from cloudtally.api.service import ApiService
    from cloudtally.config import Settings
    from cloudtally.store import Store
    from tests.conftest import _import_root

    cfg = Settings(table=f"dash-{uuid.uuid4().hex[:10]}", dynamodb_endpoint=ddb_endpoint, auth_cache_seconds=0)
    store = Store(cfg)
    store.create_table()
    load_demo(store, end=TODAY)
    svc = ApiService(cfg, store)
    keys = {scope: svc.keys.create(f"dash-{scope}", [scope]) for scope in ("ingest", "read")}
    _import_root("api")
    import app as app_module
    from chalicelib import http
    http.set_service(svc)
    with Client(app_module.app) as client:
        yield client, keys
    http.set_service(None)
    store.delete_table()


@pytest.fixture
def api(demo_api):
    return demo_api[0]


@pytest.fixture
def keys(demo_api):
    return demo_api[1]


@pytest.fixture
def demo(demo_api):
    return demo_api


@pytest.fixture
def store(demo_api):
    return None


def _get(api, keys, path):
    r = api.http.get(path, headers=key_headers(keys["read"]))
    return r.status_code, json.loads(r.body)


@pytest.mark.parametrize("view", ["overview", "cfo", "coo", "infrastructure"])
def test_each_view_answers_with_totals_equal_to_the_summary(api, keys, demo, view):
    frm, to = (TODAY - timedelta(days=30)).isoformat(), (TODAY + timedelta(days=1)).isoformat()
    qs = f"from={frm}&to={to}&provider=AWS&tag=team=data"
    status, body = _get(api, keys, f"/v1/dashboard/{view}?{qs}")
    assert status == 200, body
    _, summary = _get(api, keys, f"/v1/costs/summary?{qs}&granularity=total")
    assert body["totals"]["USD"]["EffectiveCost"] == summary["totals"]["USD"]["EffectiveCost"]
    assert Decimal(body["totals"]["USD"]["EffectiveCost"]) > 0
    assert body["options"]["providers"] == ["AWS", "Google Cloud", "Microsoft"]  # unfiltered choices
    assert "data" in body["options"]["tags"]["team"]


def test_overview_parts_add_up(api, keys, demo):
    status, body = _get(api, keys, "/v1/dashboard/overview")
    assert status == 200
    daily = sum(Decimal(d["amount"]) for d in body["daily"])
    assert daily == Decimal(body["totals"]["USD"]["EffectiveCost"])
    assert {d["provider"] for d in body["daily"]} == {"AWS", "Google Cloud", "Microsoft"}
    assert len(body["top_resources"]) == 10
    assert body["budgets"]["available"] in (True, False)


def test_infrastructure_finds_idle_hosts_and_clusters(api, keys, demo):
    status, body = _get(api, keys, "/v1/dashboard/infrastructure")
    assert status == 200
    assert any(c["cluster"] == "eks-prod-00" and c["nodes"] == 4 for c in body["clusters"])
    idle = [n for n in body["nodes"] if n["host"].endswith("-07")]
    assert idle and all(Decimal(n["cpu"]) < 5 for n in idle)
    assert Decimal(body["idle_amount"]) > 0
    _, coo = _get(api, keys, "/v1/dashboard/coo")
    assert {r["resource"] for r in coo["idle_resources"] if r["state"] == "idle"} == {n["host"] for n in idle}


def test_cfo_forecast_and_month_over_month(api, keys, demo):
    status, body = _get(api, keys, "/v1/dashboard/cfo")
    assert status == 200
    m = body["month"]
    assert Decimal(m["forecast"]) >= Decimal(m["month_to_date"]) > 0
    assert len(body["months"]) == 6 and body["months"][-1]["partial"]
    assert {t["name"] for t in body["by_team"]} == {"platform", "data", "ml", "web"}
    bve = body["billed_vs_estimated"]
    assert Decimal(bve["billed"]) > 0 and Decimal(bve["estimated"]) > 0 and Decimal(bve["superseded_estimates"]) > 0


@pytest.mark.parametrize("path,field", [("/v1/dashboard/nope", "view"), ("/v1/dashboard/overview?bogus=1", "bogus"),
                                        ("/v1/dashboard/cfo?from=2024-13-01", "from")])
def test_bad_input_is_a_400_naming_the_field(api, keys, store, path, field):
    status, body = _get(api, keys, path)
    assert status == 400
    assert field in json.dumps(body["error"]["details"])


def test_needs_a_read_key(api, keys, store):
    r = api.http.get("/v1/dashboard/overview", headers={"X-CloudTally-Key-Id": "nope", "X-CloudTally-Key-Secret": "x"})
    assert r.status_code == 401
    r = api.http.get("/v1/dashboard/overview", headers=key_headers(keys["ingest"]))
    assert r.status_code == 403


def test_listed_in_openapi(api, store):
    r = api.http.get("/v1/openapi.json")
    doc = json.loads(r.body)
    assert "/v1/dashboard/{view}" in doc["paths"]


def test_budgets_and_their_forecast_show_when_configured(api, keys, demo_api):
    from chalicelib import http
    from cloudtally.budgets import BudgetService
    svc = BudgetService(http.service().store)
    svc.create({"id": "dash-aws", "name": "AWS monthly", "amount": "5000", "currency": "USD",
                "scope": {"provider": ["AWS"]}})
    try:
        _, body = _get(api, keys, "/v1/dashboard/overview")
        b = {x["id"]: x for x in body["budgets"]["items"]}["dash-aws"]
        assert body["budgets"]["available"] and b["name"] == "AWS monthly" and b["period"] == "monthly"
        assert Decimal(b["spent"]) > 0 and Decimal(b["forecast"]) >= Decimal(b["spent"])
        _, cfo = _get(api, keys, "/v1/dashboard/cfo")
        assert any(x["id"] == "dash-aws" for x in cfo["budgets"]["items"])
        assert "forecast_low" in cfo["month"]  # cloudtally.forecast's interval, when installed
        _, coo = _get(api, keys, "/v1/dashboard/coo")
        assert coo["alerts"]["available"] and coo["alerts"]["items"] == []  # nothing sent yet
        # GIVEN the evaluator sent the 50 % alert (its ledger entry) WHEN the COO view loads THEN it is listed
        from cloudtally.store.budgets_repo import AlertLedger
        st = svc.status()["budgets"]["dash-aws"]
        assert {"type": "actual", "state": "crossed"}.items() <= next(
            t for t in st["thresholds"] if t["percentage"] == 50).items()
        ledger = AlertLedger(http.service().store)
        key = f"budget#dash-aws#{st['period']['label']}#actual#50"
        assert ledger.claim(key, "d1")
        ledger.mark_sent(key, "m-1")
        _, coo = _get(api, keys, "/v1/dashboard/coo")
        assert [(a["budget"], a["threshold"], a["status"]) for a in coo["alerts"]["items"]] == [
            ("AWS monthly", "actual 50 %", "sent")]
    finally:
        svc.delete("dash-aws")
