"""Every real sample in shared/data/billing converts to exactly the totals PROVENANCE.md states.

The expected sums are read from PROVENANCE.md itself (its "Cost totals" table), and checked twice:
against ``cloudtally import FILE --dry-run --json`` (string-exact: same digits, same scale) and
against an independent reference computed here with ``csv`` + ``decimal``.
"""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal

import pytest

from cloudtally.cli import main
from cloudtally.money import CONTEXT
from tests.conftest import SHARED

BILLING = SHARED / "data" / "billing"
# export column -> the FOCUS totals it becomes, per format (documented in README.md ("Billing exports"))
COLUMN_TO_FOCUS = {
    "BilledCost": ["BilledCost"], "EffectiveCost": ["EffectiveCost"], "ListCost": ["ListCost"],
    "ContractedCost": ["ContractedCost"],
    "lineItem/UnblendedCost": ["BilledCost", "EffectiveCost", "ContractedCost"],
    "pricing/publicOnDemandCost": ["ListCost"],
    # Azure's other FOCUS costs follow their definitions (test_azure_costs_follow_their_focus_definitions)
    "CostInBillingCurrency": ["BilledCost"],
    "Cost": ["BilledCost"],
}


def provenance_totals() -> dict[str, dict]:
    text = (BILLING / "PROVENANCE.md").read_text()
    section = text.split("## Cost totals", 1)[1].split("###", 1)[0]
    out: dict[str, dict] = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*([-0-9.]+)\s*\|\s*(\d+)\s*\|.*\|\s*([A-Z]{3})\s*\|$", line)
        if m:
            f, col, total, _, cur = m.groups()
            if col == "lineItem/BlendedCost":
                continue  # equal to UnblendedCost on every row; not a FOCUS column we map
            out.setdefault(f, {"currency": cur, "columns": {}})["columns"][col] = total
    return out


EXPECTED = provenance_totals()


def test_provenance_lists_every_sample():
    files = {str(p.relative_to(BILLING)) for p in BILLING.rglob("*.csv")}
    assert files and files == set(EXPECTED)


def run_cli(capsys, *args: str) -> tuple[int, dict]:
    code = main(list(args))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dry_run_totals_equal_provenance(name, capsys):
    exp = EXPECTED[name]
    code, doc = run_cli(capsys, "import", str(BILLING / name), "--dry-run", "--json", "--no-progress")
    assert code == 0, doc
    assert doc["ok"] and doc["dry_run"] and doc["rejected_count"] == 0
    assert list(doc["totals"]) == [exp["currency"]]
    got = doc["totals"][exp["currency"]]
    for col, total in exp["columns"].items():
        for focus_col in COLUMN_TO_FOCUS[col]:
            assert got[focus_col] == total, (name, col, focus_col)   # same digits and scale
    rows = sum(1 for _ in csv.DictReader((BILLING / name).open(encoding="utf-8-sig")))
    assert doc["rows"] == rows


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_totals_equal_independent_decimal_reference(name, capsys):
    exp = EXPECTED[name]
    ref: dict[str, Decimal] = {}
    with (BILLING / name).open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            for col in exp["columns"]:
                v = row[col].strip()
                if v and v != "NULL":
                    ref[col] = CONTEXT.add(ref.get(col, Decimal(0)), Decimal(v))
    _, doc = run_cli(capsys, "import", str(BILLING / name), "--dry-run", "--json", "--no-progress")
    got = doc["totals"][exp["currency"]]
    for col, total in ref.items():
        assert Decimal(got[COLUMN_TO_FOCUS[col][0]]) == total
        assert str(total) == exp["columns"][col]


