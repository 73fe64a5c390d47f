"""The Snowflake collector: billed cost (currency when the organization's view can be read, else billed
credits × the edition's price), storage, per-warehouse and per-query attribution.

Scopes (each a unit that fails alone, visible in ``GET /v1/collectors``), and the views each reads with a
watermark (a per-view mark: the newest usage seen) plus a trailing window sized to the view's documented
latency, so a run reads a few days and sends only what changed:

* ``<account>/usage_in_currency`` — ``ORGANIZATION_USAGE.USAGE_IN_CURRENCY_DAILY`` (72 h): billed cost in
  the billing currency. When the role cannot read it, the run says so (a note) and falls back to credits.
* ``<account>/metering_daily`` — ``ACCOUNT_USAGE.METERING_DAILY_HISTORY`` (3 h), only without currency:
  ``CREDITS_BILLED`` (the daily cloud-services adjustment applied) × the edition's credit price.
* ``<account>/warehouses`` — ``WAREHOUSE_METERING_HISTORY`` (hourly credits; 6 h) and
  ``QUERY_ATTRIBUTION_HISTORY`` joined to ``QUERY_HISTORY`` for the role (8 h): each warehouse's day is split
  into one line per (user, role, query tag) of attributed credits, the **idle** remainder (compute −
  attributed) and its cloud services, so the parts sum **exactly** to the warehouse's credits; the day's
  warehouse bill (currency rows, or credits × price) is allocated over the parts with the rounding
  remainder on the largest, so the money sums exactly too. Never a per-user row × the warehouse cost.
* ``<account>/storage`` — ``STORAGE_USAGE`` (2 h, stage bytes) and ``DATABASE_STORAGE_USAGE_HISTORY`` (3 h,
  database and fail-safe bytes per database): a day's share of the TB-month price, or the currency
  storage rows allocated by bytes; metric points of the bytes.

A day the currency view does not have yet (it lags up to 72 h) is sent as ``estimated`` (catalog credit
and storage prices); the currency rows supersede it when they land (billed supersedes estimated per day).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable, Iterator, Literal

from ...collectors.config import CollectorConfig
from ...collectors.registry import CollectorSpec, Permissions, Schedule, SecretRef, register

PRIVATE_KEY = SecretRef("snowflake-private-key", "PEM private key of the collector's service user (key-pair "
                        "authentication)", env=("SNOWFLAKE_PRIVATE_KEY",))
PASSPHRASE = SecretRef("snowflake-private-key-passphrase", "passphrase of an encrypted private key (optional)",
                       env=("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",))
PASSWORD = SecretRef("snowflake-password", "password (accepted with a warning: Snowflake is blocking "
                     "password-only service users)", env=("SNOWFLAKE_PASSWORD",))
ENV_ACCOUNT, ENV_USER, ENV_WAREHOUSE, ENV_ROLE = "SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_ROLE"

# documented latency of each view, hours (https://docs.snowflake.com/sql-reference/account-usage and the
# ORGANIZATION_USAGE view pages): the trailing window re-read behind each view's watermark
LATENCY_HOURS = {"USAGE_IN_CURRENCY_DAILY": 72, "METERING_DAILY_HISTORY": 3, "WAREHOUSE_METERING_HISTORY": 6,
                 "QUERY_ATTRIBUTION_HISTORY": 8, "STORAGE_USAGE": 2, "DATABASE_STORAGE_USAGE_HISTORY": 3}


@dataclass(frozen=True)
class SnowflakeConfig(CollectorConfig):
    account: str = field(default="", metadata={"help": "account identifier (default: SNOWFLAKE_ACCOUNT)"})
    user: str = field(default="", metadata={"help": "service user (default: SNOWFLAKE_USER)"})
    role: str | None = field(default=None, metadata={"help": "role with the SNOWFLAKE database grants"})
    warehouse: str | None = field(default=None, metadata={"help": "warehouse that runs the queries"})
    account_name: str | None = field(default=None, metadata={
        "help": "ACCOUNT_NAME in ORGANIZATION_USAGE (default: the identifier's locator)"})
    edition: Literal["standard", "enterprise", "business_critical"] = "enterprise"
    region: str = field(default="AWS_US_EAST_1", metadata={"help": "Snowflake region id (catalog prices)"})
    credit_price: Decimal | None = field(default=None, metadata={"help": "the contract's price per credit "
                                                                         "(default: the catalog's on-demand price)"})
    storage_pricing: Literal["on_demand", "capacity"] = "on_demand"
    currency_usage: bool = True        # read ORGANIZATION_USAGE.USAGE_IN_CURRENCY_DAILY first
    attribution: bool = True           # per-query attribution (QUERY_ATTRIBUTION_HISTORY)
    initial_days: int = 7

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if self.credit_price is not None and self.credit_price <= 0:
            out.append(("credit_price", "a positive amount"))
        return out


SPEC = register(CollectorSpec(
    name="snowflake",
    provider="snowflake",
    module="cloudtally.providers.snowflake.collector",
    schedule=Schedule.every(hours=1, offset_minutes=40),
    runtime="lambda",
    config=SnowflakeConfig,
    sdk_extra="snowflake",
    description="Billed cost from ORGANIZATION_USAGE.USAGE_IN_CURRENCY_DAILY (else METERING_DAILY_HISTORY credits x "
                "the edition's price), storage, hourly warehouse credits and per-query attribution with the idle "
                "remainder; key-pair authentication.",
    permissions=Permissions(),
    secrets=(PRIVATE_KEY, PASSPHRASE, PASSWORD),
    prices=("credit", "storage"),
    fixtures="snowflake",
    errors="cloudtally.providers.snowflake.errors:to_provider_error",
    memory_mb=512,
    timeout_s=600,
))

from ... import periods  # noqa: E402
from ...catalog import PriceNotFound  # noqa: E402
from ...errors import ConfigError, ProviderAuthError  # noqa: E402
from ...focus import UTC, CostRecord, MetricPoint, day_floor  # noqa: E402
from ...money import CONTEXT, ZERO  # noqa: E402
from . import PROVIDER  # noqa: E402
from .session import SnowflakeClients, der_private_key  # noqa: E402
from .taxonomy import service, unit  # noqa: E402

COLLECTOR = "snowflake"
TB = Decimal(1024 ** 4)          # storage is billed per TB of 2^40 bytes
ALLOC_QUANTUM = Decimal("0.0000000001")
QTY = Decimal("0.000000000001")     # a day's share of a TB-month, to 1e-12 (then priced exactly)
DB = "SNOWFLAKE"


def make_clients(config: SnowflakeConfig, secrets: Any) -> SnowflakeClients:
    pem = secrets.optional(PRIVATE_KEY.name)
    key = der_private_key(pem, secrets.optional(PASSPHRASE.name)) if pem else None
    return SnowflakeClients(account=config.account or os.environ.get(ENV_ACCOUNT, ""),
                            user=config.user or os.environ.get(ENV_USER, ""), private_key=key,
                            password=None if key is not None else secrets.optional(PASSWORD.name),
                            role=config.role or os.environ.get(ENV_ROLE) or None,
                            warehouse=config.warehouse or os.environ.get(ENV_WAREHOUSE) or None)


def account_id(account: str) -> str:
    """``xy12345.us-east-1`` → ``XY12345``; ``myorg-myaccount`` → ``MYORG-MYACCOUNT``."""
    return account.split(".", 1)[0].upper()


# ---------------------------------------------------------------- helpers

def _dec(v: Any) -> Decimal:
    """A view's number as an exact Decimal, trailing zeros dropped (records carry at most 38 digits)."""
    if v is None:
        return ZERO
    d = v if isinstance(v, Decimal) else Decimal(repr(v)) if isinstance(v, float) else Decimal(str(v))
    return d.normalize(CONTEXT) if d else ZERO


