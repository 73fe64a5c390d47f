#!/usr/bin/env python3
"""The host agent's own cost on a host, and the OTLP receiver's speed and write cost.

What is measured:

  * ``agent_cpu_percent`` (of one core) and ``agent_rss_mb`` (peak): the real ``cloudtally-agent`` process at its
    default intervals (a collection every 15 s, a flush every 10 s, a heartbeat every 60 s) against the API over
    HTTP (DynamoDB Local + the local server) for ``--seconds`` (default 130; the first 10 s of start-up are left
    out of the CPU figure, not of the peak RSS), sampled every second with psutil. At the default linger (15 min)
    it sends nothing in that time, so a second agent beside it sends every collection at once (linger 0):
    ``agent_cpu_percent_linger_0`` includes the cost of encoding and sending;
  * ``systeminfo_fields``: the keys of one systemInfo this host produces (``systeminfo_fields_with_value``: those
    not null; offline the cloud fields are null, without a GPU the GPU list is empty);
  * ``points_per_s``: the receiver's decode + validate (``cloudtally.telemetry.otlp.decode``) in-process, on OTLP
    requests as the agent sends them (batches of 100 collections of this host's points, gzip off: the gunzip is
    ``api.body``'s, measured apart as ``gunzip_mb_per_s``);
  * ``wru_per_point``: an hour of one host's points (240 collections) sent as the agent sends them at its default
    linger (a batch every 15 minutes) through the API's OTLP handler in-process, into DynamoDB Local, from
    ConsumedCapacity; DynamoDB Local under-counts transactions, so each batch's idempotency transaction is priced
    from its item sizes (2 WRU per KB and item). ``wru_per_point_linger_0`` is the same with every collection
    sent alone (linger 0): why the default waits. ``wru_per_heartbeat`` is one heartbeat's write.

    .venv/bin/python bench/host_agent.py [--seconds 130] [--quick]

Last stdout line: one JSON object. Goals: agent_cpu_percent <= 1, agent_rss_mb <= 50, systeminfo_fields >= 100,
points_per_s >= 50 000, wru_per_point <= 0.05.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))

from cloudtally import devstack  # noqa: E402
from cloudtally.config import Settings  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from platform_cost import _item_bytes as item_bytes  # noqa: E402  (DynamoDB item size, for transactions)

AGENT = Path(sys.executable).with_name("cloudtally-agent")
NOW = datetime(2026, 12, 15, 9, 30, tzinfo=timezone.utc)     # the API's pinned clock for the write-cost part


def store_for(endpoint: str):
    from cloudtally.store import Store
    cfg = Settings(table=f"bench-{uuid.uuid4().hex[:10]}", dynamodb_endpoint=endpoint, auth_cache_seconds=300,
                   clock=__import__("cloudtally.clock", fromlist=["Clock"]).Clock.pinned(NOW))
    store = Store(cfg)
    store.create_table()
    transact = [Decimal(0)]
    orig = store._call

    def counting(op, kwargs, kind):
        if op == "TransactWriteItems":
            for it in kwargs.get("TransactItems", []):
                body = next(iter(it.values()))
                transact[0] += 2 * max(1, math.ceil(item_bytes(body.get("Item") or body.get("Key") or {}) / 1024))
            resp = orig(op, kwargs, kind)
            resp.pop("ConsumedCapacity", None)
            return resp
        return orig(op, kwargs, kind)
    store._call = counting
    return cfg, store, transact


def host_entries(n: int, t0: int) -> list[dict]:
    """``n`` collections of this host, 15 s apart, as the agent's buffer holds them."""
    from cloudtally.agents.host import config as agent_config
    from cloudtally.agents.host.system import SystemCollector, points
    cfg = agent_config.load(None, env={})
    cfg.collectors.cloud_metadata.enabled = False
    c = SystemCollector(cfg)
    c.collect(t0 - 15)
    return [{"t": t0 + 15 * i, "p": points(c.collect(t0 + 15 * i))} for i in range(n)], c