@pytest.mark.parametrize("name", ["azure-ea/sample-anonymous-ea-export-dataset.csv", "azure-ea/EA_ActualCost_Small.csv"])
def test_azure_costs_follow_their_focus_definitions(name):
    """EffectiveCost: the bill less commitment purchases (FOCUS: 0 for a purchase covering future usage);
    ContractedCost = UnitPrice × Quantity and ListCost = PayGPrice × Quantity (the costs of the unit prices
    FOCUS pairs them with), per row, summed exactly; checked against csv + decimal."""
    from cloudtally.importers.engine import convert_file
    ref = {"EffectiveCost": Decimal(0), "ContractedCost": Decimal(0), "ListCost": Decimal(0)}
    with (BILLING / name).open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            cost = Decimal(row.get("CostInBillingCurrency") or row["Cost"])
            commitment = row.get("benefitId") or row.get("ReservationId")
            if not (commitment and row["ChargeType"] == "Purchase"):
                ref["EffectiveCost"] = CONTEXT.add(ref["EffectiveCost"], cost)
            q = Decimal(row["Quantity"])
            ref["ContractedCost"] = CONTEXT.add(ref["ContractedCost"], CONTEXT.multiply(Decimal(row["UnitPrice"]), q))
            ref["ListCost"] = CONTEXT.add(ref["ListCost"], CONTEXT.multiply(Decimal(row["PayGPrice"]), q))
    conv = convert_file(BILLING / name)
    (tot,) = conv.totals.values()
    assert {k: tot[k] for k in ref} == ref
    assert all(r.ContractedCost == CONTEXT.multiply(r.ContractedUnitPrice, r.PricingQuantity) for r in conv.records)


def test_focus_sample_quirks_are_normalized():
    from cloudtally.importers.engine import convert_file
    conv = convert_file(BILLING / "focus-1.0" / "focus_sample.csv")
    freqs = {r.ChargeFrequency for r in conv.records}
    assert freqs <= {"Usage-Based", "One-Time", "Recurring", None} and "Usage-Based" in freqs
    assert all(r.ChargeClass is None for r in conv.records)          # literal NULL
    assert {r.x_CostSource for r in conv.records} == {"billed"}
    assert {r.x_Collector for r in conv.records} == {"import:focus"}
    credit = [r for r in conv.records if r.ChargeCategory == "Credit"]
    assert credit and credit[0].BilledCost < 0
    oracle = [r for r in conv.records if r.ProviderName == "Oracle"]
    assert len(oracle) == 7 and all(r.ContractedCost == r.EffectiveCost for r in oracle)  # NULL → EffectiveCost
    tagged = [r for r in conv.records if r.Tags]
    assert tagged and all(isinstance(v, str) for r in tagged for v in r.Tags.values())


def test_azure_us_dates_bom_and_inclusive_billing_period_end():
    from datetime import datetime, timezone
    from cloudtally.importers.engine import convert_file
    conv = convert_file(BILLING / "azure-ea" / "EA_ActualCost_Small.csv")
    days = sorted({r.day for r in conv.records})
    assert days[0] == "2023-09-04" and days[-1] == "2023-09-21"
    r = conv.records[0]
    assert r.BillingPeriodStart == datetime(2023, 9, 1, tzinfo=timezone.utc)
    assert r.BillingPeriodEnd == datetime(2023, 10, 1, tzinfo=timezone.utc)
    assert r.ProviderName == "Microsoft" and r.BillingAccountId == "8611537"
    cats = {r.ChargeCategory for r in conv.records}
    assert cats == {"Usage", "Purchase"}
    conv2 = convert_file(BILLING / "azure-ea" / "sample-anonymous-ea-export-dataset.csv")
    assert {r.day for r in conv2.records} == {"2023-09-02"}                     # 9/2/2023 (M/D/YYYY)
    assert conv2.records[0].Tags == {"tagA": "valueA", "tagB": "valueB", "tagC": "valueC"}


def test_aws_cur_tax_rows_and_daily_aggregation():
    from cloudtally.importers.engine import convert_file
    conv = convert_file(BILLING / "aws-cur" / "sample-anonymous-aws-export-dataset.csv")
    tax = [r for r in conv.records if r.ChargeCategory == "Tax"]
    assert len(tax) == 12 and sum(r.BilledCost for r in tax) == Decimal("0.08")
    assert all((r.ChargePeriodEnd - r.ChargePeriodStart).days == 30 for r in tax)   # monthly: kept as is
    usage = [r for r in conv.records if r.ChargeCategory == "Usage"]
    assert all((r.ChargePeriodEnd - r.ChargePeriodStart).days == 1 for r in usage)  # hourly → daily
    assert len(conv.records) < conv.rows
    assert len({r.id for r in conv.records}) == len(conv.records)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fast_ids_equal_record_id_and_records_validate(name):
    """The importer computes ids from strings it already has; they must equal focus.record_id, and
    every record must pass the same validation as a record sent to the API."""
    from cloudtally.focus import parse_record, record_id
    from cloudtally.importers.engine import convert_file
    conv = convert_file(BILLING / name)
    assert conv.records
    for r in conv.records:
        assert r.id == record_id(r)
        again = parse_record(r.to_dict())
        assert again.id == r.id and again.BilledCost == r.BilledCost
