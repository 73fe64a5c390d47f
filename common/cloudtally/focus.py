"""FOCUS 1.2 cost records and telemetry metric points.

A :class:`CostRecord` carries the FOCUS 1.2 columns (names as in the spec) plus CloudTally's ``x_``
extensions. :func:`parse_record` validates a JSON-like mapping and reports *every* field error at
once; :func:`record_id` derives the deterministic identity that makes writes idempotent.

>>> r = parse_record({"ProviderName": "AWS", "BillingAccountId": "123", "ServiceName": "Amazon EC2",
...     "ChargePeriodStart": "2024-09-01T00:00:00Z", "ChargePeriodEnd": "2024-09-02T00:00:00Z",
...     "BilledCost": "1.5", "BillingCurrency": "USD"})
>>> r.EffectiveCost, r.x_CostSource, len(r.id)
(Decimal('1.5'), 'estimated', 32)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from functools import lru_cache
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

from . import periods
from .errors import ValidationError
from .money import MoneyError, fmt, parse_amount, parse_currency

UTC = timezone.utc
FOCUS_VERSION = "1.2"

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
CHARGE_FREQUENCIES = ("One-Time", "Recurring", "Usage-Based")
CHARGE_CLASSES = ("Correction",)
COST_SOURCES = ("estimated", "billed", "provisional")
SERVICE_CATEGORIES = (
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
    "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance",
    "Media", "Migration", "Mobile", "Networking", "Security", "Storage", "Web", "Other",
)

# FOCUS 1.2 ServiceSubcategory values, each under its one parent ServiceCategory (FOCUS 1.2, ServiceSubcategory)
SERVICE_SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    "AI and Machine Learning": ("AI Platforms", "Bots", "Generative AI", "Machine Learning",
                                "Natural Language Processing"),
    "Analytics": ("Analytics Platforms", "Business Intelligence", "Data Processing", "Search", "Streaming Analytics"),
    "Business Applications": ("Productivity and Collaboration",),
    "Compute": ("Containers", "End User Computing", "Quantum Compute", "Serverless Compute", "Virtual Machines"),
    "Databases": ("Caching", "Data Warehouses", "Ledger Databases", "NoSQL Databases", "Relational Databases",
                  "Time Series Databases"),
    "Developer Tools": ("Developer Platforms", "Continuous Integration and Deployment", "Development Environments",
                        "Source Code Management", "Quality Assurance"),
    "Identity": ("Identity and Access Management",),
    "Integration": ("API Management", "Messaging", "Workflow Orchestration"),
    "Internet of Things": ("IoT Analytics", "IoT Platforms"),
    "Management and Governance": ("Architecture", "Compliance", "Cost Management", "Data Governance",
                                  "Disaster Recovery", "Endpoint Management", "Observability", "Support"),
    "Media": ("Content Creation", "Gaming", "Media Streaming", "Mixed Reality"),
    "Migration": ("Data Migration", "Resource Migration"),
    "Mobile": (),
    "Multicloud": ("Multicloud Integration",),
    "Networking": ("Application Networking", "Content Delivery", "Network Connectivity", "Network Infrastructure",
                   "Network Routing", "Network Security"),
    "Security": ("Secret Management", "Security Posture Management", "Threat Detection and Response"),
    "Storage": ("Backup Storage", "Block Storage", "File Storage", "Object Storage", "Storage Platforms"),
    "Web": ("Application Platforms",),
    "Other": (),
}
SUBCATEGORY_PARENT = {sub: cat for cat, subs in SERVICE_SUBCATEGORIES.items() for sub in subs + (f"Other ({cat})",)}
PRICING_CATEGORIES = ("Standard", "Dynamic", "Committed", "Other")

# Columns by kind. Order is the FOCUS export order.
AMOUNT_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
PRICE_COLUMNS = ("ListUnitPrice", "ContractedUnitPrice", "PricingCurrencyListUnitPrice",
                 "PricingCurrencyContractedUnitPrice")
QUANTITY_COLUMNS = ("PricingQuantity", "ConsumedQuantity", "CommitmentDiscountQuantity")
PRICING_CURRENCY_AMOUNTS = ("PricingCurrencyEffectiveCost",)   # a cost in PricingCurrency (not in the totals)
DECIMAL_COLUMNS = AMOUNT_COLUMNS + PRICE_COLUMNS + QUANTITY_COLUMNS + PRICING_CURRENCY_AMOUNTS
TIME_COLUMNS = ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd")
STRING_COLUMNS = (
    "ProviderName", "PublisherName", "InvoiceIssuerName", "InvoiceId",
    "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "SubAccountId", "SubAccountName", "SubAccountType",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ServiceName", "ServiceCategory", "ServiceSubcategory",
    "ResourceId", "ResourceName", "ResourceType", "RegionId", "RegionName", "AvailabilityZone",
    "SkuId", "SkuPriceId", "SkuMeter", "SkuPriceDetails", "PricingUnit", "PricingCategory", "ConsumedUnit",
    "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountType",
    "CommitmentDiscountCategory", "CommitmentDiscountStatus", "CommitmentDiscountUnit",
    "CapacityReservationId", "CapacityReservationStatus",
    "x_CostSource", "x_Collector", "x_CatalogVersion", "x_LineKey",
)
CURRENCY_COLUMNS = ("BillingCurrency", "PricingCurrency")
ALL_COLUMNS = TIME_COLUMNS + CURRENCY_COLUMNS + DECIMAL_COLUMNS + STRING_COLUMNS + ("Tags",)
# FOCUS 1.2 mandatory columns (those an export must carry; some may be null).
MANDATORY_COLUMNS = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory",
    "ServiceName",
)
REQUIRED_INPUT = ("ProviderName", "BillingAccountId", "ChargePeriodStart", "ChargePeriodEnd",
                  "BilledCost", "BillingCurrency")

MAX_STRING = 1024
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
_KNOWN = frozenset(ALL_COLUMNS) | {"id", "x_RecordId"}

_CANON = {v.lower().replace("-", "").replace(" ", ""): v
          for v in CHARGE_CATEGORIES + CHARGE_FREQUENCIES + CHARGE_CLASSES}
_SVC_CANON = {v.lower(): v for v in SERVICE_CATEGORIES}


@dataclass(slots=True)
class CostRecord:
    ProviderName: str
    BillingAccountId: str
    ChargePeriodStart: datetime
    ChargePeriodEnd: datetime
    BilledCost: Decimal
    BillingCurrency: str
    EffectiveCost: Decimal
    ListCost: Decimal
    ContractedCost: Decimal
    ChargeCategory: str = "Usage"
    ServiceName: str = "Unknown"
    ServiceCategory: str = "Other"
    BillingPeriodStart: datetime | None = None
    BillingPeriodEnd: datetime | None = None
    PublisherName: str | None = None
    InvoiceIssuerName: str | None = None
    InvoiceId: str | None = None
    BillingAccountName: str | None = None
    BillingAccountType: str | None = None
    SubAccountId: str | None = None
    SubAccountName: str | None = None
    SubAccountType: str | None = None
    ChargeClass: str | None = None
    ChargeDescription: str | None = None
    ChargeFrequency: str | None = None
    ServiceSubcategory: str | None = None
    ResourceId: str | None = None
    ResourceName: str | None = None
    ResourceType: str | None = None
    RegionId: str | None = None
    RegionName: str | None = None
    AvailabilityZone: str | None = None
    SkuId: str | None = None
    SkuPriceId: str | None = None
    SkuMeter: str | None = None
    PricingUnit: str | None = None
    PricingCategory: str | None = None
    PricingCurrency: str | None = None
    PricingQuantity: Decimal | None = None
    ConsumedQuantity: Decimal | None = None
    ConsumedUnit: str | None = None
    ListUnitPrice: Decimal | None = None
    ContractedUnitPrice: Decimal | None = None
    SkuPriceDetails: str | None = None              # a JSON object (FOCUS KeyValueFormat)
    PricingCurrencyEffectiveCost: Decimal | None = None
    PricingCurrencyListUnitPrice: Decimal | None = None
    PricingCurrencyContractedUnitPrice: Decimal | None = None
    CommitmentDiscountId: str | None = None
    CommitmentDiscountName: str | None = None
    CommitmentDiscountType: str | None = None
    CommitmentDiscountCategory: str | None = None
    CommitmentDiscountStatus: str | None = None
    CommitmentDiscountQuantity: Decimal | None = None
    CommitmentDiscountUnit: str | None = None
    CapacityReservationId: str | None = None
    CapacityReservationStatus: str | None = None
    Tags: dict[str, str] = field(default_factory=dict)
    x_CostSource: str = "estimated"
    x_Collector: str | None = None
    x_CatalogVersion: str | None = None
    x_LineKey: str | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = record_id(self)

    @property
    def day(self) -> str:
        """The UTC charge day the record is stored and rolled up under (``YYYY-MM-DD``)."""
        return self.ChargePeriodStart.date().isoformat()

    def to_dict(self, *, drop_empty: bool = True) -> dict[str, Any]:
        """JSON-ready mapping: amounts as strings, datetimes as ISO 8601 ``Z``."""
        out: dict[str, Any] = {"id": self.id}
        for name in _FIELD_NAMES:
            v = getattr(self, name)
            if v is None or (drop_empty and name == "Tags" and not v):
                continue
            if isinstance(v, Decimal):
                v = fmt(v)
            elif isinstance(v, datetime):
                v = iso(v)
            out[name] = v
        return out


_FIELD_NAMES = tuple(f.name for f in fields(CostRecord) if f.name != "id")


def iso(dt: datetime) -> str:
    """ISO 8601 in UTC with ``Z`` (``datetime.isoformat`` is ~8x faster than ``strftime``)."""
    s = dt.isoformat()
    return s[:-6] + "Z" if s.endswith("+00:00") else s


def parse_time(value: Any) -> datetime:
    """ISO 8601 (``Z``, offset, or no zone = UTC), date only, or epoch seconds → aware UTC datetime."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        if not 0 <= value < 32503680000:
            raise ValueError("epoch seconds out of range")
        return datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        s = value.strip()
        if len(s) > 40 or not s:
            raise ValueError("expected an ISO 8601 timestamp")
        if s[-1] in "zZ":
            s = s[:-1] + "+00:00"
        dt = datetime.fromisoformat(s)
    else:
        raise ValueError("expected an ISO 8601 timestamp")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def month_bounds(dt: datetime) -> tuple[datetime, datetime]:
    """The calendar month [start, end) containing ``dt``."""
    return _month_bounds(dt.year, dt.month)


