"""The ``datadog`` collector: v2 usage metering on the configured site, parent and child organisations.

* ``GET /api/v2/usage/estimated_cost?view=sub-org&start_date=&end_date=`` — the current month's estimate,
  day over day and **cumulative** within the month, per organisation and product (``charges``: product,
  charge type, cost). Each day's record is the difference of two cumulative figures, so the days add up
  to the month-to-date estimate exactly (``x_CostSource=estimated``).
* ``GET /api/v2/usage/historical_cost?view=sub-org&start_month=&end_month=`` — a closed month's cost
  (what Datadog bills) per organisation and product, **billed**: spread over the month's days exactly
  (1e-6 shares, the remainder on the last day) so each day's bill supersedes that day's estimate. Read
  once a day for the last ``historical_months`` closed months; a revised month replaces itself.
* ``GET /api/v2/usage/hourly_usage?filter[timestamp][start]=&filter[product_families]=`` (paged by
  ``page[next_record_id]``) — usage quantities per product family, as metric points (``datadog.usage``),
  one day per request (the API's limit across organisations), once a day.

The deprecated v1 per-product usage endpoints and v2 ``cost_by_org`` are not used. Keys: ``DD-API-KEY`` and
``DD-APPLICATION-KEY`` (an application key of the parent organisation with ``usage_read`` and
``billing_read``). Throttling: 429 waits ``X-RateLimit-Reset`` (seconds to the window's reset).
Sources: https://docs.datadoghq.com/api/latest/usage-metering/, https://docs.datadoghq.com/api/latest/rate-limits/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Iterator

from ... import periods
from ...collectors.registry import CollectorSpec, Permissions, Schedule, SecretRef, register
from ...focus import CostRecord, MetricPoint, day_floor, iso, parse_time
from ...money import CONTEXT, ZERO
from ..saas import SaasConfig, record, spread
from ..http import VendorClients

KEYS = SecretRef("datadog-api-key", "Datadog API key and application key (usage_read, billing_read) of the parent "
                 "organisation: JSON {\"api_key\", \"app_key\"}", env=("DD_API_KEY", "DD_APP_KEY"),
                 fields=("api_key", "app_key"))


@dataclass(frozen=True)
class DatadogConfig(SaasConfig):
    trailing_days: int = 4                         # usage and estimates settle within 72 hours
    initial_days: int = 4
    site: str = field(default="datadoghq.com", metadata={"help": "datadoghq.com, us3.datadoghq.com, datadoghq.eu, ..."})
    view: str = field(default="sub-org", metadata={"help": "sub-org (each child organisation) or summary"})
    historical_months: int = 2
    historical_interval_hours: float = 24
    hourly_usage: bool = True
    hourly_interval_hours: float = 24
    product_families: list[str] = field(default_factory=lambda: ["all"])

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if self.view not in ("sub-org", "summary"):
            out.append(("view", "sub-org or summary"))
        if not self.site or "/" in self.site:
            out.append(("site", "a Datadog site such as datadoghq.com or datadoghq.eu"))
        if not 0 <= self.historical_months <= 12:
            out.append(("historical_months", "between 0 and 12"))
        return out

    @property
    def api_url(self) -> str:
        if self.base_url:
            return self.base_url
        site = self.site.removeprefix("app.")
        return f"https://api.{site}"


SPEC = register(CollectorSpec(
    name="datadog",
    provider="datadog",
    module="cloudtally.providers.datadog.collector",
    schedule=Schedule.every(hours=6, offset_minutes=35),
    runtime="lambda",
    config=DatadogConfig,
    sdk_extra="lambda",
    description="Datadog v2 usage metering: estimated_cost (current month, estimated), historical_cost (closed "
                "months, billed, superseding the estimate), hourly_usage per product family (metric points); "
                "parent and child organisations.",
    permissions=Permissions(),
    secrets=(KEYS,),
    fixtures="datadog",
    errors="cloudtally.providers.http:to_provider_error",
    memory_mb=256,
    timeout_s=300,
))

COLLECTOR = SPEC.name


class DatadogClients(VendorClients):
    """The Datadog API's client."""


