#!/usr/bin/env python3
"""Ingest and query benchmark (issue 3). Prints figures; the last line is one JSON object.

  records_per_s        HTTP API (the local server → DynamoDB Local), 1 000-record batches, 1 and 16 clients,
                       with p50/p99 request latency in ms and the errors seen
  requests_16_clients  16 clients posting 10-record batches, one connection per request (1 800 requests; 480
                       with --quick): requests/s and errors, as agents and collectors load the local stack
  errors_16_clients    requests of both 16-client runs that failed: a connection reset or refused, a timeout,
                       a 5xx (no retry hides one: every request is sent once); must be 0
  us_per_record        in-process: the Chalice handler (API Gateway event → app) + parse/validate + store
                       encoding and batching, with the DynamoDB call stubbed out (no network)
  wru_per_record       write capacity per record from DynamoDB Local's ConsumedCapacity: 10 000 resources
                       × 1 day written in 1 000-record batches, rollup maintenance (dirty markers + refresh)
                       included
  summary_rru_90d_10k  read capacity of one 90-day daily summary grouped by provider over 10 000 resources
                       (eventually consistent reads of the pre-computed daily rollups)
  api_import_ms        cold import of functions/api/app.py in a fresh interpreter (median of 5)

Usage: bench/ingest.py [--quick]   (--quick: fewer HTTP batches; runs in under a minute)
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                   "AWS_REGION": "us-east-1"})

from cloudtally import devstack  # noqa: E402
from cloudtally.config import Settings  # noqa: E402
from cloudtally.focus import UTC, parse_record  # noqa: E402
from cloudtally.money import dumps  # noqa: E402

PROVIDERS = ("AWS", "Microsoft", "Google Cloud")
SERVICES = [f"Service {i:02d}" for i in range(30)]
TEAMS = [f"team-{i}" for i in range(10)]
PROJECTS = [f"project-{i}" for i in range(20)]


def resource_record(i: int, day: date, *, source: str = "estimated") -> dict:
    """Resource i's daily record; resources belong to ~200 workloads (team, project, account, region)."""
    w = i % 200
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return {"ProviderName": PROVIDERS[w % 3], "BillingAccountId": f"acct-{w % 20:02d}", "SubAccountId": f"sub-{w % 40:02d}",
            "ServiceName": SERVICES[(i // 200) % 30], "ResourceId": f"res-{i:05d}", "RegionId": f"region-{w % 6}",
            "ChargePeriodStart": start.isoformat(), "ChargePeriodEnd": (start + timedelta(days=1)).isoformat(),
            "BilledCost": str(Decimal(100 + i % 997) / 37), "BillingCurrency": "USD", "PricingUnit": "Hours",
            "PricingQuantity": "24", "x_CostSource": source, "x_Collector": "bench",
            "Tags": {"team": TEAMS[w % 10], "project": PROJECTS[w % 20], "environment": ("prod", "dev")[w % 2]}}


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))], 1)


def bench_import() -> float:
    code = ("import sys,time;t=time.perf_counter();sys.path.insert(0,'functions/api');import app;"
            "print((time.perf_counter()-t)*1000)")
    runs = [float(subprocess.check_output([sys.executable, "-c", code], cwd=ROOT, text=True).strip()) for _ in range(5)]
    return round(statistics.median(runs), 1)


def bench_in_process(batches: int) -> float:
    """µs/record through the Chalice handler with the DynamoDB call stubbed (no network)."""
    sys.path.insert(0, str(ROOT / "functions" / "api"))
    import app as app_module
    from chalice.test import Client
    from chalicelib import http

    from cloudtally.api.service import ApiService
    from cloudtally.auth import Principal
    from cloudtally.store import Store

    cfg = Settings(table="bench-stub", dynamodb_endpoint="http://127.0.0.1:9")
    store = Store(cfg, workers=1)
    store.conn.dispatch = lambda op, kwargs: {}  # no network: every call succeeds instantly
    svc = ApiService(cfg, store)
    svc.auth = lambda headers, scope: Principal("bench", "bench", frozenset({"admin"}))
    http.set_service(svc)
    day = date(2024, 9, 1)
    bodies = [dumps([resource_record(b * 1000 + i, day) for i in range(1000)]) for b in range(batches)]
    with Client(app_module.app) as c:
        c.http.post("/v1/records", headers={"Content-Type": "application/json"}, body=bodies[0])  # warm
        t = time.perf_counter()
        for body in bodies:
            r = c.http.post("/v1/records", headers={"Content-Type": "application/json"}, body=body)
            assert r.status_code == 200 and json.loads(r.body)["accepted"] == 1000, r.body[:300]
        elapsed = time.perf_counter() - t
    http.set_service(None)
    return round(elapsed / (batches * 1000) * 1e6, 1)