@lru_cache(maxsize=256)
def _month_bounds(year: int, month: int) -> tuple[datetime, datetime]:   # cached: on the record hot path
    return periods.month_period(date(year, month, 1))


def _canon(value: str, table: Mapping[str, str]) -> str | None:
    return table.get(value.lower().replace("-", "").replace(" ", "").replace("_", ""))


def record_id(r: CostRecord) -> str:
    """Deterministic id from the record's identity (not its amounts).

    Re-sending a record with corrected amounts replaces it; two different charges never share an id
    as long as they differ in provider, account, sub-account, resource, SKU, service, region, charge
    period, category/class, pricing unit, cost source, collector or ``x_LineKey``.
    """
    key = "\x1f".join((
        r.ProviderName, r.BillingAccountId, r.SubAccountId or "", r.ResourceId or "", r.SkuId or "",
        r.SkuPriceId or "", r.ServiceName, r.RegionId or "", iso(r.ChargePeriodStart),
        iso(r.ChargePeriodEnd), r.ChargeCategory, r.ChargeClass or "", r.PricingUnit or "",
        r.x_CostSource, r.x_Collector or "", r.x_LineKey or "", r.CommitmentDiscountId or "",
    ))
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def parse_record(obj: Any, taxonomy: Any = None) -> CostRecord:
    """Validate one JSON-like record; raise :class:`ValidationError` listing every field error.

    The valid record is completed as FOCUS 1.2 requires (:func:`complete`, with the provider's
    ``taxonomy`` when the caller knows it).
    """
    if not isinstance(obj, dict) and not isinstance(obj, Mapping):  # dict first: the ABC check is slow
        raise ValidationError("record must be a JSON object", details=[{"field": "", "message": "not an object"}])
    errors: list[dict[str, str]] = []
    vals: dict[str, Any] = {}

    def err(name: str, msg: str) -> None:
        errors.append({"field": name, "message": msg})

    for name in REQUIRED_INPUT:
        v = obj.get(name)
        if v is None or v == "":
            err(name, "required")
    for name, v in obj.items():
        if name not in _KNOWN:
            if not (isinstance(name, str) and name.startswith("x_") and len(name) <= 64):
                err(str(name)[:64], "unknown column (custom columns must start with x_)")
            continue
        if v is None or name in ("id", "x_RecordId"):
            continue
        if name in _DECIMAL_SET:
            try:
                vals[name] = parse_amount(v)
            except MoneyError as e:
                err(name, str(e))
        elif name in _TIME_SET:
            try:
                vals[name] = parse_time(v)
            except (ValueError, TypeError, OverflowError):
                err(name, "expected an ISO 8601 timestamp")
        elif name in _CURRENCY_SET:
            try:
                vals[name] = parse_currency(v)
            except MoneyError as e:
                err(name, str(e))
        elif name == "Tags":
            tags = _parse_tags(v, err)
            if tags is not None:
                vals["Tags"] = tags
        elif name == "SkuPriceDetails":
            spd = key_value_text(v)
            if spd is None:
                err(name, "expected a JSON object (FOCUS KeyValueFormat)")
            elif len(spd) > MAX_STRING:
                err(name, f"longer than {MAX_STRING} characters")
            else:
                vals[name] = spd
        else:
            if not isinstance(v, str):
                err(name, "expected a string")
            elif len(v) > MAX_STRING:
                err(name, f"longer than {MAX_STRING} characters")
            elif v != "":
                vals[name] = v
    # canonical enumerations (real exports vary in case: 'Usage-based' vs 'Usage-Based')
    for name, table in (("ChargeCategory", _CANON), ("ChargeFrequency", _CANON), ("ChargeClass", _CANON)):
        v = vals.get(name)
        if v is not None:
            if v.upper() == "NULL" and name == "ChargeClass":
                vals.pop(name)
                continue
            c = _canon(v, table)
            allowed = {"ChargeCategory": CHARGE_CATEGORIES, "ChargeFrequency": CHARGE_FREQUENCIES,
                       "ChargeClass": CHARGE_CLASSES}[name]
            if c not in allowed:
                err(name, f"must be one of {', '.join(allowed)}")
            else:
                vals[name] = c
    sc = vals.get("ServiceCategory")
    if sc is not None:
        c = _SVC_CANON.get(sc.lower())
        if c is None:
            err("ServiceCategory", "not a FOCUS service category")
        else:
            vals["ServiceCategory"] = c
    ssc = vals.get("ServiceSubcategory")
    if ssc is not None:
        parent = SUBCATEGORY_PARENT.get(ssc)
        if parent is None:
            err("ServiceSubcategory", "not a FOCUS 1.2 service subcategory")
        elif vals.get("ServiceCategory", parent) != parent:
            err("ServiceSubcategory", f"belongs to ServiceCategory {parent!r}")
    pc = vals.get("PricingCategory")
    if pc is not None and pc not in PRICING_CATEGORIES:
        err("PricingCategory", f"must be one of {', '.join(PRICING_CATEGORIES)}")
    src = vals.get("x_CostSource")
    if src is not None and src not in COST_SOURCES:
        err("x_CostSource", "must be 'estimated', 'billed' or 'provisional'")
    start, end = vals.get("ChargePeriodStart"), vals.get("ChargePeriodEnd")
    if start and end and end <= start:
        err("ChargePeriodEnd", "must be after ChargePeriodStart")
    bps, bpe = vals.get("BillingPeriodStart"), vals.get("BillingPeriodEnd")
    if bps and bpe and bpe <= bps:
        err("BillingPeriodEnd", "must be after BillingPeriodStart")
    if errors:
        raise ValidationError("invalid cost record", details=errors)
    billed = vals["BilledCost"]
    vals.setdefault("EffectiveCost", billed)
    vals.setdefault("ListCost", billed)
    vals.setdefault("ContractedCost", vals["EffectiveCost"])
    if bps is None or bpe is None:
        ms, me = month_bounds(start)
        vals.setdefault("BillingPeriodStart", ms)
        vals.setdefault("BillingPeriodEnd", me)
    prov = vals["ProviderName"]
    vals.setdefault("PublisherName", prov)
    vals.setdefault("InvoiceIssuerName", prov)
    complete(vals, taxonomy)
    # A client-supplied "id" is ignored: identity is always derived, so a re-send cannot fork a record.
    return CostRecord(**vals)


