#!/usr/bin/env python3
"""AWS collector figures; the last stdout line is one JSON object.

- getmetricdata_calls_per_1000_instances: GetMetricData calls (botocore event hook) for a generated
  fleet of N >= 1000 running instances in moto (in-process), scaled to 1000.
- collector_import_ms: importing cloudtally.providers.aws.collector in a fresh interpreter; also checks it
  imports no boto3/Azure/GCP/Databricks/Snowflake SDK.
- records_per_s: a full run (records + metric points) against moto server over HTTP, seeded with the
  demo account (scripts/seed_moto_aws.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
    os.environ.setdefault(k, v)


def import_ms() -> tuple[float, list[str]]:
    code = ("import sys, time; before = set(sys.modules); t = time.perf_counter(); import cloudtally.providers.aws.collector; "
            "ms = (time.perf_counter() - t) * 1000; "
            "bad = sorted({m.split('.')[0] for m in set(sys.modules) - before if m.split('.')[0] in "
            "('boto3', 'azure', 'google', 'databricks', 'snowflake')}); print(ms, ','.join(bad))")
    runs = []
    bad: list[str] = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        runs.append(float(out[0]))
        bad = out[1].split(",") if len(out) > 1 else []
    return sorted(runs)[len(runs) // 2], bad


def gmd_calls(n: int) -> tuple[int, int]:
    import boto3
    from moto import mock_aws

    from cloudtally.collectors import registry, runner
    from cloudtally.providers.aws import collector as aws
    with mock_aws():
        ec2 = boto3.client("ec2", "us-east-1")
        ami = next(i["ImageId"] for i in ec2.describe_images()["Images"] if not i.get("Platform"))
        left = n
        while left:
            k = min(left, 500)
            ec2.run_instances(ImageId=ami, MinCount=k, MaxCount=k, InstanceType="m5.large")
            left -= k
        clients = aws.AwsClients({})
        calls = {"n": 0}
        cw = clients.client("cloudwatch", "us-east-1")
        cw.meta.events.register("before-call.cloudwatch.GetMetricData", lambda **kw: calls.__setitem__("n", calls["n"] + 1))
        now = datetime.now(timezone.utc) + timedelta(hours=2)
        summary = runner.run(registry.get("aws"), sink=runner.ListSink(), clients=clients, now=now,
                             config={"regions": ["us-east-1"], "cost_explorer": False})
        running = sum(1 for s in summary["scopes"] if s.endswith("/ec2"))
        assert running == 1 and not summary["failed_scopes"], summary["failed_scopes"]
        return calls["n"], n


def full_run() -> dict:
    from cloudtally import devstack
    from cloudtally.collectors import registry, runner
    port = devstack.free_port()
    proc = devstack.start_moto(port)
    try:
        url = f"http://127.0.0.1:{port}"
        spec = importlib.util.spec_from_file_location("seed_moto_aws", ROOT / "scripts" / "seed_moto_aws.py")
        seed = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(seed)
        seed.seed(url)
        os.environ["AWS_ENDPOINT_URL"] = url
        sink = runner.ListSink()
        t = time.perf_counter()
        summary = runner.run(registry.get("aws"), sink=sink, config={"regions": ["us-east-1", "eu-west-1"]})
        dt = time.perf_counter() - t
        n = len(sink.records) + len(sink.metrics)
        return {"records": len(sink.records), "metric_points": len(sink.metrics), "seconds": round(dt, 3),
                "records_per_s": round(n / dt, 1), "api_calls": summary["api_calls"],
                "failed_scopes": len(summary["failed_scopes"])}
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        devstack.stop(proc)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instances", type=int, default=1000)
    a = p.parse_args()
    ms, bad = import_ms()
    print(f"import cloudtally.providers.aws.collector: {ms:.1f} ms (median of 5); SDKs imported: {bad or 'none'}")
    calls, n = gmd_calls(max(a.instances, 1000))
    per_1000 = round(calls * 1000 / n, 2)
    print(f"GetMetricData: {calls} calls for {n} instances -> {per_1000} per 1000")
    run = full_run()
    print(f"full run against moto server: {run['records']} records + {run['metric_points']} points in "
          f"{run['seconds']} s -> {run['records_per_s']} items/s; calls {run['api_calls']}")
    print(json.dumps({"getmetricdata_calls_per_1000_instances": per_1000, "collector_import_ms": round(ms, 1),
                      "collector_imports_sdks": bad, "records_per_s": run["records_per_s"],
                      "fleet_instances": n, "full_run_records": run["records"],
                      "full_run_metric_points": run["metric_points"], "full_run_failed_scopes": run["failed_scopes"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