def measure_decode(seconds: float) -> dict:
    from cloudtally.agents.host.export import encode_otlp, resource_attributes
    from cloudtally.telemetry import otlp
    t0 = int(NOW.timestamp()) - 3600
    entries, c = host_entries(100, t0)
    info = c.collect(t0)
    body = encode_otlp(entries, resource_attributes(info, "bench-agent", "bench", "production", {}), "bench")
    headers = {"Content-Type": "application/x-protobuf"}
    n = 0
    pts = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        out = otlp.decode(body, headers, now=NOW)
        assert out.rejected == 0, out.error_message()
        n += 1
        pts += out.data_points
    el = time.perf_counter() - start
    gz = gzip.compress(body, 6)
    from cloudtally.api.body import decode_body
    g0 = time.perf_counter()
    for _ in range(50):
        decode_body(gz, {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, 5 << 20,
                    types=otlp.CONTENT_TYPES)
    gel = time.perf_counter() - g0
    return {"points_per_s": round(pts / el), "request_points": pts // n, "request_bytes": len(body),
            "request_bytes_gzip": len(gz), "decode_ms_per_request": round(el / n * 1000, 2),
            "gunzip_mb_per_s": round(len(body) * 50 / gel / 1e6, 1)}


def measure_writes(endpoint: str) -> dict:
    from cloudtally.agents.host.export import encode_otlp, resource_attributes
    from cloudtally.api import telemetry
    from cloudtally.api.routes import Request
    from cloudtally.api.service import ApiService

    t0 = int((NOW - timedelta(hours=3)).timestamp())
    entries, c = host_entries(240, t0)                 # an hour of 15 s collections
    resource = resource_attributes(c.collect(t0), "bench-agent", "bench", "production", {})
    out = {}
    from cloudtally.agents.host import config as agent_config
    d = agent_config.load(None, env={})
    default = max(1, round(d.exporter.linger / d.collectors.system.interval))      # 900 s / 15 s = 60 collections
    for label, per_batch in (("wru_per_point", min(default, d.exporter.batch_size)), ("wru_per_point_linger_0", 1)):
        cfg, store, transact = store_for(endpoint)
        try:
            svc = ApiService(cfg, store)
            before = store.capacity["write"]
            points = requests = 0
            for i in range(0, len(entries), per_batch):
                batch = entries[i:i + per_batch]
                body = encode_otlp(batch, resource, "bench")
                reply = telemetry.otlp_metrics(svc, Request("POST", "/otlp/v1/metrics", body=body, headers={
                    "Content-Type": "application/x-protobuf", "Idempotency-Key": uuid.uuid4().hex,
                    "X-TelemetryFlow-Agent-ID": "bench-agent"}))
                assert reply.headers["X-CloudTally-Accepted-Data-Points"] == str(sum(len(e["p"]) for e in batch))
                points += sum(len(e["p"]) for e in batch)
                requests += 1
            wru = store.capacity["write"] - before + transact[0]
            out[label] = float(round(wru / points, 4))
            if per_batch > 1:
                out.update(points_per_hour=points, requests_per_hour=requests, wru_per_hour=float(wru),
                           idempotency_wru_per_hour=float(transact[0]))
                before = store.capacity["write"]
                info = c.collect(t0)
                store.record_heartbeat("bench-agent", {k: v for k, v in info.items() if v is not None},
                                       {"kind": "host", "hostname": info["hostname"]}, tags=None, now=NOW)
                out["wru_per_heartbeat"] = float(store.capacity["write"] - before)
        finally:
            store.delete_table()
    return out


def measure_agent(seconds: float, ddb: str, tmp: Path) -> dict:
    import psutil

    from cloudtally.api.service import ApiService
    cfg = Settings(table=f"bench-{uuid.uuid4().hex[:10]}", dynamodb_endpoint=ddb, auth_cache_seconds=300)
    from cloudtally.store import Store
    store = Store(cfg)
    store.create_table()
    svc = ApiService(cfg, store)
    key = svc.keys.create("bench-agent", ["ingest"])
    port = devstack.free_port()
    api = devstack.start_api(port, {"CLOUDTALLY_TABLE": cfg.table, "CLOUDTALLY_DYNAMODB_ENDPOINT": ddb,
                                    "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local")},
                             log=tmp / "api.log")
    procs = {}
    for name, extra in (("bench-agent", {}), ("bench-agent-linger-0", {"exporter": {"linger": 0}})):
        conf = tmp / f"{name}.yaml"
        conf.write_text(json.dumps({"telemetryflow": {"endpoint": f"http://127.0.0.1:{port}", "api_key_id": key["id"],
                                                      "api_key_secret": key["secret"]},
                                    "agent": {"id": name}, "buffer": {"path": str(tmp / name)}, **extra}))
        procs[name] = subprocess.Popen([str(AGENT), "--config", str(conf)], stdout=open(tmp / f"{name}.log", "wb"),
                                       stderr=subprocess.STDOUT)
    try:
        ps = {n: psutil.Process(p.pid) for n, p in procs.items()}
        rss = dict.fromkeys(procs, 0)
        start = time.monotonic()
        cpu0: dict[str, float] = {}
        t_cpu0 = None
        while time.monotonic() - start < seconds:
            time.sleep(1)
            for n, p in procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{n} exited: " + (tmp / f"{n}.log").read_text()[-2000:])
                rss[n] = max(rss[n], ps[n].memory_info().rss)
            if t_cpu0 is None and time.monotonic() - start >= 10:
                for n in procs:
                    ct = ps[n].cpu_times()
                    cpu0[n] = ct.user + ct.system
                t_cpu0 = time.monotonic()
        cpu = {}
        for n in procs:
            ct = ps[n].cpu_times()
            cpu[n] = ct.user + ct.system - cpu0[n]
        wall = time.monotonic() - t_cpu0
        codes = {}
        for n, p in procs.items():
            p.terminate()
            codes[n] = p.wait(30)
        state = {n: json.loads((tmp / n / "state.json").read_text()) for n in procs}
        agents = {a["agent_id"]: a for a in store.agents()}
        d, z = "bench-agent", "bench-agent-linger-0"
        return {"agent_cpu_percent": round(cpu[d] / wall * 100, 3), "agent_rss_mb": round(rss[d] / 2**20, 1),
                "agent_seconds": round(time.monotonic() - start), "agent_exit_code": codes[d],
                "agent_collections": state[d]["collected_entries"], "agent_heartbeats": agents[d]["heartbeats"],
                # the same agent sending every collection at once (linger 0): the cost of sending included
                "agent_cpu_percent_linger_0": round(cpu[z] / wall * 100, 3),
                "agent_rss_mb_linger_0": round(rss[z] / 2**20, 1), "agent_points_sent_linger_0": state[z]["acked_points"],
                "agent_requests_linger_0": agents[z]["batches_received"]}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
        devstack.stop(api)
        store.delete_table()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=130, help="how long the agent runs (>= 120 for the figure)")
    ap.add_argument("--quick", action="store_true", help="30 s of agent and 1 s of decoding (a smoke run)")
    args = ap.parse_args()
    for k, v in devstack.LOCAL_ENV.items():      # DynamoDB Local keeps one namespace per access key: the API's
        os.environ.setdefault(k, v)
    seconds = 30 if args.quick else args.seconds
    from cloudtally.agents.host import config as agent_config
    from cloudtally.agents.host.system import SystemCollector
    c = SystemCollector(agent_config.load(None, env={}))
    info = c.collect()
    result = {"systeminfo_fields": len(info), "systeminfo_fields_with_value": sum(v is not None for v in info.values())}
    print(f"systemInfo: {result['systeminfo_fields']} fields, {result['systeminfo_fields_with_value']} with a value")
    result.update(measure_decode(1 if args.quick else 5))
    print(f"decode+validate: {result['points_per_s']} points/s ({result['request_points']} points a request)")
    port = devstack.free_port()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ddb = devstack.start_dynamodb_local(port, log=tmp / "ddb.log")
        try:
            endpoint = f"http://127.0.0.1:{port}"
            result.update(measure_writes(endpoint))
            print(f"writes: {result['wru_per_point']} WRU a point at the default linger, "
                  f"{result['wru_per_point_linger_0']} with linger 0")
            result.update(measure_agent(seconds, endpoint, tmp))
            print(f"agent: {result['agent_cpu_percent']} % of a core, {result['agent_rss_mb']} MB RSS over "
                  f"{result['agent_seconds']} s")
        finally:
            devstack.stop(ddb)
    result["goals"] = {"agent_cpu_percent": 1, "agent_rss_mb": 50, "systeminfo_fields": 100, "points_per_s": 50000,
                       "wru_per_point": 0.05}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
