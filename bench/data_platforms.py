#!/usr/bin/env python3
"""Data-platform collectors: provider calls per run at two account sizes, steady-state writes, import time.

* ``databricks_statements_per_run``: Statement Execution statements of one run (the billed-usage statement,
  plus the DBU-rate statement when compute runs) on the local HTTP fake at 10 and 400 clusters (half of
  them running), 7 days of hourly usage: constant, whatever the number of clusters, jobs or warehouses.
* ``snowflake_queries_per_run``: queries of one run on fakesnow at 2 warehouses / 5 users and 40 warehouses /
  200 users (every view read once, with its watermark): constant.
* ``records_per_run_steady_state``: records a second run sends when nothing changed (the day ledgers' content
  hashes): 0 for both.
* ``collector_import_ms``: importing each collector module in a fresh interpreter (median of 5); also checks
  that no cloud SDK (boto3, azure, google, databricks, snowflake) is imported by it.

    .venv/bin/python bench/data_platforms.py
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
SDKS = ("boto3", "azure", "google", "databricks", "snowflake")


def _load(rel: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def import_ms(module: str) -> tuple[float, list[str]]:
    # modules the import adds (functions-framework's nspkg .pth pre-loads the empty ``google`` namespace)
    code = (f"import sys, time; before = set(sys.modules); t = time.perf_counter(); import {module}; "
            "ms = (time.perf_counter() - t) * 1000; "
            f"bad = sorted({{m.split('.')[0] for m in set(sys.modules) - before if m.split('.')[0] in {SDKS!r}}}); "
            "print(ms, ','.join(bad))")
    runs, bad = [], []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        runs.append(float(out[0]))
        bad = out[1].split(",") if len(out) > 1 else []
    return sorted(runs)[len(runs) // 2], bad


def databricks(n_clusters: int) -> tuple[int, int, int, float]:
    """(statements, records sent by the 1st run, by an unchanged 2nd run, seconds of the 1st run)."""
    from cloudtally.collectors import registry, runner
    from cloudtally.collectors.secrets import Secrets
    fake = _load("tests/fixtures/databricks/fake.py", "bench_dbx_fake")
    days = [NOW.date() - timedelta(days=i) for i in range(7, 0, -1)]
    lists = fake.synthetic_lists(n_clusters)
    for i, c in enumerate(lists["/api/2.1/clusters/list"]["clusters"]):
        c["state"] = "RUNNING" if i % 2 == 0 else "TERMINATED"
    prices = fake.load("system_billing_list_prices.json")
    for p in prices:
        p["account_id"] = "acc-bench"
    ws = fake.Workspace(usage=fake.synthetic_usage(n_clusters, days), prices=prices, lists=lists, page_size=100,
                        chunk_rows=2000)
    srv, ws = fake.serve(ws)
    spec = registry.get("databricks")
    status = runner.MemoryStatus()
    cfg = {"host": fake.url(srv), "warehouse_id": "wh-bench", "workspace_id": "1001"}
    secrets = Secrets(spec.all_secrets, env={"DATABRICKS_TOKEN": ws.token})
    try:
        t0 = time.perf_counter()
        first = runner.run(spec, sink=runner.ListSink(), status=status, now=NOW, config=cfg, secrets=secrets)
        secs = time.perf_counter() - t0
        again = runner.run(spec, sink=runner.ListSink(), status=status, now=NOW, config=cfg, secrets=secrets)
    finally:
        srv.shutdown()
    assert not first["failed_scopes"], first["failed_scopes"]
    return first["api_calls"]["sql"]["ExecuteStatement"], first["records_sent"], again["records_sent"], secs


def snowflake_rows(n_wh: int, n_users: int) -> dict[str, list[dict]]:
    days = [NOW.date() - timedelta(days=i) for i in range(3, -1, -1)]
    wmh, qah, qh, mdh, su, dsu, cur = [], [], [], [], [], [], []
    q = 0
    for d in days:
        total = 0
        for w in range(n_wh):
            for h in range(0, 9 if d == NOW.date() else 24, 3):
                st = datetime(d.year, d.month, d.day, h)
                wmh.append({"START_TIME": st.isoformat(), "END_TIME": (st + timedelta(hours=1)).isoformat(),
                            "WAREHOUSE_ID": w, "WAREHOUSE_NAME": f"WH_{w}", "CREDITS_USED": "1.1",
                            "CREDITS_USED_COMPUTE": "1.0", "CREDITS_USED_CLOUD_SERVICES": "0.1"})
                total += 1
                for u in range(w % 3, n_users, max(n_wh, 1)):
                    q += 1
                    qid = f"q{q}"
                    qah.append({"QUERY_ID": qid, "WAREHOUSE_ID": w, "WAREHOUSE_NAME": f"WH_{w}", "QUERY_TAG": f"t{u % 4}",
                                "USER_NAME": f"U{u}", "START_TIME": (st + timedelta(minutes=5)).isoformat(),
                                "END_TIME": (st + timedelta(minutes=6)).isoformat(), "CREDITS_ATTRIBUTED_COMPUTE": 0.05})
                    qh.append({"QUERY_ID": qid, "ROLE_NAME": f"R{u % 5}", "USER_NAME": f"U{u}", "WAREHOUSE_NAME": f"WH_{w}",
                               "START_TIME": (st + timedelta(minutes=5)).isoformat()})
        mdh.append({"SERVICE_TYPE": "WAREHOUSE_METERING", "USAGE_DATE": d.isoformat(), "CREDITS_USED_COMPUTE": str(total),
                    "CREDITS_USED_CLOUD_SERVICES": str(total / 10), "CREDITS_USED": str(total * 1.1),
                    "CREDITS_ADJUSTMENT_CLOUD_SERVICES": str(-total / 10), "CREDITS_BILLED": str(total)})
        su.append({"USAGE_DATE": d.isoformat(), "STORAGE_BYTES": "1000000000000", "STAGE_BYTES": "1000000",
                   "FAILSAFE_BYTES": "0", "HYBRID_TABLE_STORAGE_BYTES": "0"})
        for db in range(n_wh):
            dsu.append({"USAGE_DATE": d.isoformat(), "DATABASE_ID": db, "DATABASE_NAME": f"DB_{db}", "DELETED": None,
                        "AVERAGE_DATABASE_BYTES": "1000000000", "AVERAGE_FAILSAFE_BYTES": "1000",
                        "AVERAGE_HYBRID_TABLE_STORAGE_BYTES": "0"})
    return {"WAREHOUSE_METERING_HISTORY": wmh, "QUERY_ATTRIBUTION_HISTORY": qah, "QUERY_HISTORY": qh,
            "METERING_DAILY_HISTORY": mdh, "STORAGE_USAGE": su, "DATABASE_STORAGE_USAGE_HISTORY": dsu,
            "USAGE_IN_CURRENCY_DAILY": cur}


def snowflake(n_wh: int, n_users: int) -> tuple[int, int, int, float]:
    from cloudtally.collectors import registry, runner
    from cloudtally.collectors.secrets import Secrets
    emu = _load("tests/fixtures/snowflake/emulator.py", "bench_sf_emulator")
    key = _load("tests/fixtures/snowflake/replay.py", "bench_sf_replay").test_key()
    spec = registry.get("snowflake")
    status = runner.MemoryStatus()
    cfg = {"account": "bench1.us-east-1", "user": "BENCH"}
    secrets = Secrets(spec.all_secrets, env={"SNOWFLAKE_PRIVATE_KEY": key})
    with emu.emulate(data=snowflake_rows(n_wh, n_users)):
        t0 = time.perf_counter()
        first = runner.run(spec, sink=runner.ListSink(), status=status, now=NOW, config=cfg, secrets=secrets)
        secs = time.perf_counter() - t0
        again = runner.run(spec, sink=runner.ListSink(), status=status, now=NOW, config=cfg, secrets=secrets)
    assert not first["failed_scopes"], first["failed_scopes"]
    return sum(first["api_calls"]["snowflake"].values()), first["records_sent"], again["records_sent"], secs


def main() -> int:
    import warnings
    warnings.filterwarnings("ignore")
    import logging
    logging.disable(logging.WARNING)
    out: dict = {"databricks_statements_per_run": {}, "snowflake_queries_per_run": {},
                 "records_per_run_steady_state": {}, "collector_import_ms": {}, "first_run": {}}
    for n in (10, 400):
        stmts, sent, again, secs = databricks(n)
        out["databricks_statements_per_run"][f"{n}_clusters"] = stmts
        out["first_run"][f"databricks_{n}_clusters"] = {"records_sent": sent, "seconds": round(secs, 2)}
        out["records_per_run_steady_state"][f"databricks_{n}_clusters"] = again
        print(f"databricks {n} clusters: {stmts} statements, {sent} records, then {again} on an unchanged re-run "
              f"({secs:.2f} s)", flush=True)
    for wh, users in ((2, 5), (40, 200)):
        qs, sent, again, secs = snowflake(wh, users)
        key = f"{wh}_warehouses_{users}_users"
        out["snowflake_queries_per_run"][key] = qs
        out["first_run"][f"snowflake_{key}"] = {"records_sent": sent, "seconds": round(secs, 2)}
        out["records_per_run_steady_state"][f"snowflake_{key}"] = again
        print(f"snowflake {wh} warehouses / {users} users: {qs} queries, {sent} records, then {again} on an unchanged "
              f"re-run ({secs:.2f} s)", flush=True)
    for name, mod in (("databricks", "cloudtally.providers.databricks.collector"),
                      ("snowflake", "cloudtally.providers.snowflake.collector")):
        ms, bad = import_ms(mod)
        out["collector_import_ms"][name] = round(ms, 1)
        out.setdefault("sdks_imported_at_module_import", {})[name] = bad
        print(f"import {mod}: {ms:.1f} ms (SDKs imported: {', '.join(bad) or 'none'})", flush=True)
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
