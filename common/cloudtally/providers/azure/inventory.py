"""Inventory × catalog estimates per subscription, from the ARM list APIs (one call per page per type).

* ``<sub>/compute``: VMs (``statusOnly=true`` gives the power state in the same pages), uniform scale sets
  (AKS node pools among them: counted here, once), managed disks by tier, AKS control planes (Standard /
  Premium tier; Free costs nothing); VM and scale set utilisation (metrics:getBatch) once a day;
* ``<sub>/functions``: Function apps by plan — Consumption and Flex Consumption from executions and GB-s
  (metrics, closed days), Premium (EP) and Dedicated plans from instance hours;
* ``<sub>/sql``: databases (DTU or vCore + storage) and elastic pools; pooled databases are priced by their pool;
* ``<sub>/storage``: blob capacity by access tier (metrics, closed days) × the tier's GB-month price.

A VM or scale set counts the hours since it was created or last (re)started (the provisioning time of the
instance view) within each day of the window; a deallocated VM costs no compute. Everything the catalog
cannot price is a note on the scope (``unpriced: ...``), never a guess.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterator

from ...focus import CostRecord, MetricPoint
from ...money import CONTEXT
from . import monitor
from .records import (GIB, estimate, lower_id, parse_arm_time, price, q, quantity, running_hours, tags)
from .session import url

API = {"subscriptions": "2022-12-01", "compute": "2024-07-01", "disks": "2024-03-02", "aks": "2024-09-01",
       "web": "2024-04-01", "sql": "2023-08-01", "storage": "2023-05-01"}
RUNNING = {"running", "starting", "stopped", "stopping"}      # "stopped" (not deallocated) still bills compute
DISK_SIZES = (4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)
DISK_TIERS = {"premium_lrs": ("P", (1, 2, 3, 4, 6, 10, 15, 20, 30, 40, 50, 60, 70, 80)),
              "standardssd_lrs": ("E", (1, 2, 3, 4, 6, 10, 15, 20, 30, 40, 50, 60, 70, 80)),
              "standard_lrs": ("S", (4, 4, 4, 4, 6, 10, 15, 20, 30, 40, 50, 60, 70, 80))}
FUNCTION_METRICS = {"Dynamic": ("consumption", "FunctionExecutionCount", "FunctionExecutionUnits"),
                    "FlexConsumption": ("flex", "OnDemandFunctionExecutionCount", "OnDemandFunctionExecutionUnits")}
MB_MS_PER_GB_S = Decimal(1024 * 1000)   # execution units are MB-milliseconds (Functions consumption cost docs)
DTU_TIERS = {"basic", "standard", "premium"}


def _list(ctx: Any, sub: str, path: str, operation: str, api: str, **params: Any) -> list[dict[str, Any]]:
    u = url(ctx.clients.arm, f"/subscriptions/{sub}/providers/{path}", **{"api-version": api, **params})
    return list(ctx.clients.http.pages(u, service="arm", operation=operation))


def _children(ctx: Any, parent_id: str, child: str, operation: str, api: str) -> list[dict[str, Any]]:
    u = url(ctx.clients.arm, f"{parent_id}/{child}", **{"api-version": api})
    return list(ctx.clients.http.pages(u, service="arm", operation=operation))


def subscriptions(ctx: Any) -> list[str]:
    """Every subscription the identity can read (enabled, warned or past due: they still accrue cost)."""
    u = url(ctx.clients.arm, "/subscriptions", **{"api-version": API["subscriptions"]})
    subs = [s for s in ctx.clients.http.pages(u, service="arm", operation="ListSubscriptions")
            if (s.get("state") or "Enabled") in ("Enabled", "Warned", "PastDue")]
    return sorted(s["subscriptionId"] for s in subs)


def resource_group(resource_id: str) -> str:
    parts = resource_id.split("/")
    low = [p.lower() for p in parts]
    return low[low.index("resourcegroups") + 1] if "resourcegroups" in low else ""


class Filter:
    """The configured resource groups (all when empty) plus the node resource groups of their AKS clusters."""

    def __init__(self, groups: list[str]):
        self.groups = {g.lower() for g in groups}

    def add(self, group: str) -> None:
        if self.groups and group:
            self.groups.add(group.lower())

    def __call__(self, resource: dict[str, Any]) -> bool:
        return not self.groups or resource_group(resource.get("id") or "") in self.groups


def collect_subscription(ctx: Any, sub: str) -> Iterator[CostRecord | MetricPoint]:
    for name, fn in (("compute", compute), ("functions", functions), ("sql", sql), ("storage", storage)):
        scope = f"{sub}/{name}"
        with ctx.scope(scope):
            yield from fn(ctx, sub, ctx.window_for(scope))


# ---------------------------------------------------------------- compute

def power_state(vm: dict[str, Any]) -> tuple[str, datetime | None]:
    """(power state, time of the last provisioning operation) from a VM's instance view."""
    state, since = "unknown", None
    for s in ((vm.get("properties") or {}).get("instanceView") or {}).get("statuses") or []:
        code = str(s.get("code") or "")
        if code.startswith("PowerState/"):
            state = code.split("/", 1)[1].lower()
        elif code.startswith("ProvisioningState/") and s.get("time"):
            since = parse_arm_time(s["time"])
    return state, since


