"""Billed cost from the Cost Management Query API, daily, per resource and service.

``POST {arm}/subscriptions/{id}/providers/Microsoft.CostManagement/query?api-version=2025-03-01`` with
``{"type": "ActualCost" | "AmortizedCost", "timeframe": "Custom", "timePeriod": {"from", "to"}, "dataset":
{"granularity": "Daily", "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}}, "grouping":
[ResourceId, ServiceName]}}`` (at most two groupings; grouping by ResourceId needs a subscription or
resource group scope). The answer is ``{"properties": {"columns": [{"name", "type"}], "rows": [[...]],
"nextLink"}}``; a ``nextLink`` is POSTed again with the same body until it is null. Numbers are read as exact
decimals. https://learn.microsoft.com/rest/api/cost-management/query/usage

* ``ActualCost`` → BilledCost, ``AmortizedCost`` → EffectiveCost (reservation and savings plan purchases
  amortised over the usage they cover), joined per day, resource, service and currency: a row only in Actual
  (a purchase) has EffectiveCost 0, a row only in Amortized (covered usage) BilledCost 0.
* Each scope is queried at most every ``cost_interval_hours`` (the data refreshes about every 4 hours; the
  tenant-wide QPU budget is 12 per 10 s, 60 per minute, 600 per hour); a 429 waits the longest of the
  ``x-ms-ratelimit-microsoft.costmanagement-*-retry-after`` headers (the session). The trailing window
  (``trailing_days``) is re-pulled for late data, in chunks of at most 31 days (the Daily limit).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator

from ... import periods
from ...focus import UTC, CostRecord
from ...money import ZERO, parse_amount
from . import taxonomy
from .records import COLLECTOR, PROVIDER, account, lower_id, service_of
from .session import url

API_VERSION = "2025-03-01"
MAX_DAYS = 31
KINDS = ("ActualCost", "AmortizedCost")


def collect_subscription(ctx: Any, sub: str) -> Iterator[CostRecord]:
    scope = f"costmanagement/{sub}"
    with ctx.scope(scope):
        if not (ctx.fixed_window or ctx.due(scope, "pull", ctx.config.cost_interval_hours)):
            return
        ctx.set_mark(scope, "pull", ctx.now)
        yield from cost_records(ctx, sub, ctx.window_for(scope))


def query_body(kind: str, first: date, last: date, resource_groups: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind, "timeframe": "Custom",
        "timePeriod": {"from": f"{first.isoformat()}T00:00:00+00:00", "to": f"{last.isoformat()}T23:59:59+00:00"},
        "dataset": {"granularity": "Daily", "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
                    "grouping": [{"type": "Dimension", "name": "ResourceId"},
                                 {"type": "Dimension", "name": "ServiceName"}]}}
    if resource_groups:
        body["dataset"]["filter"] = {"dimensions": {"name": "ResourceGroupName", "operator": "In",
                                                    "values": list(resource_groups)}}
    return body


def query(ctx: Any, sub: str, kind: str, first: date, last: date) -> Iterator[dict[str, Any]]:
    """The rows of one query (every page), as ``{column name: value}``."""
    body = query_body(kind, first, last, ctx.config.resource_groups)
    u = url(ctx.clients.arm, f"/subscriptions/{sub}/providers/Microsoft.CostManagement/query",
            **{"api-version": API_VERSION})
    while u:
        doc = ctx.clients.http.request("POST", u, service="costmanagement", operation="Query", body=body).json() or {}
        props = doc.get("properties") or {}
        cols = [c.get("name") for c in props.get("columns") or []]
        for row in props.get("rows") or []:
            yield dict(zip(cols, row))
        u = props.get("nextLink") or ""


def _day(v: Any) -> date:
    s = str(int(v)) if isinstance(v, (int, Decimal)) else str(v)
    return date(int(s[:4]), int(s[4:6]), int(s[6:8])) if s[:8].isdigit() else date.fromisoformat(s[:10])


def _cost(row: dict[str, Any]) -> Decimal:
    for k in ("Cost", "PreTaxCost", "CostUSD"):
        if row.get(k) is not None:
            return parse_amount(row[k] if not isinstance(row[k], float) else repr(row[k]))
    return ZERO


def chunks(start: date, end: date) -> Iterator[tuple[date, date]]:
    """``[start, end]`` (inclusive days) in pieces of at most :data:`MAX_DAYS`."""
    while start <= end:
        last = min(end, start + timedelta(days=MAX_DAYS - 1))
        yield start, last
        start = last + timedelta(days=1)


def cost_records(ctx: Any, sub: str, window: Any) -> Iterator[CostRecord]:
    first, last = window.start.date(), window.end.date()
    merged: dict[tuple[date, str, str, str], list[Decimal]] = {}
    for a, b in chunks(first, last):
        for i, kind in enumerate(KINDS):
            for row in query(ctx, sub, kind, a, b):
                key = (_day(row.get("UsageDate")), lower_id(row.get("ResourceId") or ""),
                       str(row.get("ServiceName") or ""), str(row.get("Currency") or "USD"))
                amounts = merged.setdefault(key, [ZERO, ZERO])
                amounts[i] += _cost(row)
    for (day, rid, svc, cur), (billed, effective) in sorted(merged.items()):
        yield billed_record(ctx, sub, day, rid, svc, cur, billed, effective)


def billed_record(ctx: Any, sub: str, day: date, rid: str, service: str, currency: str, billed: Decimal,
                  effective: Decimal) -> CostRecord:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    bp = periods.month_period(day)
    hit = taxonomy.by_name(service) if service else None
    name, category, subcategory = hit if hit else (service_of(rid) if rid else (service or "Unknown", "Other", None))
    if service:
        name = service
    return CostRecord(
        ProviderName=PROVIDER, PublisherName=PROVIDER, InvoiceIssuerName=PROVIDER, BillingAccountId=account(ctx, sub),
        BillingAccountType=taxonomy.DEFAULT_BILLING_ACCOUNT_TYPE, SubAccountId=sub,
        SubAccountType=taxonomy.SUB_ACCOUNT_TYPE, ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(days=1),
        BillingPeriodStart=bp[0], BillingPeriodEnd=bp[1], BilledCost=billed, EffectiveCost=effective,
        ListCost=billed, ContractedCost=effective, BillingCurrency=currency, ServiceName=name[:1024] or "Unknown",
        ServiceCategory=category, ServiceSubcategory=subcategory, ChargeCategory="Usage",
        ChargeDescription=f"Cost Management daily cost: {name}", ResourceId=rid or None,
        ResourceName=rid.rsplit("/", 1)[-1] if rid else None, ResourceType=taxonomy.resource_type(rid) if rid else None,
        x_CostSource="billed", x_Collector=COLLECTOR, x_LineKey=currency)