def key_value_text(v: Any) -> str | None:
    """A FOCUS KeyValueFormat value (a JSON object) as compact JSON text; None if ``v`` is not one."""
    import json
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            return None
    if not isinstance(v, Mapping):
        return None
    return json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                      default=lambda o: format(o, "f") if isinstance(o, Decimal) else str(o))


# ---------------------------------------------------------------- FOCUS 1.2 completion
_UNPRICED = ("SkuId", "SkuPriceId", "SkuMeter", "SkuPriceDetails", "PricingCategory", "PricingQuantity", "PricingUnit",
             "ListUnitPrice", "ContractedUnitPrice", "PricingCurrencyListUnitPrice",
             "PricingCurrencyContractedUnitPrice")
_PRICES = ("ListUnitPrice", "ContractedUnitPrice")
# (column, the column it MUST be null without)
_NULL_WITHOUT = (("ConsumedQuantity", "ConsumedUnit"), ("PricingQuantity", "PricingUnit"), ("RegionId", "RegionName"),
                 ("ResourceId", "ResourceType"), ("SkuId", "SkuMeter"), ("SkuPriceId", "SkuPriceDetails"))
_PC_TWINS = (("PricingCurrencyEffectiveCost", "EffectiveCost"), ("PricingCurrencyListUnitPrice", "ListUnitPrice"),
             ("PricingCurrencyContractedUnitPrice", "ContractedUnitPrice"))


