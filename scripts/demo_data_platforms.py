#!/usr/bin/env python3
"""`make up`'s Databricks and Snowflake sources: each collector runs once through its Lambda handler against
an emulated source seeded with the recorded rows of tests/fixtures, moved to the demo's clock.

* ``databricks``: the local HTTP fake of the workspace endpoints (Statement Execution on DuckDB tables shaped
  like system.billing.usage / list_prices; clusters, jobs, warehouses, pipelines), driven by databricks-sdk;
  port ``CLOUDTALLY_DATABRICKS_FAKE_PORT`` (default: any free port).
* ``snowflake``: fakesnow with look-alike SNOWFLAKE.ACCOUNT_USAGE / ORGANIZATION_USAGE views; the collector
  authenticates with a key pair generated for the demo.
"""

from __future__ import annotations

import contextlib
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_DAY = date(2026, 12, 1)          # "today" of the recorded rows
ENV_PORT = "CLOUDTALLY_DATABRICKS_FAKE_PORT"


def _load(rel: str, name: str) -> Any:
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, ROOT / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _past(rows: list[dict], now: datetime, *cols: str) -> list[dict]:
    """Rows that ended by ``now`` (the recorded day is cut at the demo's hour)."""
    def ended(r: dict) -> bool:
        for c in cols:
            if r.get(c):
                t = datetime.fromisoformat(str(r[c]).replace("Z", "+00:00"))
                if (t if t.tzinfo else t.replace(tzinfo=now.tzinfo)) > now:
                    return False
        return True
    return [r for r in rows if ended(r)]


_RUNNING = contextlib.ExitStack()     # the emulators stay up for the rest of the process (the collectors' run)


def start(now: datetime) -> dict[str, dict[str, Any]]:
    """Start both emulated sources for the process and return the collectors' schedule events
    (``scripts/run_collectors_local.py`` runs them through the Lambda handler)."""
    shift = (now.date() - FIXTURE_DAY).days
    fake = _load("tests/fixtures/databricks/fake.py", "demo_databricks_fake")
    usage = _past(fake.shift_rows(fake.load("system_billing_usage.json"), shift), now, "usage_end_time")
    srv, ws = fake.serve(fake.Workspace(usage=usage), port=int(os.environ.get(ENV_PORT) or 0))
    _RUNNING.callback(srv.shutdown)
    emu = _load("tests/fixtures/snowflake/emulator.py", "demo_snowflake_emulator")
    data = {}
    for view, (_, _, cols) in emu.VIEWS.items():
        time_cols = [c for c, t in cols.items() if t.startswith("TIMESTAMP") and c != "DELETED"]
        rows = emu.rows(view, shift)
        data[view] = _past(rows, now, *time_cols) if time_cols else \
            [r for r in rows if not r.get("USAGE_DATE") or date.fromisoformat(r["USAGE_DATE"]) <= now.date()]
    _RUNNING.enter_context(emu.emulate(data=data))
    os.environ["DATABRICKS_TOKEN"] = ws.token
    os.environ["SNOWFLAKE_PRIVATE_KEY"] = _load("tests/fixtures/snowflake/replay.py", "demo_snowflake_replay").test_key()
    print(f"[collectors] Databricks workspace fake on {fake.url(srv)}; Snowflake on fakesnow (key-pair sign-in)")
    return {"databricks": {"collector": "databricks", "config": {
                "host": fake.url(srv), "warehouse_id": "9f3e2a1b0c4d5e6f", "workspace_id": "1234567890123456",
                "workspace_name": "demo-workspace"}},
            "snowflake": {"collector": "snowflake", "config": {
                "account": "xy12345.us-east-1", "user": "CLOUDTALLY_SVC", "account_name": "ANALYTICS_PROD"}}}
