"""Google Cloud inventory → per-resource, per-UTC-day estimates (catalog price × usage, exact).

* Compute Engine (``instances.aggregatedList``, ``disks.aggregatedList``): a running instance is its
  vCPUs × hours and GiB × hours at its machine family's rate (predefined, custom — with extended memory
  beyond the family's ratio — or Spot), plus each attached GPU × hours; a persistent disk is GiB × the
  fraction of the month it existed. GKE nodes are such instances (labels ``goog-k8s-cluster-name`` /
  ``goog-k8s-node-pool-name``): counted here, once.
* Cloud Asset ``assets.list`` (one paged call per project for five asset types): GKE clusters (the
  cluster management fee per cluster-hour; node pools are reported, their nodes are the instances
  above), Cloud Run services (gen2 Cloud Run functions are Cloud Run services), Cloud Functions gen1,
  Cloud SQL instances (tier vCPUs and memory, HA, storage) and Cloud Storage buckets. Request-based
  usage (Cloud Run, functions) and bucket bytes come from Cloud Monitoring (:mod:`.monitoring`).

Shapes (vCPUs, memory, bundled GPUs) of predefined machine types are catalog data, read by
``scripts/refresh_gcp_catalog.py`` from Compute's ``machineTypes.list`` with the prices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterator

from ... import periods
from ...focus import UTC, CostRecord
from ...money import CONTEXT
from . import taxonomy

COLLECTOR = "gcp"
QTY = Decimal("0.000001")            # usage quantities are rounded to 1e-6 before pricing
GIB_PER_MIB = Decimal(1024)
GKE_CLUSTER_LABEL = "goog-k8s-cluster-name"
GKE_POOL_LABEL = "goog-k8s-node-pool-name"
RUNNING_CLUSTER = ("RUNNING", "RECONCILING", "DEGRADED")
# Cloud Asset types read per project (resource.data is each API's own REST representation)
ASSET_TYPES = {
    "container.googleapis.com/Cluster": "clusters",
    "run.googleapis.com/Service": "run_services",
    "cloudfunctions.googleapis.com/CloudFunction": "functions_gen1",
    "sqladmin.googleapis.com/Instance": "sql_instances",
    "storage.googleapis.com/Bucket": "buckets",
}
SERVICE = {"compute": "Compute Engine", "gke": "Kubernetes Engine", "run": "Cloud Run",
           "functions": "Cloud Functions", "sql": "Cloud SQL", "storage": "Cloud Storage"}
_CUSTOM = re.compile(r"^(?:(?P<family>[a-z][a-z0-9]*)-)?custom-(?P<cpus>\d+)-(?P<mem>\d+)(?P<ext>-ext)?$")
_SQL_CUSTOM = re.compile(r"^db-custom-(?P<cpus>\d+)-(?P<mem>\d+)$")
_SQL_N1 = re.compile(r"^db-n1-(?P<kind>standard|highmem)-(?P<cpus>\d+)$")
_SQL_PERF = re.compile(r"^db-perf-optimized-n-(?P<cpus>\d+)$")
_SQL_N1_GIB = {"standard": Decimal("3.75"), "highmem": Decimal("6.5")}
_K8S_QTY = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>m|Ki|Mi|Gi|Ti|k|M|G|T)?$")


def q(v: Decimal) -> Decimal:
    return v.quantize(QTY, rounding=ROUND_HALF_EVEN, context=CONTEXT)


def last(url: str | None) -> str:
    """The last path segment of a Compute resource URL (``.../machineTypes/n2-standard-4`` → ``n2-standard-4``)."""
    return (url or "").rstrip("/").rsplit("/", 1)[-1]


def region_of(zone_or_region: str) -> str:
    """``us-central1-a`` → ``us-central1``; a region stays itself."""
    parts = zone_or_region.split("-")
    return "-".join(parts[:2]) if len(parts) >= 3 and len(parts[2]) == 1 else zone_or_region


def labels(d: Any) -> dict[str, str]:
    if not isinstance(d, dict):
        return {}
    return {str(k)[:128]: str(v)[:256] for k, v in list(d.items())[:50]}


@dataclass
class Day:
    day: date
    hours: Decimal


def running_days(since: datetime, window: Any) -> Iterator[Day]:
    """Hours per UTC day that a resource running since ``since`` spent inside the window."""
    for d, a, b in window.day_slices():
        a = max(a, since)
        if b > a:
            yield Day(d, q(Decimal(int((b - a).total_seconds())) / Decimal(3600)))


def month_fraction(day: Day) -> Decimal:
    """The fraction of its month that ``day.hours`` is (GiB-months of a GiB held that long)."""
    return CONTEXT.divide(day.hours, Decimal(periods.month_hours(day.day)))


# ---------------------------------------------------------------------------------------------- records
@dataclass
class Estimator:
    """Makes the estimate records of one project (its billing account, the catalog, the collector's notes)."""

    ctx: Any
    billing_account: str
    project: str
    project_name: str | None = None
    unpriced: list[str] = field(default_factory=list)

    def price(self, service: str, region: str, *key: str) -> Any:
        from ...catalog import PriceNotFound
        try:
            return self.ctx.catalog.price(service, region, *key)
        except PriceNotFound as e:
            self.ctx.note(f"unpriced: {e.message}")
            return None

    def record(self, *, service: str, day: date, region: str | None, resource_id: str, resource_name: str,
               resource_type: str | None, price: Any, quantity: Decimal, line: str, description: str,
               tags: dict[str, str] | None = None, zone: str | None = None,
               pricing_category: str = "Standard") -> CostRecord:
        name = SERVICE[service]
        cats = taxonomy.service_categories(name) or ("Other", None)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        cost = price.cost(quantity)
        bp = periods.month_period(day)
        return CostRecord(
            ProviderName=taxonomy.PROVIDER, PublisherName=taxonomy.PROVIDER, InvoiceIssuerName=taxonomy.PROVIDER,
            BillingAccountId=self.billing_account, BillingAccountType=taxonomy.BILLING_ACCOUNT_TYPE,
            SubAccountId=self.project, SubAccountName=self.project_name or self.project,
            SubAccountType=taxonomy.SUB_ACCOUNT_TYPE, ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(days=1),
            BillingPeriodStart=bp[0], BillingPeriodEnd=bp[1], BilledCost=cost, EffectiveCost=cost, ListCost=cost,
            ContractedCost=cost, BillingCurrency=price.currency, PricingCurrency=price.currency, ServiceName=name,
            ServiceCategory=cats[0], ServiceSubcategory=cats[1], ChargeCategory="Usage", ChargeFrequency="Usage-Based",
            ChargeDescription=description, ResourceId=resource_id, ResourceName=resource_name,
            ResourceType=resource_type, RegionId=region, RegionName=taxonomy.region_name(region) if region else None,
            AvailabilityZone=zone, SkuPriceId=price.sku, PricingUnit=price.unit, PricingQuantity=quantity,
            ConsumedQuantity=quantity, ConsumedUnit=price.unit, ListUnitPrice=price.amount,
            ContractedUnitPrice=price.amount, PricingCategory=pricing_category, Tags=tags or {},
            x_CostSource="estimated", x_Collector=COLLECTOR, x_CatalogVersion=price.version, x_LineKey=line)


# ---------------------------------------------------------------------------------------------- machine types
@dataclass(frozen=True)
class Shape:
    family: str
    vcpus: Decimal
    memory_gib: Decimal
    custom: bool = False
    extended_gib: Decimal = Decimal(0)          # custom memory beyond the family's ratio (extended memory SKU)
    gpus: tuple[tuple[str, int], ...] = ()      # bundled accelerators (A2, G2 ...)


def machine_shape(catalog: Any, machine_type: str) -> Shape | None:
    """vCPUs, memory and bundled GPUs of a machine type: custom types from their name, predefined from the
    catalog's ``machine_types`` (None: unknown)."""
    m = _CUSTOM.match(machine_type)
    if m:
        family = m["family"] or "n1"          # "custom-4-16384" is an N1 custom machine type
        vcpus = Decimal(int(m["cpus"]))
        mem = CONTEXT.divide(Decimal(int(m["mem"])), GIB_PER_MIB)
        extended = Decimal(0)
        if m["ext"]:
            ratio = (catalog.doc.get("custom_memory_max_gib_per_vcpu") or {}).get(family)
            if ratio is None:
                return None
            extended = max(Decimal(0), mem - CONTEXT.multiply(vcpus, Decimal(str(ratio))))
        return Shape(family, vcpus, mem - extended, custom=True, extended_gib=extended)
    mt = (catalog.doc.get("machine_types") or {}).get(machine_type)
    if not mt:
        return None
    gpus = tuple(sorted((str(k), int(v)) for k, v in (mt.get("gpus") or {}).items()))
    return Shape(machine_type.split("-", 1)[0], Decimal(str(mt["vcpus"])), Decimal(str(mt["memory_gib"])), gpus=gpus)


def instance_gpus(inst: dict[str, Any], shape: Shape) -> list[tuple[str, int]]:
    """Attached accelerators (``guestAccelerators``) or, when none are listed, those the machine type bundles."""
    out = [(last(a.get("acceleratorType")), int(a.get("acceleratorCount") or 0))
           for a in inst.get("guestAccelerators") or [] if a.get("acceleratorType")]
    return [g for g in out if g[1] > 0] or list(shape.gpus)


def is_spot(inst: dict[str, Any]) -> bool:
    s = inst.get("scheduling") or {}
    return s.get("provisioningModel") == "SPOT" or bool(s.get("preemptible"))


def instance_since(inst: dict[str, Any]) -> datetime:
    from ...focus import parse_time
    return parse_time(inst.get("lastStartTimestamp") or inst["creationTimestamp"])


def instance_resource_id(project: str, inst: dict[str, Any]) -> str:
    """The billing export's ``resource.global_name`` form of an instance."""
    return f"//compute.googleapis.com/projects/{project}/zones/{last(inst.get('zone'))}/instances/{inst.get('id') or inst['name']}"


def instance_records(est: Estimator, inst: dict[str, Any], window: Any) -> Iterator[CostRecord]:
    """vCPU, memory and GPU hours of one running instance for each day of the window."""
    if inst.get("status") != "RUNNING":
        return
    mtype = last(inst.get("machineType"))
    zone = last(inst.get("zone"))
    region = region_of(zone)
    shape = machine_shape(est.ctx.catalog, mtype)
    name = inst.get("name") or str(inst.get("id"))
    if shape is None:
        est.ctx.note(f"unpriced: {name}: machine type {mtype} is not in the catalog")
        return
    spot = is_spot(inst)
    model = "spot" if spot else ("custom" if shape.custom else "standard")
    p_cpu = est.price("compute_vcpu", region, shape.family, model)
    p_ram = est.price("compute_ram", region, shape.family, model)
    p_ext = est.price("compute_ram", region, shape.family, "custom_extended") if shape.extended_gib else None
    gpus = [(g, n, est.price("gpu", region, g, "spot" if spot else "standard")) for g, n in instance_gpus(inst, shape)]
    if p_cpu is None or p_ram is None or (shape.extended_gib and p_ext is None) or any(p is None for _, _, p in gpus):
        return
    tags = labels(inst.get("labels"))
    cluster = tags.get(GKE_CLUSTER_LABEL)
    rid = instance_resource_id(est.project, inst)
    provisioning = "Spot" if spot else "on-demand"
    what = f"{mtype} {provisioning}" + (f" (GKE cluster {cluster}, node pool {tags.get(GKE_POOL_LABEL)})" if cluster else "")
    common = dict(service="compute", region=region, zone=zone, resource_id=rid, resource_name=name, resource_type=mtype,
                  tags=tags, pricing_category="Dynamic" if spot else "Standard")
    for d in running_days(instance_since(inst), window):
        yield est.record(day=d.day, price=p_cpu, quantity=q(CONTEXT.multiply(shape.vcpus, d.hours)), line="vcpu",
                         description=f"{what}: {shape.vcpus} vCPU hours", **common)
        yield est.record(day=d.day, price=p_ram, quantity=q(CONTEXT.multiply(shape.memory_gib, d.hours)), line="ram",
                         description=f"{what}: {shape.memory_gib} GiB memory hours", **common)
        if shape.extended_gib:
            yield est.record(day=d.day, price=p_ext, quantity=q(CONTEXT.multiply(shape.extended_gib, d.hours)),
                             line="ram-extended", description=f"{what}: {shape.extended_gib} GiB extended memory hours",
                             **common)
        for g, n, p in gpus:
            yield est.record(day=d.day, price=p, quantity=q(CONTEXT.multiply(Decimal(n), d.hours)), line=f"gpu:{g}",
                             description=f"{what}: {n} x {g} GPU hours", **common)


def disk_records(est: Estimator, disk: dict[str, Any], window: Any) -> Iterator[CostRecord]:
    """A persistent disk's GiB-months for each day of the window (zonal or regional replication)."""
    from ...focus import parse_time
    dtype = last(disk.get("type"))
    regional = bool(disk.get("region")) and not disk.get("zone")
    zone = last(disk.get("zone")) if disk.get("zone") else None
    region = last(disk.get("region")) if regional else region_of(zone or "")
    price = est.price("pd", region, dtype, "regional" if regional else "zonal")
    if price is None:
        return
    size = Decimal(int(disk.get("sizeGb") or 0))
    name = disk.get("name") or str(disk.get("id"))
    loc = f"regions/{region}" if regional else f"zones/{zone}"
    rid = f"//compute.googleapis.com/projects/{est.project}/{loc}/disks/{disk.get('id') or name}"
    attached = ", ".join(last(u) for u in disk.get("users") or []) or "unattached"
    for d in running_days(parse_time(disk["creationTimestamp"]), window):
        yield est.record(service="compute", day=d.day, region=region, zone=zone, resource_id=rid, resource_name=name,
                         resource_type=dtype, price=price, quantity=q(CONTEXT.multiply(size, month_fraction(d))),
                         line="disk", tags=labels(disk.get("labels")),
                         description=f"{dtype} {'regional' if regional else 'zonal'} {size} GiB ({attached})")


# ---------------------------------------------------------------------------------------------- GKE
def cluster_records(est: Estimator, cluster: dict[str, Any], window: Any) -> Iterator[CostRecord]:
    """The GKE cluster management fee per cluster-hour (Standard or Autopilot); nodes are instances."""
    from ...focus import parse_time
    if cluster.get("status") not in RUNNING_CLUSTER:
        return
    location = cluster.get("location") or ""
    region = region_of(location)
    mode = "autopilot" if (cluster.get("autopilot") or {}).get("enabled") else "standard"
    price = est.price("gke", region, mode)
    if price is None:
        return
    name = cluster["name"]
    rid = f"//container.googleapis.com/projects/{est.project}/locations/{location}/clusters/{name}"
    for d in running_days(parse_time(cluster["createTime"]), window):
        yield est.record(service="gke", day=d.day, region=region, resource_id=rid, resource_name=name,
                         resource_type=f"cluster-{mode}", price=price, quantity=d.hours, line="cluster",
                         tags=labels(cluster.get("resourceLabels")),
                         description=f"GKE {mode} cluster management fee ({location}, "
                                     f"{len(cluster.get('nodePools') or [])} node pools; nodes are Compute Engine instances)")


def node_pools(cluster: dict[str, Any], instances: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Each node pool with its machine type, autoscaling and the instances that are its nodes."""
    out = []
    for pool in cluster.get("nodePools") or []:
        nodes = [i for i in instances or [] if labels(i.get("labels")).get(GKE_CLUSTER_LABEL) == cluster["name"]
                 and labels(i.get("labels")).get(GKE_POOL_LABEL) == pool.get("name")]
        auto = pool.get("autoscaling") or {}
        cfg = pool.get("config") or {}
        out.append({"name": pool.get("name"), "machine_type": cfg.get("machineType"),
                    "accelerators": [(a.get("acceleratorType"), int(a.get("acceleratorCount") or 0))
                                     for a in cfg.get("accelerators") or []],
                    "spot": bool(cfg.get("spot") or cfg.get("preemptible")),
                    "autoscaling": bool(auto.get("enabled")), "min_nodes": auto.get("minNodeCount"),
                    "max_nodes": auto.get("maxNodeCount"), "node_count": len(nodes) if instances is not None
                    else int(pool.get("initialNodeCount") or 0), "nodes": [n.get("name") for n in nodes]})
    return out


# ---------------------------------------------------------------------------------------------- Cloud SQL
def sql_shape(tier: str) -> tuple[Decimal, Decimal] | None:
    """(vCPUs, memory GiB) of a dedicated-core Cloud SQL tier, None for shared-core or unknown tiers."""
    t = tier.lower()
    m = _SQL_CUSTOM.match(t)
    if m:
        return Decimal(int(m["cpus"])), CONTEXT.divide(Decimal(int(m["mem"])), GIB_PER_MIB)
    m = _SQL_N1.match(t)
    if m:
        n = Decimal(int(m["cpus"]))
        return n, CONTEXT.multiply(n, _SQL_N1_GIB[m["kind"]])
    m = _SQL_PERF.match(t)
    if m:   # Enterprise Plus performance-optimized: 8 GiB per vCPU
        n = Decimal(int(m["cpus"]))
        return n, CONTEXT.multiply(n, Decimal(8))
    return None


def sql_records(est: Estimator, inst: dict[str, Any], window: Any) -> Iterator[CostRecord]:
    """A Cloud SQL instance: vCPU and memory hours of its tier (HA = regional rates) while it runs, and its
    storage GiB-months always."""
    from ...focus import parse_time
    s = inst.get("settings") or {}
    tier = str(s.get("tier") or "")
    region = inst.get("region") or region_of(inst.get("gceZone") or "")
    avail = "REGIONAL" if s.get("availabilityType") == "REGIONAL" else "ZONAL"
    edition = s.get("edition") or "ENTERPRISE"
    name = inst["name"]
    rid = f"//cloudsql.googleapis.com/projects/{est.project}/instances/{name}"
    tags = labels(s.get("userLabels"))
    since = parse_time(inst["createTime"]) if inst.get("createTime") else window.start
    running = inst.get("state") == "RUNNABLE" and s.get("activationPolicy", "ALWAYS") == "ALWAYS"
    what = f"{tier} {inst.get('databaseVersion', '')} {'HA' if avail == 'REGIONAL' else 'zonal'}".strip()
    common = dict(service="sql", region=region, resource_id=rid, resource_name=name, resource_type=tier, tags=tags)
    if running:
        shape = sql_shape(tier)
        if shape is None:
            p_shared = est.price("cloudsql_shared", region, tier, avail)
            if p_shared is not None:
                for d in running_days(since, window):
                    yield est.record(day=d.day, price=p_shared, quantity=d.hours, line="instance",
                                     description=f"{what} shared-core instance hours", **common)
        else:
            vcpus, mem = shape
            p_cpu = est.price("cloudsql_vcpu", region, edition, avail)
            p_ram = est.price("cloudsql_ram", region, edition, avail)
            if p_cpu is not None and p_ram is not None:
                for d in running_days(since, window):
                    yield est.record(day=d.day, price=p_cpu, quantity=q(CONTEXT.multiply(vcpus, d.hours)), line="vcpu",
                                     description=f"{what}: {vcpus} vCPU hours", **common)
                    yield est.record(day=d.day, price=p_ram, quantity=q(CONTEXT.multiply(mem, d.hours)), line="ram",
                                     description=f"{what}: {mem} GiB memory hours", **common)
    disk_type = s.get("dataDiskType") or "PD_SSD"
    p_disk = est.price("cloudsql_storage", region, disk_type, avail)
    if p_disk is not None:
        size = Decimal(int(s.get("dataDiskSizeGb") or 0))
        for d in running_days(since, window):
            yield est.record(day=d.day, price=p_disk, quantity=q(CONTEXT.multiply(size, month_fraction(d))),
                             line="storage", description=f"{what}: {disk_type} storage {size} GiB", **common)


# ---------------------------------------------------------------------------------------------- Cloud Run / functions
def k8s_quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity as Cloud Run limits write it: ``1``, ``1000m`` (vCPU); ``512Mi``, ``2Gi`` (memory)."""
    m = _K8S_QTY.match(str(value or "").strip())
    if not m:
        return None
    n = Decimal(m["n"])
    mult = {"m": Decimal("0.001"), "Ki": Decimal(1024), "Mi": Decimal(1024) ** 2, "Gi": Decimal(1024) ** 3,
            "Ti": Decimal(1024) ** 4, "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
            "T": Decimal(10) ** 12}.get(m["unit"] or "", Decimal(1))
    return CONTEXT.multiply(n, mult)


@dataclass(frozen=True)
class RunService:
    name: str
    region: str
    vcpus: Decimal
    memory_gib: Decimal
    function: bool                  # a gen2 Cloud Run function (managed by Cloud Functions)
    labels: dict[str, str]


def run_service(asset: dict[str, Any]) -> RunService | None:
    """A Cloud Run service from its Cloud Asset record (Cloud Run Admin API v1 / Knative representation)."""
    data = asset.get("data") or {}
    meta = data.get("metadata") or {}
    spec = ((data.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = spec.get("containers") or [{}]
    vcpus, mem = Decimal(0), Decimal(0)
    for c in containers:
        lim = (c.get("resources") or {}).get("limits") or {}
        vcpus += k8s_quantity(lim.get("cpu", "1")) or Decimal(0)
        mem += CONTEXT.divide(k8s_quantity(lim.get("memory", "512Mi")) or Decimal(0), Decimal(1024) ** 3)
    tags = labels(meta.get("labels"))
    region = asset.get("location") or tags.get("cloud.googleapis.com/location") or ""
    return RunService(name=meta.get("name") or asset["name"].rsplit("/", 1)[-1], region=region, vcpus=vcpus,
                      memory_gib=mem, function=tags.get("goog-managed-by") == "cloudfunctions", labels=tags)


@dataclass(frozen=True)
class Function1:
    name: str
    region: str
    memory_mb: int
    labels: dict[str, str]


def function_gen1(asset: dict[str, Any]) -> Function1:
    """A Cloud Functions (1st gen) function from its Cloud Asset record (Cloud Functions API v1)."""
    data = asset.get("data") or {}
    full = data.get("name") or asset["name"]
    parts = full.split("/")
    region = parts[parts.index("locations") + 1] if "locations" in parts else (asset.get("location") or "")
    return Function1(name=parts[-1], region=region, memory_mb=int(data.get("availableMemoryMb") or 256),
                     labels=labels(data.get("labels")))


def bucket_region(bucket: dict[str, Any]) -> str:
    """A bucket's location as the catalog keys it: ``US`` → ``us``, ``US-CENTRAL1`` → ``us-central1``."""
    return str(bucket.get("location") or "US").lower()