def make_clients(config: DatadogConfig, secrets: Any) -> DatadogClients:
    from ..http import HttpClient
    keys = secrets.fields(KEYS.name)
    return DatadogClients(HttpClient(
        vendor="datadog", base_url=config.api_url,
        auth_setting=f"the keys ({' / '.join(KEYS.env)} or secret {KEYS.name}) and the site ({config.site})",
        headers={"DD-API-KEY": keys["api_key"], "DD-APPLICATION-KEY": keys["app_key"], "Accept": "application/json"},
        **config.client_kw()))


def _provider() -> str:
    from . import PROVIDER
    return PROVIDER


def _num(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v if v is not None else 0))


def _charges(attrs: dict[str, Any]) -> dict[tuple[str, str], Decimal]:
    """(product, charge type) → cost; the ``total`` rows only where a product has no breakdown."""
    rows = [(str(c.get("product_name") or "unknown"), str(c.get("charge_type") or "total"), _num(c.get("cost")))
            for c in attrs.get("charges") or []]
    broken = {p for p, t, _ in rows if t != "total"}
    out: dict[tuple[str, str], Decimal] = {}
    for p, t, v in rows:
        if t == "total" and p in broken:
            continue
        out[(p, t)] = CONTEXT.add(out.get((p, t), ZERO), v)
    return out


def _rec(attrs: dict[str, Any], product: str, charge: str, day: date, amount: Decimal, source: str,
         description: str) -> CostRecord:
    org = str(attrs.get("public_id") or attrs.get("org_name") or "unknown")
    account = str(attrs.get("account_public_id") or org)
    return record(provider=_provider(), collector=COLLECTOR, account=account, day=day,
                  service=f"Datadog {product}", category="Management and Governance", billed=amount, source=source,
                  BillingAccountName=attrs.get("account_name"), SubAccountId=org, SubAccountName=attrs.get("org_name"),
                  RegionId=attrs.get("region"), RegionName=attrs.get("region"), SkuId=product,
                  ServiceSubcategory="Observability", ChargeDescription=description, x_LineKey=charge,
                  Tags={"datadog.org": str(attrs.get("org_name") or org), "datadog.product": product,
                        "datadog.charge_type": charge})


def _data(body: Any) -> list[dict[str, Any]]:
    return [d.get("attributes") or {} for d in (body or {}).get("data") or []]


def estimated(ctx: Any, scope: str) -> Iterator[CostRecord]:
    """Daily estimates of the window from the cumulative month-to-date figures."""
    cfg: DatadogConfig = ctx.config
    window = ctx.window_for(scope)
    first, last = window.start.date(), min(window.end.date(), ctx.now.date())
    start = periods.month_start(first)               # the cumulative figure restarts on each month's 1st
    body = ctx.clients.http.request("GET", "/api/v2/usage/estimated_cost", operation="GetEstimatedCostByOrg",
                                    params={"view": cfg.view, "start_date": start.isoformat(),
                                            "end_date": last.isoformat()}).body
    cum: dict[tuple[str, str, str], dict[date, tuple[Decimal, dict[str, Any]]]] = {}
    for attrs in _data(body):
        if not attrs.get("date"):
            continue
        d = parse_time(attrs["date"]).date()
        for (product, charge), v in _charges(attrs).items():
            key = (str(attrs.get("public_id") or attrs.get("org_name")), product, charge)
            cum.setdefault(key, {})[d] = (v, attrs)
    for (_, product, charge), series in sorted(cum.items()):
        for d in sorted(series):
            if not first <= d <= last:
                continue
            v, attrs = series[d]
            prev = d - timedelta(days=1)
            before = series[prev][0] if prev in series and prev.month == d.month else ZERO
            yield _rec(attrs, product, charge, d, CONTEXT.subtract(v, before), "estimated",
                       f"Datadog estimated cost, {product} ({charge}): month to date {v} on {d}")