def disk_tier(sku: str, size_gb: int) -> str | None:
    """The billing tier of a managed disk (P10, E10, S10 ...): the smallest tier its size fits."""
    spec = DISK_TIERS.get(sku.lower())
    if spec is None:
        return None
    for cap, n in zip(DISK_SIZES, spec[1]):
        if size_gb <= cap:
            return f"{spec[0]}{n}"
    return None


def _aks_pools(clusters: list[dict[str, Any]]) -> dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]]:
    """node resource group → (cluster, {pool name: agent pool profile})."""
    out = {}
    for c in clusters:
        props = c.get("properties") or {}
        rg = (props.get("nodeResourceGroup") or "").lower()
        if rg:
            out[rg] = (c, {p.get("name"): p for p in props.get("agentPoolProfiles") or []})
    return out


def compute(ctx: Any, sub: str, window: Any) -> Iterator[CostRecord | MetricPoint]:
    keep = Filter(ctx.config.resource_groups)
    clusters = [c for c in _list(ctx, sub, "Microsoft.ContainerService/managedClusters", "ListManagedClusters",
                                 API["aks"]) if keep(c)]
    for c in clusters:
        keep.add((c.get("properties") or {}).get("nodeResourceGroup") or "")
    pools = _aks_pools(clusters)
    vms = [v for v in _list(ctx, sub, "Microsoft.Compute/virtualMachines", "ListVirtualMachines", API["compute"],
                            statusOnly="true") if keep(v)]
    sets = [s for s in _list(ctx, sub, "Microsoft.Compute/virtualMachineScaleSets", "ListVirtualMachineScaleSets",
                             API["compute"]) if keep(s)]
    disks = [d for d in _list(ctx, sub, "Microsoft.Compute/disks", "ListDisks", API["disks"]) if keep(d)]
    running: list[dict[str, Any]] = []
    for vm in vms:
        recs = list(_vm(ctx, sub, vm, window))
        if recs:
            running.append(vm)
        yield from recs
    priced_sets = []
    for ss in sets:
        recs = list(_scale_set(ctx, sub, ss, window, pools))
        if recs:
            priced_sets.append(ss)
        yield from recs
    for d in disks:
        yield from _disk(ctx, sub, d, window)
    for c in clusters:
        yield from _aks(ctx, sub, c, window)
    span = monitor.metrics_span(ctx, window)
    if span is not None:
        size = {lower_id(v["id"]): (v.get("properties") or {}).get("hardwareProfile", {}).get("vmSize", "") for v in running}
        yield from monitor.utilisation(ctx, sub, "vm", running, *span,
                                       dims=lambda r: {"vm_size": size.get(lower_id(r["id"]), "")})
        node_rg = {lower_id(s["id"]): pools.get(resource_group(s["id"])) for s in priced_sets}
        yield from monitor.utilisation(ctx, sub, "vmss", priced_sets, *span, dims=lambda r: {
            "vm_size": (r.get("sku") or {}).get("name", ""),
            **({"cluster": node_rg[lower_id(r["id"])][0]["name"]} if node_rg.get(lower_id(r["id"])) else {})})


