"""Record <-> DynamoDB item, on the hot path (no PynamoDB model instances: ~10x faster).

Attribute names on disk are short (write cost counts names); FOCUS names stay in the code.
Values equal to their derivable default are left out (EffectiveCost == BilledCost, the billing
period = the charge month, PublisherName == ProviderName, ...), and restored on read.

Amounts and quantities are exact: a DynamoDB number holds at most 38 significant digits, so a value
with more (a sum of Azure's 28-decimal costs with a large integer part) is stored as its decimal
text (``{"S": ...}``) instead, and read back as the same ``Decimal`` (:func:`parse_number`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ..focus import CostRecord, DECIMAL_COLUMNS, STRING_COLUMNS, TIME_COLUMNS, UTC, iso, month_bounds
from ..money import fmt

SHORT: dict[str, str] = {
    "ProviderName": "p", "PublisherName": "pub", "InvoiceIssuerName": "ii", "InvoiceId": "inv",
    "BillingAccountId": "a", "BillingAccountName": "an", "BillingAccountType": "at",
    "SubAccountId": "sa", "SubAccountName": "san", "SubAccountType": "sat",
    "ChargeCategory": "cat", "ChargeClass": "ccl", "ChargeDescription": "cd", "ChargeFrequency": "cf",
    "ServiceName": "s", "ServiceCategory": "sc", "ServiceSubcategory": "ssc",
    "ResourceId": "r", "ResourceName": "rn", "ResourceType": "rt", "RegionId": "rg", "RegionName": "rgn",
    "AvailabilityZone": "az", "SkuId": "sku", "SkuPriceId": "spi", "SkuMeter": "sm", "PricingUnit": "pu",
    "PricingCategory": "pc", "ConsumedUnit": "cu", "CommitmentDiscountId": "cdi", "CommitmentDiscountName": "cdn",
    "CommitmentDiscountType": "cdt", "CommitmentDiscountCategory": "cdc", "CommitmentDiscountStatus": "cds",
    "CommitmentDiscountUnit": "cdu", "CapacityReservationId": "cri", "CapacityReservationStatus": "crs",
    "x_CostSource": "src", "x_Collector": "col", "x_CatalogVersion": "cv", "x_LineKey": "lk",
    "BilledCost": "bc", "EffectiveCost": "ec", "ListCost": "lc", "ContractedCost": "cc",
    "ListUnitPrice": "lup", "ContractedUnitPrice": "cup", "PricingQuantity": "pq", "ConsumedQuantity": "cq",
    "CommitmentDiscountQuantity": "cdq", "SkuPriceDetails": "spd", "PricingCurrencyEffectiveCost": "pcec",
    "PricingCurrencyListUnitPrice": "pclu", "PricingCurrencyContractedUnitPrice": "pccu",
    "ChargePeriodStart": "cs", "ChargePeriodEnd": "ce", "BillingPeriodStart": "bs", "BillingPeriodEnd": "be",
    "BillingCurrency": "cur", "PricingCurrency": "pcur", "Tags": "tg",
}
LONG = {v: k for k, v in SHORT.items()}
assert len(LONG) == len(SHORT), "short attribute names must be unique"

_TIME = frozenset(TIME_COLUMNS)
_DECIMAL = frozenset(DECIMAL_COLUMNS)
_STR = tuple((n, SHORT[n]) for n in STRING_COLUMNS if n not in ("PublisherName", "InvoiceIssuerName", "x_CostSource"))
# PricingCurrency and its amounts are left out when they are their billing-currency twins (restored on read)
_PC = ("PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "PricingCurrencyContractedUnitPrice")
_PC_TWIN = {"PricingCurrencyEffectiveCost": "EffectiveCost", "PricingCurrencyListUnitPrice": "ListUnitPrice",
            "PricingCurrencyContractedUnitPrice": "ContractedUnitPrice"}
_DEC = tuple((n, SHORT[n]) for n in DECIMAL_COLUMNS
             if n not in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost") + _PC)


DDB_DIGITS = 38   # significant digits a DynamoDB number keeps


def number(v: Decimal) -> dict[str, str]:
    """The attribute value of an exact decimal: a number, or its text beyond DynamoDB's 38 digits.

    >>> number(Decimal("1.50")), number(Decimal("12345678901.0000000072922557592391990001"))
    ({'N': '1.50'}, {'S': '12345678901.0000000072922557592391990001'})
    """
    digits = v.as_tuple().digits
    if len(digits) > DDB_DIGITS:
        n = len(digits)
        while n and digits[n - 1] == 0:   # trailing zeros are not significant (DynamoDB drops them)
            n -= 1
        if n > DDB_DIGITS:
            return {"S": fmt(v)}
    return {"N": fmt(v)}


def parse_number(av: dict[str, str]) -> Decimal:
    """The exact ``Decimal`` of an attribute written by :func:`number`."""
    n = av.get("N")
    return Decimal(n if n is not None else av["S"])


def record_pk(day: str) -> str:
    return "R#" + day


def to_item(r: CostRecord) -> dict[str, dict[str, Any]]:
    """Encode a record as a low-level DynamoDB item (attribute-value format)."""
    bc, ec = r.BilledCost, r.EffectiveCost
    item: dict[str, dict[str, Any]] = {
        "pk": {"S": "R#" + r.ChargePeriodStart.date().isoformat()},
        "sk": {"S": r.id},
        "cs": {"S": iso(r.ChargePeriodStart)},
        "ce": {"S": iso(r.ChargePeriodEnd)},
        "cur": {"S": r.BillingCurrency},
        "bc": number(bc),
    }
    if r.x_CostSource != "estimated":
        item["src"] = {"S": r.x_CostSource}
    if ec != bc:
        item["ec"] = number(ec)
    if r.ListCost != bc:
        item["lc"] = number(r.ListCost)
    if r.ContractedCost != ec:
        item["cc"] = number(r.ContractedCost)
    for name, short in _STR:
        v = getattr(r, name)
        if v is not None:
            item[short] = {"S": v}
    for name, short in _DEC:
        v = getattr(r, name)
        if v is not None:
            item[short] = number(v)
    p = r.ProviderName
    if r.PublisherName != p:
        item["pub"] = {"S": r.PublisherName}
    if r.InvoiceIssuerName != p:
        item["ii"] = {"S": r.InvoiceIssuerName}
    ms, me = month_bounds(r.ChargePeriodStart)
    if r.BillingPeriodStart != ms or r.BillingPeriodEnd != me:
        item["bs"] = {"S": iso(r.BillingPeriodStart)}
        item["be"] = {"S": iso(r.BillingPeriodEnd)}
    pcur = r.PricingCurrency
    if pcur is not None and pcur != r.BillingCurrency:
        item["pcur"] = {"S": pcur}
        for name in _PC:
            v = getattr(r, name)
            if v is not None:
                item[SHORT[name]] = number(v)
    else:
        for name in _PC:
            v = getattr(r, name)
            if v is not None and v != getattr(r, _PC_TWIN[name]):
                item[SHORT[name]] = number(v)
    if r.Tags:
        item["tg"] = {"M": {k: {"S": v} for k, v in r.Tags.items()}}
    return item


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def from_item(item: dict[str, dict[str, Any]]) -> CostRecord:
    """Decode a low-level item back into the exact record that was written."""
    vals: dict[str, Any] = {}
    for short, av in item.items():
        name = LONG.get(short)
        if name is None:
            continue
        if "S" in av:
            v = av["S"]
            vals[name] = _t(v) if name in _TIME else Decimal(v) if name in _DECIMAL else v
        elif "N" in av:
            vals[name] = Decimal(av["N"])
        elif "M" in av:
            vals[name] = {k: x["S"] for k, x in av["M"].items()}
    bc = vals["BilledCost"]
    vals.setdefault("EffectiveCost", bc)
    vals.setdefault("ListCost", bc)
    vals.setdefault("ContractedCost", vals["EffectiveCost"])
    vals.setdefault("x_CostSource", "estimated")
    vals.setdefault("PublisherName", vals["ProviderName"])
    vals.setdefault("InvoiceIssuerName", vals["ProviderName"])
    if "BillingPeriodStart" not in vals:
        vals["BillingPeriodStart"], vals["BillingPeriodEnd"] = month_bounds(vals["ChargePeriodStart"])
    if "PricingCurrency" not in vals:
        vals["PricingCurrency"] = vals["BillingCurrency"]
        for name, twin in _PC_TWIN.items():
            if name not in vals and twin in vals:
                vals[name] = vals[twin]
    return CostRecord(**vals, id=item["sk"]["S"])
