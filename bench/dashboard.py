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
    finally:
        devstack.stop(proc)
    print(json.dumps({"bench": "dashboard_views", "runs": args.runs, "now": now.isoformat(), **out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
