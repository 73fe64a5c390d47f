#!/usr/bin/env python3
"""The observability hubs at scale, on DynamoDB Local (issue 19's figures; the last line is one JSON object).

* ``requests_per_1000_training_steps``: a training loop calling ``LLMObservabilityHub.collect_llm_training_metrics``
  every step (20 000 steps, as fast as it goes) against the API over HTTP: API requests per 1 000 steps
  (goal ≤ 10), the caller's time per step and the write capacity per 1 000 steps;
* ``training_summary``: 100 runs × 10 000 steps written through the API's ingest operation (the route's code,
  in-process), each run on a registered two-node cluster with hourly cost records; then every run's
  summary (``GET /v1/llm/training-runs/{id}``'s operation): median / p95 / max ms and read capacity (RRU);
* ``rag_summary``: 1 000 pipelines × 1 000 queries, then 100 pipelines' summaries: ms and RRU;
* ``llm_page_usable_ms``: ``/dashboard/llm`` in headless Chromium over HTTP against that data (the 50 most
  recent runs and pipelines): time from navigation to the page's ``cloudtally-usable`` mark, median of 3.

``--quick`` divides the run and pipeline counts by 10 (a minute or two instead of ten).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))
for k, v in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}.items():
    os.environ.setdefault(k, v)

from cloudtally import devstack  # noqa: E402
from cloudtally.api import llm  # noqa: E402
from cloudtally.api.service import ApiService  # noqa: E402
from cloudtally.clock import Clock  # noqa: E402
from cloudtally.config import Settings  # noqa: E402
from cloudtally.money import dumps  # noqa: E402
from cloudtally.store import Store  # noqa: E402
from cloudtally.store.hub_repo import HubRepo  # noqa: E402

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=timezone.utc)
JSON = {"Content-Type": "application/json"}


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def loop_requests(url: str, key: dict, steps: int) -> dict:
    from cloudtally.client import Client
    from cloudtally.observability.llm_observability import LLMObservabilityHub, LLMTrainingMetrics
    hub = LLMObservabilityHub(client=Client(url, key["id"], key["secret"]))
    ts = NOW.timestamp() - steps
    t0 = time.perf_counter()
    for s in range(steps):
        hub.collect_llm_training_metrics(LLMTrainingMetrics(
            run_id="bench-loop", model_name="bench-7b", epoch=0, step=s, training_loss=2.0 - s / (steps * 2),
            validation_loss=None, learning_rate=0.0001, gpu_memory_mb=40000, batch_size=32,
            throughput_samples_per_sec=128.5, timestamp=ts + s))
    collect_s = time.perf_counter() - t0
    hub.flush()
    total_s = time.perf_counter() - t0
    return {"steps": steps, "requests": hub.requests_sent,
            "requests_per_1000_training_steps": round(hub.requests_sent * 1000 / steps, 2),
            "collect_us_per_step": round(collect_s / steps * 1e6, 1),
            "steps_per_s_delivered": round(steps / total_s)}


def write_runs(svc: ApiService, runs: int, steps: int, batch: int = 1000) -> dict:
    rnd = random.Random(19)
    repo = HubRepo(svc.store)
    recs = []
    start = NOW - timedelta(hours=4)
    for c in range(max(1, runs // 10)):
        nodes = [f"gpu-{c}-a", f"gpu-{c}-b"]
        repo.put_cluster({"cluster_id": f"cluster-{c}", "nodes": nodes, "region": "us-east-1",
                          "registered_at": NOW.isoformat()})
        for n in nodes:
            for h in range(5):
                hs = start + timedelta(hours=h)
                recs.append({"ProviderName": "AWS", "BillingAccountId": "111111111111", "ServiceName": "Amazon EC2",
                             "ResourceId": n, "ChargePeriodStart": hs.isoformat(),
                             "ChargePeriodEnd": (hs + timedelta(hours=1)).isoformat(), "BilledCost": "32.77",
                             "BillingCurrency": "USD", "x_CostSource": "estimated"})
    svc.ingest(dumps(recs), JSON)
    w0, t0 = svc.store.capacity["write"], time.perf_counter()
    for r in range(runs):
        ts0 = NOW.timestamp() - 3 * 3600
        for b in range(0, steps, batch):
            body = {"training": [{"run_id": f"run-{r:04d}", "model_name": "bench-7b", "cluster_id": f"cluster-{r % max(1, runs // 10)}",
                                  "epoch": s // 5000, "step": s, "training_loss": str(Decimal(rnd.randint(1000, 3000)) / 1000),
                                  "learning_rate": "0.0001", "gpu_memory_mb": 40000, "batch_size": 32,
                                  "throughput_samples_per_sec": "128.5", "gpu_utilization": str(rnd.randint(60, 99)),
                                  "timestamp": str(ts0 + s)} for s in range(b, min(b + batch, steps))]}
            llm.ingest(svc, dumps(body), JSON)
    elapsed = time.perf_counter() - t0
    wru = svc.store.capacity["write"] - w0
    return {"steps_written": runs * steps, "write_s": round(elapsed, 1),
            "wru_per_1000_steps": str((wru * 1000 / (runs * steps)).quantize(Decimal("0.01")))}


def write_pipelines(svc: ApiService, pipelines: int, queries: int, batch: int = 1000) -> dict:
    rnd = random.Random(20)
    w0, t0 = svc.store.capacity["write"], time.perf_counter()
    for p in range(pipelines):
        for b in range(0, queries, batch):
            body = {"session": "bench", "rag": [{
                "pipeline_id": f"rag-{p:04d}", "seq": q, "timestamp": str(NOW.timestamp() - queries + q),
                "query_sha256": f"{rnd.getrandbits(256):064x}", "query_length": rnd.randint(10, 200),
                "retrieval_time_ms": str(Decimal(rnd.randint(100, 9000)) / 100),
                "generation_time_ms": str(Decimal(rnd.randint(1000, 30000)) / 100),
                "total_time_ms": str(Decimal(rnd.randint(1100, 39000)) / 100),
                "relevance_score": str(Decimal(rnd.randint(0, 100)) / 100), "num_retrieved_docs": 5,
                "embedding_tokens": rnd.randint(10, 100), "generation_tokens": rnd.randint(50, 500),
                "embedding_model": "text-embedding-3-small", "generation_model": "gpt-4o-mini"}
                for q in range(b, min(b + batch, queries))]}
            llm.ingest(svc, dumps(body), JSON)
    wru = svc.store.capacity["write"] - w0
    return {"queries_written": pipelines * queries, "write_s": round(time.perf_counter() - t0, 1),
            "wru_per_1000_queries": str((wru * 1000 / (pipelines * queries)).quantize(Decimal("0.01")))}


def summaries(svc: ApiService, keys: list[str], fn) -> dict:
    ms, rru = [], []
    for k in keys:
        r0, t0 = svc.store.capacity["read"], time.perf_counter()
        fn(svc.store, k)
        ms.append((time.perf_counter() - t0) * 1000)
        rru.append(svc.store.capacity["read"] - r0)
    return {"summaries": len(keys), "median_ms": round(statistics.median(ms), 1), "p95_ms": round(pct(ms, 95), 1),
            "max_ms": round(max(ms), 1), "median_rru": str(statistics.median(rru)), "max_rru": str(max(rru))}


def page_usable_ms(api_url: str, read_key: dict, runs: int = 3) -> dict:
    from playwright.sync_api import sync_playwright

    from cloudtally.webui import build
    sys.path.insert(0, str(ROOT / "scripts"))
    from serve_dashboard import serve
    dist = Path(tempfile.mkdtemp(prefix="bench-dist-"))
    build(dist, api_url=api_url, refresh_seconds=300, demo_key=read_key)
    port = devstack.free_port()
    server, _ = serve(dist, port, quiet=True)
    marks, view = [], None
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            for _ in range(runs):
                page = browser.new_page(viewport={"width": 1360, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/dashboard/llm")
                page.wait_for_selector("#status[data-state='ready']", timeout=120000, state="attached")
                marks.append(page.evaluate("() => performance.getEntriesByName('cloudtally-usable')[0].startTime"))
                view = page.locator("#runs-table tbody tr").count(), page.locator("#pipelines-table tbody tr").count()
                page.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return {"llm_page_usable_ms": round(statistics.median(marks)), "llm_page_runs_rows": view[0],
            "llm_page_pipeline_rows": view[1], "page_loads": runs}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10 runs and 100 pipelines instead of 100 and 1 000")
    ap.add_argument("--loop-steps", type=int, default=20000)
    ap.add_argument("--no-browser", action="store_true")
    a = ap.parse_args()
    runs, pipelines = (10, 100) if a.quick else (100, 1000)
    ddb_port, api_port = devstack.free_port(), devstack.free_port()
    ddb = devstack.start_dynamodb_local(ddb_port)
    api = None
    out: dict = {"bench": "hubs", "quick": a.quick}
    try:
        endpoint = f"http://127.0.0.1:{ddb_port}"
        cfg = Settings(table=f"bench-hubs-{uuid.uuid4().hex[:8]}", dynamodb_endpoint=endpoint, clock=Clock.pinned(NOW),
                       auth_cache_seconds=0)
        store = Store(cfg)
        store.create_table()
        svc = ApiService(cfg, store)
        keys = {s: svc.keys.create(f"bench-{s}", [s]) for s in ("ingest", "read")}
        api = devstack.start_api(api_port, {"CLOUDTALLY_TABLE": cfg.table, "CLOUDTALLY_DYNAMODB_ENDPOINT": endpoint,
                                            "CLOUDTALLY_NOW": NOW.isoformat(), "CLOUDTALLY_AUTH_CACHE_SECONDS": "0"})
        url = f"http://127.0.0.1:{api_port}"
        out["training_loop"] = loop_requests(url, keys["ingest"], a.loop_steps)
        print(f"training loop: {out['training_loop']}", flush=True)
        out["requests_per_1000_training_steps"] = out["training_loop"]["requests_per_1000_training_steps"]
        out["training_write"] = write_runs(svc, runs, 10000)
        print(f"wrote {out['training_write']}", flush=True)
        run_ids = [f"run-{r:04d}" for r in range(runs)]
        out["training_summary"] = {"runs": runs, "steps_per_run": 10000,
                                   **summaries(svc, run_ids, lambda st, k: llm.training_summary(st, k))}
        print(f"training summary: {out['training_summary']}", flush=True)
        out["rag_write"] = write_pipelines(svc, pipelines, 1000)
        print(f"wrote {out['rag_write']}", flush=True)
        sample = [f"rag-{p:04d}" for p in range(0, pipelines, max(1, pipelines // 100))]
        out["rag_summary"] = {"pipelines": pipelines, "queries_per_pipeline": 1000,
                              **summaries(svc, sample, lambda st, k: llm.rag_summary(st, k))}
        print(f"rag summary: {out['rag_summary']}", flush=True)
        if not a.no_browser:
            page = page_usable_ms(url, keys["read"])
            out.update(page)
            print(f"llm page: {page}", flush=True)
        store.delete_table()
    finally:
        devstack.stop(api)
        devstack.stop(ddb)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
