"""The ``gcp`` collector: inventory × catalog estimates, Cloud Monitoring utilisation and usage, and billed
cost from the BigQuery billing export, over the configured projects (or every project the identity can
list).

Per project (each a scope of its own, so one project's PERMISSION_DENIED is that scope's error and the
others land): ``<project>/project`` (its billing account), ``<project>/compute`` (instances and disks),
``<project>/assets`` (GKE clusters, Cloud Run services and functions, Cloud SQL, buckets; one Cloud
Asset ``assets.list``), ``<project>/monitoring`` (≤ 10 aggregated ``timeSeries.list`` calls for the
closed days, once per ``metrics_interval_hours``). Then ``billing-export/<table>`` and
``focus-export/<table>`` (billed; see :mod:`.billing_export`), once per ``billing_interval_hours``.

Declared by :data:`SPEC`; settings in :class:`GcpConfig`. The SDK-free modules here import no Google
library: :mod:`.session` imports ``requests`` / ``google.auth`` when clients are made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator

from ...collectors.config import CollectorConfig
from ...collectors.registry import CollectorSpec, Permissions, Schedule, register
from ...focus import UTC, CostRecord, MetricPoint, day_floor
from ...money import CONTEXT
from . import billing_export as bq
from . import inventory as inv
from . import monitoring as mon

GIB = Decimal(1024) ** 3
PRICES = ("compute_vcpu", "compute_ram", "gpu", "pd", "gke", "cloudsql_vcpu", "cloudsql_ram", "cloudsql_storage",
          "cloudsql_shared", "gcs", "run_cpu", "run_memory", "run_requests", "functions_invocations",
          "functions_memory", "functions_cpu")


@dataclass(frozen=True)
class GcpConfig(CollectorConfig):
    projects: list[str] = field(default_factory=list, metadata={
        "help": "project ids to inventory (empty: every ACTIVE project Resource Manager projects.search returns)"})
    exclude_projects: list[str] = field(default_factory=list)
    billing_account_id: str | None = field(default=None, metadata={
        "help": "BillingAccountId of the estimates (default: each project's, from Cloud Billing getBillingInfo)"})
    inventory: bool = True                   # Compute Engine, GKE, Cloud Run/functions, Cloud SQL, buckets
    monitoring: bool = True                  # utilisation and request/bytes usage (Cloud Monitoring)
    metrics_interval_hours: float = 24       # closed days, pulled once a day
    metrics_backfill_days: int = 3
    monitoring_page_size: int = 100000       # points per timeSeries.list page (the API's maximum)
    page_size: int = 500                     # Compute maxResults; Cloud Asset pages hold up to 1000
    billing_export_table: str | None = field(default=None, metadata={
        "help": "project.dataset.gcp_billing_export_v1_<ACCOUNT> (standard) or ..._resource_v1_<ACCOUNT> (detailed)"})
    focus_export_table: str | None = field(default=None, metadata={
        "help": "project.gcp_billing_immutable_<ACCOUNT>_<LOCATION>.gcp_billing_export_focus_<ACCOUNT> (preview)"})
    billing_query_project: str | None = field(default=None, metadata={
        "help": "project the BigQuery jobs run in (Job User there); default: the table's project"})
    billing_location: str | None = None      # the export dataset's location (US, EU, a region)
    billing_interval_hours: float = 6        # the export lands a few times a day; each query bills bytes
    max_bytes_billed: int = 50 * 1024 ** 3   # maximumBytesBilled of each query: a runaway scan fails, it does not bill
    query_page_size: int = 10000

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        for name in ("metrics_interval_hours", "billing_interval_hours"):
            if getattr(self, name) <= 0:
                out.append((name, "a positive number of hours"))
        if not 1 <= self.monitoring_page_size <= 100000:
            out.append(("monitoring_page_size", "between 1 and 100000"))
        if not 1 <= self.page_size <= 500:
            out.append(("page_size", "between 1 and 500 (Compute's maxResults)"))
        if not 0 <= self.metrics_backfill_days <= 14:
            out.append(("metrics_backfill_days", "between 0 and 14"))
        if self.max_bytes_billed < 10 * 1024 ** 2:
            out.append(("max_bytes_billed", "at least 10 MiB (BigQuery bills at least 10 MiB a query)"))
        for name in ("billing_export_table", "focus_export_table"):
            v = getattr(self, name)
            if v is not None and not bq._TABLE.match(v):
                out.append((name, "project.dataset.table"))
        return out


SPEC = register(CollectorSpec(
    name="gcp",
    provider="gcp",
    runtime="cloud-functions",
    schedule=Schedule.every(hours=1),
    module="cloudtally.providers.gcp.collector",
    config=GcpConfig,
    sdk_extra="gcp",
    description="Compute Engine (machine types incl. custom, GPUs, Spot, disks), GKE, Cloud Run and Cloud Functions, "
                "Cloud SQL and Cloud Storage priced from the catalog; Cloud Monitoring utilisation (aggregated "
                "timeSeries.list per metric type and project); billed cost from the BigQuery billing export.",
    permissions=Permissions(gcp=(
        "roles/browser",                 # projects.search, getBillingInfo (resourcemanager.projects.get)
        "roles/compute.viewer",          # instances / disks aggregatedList
        "roles/cloudasset.viewer",       # assets.list: GKE, Cloud Run, functions, Cloud SQL, buckets
        "roles/monitoring.viewer",       # timeSeries.list
        "roles/bigquery.dataViewer",     # the billing export dataset
        "roles/bigquery.jobUser",        # query jobs in the billing project
    )),
    prices=PRICES,
    fixtures="gcp",
    errors="cloudtally.providers.gcp.errors:to_provider_error",
    memory_mb=1024,
    timeout_s=540,                       # Cloud Functions' limit for event-driven functions
    runtime_modules=("cloudtally.collectors.delivery", "cloudtally.collectors.api_state",
                     "cloudtally.providers.gcp.session", "cloudtally.providers.gcp.errors", "requests", "google.auth",
                     "google.auth.transport.requests"),
))


def make_clients(config: GcpConfig, secrets: Any = None) -> Any:
    from .session import GcpClients
    return GcpClients()


# ---------------------------------------------------------------------------------------------- discovery
def list_projects(ctx: Any) -> list[tuple[str, str | None]]:
    """(project id, name) of the configured projects, or of every ACTIVE project the identity can see."""
    cfg: GcpConfig = ctx.config
    if cfg.projects:
        out = [(p, None) for p in cfg.projects]
    else:
        out = []
        for page in ctx.clients.pages("cloudresourcemanager", "projects.search", "/v3/projects:search",
                                      params={"query": "state:ACTIVE", "pageSize": 500}):
            out.extend((p["projectId"], p.get("displayName")) for p in page.get("projects") or []
                       if p.get("state", "ACTIVE") == "ACTIVE")
    skip = set(cfg.exclude_projects)
    return [(p, n) for p, n in out if p not in skip]


def billing_account(ctx: Any, project: str) -> str | None:
    """The project's billing account id (``billingAccounts/01A2B3-...`` → ``01A2B3-...``); None if billing is off."""
    doc = ctx.clients.get("cloudbilling", "projects.getBillingInfo", f"/v1/projects/{project}/billingInfo")
    if not doc.get("billingEnabled") or not doc.get("billingAccountName"):
        ctx.note(f"{project}: billing is not enabled; nothing to estimate")
        return None
    return str(doc["billingAccountName"]).rsplit("/", 1)[-1]