def bench_capacity(ddb: str) -> tuple[float, float, float, dict]:
    from cloudtally.query import parse_query
    from cloudtally.store import Store, codec
    from cloudtally.store.cube import build  # noqa: F401 (documented: the same code computes rollups)
    cfg = Settings(table=f"bench-{uuid.uuid4().hex[:8]}", dynamodb_endpoint=ddb)
    store = Store(cfg)
    store.create_table()
    try:
        day = date(2024, 9, 1)
        recs = [parse_record(resource_record(i, day)) for i in range(10_000)]
        store.capacity["write"] = Decimal(0)
        for b in range(0, len(recs), 1000):
            store.write_records(recs[b:b + 1000])
        records_wru = store.capacity["write"]
        store.refresh(day, day + timedelta(days=1))
        total_wru = store.capacity["write"]
        wru = float(total_wru / len(recs))
        # 90 days of rollups for 10 000 resources: the day's rollups computed by the same code from
        # 10 000 encoded records per day (written as rollup items, not as 900 000 records)
        end = date(2024, 12, 1)
        start = end - timedelta(days=90)
        for n in range(90):
            d = start + timedelta(days=n)
            items = [codec.to_item(parse_record(resource_record(i, d))) for i in range(10_000)] if n < 2 else None
            if items is not None:
                template = items
            else:  # same estate, shifted day: re-key the template items
                items = [{**it, "pk": {"S": "R#" + d.isoformat()}} for it in template]
            store._mark_dirty([d.isoformat()])
            store.write_rollups(d.isoformat(), 1, items)
        store.capacity["read"] = Decimal(0)
        q = parse_query({"from": start.isoformat(), "to": end.isoformat(), "granularity": "day", "group_by": "provider"})
        s = store.summary(q)
        assert s["refreshed_days"] == 0 and len(s["results"]) == 90 * 3, s["refreshed_days"]
        rru = float(store.capacity["read"])
        store.capacity["read"] = Decimal(0)
        store.summary(parse_query({"from": start.isoformat(), "to": end.isoformat(), "granularity": "day",
                                   "group_by": "tag:team"}))
        rru_full = float(store.capacity["read"])
        extra = {"wru_records_only": round(float(records_wru / len(recs)), 4),
                 "summary_rru_90d_10k_by_tag": rru_full}
        return round(wru, 4), rru, rru_full, extra
    finally:
        store.delete_table()


