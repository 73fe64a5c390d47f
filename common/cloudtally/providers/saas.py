"""What the SaaS collectors (atlas, redis-cloud, github, datadog) share: one record builder, exact
spreading of a period amount over days, the period-replace of a revised bill, and the collector settings
every vendor has (back-off bounds).

>>> [str(x) for x in spread(Decimal("10.00"), 3)]
['3.333333', '3.333333', '3.333334']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, Iterable

from .. import periods
from ..collectors.config import CollectorConfig
from ..focus import UTC, CostRecord
from ..money import CONTEXT, ZERO

SHARE_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class SaasConfig(CollectorConfig):
    """Settings every SaaS collector has: the vendor's base URL and how long to back off."""

    base_url: str = ""
    max_retries: int = field(default=4, metadata={"help": "retries of a throttled (429) or failed (5xx) request"})
    max_wait_s: float = field(default=60.0, metadata={"help": "longest single wait a Retry-After may impose"})
    timeout_s: float = 30.0

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            out.append(("base_url", "an http(s) URL"))
        if not 0 <= self.max_retries <= 10:
            out.append(("max_retries", "between 0 and 10"))
        if not 0 < self.max_wait_s <= 900:
            out.append(("max_wait_s", "between 0 and 900 seconds"))
        return out

    def client_kw(self) -> dict[str, Any]:
        return {"max_retries": self.max_retries, "max_wait_s": self.max_wait_s, "timeout_s": self.timeout_s}


def day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def record(*, provider: str, collector: str, account: str, day: date, service: str, category: str,
           billed: Decimal, source: str, currency: str = "USD", list_cost: Decimal | None = None,
           end: datetime | None = None, start: datetime | None = None, **kw: Any) -> CostRecord:
    """A FOCUS record of one UTC day (or ``[start, end)`` within it) for a SaaS vendor."""
    s = start or day_start(day)
    bp = periods.month_period(day)
    return CostRecord(ProviderName=provider, PublisherName=provider, InvoiceIssuerName=provider,
                      BillingAccountId=account, ChargePeriodStart=s, ChargePeriodEnd=end or day_start(day) + timedelta(days=1),
                      BillingPeriodStart=kw.pop("BillingPeriodStart", None) or bp[0],
                      BillingPeriodEnd=kw.pop("BillingPeriodEnd", None) or bp[1],
                      BilledCost=billed, EffectiveCost=billed, ListCost=billed if list_cost is None else list_cost,
                      ContractedCost=billed, BillingCurrency=currency, ServiceName=service, ServiceCategory=category,
                      ChargeCategory=kw.pop("ChargeCategory", "Usage"),
                      ChargeFrequency=kw.pop("ChargeFrequency", "Usage-Based"),
                      x_CostSource=source, x_Collector=collector, **kw)


def spread(amount: Decimal, n: int) -> list[Decimal]:
    """``amount`` in ``n`` shares of 1e-6 that add up to it exactly (the remainder on the last)."""
    if n <= 0:
        return []
    share = CONTEXT.divide(amount, Decimal(n)).quantize(SHARE_QUANTUM, rounding=ROUND_DOWN, context=CONTEXT)
    rest = CONTEXT.subtract(amount, CONTEXT.multiply(share, Decimal(n - 1)))
    return [share] * (n - 1) + [rest]


def hours(start: datetime, end: datetime) -> Decimal:
    return Decimal(max(0, int((end - start).total_seconds()))) / Decimal(3600)


def total(records: Iterable[CostRecord]) -> Decimal:
    t = ZERO
    for r in records:
        t = CONTEXT.add(t, r.BilledCost)
    return t


def replace_period(ctx: Any, label: str, records: list[CostRecord]) -> dict[str, Any]:
    """Replace a billing period's records (collector, provider, account, period) with ``records`` in one
    visible step (the API's period replace): a revised bill's dropped lines go, changed ones are replaced."""
    if ctx.imports is None:
        from ..errors import ConfigError
        raise ConfigError(f"{label}: a revised bill needs an import target (the sink's /v1/imports)")
    target = ctx.imports
    iid = target.begin(label)
    try:
        target.stage(iid, records)
        return target.commit(iid)
    except BaseException:
        target.abort(iid)
        raise