def aggregated(ctx: Any, project: str, kind: str) -> Iterator[dict[str, Any]]:
    """Every instance or disk of a project across zones and regions (``<kind>.aggregatedList``, paged)."""
    for page in ctx.clients.pages("compute", f"{kind}.aggregatedList", f"/compute/v1/projects/{project}/aggregated/{kind}",
                                  params={"maxResults": ctx.config.page_size, "returnPartialSuccess": "true"}):
        for where, scoped in (page.get("items") or {}).items():
            warning = scoped.get("warning") or {}
            if warning and warning.get("code") != "NO_RESULTS_ON_PAGE":
                ctx.note(f"{project} {kind} {where}: {warning.get('code')}: {warning.get('message', '')}"[:300])
            yield from scoped.get(kind) or []
        for where in page.get("unreachables") or []:
            ctx.note(f"{project} {kind}: {where} unreachable: its resources are missing from this run")


def list_assets(ctx: Any, project: str) -> dict[str, list[dict[str, Any]]]:
    """The project's GKE clusters, Cloud Run services, 1st-gen functions, Cloud SQL instances and buckets."""
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in inv.ASSET_TYPES.values()}
    for page in ctx.clients.pages("cloudasset", "assets.list", f"/v1/projects/{project}/assets",
                                  params={"assetTypes": list(inv.ASSET_TYPES), "contentType": "RESOURCE",
                                          "pageSize": 1000}):
        for a in page.get("assets") or []:
            kind = inv.ASSET_TYPES.get(a.get("assetType"))
            if kind is None:
                continue
            res = a.get("resource") or {}
            out[kind].append({"name": a.get("name", ""), "location": res.get("location"), "data": res.get("data") or {}})
    return out


