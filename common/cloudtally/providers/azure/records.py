"""FOCUS records of the Azure collector: estimates (catalog price × usage, exact) and billed rows.

Quantities are in the catalog price's unit: ``Hours`` (instance hours), ``Units/Day`` (SQL DTU days),
``Units/Month`` (a managed disk's month), ``GB/Month`` (GB-months), ``Units`` and ``GB Seconds`` as
measured. Usage is rounded to 1e-6 before pricing; the cost is then exactly price × quantity.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterator

from ... import periods
from ...focus import UTC, CostRecord
from ...money import CONTEXT
from . import taxonomy

PROVIDER = taxonomy.PROVIDER
COLLECTOR = "azure"
QTY = Decimal("0.000001")
GIB = Decimal(1024 ** 3)


def q(v: Decimal) -> Decimal:
    return v.quantize(QTY, rounding=ROUND_HALF_EVEN, context=CONTEXT)


def hours_between(a: datetime, b: datetime) -> Decimal:
    return Decimal(max(int((b - a).total_seconds()), 0)) / Decimal(3600)


def running_hours(since: datetime | None, window: Any) -> Iterator[tuple[date, Decimal]]:
    """(day, hours) a resource that exists since ``since`` (None: before the window) spent in each day."""
    for day, a, b in window.day_slices():
        start = max(a, since) if since is not None else a
        if b > start:
            yield day, hours_between(start, b)


def quantity(unit: str, hours: Decimal, day: date, amount: Decimal = Decimal(1)) -> Decimal:
    """``amount`` (instances, GB) held for ``hours`` of ``day``, in the price's ``unit``."""
    if unit == "Hours":
        return q(CONTEXT.multiply(amount, hours))
    if unit == "Units/Day":
        return q(CONTEXT.divide(CONTEXT.multiply(amount, hours), Decimal(24)))
    if unit in ("Units/Month", "GB/Month"):
        return q(CONTEXT.divide(CONTEXT.multiply(amount, hours), Decimal(periods.month_hours(day))))
    raise ValueError(f"no time-based quantity for unit {unit!r}")


def lower_id(resource_id: str) -> str:
    """ARM ids are case-insensitive; Cost Management reports them in lower case, so every record does."""
    return (resource_id or "").lower()


def tags(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k)[:128]: str(v)[:256] for k, v in list(value.items())[:50]}


def parse_arm_time(value: Any) -> datetime | None:
    if not value:
        return None
    s = str(value).replace("Z", "+00:00")
    if "." in s:       # ARM gives 7 fractional digits; datetime takes 6
        head, _, rest = s.partition(".")
        frac = "".join(ch for ch in rest if ch.isdigit())[:6]
        tz = rest[len("".join(ch for ch in rest if ch.isdigit())):]
        s = f"{head}.{frac}{tz}"
    dt = datetime.fromisoformat(s)
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def service_of(resource_id: str, consumed: str | None = None) -> tuple[str, str, str]:
    t = taxonomy.arm_type(resource_id) or ""
    hit = (taxonomy.service(consumed, t) if consumed else None) or taxonomy.service(t.split("/", 1)[0], t)
    return hit or ("Unknown", "Other", "Other (Other)")


def _place(location: str | None) -> tuple[str | None, str | None]:
    hit = taxonomy.region(location)
    return hit if hit else ((location or None), None)


def account(ctx: Any, sub: str) -> str:
    return ctx.config.billing_account_id or sub


def estimate(ctx: Any, *, sub: str, resource_id: str, location: str | None, day: date, price: Any,
             quantity_: Decimal, tags_: dict[str, str] | None = None, line: str | None = None,
             description: str = "", pricing_category: str = "Standard", consumed: str | None = None,
             resource_type: str | None = None) -> CostRecord:
    """An estimate: catalog price × usage, exact."""
    rid = lower_id(resource_id)
    name, category, subcategory = service_of(rid, consumed)
    region_id, region_name = _place(location)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    bp = periods.month_period(day)
    cost = price.cost(quantity_)
    return CostRecord(
        ProviderName=PROVIDER, PublisherName=PROVIDER, InvoiceIssuerName=PROVIDER,
        BillingAccountId=account(ctx, sub), BillingAccountType=taxonomy.DEFAULT_BILLING_ACCOUNT_TYPE,
        SubAccountId=sub, SubAccountType=taxonomy.SUB_ACCOUNT_TYPE,
        ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(days=1), BillingPeriodStart=bp[0],
        BillingPeriodEnd=bp[1], BilledCost=cost, EffectiveCost=cost, ListCost=cost, ContractedCost=cost,
        BillingCurrency=price.currency, PricingCurrency=price.currency, ServiceName=name, ServiceCategory=category,
        ServiceSubcategory=subcategory, ChargeCategory="Usage", ChargeFrequency="Usage-Based",
        ChargeDescription=description or None, ResourceId=rid, ResourceName=resource_id.rsplit("/", 1)[-1],
        ResourceType=resource_type or taxonomy.resource_type(rid), RegionId=region_id, RegionName=region_name,
        SkuPriceId=price.sku, PricingUnit=price.unit, PricingQuantity=quantity_, ConsumedQuantity=quantity_,
        ConsumedUnit=price.unit, ListUnitPrice=price.amount, ContractedUnitPrice=price.amount,
        PricingCategory=pricing_category, Tags=tags_ or {}, x_CostSource="estimated", x_Collector=COLLECTOR,
        x_CatalogVersion=price.version, x_LineKey=line)


def price(ctx: Any, service: str, region: str | None, *key: str) -> Any:
    """The catalog price, or None (noted as unpriced: the estimate is skipped, never guessed)."""
    from ...catalog import PriceNotFound
    region_id = (taxonomy.region(region) or (region,))[0] if region else ""
    try:
        return ctx.catalog.price(service, region_id or "", *key)
    except PriceNotFound as e:
        ctx.note(f"unpriced: {e.message}")
        return None
