#!/usr/bin/env python3
"""The gcp collector's figures, measured against the emulated Google APIs (scripts/gcp_emulator.py).

* ``monitoring_calls_per_project``: Cloud Monitoring ``timeSeries.list`` calls of one run for a project of
  100 and of 2 000 instances (aggregated per metric type: the same count, at most ten);
* ``bigquery_bytes_billed_per_day_of_export``: BigQuery ``totalBytesBilled`` of a billing-export pull (the
  touched-days query and the re-aggregation, both bounded by ``_PARTITIONTIME``) divided by the usage days it
  re-read, for a standard export of ``--export-instances`` instances in hourly rows, and the bytes
  processed (before BigQuery's 10 MiB minimum) per day; computed by the emulator from BigQuery's data size rules;
* ``collector_import_ms``: ``import cloudtally.providers.gcp.collector`` in a fresh interpreter (median of 5),
  and which cloud SDKs that imports (none may be AWS/Azure/Databricks/Snowflake);
* ``records_per_s``: records and metric points per second of a full run over the 2 000-instance project;
* ``gcp_usd_per_month_10k_resources``: what the collector adds to CloudTally's own bill on Google Cloud for
  10 000 resources collected hourly: Cloud Functions time (the run's measured CPU seconds, linear in the fleet,
  plus ``GCP_CALL_S`` per API call, an assumption: no Google account here), Scheduler job, Secret Manager,
  BigQuery bytes, Monitoring reads; prices from catalog/data/gcp_platform_prices.json.

    .venv/bin/python bench/gcp_collector.py [--export-instances 500] [--export-days 5]

Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "common"), str(ROOT / "scripts")]

import gcp_emulator  # noqa: E402
import gcp_estate  # noqa: E402
from cloudtally import catalog  # noqa: E402
from cloudtally.collectors import registry, runner  # noqa: E402
from cloudtally.providers.gcp.session import GcpClients  # noqa: E402

NOW = datetime(2026, 12, 15, 9, 30, tzinfo=timezone.utc)
GCP_CALL_S = Decimal("0.3")          # assumed latency of one Google API call (no account here)
HOURS_PER_MONTH = Decimal(730)
DAYS_PER_MONTH = Decimal("30.4")
TIB = Decimal(1024) ** 4


def import_ms() -> tuple[float, list[str]]:
    # modules the import adds (a .pth file of the venv may pre-load the ``google`` namespace package itself)
    code = ("import sys, time; before = set(sys.modules); t = time.perf_counter(); "
            "import cloudtally.providers.gcp.collector; ms = (time.perf_counter() - t) * 1000; "
            "bad = sorted({m.split('.')[0] for m in set(sys.modules) - before if m.split('.')[0] in "
            "('boto3', 'botocore', 'azure', 'google', 'databricks', 'snowflake', 'requests')}); print(ms, ','.join(bad))")
    runs, bad = [], []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"PYTHONPATH": str(ROOT / "common"), "PATH": "/usr/bin:/bin"}).stdout.split()
        runs.append(float(out[0]))
        bad = out[1].split(",") if len(out) > 1 else []
    return sorted(runs)[len(runs) // 2], bad


def fleet_run(n: int) -> dict:
    """One scheduled run over a project of ``n`` instances: calls, records, time."""
    emu = gcp_emulator.Emulator(gcp_estate.fleet_estate(n))
    url = emu.start()
    try:
        sink = runner.ListSink()
        t0, c0 = time.perf_counter(), time.thread_time()
        summary = runner.run(registry.get("gcp"), sink=sink, clients=GcpClients(endpoint=url), now=NOW,
                             status=runner.MemoryStatus(ledgers=False), config={})
        wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
        assert not summary["failed_scopes"], summary["failed_scopes"]
        calls = sum(sum(ops.values()) for ops in summary["api_calls"].values())
        items = len(sink.records) + len(sink.metrics)
        return {"instances": n, "monitoring_calls": emu.monitoring_calls("acme-fleet"), "api_calls": calls,
                "records": len(sink.records), "metric_points": len(sink.metrics), "wall_s": round(wall, 3),
                "collector_cpu_s": round(cpu, 3), "records_per_s": round(items / wall, 1)}
    finally:
        emu.stop()


def export_pull(instances: int, days: int) -> dict:
    """A billing-export pull over ``days`` of hourly rows of ``instances`` instances (standard table)."""
    est = gcp_estate.fleet_estate(instances)
    today = NOW.date()
    rows = gcp_estate.export_rows(est, today - timedelta(days=days), today, catalog=catalog.load("gcp"), block_hours=1)
    emu = gcp_emulator.Emulator(est)
    emu.bq.create(gcp_estate.EXPORT_TABLE, "standard", rows)
    url = emu.start()
    try:
        clients = GcpClients(endpoint=url)
        summary = runner.run(registry.get("gcp"), sink=runner.ListSink(), clients=clients, now=NOW,
                             status=runner.MemoryStatus(ledgers=False),
                             config={"inventory": False, "monitoring": False, "initial_days": days,
                                     "billing_export_table": gcp_estate.EXPORT_TABLE})
        assert not summary["failed_scopes"], summary["failed_scopes"]
        touched = len(set(emu.bq.queries[1]["params"]["days"]))
        processed = sum(q["bytes_processed"] for q in emu.bq.queries)
        return {"rows": len(rows), "rows_per_day": len(rows) // days, "usage_days_reread": touched,
                "bytes_billed": clients.bytes_billed, "bytes_processed": processed,
                "bytes_billed_per_day": clients.bytes_billed // touched, "bytes_processed_per_day": processed // touched,
                "queries": len(emu.bq.queries)}
    finally:
        emu.stop()


def gcp_monthly(runs: list[dict], export: dict, resources: int) -> dict:
    """The collector's own Google Cloud bill for ``resources`` collected hourly (a linear fit of the runs)."""
    doc = json.loads((ROOT / "common/cloudtally/catalog/data/gcp_platform_prices.json").read_text())
    p = {k: Decimal(v["amount"]) for k, v in doc["prices"].items()}
    small, large = sorted(runs, key=lambda r: r["instances"])[:2]
    dn = Decimal(large["instances"] - small["instances"])
    cpu_per = (Decimal(str(large["collector_cpu_s"])) - Decimal(str(small["collector_cpu_s"]))) / dn
    cpu_fixed = max(Decimal(str(large["collector_cpu_s"])) - cpu_per * large["instances"], Decimal(0))
    n = Decimal(resources)
    spec = registry.get("gcp")
    # API calls of an hourly run: inventory pages (500 instances/disks a page) + the daily Monitoring pull
    pages = 2 * Decimal(math.ceil(resources / 500)) + 4
    run_s = cpu_fixed + cpu_per * n + pages * GCP_CALL_S
    daily_monitoring = Decimal(10)                     # per project: at most ten calls, once a day
    month_runs = HOURS_PER_MONTH
    gib = Decimal(spec.memory_mb) / 1024
    fn = month_runs * run_s * (gib * p["cloud_run_gib_second"] + p["cloud_run_vcpu_second"]) \
        + month_runs / Decimal(1_000_000) * p["cloud_run_requests_per_million"]
    billed_pulls = Decimal(24) / Decimal(spec.default_config().billing_interval_hours) * DAYS_PER_MONTH
    per_day_bytes = Decimal(export["bytes_billed_per_day"]) * n / Decimal(export["instances"])
    bq_bytes = billed_pulls * max(per_day_bytes * export["usage_days_reread"], Decimal(2 * 10 * 1024 ** 2))
    parts = {
        "cloud_functions": fn,
        "cloud_scheduler": p["cloud_scheduler_job_month"],
        "secret_manager": p["secret_manager_version_month"] * len(spec.all_secrets)
        + month_runs * len(spec.all_secrets) / 10000 * p["secret_manager_access_per_10k"],
        "bigquery_on_demand": bq_bytes / TIB * p["bigquery_on_demand_per_tib"],
        "monitoring_reads": daily_monitoring * DAYS_PER_MONTH / 1000 * p["monitoring_read_calls_per_1000"],
        "pubsub": p["pubsub_message_delivery_per_tib"] * month_runs * 1024 / TIB,
    }
    total = sum(parts.values(), Decimal(0))
    return {"total": total.quantize(Decimal("0.01")), "parts": {k: str(v.quantize(Decimal("0.0001"))) for k, v in parts.items()},
            "run_s_per_hourly_run": str(run_s.quantize(Decimal("0.01"))),
            "bigquery_bytes_per_month": str(bq_bytes.quantize(Decimal(1)))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export-instances", type=int, default=500)
    ap.add_argument("--export-days", type=int, default=5)
    a = ap.parse_args()
    ms, bad = import_ms()
    print(f"import cloudtally.providers.gcp.collector: {ms:.1f} ms (median of 5); SDKs imported: {bad or 'none'}")
    runs = [fleet_run(n) for n in (100, 2000)]
    for r in runs:
        print(f"{r['instances']} instances: {r['monitoring_calls']} timeSeries.list calls, {r['api_calls']} calls in all, "
              f"{r['records']} records + {r['metric_points']} points in {r['wall_s']} s ({r['collector_cpu_s']} s "
              f"collector CPU) -> {r['records_per_s']} items/s")
    export = export_pull(a.export_instances, a.export_days)
    export["instances"] = a.export_instances
    print(f"billing export: {export['rows']} rows ({export['rows_per_day']} a day), {export['usage_days_reread']} usage "
          f"days re-read, {export['bytes_billed']} bytes billed ({export['bytes_processed']} processed) in "
          f"{export['queries']} queries")
    cost = gcp_monthly(runs, export, 10_000)
    print(f"10 000 resources collected hourly: ${cost['total']}/month on Google Cloud: {cost['parts']}")
    print(json.dumps({
        "monitoring_calls_per_project": {str(r["instances"]): r["monitoring_calls"] for r in runs},
        "bigquery_bytes_billed_per_day_of_export": export["bytes_billed_per_day"],
        "bigquery_bytes_processed_per_day_of_export": export["bytes_processed_per_day"],
        "export_rows_per_day": export["rows_per_day"], "export_instances": a.export_instances,
        "collector_import_ms": round(ms, 1), "collector_imports_sdks": bad,
        "records_per_s": runs[-1]["records_per_s"], "full_run_records": runs[-1]["records"],
        "full_run_metric_points": runs[-1]["metric_points"],
        "gcp_usd_per_month_10k_resources": str(cost["total"]), "gcp_cost_parts": cost["parts"],
        "assumptions": {"gcp_call_s": str(GCP_CALL_S), "run_s_per_hourly_run_10k": cost["run_s_per_hourly_run"]},
        "prices": "catalog/data/gcp_platform_prices.json@2026-12-01"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
