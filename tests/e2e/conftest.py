"""The local stack as a user runs it: DynamoDB Local + the API (cloudtally.devserver) with the demo estate,
the built dashboard behind the local static server, and headless Debian Chromium (Playwright).

Everything runs at one pinned clock, ``E2E_NOW`` (the 1st of a month, 09:30 UTC): the API through
``CLOUDTALLY_NOW``, the demo estate and the alert evaluator. The browser keeps the real clock on
purpose: the pages take "today" and "now" from the API (its default range, ``today``, ``generated_at``),
so what they show does not depend on the day the tests run or on the browser's clock.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage"]
XSS = "<img src=x onerror=alert(1)>"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"

sys.path.insert(0, str(ROOT / "scripts"))
from tests.helpers import FIRST_OF_MONTH, pinned, pinned_env  # noqa: E402

E2E_NOW = FIRST_OF_MONTH
# the 1st of the month at 09:30: AWS has spent a little over 1 % of E2E_BUDGET so far and is forecast above it
E2E_BUDGET = {"id": "e2e-aws", "name": "AWS (e2e)", "amount": "5000.00", "currency": "USD", "period": "monthly",
              "scope": {"provider": "AWS"}, "thresholds": [{"percentage": 1, "type": "actual"},
                                                          {"percentage": 50, "type": "actual"},
                                                          {"percentage": 100, "type": "forecast"}]}
# an alert an evaluator has claimed and is still publishing (its lease runs): pending, not acknowledged
E2E_PENDING = {"id": "e2e-pending", "name": "Company (e2e)", "amount": "10000.00", "currency": "USD",
               "period": "monthly", "thresholds": [{"percentage": 1, "type": "actual"}]}
E2E_PENDING_KEY = "budget#e2e-pending#2026-12#actual#1"


def _alerts(store, cfg, moto_endpoint) -> dict:
    """Budgets and one evaluation at E2E_NOW against moto's SNS: the COO page's "Alerts sent" rows."""
    import dataclasses

    import boto3

    from cloudtally.alerts import AlertEvaluator, dedup_id
    from cloudtally.api.budgets import BudgetService
    from cloudtally.store.budgets_repo import AlertLedger
    sns = boto3.client("sns", endpoint_url=moto_endpoint, region_name="us-east-1")
    topic = sns.create_topic(Name=f"e2e-{uuid.uuid4().hex[:8]}")["TopicArn"]
    budgets = BudgetService(store, clock=cfg.clock)
    budgets.create(E2E_BUDGET)
    budgets.create(E2E_PENDING)
    assert AlertLedger(store, clock=cfg.clock.timestamp).claim(E2E_PENDING_KEY, dedup_id(E2E_PENDING_KEY))
    report = AlertEvaluator(store, sns, dataclasses.replace(cfg, sns_topic_arn=topic)).run(anomalies=False)
    published = sorted(p["key"] for p in report.published)
    assert published == ["budget#e2e-aws#2026-12#actual#1", "budget#e2e-aws#2026-12#forecast#100"], report.to_dict()
    assert report.already_claimed == 1 and not report.failed
    return report.to_dict()


@pytest.fixture(scope="session")
def demo_stack(ddb_endpoint, moto_endpoint, tmp_path_factory):
    """An API over HTTP on its own table with the demo estate plus one record tagged with an XSS payload,
    a budget and the alert it sent, all at the pinned E2E_NOW."""
    from cloudtally import devstack
    from cloudtally.api.service import ApiService
    from cloudtally.config import Settings
    from cloudtally.demo import load_demo
    from cloudtally.store import Store

    today = E2E_NOW.date()
    cfg = Settings(table=f"e2e-{uuid.uuid4().hex[:10]}", dynamodb_endpoint=ddb_endpoint, auth_cache_seconds=0,
                   clock=pinned(E2E_NOW))
    store = Store(cfg)
    store.create_table()
    load_demo(store, now=E2E_NOW)
    store.refresh(today - timedelta(days=200), today + timedelta(days=1))  # as the post-ingest refresh leaves it
    alerts = _alerts(store, cfg, moto_endpoint)
    svc = ApiService(cfg, store)
    keys = {scope: svc.keys.create(f"e2e-{scope}", [scope]) for scope in ("ingest", "read")}
    port = devstack.free_port()
    log = tmp_path_factory.mktemp("api") / "api.log"
    proc = devstack.start_api(port, {"CLOUDTALLY_TABLE": cfg.table, "CLOUDTALLY_DYNAMODB_ENDPOINT": ddb_endpoint,
                                     "CLOUDTALLY_AUTH_CACHE_SECONDS": "0", **pinned_env(E2E_NOW),
                                     # DynamoDB Local (no -sharedDb) keeps one namespace per access key and region:
                                     # the API must use this process's, or it cannot see the table
                                     **{k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                                   "AWS_DEFAULT_REGION", "AWS_REGION")
                                        if k in os.environ}}, log=log)
    url = f"http://127.0.0.1:{port}"
    day = today - timedelta(days=1)
    xss = {"ProviderName": "AWS", "BillingAccountId": "123456789012", "ServiceName": "Amazon Elastic Compute Cloud",
           "ChargePeriodStart": f"{day}T00:00:00Z", "ChargePeriodEnd": f"{day + timedelta(days=1)}T00:00:00Z",
           "BilledCost": "12.34", "BillingCurrency": "USD", "ResourceId": "i-xss", "ResourceName": XSS,
           "RegionId": "us-east-1", "Tags": {"team": XSS, "project": "checkout"}, "x_CostSource": "estimated"}
    try:
        r = requests.post(f"{url}/v1/records", json=[xss], timeout=30,
                          headers={"X-CloudTally-Key-Id": keys["ingest"]["id"],
                                   "X-CloudTally-Key-Secret": keys["ingest"]["secret"]})
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.text + log.read_text()[-3000:]
        # a running stack is warm: first requests of a fresh process pay lazy imports and the day's rollup
        # refresh after the record above; do them here so the page timings measure the page
        for view in ("overview", "cfo", "coo", "infrastructure"):
            requests.get(f"{url}/v1/dashboard/{view}", timeout=60, headers={
                "X-CloudTally-Key-Id": keys["read"]["id"], "X-CloudTally-Key-Secret": keys["read"]["secret"]})
        yield {"url": url, "keys": keys, "store": store, "today": today, "now": E2E_NOW, "log": log,
               "alerts": alerts}
    finally:
        devstack.stop(proc)
        store.delete_table()


@pytest.fixture(scope="session")
def dashboard(demo_stack, tmp_path_factory):
    """dist/ built for this API (demo read key pre-filled, 5 s refresh) and served like CloudFront would."""
    from cloudtally import devstack
    from serve_dashboard import build, serve

    dist = tmp_path_factory.mktemp("dist")
    build(dist, api_url=demo_stack["url"], refresh_seconds=5, demo_key=demo_stack["keys"]["read"])
    port = devstack.free_port()
    server, _ = serve(dist, port, quiet=True)
    yield {"url": f"http://127.0.0.1:{port}", "dist": dist}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = ctx.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(f"pageerror: {e}"))
    pg.dialogs = []

    def on_dialog(d):
        pg.dialogs.append(d.message)
        d.dismiss()

    pg.on("dialog", on_dialog)
    yield pg
    ctx.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if name == "overview":
        docs = ROOT / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, docs / "overview.png")
    return path


__all__ = ["XSS", "screenshot", "date"]
