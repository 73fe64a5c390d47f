"""The Azure catalog is a build of the Retail Prices API answers recorded in tests/fixtures/azure-prices (the
maintainer script, scripts/refresh_azure_catalog.py, run on them), with its sources and selection rules."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from cloudtally import catalog
from cloudtally.catalog import refresh_azure as R
from tests.helpers import load_module

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "tests" / "fixtures" / "azure-prices"
script = load_module(ROOT / "scripts" / "refresh_azure_catalog.py", "refresh_azure_catalog_under_test")


def recorded(overrides=None):
    index = json.loads((PAGES / "index.json").read_text())
    seen: list[str] = []

    def fetch(url):
        seen.append(url)
        doc = json.loads((PAGES / index[url]).read_text(), parse_float=Decimal)
        return (overrides or {}).get(index[url], lambda d: d)(doc)
    return fetch, seen


def test_the_checked_in_catalog_is_the_build_of_the_recorded_answers():
    newest = catalog.versions("azure")[-1]
    current = json.loads((catalog.DATA / f"azure-{newest}.json").read_text())
    built = json.loads(json.dumps(script.build(PAGES, newest, current["sources"][0]["retrieved"]), default=str))
    assert built == current
    assert all(s["url"].startswith(f"{R.RETAIL_URL}?api-version={R.API_VERSION}&%24filter=") and s["retrieved"]
               for s in current["sources"])
    assert script.main(["--check"]) == 0


def test_pages_are_followed_and_every_query_is_filtered_by_service_and_region():
    fetch, seen = recorded()
    doc = R.build(fetch, retrieved="2026-12-01", version="2026-12-01")
    assert len([u for u in seen if "serviceName%20eq%20%27Virtual%20Machines%27" in u]) == 2 * 3   # 2 pages, 3 regions
    assert any(u.endswith("&$skip=40") for u in seen)                                             # the NextPageLink
    assert sum(s["items"] for s in doc["sources"] if s["service"] == "vm" and s["region"] == "eastus") > 40


def test_selection_rules_and_units():
    cat = catalog.load("azure")
    # Low Priority meters and the "Cloud Services" duplicate are not the VM price
    assert cat.price("vm", "eastus", "Standard_D2s_v5", "linux", "regular").amount == Decimal("0.096")
    assert cat.price("vm", "eastus", "Standard_D2s_v5", "windows", "regular").amount == Decimal("0.188")
    assert cat.price("vm", "eastus", "Standard_D2s_v5", "linux", "spot").amount == Decimal("0.0192")
    # "10" executions are a block of 10: the price of one execution
    ex = cat.price("functions", "eastus", "consumption", "executions")
    assert (ex.amount, ex.unit) == (Decimal("0.0000002"), "Units")
    assert cat.price("functions", "eastus", "flex", "gb_seconds").unit == "GB Seconds"
    # Premium EP1 = 1 vCPU-hour + 3.5 GB-hours
    assert cat.price("functions_premium", "eastus", "EP1").amount == Decimal("0.173") + Decimal("3.5") * Decimal("0.0123")
    assert cat.price("disk", "eastus", "P10").unit == "Units/Month"
    assert cat.price("sql_dtu", "eastus", "S0").unit == "Units/Day"
    # the first usage tier of blob storage, not the cheaper one beyond 50 TB
    assert cat.price("storage", "eastus", "lrs", "hot").amount == Decimal("0.0184")
    with pytest.raises(catalog.PriceNotFound, match="no vm price"):
        cat.price("vm", "eastus", "Standard_NC6s_v3", "linux", "regular")     # answered but not wanted


def test_a_wanted_price_the_api_does_not_answer_is_listed_missing_not_guessed():
    def drop_p10(doc):
        doc = copy.deepcopy(doc)
        doc["Items"] = [i for i in doc["Items"] if not i["meterName"].startswith("P10 ")]
        return doc
    fetch, _ = recorded({"eastus-disk-premium-ssd-p1.json": drop_p10})
    doc = R.build(fetch, retrieved="2026-12-01", version="x")
    assert "P10" not in doc["services"]["disk"]["regions"]["eastus"]
    src = next(s for s in doc["sources"] if s["region"] == "eastus" and s["service"] == "disk" and s["missing"])
    assert "eastus/disk/P10" in src["missing"]


def test_a_changed_unit_of_measure_is_refused():
    def per_day(doc):
        doc = copy.deepcopy(doc)
        for i in doc["Items"]:
            i["unitOfMeasure"] = "1/Day"
        return doc
    fetch, _ = recorded({"westeurope-vm-p1.json": per_day})
    with pytest.raises(ValueError, match="expected Hours"):
        R.build(fetch, retrieved="2026-12-01", version="x")
