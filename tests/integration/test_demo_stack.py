"""`make up`'s demo at a pinned clock: the same kind of demo on the 1st of a month as on the 15th.

The stack's own code runs here (scripts/stack.py: the demo through the API, the demo budgets, the alert
evaluator through the CLI; scripts/run_collectors_local.py: the billing export delivered to moto S3 and
imported by the ``aws-billing-export`` collector's Lambda handler), against an API whose clock is
pinned with ``CLOUDTALLY_NOW``, as ``CLOUDTALLY_NOW=... make up`` runs it. The AWS inventory collector
is left out: moto stamps its demo instances with the wall clock.
"""

from __future__ import annotations

import os
import uuid
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
import requests

from cloudtally import devstack
from cloudtally.api.service import ApiService
from cloudtally.client import Client
from cloudtally.providers.aws.billing_export import BillingExportClients
from cloudtally.config import Settings
from cloudtally.store import Store
from tests.helpers import FIRST_OF_MONTH, MID_MONTH, key_headers, load_module, pinned, pinned_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
EXPORT_DAY = Decimal("17.15")   # the demo export's three services a day (run_collectors_local.DEMO_EXPORT_SERVICES)


@pytest.fixture(params=[FIRST_OF_MONTH, MID_MONTH], ids=["1st", "15th"])
def stack_at(request, ddb_endpoint, moto_endpoint, tmp_path, monkeypatch):
    """What `make up` does at the pinned clock ``request.param``, on a fresh table."""
    now = request.param
    stack = load_module(ROOT / "scripts" / "stack.py", "stack_under_test")
    local = load_module(ROOT / "scripts" / "run_collectors_local.py", "run_collectors_local_under_test")
    handler = load_module(ROOT / "functions" / "aws" / "handler.py", "aws_handler_under_test")
    cfg = Settings(table=f"stack-{uuid.uuid4().hex[:10]}", dynamodb_endpoint=ddb_endpoint, auth_cache_seconds=0,
                   clock=pinned(now))
    store = Store(cfg)
    store.create_table()
    keys = {s: ApiService(cfg, store).keys.create(f"stack-{s}", [s]) for s in ("admin", "ingest", "read")}
    env = {"CLOUDTALLY_TABLE": cfg.table, "CLOUDTALLY_DYNAMODB_ENDPOINT": ddb_endpoint, "AWS_ENDPOINT_URL": moto_endpoint,
           **pinned_env(now), **{k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}}
    port = devstack.free_port()
    proc = devstack.start_api(port, env, log=tmp_path / "api.log")
    url = f"http://127.0.0.1:{port}"
    try:
        loaded = stack.load_demo_data(Client(url, keys["ingest"]["id"], keys["ingest"]["secret"]), store, now)
        stack.create_demo_budgets(url, keys)
        # the billing export, delivered and imported as run_collectors_local does (its own bucket per test)
        for k, v in {**env, "CLOUDTALLY_API_URL": url, "CLOUDTALLY_API_KEY_ID": keys["ingest"]["id"],
                     "CLOUDTALLY_API_KEY_SECRET": keys["ingest"]["secret"]}.items():
            monkeypatch.setenv(k, v)
        s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
        event = local.put_demo_export(s3, now, bucket=f"demo-exports-{uuid.uuid4().hex[:8]}")
        imported = handler.run_event(event, clients=BillingExportClients(s3=s3), now=now)
        alerts_exit = stack.evaluate_alerts(env)
        yield {"now": now, "url": url, "keys": keys, "store": store, "loaded": loaded, "imported": imported,
               "alerts_exit": alerts_exit}
    finally:
        devstack.stop(proc)
        store.delete_table()


def _get(st, path, **params):
    r = requests.get(st["url"] + path, params=params, headers=key_headers(st["keys"]["read"]), timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_make_up_shows_the_same_demo_on_the_1st_as_on_the_15th(stack_at):
    st, now = stack_at, stack_at["now"]
    today = now.date().isoformat()
    # 54 resources: 90 closed days of estimates, 88 of bills, and today's provisional aggregates
    assert st["loaded"]["rejected"] == 0 and st["loaded"]["accepted"] > 54 * (90 + 88)
    assert st["loaded"]["metrics"] == 38 * 72 * 3   # 38 compute and database resources, 72 hours, 3 metrics
    # an imported billing export: the previous period on the 1st (the current one has no closed day yet),
    # the current period's closed days on the 15th
    imp = st["imported"]
    assert imp["failed_scopes"] == []
    written = {scope.rsplit("=", 1)[1]: s["records"] for scope, s in imp["scopes"].items()}
    expected = {"2026-11": 30 * 3} if now.day == 1 else {"2026-12": 14 * 3}
    assert {p: n for p, n in written.items() if n} == expected
    period = next(iter(expected))
    nxt = "2026-12-01" if period == "2026-11" else "2027-01-01"
    bill = _get(st, "/v1/costs/summary", **{"from": f"{period}-01", "to": nxt, "account": "444455556666",
                                            "granularity": "total"})
    assert Decimal(bill["totals"]["USD"]["BilledCost"]) == EXPORT_DAY * (expected[period] // 3)
    # the CFO page: month to date is never empty; it counts today so far, labelled
    cfo = _get(st, "/v1/dashboard/cfo")
    m = cfo["month"]
    assert cfo["as_of"] == today and m["open_day"] == today
    assert Decimal(m["month_to_date"]) > Decimal(m["today_so_far"]) > 0 if now.day > 1 else \
        Decimal(m["month_to_date"]) == Decimal(m["today_so_far"]) > 0
    assert Decimal(m["forecast"]) > Decimal(m["month_to_date"])
    if now.day == 1:
        assert m["mom_change_pct"] is None and "no closed day in 2026-12 yet" in m["mom_reason"]
    else:  # 14 closed days of December against the same 14 days of November
        assert m["closed_days"] == 14 and m["mom"]["previous_to"] == "2026-11-15"
        assert m["mom_reason"] is None and abs(Decimal(m["mom_change_pct"])) < 10
    # the demo budgets have spent something in every period, and the forecast is of a whole period
    budgets = {b["id"]: b for b in _get(st, "/v1/dashboard/overview")["budgets"]["items"]}
    assert set(budgets) == {"company-monthly", "aws-monthly", "team-ml", "data-quarterly"}
    assert all(Decimal(b["spent"]) > 0 and Decimal(b["forecast"]) > Decimal(b["spent"]) for b in budgets.values())
    assert budgets["data-quarterly"]["period_label"] == "2026-Q4"
    # the alerts the stack's evaluator sent carry the pinned clock's times
    assert st["alerts_exit"] == 0
    alerts = _get(st, "/v1/dashboard/coo")["alerts"]["items"]
    assert alerts
    stamp = now.isoformat().replace("+00:00", "Z")
    assert all(a["claimed_at"] == stamp and (a["status"] == "pending" or a["sent_at"] == stamp) for a in alerts)
