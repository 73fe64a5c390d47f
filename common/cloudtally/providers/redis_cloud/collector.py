"""The ``redis-cloud`` collector: Redis Cloud subscriptions and databases, the FOCUS cost report when the
account has it (billed), else subscription pricing × hours (estimated).

* ``GET /subscriptions`` and ``GET /subscriptions/{id}/databases?offset=&limit=`` (paged): the inventory
  (attribution: database id, name, region, subscription);
* ``POST /cost-report`` ``{"startDate", "endDate", "format": "json"}`` → a task id; ``GET /tasks/{taskId}``
  until ``processing-completed``; ``GET /cost-report/{costReportId}``: FOCUS rows, each one billed record
  (Beta: enabled on request; an account without it answers 4xx or a failed task, and the collector falls
  back to estimates for that day, re-checking once a day);
* ``GET /subscriptions/{id}/pricing``: each line's ``pricePerUnit`` × ``quantity`` × the hours of the day
  (``pricePeriod`` hour, or month ÷ the month's hours), per database (lines naming one) or per subscription,
  as estimates — for today always, for closed days only when no cost report is available.

Headers ``x-api-key`` (account key) and ``x-api-secret-key`` (user key); 429 waits ``Retry-After``.
Sources: https://redis.io/docs/latest/operate/rc/api/get-started/,
https://redis.io/docs/latest/operate/rc/api/examples/generate-cost-report/,
https://api.redislabs.com/v1/swagger-ui/index.html.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator, Literal

from ... import periods
from ...collectors.registry import CollectorSpec, Permissions, Schedule, SecretRef, register
from ...errors import ProviderError, ProviderTransient, ValidationError
from ...focus import CostRecord, day_floor, parse_record
from ...money import CONTEXT
from ..saas import SaasConfig, day_start, hours, record
from ..http import VendorClients

KEYS = SecretRef("redis-cloud-api-key", "Redis Cloud API account key and user (secret) key: JSON {\"api_key\", "
                 "\"secret_key\"}", env=("REDIS_CLOUD_API_KEY", "REDIS_CLOUD_SECRET_KEY"),
                 fields=("api_key", "secret_key"))
FOCUS_FIELDS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingCurrency", "ChargePeriodStart",
                "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeFrequency",
                "ChargeDescription", "ServiceName", "ServiceCategory", "ServiceSubcategory", "ResourceId",
                "ResourceName", "ResourceType", "RegionId", "RegionName", "SkuId", "SkuPriceId", "PricingUnit",
                "PricingQuantity", "ListUnitPrice", "ContractedUnitPrice", "ConsumedQuantity", "ConsumedUnit",
                "SubAccountId", "SubAccountName", "BillingAccountName", "InvoiceId", "PricingCategory")


@dataclass(frozen=True)
class RedisCloudConfig(SaasConfig):
    base_url: str = "https://api.redislabs.com/v1"
    subscription_ids: list[int] = field(default_factory=list, metadata={"help": "only these subscriptions (default all)"})
    cost_report: Literal["auto", "off"] = field(default="auto", metadata={
        "help": "auto: use the FOCUS cost report when the account has it; off: estimates only"})
    cost_report_interval_hours: float = 6
    task_poll_s: float = 2.0
    task_max_polls: int = 60
    page_size: int = 100

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if not 1 <= self.page_size <= 100:
            out.append(("page_size", "between 1 and 100"))
        if self.trailing_days > 39:
            out.append(("trailing_days", "at most 39 (a cost report covers at most 40 days)"))
        return out


SPEC = register(CollectorSpec(
    name="redis-cloud",
    provider="redis-cloud",
    module="cloudtally.providers.redis_cloud.collector",
    schedule=Schedule.every(hours=1, offset_minutes=40),
    runtime="lambda",
    config=RedisCloudConfig,
    sdk_extra="lambda",
    description="Redis Cloud subscriptions and databases: the FOCUS cost report (billed) when the account has it, "
                "else subscription pricing × hours (estimated).",
    permissions=Permissions(),
    secrets=(KEYS,),
    fixtures="redis-cloud",
    errors="cloudtally.providers.http:to_provider_error",
    memory_mb=256,
    timeout_s=300,
))

COLLECTOR = SPEC.name


class RedisClients(VendorClients):
    """The Redis Cloud API's client."""


