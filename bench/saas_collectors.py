#!/usr/bin/env python3
"""SaaS collectors' cost to run: HTTP requests per run per vendor at two account sizes, the records a steady-
state run writes (an unchanged day: 0), and each collector module's import time (it must import only what
it needs: no cloud SDK, no other vendor).

Each vendor is served by the local fakes (cloudtally.saas_fakes.demo_state at size 1 and size 10: 10 × the
projects/clusters, subscriptions/databases, repositories and child organisations). A run is the scheduled
function's: status and day ledgers kept between runs (MemoryStatus), the clock pinned; the steady state is
a second run an hour later with nothing changed at the vendor. Import time is measured in a fresh
interpreter per module (best of 3). Last line: one JSON object.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))

from cloudtally.collectors import registry, runner  # noqa: E402
from cloudtally.collectors.secrets import Secrets  # noqa: E402
from cloudtally.saas_fakes import FakeVendors, demo_state, vendor_config, vendor_env  # noqa: E402

NOW = datetime(2026, 12, 15, 10, 30, tzinfo=timezone.utc)
VENDORS = ("atlas", "redis-cloud", "github", "datadog")
SIZES = (1, 10)


class CountingSink(runner.ListSink):
    """Counts what a run writes, by cost source (today's provisional aggregates apart: they are today's
    running estimate, rewritten each hour by design; see README "What a collector run writes")."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[str, int] = {}

    def send_records(self, records):
        for r in records:
            self.sent[r.x_CostSource] = self.sent.get(r.x_CostSource, 0) + 1
        return super().send_records(records)


def runs(vendor: str, size: int) -> dict[str, int]:
    state = demo_state(NOW, size=size)
    with FakeVendors(state) as fake:
        spec = registry.get(vendor)
        status, sink = runner.MemoryStatus(), CountingSink()
        sink.imports.records = sink.records
        out = {}
        for label, now in (("first", NOW), ("steady", NOW + timedelta(hours=1))):
            secrets = Secrets(spec.all_secrets, env=vendor_env(state))
            cfg = spec.parse_config(vendor_config(fake, state)[vendor])
            clients = importlib.import_module(spec.module).make_clients(cfg, secrets)
            sink.sent.clear()
            s = runner.run(spec, sink=sink, status=status, now=now, config=cfg, secrets=secrets, clients=clients)
            assert s["status"] == "ok", s["failed_scopes"]
            out[f"{label}_requests"] = clients.http.requests
            out[f"{label}_records"] = sum(v for k, v in sink.sent.items() if k != "provisional")
            out[f"{label}_provisional"] = sink.sent.get("provisional", 0)
        return out


def import_ms(module: str) -> float:
    code = f"import time; t=time.perf_counter(); import {module}; print((time.perf_counter()-t)*1000)"
    best = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                    env={"PYTHONPATH": str(ROOT / "common")}).stdout) for _ in range(3))
    return round(best, 1)


def main() -> None:
    result: dict = {"http_requests_per_run": {}, "http_requests_per_run_steady_state": {},
                    "records_per_run_first": {}, "records_per_run_steady_state": {}, "collector_import_ms": {}}
    for v in VENDORS:
        for size in SIZES:
            r = runs(v, size)
            print(f"{v:12s} size {size:2d}: first run {r['first_requests']:3d} requests, {r['first_records']:4d} records;"
                  f" steady state {r['steady_requests']:3d} requests, {r['steady_records']} records "
                  f"(+{r['steady_provisional']} provisional aggregates of today)")
            result["http_requests_per_run"].setdefault(v, {})[f"size_{size}"] = r["first_requests"]
            result["http_requests_per_run_steady_state"].setdefault(v, {})[f"size_{size}"] = r["steady_requests"]
            result["records_per_run_first"].setdefault(v, {})[f"size_{size}"] = r["first_records"]
            result["records_per_run_steady_state"].setdefault(v, {})[f"size_{size}"] = r["steady_records"]
            result.setdefault("provisional_aggregates_per_run_steady_state", {}).setdefault(v, {})[
                f"size_{size}"] = r["steady_provisional"]
        result["collector_import_ms"][v] = import_ms(registry.get(v).module)
        # modules the import adds (functions-framework's nspkg .pth pre-loads the empty ``google`` namespace)
        heavy = subprocess.run([sys.executable, "-c", f"import sys; before = set(sys.modules); import {registry.get(v).module}; "
                                "print(sorted(m for m in ('boto3','botocore','azure','google','databricks','snowflake',"
                                "'requests') if m in set(sys.modules) - before))"],
                               capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT / "common")})
        result.setdefault("sdk_modules_imported", {})[v] = json.loads(heavy.stdout.replace("'", '"'))
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