def _vm(ctx: Any, sub: str, vm: dict[str, Any], window: Any) -> Iterator[CostRecord]:
    props = vm.get("properties") or {}
    size = (props.get("hardwareProfile") or {}).get("vmSize") or ""
    os_type = ((props.get("storageProfile") or {}).get("osDisk") or {}).get("osType") or "Linux"
    spot = (props.get("priority") or "Regular").lower() == "spot"
    state, op_time = power_state(vm)
    if state not in RUNNING:
        return
    created = parse_arm_time(props.get("timeCreated"))
    since = max([t for t in (created, op_time) if t is not None], default=None)
    p = price(ctx, "vm", vm.get("location"), size, os_type.lower(), "spot" if spot else "regular")
    if p is None:
        return
    kind = "spot" if spot else "pay-as-you-go"
    for day, hours in running_hours(since, window):
        yield estimate(ctx, sub=sub, resource_id=vm["id"], location=vm.get("location"), day=day, price=p,
                       quantity_=quantity(p.unit, hours, day), tags_=tags(vm.get("tags")), line="compute",
                       description=f"{size} {os_type} {kind} VM hours ({state})",
                       pricing_category="Dynamic" if spot else "Standard", resource_type=size)


def _scale_set(ctx: Any, sub: str, ss: dict[str, Any], window: Any,
               pools: dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]]) -> Iterator[CostRecord]:
    props = ss.get("properties") or {}
    if (props.get("orchestrationMode") or "Uniform") == "Flexible":
        ctx.note(f"{ss.get('name')}: a flexible scale set; its VMs are listed and priced as VMs")
        return
    sku = ss.get("sku") or {}
    size, capacity = sku.get("name") or "", int(sku.get("capacity") or 0)
    if capacity <= 0:
        return
    profile = props.get("virtualMachineProfile") or {}
    os_type = ((profile.get("storageProfile") or {}).get("osDisk") or {}).get("osType") or "Linux"
    spot = (profile.get("priority") or "Regular").lower() == "spot"
    p = price(ctx, "vm", ss.get("location"), size, os_type.lower(), "spot" if spot else "regular")
    if p is None:
        return
    t = tags(ss.get("tags"))
    desc = f"{capacity} x {size} {os_type} scale set instance hours"
    aks = pools.get(resource_group(ss["id"]))
    if aks is not None:
        cluster, agent_pools = aks
        pool_name = t.get("aks-managed-poolName") or ""
        ap = agent_pools.get(pool_name) or {}
        t = {**t, "aks-cluster": cluster.get("name", "")}
        scale = (f"autoscale {ap.get('minCount')}-{ap.get('maxCount')}" if ap.get("enableAutoScaling")
                 else f"{ap.get('count', capacity)} nodes")
        desc += f" (AKS {cluster.get('name')} node pool {pool_name}, {ap.get('mode', 'User')}, {scale})"
    since = parse_arm_time(props.get("timeCreated"))
    for day, hours in running_hours(since, window):
        yield estimate(ctx, sub=sub, resource_id=ss["id"], location=ss.get("location"), day=day, price=p,
                       quantity_=quantity(p.unit, hours, day, Decimal(capacity)), tags_=t, line="compute",
                       description=desc, pricing_category="Dynamic" if spot else "Standard", resource_type=size)


def _disk(ctx: Any, sub: str, d: dict[str, Any], window: Any) -> Iterator[CostRecord]:
    props = d.get("properties") or {}
    sku = (d.get("sku") or {}).get("name") or ""
    size = int(props.get("diskSizeGB") or 0)
    tier = props.get("tier") if sku.lower() == "premium_lrs" and props.get("tier") else disk_tier(sku, size)
    if tier is None:
        ctx.note(f"unpriced: disk {d.get('name')} ({sku}, {size} GB): the catalog prices Premium SSD, Standard SSD "
                 "and Standard HDD LRS tiers")
        return
    p = price(ctx, "disk", d.get("location"), tier)
    if p is None:
        return
    for day, hours in running_hours(parse_arm_time(props.get("timeCreated")), window):
        yield estimate(ctx, sub=sub, resource_id=d["id"], location=d.get("location"), day=day, price=p,
                       quantity_=quantity(p.unit, hours, day), tags_=tags(d.get("tags")), line="disk",
                       description=f"managed disk {tier} ({sku}, {size} GB, {props.get('diskState', '')})",
                       resource_type=tier)


