"""The Databricks collector: billed usage from the system billing tables, inventory from the SDK, and
near-real-time estimates of what is running until the billing table catches up.

Per run, whatever the workspace size: **at most two statements** (billed usage × prices; the last hours'
DBU rates of running clusters and warehouses, only when something runs) plus the list calls of the
inventory (clusters, jobs, job runs, SQL warehouses, pipelines; paginated by the SDK).

* A day whose usage the table holds to its end, ``settle_hours`` after it closed, is sent as **billed**
  (ListCost from ``system.billing.list_prices``; BilledCost from the account price table when
  ``account_price_table`` is set, else the list price). Before that, the same groups are sent as
  **estimated**, plus, per running cluster and warehouse, the hours since the table's last row for it at
  its observed DBU rate, priced from the catalog's DBU list price by SKU family, cloud and tier. Billed
  supersedes estimated per account and day, so the estimate counts until the bill is there.
* Records are per UTC day, resource (SQL warehouse, pipeline, job, serving endpoint, cluster, notebook)
  and attribution group (custom tags, ``identity_metadata.run_as``, job run): see :mod:`.billed`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable, Iterator, Literal

from ...collectors.config import CollectorConfig
from ...collectors.registry import CollectorSpec, Permissions, Schedule, SecretRef, register

TOKEN = SecretRef("databricks-token", "Databricks personal access token (or a service principal's OAuth secret "
                  "as a PAT) of an identity that can use the SQL warehouse and read system.billing",
                  env=("DATABRICKS_TOKEN",))
ENV_HOST = "DATABRICKS_HOST"
ENV_WAREHOUSE = "DATABRICKS_WAREHOUSE_ID"


@dataclass(frozen=True)
class DatabricksConfig(CollectorConfig):
    host: str = field(default="", metadata={"help": "workspace URL (default: DATABRICKS_HOST)"})
    warehouse_id: str = field(default="", metadata={"help": "SQL warehouse that runs the billing statements "
                                                            "(default: DATABRICKS_WAREHOUSE_ID)"})
    workspace_id: str | None = field(default=None, metadata={"help": "this workspace's id (names its SubAccount)"})
    workspace_name: str | None = field(default=None, metadata={"help": "SubAccountName of workspace_id"})
    account_id: str | None = field(default=None, metadata={"help": "BillingAccountId; default: the table's account_id"})
    catalog: str = field(default="system", metadata={"help": "catalog holding the billing schema"})
    account_price_table: str | None = field(default=None, metadata={
        "help": "a table of the account's own prices (same columns as system.billing.list_prices, e.g. "
                "system.billing.account_prices): BilledCost from it, ListCost from the list prices"})
    cloud: Literal["AWS", "AZURE", "GCP"] | None = field(default=None, metadata={"help": "default: from the host"})
    tier: Literal["STANDARD", "PREMIUM", "ENTERPRISE"] = field(default="PREMIUM", metadata={
        "help": "pricing tier for warehouses without observed usage (SKUs name their own tier)"})
    settle_hours: int = field(default=12, metadata={"help": "hours after a day's end before it is billed "
                                                            "(the table is typically complete within 12 h)"})
    estimates: bool = True                       # extrapolate running clusters/warehouses past the table's end
    rate_lookback_hours: int = 24                # statement 2 reads this many hours of hourly DBUs
    job_runs_lookback_hours: int = 24            # job runs inventoried (the agent's collect_job_metrics)
    disposition: Literal["EXTERNAL_LINKS", "INLINE"] = field(default="EXTERNAL_LINKS", metadata={
        "help": "results by presigned links (any size) or inline chunks (<= 25 MiB)"})
    statement_timeout_s: int = 600
    trailing_days: int = 7                       # corrections (RETRACTION/RESTATEMENT) arrive days later
    initial_days: int = 7

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if self.host and not self.host.startswith(("https://", "http://")):
            out.append(("host", "the workspace URL, https://..."))
        if not 0 <= self.settle_hours <= 96:
            out.append(("settle_hours", "between 0 and 96"))
        if not 1 <= self.rate_lookback_hours <= 72:
            out.append(("rate_lookback_hours", "between 1 and 72"))
        if not 1 <= self.job_runs_lookback_hours <= 24 * 60:
            out.append(("job_runs_lookback_hours", "between 1 and 1440"))
        if not 10 <= self.statement_timeout_s <= 3600:
            out.append(("statement_timeout_s", "between 10 and 3600"))
        for name in ("catalog", "account_price_table"):
            v = getattr(self, name)
            if v is not None and not all(p.replace("_", "").isalnum() for p in v.split(".")):
                out.append((name, "an identifier (catalog[.schema.table]) of letters, digits and _"))
        return out


SPEC = register(CollectorSpec(
    name="databricks",
    provider="databricks",
    module="cloudtally.providers.databricks.collector",
    schedule=Schedule.every(hours=1, offset_minutes=20),
    runtime="lambda",
    config=DatabricksConfig,
    sdk_extra="databricks",
    description="Billed usage from system.billing.usage x list_prices (Statement Execution API, <= 2 statements a "
                "run), clusters/jobs/warehouses/pipelines inventory, and estimates of running compute until the "
                "billing table catches up.",
    permissions=Permissions(),
    secrets=(TOKEN,),
    prices=("dbu",),
    fixtures="databricks",
    errors="cloudtally.providers.databricks.errors:to_provider_error",
    memory_mb=512,
    timeout_s=900,
))

from ... import periods  # noqa: E402
from ...catalog import PriceNotFound  # noqa: E402
from ...focus import UTC, CostRecord, MetricPoint, day_floor, parse_time  # noqa: E402
from ...money import CONTEXT  # noqa: E402
from . import PROVIDER  # noqa: E402
from .billed import Group, parse_groups, rates_statement, record, usage_statement  # noqa: E402
from .session import DatabricksClients  # noqa: E402
from .taxonomy import classify, cloud_of_host  # noqa: E402

COLLECTOR = "databricks"
QTY = Decimal("0.000001")
RUNNING_CLUSTER = ("RUNNING", "RESIZING")
RUNNING_WAREHOUSE = ("RUNNING",)


def make_clients(config: DatabricksConfig, secrets: Any) -> DatabricksClients:
    return DatabricksClients(config.host or os.environ.get(ENV_HOST, ""), secrets.get(TOKEN.name),
                             warehouse_id=config.warehouse_id or os.environ.get(ENV_WAREHOUSE, ""),
                             disposition=config.disposition, statement_timeout_s=config.statement_timeout_s)


def label(host: str) -> str:
    """The scope prefix: the workspace host without scheme (``dbc-1234.cloud.databricks.com``)."""
    return host.split("://", 1)[-1].strip("/") or "workspace"


def _ms(v: Any) -> datetime | None:
    return datetime.fromtimestamp(int(v) / 1000, UTC) if v else None


def _enum(v: Any) -> str:
    return str(getattr(v, "value", v) or "")


# ---------------------------------------------------------------- inventory

def _point(name: str, value: Any, now: datetime, dims: dict[str, Any]) -> MetricPoint:
    return MetricPoint(name=name, value=Decimal(value), timestamp=now, unit="Count",
                       dimensions={k: str(v)[:256] for k, v in dims.items() if v not in (None, "")}, source=COLLECTOR)


def inventory_calls(ctx: Any) -> tuple[tuple[str, Any], ...]:
    """(kind, fetch) for each inventoried kind; the SDK pages each list."""
    w = ctx.clients.workspace
    runs_from = int((ctx.now - timedelta(hours=ctx.config.job_runs_lookback_hours)).timestamp() * 1000)
    return (("clusters", lambda: list(w.clusters.list())), ("warehouses", lambda: list(w.warehouses.list())),
            ("jobs", lambda: list(w.jobs.list())), ("pipelines", lambda: list(w.pipelines.list_pipelines())),
            ("job-runs", lambda: list(w.jobs.list_runs(start_time_from=runs_from))))


def _points(kind: str, items: list[Any], now: datetime, ws: str) -> Iterator[MetricPoint]:
    for it in items:
        if kind == "clusters":
            state = _enum(it.state)
            auto = it.autoscale
            dims = {"workspace": ws, "resource": f"clusters/{it.cluster_id}", "cluster_id": it.cluster_id,
                    "cluster_name": it.cluster_name, "state": state, "node_type": it.node_type_id,
                    "driver_node_type": it.driver_node_type_id, "workers": it.num_workers,
                    "autoscale_min": auto.min_workers if auto else None, "autoscale_max": auto.max_workers if auto else None,
                    "source": _enum(it.cluster_source), "owner": it.creator_user_name, "spark_version": it.spark_version,
                    "start_time": it.start_time, **{f"tag:{k}": v for k, v in sorted((it.custom_tags or {}).items())[:8]}}
            yield _point("databricks.cluster.up", 1 if state in RUNNING_CLUSTER else 0, now, dims)
            yield _point("databricks.cluster.workers", it.num_workers or 0, now, {"workspace": ws, "resource": dims["resource"]})
        elif kind == "warehouses":
            state = _enum(it.state)
            dims = {"workspace": ws, "resource": f"warehouses/{it.id}", "warehouse_id": it.id,
                    "warehouse_name": it.name, "state": state, "size": it.cluster_size,
                    "type": _enum(it.warehouse_type), "serverless": bool(it.enable_serverless_compute),
                    "min_clusters": it.min_num_clusters, "max_clusters": it.max_num_clusters,
                    "auto_stop_mins": it.auto_stop_mins, "owner": it.creator_name}
            yield _point("databricks.warehouse.up", 1 if state in RUNNING_WAREHOUSE else 0, now, dims)
            yield _point("databricks.warehouse.clusters", it.num_clusters or 0, now,
                         {"workspace": ws, "resource": dims["resource"]})
        elif kind == "jobs":
            settings = it.settings
            yield _point("databricks.job.defined", 1, now, {
                "workspace": ws, "resource": f"jobs/{it.job_id}", "job_id": it.job_id,
                "job_name": settings.name if settings else None, "owner": it.creator_user_name})
        elif kind == "pipelines":
            state = _enum(it.state)
            yield _point("databricks.pipeline.up", 1 if state == "RUNNING" else 0, now, {
                "workspace": ws, "resource": f"pipelines/{it.pipeline_id}", "pipeline_id": it.pipeline_id,
                "pipeline_name": it.name, "state": state, "owner": it.creator_user_name,
                "cluster_id": it.cluster_id})
        elif kind == "job-runs":
            st = it.state
            start, end = _ms(it.start_time), _ms(it.end_time)
            secs = int((end - start).total_seconds()) if start and end else 0
            yield MetricPoint(name="databricks.job_run.duration_seconds", value=Decimal(secs), timestamp=end or start or now,
                              unit="Seconds", source=COLLECTOR, dimensions={k: str(v)[:256] for k, v in {
                                  "workspace": ws, "resource": f"jobs/{it.job_id}", "job_id": it.job_id,
                                  "run_id": it.run_id, "run_name": it.run_name,
                                  "state": _enum(st.life_cycle_state) if st else "",
                                  "result_state": _enum(st.result_state) if st else "",
                                  "start_time": start.isoformat() if start else "", "end_time": end.isoformat() if end else "",
                                  "owner": it.creator_user_name}.items() if v not in (None, "")})


# ---------------------------------------------------------------- billed and estimated

SETTLED_AFTER = timedelta(days=3)       # a day this old is billed even if the table has no newer usage (idle)


def _settled(day: date, now: datetime, high_water: datetime | None, settle_hours: int) -> bool:
    """Billed once the table holds usage past the day's end and ``settle_hours`` passed (or 3 days did: an
    account without newer usage has no later row to show the table caught up)."""
    end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    if now >= end + SETTLED_AFTER:
        return True
    return now >= end + timedelta(hours=settle_hours) and high_water is not None and high_water >= end


def billed(ctx: Any, scope: str) -> Iterator[CostRecord]:
    """Statement 1 → a record per group: billed when its day is settled, estimated before."""
    cfg: DatabricksConfig = ctx.config
    window = ctx.window_for(scope)
    today = day_floor(ctx.now).date()
    if ctx.fixed_window:
        since = floor = window.start.date()
    else:
        since = window.start.date()
        floor = today - timedelta(days=cfg.max_backfill_days)
    params = {"since": since, "floor": floor, "until": window.end.date() + timedelta(days=1),
              "recent": today - timedelta(days=2)}
    res = ctx.clients.query(usage_statement(cfg.catalog, cfg.account_price_table), params, what="billed usage statement")
    rows = list(res.dicts())
    high = max((parse_time(r["high_water"]) for r in rows if r.get("high_water")), default=None)
    ctx.clients.high_water = high
    groups = list(parse_groups(iter(rows)))
    ctx.clients.groups = groups
    names = {cfg.workspace_id: cfg.workspace_name} if cfg.workspace_id and cfg.workspace_name else {}
    newest: date | None = None
    for g in groups:
        if g.ingested and (newest is None or g.ingested > newest):
            newest = g.ingested
        if g.list_price is None:
            ctx.note(f"unpriced: {g.sku} ({g.cloud}, {g.usage_unit}) has no list price for {g.day}: "
                     f"{g.quantity} {g.usage_unit} not costed")
            continue
        settled = _settled(g.day, ctx.now, high, cfg.settle_hours)
        yield record(g, collector=COLLECTOR, source="billed" if settled else "estimated", workspace_names=names,
                     account_id=cfg.account_id,
                     description="" if settled else f"{g.sku} on {g.day}: billing table so far (day not settled)")
    if newest is not None and not ctx.fixed_window:
        ctx.set_cursor(scope, newest.isoformat())


def _q(v: Decimal) -> Decimal:
    return v.quantize(QTY, rounding=ROUND_HALF_EVEN, context=CONTEXT)


def estimates(ctx: Any, ws: str, inv: dict[str, list[Any]], account: str | None) -> Iterator[CostRecord]:
    """Running clusters and warehouses past the billing table's end: observed DBU/h (statement 2) × hours ×
    the catalog's DBU list price; days already settled are left to the bill."""
    cfg: DatabricksConfig = ctx.config
    now = ctx.now
    running = {f"clusters/{c.cluster_id}": c for c in inv.get("clusters", []) if _enum(c.state) in RUNNING_CLUSTER}
    running.update({f"warehouses/{w.id}": w for w in inv.get("warehouses", []) if _enum(w.state) in RUNNING_WAREHOUSE})
    if not running:
        return
    since = now - timedelta(hours=cfg.rate_lookback_hours)
    res = ctx.clients.query(rates_statement(cfg.catalog), {"since_date": since.date(), "since": since},
                            what="DBU rate statement")
    latest: dict[str, tuple[datetime, datetime, Decimal, str, str]] = {}
    for r in res.dicts():
        rid = f"clusters/{r['cluster_id']}" if r.get("cluster_id") else f"warehouses/{r['warehouse_id']}"
        start, end = parse_time(r["usage_start"]), parse_time(r["usage_end"])
        qty = Decimal(r["quantity"] or "0")
        prev = latest.get(rid)
        if prev is None or end > prev[1]:
            latest[rid] = (start, end, qty, r["sku_name"] or "", r["cloud"] or "")
        elif end == prev[1] and r["sku_name"] == prev[3]:
            latest[rid] = (start, end, CONTEXT.add(prev[2], qty), prev[3], prev[4])
    high = getattr(ctx.clients, "high_water", None)
    cloud_default = cfg.cloud or cloud_of_host(ctx.clients.host)
    acct = account or next((g.account for g in getattr(ctx.clients, "groups", []) if g.account), None)
    if not acct:
        ctx.note("no account id yet (no billed usage read and account_id unset): estimates skipped")
        return
    for rid, obj in sorted(running.items()):
        obs = latest.get(rid)
        if obs is not None:
            start, end, qty, sku, cloud = obs
            hours = Decimal(int((end - start).total_seconds())) / Decimal(3600)
            if hours <= 0:
                continue
            rate = CONTEXT.divide(qty, hours)
            gap_start = end
        elif rid.startswith("warehouses/"):
            size_rate = ctx.catalog.doc.get("sql_warehouse_dbu_per_hour", {}).get(obj.cluster_size or "")
            if size_rate is None:
                ctx.note(f"unpriced: {rid} size {obj.cluster_size!r} has no DBU rate in {ctx.catalog.label}")
                continue
            family = ("SERVERLESS_SQL_COMPUTE" if obj.enable_serverless_compute else
                      "SQL_PRO_COMPUTE" if _enum(obj.warehouse_type) == "PRO" else "SQL_COMPUTE")
            sku, cloud = f"{cfg.tier}_{family}", cloud_default
            rate = CONTEXT.multiply(Decimal(str(size_rate)), Decimal(max(int(obj.num_clusters or 1), 1)))
            gap_start = high or day_floor(now)
        else:
            ctx.note(f"unestimated: {rid} has no usage in the billing table's last {cfg.rate_lookback_hours} h "
                     "(no observed DBU rate yet)")
            continue
        started = _ms(getattr(obj, "start_time", None))
        if started is not None and started > gap_start:
            gap_start = started
        info = classify(sku)
        try:
            price = ctx.catalog.price("dbu", cloud or cloud_default, info.tier or cfg.tier, info.sku_family)
        except PriceNotFound as e:
            ctx.note(f"unpriced: {rid} {sku}: {e.message}")
            continue
        name = getattr(obj, "cluster_name", None) or getattr(obj, "name", None)
        for d, a, b in _day_slices(gap_start, now):
            if _settled(d, now, high, cfg.settle_hours) or b <= a:
                continue
            qty = _q(CONTEXT.multiply(rate, Decimal(int((b - a).total_seconds())) / Decimal(3600)))
            yield _estimate(ctx, acct, cfg.workspace_id, d, rid, name, sku, info, price, qty, a, b)


