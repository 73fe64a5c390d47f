#!/usr/bin/env python3
"""Regenerate common/cloudtally/catalog/data/gcp-<today>.json from the Cloud Billing Catalog API.

Needs Application Default Credentials (or CLOUDTALLY_GCP_ENDPOINT for the recorded responses of
tests/fixtures/gcp/catalog, served by scripts/gcp_emulator.py) and a project to read Compute's machine
types in. Maintainers run it and commit the new file after reviewing the diff; collectors never call the
Catalog API.

    python scripts/refresh_gcp_catalog.py --project my-project [--zone us-central1=us-central1-a] [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))

from cloudtally import catalog  # noqa: E402
from cloudtally.catalog.refresh_gcp import dumps, refresh_gcp  # noqa: E402


def main(argv: list[str] | None = None, client=None, today: date | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--project", required=True, help="a project whose machine types are read (compute.machineTypes.list)")
    p.add_argument("--zone", action="append", default=None,
                   help="region=zone to price and read machine types in (repeatable; default us-central1=us-central1-a)")
    p.add_argument("--out", help="output path (default: catalog/data/gcp-<today>.json)")
    p.add_argument("--date", help="the version date (default: today)")
    a = p.parse_args(argv)
    zones = dict(z.split("=", 1) for z in (a.zone or ["us-central1=us-central1-a"]))
    if client is None:
        from cloudtally.providers.gcp.session import GcpClients
        client = GcpClients()
    try:
        previous = catalog.load("gcp").doc
    except catalog.PriceNotFound:
        previous = None
    day = today or (date.fromisoformat(a.date) if a.date else date.today())
    doc = refresh_gcp(previous, client, project=a.project, zones=zones, today=day)
    out = Path(a.out or catalog.DATA / f"gcp-{doc['version']}.json")
    out.write_text(dumps(doc))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