# ---------------------------------------------------------------------------------------------- monitoring
def metrics_period(ctx: Any, scope: str) -> tuple[datetime, datetime, int] | None:
    """The pull's ``[start, end)`` and alignment period: the closed days since the last pull (scheduled runs,
    once per ``metrics_interval_hours``), or the agent's window."""
    if ctx.fixed_window:
        start, end = ctx.window.start, ctx.window.end
        return start, end, max(60, int((end - start).total_seconds()))
    days = ctx.metric_days_due(scope, "metrics", ctx.config.metrics_interval_hours, ctx.config.metrics_backfill_days)
    if days is None:
        return None
    ctx.set_mark(scope, "metrics", days[1])
    return days[0], days[1], 86400


def monitoring_pull(ctx: Any, est: inv.Estimator, project: str, instances: list[dict[str, Any]],
                    assets: dict[str, list[dict[str, Any]]]) -> Iterator[CostRecord | MetricPoint]:
    """Utilisation metric points, and the usage-based estimates of Cloud Run, functions and buckets."""
    scope = f"{project}/monitoring"
    period = metrics_period(ctx, scope)
    if period is None:
        return
    start, end, period_s = period
    running = [i for i in instances if i.get("status") == "RUNNING"]
    by_id = {str(i.get("id")): i for i in running}
    gpu_ids = set()
    for i in running:
        shape = inv.machine_shape(ctx.catalog, inv.last(i.get("machineType")))
        if i.get("guestAccelerators") or (shape is not None and shape.gpus):
            gpu_ids.add(str(i.get("id")))
    run = [s for s in (inv.run_service(a) for a in assets.get("run_services") or []) if s is not None]
    gen1 = [inv.function_gen1(a) for a in assets.get("functions_gen1") or []]
    buckets = {b["data"].get("name") or b["name"].rsplit("/", 1)[-1]: b["data"] for b in assets.get("buckets") or []}
    have = {"instances": bool(running), "gpu_instances": bool(gpu_ids), "run": bool(run), "functions": bool(gen1),
            "buckets": bool(buckets)}
    results: dict[str, list[mon.Series]] = {}
    for query in mon.QUERIES:
        if have[query.needs]:
            results[query.key] = mon.list_time_series(ctx.clients, project, query, start, end, period_s=period_s,
                                                      page_size=ctx.config.monitoring_page_size)

    def instance_dims(s: mon.Series) -> dict[str, str] | None:
        i = by_id.get(s.labels.get("instance_id", ""))
        if i is None:
            return None
        dims = {"resource": inv.instance_resource_id(project, i), "project": project,
                "zone": inv.last(i.get("zone")), "machine_type": inv.last(i.get("machineType")),
                "instance": i.get("name", "")}
        cluster = inv.labels(i.get("labels")).get(inv.GKE_CLUSTER_LABEL)
        if cluster:
            dims["cluster"] = cluster
        return dims

    for key in ("cpu", "memory", "disk_read", "disk_write", "network_sent", "gpu"):
        yield from mon.points(results.get(key, []), instance_dims)
    yield from _run_usage(est, project, run, results)
    yield from _function_usage(est, project, gen1, results)
    yield from _bucket_usage(est, project, buckets, results, Decimal(period_s) / Decimal(3600))


def _per_day(series: list[mon.Series], *label_names: str) -> dict[tuple, dict[date, tuple[Decimal, Decimal | None]]]:
    out: dict[tuple, dict[date, tuple[Decimal, Decimal | None]]] = {}
    for s in series:
        key = tuple(s.labels.get(n, "") for n in label_names)
        days = out.setdefault(key, {})
        for pstart, _pend, value, total in s.points:
            v0, t0 = days.get(pstart.date(), (Decimal(0), None))
            days[pstart.date()] = (CONTEXT.add(v0, value),
                                   CONTEXT.add(t0 or Decimal(0), total) if total is not None else t0)
    return out