def complete(v: dict[str, Any], taxonomy: Any = None) -> dict[str, Any]:
    """Fill what FOCUS 1.2 requires of a record from what it already says, in place; returns ``v``.

    Every source (collectors, importers, agents, the demo) calls this one function, so a rule is
    written once. Nothing is invented: a value is copied from the column FOCUS defines it by, or
    dropped where FOCUS requires it to be null. ``taxonomy`` is the provider's knowledge
    (``cloudtally.providers.<provider>.taxonomy``: service categories, FOCUS units, region names,
    account types); without it only the provider-neutral rules apply.

    Provider-neutral rules:

    * PricingCurrency: the BillingCurrency when the source names none (prices in the currency billed);
      the PricingCurrency* columns equal their billing-currency columns when the two currencies agree;
    * BillingAccountName / SubAccountName: the account's id when the source gives no display name
      (the provider then shows the id);
    * ServiceSubcategory: ``Other (<ServiceCategory>)`` when nothing finer is known;
    * null where FOCUS requires null: RegionName without RegionId, ResourceType without ResourceId,
      SkuMeter without SkuId, SkuPriceDetails without SkuPriceId, units without their quantities,
      consumed quantities outside Usage, SKU and pricing columns on Tax rows, negative unit prices
      and quantities without a unit outside Usage and Purchase rows (a unit price is never negative).

    >>> v = complete({"BillingAccountId": "1", "BillingCurrency": "USD", "ChargeCategory": "Usage",
    ...               "ServiceCategory": "Compute", "EffectiveCost": Decimal(2), "RegionName": "Iowa"})
    >>> v["PricingCurrency"], v["PricingCurrencyEffectiveCost"], v["BillingAccountName"], v["ServiceSubcategory"]
    ('USD', Decimal('2'), '1', 'Other (Compute)')
    >>> "RegionName" in v
    False
    """
    if taxonomy is not None:
        taxonomy.complete(v)
    g = v.get
    cat = g("ChargeCategory") or "Usage"
    if cat != "Usage":
        if cat == "Tax":
            for k in _UNPRICED:
                v.pop(k, None)
        elif cat != "Purchase":
            for k in _PRICES:
                p = g(k)
                if p is not None and p < 0:
                    del v[k]
            if g("PricingQuantity") is not None and not g("PricingUnit"):
                del v["PricingQuantity"]     # a quantity of no unit: FOCUS lets credits and adjustments have none
        v.pop("ConsumedQuantity", None)
    for key, dependent in _NULL_WITHOUT:
        if g(dependent) is not None and g(key) is None:
            del v[dependent]
    if g("BillingAccountName") is None:
        v["BillingAccountName"] = v["BillingAccountId"]
    sub = g("SubAccountId")
    if sub is not None and g("SubAccountName") is None:
        v["SubAccountName"] = sub
    if g("ServiceSubcategory") is None:
        v["ServiceSubcategory"] = f"Other ({g('ServiceCategory') or 'Other'})"
    cur = v["BillingCurrency"]
    pcur = g("PricingCurrency")
    if pcur is None:
        v["PricingCurrency"] = pcur = cur
    if pcur == cur:
        for pc, twin in _PC_TWINS:
            if g(pc) is None:
                x = g(twin)
                if x is not None:
                    v[pc] = x
    return v