def historical(ctx: Any, scope: str) -> Iterator[CostRecord]:
    """Closed months' cost, billed, spread exactly over each month's days."""
    cfg: DatadogConfig = ctx.config
    this_month = periods.month_start(ctx.now.date())
    for back in range(cfg.historical_months, 0, -1):
        month = periods.month_start(this_month, back=back)
        body = ctx.clients.http.request("GET", "/api/v2/usage/historical_cost", operation="GetHistoricalCostByOrg",
                                        params={"view": cfg.view, "start_month": month.strftime("%Y-%m"),
                                                "end_month": month.strftime("%Y-%m")}).body
        rows = _data(body)
        if not rows:
            ctx.note(f"{month:%Y-%m}: no historical cost yet (the month is not closed); estimates stand")
            continue
        days = list(periods.days(month, periods.next_month(month)))
        for attrs in rows:
            if attrs.get("date") and parse_time(attrs["date"]).date().replace(day=1) != month:
                continue
            for (product, charge), v in sorted(_charges(attrs).items()):
                for d, share in zip(days, spread(v, len(days))):
                    yield _rec(attrs, product, charge, d, share, "billed",
                               f"Datadog historical cost of {month:%Y-%m}, {product} ({charge}): {v}, spread "
                               f"evenly over {len(days)} days")


def _next_record(resp: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    nxt = (((resp.body or {}).get("meta") or {}).get("pagination") or {}).get("next_record_id")
    return {**params, "page[next_record_id]": nxt} if nxt else None


def hourly(ctx: Any, scope: str) -> Iterator[MetricPoint]:
    """Hourly usage per product family of the window's closed days, one day per (paged) query."""
    cfg: DatadogConfig = ctx.config
    window = ctx.window_for(scope)
    today = day_floor(ctx.now)
    d = window.start
    while d < today:
        params = {"filter[timestamp][start]": iso(d), "filter[timestamp][end]": iso(d + timedelta(days=1)),
                  "filter[product_families]": ",".join(cfg.product_families), "filter[include_descendants]": "true",
                  "page[limit]": 500}
        for attrs in ctx.clients.http.pages("/api/v2/usage/hourly_usage", operation="GetHourlyUsage", params=params,
                                            next_of=_next_record, items_of=_data):
            ts = parse_time(attrs["timestamp"]) if attrs.get("timestamp") else d
            for m in attrs.get("measurements") or []:
                if m.get("value") is None:
                    continue
                yield MetricPoint(name="datadog.usage", value=_num(m["value"]), timestamp=ts, source=COLLECTOR,
                                  dimensions={"org": str(attrs.get("public_id") or ""),
                                              "product_family": str(attrs.get("product_family") or ""),
                                              "usage_type": str(m.get("usage_type") or "")})
        d += timedelta(days=1)


def collect(ctx: Any) -> Iterator[CostRecord | MetricPoint]:
    cfg: DatadogConfig = ctx.config
    base = f"datadog/{cfg.site}"
    with ctx.scope(f"{base}/estimated_cost"):
        yield from estimated(ctx, f"{base}/estimated_cost")
    scope = f"{base}/historical_cost"
    with ctx.scope(scope):
        if cfg.historical_months and (ctx.fixed_window or ctx.due(scope, "pull", cfg.historical_interval_hours)):
            ctx.set_mark(scope, "pull", ctx.now)
            yield from historical(ctx, scope)
    scope = f"{base}/hourly_usage"
    if cfg.hourly_usage:
        with ctx.scope(scope):
            if ctx.fixed_window or ctx.due(scope, "pull", cfg.hourly_interval_hours):
                ctx.set_mark(scope, "pull", ctx.now)
                yield from hourly(ctx, scope)