def _run_usage(est: inv.Estimator, project: str, services: list[inv.RunService],
               results: dict[str, list[mon.Series]]) -> Iterator[CostRecord | MetricPoint]:
    """Cloud Run (and gen2 functions): requests, vCPU-seconds and GiB-seconds of billable instance time."""
    if not services:
        return
    reqs = _per_day(results.get("run_requests", []), "service_name", "location")
    secs = _per_day(results.get("run_instance_time", []), "service_name", "location")
    yield from mon.points(results.get("run_requests", []) + results.get("run_instance_time", []),
                          lambda s: {"resource": s.labels.get("service_name", ""), "project": project,
                                     "region": s.labels.get("location", "")})
    for svc in services:
        key = (svc.name, svc.region)
        p_req = est.price("run_requests", svc.region)
        p_cpu = est.price("run_cpu", svc.region)
        p_mem = est.price("run_memory", svc.region)
        if p_req is None or p_cpu is None or p_mem is None:
            continue
        rid = f"//run.googleapis.com/projects/{project}/locations/{svc.region}/services/{svc.name}"
        kind = "Cloud Run function (2nd gen)" if svc.function else "Cloud Run service"
        common = dict(service="run", region=svc.region, resource_id=rid, resource_name=svc.name,
                      resource_type=kind, tags=svc.labels)
        for day in sorted(set(reqs.get(key, {})) | set(secs.get(key, {}))):
            n = reqs.get(key, {}).get(day, (Decimal(0), None))[0]
            s = secs.get(key, {}).get(day, (Decimal(0), None))[0]
            yield est.record(day=day, price=p_req, quantity=inv.q(n), line="requests",
                             description=f"{kind} {svc.name}: requests", **common)
            yield est.record(day=day, price=p_cpu, quantity=inv.q(CONTEXT.multiply(s, svc.vcpus)), line="cpu",
                             description=f"{kind} {svc.name}: {svc.vcpus} vCPU x billable instance seconds", **common)
            yield est.record(day=day, price=p_mem, quantity=inv.q(CONTEXT.multiply(s, svc.memory_gib)), line="memory",
                             description=f"{kind} {svc.name}: {svc.memory_gib} GiB x billable instance seconds",
                             **common)


def _function_usage(est: inv.Estimator, project: str, functions: list[inv.Function1],
                    results: dict[str, list[mon.Series]]) -> Iterator[CostRecord | MetricPoint]:
    """Cloud Functions (1st gen): invocations, GiB-seconds and GHz-seconds of execution time (the per-call
    rounding up to 100 ms is not modelled; the bill has it)."""
    if not functions:
        return
    ex = _per_day(results.get("function_executions", []), "function_name", "region")
    yield from mon.points(results.get("function_executions", []),
                          lambda s: {"resource": s.labels.get("function_name", ""), "project": project,
                                     "region": s.labels.get("region", "")})
    ghz_table = est.ctx.catalog.doc.get("functions_gen1_ghz") or {}
    for fn in functions:
        ghz = ghz_table.get(str(fn.memory_mb))
        p_inv = est.price("functions_invocations", fn.region)
        p_mem = est.price("functions_memory", fn.region)
        p_cpu = est.price("functions_cpu", fn.region)
        if ghz is None:
            est.ctx.note(f"unpriced: function {fn.name}: no CPU clock for {fn.memory_mb} MB in the catalog")
            continue
        if p_inv is None or p_mem is None or p_cpu is None:
            continue
        rid = f"//cloudfunctions.googleapis.com/projects/{project}/locations/{fn.region}/functions/{fn.name}"
        mem_gib = CONTEXT.divide(Decimal(fn.memory_mb), Decimal(1024))
        common = dict(service="functions", region=fn.region, resource_id=rid, resource_name=fn.name,
                      resource_type="Cloud Function (1st gen)", tags=fn.labels)
        for day, (count, total_ns) in sorted(ex.get((fn.name, fn.region), {}).items()):
            secs = CONTEXT.divide(total_ns or Decimal(0), Decimal(10) ** 9)
            yield est.record(day=day, price=p_inv, quantity=inv.q(count), line="invocations",
                             description=f"function {fn.name}: invocations", **common)
            yield est.record(day=day, price=p_mem, quantity=inv.q(CONTEXT.multiply(secs, mem_gib)), line="memory",
                             description=f"function {fn.name}: {fn.memory_mb} MB x execution seconds", **common)
            yield est.record(day=day, price=p_cpu, quantity=inv.q(CONTEXT.multiply(secs, Decimal(str(ghz)))),
                             line="cpu", description=f"function {fn.name}: {ghz} GHz x execution seconds", **common)