def _aks(ctx: Any, sub: str, c: dict[str, Any], window: Any) -> Iterator[CostRecord | MetricPoint]:
    props = c.get("properties") or {}
    for ap in props.get("agentPoolProfiles") or []:   # described, never priced: their nodes are scale set hours
        yield MetricPoint(name="azure.aks.node_pool.nodes", value=Decimal(int(ap.get("count") or 0)),
                          timestamp=ctx.now, unit="Count", source="azure",
                          dimensions={"resource": lower_id(c["id"]), "subscription": sub, "cluster": c.get("name", ""),
                                      "pool": ap.get("name", ""), "vm_size": ap.get("vmSize", ""),
                                      "mode": ap.get("mode", ""), "autoscale": str(bool(ap.get("enableAutoScaling"))).lower(),
                                      "min": str(ap.get("minCount") or ""), "max": str(ap.get("maxCount") or "")})
    tier = ((c.get("sku") or {}).get("tier") or "Free").lower()
    if tier == "free" or ((props.get("powerState") or {}).get("code") or "Running") != "Running":
        return
    p = price(ctx, "aks", c.get("location"), tier)
    if p is None:
        return
    since = parse_arm_time((c.get("systemData") or {}).get("createdAt"))
    for day, hours in running_hours(since, window):
        yield estimate(ctx, sub=sub, resource_id=c["id"], location=c.get("location"), day=day, price=p,
                       quantity_=quantity(p.unit, hours, day), tags_=tags(c.get("tags")), line="control-plane",
                       description=f"AKS {tier} tier control plane, Kubernetes {props.get('kubernetesVersion', '')}",
                       resource_type=f"cluster-{tier}")


# ---------------------------------------------------------------- functions

def _linux(plan: dict[str, Any]) -> bool:
    return "linux" in (plan.get("kind") or "").lower() or bool((plan.get("properties") or {}).get("reserved"))


def functions(ctx: Any, sub: str, window: Any) -> Iterator[CostRecord | MetricPoint]:
    keep = Filter(ctx.config.resource_groups)
    apps = [s for s in _list(ctx, sub, "Microsoft.Web/sites", "ListSites", API["web"])
            if "functionapp" in (s.get("kind") or "").lower() and keep(s)]
    if not apps:
        return
    plans = {lower_id(p["id"]): p for p in _list(ctx, sub, "Microsoft.Web/serverfarms", "ListServerFarms", API["web"])}
    by_plan: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in apps:
        by_plan[lower_id((a.get("properties") or {}).get("serverFarmId") or "")].append(a)
    usage: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for plan_id, plan_apps in sorted(by_plan.items()):
        plan = plans.get(plan_id)
        if plan is None:
            ctx.note(f"unpriced: plan {plan_id} of {', '.join(a['name'] for a in plan_apps)} is not listed")
            continue
        tier = (plan.get("sku") or {}).get("tier") or ""
        if tier in FUNCTION_METRICS:
            usage[tier].extend(plan_apps)
        else:
            yield from _plan_hours(ctx, sub, plan, plan_apps, window)
    if usage:
        days = ctx.closed_days_due(window, "usage", ctx.config.usage_interval_hours)
        if days is not None:
            for tier, tier_apps in sorted(usage.items()):
                yield from _executions(ctx, sub, tier, tier_apps, days)


def _plan_hours(ctx: Any, sub: str, plan: dict[str, Any], apps: list[dict[str, Any]], window: Any) -> Iterator[CostRecord]:
    """Premium (EP) and Dedicated plans bill their instances by the hour, whatever runs on them."""
    sku = plan.get("sku") or {}
    name, tier, workers = sku.get("name") or "", sku.get("tier") or "", int(sku.get("capacity") or 1)
    if tier == "ElasticPremium":
        p = price(ctx, "functions_premium", plan.get("location"), name)
        kind = "Functions Premium plan"
    else:
        p = price(ctx, "app_service", plan.get("location"), name, "linux" if _linux(plan) else "windows")
        kind = f"App Service plan ({tier})"
    if p is None:
        return
    for day, hours in running_hours(parse_arm_time((plan.get("systemData") or {}).get("createdAt")), window):
        yield estimate(ctx, sub=sub, resource_id=plan["id"], location=plan.get("location"), day=day, price=p,
                       quantity_=quantity(p.unit, hours, day, Decimal(workers)), tags_=tags(plan.get("tags")),
                       line="plan", consumed="functions", resource_type=name,
                       description=f"{kind} {name} x {workers} instance hours, hosting "
                                   + ", ".join(sorted(a["name"] for a in apps))[:300])


