"""The GCP catalog is what scripts/refresh_gcp_catalog.py makes of the recorded Cloud Billing Catalog API and
Compute machineTypes responses: SKU descriptions matched to keys, units checked, first non-zero tier, paging,
other regions and unpriced SKUs skipped, previous keys the API no longer answers kept and listed."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from cloudtally import catalog
from cloudtally.catalog import refresh_gcp
from cloudtally.providers.gcp.session import GcpClients
from tests.gcp_support import FIXTURES, ROOT, emulator_mod
from tests.helpers import load_module

COMMITTED = catalog.DATA / "gcp-2026-12-01.json"


@pytest.fixture
def client():
    emu = emulator_mod.Emulator({}, catalog_dir=FIXTURES / "catalog")
    url = emu.start()
    yield GcpClients(endpoint=url)
    emu.stop()


def test_the_committed_catalog_is_the_refresh_of_the_recorded_responses(client, tmp_path):
    script = load_module(ROOT / "scripts" / "refresh_gcp_catalog.py", "refresh_gcp_catalog_under_test")
    out = tmp_path / "gcp.json"
    assert script.main(["--project", "acme-prod", "--out", str(out)], client=client, today=date(2026, 12, 1)) == 0
    assert out.read_text() == COMMITTED.read_text()
    doc = json.loads(out.read_text())
    assert all(s["retrieved"] == "2026-12-01" and s["url"].startswith("https://") for s in doc["sources"])
    assert not any(s.get("not_refreshed") for s in doc["sources"])


def test_sku_prices_keys_and_shapes():
    cat = catalog.load("gcp")
    assert cat.price("compute_vcpu", "us-central1", "n2", "custom").amount == Decimal("0.033191")
    assert cat.price("compute_ram", "us-central1", "n2", "custom_extended").amount == Decimal("0.00955")
    assert cat.price("gpu", "us-central1", "nvidia-l4", "spot").amount == Decimal("0.224")
    assert cat.price("gcs", "us", "ARCHIVE").amount == Decimal("0.0024")
    # the first non-zero tier (Cloud Run's free tier is a credit in the bill, not an estimate)
    assert cat.price("run_requests", "us-central1").amount == Decimal("0.0000004")
    mt = cat.doc["machine_types"]
    assert mt["e2-micro"] == {"vcpus": "0.25", "memory_gib": "1"}            # shared core: a quarter vCPU
    assert mt["g2-standard-8"]["gpus"] == {"nvidia-l4": 1}
    assert mt["n1-standard-4"]["memory_gib"] == "15"
    assert "f1-micro" not in mt                                              # its own SKU, not priced here
    with pytest.raises(catalog.PriceNotFound):
        cat.price("compute_vcpu", "europe-west1", "n2", "standard")          # the EMEA SKU is outside the regions read


def test_matching_rules_and_unit_checks():
    assert refresh_gcp.match("Compute Engine", {"description": "Spot Preemptible N2D Instance Ram running in Americas"}) == (
        "compute_ram", "n2d", "spot")
    assert refresh_gcp.match("Compute Engine", {"description": "Commitment v1: N2 Cpu in Americas for 1 Year"}) is None
    assert refresh_gcp.match("Cloud SQL", {"description": "Cloud SQL for PostgreSQL: Regional - RAM (Enterprise Plus) in Americas"}) == (
        "cloudsql_ram", "ENTERPRISE_PLUS", "REGIONAL")
    sku = {"pricingInfo": [{"effectiveTime": "2026-01-01T00:00:00Z", "pricingExpression": {"usageUnit": "h", "tieredRates": [
        {"startUsageAmount": 0, "unitPrice": {"units": "2", "nanos": 933908000}}]}}]}
    assert refresh_gcp.unit_price(sku) == (Decimal("2.933908"), "h")


def test_a_key_the_api_no_longer_answers_keeps_its_price_and_is_listed(client):
    prev = json.loads(COMMITTED.read_text())
    prev["services"]["gpu"]["regions"]["us-central1"]["nvidia-h100-80gb"] = {"standard": "9.8"}
    doc = refresh_gcp.refresh_gcp(prev, client, project="acme-prod", zones={"us-central1": "us-central1-a"},
                                  today=date(2026, 12, 2))
    assert doc["services"]["gpu"]["regions"]["us-central1"]["nvidia-h100-80gb"] == {"standard": "9.8"}
    (gpu,) = [s for s in doc["sources"] if s["service"] == "gpu"]
    assert gpu["not_refreshed"] == ["us-central1/nvidia-h100-80gb/standard"]
