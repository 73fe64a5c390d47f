#!/usr/bin/env python3
"""Azure collector figures, measured against the local Azure emulator; the last stdout line is one JSON object.

- metrics_calls_per_1000_vms: metrics:getBatch requests counted at the transport (the collector's HTTP session,
  cross-checked with what reached the emulator) for a fleet of N >= 1000 running VMs in two regions, scaled to
  1000 (CPU, memory, disk and network: 6 metrics a call, 50 VMs a call).
- cost_query_calls_per_run: Cost Management Query requests of one run of the demo subscription when the billed pull
  is due (ActualCost + AmortizedCost, every page), and per day with the 8-hour gate.
- collector_import_ms: importing cloudtally.providers.azure.collector in a fresh interpreter (median of 5); also
  checks that no AWS/GCP/Databricks/Snowflake (nor Azure) SDK is imported.
- records_per_s: records + metric points per second of a full run of the demo subscription (every pull due).
- azure_share_usd_per_month_10k_resources: what the Azure side costs for 10 000 resources collected hourly —
  Flex Consumption executions and GB-s (run time measured on two fleet sizes, fitted linear, plus an assumed
  AZURE_CALL_S per Azure API request), metrics queries, Key Vault, the app's storage, egress of the records —
  priced from common/cloudtally/catalog/data/azure_platform_prices.json.

    .venv/bin/python bench/azure_collector.py [--vms 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))

from cloudtally.collectors import registry, runner  # noqa: E402
from cloudtally.money import dumps  # noqa: E402
from cloudtally.providers.azure import deploy  # noqa: E402
from cloudtally.providers.azure import emulator as E  # noqa: E402
from cloudtally.providers.azure.collector import AzureClients  # noqa: E402
from cloudtally.providers.azure.session import AzureHttp, StaticCredential  # noqa: E402

NOW = datetime(2026, 12, 15, 9, 30, tzinfo=timezone.utc)      # a pinned clock: the figures do not move with the date
AZURE_CALL_S = Decimal("0.3")         # assumed latency of one Azure API request from a Function (not measurable here)
HOURS_PER_MONTH = Decimal(730)
DAYS_PER_MONTH = Decimal("30.4")
RECORD_BYTES = 1200                   # a posted record as JSON, about (egress to the CloudTally API)


def prices() -> dict[str, Decimal]:
    doc = json.loads((ROOT / "common/cloudtally/catalog/data/azure_platform_prices.json").read_text())
    return {k: Decimal(v["amount"]) for k, v in doc["prices"].items()}


def import_ms() -> tuple[float, list[str]]:
    # modules the import adds (functions-framework's nspkg .pth pre-loads the empty ``google`` namespace)
    code = ("import sys, time; before = set(sys.modules); t = time.perf_counter(); "
            "import cloudtally.providers.azure.collector; ms = (time.perf_counter() - t) * 1000; "
            "bad = sorted({m.split('.')[0] for m in set(sys.modules) - before if m.split('.')[0] in "
            "('boto3', 'botocore', 'azure', 'google', 'databricks', 'snowflake')}); print(ms, ','.join(bad))")
    runs, bad = [], []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=ROOT / "common").stdout.split()
        runs.append(float(out[0]))
        bad = out[1].split(",") if len(out) > 1 else []
    return sorted(runs)[len(runs) // 2], bad


def collect(estate: E.Estate, *, config: dict | None = None, status=None, now: datetime = NOW,
            page_size: int = 1000) -> dict:
    with E.Emulator(estate, page_size=page_size) as emu:
        http = AzureHttp(StaticCredential("bench"), sleep=lambda s: None)
        sink = runner.ListSink()
        t = time.perf_counter()
        summary = runner.run(registry.get("azure"), sink=sink, now=now, config=config or {},
                             clients=AzureClients(http=http, arm=emu.url, metrics=emu.metrics_url),
                             status=status or runner.MemoryStatus(ledgers=False))
        dt = time.perf_counter() - t
        assert summary["status"] == "ok", summary["failed_scopes"]
        return {"summary": summary, "seconds": dt, "transport": dict(http.calls), "reached": dict(emu.requests),
                "records": len(sink.records), "points": len(sink.metrics)}


def metrics_calls(n: int) -> tuple[int, int, int]:
    run = collect(E.fleet_estate(NOW, vms=n), config={"cost_management": False})
    calls = run["transport"].get("monitor:GetBatch", 0)
    assert calls == run["reached"]["metrics"], (calls, run["reached"])       # counted at the transport = received
    return calls, n, run["points"]


def hourly_run_s(n: int) -> tuple[Decimal, Decimal, int]:
    """(seconds of an hourly run with nothing gated due, of the daily run with everything due, API requests of each)."""
    status = runner.MemoryStatus(ledgers=False)
    daily = collect(E.fleet_estate(NOW, vms=n), status=status)
    hourly = collect(E.fleet_estate(NOW, vms=n), status=status, now=NOW + timedelta(hours=1))
    return (Decimal(str(round(hourly["seconds"], 4))), Decimal(str(round(daily["seconds"], 4))),
            sum(hourly["transport"].values()), sum(daily["transport"].values()))


def azure_share(resources: int, fit: dict, p: dict[str, Decimal], instance_gb: Decimal) -> dict:
    """Monthly USD of the Azure side for ``resources`` collected hourly (the azure collector's fleet), from the fit."""
    n = Decimal(resources)
    with_calls = lambda s, calls: s + calls * AZURE_CALL_S   # noqa: E731
    per_res = lambda k: fit[k][0] + fit[k][1] * n            # noqa: E731
    hourly_s = with_calls(per_res("hourly_s"), per_res("hourly_calls"))
    daily_s = with_calls(per_res("daily_s"), per_res("daily_calls"))
    runs_hourly = HOURS_PER_MONTH - DAYS_PER_MONTH
    export_runs = HOURS_PER_MONTH / 6
    gbs = (runs_hourly * hourly_s + DAYS_PER_MONTH * daily_s + export_runs * Decimal(30)) * instance_gb
    executions = HOURS_PER_MONTH + export_runs
    series = n * 6 * DAYS_PER_MONTH            # resource x metric, pulled once a day
    parts = {
        "functions_gb_seconds": gbs * p["flex_on_demand_gb_second"],
        "functions_executions": executions / Decimal(1_000_000) * p["flex_on_demand_executions_per_million"],
        "monitor_metrics_queries": series / 1000 * p["monitor_metrics_query_per_1000"],
        "key_vault": Decimal(2 * 31) / 10000 * p["key_vault_operations_per_10000"],
        "function_storage": Decimal("0.25") * p["storage_blob_hot_lrs_gb_month"]
        + (executions * 20) / 10000 * p["storage_operations_per_10000"],
        "egress_records": n * DAYS_PER_MONTH * RECORD_BYTES / Decimal(1024 ** 3) * p["bandwidth_internet_egress_gb"],
    }
    total = sum(parts.values(), Decimal(0))
    # the other reading of metrics billing: per request (50 resources x 6 metrics a getBatch call)
    per_call = (n / 50 * DAYS_PER_MONTH).to_integral_value(rounding="ROUND_CEILING") / 1000 * p["monitor_metrics_query_per_1000"]
    return {"total": total.quantize(Decimal("0.01")),
            "total_if_metrics_billed_per_call": (total - parts["monitor_metrics_queries"] + per_call).quantize(Decimal("0.01")), "parts": {k: v.quantize(Decimal("0.0001")) for k, v in parts.items()},
            "units": {"hourly_run_s": hourly_s.quantize(Decimal("0.01")), "daily_run_s": daily_s.quantize(Decimal("0.01")),
                      "gb_seconds": gbs.quantize(Decimal(1)), "metric_series": series.quantize(Decimal(1))}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--samples", default="500,2000", help="two fleet sizes to fit the run time on")
    a = ap.parse_args()
    ms, bad = import_ms()
    print(f"import cloudtally.providers.azure.collector: {ms:.1f} ms (median of 5); SDKs imported: {bad or 'none'}")
    calls, n, points = metrics_calls(max(a.vms, 1000))
    per_1000 = round(calls * 1000 / n, 2)
    print(f"metrics:getBatch: {calls} calls for {n} VMs in 2 regions ({points} points) -> {per_1000} per 1000 VMs")
    demo = collect(E.demo_estate(NOW))
    q = demo["transport"].get("costmanagement:Query", 0)
    interval = Decimal(str(registry.get("azure").default_config().cost_interval_hours))
    n_items = demo["records"] + demo["points"]
    rps = round(n_items / demo["seconds"], 1)
    print(f"demo subscription, every pull due: {demo['records']} records + {demo['points']} points in "
          f"{demo['seconds']:.3f} s -> {rps} items/s; Cost Management queries {q} (x {24 / interval} pulls a day)")
    small, large = sorted(int(x) for x in a.samples.split(","))
    s = hourly_run_s(small)
    l_ = hourly_run_s(large)
    dn = Decimal(large - small)
    fit = {}
    for i, k in enumerate(("hourly_s", "daily_s", "hourly_calls", "daily_calls")):
        slope = max((Decimal(l_[i]) - Decimal(s[i])) / dn, Decimal(0))
        fit[k] = (max(Decimal(l_[i]) - slope * large, Decimal(0)), slope)
    site = next(r for r in json.loads(deploy.TEMPLATE.read_text())["resources"] if r["type"] == "Microsoft.Web/sites")
    instance_gb = Decimal(site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"]) / 1024
    share = azure_share(10000, fit, prices(), instance_gb)
    print(f"Azure side for 10 000 resources collected hourly: ${share['total']}/month (metrics billed per time series; "
          f"${share['total_if_metrics_billed_per_call']} if per request) {dumps(share['parts'])} units {dumps(share['units'])}")
    print(json.dumps({"metrics_calls_per_1000_vms": per_1000, "metrics_calls_measured": calls, "fleet_vms": n,
                      "cost_query_calls_per_run": q, "cost_query_calls_per_day": float(q * 24 / interval),
                      "collector_import_ms": round(ms, 1), "collector_imports_sdks": bad, "records_per_s": rps,
                      "azure_share_usd_per_month_10k_resources": str(share["total"]),
                      "azure_share_if_metrics_billed_per_call": str(share["total_if_metrics_billed_per_call"]),
                      "azure_share_parts": {k: str(v) for k, v in share["parts"].items()},
                      "assumptions": {"azure_call_s": str(AZURE_CALL_S), "instance_memory_gb": str(instance_gb),
                                      "prices": "catalog/data/azure_platform_prices.json@2026-12-01"}}))
    return 0 if per_1000 <= 25 and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
