"""``azure-billing-export`` against Azurite (npm, in memory): Cost Management exports in the layout they land in
(<directory>/<export>/<YYYYMMDD-YYYYMMDD>/<run id>/part_*, manifest.json), FOCUS as CSV gzip and Parquet, Actual
+ Amortized, an incomplete run left for later, an unchanged period skipped, a corrected export replacing its
period, and the collector's Function App timer through the API."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequestConverter

from cloudtally import devstack
from cloudtally.collectors import registry, runner
from cloudtally.collectors.secrets import Secrets
from cloudtally.providers.azure import deploy
from cloudtally.providers.azure.blob import BlobContainer
from cloudtally.providers.azure.session import AzureHttp, StaticCredential
from cloudtally.query import parse_query
from tests.helpers import load_module, pinned_env

pytestmark = pytest.mark.integration
FIX = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "azure-billing-export"
replay_mod = load_module(FIX / "replay.py", "azure_export_replay_under_test")
NOW = datetime(2026, 11, 4, 6, tzinfo=timezone.utc)
FOCUS_BILLED = Decimal("103.5258")         # the recorded part: 3 days of a VM (reserved) and storage + the purchase
FOCUS_EFFECTIVE = Decimal("29.0058")


def _container(url, name):
    c = BlobContainer(AzureHttp(StaticCredential("unused")), url, name, auth="account-key", credential=devstack.AZURITE_KEY)
    c.create()
    return c


def _run(url, container, *, sink=None, status=None, now=NOW, **config):
    spec = registry.get("azure-billing-export")
    sink = sink or runner.ListSink()
    s = runner.run(spec, sink=sink, status=status or runner.MemoryStatus(), now=now,
                   config={"container": container, "directory": "exports", "export_name": "focus-daily",
                           "auth": "account-key", "account_url": url, **config},
                   secrets=Secrets(spec.all_secrets, env={"AZURE_STORAGE_CREDENTIAL": devstack.AZURITE_KEY}))
    return s, sink


def _sum(records, field):
    return sum((getattr(r, field) for r in records), Decimal(0))


def test_a_focus_export_run_is_imported_whole(azurite_endpoint):
    sink = runner.ListSink()
    s = replay_mod.replay(account_url=azurite_endpoint, sink=sink)
    recs = list(sink.imports.records.values())
    assert s["status"] == "ok" and len(recs) == 7
    assert (_sum(recs, "BilledCost"), _sum(recs, "EffectiveCost")) == (FOCUS_BILLED, FOCUS_EFFECTIVE)
    assert {r.x_Collector for r in recs} == {"azure-billing-export"} and {r.x_CostSource for r in recs} == {"billed"}
    assert {r.BillingAccountId for r in recs} == {"/providers/Microsoft.Billing/billingAccounts/81234567"}
    assert s["api_calls"]["blob"] == {"ListBlobs": 2, "GetBlob": 2}     # Oct (nothing) and Nov; manifest + part


def test_parquet_parts_an_unchanged_period_and_a_corrected_run(azurite_endpoint):
    c = _container(azurite_endpoint, "parquet-exports")
    buf = io.BytesIO()
    pl.read_csv(FIX / "part_0_0001.csv", infer_schema_length=0).write_parquet(buf)
    run1 = "exports/focus-daily/20261101-20261130/run-0001"
    c.put(f"{run1}/part_0_0001.parquet", buf.getvalue())
    status = runner.MemoryStatus()
    s, sink = _run(azurite_endpoint, "parquet-exports", status=status)
    assert s["status"] == "ok" and len(sink.imports.records) == 7
    assert _sum(sink.imports.records.values(), "BilledCost") == FOCUS_BILLED
    # nothing new: the period is skipped on the next run (its newest Last-Modified is the cursor)
    s2, _ = _run(azurite_endpoint, "parquet-exports", status=status, sink=sink)
    assert any("2026-11: unchanged" in n for sc in s2["scopes"].values() for n in sc.get("notes", []))
    # a newer run restates the period with one day fewer: the period is replaced, the stale rows removed
    rows = list(csv.DictReader(io.StringIO((FIX / "part_0_0001.csv").read_text())))
    kept = [r for r in rows if not r["ChargePeriodStart"].startswith("2026-11-03")]
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(kept)
    c.put("exports/focus-daily/20261101-20261130/run-0002/part_0_0001.csv.gz", gzip.compress(out.getvalue().encode()))
    s3, _ = _run(azurite_endpoint, "parquet-exports", status=status, sink=sink)
    scope = next(v for k, v in s3["scopes"].items() if k.endswith("2026-11"))
    assert scope["notes"] == ["2026-11: imported, 5 rows, 5 written, 2 stale removed"]
    assert len(sink.imports.records) == 5


def test_an_incomplete_run_is_left_for_the_next_run(azurite_endpoint):
    c = _container(azurite_endpoint, "incomplete-exports")
    manifest = json.loads((FIX / "manifest.json").read_text())
    run = "exports/focus-daily/20261101-20261130/run-half"
    manifest["blobs"] = [{"blobName": f"{run}/part_0_0001.csv.gz"}, {"blobName": f"{run}/part_1_0001.csv.gz"}]
    replay_mod.deliver(azurite_endpoint, container="incomplete-exports", run=run, manifest=json.dumps(manifest).encode())
    s, sink = _run(azurite_endpoint, "incomplete-exports")
    assert sink.imports.records == {} and s["status"] == "ok"
    note = next(n for sc in s["scopes"].values() for n in sc.get("notes", []) if n.startswith("2026-11"))
    assert "incomplete: 1 of 2 listed blobs not there yet" in note
    c.put(f"{run}/part_1_0001.csv.gz", gzip.compress(b"BilledCost,ChargePeriodStart\n"))    # lands, but is not FOCUS
    s2, sink2 = _run(azurite_endpoint, "incomplete-exports")
    assert sink2.imports.records == {}                     # one bad part: nothing of the period is replaced
    assert s2["failed_scopes"] and "not imported" in s2["failed_scopes"][0]["errors"][0]["message"]


ACTUAL_COLS = ["BillingAccountId", "BillingAccountName", "BillingPeriodStartDate", "BillingPeriodEndDate", "SubscriptionId",
               "SubscriptionName", "Date", "MeterCategory", "MeterId", "MeterName", "Quantity", "CostInBillingCurrency",
               "BillingCurrencyCode", "ChargeType", "ResourceId", "ResourceLocation", "PricingModel", "AccountOwnerId"]


def _ea(rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(ACTUAL_COLS)
    for day, cost, charge, model, rid in rows:
        w.writerow(["8123456", "Contoso", "11/01/2026", "11/30/2026", "sub-1", "erp", day, "Virtual Machines",
                    "m-1", "D8s v5", "24", cost, "USD", charge, rid, "westeurope", model, "owner@contoso.example"])
    return gzip.compress(out.getvalue().encode())


def test_actual_and_amortized_exports_give_billed_and_effective_cost_once_each(azurite_endpoint):
    c = _container(azurite_endpoint, "ea-exports")
    vm = "/subscriptions/sub-1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/erp-1"
    c.put("exports/actual-daily/20261101-20261130/r1/part_0_0001.csv.gz", _ea([
        ("11/01/2026", "0", "Usage", "Reservation", vm), ("11/02/2026", "0", "Usage", "Reservation", vm),
        ("11/01/2026", "99.36", "Purchase", "Reservation", "")]))
    c.put("exports/amortized-daily/20261101-20261130/r1/part_0_0001.csv.gz", _ea([
        ("11/01/2026", "3.312", "Usage", "Reservation", vm), ("11/02/2026", "3.312", "Usage", "Reservation", vm)]))
    s, sink = _run(azurite_endpoint, "ea-exports", export_name="actual-daily", dataset="actual",
                   amortized_export_name="amortized-daily")
    recs = list(sink.imports.records.values())
    assert s["status"] == "ok" and len(recs) == 5
    assert _sum(recs, "BilledCost") == Decimal("99.36") and _sum(recs, "EffectiveCost") == Decimal("6.624")
    assert {r.x_Collector for r in recs} == {"azure-billing-export:actual", "azure-billing-export:amortized"}


def test_the_function_app_timer_imports_through_the_api(azurite_endpoint, http_api, monkeypatch, no_table):
    replay_mod.deliver(azurite_endpoint, container="api-exports")
    key = http_api["keys"]["ingest"]
    cfg = {"account_url": azurite_endpoint, "container": "api-exports", "directory": "exports",
           "export_name": "focus-daily", "auth": "account-key"}
    for k, v in {"CLOUDTALLY_API_URL": http_api["url"], **pinned_env(NOW),
                 "CLOUDTALLY_SECRET_INGEST_API_KEY": json.dumps({"key_id": key["id"], "key_secret": key["secret"]}),
                 "CLOUDTALLY_SECRET_AZURE_EXPORT_STORAGE_CREDENTIAL": devstack.AZURITE_KEY,
                 "CLOUDTALLY_COLLECTOR_CONFIG_AZURE_BILLING_EXPORT": json.dumps(cfg)}.items():
        monkeypatch.setenv(k, v)
    for k in ("CLOUDTALLY_API_KEY_ID", "CLOUDTALLY_API_KEY_SECRET", "AZURE_STORAGE_CREDENTIAL"):
        monkeypatch.delenv(k, raising=False)
    module = deploy.load_function_app()
    summaries = []
    real = module.run
    monkeypatch.setattr(module, "run", lambda *a, **kw: summaries.append(real(*a, **kw)))
    fn = next(f for f in module.app.get_functions() if f.get_function_name() == "collect-azure-billing-export")
    timer = TimerRequestConverter.decode(Datum(json.dumps({"IsPastDue": False}), "json"), trigger_metadata={})
    with no_table():
        fn.get_user_function()(timer)
    (s,) = summaries
    assert s["status"] == "ok", json.dumps(s, default=str)[:3000]
    assert s["api_requests"]["imports"] >= 3      # begin, stage, commit
    totals = http_api["store"].summary(parse_query({"from": "2026-11-01", "to": "2026-12-01", "provider": "Microsoft",
                                                     "granularity": "total"}))["totals"]["USD"]
    assert (Decimal(totals["BilledCost"]), Decimal(totals["EffectiveCost"])) == (FOCUS_BILLED, FOCUS_EFFECTIVE)
    assert devstack.AZURITE_KEY not in json.dumps(s, default=str)


def test_older_exports_without_run_folders_take_the_newest_file(azurite_endpoint):
    c = _container(azurite_endpoint, "v1-exports")
    part = (FIX / "part_0_0001.csv").read_text()
    lines = part.splitlines()
    c.put("exports/focus-daily/20261101-20261130/focus-daily_0001.csv", "\n".join(lines[:3]).encode() + b"\n")
    c.put("exports/focus-daily/20261101-20261130/focus-daily_0002.csv", part.encode())   # the later, fuller snapshot
    s, sink = _run(azurite_endpoint, "v1-exports")
    assert s["status"] == "ok" and len(sink.imports.records) == 7          # one snapshot, not both added up
    assert _sum(sink.imports.records.values(), "BilledCost") == FOCUS_BILLED
