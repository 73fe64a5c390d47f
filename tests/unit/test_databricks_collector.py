"""The Databricks collector over the local HTTP fake of the workspace (Statement Execution, clusters, jobs,
warehouses, pipelines), driven by databricks-sdk as in production."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cloudtally.collectors import registry, runner
from cloudtally.collectors.secrets import Secrets
from tests.helpers import load_module

fake = load_module("tests/fixtures/databricks/fake.py", "dbx_fake")
NOW = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
SPEC = registry.get("databricks")
AP = "clusters/0930-101010-abc1"


@pytest.fixture
def workspace():
    srv, ws = fake.serve()
    yield srv, ws
    srv.shutdown()


def run(workspace, *, now=NOW, status=None, sink=None, **cfg):
    srv, ws = workspace
    sink = sink if sink is not None else runner.ListSink()
    summary = runner.run(SPEC, sink=sink, status=status if status is not None else runner.MemoryStatus(), now=now,
                         config={"host": fake.url(srv), "warehouse_id": "wh-1", "workspace_id": "1234567890123456", **cfg},
                         secrets=Secrets(SPEC.all_secrets, env={"DATABRICKS_TOKEN": ws.token}))
    return summary, sink


def day_total(sink, day, source="billed"):
    return sum((r.BilledCost for r in sink.records.values() if r.day == day and r.x_CostSource == source), Decimal(0))


def test_billed_usage_is_quantity_times_the_list_price_of_its_validity_window(workspace):
    summary, sink = run(workspace)
    assert summary["status"] == "ok", summary["failed_scopes"]
    recs = {(r.day, r.ResourceId, r.x_CostSource): r for r in sink.records.values() if r.ResourceId}
    ap = recs[("2026-11-29", AP, "billed")]
    assert (ap.ConsumedQuantity, ap.ListUnitPrice, ap.BilledCost) == (Decimal("10"), Decimal("0.55"), Decimal("5.5"))
    assert ap.Tags["team"] == "data-eng" and ap.Tags["databricks:run_as"] == "data-eng@acme.example"
    assert (ap.ServiceName, ap.SubAccountId, ap.BillingAccountId) == (
        "Databricks All-Purpose Compute", "1234567890123456", "acc-5f3c2e10")
    # the jobs price changed at 2026-11-30T00:00: 11-29 at 0.15, 11-30 at 0.16 (not yet settled: estimated)
    assert recs[("2026-11-29", "jobs/123", "billed")].BilledCost == Decimal("0.525")
    assert recs[("2026-11-30", "jobs/123", "estimated")].ListUnitPrice == Decimal("0.16")
    assert recs[("2026-11-29", "warehouses/9f3e2a1b0c4d5e6f", "billed")].ServiceName == "Databricks SQL Pro"
    serving = recs[("2026-11-29", "serving-endpoints/chat-assistant", "billed")]
    assert serving.BilledCost == Decimal("0.333333333333333333") * Decimal("0.082")      # exact, not rounded
    assert day_total(sink, "2026-11-29") == Decimal("5.5") + Decimal("0.525") + Decimal("19.8") + Decimal("0.6") \
        + Decimal("0.333333333333333333") * Decimal("0.082")


def test_a_restated_day_replaces_the_earlier_one(workspace):
    status, sink = runner.MemoryStatus(), runner.ListSink()
    run(workspace, status=status, sink=sink)
    before = day_total(sink, "2026-11-29")
    # GIVEN Databricks corrects 11-29's all-purpose usage two days later: retract 4 x 2.5 DBU, restate 4 x 2.0
    old = [r for r in fake.load("system_billing_usage.json")
           if r["usage_date"] == "2026-11-29" and r["usage_metadata"].get("cluster_id") == "0930-101010-abc1"]
    retract = [{**r, "record_id": r["record_id"] + "-x", "record_type": "RETRACTION", "ingestion_date": "2026-12-01",
                "usage_quantity": "-" + r["usage_quantity"]} for r in old]
    restate = [{**r, "record_id": r["record_id"] + "-r", "record_type": "RESTATEMENT", "ingestion_date": "2026-12-01",
                "usage_quantity": "2.0"} for r in old]
    workspace[1].insert_usage(retract + restate)
    # WHEN the next run reads the days ingested since its watermark
    summary, _ = run(workspace, now=NOW + timedelta(hours=1), status=status, sink=sink)
    # THEN 11-29's all-purpose line is the restated one (same record, 8 DBU), and the day's total changed by the
    # difference only: replaced, never added
    aps = [r for r in sink.records.values() if r.day == "2026-11-29" and r.ResourceId == AP and r.x_CostSource == "billed"]
    assert len(aps) == 1 and aps[0].ConsumedQuantity == Decimal("8") and aps[0].BilledCost == Decimal("4.4")
    assert "correction rows" in aps[0].ChargeDescription
    assert day_total(sink, "2026-11-29") == before - Decimal("1.1")
    assert summary["api_calls"]["sql"]["ExecuteStatement"] <= 2


def test_a_fully_retracted_group_comes_back_as_zero(workspace):
    status, sink = runner.MemoryStatus(), runner.ListSink()
    run(workspace, status=status, sink=sink)
    old = [r for r in fake.load("system_billing_usage.json") if r["usage_date"] == "2026-11-29"
           and r["usage_metadata"].get("dlt_pipeline_id")]
    workspace[1].insert_usage([{**r, "record_id": r["record_id"] + "-x", "record_type": "RETRACTION",
                                "ingestion_date": "2026-12-01", "usage_quantity": "-" + r["usage_quantity"]} for r in old])
    run(workspace, now=NOW + timedelta(hours=1), status=status, sink=sink)
    (dlt,) = [r for r in sink.records.values() if r.day == "2026-11-29" and r.ResourceId == "pipelines/a1b2c3d4-pipe"]
    assert dlt.BilledCost == 0 and dlt.ConsumedQuantity == 0


def test_at_most_two_statements_whatever_the_workspace_and_one_when_nothing_runs(workspace):
    summary, _ = run(workspace)
    assert summary["api_calls"]["sql"]["ExecuteStatement"] == 2       # billed + rates of the running compute
    srv, ws = workspace
    for cl in ws.lists["/api/2.1/clusters/list"]["clusters"]:
        cl["state"] = "TERMINATED"
    for wh in ws.lists["/api/2.0/sql/warehouses"]["warehouses"]:
        wh["state"] = "STOPPED"
    summary, _ = run(workspace)
    assert summary["api_calls"]["sql"]["ExecuteStatement"] == 1
    # the list calls page (page size 2 in the fake): 4 clusters are 2 pages
    assert summary["api_calls"]["clusters"]["List"] == 2


def test_unsettled_days_are_estimated_and_running_compute_is_extrapolated_from_its_observed_rate(workspace):
    _, sink = run(workspace, status=runner.MemoryStatus(ledgers=False))     # every record, no day ledger
    est = [r for r in sink.records.values() if r.x_CostSource == "estimated" and r.x_LineKey == "extrapolated"]
    by = {r.ResourceId: r for r in est}
    # the table ends at 06:00 for the cluster (2.5 DBU/h) and 05:00 for the warehouse (12 DBU/h)
    assert by[AP].ConsumedQuantity == Decimal("10") and by[AP].ListUnitPrice == Decimal("0.55")
    assert by[AP].x_CatalogVersion == "databricks-2026-12-01" and by[AP].day == "2026-12-01"
    assert by["warehouses/9f3e2a1b0c4d5e6f"].ConsumedQuantity == Decimal("60")
    # a cluster that started after the table's end has no observed rate: reported, not guessed
    summary, _ = run(workspace)
    notes = summary["scopes"]["1234567890123456/estimates"]["notes"]
    assert any("1130-232713-adh2" in n for n in notes)


def test_external_links_and_inline_chunks_give_the_same_records(workspace):
    srv, ws = workspace
    ws.chunk_rows = 3
    _, links = run(workspace, disposition="EXTERNAL_LINKS", estimates=False)
    _, inline = run(workspace, disposition="INLINE", estimates=False)
    assert links.records.keys() == inline.records.keys() and len(links.records) > 10
    assert all(links.records[k].BilledCost == inline.records[k].BilledCost for k in links.records)
    # external links were fetched without the workspace token (the fake refuses it there)
    assert any(p.startswith("/external/") for _, p in ws.requests)


def test_a_statement_failed_under_http_200_fails_its_scope_only(workspace):
    workspace[1].revoke("system.billing.list_prices")
    summary, sink = run(workspace)
    failed = {f["scope"]: f["errors"][0] for f in summary["failed_scopes"]}
    assert set(failed) == {"1234567890123456/billing"}
    err = failed["1234567890123456/billing"]
    assert err["kind"] == "auth" and "INSUFFICIENT_PERMISSIONS" in err["message"] and "list_prices" in err["setting"]
    assert summary["scopes"]["1234567890123456/clusters"]["status"] == "ok"
    assert not any(r.x_CostSource == "billed" for r in sink.records.values())


def test_pending_statements_are_polled_until_they_succeed(workspace):
    workspace[1].pending_polls = 2
    summary, sink = run(workspace, estimates=False)
    assert summary["status"] == "ok" and summary["api_calls"]["sql"]["GetStatement"] >= 2
    assert day_total(sink, "2026-11-29") > 0


def test_a_rerun_sends_nothing_new_and_totals_stay(workspace):
    status, sink = runner.MemoryStatus(), runner.ListSink()
    first, _ = run(workspace, status=status, sink=sink, estimates=False)
    totals = {d: day_total(sink, d) for d in ("2026-11-28", "2026-11-29")}
    again, _ = run(workspace, status=status, sink=sink, now=NOW + timedelta(minutes=5), estimates=False)
    assert first["records_sent"] > 0 and again["records_sent"] == 0
    assert {d: day_total(sink, d) for d in totals} == totals


def test_a_wrong_token_is_an_auth_error_naming_the_secret(workspace):
    srv, ws = workspace
    summary = runner.run(SPEC, sink=runner.ListSink(), status=runner.MemoryStatus(), now=NOW,
                         config={"host": fake.url(srv), "warehouse_id": "wh-1"},
                         secrets=Secrets(SPEC.all_secrets, env={"DATABRICKS_TOKEN": "dapi-wrong"}))
    errs = [f["errors"][0] for f in summary["failed_scopes"]]
    assert errs and all(e["kind"] == "auth" for e in errs) and "DATABRICKS_TOKEN" in errs[0]["setting"]
    assert "dapi-wrong" not in str(summary)