def _day_slices(start: datetime, end: datetime) -> Iterator[tuple[date, datetime, datetime]]:
    d = day_floor(start)
    while d < end:
        nxt = d + timedelta(days=1)
        yield d.date(), max(d, start), min(nxt, end)
        d = nxt


def _estimate(ctx: Any, account: str, workspace: str | None, d: date, rid: str, name: str | None, sku: str,
              info: Any, price: Any, qty: Decimal, a: datetime, b: datetime) -> CostRecord:
    start = datetime(d.year, d.month, d.day, tzinfo=UTC)
    cost = price.cost(qty)
    bp = periods.month_period(d)
    return CostRecord(
        ProviderName=PROVIDER, PublisherName=PROVIDER, InvoiceIssuerName=PROVIDER, BillingAccountId=account,
        SubAccountId=workspace, ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(days=1),
        BillingPeriodStart=bp[0], BillingPeriodEnd=bp[1], BilledCost=cost, EffectiveCost=cost, ListCost=cost,
        ContractedCost=cost, BillingCurrency=price.currency, PricingCurrency=price.currency, ChargeCategory="Usage",
        ChargeFrequency="Usage-Based", ServiceName=info.service_name, ServiceCategory=info.service_category,
        ServiceSubcategory=info.service_subcategory, ResourceId=rid, ResourceName=name,
        ResourceType="sql-warehouse" if rid.startswith("warehouses/") else "cluster", SkuId=sku,
        SkuPriceId=price.sku, PricingUnit=price.unit, PricingQuantity=qty, ConsumedQuantity=qty, ConsumedUnit=price.unit,
        ListUnitPrice=price.amount, ContractedUnitPrice=price.amount, PricingCategory="Standard",
        ChargeDescription=f"{name or rid} running {a:%H:%M}-{b:%H:%M} UTC past the billing table's end: observed DBU/h "
                          f"x {price.sku}",
        x_CostSource="estimated", x_Collector=COLLECTOR, x_CatalogVersion=price.version, x_LineKey="extrapolated")


# ---------------------------------------------------------------- entry point

def collect(ctx: Any) -> Iterable[CostRecord | MetricPoint]:
    """Inventory (one scope per kind), billed usage, then the estimates of what runs past the table's end."""
    cfg: DatabricksConfig = ctx.config
    ws = cfg.workspace_id or label(ctx.clients.host)
    inv: dict[str, list[Any]] = {}
    for kind, fetch in inventory_calls(ctx):
        with ctx.scope(f"{ws}/{kind}"):
            inv[kind] = fetch()
            yield from _points(kind, inv[kind], ctx.now, ws)
    ctx.clients.inventory = inv
    with ctx.scope(f"{ws}/billing"):
        yield from billed(ctx, f"{ws}/billing")
    if cfg.estimates:
        with ctx.scope(f"{ws}/estimates"):
            yield from estimates(ctx, ws, inv, cfg.account_id)
