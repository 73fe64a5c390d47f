"""GET /v1/dashboard/{view}: one call per page, totals equal to /v1/costs/summary to the cent.

The API runs at a clock pinned to the 1st of a month (``FIRST_OF_MONTH``, 09:30 UTC): the month has no
closed day yet, which is when month to date, forecasts and month-over-month used to go to zero or -100 %.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from cloudtally.demo import load_demo
from tests.helpers import FIRST_OF_MONTH, key_headers, pinned

pytestmark = pytest.mark.integration
NOW = FIRST_OF_MONTH
TODAY = NOW.date()


@pytest.fixture(scope="module")
def demo_api(ddb_endpoint):
    """The demo estate loaded once for the module (loading takes seconds), behind the in-process API."""
    import uuid

    from chalice.test import Client

    from cloudtally.api.service import ApiService
    from cloudtally.config import Settings
    from cloudtally.store import Store
    from tests.conftest import _import_root

    cfg = Settings(table=f"dash-{uuid.uuid4().hex[:10]}", dynamodb_endpoint=ddb_endpoint, auth_cache_seconds=0,
                   clock=pinned(NOW))
    store = Store(cfg)
    store.create_table()
    load_demo(store, now=NOW)
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
    svc = http.service().budgets()          # the API's BudgetService, at its pinned clock
    svc.create({"id": "dash-aws", "name": "AWS monthly", "amount": "5000", "currency": "USD",
                "scope": {"provider": ["AWS"]}})
    try:
        _, body = _get(api, keys, "/v1/dashboard/overview")
        b = {x["id"]: x for x in body["budgets"]["items"]}["dash-aws"]
        assert body["budgets"]["available"] and b["name"] == "AWS monthly" and b["period"] == "monthly"
        assert b["period_label"] == "2026-12"
        # the 1st of the month: spent is today's provisional cost so far, the forecast the month's run-rate
        assert Decimal(b["spent"]) > 0 and Decimal(b["forecast"]) > 20 * Decimal(b["spent"])
        _, cfo = _get(api, keys, "/v1/dashboard/cfo")
        assert any(x["id"] == "dash-aws" for x in cfo["budgets"]["items"])
        assert "forecast_low" in cfo["month"]  # cloudtally.forecast's interval, when installed
        _, coo = _get(api, keys, "/v1/dashboard/coo")
        assert coo["alerts"]["available"] and coo["alerts"]["items"] == []  # nothing sent yet
        # GIVEN the evaluator claimed the 1 % alert at 09:30:00 and SNS acknowledged it 2 s later
        # WHEN the COO view loads THEN the row says when it was claimed and when it was sent
        from cloudtally.store.budgets_repo import AlertLedger
        svc.update("dash-aws", {"id": "dash-aws", "name": "AWS monthly", "amount": "5000", "currency": "USD",
                                "scope": {"provider": ["AWS"]}, "thresholds": [{"percentage": 1}]})
        st = svc.status()["budgets"]["dash-aws"]
        assert {"type": "actual", "state": "crossed"}.items() <= next(
            t for t in st["thresholds"] if t["percentage"] == 1).items()
        ticks = iter([NOW.timestamp(), NOW.timestamp(), NOW.timestamp() + 2])
        ledger = AlertLedger(http.service().store, clock=lambda: next(ticks))
        key = f"budget#dash-aws#{st['period']['label']}#actual#1"
        assert ledger.claim(key, "d1")
        ledger.mark_sent(key, "m-1")
        _, coo = _get(api, keys, "/v1/dashboard/coo")
        assert [(a["budget"], a["threshold"], a["status"], a["claimed_at"], a["sent_at"], a["attempts"])
                for a in coo["alerts"]["items"]] == [
            ("AWS monthly", "actual 1 %", "sent", "2026-12-01T09:30:00Z", "2026-12-01T09:30:02Z", 1)]
    finally:
        svc.delete("dash-aws")


def _day(d) -> str:
    return d.isoformat()


def test_every_view_at_the_first_of_a_month_is_right_and_not_degenerate(api, keys, demo):
    """The 1st of a month at 09:30: no closed day in the month, today's cost so far is provisional."""
    today, tomorrow = _day(TODAY), _day(TODAY + timedelta(days=1))
    _, now_so_far = _get(api, keys, f"/v1/costs/summary?from={today}&to={tomorrow}&granularity=total&group_by=source")
    so_far = Decimal(now_so_far["totals"]["USD"]["EffectiveCost"])
    assert so_far > 0 and {r["group"]["source"] for r in now_so_far["results"]} == {"provisional"}
    _, nov = _get(api, keys, "/v1/costs/summary?from=2026-11-01&to=2026-12-01&granularity=total")
    november = Decimal(nov["totals"]["USD"]["EffectiveCost"])
    # overview: today is in the trend, marked partial; every earlier day is closed
    _, ov = _get(api, keys, "/v1/dashboard/overview")
    assert ov["today"] == today and ov["generated_at"] == "2026-12-01T09:30:00Z"
    assert (ov["from"], ov["to"]) == ("2026-11-02", tomorrow)          # the API's default range, by its clock
    assert {d["day"] for d in ov["daily"] if d["partial"]} == {today}
    assert sum(Decimal(d["amount"]) for d in ov["daily"] if d["day"] == today) == so_far
    # CFO: month to date is today so far (labelled), no month-over-month change yet and why
    _, cfo = _get(api, keys, "/v1/dashboard/cfo")
    m = cfo["month"]
    assert cfo["as_of"] == today and m["month"] == "2026-12" and m["open_day"] == today
    assert Decimal(m["month_to_date"]) == Decimal(m["today_so_far"]) == so_far
    assert m["closed_days"] == 0 and m["mom_change_pct"] is None
    assert m["mom_reason"] == "no closed day in 2026-12 yet: today (2026-12-01) is still open"
    # the month-end forecast is about a month of spend, not today's few hours
    assert Decimal(m["forecast_low"]) <= Decimal(m["forecast"]) <= Decimal(m["forecast_high"])
    assert november * Decimal("0.8") < Decimal(m["forecast"]) < november * Decimal("1.25")
    months = {x["month"]: x for x in cfo["months"]}
    assert list(months) == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    assert months["2026-12"]["partial"] and months["2026-12"]["change_pct"] is None
    assert months["2026-12"]["change_reason"] == m["mom_reason"]
    assert Decimal(months["2026-11"]["amount"]) == november and not months["2026-11"]["partial"]
    assert Decimal(months["2026-11"]["change_pct"]) == (
        (november - Decimal(months["2026-10"]["amount"])) * 100 / Decimal(months["2026-10"]["amount"])
    ).quantize(Decimal("0.1"))
    # the 90-day history starts on 2026-09-02: September is not compared, and neither is October with it
    assert months["2026-08"]["change_reason"] == "no cost recorded in 2026-08"
    assert months["2026-09"]["change_reason"] == "cost data for 2026-09 starts on 2026-09-02"
    assert months["2026-10"]["change_reason"] == "cost data for 2026-09 starts on 2026-09-02"
    assert all(x["change_pct"] is None or Decimal(x["change_pct"]) > -50 for x in cfo["months"])  # no fake falls
    assert Decimal(cfo["billed_vs_estimated"]["provisional"]) == so_far
    # COO: today's partial day is marked, so the chart does not draw a fall to zero
    _, coo = _get(api, keys, "/v1/dashboard/coo")
    assert {r["day"] for r in coo["service_trend"] if r["partial"]} == {today}
    assert all(not r["partial"] for r in coo["service_trend"] if r["day"] < today)
    assert "2026-12-01 is still open" in coo["partial_note"]
    # Infrastructure: utilisation of the last two days, up to now
    _, infra = _get(api, keys, "/v1/dashboard/infrastructure")
    assert infra["metrics_window"] == {"from": "2026-11-30", "to": tomorrow, "metrics": infra["metrics_window"]["metrics"]}
    assert infra["nodes"] and Decimal(infra["idle_amount"]) > 0
    assert all(n["points"] > 0 for n in infra["nodes"])