def _bucket_usage(est: inv.Estimator, project: str, buckets: dict[str, dict[str, Any]],
                  results: dict[str, list[mon.Series]], hours: Decimal) -> Iterator[CostRecord | MetricPoint]:
    """Cloud Storage: the period's mean bytes per storage class, as GiB-months of the period (a day, or the
    agent's window)."""
    if not buckets:
        return
    series = results.get("storage_bytes", [])
    yield from mon.points(series, lambda s: {"resource": s.labels.get("bucket_name", ""), "project": project,
                                             "storage_class": s.labels.get("storage_class", "")})
    for (name, cls), days in sorted(_per_day(series, "bucket_name", "storage_class").items()):
        b = buckets.get(name)
        if b is None:
            continue
        region = inv.bucket_region(b)
        price = est.price("gcs", region, cls)
        if price is None:
            continue
        for day, (mean_bytes, _) in sorted(days.items()):
            gib = CONTEXT.divide(mean_bytes, GIB)
            qty = inv.q(CONTEXT.multiply(gib, inv.month_fraction(inv.Day(day, hours))))
            yield est.record(service="storage", day=day, region=region, resource_id=f"//storage.googleapis.com/{name}",
                             resource_name=name, resource_type=cls, price=price, quantity=qty, line=cls,
                             tags=inv.labels(b.get("labels")), description=f"Cloud Storage {cls} {region}: mean bytes")


# ---------------------------------------------------------------------------------------------- per project
def project_records(ctx: Any, project: str, name: str | None) -> Iterator[CostRecord | MetricPoint]:
    cfg: GcpConfig = ctx.config
    account = cfg.billing_account_id
    if account is None:
        with ctx.scope(f"{project}/project"):
            account = billing_account(ctx, project)
    if account is None:
        return
    est = inv.Estimator(ctx, account, project, name)
    instances: list[dict[str, Any]] | None = None
    assets: dict[str, list[dict[str, Any]]] | None = None
    if cfg.inventory:
        scope = f"{project}/compute"
        with ctx.scope(scope):
            w = ctx.window_for(scope)
            found = list(aggregated(ctx, project, "instances"))
            for i in found:
                yield from inv.instance_records(est, i, w)
            for d in aggregated(ctx, project, "disks"):
                yield from inv.disk_records(est, d, w)
            instances = found
        scope = f"{project}/assets"
        with ctx.scope(scope):
            w = ctx.window_for(scope)
            assets = list_assets(ctx, project)
            for c in assets["clusters"]:
                yield from inv.cluster_records(est, c["data"], w)
                yield from _pool_points(ctx, project, c["data"], instances)
            for s in assets["sql_instances"]:
                yield from inv.sql_records(est, s["data"], w)
    if cfg.monitoring:
        with ctx.scope(f"{project}/monitoring"):
            yield from monitoring_pull(ctx, est, project, instances or [], assets or {})


def _pool_points(ctx: Any, project: str, cluster: dict[str, Any], instances: list[dict[str, Any]] | None
                 ) -> Iterator[MetricPoint]:
    """Node pools are reported (node count, autoscaling bounds), never priced: their nodes are the
    instances of ``<project>/compute``, counted there once."""
    ts = day_floor(ctx.now) if not ctx.fixed_window else ctx.window.start
    for pool in inv.node_pools(cluster, instances):
        if instances is not None and not pool["nodes"] and pool["node_count"] == 0:
            expected = sum(int(p.get("initialNodeCount") or 0) for p in cluster.get("nodePools") or []
                           if p.get("name") == pool["name"])
            if expected:
                ctx.note(f"GKE {cluster['name']}/{pool['name']}: no instances seen for the pool (nothing estimated)")
        dims = {"resource": f"//container.googleapis.com/projects/{project}/locations/{cluster.get('location')}/clusters/"
                            f"{cluster['name']}/nodePools/{pool['name']}", "project": project,
                "cluster": cluster["name"], "node_pool": str(pool["name"]), "machine_type": str(pool["machine_type"]),
                "autoscaling": "true" if pool["autoscaling"] else "false"}
        if pool["autoscaling"]:
            dims.update({"min_nodes": str(pool["min_nodes"] or 0), "max_nodes": str(pool["max_nodes"] or 0)})
        yield MetricPoint(name="gcp.gke.node_pool_nodes", value=Decimal(pool["node_count"]), timestamp=ts,
                          unit="Count", dimensions=dims, source="gcp")


