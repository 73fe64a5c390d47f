"""``make up``'s Google Cloud: scripts/demo_gcp.py runs the gcp collector through its Cloud Functions entry point
against the emulated APIs and export, so the dashboard's Google Cloud estimates and bills of the demo billing
account come from the collector — the same on the 1st of a month as on the 15th."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from tests.gcp_support import ROOT
from tests.helpers import FIRST_OF_MONTH, MID_MONTH, key_headers, load_module

pytestmark = pytest.mark.integration
ACCOUNT = "01A2B3-C4D5E6-F7A8B9"


def test_make_up_runs_the_gcp_collector_and_the_dashboard_shows_its_numbers(module_live_api, monkeypatch, capsys):
    api = module_live_api
    key = api["keys"]["ingest"]
    for k, v in {"CLOUDTALLY_API_URL": api["url"], "CLOUDTALLY_API_KEY_ID": key["id"],
                 "CLOUDTALLY_API_KEY_SECRET": key["secret"]}.items():
        monkeypatch.setenv(k, v)
    demo = load_module(ROOT / "scripts" / "demo_gcp.py", "demo_gcp_under_test")
    assert demo.main(MID_MONTH) == 0
    line = capsys.readouterr().out
    assert "[collectors] gcp:" in line and "0 failed scopes" in line
    est = demo.gcp_estate.demo_estate(MID_MONTH)
    running = [i for p in est["compute"].values() for z in p["instances"].values() for i in z if i["status"] == "RUNNING"]
    assert len(running) >= 20 and any(i["machineType"].endswith("g2-standard-8") for i in running)

    def get(path, **params):
        r = requests.get(api["url"] + path, params=params, headers=key_headers(api["keys"]["read"]), timeout=30)
        assert r.status_code == 200, r.text
        return r.json()
    # the month so far, by service and source: billed days from the export, today's provisional estimates
    summ = get("/v1/costs/summary", **{"from": "2026-12-01", "to": "2026-12-16", "account": ACCOUNT,
                                       "group_by": "service,source", "granularity": "total"})
    got = {(g["group"]["service"], g["group"]["source"]) for g in summ["results"]}
    assert {("Compute Engine", "billed"), ("Kubernetes Engine", "billed"), ("Cloud SQL", "billed"),
            ("Compute Engine", "provisional")} <= got
    assert Decimal(summ["totals"]["USD"]["BilledCost"]) > Decimal("1000")
    overview = get("/v1/dashboard/overview")
    assert "Google Cloud" in str(overview)
    cols = {c["name"]: c for c in get("/v1/collectors")["collectors"]}
    assert cols["gcp"]["status"] == "ok"


def test_on_the_1st_of_a_month_the_previous_month_is_billed():
    from cloudtally.collectors import registry, runner
    from cloudtally.providers.gcp.session import GcpClients
    demo = load_module(ROOT / "scripts" / "demo_gcp.py", "demo_gcp_first")
    emu = demo.start(FIRST_OF_MONTH)
    try:
        sink = runner.ListSink()
        summary = runner.run(registry.get("gcp"), sink=sink, clients=GcpClients(endpoint=emu.url), now=FIRST_OF_MONTH,
                             status=runner.MemoryStatus(ledgers=False),
                             config={"billing_export_table": demo.gcp_estate.EXPORT_TABLE, "initial_days": demo.DAYS})
    finally:
        emu.stop()
    assert summary["failed_scopes"] == []
    billed = [r for r in sink.records.values() if r.x_CostSource == "billed"]
    assert {r.ChargePeriodStart.month for r in billed} >= {11}
    assert len({r.ChargePeriodStart.date() for r in billed if r.ChargePeriodStart.month == 11}) >= 25