def _executions(ctx: Any, sub: str, tier: str, apps: list[dict[str, Any]], days: Any) -> Iterator[CostRecord | MetricPoint]:
    """Consumption / Flex Consumption: executions and GB-s per app and closed day (metrics, daily grain)."""
    plan_key, count_metric, units_metric = FUNCTION_METRICS[tier]
    start, interval = _usage_grain(ctx, days)
    for region, group in monitor.by_group(apps, sub).items():
        res = monitor.get_batch(ctx, sub, region, monitor.NAMESPACE["site"], [lower_id(a["id"]) for a in group],
                                [count_metric, units_metric], start, days.end, interval=interval, aggregation="total")
        in_window = set(days.days())
        for a in group:
            rid = lower_id(a["id"])
            p_exec = price(ctx, "functions", region, plan_key, "executions")
            p_gbs = price(ctx, "functions", region, plan_key, "gb_seconds")
            execs: dict[Any, Decimal] = defaultdict(Decimal)
            mbms: dict[Any, Decimal] = defaultdict(Decimal)
            for when, values, _ in res.get(rid, {}).get(count_metric, []):
                execs[when.date()] = CONTEXT.add(execs[when.date()], values.get("total", Decimal(0)))
            for when, values, _ in res.get(rid, {}).get(units_metric, []):
                mbms[when.date()] = CONTEXT.add(mbms[when.date()], values.get("total", Decimal(0)))
            for day in sorted((set(execs) | set(mbms)) & in_window):
                ts = datetime(day.year, day.month, day.day, tzinfo=days.start.tzinfo)
                yield MetricPoint(name="azure.functions.executions", value=execs[day], timestamp=ts, unit="Count",
                                  dimensions={"resource": rid, "subscription": sub, "region": region, "plan": plan_key},
                                  source="azure")
                if p_exec is None or p_gbs is None:
                    continue
                gbs = q(CONTEXT.divide(mbms[day], MB_MS_PER_GB_S))
                common = dict(sub=sub, resource_id=a["id"], location=a.get("location"), day=day,
                              tags_=tags(a.get("tags")), consumed="functions", resource_type=f"function-app-{plan_key}")
                yield estimate(ctx, price=p_exec, quantity_=q(execs[day]), line="executions",
                               description=f"{a['name']} executions ({plan_key})", **common)
                yield estimate(ctx, price=p_gbs, quantity_=gbs, line="execution-time",
                               description=f"{a['name']} execution time, GB-s ({plan_key})", **common)


def _usage_grain(ctx: Any, days: Any) -> tuple[datetime, str]:
    """(start, interval) of a usage pull: whole days at daily grain; the agent's fixed hour at hourly grain."""
    if ctx.fixed_window:
        return days.start.replace(minute=0, second=0), "PT1H"
    return days.start.replace(hour=0, minute=0, second=0), "P1D"


# ---------------------------------------------------------------- SQL

def sql(ctx: Any, sub: str, window: Any) -> Iterator[CostRecord | MetricPoint]:
    keep = Filter(ctx.config.resource_groups)
    online: list[dict[str, Any]] = []
    for srv in [s for s in _list(ctx, sub, "Microsoft.Sql/servers", "ListSqlServers", API["sql"]) if keep(s)]:
        for db in _children(ctx, srv["id"], "databases", "ListSqlDatabases", API["sql"]):
            sku = db.get("sku") or {}
            props = db.get("properties") or {}
            if db.get("name") == "master" or (sku.get("tier") or "") == "System":
                continue
            if props.get("status") not in (None, "Online"):
                continue
            online.append(db)
            if props.get("elasticPoolId"):
                continue              # priced by its pool
            yield from _sql_compute(ctx, sub, db, window, "database")
        for pool in _children(ctx, srv["id"], "elasticPools", "ListSqlElasticPools", API["sql"]):
            yield from _sql_compute(ctx, sub, pool, window, "elastic pool")
    span = monitor.metrics_span(ctx, window) if online else None
    if span is not None:
        yield from monitor.utilisation(ctx, sub, "sql", online, *span, metrics=monitor.SQL_METRICS,
                                       dims=lambda r: {"sku": (r.get("sku") or {}).get("name", "")})