def _error_kind(exc: Exception) -> str:
    """What failed in one request sent once: an HTTP status, or the connection error's class."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"http_{exc.code}"
    reason = getattr(exc, "reason", exc)
    return type(reason).__name__ if isinstance(reason, BaseException) else type(exc).__name__


def bench_http(ddb: str, quick: bool) -> tuple[dict, dict]:
    from cloudtally.api.service import ApiService
    from cloudtally.store import Store
    cfg = Settings(table=f"bench-http-{uuid.uuid4().hex[:8]}", dynamodb_endpoint=ddb)
    store = Store(cfg)
    store.create_table()
    key = ApiService(cfg, store).keys.create("bench", ["ingest"])
    port = devstack.free_port()
    api = devstack.start_api(port, {"CLOUDTALLY_TABLE": cfg.table, "CLOUDTALLY_DYNAMODB_ENDPOINT": ddb,
                                    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    out: dict = {}
    try:
        url = f"http://127.0.0.1:{port}/v1/records"
        headers = {"X-CloudTally-Key-Id": key["id"], "X-CloudTally-Key-Secret": key["secret"],
                   "Content-Type": "application/json", "Content-Encoding": "gzip"}
        counter = iter(range(10**9))
        lock = threading.Lock()
        errors: dict[str, int] = {}

        def post(recs: list[dict]) -> float | None:
            """One POST on a new connection, sent once: its latency in ms, or None (counted in errors)."""
            body = gzip.compress(dumps(recs).encode(), 5)
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(urllib.request.Request(url, body, headers, method="POST"),
                                            timeout=60) as resp:
                    res = json.loads(resp.read())
            except (OSError, http.client.HTTPException) as e:   # URLError, HTTPError (5xx, 4xx), resets
                with lock:
                    errors[_error_kind(e)] = errors.get(_error_kind(e), 0) + 1
                return None
            assert res["accepted"] == len(recs) and not res["rejected"], str(res)[:300]
            return (time.perf_counter() - t) * 1000

        def one_batch(size: int) -> float | None:
            with lock:
                b = next(counter)
            return post([resource_record(b * size + i, date(2024, 10, 1) + timedelta(days=b % 28))
                         for i in range(size)])

        def run(clients: int, requests: int, size: int) -> dict:
            errors.clear()
            one_batch(size)  # warm up
            errors.clear()
            t = time.perf_counter()
            with ThreadPoolExecutor(clients) as ex:
                lat = [ms for ms in ex.map(lambda _: one_batch(size), range(requests)) if ms is not None]
            elapsed = time.perf_counter() - t
            return {"requests": requests, "records": size, "ok": len(lat), "requests_per_s": round(requests / elapsed),
                    "records_per_s": round(len(lat) * size / elapsed), "p50_ms": pct(lat, 50) if lat else None,
                    "p99_ms": pct(lat, 99) if lat else None, "errors": sum(errors.values()),
                    "error_kinds": dict(sorted(errors.items()))}

        for clients, batches in ((1, 5 if quick else 20), (16, 16 if quick else 64)):
            r = run(clients, batches, 1000)
            out[f"clients_{clients}"] = {"records_per_s": r["records_per_s"], "p50_ms": r["p50_ms"],
                                         "p99_ms": r["p99_ms"], "batches": batches, "errors": r["errors"],
                                         "error_kinds": r["error_kinds"]}
        small = run(16, 480 if quick else 1800, 10)
    finally:
        devstack.stop(api)
        store.delete_table()
    return out, small


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    port = devstack.free_port()
    ddb_proc = devstack.start_dynamodb_local(port)
    ddb = f"http://127.0.0.1:{port}"
    try:
        api_ms = bench_import()
        print(f"api_import_ms        {api_ms}  (target ≤ 150)", flush=True)
        us = bench_in_process(3 if a.quick else 10)
        print(f"us_per_record        {us}  (target ≤ 50)", flush=True)
        wru, rru, rru_full, extra = bench_capacity(ddb)
        print(f"wru_per_record       {wru}  (records only: {extra['wru_records_only']}; target ≤ 1.0)", flush=True)
        print(f"summary_rru_90d_10k  {rru}  (by provider, lite rollups; by tag:team, full rollups: {rru_full}; "
              "target ≤ 100)", flush=True)
        by_clients, small = bench_http(ddb, a.quick)
        for k, v in by_clients.items():
            print(f"records_per_s {k:<10} {v['records_per_s']}  p50 {v['p50_ms']} ms  p99 {v['p99_ms']} ms  "
                  f"errors {v['errors']} {v['error_kinds'] or ''}", flush=True)
        print(f"requests_16_clients  {small['requests']} × {small['records']} records: {small['requests_per_s']}/s  "
              f"p50 {small['p50_ms']} ms  p99 {small['p99_ms']} ms  errors {small['errors']} {small['error_kinds'] or ''}",
              flush=True)
        errors_16 = by_clients["clients_16"]["errors"] + small["errors"]
        print(f"errors_16_clients    {errors_16}  (target 0)", flush=True)
    finally:
        devstack.stop(ddb_proc)
    print(json.dumps({"records_per_s": by_clients, "requests_16_clients": small, "errors_16_clients": errors_16,
                      "us_per_record": us, "wru_per_record": wru,
                      "summary_rru_90d_10k": rru, "api_import_ms": api_ms, **extra,
                      "targets": {"us_per_record": 50, "wru_per_record": 1.0, "summary_rru_90d_10k": 100,
                                  "api_import_ms": 150, "errors_16_clients": 0}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