def _parse_tags(v: Any, err) -> dict[str, str] | None:
    if not isinstance(v, dict) and not isinstance(v, Mapping):
        err("Tags", "expected an object of string keys and values")
        return None
    if len(v) > MAX_TAGS:
        err("Tags", f"more than {MAX_TAGS} tags")
        return None
    out: dict[str, str] = {}
    for k, val in v.items():
        if not isinstance(k, str) or not k or len(k) > MAX_TAG_KEY:
            err("Tags", f"tag keys must be 1-{MAX_TAG_KEY} characters")
            return None
        if isinstance(val, (int, Decimal)) and not isinstance(val, bool):
            val = str(val)
        if not isinstance(val, str) or len(val) > MAX_TAG_VALUE:
            err(f"Tags.{k[:40]}", f"tag values must be strings of at most {MAX_TAG_VALUE} characters")
            return None
        out[k] = val
    return out


_DECIMAL_SET = frozenset(DECIMAL_COLUMNS)
_TIME_SET = frozenset(TIME_COLUMNS)
_CURRENCY_SET = frozenset(CURRENCY_COLUMNS)


# ---------------------------------------------------------------- metric points

@dataclass(slots=True)
class MetricPoint:
    """One telemetry sample (host/cluster/service/LLM): a named value at a time with dimensions."""

    name: str
    value: Decimal
    timestamp: datetime
    unit: str = ""
    dimensions: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def series(self) -> str:
        dims = ",".join(f"{k}={v}" for k, v in sorted(self.dimensions.items()))
        return f"{self.name}|{dims}"

    @property
    def id(self) -> str:
        return hashlib.blake2b(f"{self.series}|{iso(self.timestamp)}".encode(), digest_size=16).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": fmt(self.value), "timestamp": iso(self.timestamp),
                "unit": self.unit, "dimensions": self.dimensions, "source": self.source}