def _sql_compute(ctx: Any, sub: str, res: dict[str, Any], window: Any, what: str) -> Iterator[CostRecord]:
    sku = res.get("sku") or {}
    props = res.get("properties") or {}
    name, tier, capacity = sku.get("name") or "", sku.get("tier") or "", int(sku.get("capacity") or 0)
    loc = res.get("location")
    since = parse_arm_time(props.get("creationDate"))
    common = dict(sub=sub, resource_id=res["id"], location=loc, tags_=tags(res.get("tags")), resource_type=name)
    if tier.lower() in DTU_TIERS:
        p = (price(ctx, "sql_pool_dtu", loc, tier.lower(), str(capacity)) if what == "elastic pool"
             else price(ctx, "sql_dtu", loc, name))
        if p is None:
            return
        for day, hours in running_hours(since, window):
            yield estimate(ctx, day=day, price=p, quantity_=quantity(p.unit, hours, day), line="compute",
                           description=f"SQL {what} {tier} {name} ({capacity} DTU), storage included", **common)
        return
    if "_S_" in name:
        ctx.note(f"unpriced: {res.get('name')} is serverless ({name}): billed per vCore-second used")
        return
    family = sku.get("family") or (name.split("_")[-1] if "_" in name else "")
    p = price(ctx, "sql_vcore", loc, tier.lower(), family.lower())
    ps = price(ctx, "sql_storage", loc, tier.lower())
    gb = CONTEXT.divide(Decimal(int(props.get("maxSizeBytes") or 0)), GIB)
    for day, hours in running_hours(since, window):
        if p is not None:
            yield estimate(ctx, day=day, price=p, quantity_=quantity(p.unit, hours, day, Decimal(capacity)),
                           line="compute", description=f"SQL {what} {tier} {family} {capacity} vCores", **common)
        if ps is not None and gb:
            yield estimate(ctx, day=day, price=ps, quantity_=quantity(ps.unit, hours, day, gb), line="storage",
                           description=f"SQL {what} {tier} data storage {q(gb)} GB (max size)", **common)


# ---------------------------------------------------------------- storage

def storage(ctx: Any, sub: str, window: Any) -> Iterator[CostRecord | MetricPoint]:
    keep = Filter(ctx.config.resource_groups)
    accounts = [a for a in _list(ctx, sub, "Microsoft.Storage/storageAccounts", "ListStorageAccounts",
                                 API["storage"]) if keep(a)]
    if not accounts:
        return
    days = ctx.closed_days_due(window, "usage", ctx.config.usage_interval_hours)
    if days is None:
        return
    slices = {d: (a, b) for d, a, b in days.day_slices()}
    start, interval = _usage_grain(ctx, days)
    for region, group in monitor.by_group(accounts, sub).items():
        blob_ids = {lower_id(a["id"]) + "/blobservices/default": a for a in group}
        res = monitor.get_batch(ctx, sub, region, monitor.NAMESPACE["blob"], list(blob_ids), ["BlobCapacity"], start,
                                days.end, interval=interval, aggregation="average", filter_="Tier eq '*'")
        for bid, acct in blob_ids.items():
            sku = (acct.get("sku") or {}).get("name") or ""
            redundancy = sku.split("_", 1)[1].upper() if "_" in sku else sku.upper()
            default_tier = ((acct.get("properties") or {}).get("accessTier") or "Hot").lower()
            points: dict[tuple[Any, str], list[Decimal]] = defaultdict(list)
            for when, values, dims in res.get(bid, {}).get("BlobCapacity", []):
                if "average" in values:
                    points[(when.date(), (dims.get("tier") or default_tier).lower())].append(values["average"])
            for (day, tier), vals in sorted(points.items()):
                avg = CONTEXT.divide(sum(vals, Decimal(0)), Decimal(len(vals)))
                if day not in slices:
                    continue
                yield MetricPoint(name="azure.storage.blob_capacity_bytes", value=avg,
                                  timestamp=datetime(day.year, day.month, day.day, tzinfo=start.tzinfo), unit="Bytes",
                                  dimensions={"resource": lower_id(acct["id"]), "subscription": sub, "region": region,
                                              "tier": tier}, source="azure")
                if sku.lower().startswith("premium"):
                    ctx.note(f"unpriced: {acct.get('name')} ({sku}): the catalog prices standard accounts")
                    continue
                p = price(ctx, "storage", region, redundancy.lower(), tier)
                if p is None:
                    continue
                a, b = slices[day]
                hours = Decimal(int((b - a).total_seconds())) / Decimal(3600)
                gb = CONTEXT.divide(avg, GIB)
                yield estimate(ctx, sub=sub, resource_id=acct["id"], location=acct.get("location"), day=day, price=p,
                               quantity_=quantity(p.unit, hours, day, gb), tags_=tags(acct.get("tags")), line=tier,
                               description=f"blob storage {tier} {redundancy}", resource_type=f"{sku} {tier}")
