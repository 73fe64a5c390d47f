"""The Cloud Functions entry points (functions/gcp/main.py) run through functions-framework's test client, as
Eventarc (Pub/Sub CloudEvent) and a Scheduler HTTP target call them, against the emulated Google APIs and the
API over HTTP (DynamoDB Local): a denied project shows in GET /v1/collectors while the others land, billed
cost supersedes the estimates of its days, a restated day replaces its totals in the store, and the
function never touches the table."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.gcp_support import EXPORT_TABLE, NOW, ROOT, emulated, estate
from tests.helpers import key_headers

pytestmark = pytest.mark.integration
MAIN = str(ROOT / "functions" / "gcp" / "main.py")


OTHER_ACCOUNT = "0FFFFF-111111-222222"     # the second test's export: its own billing account (and scope) on the shared table
OTHER_TABLE = "acme-billing.billing_export.gcp_billing_export_v1_0FFFFF_111111_222222"


def _env(monkeypatch, http_api, emu, now, table=EXPORT_TABLE):
    key = http_api["keys"]["ingest"]
    for k, v in {"CLOUDTALLY_API_URL": http_api["url"], "CLOUDTALLY_API_KEY_ID": key["id"],
                 "CLOUDTALLY_API_KEY_SECRET": key["secret"], "CLOUDTALLY_GCP_ENDPOINT": emu.url,
                 "CLOUDTALLY_NOW": now.isoformat().replace("+00:00", "Z"),
                 "CLOUDTALLY_COLLECTOR_CONFIG": json.dumps({"billing_export_table": table})}.items():
        monkeypatch.setenv(k, v)


def _get(http_api, path, **params):
    import requests
    params.setdefault("account", "01A2B3-C4D5E6-F7A8B9")
    params = {k: v for k, v in params.items() if v is not None}
    r = requests.get(http_api["url"] + path, params=params, headers=key_headers(http_api["keys"]["read"]), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _event(app, message: dict) -> None:
    data = {"message": {"data": base64.b64encode(json.dumps(message).encode()).decode(),
                        "attributes": {"collector": "gcp"}, "messageId": "1", "publishTime": "2026-12-15T09:30:00Z"},
            "subscription": "projects/acme-ops/subscriptions/eventarc-collector-gcp"}
    r = app.test_client().post("/", json=data, headers={
        "ce-id": "1", "ce-specversion": "1.0", "ce-source": "//pubsub.googleapis.com/projects/acme-ops/topics/x",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished"})
    assert r.status_code == 200, r.get_data(as_text=True)


def test_pubsub_cloudevent_run_lands_reports_a_denied_project_and_billed_supersedes(module_live_api, monkeypatch, no_table):
    import functions_framework
    http_api = module_live_api
    est = estate()
    est["deny"] = {"acme-data": ["compute"]}
    with emulated(est) as emu:
        _env(monkeypatch, http_api, emu, NOW)
        app = functions_framework.create_app("collect_gcp", MAIN, "cloudevent")
        with no_table():
            _event(app, {"collector": "gcp"})
    cols = {c["name"]: c for c in _get(http_api, "/v1/collectors", account=None)["collectors"]}
    scopes = {s["scope"]: s for s in cols["gcp"]["scopes"]}
    denied = scopes["acme-data/compute"]
    assert denied["status"] == "error" and denied["errors"][0]["code"] == "PERMISSION_DENIED"
    assert "roles/compute.viewer" in denied["errors"][0]["setting"]
    assert scopes["acme-prod/compute"]["status"] == "ok" and scopes["acme-data/assets"]["status"] == "ok"
    # a closed day with billed cost: the totals are the bill's, the estimates are superseded, not added
    day = {"from": "2026-12-13", "to": "2026-12-14", "provider": "Google Cloud"}
    summ = _get(http_api, "/v1/costs/summary", **day)
    billed = _get(http_api, "/v1/costs/summary", **day, source="billed")
    assert summ["totals"]["USD"]["BilledCost"] == billed["totals"]["USD"]["BilledCost"]
    assert Decimal(summ["superseded_estimates"]["USD"]["EffectiveCost"]) > 0
    # today (no bill yet for this hour's usage) is still the estimates' provisional aggregates
    today = _get(http_api, "/v1/costs/summary", **{"from": "2026-12-15", "to": "2026-12-16", "provider": "Google Cloud",
                                                    "source": "provisional"})
    assert Decimal(today["totals"]["USD"]["BilledCost"]) > 0


def test_http_entry_restated_day_replaces_its_total_in_the_store(module_live_api, monkeypatch, no_table):
    import functions_framework
    from cloudtally.query import parse_query
    from tests.unit.test_gcp_collector import _row

    http_api = module_live_api
    d = date(2026, 12, 13)

    def rows(*rs):
        return [{**r, "billing_account_id": OTHER_ACCOUNT} for r in rs]

    first = rows(*[_row(d, h, "2.000000", credits=[("SUSTAINED_USAGE_DISCOUNT", "SUD", "-0.400000")]) for h in range(6)])
    q = parse_query({"from": "2026-12-13", "to": "2026-12-14", "provider": "Google Cloud", "account": OTHER_ACCOUNT})
    with emulated(estate(), export=False, tables={OTHER_TABLE: ("standard", first)}) as emu:
        cfg = {"inventory": False, "monitoring": False}
        _env(monkeypatch, http_api, emu, NOW - timedelta(days=1), OTHER_TABLE)
        app = functions_framework.create_app("collect_gcp_http", MAIN, "http")
        with no_table():
            r = app.test_client().post("/", json={"collector": "gcp", "config": cfg})
        assert r.status_code == 200 and r.get_json()["status"] == "ok", r.get_data(as_text=True)
        assert Decimal(http_api["store"].summary(q)["totals"]["USD"]["BilledCost"]) == Decimal("9.6")
        # exported the next afternoon: a late hour of the same SKU and labels, and a correction of an exported hour
        emu.bq.insert(OTHER_TABLE, rows(_row(d, 20, "3.000000", export_h=20), _row(d, 1, "-0.500000", export_h=22)))
        _env(monkeypatch, http_api, emu, NOW, OTHER_TABLE)
        with no_table():
            r = app.test_client().post("/", json={"collector": "gcp", "config": cfg})
        assert r.status_code == 200, r.get_data(as_text=True)
    got = http_api["store"].summary(q)["totals"]["USD"]
    assert Decimal(got["BilledCost"]) == Decimal("12") - Decimal("2.4") + Decimal("3") - Decimal("0.5") == Decimal("12.1")
    assert Decimal(got["EffectiveCost"]) == Decimal("12.1")
    bad = app.test_client().post("/", data="[1, 2]", content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_request"
