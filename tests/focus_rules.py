"""FOCUS 1.2 rules the FinOps Foundation's validator (2.2.1) does not evaluate as the spec states them,
checked here on a FOCUS CSV, row by row, against the spec's text.

The validator skips these as "dynamic", or evaluates a condition other than the spec's (it passes
"PricingQuantity MUST NOT be null when ChargeCategory is Usage or Purchase" on a file whose
PricingQuantity is empty on every row; its CommitmentDiscountStatus and CapacityReservationStatus
nullability rules contradict their own "MUST be null when the id is null"). Each rule below is
quoted from the FOCUS 1.2 specification (Column definitions, "Requirements").
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Iterable

# columns that MUST NOT be null when ChargeCategory is "Usage" or "Purchase" and ChargeClass is not "Correction"
PRICED = ("PricingQuantity", "PricingUnit", "SkuId", "SkuPriceId", "ListUnitPrice", "ContractedUnitPrice",
          "PricingCategory", "PricingCurrencyListUnitPrice", "PricingCurrencyContractedUnitPrice")
# ... and that MUST be null when ChargeCategory is "Tax"
TAX_NULL = ("PricingQuantity", "SkuId", "SkuPriceId", "ListUnitPrice", "ContractedUnitPrice", "PricingCategory",
            "PricingCurrencyListUnitPrice", "PricingCurrencyContractedUnitPrice")
# |unit price × PricingQuantity − cost| allowed: the providers round each line's cost, not its price
TOLERANCE = Decimal("0.000001")


def rows(path: Path) -> list[dict[str, str]]:
    """The CSV's rows, a literal ``NULL`` read as empty (as FOCUS files of some providers write null)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [{k: "" if v == "NULL" else v for k, v in r.items()} for r in csv.DictReader(f)]


def violations(data: Iterable[dict[str, str]]) -> list[tuple[str, int, str]]:
    """(rule, row number from 1, detail) of every row that breaks one of the rules."""
    out: list[tuple[str, int, str]] = []
    for n, r in enumerate(data, 1):
        cat, cls = r["ChargeCategory"], r.get("ChargeClass", "")
        priced = cat in ("Usage", "Purchase") and cls != "Correction"
        if priced:
            for c in PRICED:
                if not r.get(c):
                    # PricingQuantity, SkuId, SkuPriceId, ListUnitPrice, ContractedUnitPrice, PricingCategory and
                    # the PricingCurrency unit prices: "MUST NOT be null when ChargeCategory is "Usage" or
                    # "Purchase" and ChargeClass is not "Correction"" (PricingUnit: "MUST NOT be null when
                    # PricingQuantity is not null")
                    out.append((f"{c} on Usage/Purchase", n, ""))
        if cat == "Tax":
            for c in TAX_NULL:
                if r.get(c):
                    out.append((f"{c} on Tax", n, r[c]))
        if cat == "Usage" and r.get("CommitmentDiscountStatus") != "Unused" and cls != "Correction":
            # ConsumedQuantity: "When ChargeCategory is "Usage" and CommitmentDiscountStatus is not "Unused"
            # ... MUST NOT be null when ChargeClass is not "Correction""; ConsumedUnit: "MUST NOT be null when
            # ConsumedQuantity is not null"
            for c in ("ConsumedQuantity", "ConsumedUnit"):
                if not r.get(c):
                    out.append((f"{c} on Usage", n, ""))
        if cat != "Usage" and r.get("ConsumedQuantity"):
            out.append(("ConsumedQuantity outside Usage", n, r["ConsumedQuantity"]))
        for ids, status in (("CommitmentDiscountId", "CommitmentDiscountStatus"),
                            ("CapacityReservationId", "CapacityReservationStatus")):
            # "<Status> MUST be null when <Id> is null"; "MUST NOT be null when <Id> is not null and
            # ChargeCategory is "Usage""
            if not r.get(ids) and r.get(status):
                out.append((f"{status} without {ids}", n, r[status]))
            if r.get(ids) and cat == "Usage" and not r.get(status):
                out.append((f"{status} missing", n, r[ids]))
        if cat == "Purchase" and r.get("ChargeFrequency") == "Usage-Based":
            out.append(("Usage-Based Purchase", n, ""))   # ChargeFrequency: "MUST NOT be "Usage-Based" when ... "Purchase""
        q = r.get("PricingQuantity")
        for price, cost in (("ListUnitPrice", "ListCost"), ("ContractedUnitPrice", "ContractedCost")):
            p = r.get(price)
            if p and Decimal(p) < 0:
                out.append((f"negative {price}", n, p))     # "MUST be a non-negative decimal value"
            # "The product of <price> and PricingQuantity MUST match the <cost> when PricingQuantity is not
            # null and ChargeClass is not "Correction""
            if p and q and cls != "Correction" and abs(Decimal(p) * Decimal(q) - Decimal(r[cost])) > TOLERANCE:
                out.append((f"{price} × PricingQuantity ≠ {cost}", n, f"{p} × {q} vs {r[cost]}"))
    return out


def record_rows(records) -> list[dict[str, str]]:
    """CostRecords as the rows of their FOCUS export (the same cells the CSV carries)."""
    from cloudtally.importers.export import COLUMNS, row
    return [dict(zip(COLUMNS, row(r))) for r in records]
