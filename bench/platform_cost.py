#!/usr/bin/env python3
"""Monthly AWS bill of running CloudTally itself, for N resources collected hourly, from measured units.

Measured here (DynamoDB Local, the real Store and ApiService in-process):
  * WRU and RRU per ingested record (records + rollup dirty marks + key lookups), from ConsumedCapacity
    (Store.capacity). DynamoDB Local under-counts TransactWriteItems, so any transactional write is
    re-priced from its item sizes (2 WRU per started KB per item).
  * RRU per dashboard load (summary grouped by service over 30 days, plus top resources).
  * handler durations: the API's ingest of one batch and one dashboard load, at the configured memory.
Derived from the registry: collector runs per month (each AWS collector's schedule), Cost Explorer requests
(one per run and page), Lambda GB-seconds at each function's memory. Prices: the versioned catalog file
common/cloudtally/catalog/data/aws_platform_prices.json (source URLs and date there).

    .venv/bin/python bench/platform_cost.py [--resources 10000] [--sample 2000] [--dashboard-loads-per-day 50]

Last stdout line: one JSON object with usd_per_month_10k_resources (target < 5).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
import uuid
from decimal import Decimal, localcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))

from cloudtally import devstack  # noqa: E402
from cloudtally.config import Settings  # noqa: E402
from cloudtally.infra_render import API_MEMORY_MB, ALERTS_MEMORY_MB, aws_specs  # noqa: E402
from cloudtally.money import CONTEXT, dumps  # noqa: E402

HOURS_PER_MONTH = Decimal(730)
MILLION = Decimal(1_000_000)
BATCH = 1000                    # records per POST /v1/records (the ingest client's default batch)


def prices() -> dict[str, Decimal]:
    doc = json.loads((ROOT / "common/cloudtally/catalog/data/aws_platform_prices.json").read_text())
    return {k: Decimal(v["amount"]) for k, v in doc["prices"].items()}


def runs_per_month(expr: str) -> Decimal:
    """Runs/month of an EventBridge rate() expression; cron() counts as hourly (upper bound)."""
    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expr.strip())
    if not m:
        return HOURS_PER_MONTH
    n, unit = int(m.group(1)), m.group(2).rstrip("s")
    per_hour = {"minute": Decimal(60), "hour": Decimal(1), "day": Decimal(1) / 24}[unit] / n
    return HOURS_PER_MONTH * per_hour


def _records(n: int, hour: int) -> list[dict]:
    start = f"2026-11-01T{hour:02d}:00:00Z"
    end = f"2026-11-01T{hour + 1:02d}:00:00Z"
    services = ["Amazon EC2", "Amazon EBS", "Amazon RDS", "AWS Lambda", "Amazon S3"]
    return [{"ProviderName": "AWS", "BillingAccountId": "111111111111", "SubAccountId": "222222222222",
             "ServiceName": services[i % 5], "ServiceCategory": "Compute", "ChargeCategory": "Usage",
             "ChargePeriodStart": start, "ChargePeriodEnd": end, "BilledCost": "0.0416",
             "EffectiveCost": "0.0416", "ListCost": "0.0416", "BillingCurrency": "USD",
             "ResourceId": f"i-{i:017x}", "RegionId": "us-east-1", "PricingUnit": "Hours",
             "PricingQuantity": "1", "ConsumedQuantity": "1", "x_CostSource": "estimated", "x_Collector": "aws",
             "Tags": {"team": f"t{i % 7}", "environment": "prod"}} for i in range(n)]


def _item_kb(item: dict) -> int:
    return max(1, math.ceil(len(json.dumps(item, default=str).encode()) / 1024))


def measure(sample: int, endpoint: str) -> dict:
    from cloudtally.api.service import ApiService
    from cloudtally.store import Store

    cfg = Settings(table=f"bench-{uuid.uuid4().hex[:10]}", dynamodb_endpoint=endpoint, auth_cache_seconds=30)
    store = Store(cfg)
    store.create_table()
    transact_wru = [Decimal(0)]
    orig = store._call

    def counting(op, kwargs, kind):       # DynamoDB Local under-counts transactions: price them from item sizes
        if op == "TransactWriteItems":
            for it in kwargs.get("TransactItems", []):
                body = next(iter(it.values()))
                transact_wru[0] += 2 * _item_kb(body.get("Item") or body.get("Key") or {})
            resp = orig(op, kwargs, kind)
            resp.pop("ConsumedCapacity", None)
            return resp
        return orig(op, kwargs, kind)
    store._call = counting
    try:
        svc = ApiService(cfg, store)
        key = svc.keys.create("bench-ingest", ["ingest"])
        headers = {"X-CloudTally-Key-Id": key["id"], "X-CloudTally-Key-Secret": key["secret"],
                   "Content-Type": "application/json"}
        # warm-up (cold paths, key cache), then measured hourly batches
        svc.ingest(json.dumps(_records(10, 0)), headers)
        base = dict(store.capacity)
        transact_wru[0] = Decimal(0)
        durations = []
        hours = 3
        for h in range(1, hours + 1):
            recs = _records(sample, h)
            for i in range(0, len(recs), BATCH):
                t0 = time.perf_counter()
                out = svc.ingest(json.dumps(recs[i:i + BATCH]), headers)
                durations.append(time.perf_counter() - t0)
                assert not out["rejected"], out["rejected"][:2]
        n = sample * hours
        wru = (store.capacity["write"] - base["write"] + transact_wru[0]) / n
        rru_ingest = (store.capacity["read"] - base["read"]) / n
        # a dashboard load: summary by service (30 days) + top resources
        before = store.capacity["read"]
        t0 = time.perf_counter()
        loads = 5
        for _ in range(loads):
            svc.summary({"from": "2026-10-15", "to": "2026-11-14", "group_by": "service", "granularity": "day"})
            svc.top_resources({"from": "2026-10-15", "to": "2026-11-14"})
        dash_s = (time.perf_counter() - t0) / loads
        rru_dash = (store.capacity["read"] - before) / loads
        item_bytes = sum(len(json.dumps(r).encode()) for r in _records(100, 1)) / 100
        return {"wru_per_record": wru, "rru_per_record": rru_ingest, "rru_per_dashboard_load": rru_dash,
                "ingest_s_per_batch": Decimal(str(sorted(durations)[len(durations) // 2])),
                "dashboard_load_s": Decimal(str(dash_s)), "record_json_bytes": Decimal(str(item_bytes))}
    finally:
        store._call = orig
        store.delete_table()


def estimate(m: dict, p: dict[str, Decimal], resources: int, loads_per_day: int) -> dict:
    with localcontext(CONTEXT):
        records = Decimal(resources) * HOURS_PER_MONTH
        batches = (records / BATCH).to_integral_value(rounding="ROUND_CEILING")
        dash_loads = Decimal(loads_per_day) * Decimal("30.4")
        api_calls_per_load = Decimal(3)          # config.json is static; summary + top resources + collectors
        api_requests = batches + dash_loads * api_calls_per_load
        ddb_w = records * m["wru_per_record"] / MILLION * p["dynamodb_on_demand_wru_per_million"]
        ddb_r = (records * m["rru_per_record"] + dash_loads * m["rru_per_dashboard_load"]) / MILLION \
            * p["dynamodb_on_demand_rru_per_million"]
        gb_month = records * m["record_json_bytes"] / Decimal(1024 ** 3)
        storage = gb_month * (p["dynamodb_storage_gb_month"] + p["dynamodb_pitr_gb_month"])
        api_gbs = (batches * m["ingest_s_per_batch"] + dash_loads * m["dashboard_load_s"]) \
            * Decimal(API_MEMORY_MB) / 1024
        specs = aws_specs()
        collector_runs = sum((runs_per_month(s.schedule) for s in specs), Decimal(0))
        # a collector run encodes and posts its batches: at least as long as the API's share, plus AWS calls;
        # we charge each run the API's per-batch time for its share of records, doubled, at the collector's memory
        coll_gbs = sum((runs_per_month(s.schedule) * (Decimal(resources) / BATCH + 1) * m["ingest_s_per_batch"] * 2
                        * Decimal(s.memory_mb) / 1024 for s in specs), Decimal(0))
        alerts_gbs = HOURS_PER_MONTH * m["dashboard_load_s"] * 2 * Decimal(ALERTS_MEMORY_MB) / 1024
        gbs = api_gbs + coll_gbs + alerts_gbs
        invocations = api_requests + collector_runs + HOURS_PER_MONTH
        lam = gbs * p["lambda_gb_second_x86"] + invocations / MILLION * p["lambda_requests_per_million"]
        apigw = (api_requests + collector_runs * 0) / MILLION * p["apigateway_rest_requests_per_million"]
        # billed cost is grouped by day × service × account: one GetCostAndUsage page per run, independent of N
        ce_pages = Decimal(1)
        ce = sum((runs_per_month(s.schedule) * ce_pages for s in specs
                  if "ce:GetCostAndUsage" in s.iam_actions), Decimal(0)) * p["cost_explorer_api_request"]
        sns_msgs = Decimal(100)
        sns = sns_msgs / MILLION * p["sns_publish_per_million"] + sns_msgs / 100000 * p["sns_email_per_100k"]
        fixed = p["kms_key_month"] + p["secrets_manager_secret_month"] * len({x for s in specs for x in s.secrets}) \
            + p["cloudwatch_alarm_month"] * (len(specs) + 2)
        parts = {"dynamodb_writes": ddb_w, "dynamodb_reads": ddb_r, "dynamodb_storage_first_month": storage,
                 "lambda": lam, "api_gateway": apigw, "cost_explorer": ce, "sns": sns, "fixed_kms_secrets_alarms": fixed}
        total = sum(parts.values(), Decimal(0))
    return {"parts": {k: v.quantize(Decimal("0.0001")) for k, v in parts.items()},
            "total": total.quantize(Decimal("0.01")),
            "units": {"records_per_month": records, "api_requests": api_requests, "lambda_gb_seconds": gbs.quantize(Decimal("0.1")),
                      "collector_runs": collector_runs.quantize(Decimal("0.1")), "dashboard_loads": dash_loads}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resources", type=int, default=10000)
    ap.add_argument("--sample", type=int, default=2000, help="records per measured hourly batch set")
    ap.add_argument("--dashboard-loads-per-day", type=int, default=50)
    a = ap.parse_args()
    import os
    for k, v in devstack.LOCAL_ENV.items():   # DynamoDB Local accepts any credentials; boto needs some
        os.environ.setdefault(k, v)
    port = devstack.free_port()
    proc = devstack.start_dynamodb_local(port)
    try:
        m = measure(a.sample, f"http://127.0.0.1:{port}")
    finally:
        devstack.stop(proc)
    p = prices()
    for k, v in m.items():
        print(f"measured {k:24s} {v:.4f}")
    res = {}
    for n in sorted({1000, a.resources, 10000, 100000}):
        est = estimate(m, p, n, a.dashboard_loads_per_day)
        res[n] = est
        print(f"\n{n} resources hourly: ${est['total']}/month")
        for k, v in est["parts"].items():
            print(f"  {k:30s} ${v}")
        print("  units: " + dumps(est["units"]))
    out = {"usd_per_month_10k_resources": str(res[10000]["total"]),
           "usd_per_month_by_resources": {str(n): str(e["total"]) for n, e in res.items()},
           "target_usd": "5", "meets_target": res[10000]["total"] < 5,
           "wru_per_record": str(m["wru_per_record"].quantize(Decimal("0.001"))),
           "rru_per_dashboard_load": str(m["rru_per_dashboard_load"].quantize(Decimal("0.1"))),
           "ingest_ms_per_1000_records": str((m["ingest_s_per_batch"] * 1000).quantize(Decimal("0.1"))),
           "prices": "catalog/data/aws_platform_prices.json@2026-11-26"}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