def make_clients(config: RedisCloudConfig, secrets: Any) -> RedisClients:
    from ..http import HttpClient
    keys = secrets.fields(KEYS.name)
    return RedisClients(HttpClient(
        vendor="redis-cloud", base_url=config.base_url,
        auth_setting=f"the API keys ({' / '.join(KEYS.env)} or secret {KEYS.name}); the API must be enabled "
                     "for the account", headers={"x-api-key": keys["api_key"], "x-api-secret-key": keys["secret_key"],
                                                 "Accept": "application/json"}, **config.client_kw()))


def _provider() -> str:
    from . import PROVIDER
    return PROVIDER


def _num(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v if v is not None else 0))


@dataclass
class Subscription:
    id: int
    name: str
    account: str
    databases: dict[str, dict[str, Any]]        # name -> database


def _next_offset(resp: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    got = sum(len(s.get("databases") or []) for s in (resp.body or {}).get("subscription") or [])
    return {**params, "offset": params["offset"] + params["limit"]} if got >= params["limit"] else None


def _dbs(body: Any) -> list[dict[str, Any]]:
    return [db for s in (body or {}).get("subscription") or [] for db in s.get("databases") or []]


def inventory(ctx: Any) -> list[Subscription]:
    cfg: RedisCloudConfig = ctx.config
    http = ctx.clients.http
    body = http.request("GET", "/subscriptions", operation="GetAllSubscriptions").body or {}
    account = str(body.get("accountId") or "redis-cloud")
    out = []
    for s in body.get("subscriptions") or []:
        if cfg.subscription_ids and int(s["id"]) not in cfg.subscription_ids:
            continue
        dbs = {str(db.get("name")): db for db in http.pages(
            f"/subscriptions/{s['id']}/databases", operation="GetSubscriptionDatabases", next_of=_next_offset,
            items_of=_dbs, params={"offset": 0, "limit": cfg.page_size})}
        out.append(Subscription(int(s["id"]), str(s.get("name") or s["id"]), account, dbs))
    return out


# ---------------------------------------------------------------- the FOCUS cost report

def cost_report(ctx: Any, account: str, start: date, end: date) -> list[CostRecord] | None:
    """The billed records of ``[start, end]`` from the cost report, or None when the account has none."""
    cfg: RedisCloudConfig = ctx.config
    http = ctx.clients.http
    try:
        task = http.request("POST", "/cost-report", operation="CreateCostReport", ok=(200, 201, 202),
                            body={"startDate": start.isoformat(), "endDate": end.isoformat(), "format": "json"}).body
    except ProviderError as e:
        if e.kind in ("auth", "not_found", "error"):     # 4xx: the Beta is not enabled for this account
            ctx.note(f"cost report not available ({e.provider_code}): {e.message[:200]}; estimates from pricing")
            return None
        raise
    task_id = (task or {}).get("taskId")
    if not task_id:
        raise ProviderError("redis-cloud CreateCostReport: no taskId in the answer", provider="redis-cloud")
    for _ in range(cfg.task_max_polls):
        t = http.request("GET", f"/tasks/{task_id}", operation="GetTaskById").body or {}
        status = t.get("status")
        if status == "processing-completed":
            resp = t.get("response") or {}
            rid = (resp.get("resource") or {}).get("costReportId") or resp.get("resourceId")
            if not rid:
                raise ProviderError(f"redis-cloud task {task_id}: completed without a costReportId",
                                    provider="redis-cloud")
            rows = http.request("GET", f"/cost-report/{rid}", operation="GetCostReport").body
            return [focus_record(account, row) for row in _rows(rows)]
        if status == "processing-error":
            err = (t.get("response") or {}).get("error") or {}
            ctx.note(f"cost report task failed ({err.get('type', 'error')}): {str(err.get('description', ''))[:200]}; "
                     "estimates from pricing")
            return None
        http.sleep(cfg.task_poll_s)
    raise ProviderTransient(f"redis-cloud cost report task {task_id} not done after {cfg.task_max_polls} polls",
                            provider="redis-cloud")


def _rows(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return body
    for k in ("data", "rows", "costReport", "items"):
        if isinstance((body or {}).get(k), list):
            return body[k]
    return []


def focus_record(account: str, row: dict[str, Any]) -> CostRecord:
    """One FOCUS row of the cost report as a billed record (the columns CloudTally knows are kept)."""
    vals = {k: row[k] for k in FOCUS_FIELDS if row.get(k) not in (None, "")}
    for k in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "ListUnitPrice",
              "ContractedUnitPrice", "ConsumedQuantity"):
        if k in vals and not isinstance(vals[k], str):
            vals[k] = str(vals[k])
    tags = row.get("Tags")
    if isinstance(tags, dict):
        vals["Tags"] = {str(k)[:128]: str(v)[:256] for k, v in list(tags.items())[:50]}
    vals.update({"ProviderName": _provider(), "PublisherName": _provider(), "InvoiceIssuerName": _provider(),
                 "BillingAccountId": str(row.get("BillingAccountId") or account), "x_CostSource": "billed",
                 "x_Collector": COLLECTOR})
    vals.setdefault("ServiceName", "Redis Cloud")
    vals.setdefault("ServiceCategory", "Databases")
    vals.setdefault("BillingCurrency", "USD")
    try:
        return parse_record(vals)
    except ValidationError as e:
        raise ProviderError(f"redis-cloud cost report row not FOCUS: {e.details}"[:500], provider="redis-cloud") from None


# ---------------------------------------------------------------- estimates

def _hours_of(d: date, now: datetime) -> tuple[datetime, datetime]:
    s = day_start(d)
    return s, min(s + timedelta(days=1), now)


def estimates(ctx: Any, sub: Subscription, days: list[date]) -> Iterator[CostRecord]:
    body = ctx.clients.http.request("GET", f"/subscriptions/{sub.id}/pricing", operation="GetSubscriptionPricing").body
    for i, p in enumerate((body or {}).get("pricing") or []):
        price, qty = _num(p.get("pricePerUnit")), _num(p.get("quantity") or 1)
        if not price:
            continue
        period = str(p.get("pricePeriod") or "hour").lower()
        db = sub.databases.get(str(p.get("databaseName"))) if p.get("databaseName") else None
        rid = f"{sub.id}/{db.get('databaseId')}" if db else str(sub.id)
        kind = str(p.get("type") or "pricing")
        for d in days:
            s, e = _hours_of(d, ctx.now)
            h = hours(s, e)
            if h <= 0:
                continue
            unit_hours = Decimal(1) if period.startswith("hour") else Decimal(periods.month_hours(d))
            q = CONTEXT.multiply(qty, CONTEXT.divide(h, unit_hours))
            cost = CONTEXT.multiply(price, q)
            region = p.get("region") or (db or {}).get("region")
            yield record(provider=_provider(), collector=COLLECTOR, account=sub.account, day=d, service="Redis Cloud",
                         category="Databases", billed=cost, source="estimated",
                         currency=str(p.get("priceCurrency") or "USD"), SubAccountId=str(sub.id),
                         SubAccountName=sub.name, ResourceId=rid, ResourceName=(db or {}).get("name") or sub.name,
                         ResourceType="database" if db else "subscription", RegionId=region, RegionName=region,
                         SkuId=f"{kind}/{p.get('typeDetails') or ''}".rstrip("/"), PricingUnit=str(
                             p.get("quantityMeasurement") or kind), PricingQuantity=q, ListUnitPrice=price,
                         PricingCategory="Standard", ServiceSubcategory="Caching",
                         ChargeDescription=f"{kind} {p.get('typeDetails') or ''}: {qty} × {price} "
                                           f"{p.get('priceCurrency') or 'USD'} per {period}".strip(),
                         Tags={"redis.subscription": sub.name}, x_LineKey=f"pricing:{i}:{kind}")


def collect(ctx: Any) -> Iterator[CostRecord]:
    cfg: RedisCloudConfig = ctx.config
    subs: list[Subscription] = []
    with ctx.scope("redis-cloud/subscriptions"):
        subs = inventory(ctx)
    if not subs:
        return
    account = subs[0].account
    scope = f"redis-cloud/{account}/cost-report"
    window = ctx.window_for(scope)
    billed = False
    with ctx.scope(scope):
        if cfg.cost_report == "auto":
            unavailable = ctx.mark(scope, "unavailable")
            if ctx.fixed_window or ctx.due(scope, "pull", cfg.cost_report_interval_hours) and (
                    unavailable is None or ctx.now - unavailable >= timedelta(hours=24)):
                recs = cost_report(ctx, account, window.start.date(), ctx.now.date())
                if recs is None:
                    ctx.set_mark(scope, "unavailable", ctx.now)
                else:
                    ctx.set_mark(scope, "pull", ctx.now)
                    billed = True
                    yield from recs
            elif unavailable is None:
                billed = True      # pulled recently: closed days are billed; only today is estimated
    today = day_floor(ctx.now).date()
    for sub in subs:
        escope = f"redis-cloud/{account}/{sub.id}/estimates"
        with ctx.scope(escope):
            days = [today] if billed else ctx.window_for(escope).days()
            yield from estimates(ctx, sub, days)