def _day(v: Any) -> date:
    if isinstance(v, datetime):
        return v.astimezone(UTC).date() if v.tzinfo else v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def _ts(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(v)).replace(tzinfo=UTC)


def _key(*parts: Any) -> str:
    return hashlib.blake2b(json.dumps(parts, default=str, separators=(",", ":")).encode(), digest_size=10).hexdigest()


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` split in proportion to ``weights``, each share rounded to 1e-10 half-even and the rounding
    remainder put on the largest weight, so the shares sum to ``total`` exactly.

    >>> allocate(Decimal("10.00"), [Decimal(1), Decimal(1), Decimal(1)])
    [Decimal('3.3333333334'), Decimal('3.3333333333'), Decimal('3.3333333333')]
    """
    s = sum(weights, ZERO)
    if not weights:
        return []
    if s == 0:
        return [total] + [ZERO] * (len(weights) - 1)
    shares = [CONTEXT.divide(CONTEXT.multiply(total, w), s).quantize(ALLOC_QUANTUM, rounding=ROUND_HALF_EVEN)
              for w in weights]
    big = max(range(len(weights)), key=lambda i: (abs(weights[i]), -i))
    shares[big] = CONTEXT.add(shares[big], CONTEXT.subtract(total, sum(shares, ZERO)))
    return shares


@dataclass
class Price:
    amount: Decimal
    currency: str
    version: str | None
    sku: str


@dataclass
class Part:
    """One line of a day's bill: credits (or bytes) as the weight, the record's identity and labels."""

    weight: Decimal
    quantity: Decimal
    unit: str
    service_type: str
    resource: str | None
    resource_type: str | None
    line: str
    tags: dict[str, str]
    description: str
    rating: str = "compute"
    category: str = "Usage"


class Run:
    """What one run knows across scopes: the mode, the currency rows, the metering rows, prices."""

    def __init__(self, ctx: Any):
        self.ctx = ctx
        cfg: SnowflakeConfig = ctx.config
        self.cfg = cfg
        self.account = account_id(ctx.clients.account)
        self.currency_mode = False
        self.currency_rows: dict[date, list[dict[str, Any]]] = defaultdict(list)
        self.currency_from: date | None = None
        self.currency_days: set[date] = set()       # days the currency view has (the bill of those days)
        self.metering: dict[date, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.metering_from: date | None = None
        self.org_name: str | None = None
        self.hold = False                  # the currency view failed this run: no bill is written (it would mix)
        self.floor: date | None = None     # days before it were billed the other way: left as they are

    def billable(self, d: date) -> bool:
        return not self.hold and (self.floor is None or d >= self.floor)

    def mode_floor(self, other_scope: str, view: str) -> None:
        """A day billed by credits is never billed again in currency (and the reverse): the other way's
        watermark (its newest day + 1) is the first day this run may bill."""
        mark = self.ctx.mark(other_scope, view)
        if mark is not None:
            self.floor = mark.date()
            self.ctx.note(f"days before {self.floor} were billed from {view}: left as they are")

    # ------------------------------------------------------------ windows
    def read_from(self, scope: str, views: tuple[str, ...]) -> date:
        """The first day to read for ``views``: each view's watermark minus its latency, whole days."""
        ctx = self.ctx
        today = day_floor(ctx.now)
        if ctx.fixed_window:
            return ctx.window.start.date()
        starts = []
        for v in views:
            mark = ctx.mark(scope, v)
            starts.append(day_floor(mark - timedelta(hours=LATENCY_HOURS[v])) if mark
                          else today - timedelta(days=self.cfg.initial_days))
        start = max(min(starts), today - timedelta(days=self.cfg.max_backfill_days))
        return start.date()

    def watermark(self, scope: str, view: str, newest: datetime | None) -> None:
        if newest is not None and not self.ctx.fixed_window:
            prev = self.ctx.mark(scope, view)
            self.ctx.set_mark(scope, view, max(newest, prev) if prev else newest)

    # ------------------------------------------------------------ prices
    def credit_price(self) -> Price:
        if self.cfg.credit_price is not None:
            return Price(self.cfg.credit_price, "USD", None, f"credit/contract/{self.cfg.edition}")
        return self._catalog("credit", self.cfg.edition)

    def storage_price(self) -> Price:
        return self._catalog("storage", self.cfg.storage_pricing)

    def _catalog(self, svc: str, key: str) -> Price:
        try:
            p = self.ctx.catalog.price(svc, self.cfg.region, key)
        except PriceNotFound as e:
            raise ConfigError(f"snowflake: {e.message}: set region to a catalog region "
                              f"({', '.join(self.ctx.catalog.regions(svc))}) or credit_price to the contract's rate",
                              code="price_not_found") from None
        return Price(p.amount, p.currency, p.version, p.sku)

    # ------------------------------------------------------------ records
    def record(self, day: date, part: Part, cost: Decimal, currency: str, source: str, *, list_unit: Decimal | None,
               version: str | None, sku: str | None) -> CostRecord:
        name, cat, sub = service(part.service_type, part.rating)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        bp = periods.month_period(day)
        return CostRecord(
            ProviderName=PROVIDER, PublisherName=PROVIDER, InvoiceIssuerName=PROVIDER, BillingAccountId=self.account,
            BillingAccountName=self.org_name, SubAccountId=self.account, SubAccountName=self.cfg.account_name,
            ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(days=1), BillingPeriodStart=bp[0],
            BillingPeriodEnd=bp[1], BilledCost=cost, EffectiveCost=cost, ListCost=cost, ContractedCost=cost,
            BillingCurrency=currency, PricingCurrency=currency, ChargeCategory=part.category,
            ChargeFrequency="Usage-Based", ChargeDescription=part.description[:1000], ServiceName=name,
            ServiceCategory=cat, ServiceSubcategory=sub, ResourceId=part.resource, ResourceName=part.resource,
            ResourceType=part.resource_type, RegionId=self.cfg.region.lower(), RegionName=self.cfg.region,
            SkuId=part.service_type, SkuPriceId=sku, PricingUnit=part.unit, PricingQuantity=part.quantity,
            ConsumedQuantity=part.quantity, ConsumedUnit=part.unit, ListUnitPrice=list_unit,
            ContractedUnitPrice=list_unit, PricingCategory="Standard", Tags=part.tags, x_CostSource=source,
            x_Collector=COLLECTOR, x_CatalogVersion=version, x_LineKey=part.line)

    def priced(self, day: date, parts: list[Part], price: Price, source: str) -> Iterator[CostRecord]:
        for p in parts:
            yield self.record(day, p, CONTEXT.multiply(p.quantity, price.amount), price.currency, source,
                              list_unit=price.amount, version=price.version, sku=price.sku)

    def allocated(self, day: date, parts: list[Part], total: Decimal, currency: str) -> Iterator[CostRecord]:
        for p, cost in zip(parts, allocate(total, [p.weight for p in parts])):
            yield self.record(day, p, cost, currency, "billed", list_unit=None, version=None, sku=None)


# ---------------------------------------------------------------- scopes

def usage_in_currency(run: Run, scope: str) -> Iterator[CostRecord]:
    ctx, cfg = run.ctx, run.cfg
    view = "USAGE_IN_CURRENCY_DAILY"
    start = run.read_from(scope, (view,))
    try:
        rows = ctx.clients.query(view, f"""SELECT USAGE_DATE, ORGANIZATION_NAME, ACCOUNT_NAME, ACCOUNT_LOCATOR, REGION,
  SERVICE_LEVEL, USAGE_TYPE, CURRENCY, USAGE, USAGE_IN_CURRENCY, BALANCE_SOURCE, BILLING_TYPE, RATING_TYPE, SERVICE_TYPE,
  IS_ADJUSTMENT
FROM {DB}.ORGANIZATION_USAGE.{view}
WHERE USAGE_DATE >= %(since)s AND (ACCOUNT_LOCATOR = %(locator)s OR ACCOUNT_NAME = %(name)s)""",
                                 {"since": start, "locator": run.account,
                                  "name": (cfg.account_name or run.account).upper()})
    except Exception as e:
        from .errors import to_provider_error
        err = to_provider_error(e)
        if isinstance(err, ProviderAuthError):
            ctx.note(f"{view} is not readable by this role ({err.message[:160]}): billed credits from "
                     "METERING_DAILY_HISTORY x the edition's credit price instead")
            return
        raise
    run.currency_mode = True
    run.currency_from = start
    run.mode_floor(f"{run.account}/metering_daily", "METERING_DAILY_HISTORY")
    newest = None
    for r in rows:
        d = _day(r["USAGE_DATE"])
        if not run.billable(d):
            continue
        run.org_name = run.org_name or r.get("ORGANIZATION_NAME")
        newest = max(newest, d) if newest else d
        run.currency_days.add(d)
        if _warehouse_row(r):
            run.currency_rows[d].append(r)      # the warehouses scope allocates these over its parts
            continue
        rating = (r.get("RATING_TYPE") or "").lower()
        adj = bool(r.get("IS_ADJUSTMENT"))
        billing = (r.get("BILLING_TYPE") or "consumption").lower()
        part = Part(weight=ZERO, quantity=_dec(r.get("USAGE")), unit=unit(rating),
                    service_type="CLOUD_SERVICES" if rating == "cloud_services" else
                    r.get("SERVICE_TYPE") or r.get("USAGE_TYPE") or "", resource=None, resource_type=None,
                    line=_key("currency", r.get("USAGE_TYPE"), rating, r.get("SERVICE_TYPE"), billing,
                              r.get("BALANCE_SOURCE"), adj),
                    tags={"snowflake:usage_type": str(r.get("USAGE_TYPE") or ""),
                          "snowflake:balance_source": str(r.get("BALANCE_SOURCE") or "")},
                    description=f"{r.get('USAGE_TYPE')} ({billing}, {r.get('BALANCE_SOURCE')})", rating=rating,
                    category="Credit" if billing in ("rebate", "support credit") or (adj and _dec(r.get("USAGE_IN_CURRENCY")) < 0)
                    else "Adjustment" if adj else "Usage")
        yield run.record(d, part, _dec(r.get("USAGE_IN_CURRENCY")), r.get("CURRENCY") or "USD", "billed",
                         list_unit=None, version=None, sku=None)
    run.watermark(scope, view, datetime(newest.year, newest.month, newest.day, tzinfo=UTC) + timedelta(days=1)
                  if newest else None)


def _warehouse_row(r: dict[str, Any]) -> bool:
    return ((r.get("SERVICE_TYPE") or "").upper() == "WAREHOUSE_METERING" and not r.get("IS_ADJUSTMENT")
            and (r.get("BILLING_TYPE") or "consumption").lower() == "consumption"
            and (r.get("RATING_TYPE") or "").lower() in ("compute", "cloud_services"))


def metering_daily(run: Run, scope: str) -> Iterator[CostRecord]:
    """Credits mode: each service type's billed credits × the credit price; warehouse metering's own lines
    come from the warehouses scope, its cloud-services adjustment is a line here."""
    ctx = run.ctx
    view = "METERING_DAILY_HISTORY"
    start = run.read_from(scope, (view,))
    rows = ctx.clients.query(view, f"""SELECT SERVICE_TYPE, USAGE_DATE, CREDITS_USED_COMPUTE, CREDITS_USED_CLOUD_SERVICES,
  CREDITS_USED, CREDITS_ADJUSTMENT_CLOUD_SERVICES, CREDITS_BILLED
FROM {DB}.ACCOUNT_USAGE.{view} WHERE USAGE_DATE >= %(since)s""", {"since": start})
    price = run.credit_price()
    run.metering_from = start
    run.mode_floor(f"{run.account}/usage_in_currency", "USAGE_IN_CURRENCY_DAILY")
    newest = None
    for r in rows:
        d = _day(r["USAGE_DATE"])
        st = (r.get("SERVICE_TYPE") or "").upper()
        newest = max(newest, d) if newest else d
        if not run.billable(d):
            continue
        run.metering[d][st] = r
        if st == "WAREHOUSE_METERING":
            adj = _dec(r.get("CREDITS_ADJUSTMENT_CLOUD_SERVICES"))
            part = Part(weight=ZERO, quantity=adj, unit="Credits", service_type="CLOUD_SERVICES", resource=None,
                        resource_type=None, line="cloud-services-adjustment", tags={},
                        description="daily cloud services adjustment (cloud services up to 10% of the day's compute "
                                    "are not billed)", rating="cloud_services", category="Credit")
            yield from run.priced(d, [part], price, "billed")
            continue
        part = Part(weight=ZERO, quantity=_dec(r.get("CREDITS_BILLED")), unit="Credits", service_type=st, resource=None,
                    resource_type=None, line=f"service:{st}", tags={},
                    description=f"{st}: {r.get('CREDITS_USED')} credits used, "
                                f"{r.get('CREDITS_ADJUSTMENT_CLOUD_SERVICES')} adjustment")
        yield from run.priced(d, [part], price, "billed")
    run.watermark(scope, view, datetime(newest.year, newest.month, newest.day, tzinfo=UTC) + timedelta(days=1)
                  if newest else None)


def warehouses(run: Run, scope: str) -> Iterator[CostRecord | MetricPoint]:
    ctx, cfg = run.ctx, run.cfg
    views = ("WAREHOUSE_METERING_HISTORY",) + (("QUERY_ATTRIBUTION_HISTORY",) if cfg.attribution else ())
    start = run.read_from(scope, views)
    for other in (run.currency_from, run.metering_from):
        if other is not None and other < start:
            start = other        # the bill's days are re-read: their parts are recomputed with them
    since = datetime(start.year, start.month, start.day, tzinfo=UTC)
    wmh = ctx.clients.query("WAREHOUSE_METERING_HISTORY", f"""SELECT START_TIME, END_TIME, WAREHOUSE_NAME,
  CREDITS_USED, CREDITS_USED_COMPUTE, CREDITS_USED_CLOUD_SERVICES
FROM {DB}.ACCOUNT_USAGE.WAREHOUSE_METERING_HISTORY WHERE START_TIME >= %(since)s""", {"since": since})
    qah: list[dict[str, Any]] = []
    if cfg.attribution:
        qah = ctx.clients.query("QUERY_ATTRIBUTION_HISTORY", f"""SELECT TO_DATE(q.START_TIME) AS USAGE_DATE,
  q.WAREHOUSE_NAME, q.USER_NAME, h.ROLE_NAME, q.QUERY_TAG,
  SUM(CAST(q.CREDITS_ATTRIBUTED_COMPUTE AS NUMBER(38, 12))) AS CREDITS, COUNT(*) AS QUERIES, MAX(q.END_TIME) AS LAST_END
FROM {DB}.ACCOUNT_USAGE.QUERY_ATTRIBUTION_HISTORY q
LEFT JOIN {DB}.ACCOUNT_USAGE.QUERY_HISTORY h ON h.QUERY_ID = q.QUERY_ID AND h.START_TIME >= %(since)s
WHERE q.START_TIME >= %(since)s
GROUP BY 1, 2, 3, 4, 5""", {"since": since})
    compute: dict[tuple[date, str], Decimal] = defaultdict(lambda: ZERO)
    cloud: dict[tuple[date, str], Decimal] = defaultdict(lambda: ZERO)
    newest = None
    for r in wmh:
        st, wh = _ts(r["START_TIME"]), str(r["WAREHOUSE_NAME"])
        c, cs = _dec(r.get("CREDITS_USED_COMPUTE")), _dec(r.get("CREDITS_USED_CLOUD_SERVICES"))
        compute[(st.date(), wh)] = CONTEXT.add(compute[(st.date(), wh)], c)
        cloud[(st.date(), wh)] = CONTEXT.add(cloud[(st.date(), wh)], cs)
        end = _ts(r["END_TIME"])
        newest = max(newest, end) if newest else end
        dims = {"account": run.account, "warehouse": wh}
        yield MetricPoint(name="snowflake.warehouse.credits_used_compute", value=c, timestamp=st, unit="Credits",
                          dimensions=dims, source=COLLECTOR)
        yield MetricPoint(name="snowflake.warehouse.credits_used_cloud_services", value=cs, timestamp=st,
                          unit="Credits", dimensions=dims, source=COLLECTOR)
    run.watermark(scope, "WAREHOUSE_METERING_HISTORY", newest)
    attributed: dict[tuple[date, str], list[dict[str, Any]]] = defaultdict(list)
    q_newest = None
    for r in qah:
        attributed[(_day(r["USAGE_DATE"]), str(r["WAREHOUSE_NAME"]))].append(r)
        if r.get("LAST_END") is not None:
            e = _ts(r["LAST_END"])
            q_newest = max(q_newest, e) if q_newest else e
    if cfg.attribution:
        run.watermark(scope, "QUERY_ATTRIBUTION_HISTORY", q_newest)
    days = sorted({d for d, _ in compute} | {d for d, _ in attributed} | set(run.currency_rows)
                  | {d for d, m in run.metering.items() if "WAREHOUSE_METERING" in m})
    price = None if run.currency_mode else run.credit_price()
    if run.hold:
        ctx.note("warehouse lines held: the currency view failed this run (the next run writes them)")
    for d in days:
        if d < start or not run.billable(d):
            continue
        whs = sorted({w for (dd, w) in compute if dd == d} | {w for (dd, w) in attributed if dd == d})
        c_parts: list[Part] = []
        cs_parts: list[Part] = []
        for wh in whs:
            total = compute.get((d, wh), ZERO)
            used = ZERO
            for a in sorted(attributed.get((d, wh), []), key=lambda a: (str(a.get("USER_NAME")), str(a.get("ROLE_NAME")),
                                                                       str(a.get("QUERY_TAG")))):
                credits = _dec(a.get("CREDITS"))
                used = CONTEXT.add(used, credits)
                user, role, tag = a.get("USER_NAME") or "", a.get("ROLE_NAME") or "", a.get("QUERY_TAG") or ""
                c_parts.append(Part(weight=credits, quantity=credits, unit="Credits", service_type="WAREHOUSE_METERING",
                                    resource=wh, resource_type="warehouse", line=_key("queries", wh, user, role, tag),
                                    tags={"snowflake:warehouse": wh, "snowflake:user": user, "snowflake:role": role,
                                          "snowflake:query_tag": tag, "snowflake:part": "queries"},
                                    description=f"{wh}: {a.get('QUERIES')} queries of {user} as {role or '-'}"
                                                + (f" tagged {tag!r}" if tag else "")))
            idle = CONTEXT.subtract(total, used)
            c_parts.append(Part(weight=idle, quantity=idle, unit="Credits", service_type="WAREHOUSE_METERING",
                                resource=wh, resource_type="warehouse", line=_key("idle", wh),
                                tags={"snowflake:warehouse": wh, "snowflake:part": "idle"},
                                description=f"{wh}: idle (metered compute credits not attributed to a query)"
                                            + (" - negative: attributed credits exceed the metered hours read so far"
                                               if idle < 0 else "")))
            cs = cloud.get((d, wh), ZERO)
            cs_parts.append(Part(weight=cs, quantity=cs, unit="Credits", service_type="CLOUD_SERVICES", resource=wh,
                                 resource_type="warehouse", line=_key("cloud-services", wh),
                                 tags={"snowflake:warehouse": wh, "snowflake:part": "cloud_services"},
                                 description=f"{wh}: cloud services credits", rating="cloud_services"))
        if run.currency_mode:
            rows = run.currency_rows.get(d, [])
            if d in run.currency_days:
                for rating, parts in (("compute", c_parts), ("cloud_services", cs_parts)):
                    rr = [r for r in rows if (r.get("RATING_TYPE") or "").lower() == rating]
                    if not rr:
                        continue
                    total = sum((_dec(r.get("USAGE_IN_CURRENCY")) for r in rr), ZERO)
                    cur = rr[0].get("CURRENCY") or "USD"
                    if not parts:
                        parts = [Part(weight=ZERO, quantity=sum((_dec(r.get("USAGE")) for r in rr), ZERO), unit="Credits",
                                      service_type="WAREHOUSE_METERING" if rating == "compute" else "CLOUD_SERVICES",
                                      resource=None, resource_type=None, line=_key("unattributed", rating), tags={},
                                      description="warehouse credits with no metered warehouse hours read",
                                      rating=rating)]
                    yield from run.allocated(d, parts, total, cur)
                continue
            # the currency view has no row for this day yet (it lags up to 72 h): estimated until it lands
            yield from run.priced(d, c_parts + cs_parts, run.credit_price(), "estimated")
            continue
        yield from run.priced(d, c_parts + cs_parts, price, "billed")
        daily = run.metering.get(d, {}).get("WAREHOUSE_METERING")
        if daily is not None:
            diff = CONTEXT.subtract(_dec(daily.get("CREDITS_USED")), sum((p.quantity for p in c_parts + cs_parts), ZERO))
            if diff != 0:
                rec = Part(weight=ZERO, quantity=diff, unit="Credits", service_type="WAREHOUSE_METERING", resource=None,
                           resource_type=None, line="reconciliation", tags={"snowflake:part": "reconciliation"},
                           description="METERING_DAILY_HISTORY warehouse credits not yet in WAREHOUSE_METERING_HISTORY")
                yield from run.priced(d, [rec], price, "billed")


def storage(run: Run, scope: str) -> Iterator[CostRecord | MetricPoint]:
    ctx = run.ctx
    views = ("STORAGE_USAGE", "DATABASE_STORAGE_USAGE_HISTORY")
    start = run.read_from(scope, views)
    if run.currency_from is not None and run.currency_from < start:
        start = run.currency_from
    su = ctx.clients.query("STORAGE_USAGE", f"""SELECT USAGE_DATE, STORAGE_BYTES, STAGE_BYTES, FAILSAFE_BYTES
FROM {DB}.ACCOUNT_USAGE.STORAGE_USAGE WHERE USAGE_DATE >= %(since)s""", {"since": start})
    dsu = ctx.clients.query("DATABASE_STORAGE_USAGE_HISTORY", f"""SELECT USAGE_DATE, DATABASE_NAME,
  AVERAGE_DATABASE_BYTES, AVERAGE_FAILSAFE_BYTES
FROM {DB}.ACCOUNT_USAGE.DATABASE_STORAGE_USAGE_HISTORY WHERE USAGE_DATE >= %(since)s""", {"since": start})
    parts: dict[date, list[Part]] = defaultdict(list)
    newest: dict[str, date] = {}
    for r in sorted(dsu, key=lambda r: (str(r["USAGE_DATE"]), str(r["DATABASE_NAME"]))):
        d, name = _day(r["USAGE_DATE"]), str(r["DATABASE_NAME"])
        newest["DATABASE_STORAGE_USAGE_HISTORY"] = max(newest.get("DATABASE_STORAGE_USAGE_HISTORY", d), d)
        ts = datetime(d.year, d.month, d.day, tzinfo=UTC)
        for kind, col in (("database", "AVERAGE_DATABASE_BYTES"), ("failsafe", "AVERAGE_FAILSAFE_BYTES")):
            b = _dec(r.get(col))
            yield MetricPoint(name=f"snowflake.storage.{kind}_bytes", value=b, timestamp=ts, unit="Bytes",
                              dimensions={"account": run.account, "database": name, "region": run.cfg.region},
                              source=COLLECTOR)
            parts[d].append(_storage_part(d, b, f"databases/{name}", "database", f"{kind}:{name}",
                                          f"{name}: {kind} storage, average bytes of the day", kind))
    for r in su:
        d = _day(r["USAGE_DATE"])
        newest["STORAGE_USAGE"] = max(newest.get("STORAGE_USAGE", d), d)
        b = _dec(r.get("STAGE_BYTES"))
        yield MetricPoint(name="snowflake.storage.stage_bytes", value=b, timestamp=datetime(d.year, d.month, d.day, tzinfo=UTC),
                          unit="Bytes", dimensions={"account": run.account, "region": run.cfg.region}, source=COLLECTOR)
        parts[d].append(_storage_part(d, b, "stages", "stage", "stage", "internal stages: bytes of the day", "stage"))
    for v, d in newest.items():
        run.watermark(scope, v, datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(days=1))
    price = run.storage_price()
    for d in sorted(parts):
        if not run.billable(d):
            continue
        if run.currency_mode:
            if d in run.currency_days:
                continue     # the currency view's storage rows are that day's bill (usage_in_currency scope)
            yield from run.priced(d, parts[d], price, "estimated")
            continue
        yield from run.priced(d, parts[d], price, "billed")


def _storage_part(d: date, b: Decimal, resource: str, rtype: str, line: str, desc: str, kind: str) -> Part:
    days = Decimal(_days_in_month(d))
    qty = CONTEXT.divide(CONTEXT.divide(b, TB), days).quantize(QTY, rounding=ROUND_HALF_EVEN)
    return Part(weight=b, quantity=qty, unit="TB-Months", service_type="STORAGE", resource=resource, resource_type=rtype,
                line=line, tags={"snowflake:storage": kind}, description=desc, rating="storage")


def _days_in_month(d: date) -> int:
    start, end = periods.month_period(d)
    return (end - start).days


# ---------------------------------------------------------------- entry point

def collect(ctx: Any) -> Iterable[CostRecord | MetricPoint]:
    run = Run(ctx)
    acct = run.account
    ctx.clients.run = run
    if ctx.config.currency_usage:
        with ctx.scope(f"{acct}/usage_in_currency") as st:
            yield from usage_in_currency(run, f"{acct}/usage_in_currency")
        # failed for another reason than a missing grant: writing credits-priced lines now would mix two bills
        run.hold = bool(st.errors)
    if not run.hold and not run.currency_mode:
        with ctx.scope(f"{acct}/metering_daily"):
            yield from metering_daily(run, f"{acct}/metering_daily")
    with ctx.scope(f"{acct}/warehouses"):
        yield from warehouses(run, f"{acct}/warehouses")
    with ctx.scope(f"{acct}/storage"):
        yield from storage(run, f"{acct}/storage")
