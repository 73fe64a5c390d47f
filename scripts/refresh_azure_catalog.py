#!/usr/bin/env python3
"""Regenerate the Azure price catalog from the Azure Retail Prices API (maintainers; no credentials needed).

    .venv/bin/python scripts/refresh_azure_catalog.py                      # live API → catalog/data/azure-<today>.json
    .venv/bin/python scripts/refresh_azure_catalog.py --recorded tests/fixtures/azure-prices --version 2026-12-01
    .venv/bin/python scripts/refresh_azure_catalog.py --check              # the newest file = a build from the recorded pages

The queries, selection rules and units are in ``cloudtally.catalog.refresh_azure``. ``--recorded DIR`` reads the
answer pages from ``DIR/index.json`` (URL → file) instead of the network: the tests build the catalog from them,
and the checked-in catalog is that build. Never run at collection time. Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))

from cloudtally.catalog import DATA, versions  # noqa: E402
from cloudtally.catalog import refresh_azure as R  # noqa: E402

RECORDED_NOTE = ("Built by scripts/refresh_azure_catalog.py --recorded tests/fixtures/azure-prices: the Retail Prices "
                 "API answer pages recorded there (re-created in the API's documented shape, with Microsoft's published "
                 "pay-as-you-go list prices as of the version date; the machine that built this file had no access to "
                 "prices.azure.com). Run the script without --recorded to refresh from the live API.")


def recorded_fetch(folder: Path):
    index = json.loads((folder / "index.json").read_text())

    def fetch(url: str) -> dict:
        name = index.get(url)
        if name is None:
            raise SystemExit(f"no recorded page for {url} in {folder}/index.json")
        return json.loads((folder / name).read_text(), parse_float=Decimal)
    return fetch


def build(recorded: Path | None, version: str, retrieved: str) -> dict:
    doc = R.build(recorded_fetch(recorded) if recorded else R.fetch_json, retrieved=retrieved, version=version)
    if recorded:
        doc["notes"] = doc["notes"] + " " + RECORDED_NOTE
    doc["documentation"] = R.DOCS
    return doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recorded", type=Path, help="build from recorded answer pages (DIR/index.json) instead of the API")
    ap.add_argument("--version", help="catalog version (YYYY-MM-DD; default: today, UTC)")
    ap.add_argument("--check", action="store_true", help="exit 1 unless the newest catalog equals a build from "
                                                           "tests/fixtures/azure-prices")
    a = ap.parse_args(argv)
    if a.check:
        newest = versions("azure")[-1]
        current = json.loads((DATA / f"azure-{newest}.json").read_text())
        built = json.loads(json.dumps(build(ROOT / "tests" / "fixtures" / "azure-prices", newest,
                                            current["sources"][0]["retrieved"]), default=str))
        ok = built == current
        print(json.dumps({"version": newest, "matches_recorded_build": ok}))
        return 0 if ok else 1
    today = datetime.now(timezone.utc).date().isoformat()   # a maintainer's run: the day it was retrieved
    version = a.version or today
    doc = build(a.recorded, version, version if a.recorded else today)
    path = DATA / f"azure-{version}.json"
    path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    missing = sorted({m for s in doc["sources"] for m in s["missing"]})
    print(f"wrote {path.relative_to(ROOT)}: {sum(s['items'] for s in doc['sources'])} items read, {len(missing)} wanted "
          f"prices missing")
    print(json.dumps({"path": str(path.relative_to(ROOT)), "version": version, "missing": missing}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