# ---------------------------------------------------------------------------------------------- billed
def _billed_pull(ctx: Any, scope: str, table: str) -> tuple[Any, Any] | None:
    """(window, query function) when the scope's interval-gated pull is due, else None."""
    if not ctx.fixed_window:
        if not ctx.due(scope, "pull", ctx.config.billing_interval_hours):
            return None
        ctx.set_mark(scope, "pull", ctx.now)
    cfg: GcpConfig = ctx.config
    project = cfg.billing_query_project or table.split(".", 1)[0]

    def query(sql: str, params: dict[str, Any]) -> bq.QueryResult:
        return bq.run_query(ctx.clients, project, sql, params, location=cfg.billing_location,
                            max_bytes_billed=cfg.max_bytes_billed, page_size=cfg.query_page_size)
    return ctx.window_for(scope), query


def _bytes(ctx: Any, table: str, result_bytes: int) -> MetricPoint:
    if hasattr(ctx.clients, "bytes_billed"):
        ctx.clients.bytes_billed += result_bytes
    return MetricPoint(name="gcp.bigquery.total_bytes_billed", value=Decimal(result_bytes), timestamp=ctx.now,
                       unit="Bytes", dimensions={"table": table, "collector": "gcp"}, source="gcp")


def billing_export_records(ctx: Any, table: str) -> Iterator[CostRecord | MetricPoint]:
    """The standard or detailed export: the usage days touched since the window start, re-aggregated whole."""
    scope = f"billing-export/{table}"
    pull = _billed_pull(ctx, scope, table)
    if pull is None:
        return
    w, query = pull
    floor = day_floor(ctx.now) - timedelta(days=ctx.config.max_backfill_days)
    touched = query(bq.touched_days_sql(table), {"export_from": w.start, "usage_floor": floor})
    days = sorted(r["usage_day"] for r in touched.rows if r.get("usage_day"))
    total = touched.bytes_billed
    rows: list[dict[str, Any]] = []
    if days:
        first = date.fromisoformat(days[0])
        usage_from = datetime(first.year, first.month, first.day, tzinfo=UTC)
        agg = query(bq.aggregate_sql(table), {"scan_from": usage_from - timedelta(days=1), "usage_from": usage_from,
                                              "days": days})
        rows, total = agg.rows, total + agg.bytes_billed
    marker = max((bq.export_marker(r.get("last_export_us")) or "" for r in touched.rows), default="")
    if marker:
        ctx.set_cursor(scope, marker)       # the newest export_time read: the next window starts at its day
    ctx.note(f"{len(days)} usage day(s) re-aggregated ({', '.join(days[:5])}{'...' if len(days) > 5 else ''}); "
             f"total_bytes_billed={total}")
    yield _bytes(ctx, table, total)
    yield from bq.billed_records(rows)


def focus_export_records(ctx: Any, table: str) -> Iterator[CostRecord | MetricPoint]:
    """The FOCUS export (preview): the window's charge days re-read whole."""
    scope = f"focus-export/{table}"
    pull = _billed_pull(ctx, scope, table)
    if pull is None:
        return
    w, query = pull
    usage_to = day_floor(w.end) + timedelta(days=1) if w.end != day_floor(w.end) else w.end
    res = query(bq.focus_sql(table), {"usage_from": day_floor(w.start), "usage_to": usage_to})
    ctx.note(f"{len(res.rows)} FOCUS daily groups; total_bytes_billed={res.bytes_billed}")
    yield _bytes(ctx, table, res.bytes_billed)
    yield from bq.focus_records(res.rows)


# ---------------------------------------------------------------------------------------------- entry point
def collect(ctx: Any) -> Iterator[CostRecord | MetricPoint]:
    """Per project: billing account, compute, assets, monitoring; then the billing export(s)."""
    cfg: GcpConfig = ctx.config
    projects: list[tuple[str, str | None]] = []
    if cfg.inventory or cfg.monitoring:
        with ctx.scope("projects"):
            projects = list_projects(ctx)
    for project, name in projects:
        yield from project_records(ctx, project, name)
    for table, fn in ((cfg.billing_export_table, billing_export_records), (cfg.focus_export_table, focus_export_records)):
        if table:
            scope = f"{'focus' if fn is focus_export_records else 'billing'}-export/{table}"
            with ctx.scope(scope):
                yield from fn(ctx, table)
