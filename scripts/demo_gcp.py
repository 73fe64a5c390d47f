#!/usr/bin/env python3
"""``make up``'s Google Cloud: the gcp collector runs once through its Cloud Functions entry point against the
emulated Google APIs (scripts/gcp_emulator.py) for the demo estate (scripts/gcp_estate.py: two projects, 22
running instances incl. a GKE cluster whose GPU node pool runs on G2/L4, Cloud Run, a 2nd- and a 1st-gen
function, Cloud SQL, buckets) and a billing export for it, emulated in BigQuery (DuckDB), so the Google Cloud
estimates and bills of billing account 01A2B3-C4D5E6-F7A8B9 in the dashboard come from the collector.

Called by scripts/run_collectors_local.py with the stack's environment (CLOUDTALLY_API_URL, the ingest key,
CLOUDTALLY_NOW); the emulator runs in this process and stops with it.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT / "common", ROOT / "scripts"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import gcp_emulator  # noqa: E402
import gcp_estate  # noqa: E402

DAYS = 35            # the export holds the last 35 days (the collector's backfill limit); estimates cover as many


def start(now: datetime) -> gcp_emulator.Emulator:
    """The emulator with the demo estate and its export up to ``now``, started (``emu.url``)."""
    from cloudtally import catalog
    estate = gcp_estate.demo_estate(now)
    emu = gcp_emulator.Emulator(estate, catalog_dir=ROOT / "tests" / "fixtures" / "gcp" / "catalog")
    today = now.date()
    rows = gcp_estate.export_rows(estate, today - timedelta(days=DAYS), today + timedelta(days=1),
                                  catalog=catalog.load("gcp"))
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    emu.bq.create(gcp_estate.EXPORT_TABLE, "standard", [r for r in rows if r["export_time"] <= stamp])
    emu.url = emu.start()
    return emu


def main(now: datetime) -> int:
    """Run the collector once through functions/gcp/main.py; 0 when it ran (scope errors are reported)."""
    emu = start(now)
    try:
        os.environ["CLOUDTALLY_GCP_ENDPOINT"] = emu.url
        os.environ["CLOUDTALLY_COLLECTOR_CONFIG"] = json.dumps({"billing_export_table": gcp_estate.EXPORT_TABLE,
                                                                "initial_days": DAYS})
        spec = importlib.util.spec_from_file_location("cloudtally_gcp_functions_demo", ROOT / "functions" / "gcp" / "main.py")
        fn = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fn)
        data = base64.b64encode(json.dumps({"collector": "gcp"}).encode()).decode()
        summary = fn.run("gcp", fn.pubsub_message({"message": {"data": data}}), now=now)
    finally:
        emu.stop()
        os.environ.pop("CLOUDTALLY_GCP_ENDPOINT", None)
        os.environ.pop("CLOUDTALLY_COLLECTOR_CONFIG", None)
    computed = sum(int(sc.get("records", 0)) for sc in summary.get("scopes", {}).values())
    print(f"[collectors] gcp: {computed} records collected, {summary.get('records_sent', 0)} posted, "
          f"{summary.get('metrics_sent', 0)} metric points, {len(summary.get('failed_scopes', []))} failed scopes "
          f"{json.dumps(summary.get('failed_scopes', []))[:300]}", flush=True)
    return 0


if __name__ == "__main__":
    from cloudtally.clock import from_env
    sys.exit(main(from_env().now()))
