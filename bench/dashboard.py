#!/usr/bin/env python3
"""Dashboard view latency on the demo estate: time to build each /v1/dashboard/{view} from DynamoDB Local.

Prints per-view median/max over N runs (rollups warm, as after the post-ingest refresh) and the
read capacity each view consumed; the last line is one JSON object. ``--now`` pins the clock the demo
and the views use (default: CLOUDTALLY_NOW, else the system clock).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))
for k, v in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}.items():
    os.environ.setdefault(k, v)

from cloudtally import dashboard_data, devstack  # noqa: E402
from cloudtally.clock import Clock, from_env  # noqa: E402
from cloudtally.config import Settings  # noqa: E402
from cloudtally.demo import load_demo  # noqa: E402
from cloudtally.store import Store  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--now", default=None, help="ISO 8601 time the demo and views run at")
    ap.add_argument("--top-resources", type=int, default=10000,
                    help="resources of the top-resources-at-scale measurement (0: skip)")
    args = ap.parse_args()
    clock = Clock.pinned(args.now) if args.now else from_env()
    now = clock.now()
    port = devstack.free_port()
    proc = devstack.start_dynamodb_local(port)
    try:
        store = Store(Settings(table=f"bench-{uuid.uuid4().hex[:8]}", dynamodb_endpoint=f"http://127.0.0.1:{port}",
                               clock=Clock(now)))
        store.create_table()
        today = now.date()
        t0 = time.perf_counter()
        n = load_demo(store, now=now)
        store.refresh(today - timedelta(days=200), today + timedelta(days=1))
        print(f"loaded {n} and refreshed rollups in {time.perf_counter() - t0:.1f}s")
        out = {}
        for view in dashboard_data.VIEWS:
            times = []
            for _ in range(args.runs):
                before = store.capacity["read"]
                t = time.perf_counter()
                dashboard_data.build(store, view, {}, now=now)
                times.append((time.perf_counter() - t) * 1000)
                rru = store.capacity["read"] - before
            out[view] = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
                         "rru": str(rru)}
            print(f"{view:15s} median {out[view]['median_ms']:7.1f} ms  max {out[view]['max_ms']:7.1f} ms  "
                  f"RRU {rru}")
        store.delete_table()
        scale = top_resources_at_scale(f"http://127.0.0.1:{port}", now, args.top_resources, args.runs) \
            if args.top_resources else {}
    finally:
        devstack.stop(proc)
    print(json.dumps({"bench": "dashboard_views", "runs": args.runs, "now": now.isoformat(), **out, **scale}))
    return 0


def top_resources_at_scale(endpoint: str, now, n: int, runs: int) -> dict:
    """Top resources over the dashboard's default 30 days at ``n`` resources (5 % of instances replaced a day,
    so a month holds more resources than a day): RRU and API time per call, from the month-to-date prefix
    sums, against what reading every day's per-resource rollup of the range costs."""
    import random
    from decimal import Decimal

    from cloudtally.focus import parse_record
    from cloudtally.query import parse_query

    store = Store(Settings(table=f"bench-top-{uuid.uuid4().hex[:8]}", dynamodb_endpoint=endpoint, clock=Clock(now)))
    store.create_table()
    try:
        q = parse_query({}, today=now.date())                     # the dashboard's default range
        rnd = random.Random(11)
        live = [f"i-{k:08x}" for k in range(n)]
        nxt = n
        t0 = time.perf_counter()
        d = q.start
        while d < min(q.end, now.date() + timedelta(days=1)):
            batch = []
            for k, rid in enumerate(live):
                cost = str(Decimal(rnd.randint(100, 5000)) / 1000)
                batch.append(parse_record({
                    "ProviderName": "AWS", "BillingAccountId": "111122223333", "SubAccountId": "111122223333",
                    "ServiceName": "Amazon Elastic Compute Cloud", "ServiceCategory": "Compute",
                    "ChargePeriodStart": d.isoformat(), "ChargePeriodEnd": (d + timedelta(days=1)).isoformat(),
                    "BilledCost": cost, "BillingCurrency": "USD", "ResourceId": rid, "ResourceName": rid,
                    "RegionId": "us-east-1", "Tags": {"team": f"team-{k % 12}", "project": f"p{k % 40}"},
                    "x_CostSource": "estimated", "x_Collector": "aws"}))
            for i in range(0, len(batch), 5000):
                store.write_records(batch[i:i + 5000])
            for j in rnd.sample(range(len(live)), n // 40):      # half the fleet are instances: 5 % of them
                live[j] = f"i-{nxt:08x}"
                nxt += 1
            d += timedelta(days=1)
        store.refresh(q.start, q.end)
        print(f"top resources at scale: {nxt} resources over {q.start}..{q.end} written in "
              f"{time.perf_counter() - t0:.0f}s")
        first_rru = store.capacity["read"]
        t = time.perf_counter()
        store.top_resources(q, limit=10)
        first_ms = (time.perf_counter() - t) * 1000
        first_rru = store.capacity["read"] - first_rru
        times, rrus = [], []
        for _ in range(max(runs, 3)):
            before = store.capacity["read"]
            t = time.perf_counter()
            top = store.top_resources(q, limit=10)
            times.append((time.perf_counter() - t) * 1000)
            rrus.append(store.capacity["read"] - before)
        before = store.capacity["read"]
        for _ in store._rollup_items(q.start, q.end, prefix="T#"):
            pass
        scan = store.capacity["read"] - before
        print(f"top resources {n}: {statistics.median(times):.0f} ms, {rrus[-1]} RRU (first call, computing the "
              f"prefix sums: {first_ms:.0f} ms, {first_rru} RRU; reading every day's rollup would cost {scan} RRU); "
              f"top: {top['resources'][0]['ResourceId']} {top['resources'][0]['EffectiveCost']}")
        return {f"top_resources_rru_30d_{n // 1000}k": str(rrus[-1]),
                f"top_resources_ms_30d_{n // 1000}k": round(statistics.median(times), 1),
                f"top_resources_first_call_rru_30d_{n // 1000}k": str(first_rru),
                f"daily_rollups_rru_30d_{n // 1000}k": str(scan), "top_resources_distinct": nxt}
    finally:
        store.delete_table()


if __name__ == "__main__":
    sys.exit(main())