def parse_metric(obj: Any) -> MetricPoint:
    if not isinstance(obj, Mapping):
        raise ValidationError("metric point must be a JSON object")
    errors = []
    name = obj.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        errors.append({"field": "name", "message": "required string of 1-200 characters"})
    try:
        value = parse_amount(obj.get("value"))
    except MoneyError as e:
        errors.append({"field": "value", "message": str(e)})
    try:
        ts = parse_time(obj.get("timestamp"))
    except (ValueError, TypeError, OverflowError):
        errors.append({"field": "timestamp", "message": "expected an ISO 8601 timestamp or epoch seconds"})
    dims = obj.get("dimensions") or {}
    if not isinstance(dims, Mapping) or len(dims) > 30 or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 128 and len(v) <= 256 for k, v in dims.items()):
        errors.append({"field": "dimensions", "message": "expected at most 30 string key/value pairs"})
    unit = obj.get("unit") or ""
    if not isinstance(unit, str) or len(unit) > 64:
        errors.append({"field": "unit", "message": "expected a string"})
    if errors:
        raise ValidationError("invalid metric point", details=errors)
    return MetricPoint(name=name, value=value, timestamp=ts, unit=unit, dimensions=dict(dims),
                       source=str(obj.get("source") or "")[:128])


def hour_floor(dt: datetime) -> datetime:
    return dt.replace(minute=0, second=0, microsecond=0)


def day_floor(dt: datetime) -> datetime:
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


ONE_HOUR = timedelta(hours=1)
