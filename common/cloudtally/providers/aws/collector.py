"""The AWS collector: inventory × catalog estimates, CloudWatch utilisation, Cost Explorer bills.

Declared by :data:`SPEC` (typed settings: :class:`AwsConfig`). ``collect(ctx)`` yields
:class:`~cloudtally.focus.CostRecord` and :class:`~cloudtally.focus.MetricPoint`; the runner
(:mod:`cloudtally.collectors.runner`) picks the window, posts, keeps cursors and state through the
API and reports errors per scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...collectors.config import CollectorConfig, ConfigModel
from ...collectors.registry import CollectorSpec, Permissions, Schedule, register


@dataclass(frozen=True)
class AwsAccount(ConfigModel):
    """A member account, reached by assuming ``role_arn``."""

    account_id: str = ""
    role_arn: str = ""
    external_id: str | None = field(default=None, metadata={"secret": True})

    def check(self) -> list[tuple[str, str]]:
        out = []
        if not (self.account_id.isdigit() and len(self.account_id) == 12):
            out.append(("account_id", "a 12-digit AWS account id"))
        if not self.role_arn.startswith("arn:aws"):
            out.append(("role_arn", "an IAM role ARN"))
        return out


@dataclass(frozen=True)
class AwsConfig(CollectorConfig):
    regions: list[str] = field(default_factory=lambda: ["us-east-1"], metadata={"help": "regions to inventory"})
    accounts: list[AwsAccount] = field(default_factory=list, metadata={"help": "member accounts (assume-role)"})
    payer_account_id: str | None = field(default=None, metadata={"help": "BillingAccountId; default: the caller's"})
    cost_explorer: bool = True              # pull billed cost (GetCostAndUsage)
    # Cost Explorer is billed per request ($0.01) and refreshes a few times a day: pull at most this often
    ce_interval_hours: float = 12
    ce_tag_key: str | None = None           # one cost allocation tag key to group billed cost by
    metrics: bool = True                    # CloudWatch CPU utilisation for EC2 (GetMetricData)
    metrics_extended: bool = False          # + network/disk via SEARCH (billed per metric found, x4)
    metric_period_s: int = 3600
    # GetMetricData is billed per metric requested ($0.01/1000): hourly CPU of the closed days, pulled every
    # 3 days ($0.10 per 1000 instances a month; daily would be $0.30)
    metrics_interval_hours: float = 72
    metrics_backfill_days: int = 3          # first pull (CloudWatch keeps hourly data 455 days)
    usage_interval_hours: float = 24        # Lambda invocations/duration and S3 sizes: closed days, daily

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if not self.regions:
            out.append(("regions", "at least one region"))
        if self.metric_period_s not in (60, 300, 3600, 86400):
            out.append(("metric_period_s", "one of 60, 300, 3600, 86400"))
        for name in ("ce_interval_hours", "metrics_interval_hours", "usage_interval_hours"):
            if getattr(self, name) <= 0:
                out.append((name, "a positive number of hours"))
        return out


SPEC = register(CollectorSpec(
    name="aws",
    provider="aws",
    runtime="lambda",
    schedule=Schedule.every(hours=1),
    module="cloudtally.providers.aws.collector",
    config=AwsConfig,
    sdk_extra="aws",
    description="EC2/EBS, EKS, Lambda, RDS and S3 inventory priced from the catalog, CloudWatch utilisation "
                "(GetMetricData), and daily billed cost from Cost Explorer (GetCostAndUsage).",
    permissions=Permissions(aws=(
        # inventory
        "ec2:DescribeInstances",
        "ec2:DescribeVolumes",
        "eks:ListClusters",
        "eks:DescribeCluster",
        "lambda:ListFunctions",
        "rds:DescribeDBInstances",
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation",
        "s3:GetBucketTagging",
        # utilisation and usage
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
        # billed cost
        "ce:GetCostAndUsage",
        # identity and member accounts (assume-role targets come from config)
        "sts:GetCallerIdentity",
        "sts:AssumeRole",
    )),
    prices=("ec2", "ebs", "eks", "lambda", "rds", "rds_storage", "s3"),
    fixtures="aws",
    errors="cloudtally.providers.aws.errors:to_provider_error",
    memory_mb=1024,
    timeout_s=900,
))

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterator

from ... import periods
from ...collectors.runner import CollectorContext, Window
from ...focus import UTC, CostRecord, MetricPoint, complete, day_floor
from ...money import CONTEXT, ZERO, parse_amount
from . import PROVIDER
from . import taxonomy as aws_taxonomy
from .session import AwsClients

log = logging.getLogger("cloudtally.providers.aws")

COLLECTOR = "aws"
EKS_TAGS = ("eks:cluster-name", "aws:eks:cluster-name")
QTY = Decimal("0.000001")                  # usage quantities are rounded to 1e-6 before pricing
GMD_MAX_QUERIES = 500                      # GetMetricData: at most 500 queries per call
SEARCH_MAX_CHARS = 1000                    # keep each SEARCH expression under the 1024-character limit
SERVICES = {
    "ec2": ("Amazon Elastic Compute Cloud", "Compute"),
    "ebs": ("Amazon Elastic Block Store", "Storage"),
    "eks": ("Amazon Elastic Kubernetes Service", "Compute"),
    "lambda": ("AWS Lambda", "Compute"),
    "rds": ("Amazon Relational Database Service", "Databases"),
    "s3": ("Amazon Simple Storage Service", "Storage"),
}
# CloudWatch AWS/S3 BucketSizeBytes StorageType -> catalog storage class
S3_STORAGE_TYPES = {
    "StandardStorage": "STANDARD", "StandardIAStorage": "STANDARD_IA", "OneZoneIAStorage": "ONEZONE_IA",
    "GlacierInstantRetrievalStorage": "GLACIER_IR", "GlacierStorage": "GLACIER", "DeepArchiveStorage": "DEEP_ARCHIVE",
    "IntelligentTieringFAStorage": "INTELLIGENT_TIERING_FA", "IntelligentTieringIAStorage": "INTELLIGENT_TIERING_IA",
    "IntelligentTieringAIAStorage": "INTELLIGENT_TIERING_AIA",
}
EC2_METRICS = {"CPUUtilization": ("cpu_utilization", "Percent", "Average")}
EC2_SEARCH_METRICS = {"NetworkIn": "network_in", "NetworkOut": "network_out",
                      "EBSReadBytes": "disk_read_bytes", "EBSWriteBytes": "disk_write_bytes"}


def make_clients(config: AwsConfig, secrets: Any = None) -> AwsClients:
    return AwsClients(config.accounts)


# ---------------------------------------------------------------- helpers

def _q(v: Decimal) -> Decimal:
    return v.quantize(QTY, rounding=ROUND_HALF_EVEN, context=CONTEXT)


def _num(v: Any) -> Decimal:
    """A CloudWatch/Cost Explorer number as an exact Decimal (botocore parses JSON numbers as float)."""
    return parse_amount(v if isinstance(v, (str, int, Decimal)) else repr(v))


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def _hours(start: datetime, end: datetime) -> Decimal:
    s = int((end - start).total_seconds())
    return Decimal(max(s, 0)) / Decimal(3600)


def _month_hours(d: date) -> Decimal:
    return Decimal(periods.month_hours(d))


def _tags(tags: Any) -> dict[str, str]:
    if isinstance(tags, dict):
        return {str(k)[:128]: str(v)[:256] for k, v in list(tags.items())[:50]}
    return {str(t["Key"])[:128]: str(t.get("Value", ""))[:256] for t in (tags or [])[:50] if t.get("Key")}


def _record(ctx: CollectorContext, *, payer: str, account: str, service: str, region: str | None, day: date,
            resource_id: str | None, resource_name: str | None, resource_type: str | None, price: Any,
            quantity: Decimal, tags: dict[str, str] | None = None, line: str | None = None,
            description: str = "", pricing_category: str = "Standard") -> CostRecord:
    """An estimate: catalog price × usage, exact; completed for FOCUS 1.2 by the AWS taxonomy."""
    name, category = SERVICES[service]
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    cost = price.cost(quantity)
    return CostRecord(**complete(dict(
        ProviderName=PROVIDER, PublisherName=PROVIDER, InvoiceIssuerName=PROVIDER,
        BillingAccountId=payer, SubAccountId=account, ChargePeriodStart=start,
        ChargePeriodEnd=start + timedelta(days=1),
        BillingPeriodStart=periods.month_period(day)[0], BillingPeriodEnd=periods.month_period(day)[1],
        BilledCost=cost, EffectiveCost=cost, ListCost=cost, ContractedCost=cost, BillingCurrency=price.currency,
        PricingCurrency=price.currency, ServiceName=name, ServiceCategory=category, ChargeCategory="Usage",
        ChargeFrequency="Usage-Based", ChargeDescription=description or None, ResourceId=resource_id,
        ResourceName=resource_name, ResourceType=resource_type, RegionId=region,
        # the catalog entry is the SKU and its one price; what it meters is the key below service/region
        SkuId=price.sku, SkuPriceId=price.sku, SkuMeter=price.sku.split("/", 2)[-1],
        PricingUnit=price.unit, PricingQuantity=quantity, ConsumedQuantity=quantity,
        ConsumedUnit=price.unit, ListUnitPrice=price.amount, ContractedUnitPrice=price.amount,
        PricingCategory=pricing_category, Tags=tags or {}, x_CostSource="estimated", x_Collector=COLLECTOR,
        x_CatalogVersion=price.version, x_LineKey=line), aws_taxonomy))


def _price(ctx: CollectorContext, service: str, region: str, *key: str, multi_az: bool = False) -> Any:
    from ...catalog import PriceNotFound
    try:
        return ctx.catalog.price(service, region, *key, multi_az=multi_az)
    except PriceNotFound as e:
        ctx.note(f"unpriced: {e.message}")
        return None


def _pages(client: Any, op: str, key: str, **kw: Any) -> Iterator[Any]:
    for page in client.get_paginator(op).paginate(**kw):
        yield from page.get(key, [])


# ---------------------------------------------------------------- CloudWatch

def get_metric_data(cw: Any, queries: list[dict[str, Any]], start: datetime, end: datetime
                    ) -> dict[str, list[tuple[str, datetime, Decimal]]]:
    """Run queries in calls of at most 500; returns ``{query id: [(label, timestamp, value), ...]}``."""
    out: dict[str, list[tuple[str, datetime, Decimal]]] = defaultdict(list)
    for i in range(0, len(queries), GMD_MAX_QUERIES):
        kw: dict[str, Any] = {"MetricDataQueries": queries[i:i + GMD_MAX_QUERIES], "StartTime": start,
                              "EndTime": end, "ScanBy": "TimestampAscending"}
        while True:
            resp = cw.get_metric_data(**kw)
            for r in resp.get("MetricDataResults", []):
                for ts, v in zip(r.get("Timestamps", []), r.get("Values", [])):
                    out[r["Id"]].append((r.get("Label", ""), _utc(ts), _num(v)))
            tok = resp.get("NextToken")
            if not tok:
                break
            kw["NextToken"] = tok
    return out


def _stat(qid: str, ns: str, metric: str, dims: dict[str, str], stat: str, period: int) -> dict[str, Any]:
    return {"Id": qid, "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": ns, "MetricName": metric, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
        "Period": period, "Stat": stat}}


def ec2_metric_queries(instance_ids: list[str], period: int, extended: bool = True) -> list[dict[str, Any]]:
    """One CPU query per instance, plus (``extended``) SEARCH expressions that fetch network and disk
    series for groups of instances: ~1.05 queries per instance, so 1 000 instances take 3 GetMetricData
    calls. CloudWatch bills every metric a SEARCH returns: extended costs 5x the CPU-only pull."""
    queries = [_stat(f"c{n}", "AWS/EC2", "CPUUtilization", {"InstanceId": iid}, "Average", period)
               for n, iid in enumerate(instance_ids)]
    if not extended:
        return queries
    metric_names = " OR ".join(f'MetricName="{m}"' for m in EC2_SEARCH_METRICS)
    head = f"SEARCH('{{AWS/EC2,InstanceId}} ({metric_names}) AND ("
    tail = ")', 'Sum', %d)" % period
    group: list[str] = []
    n = 0

    def flush() -> None:
        nonlocal n
        if group:
            expr = head + " OR ".join(f'InstanceId="{i}"' for i in group) + tail
            queries.append({"Id": f"s{n}", "Expression": expr, "ReturnData": True,
                            "Label": "${PROP('Dim.InstanceId')} ${PROP('MetricName')}"})
            n += 1
            group.clear()

    for iid in instance_ids:
        if len(head) + len(tail) + sum(len(g) + 17 for g in group) + len(iid) + 17 > SEARCH_MAX_CHARS:
            flush()
        group.append(iid)
    flush()
    return queries


def _ec2_metrics(ctx: CollectorContext, cw: Any, instances: list[dict[str, Any]], account: str,
                 region: str, window: Window) -> Iterator[MetricPoint]:
    """Hourly utilisation of the closed days since the last pull, once per ``metrics_interval_hours``
    (GetMetricData is billed per metric requested). A fixed window (the agent's last hour) is pulled as asked."""
    if not instances or not ctx.config.metrics:
        return
    period = ctx.config.metric_period_s
    scope = ctx.current.name if ctx.current is not None else f"{account}/{region}/ec2"
    if ctx.fixed_window:
        start, end = window.start.replace(minute=0, second=0), window.end
    else:
        # closed days only; the next pull starts where this one ended
        days = ctx.metric_days_due(scope, "metrics", ctx.config.metrics_interval_hours,
                                   ctx.config.metrics_backfill_days)
        if days is None:
            return
        start, end = days
    if start >= end:
        return
    ids = [i["InstanceId"] for i in instances]
    by_id = {i["InstanceId"]: i for i in instances}
    res = get_metric_data(cw, ec2_metric_queries(ids, period, ctx.config.metrics_extended),
                          start, end)
    if not ctx.fixed_window:
        ctx.set_mark(scope, "metrics", end)
    for n, iid in enumerate(ids):
        for _, ts, v in res.get(f"c{n}", []):
            yield _point("aws.ec2.cpu_utilization", v, ts, "Percent", iid, account, region, by_id[iid])
    for qid, rows in res.items():
        if not qid.startswith("s"):
            continue
        for label, ts, v in rows:
            iid, _, metric = label.partition(" ")
            if iid in by_id and metric in EC2_SEARCH_METRICS:
                yield _point(f"aws.ec2.{EC2_SEARCH_METRICS[metric]}", v, ts, "Bytes", iid, account, region, by_id[iid])


def _point(name: str, v: Decimal, ts: datetime, unit: str, iid: str, account: str, region: str,
           inst: dict[str, Any]) -> MetricPoint:
    dims = {"resource": iid, "account": account, "region": region, "instance_type": inst.get("InstanceType", "")}
    cluster = _eks_cluster(inst)
    if cluster:
        dims["cluster"] = cluster
    return MetricPoint(name=name, value=v, timestamp=ts, unit=unit, dimensions=dims, source=COLLECTOR)


# ---------------------------------------------------------------- services

def _eks_cluster(inst: dict[str, Any]) -> str | None:
    tags = _tags(inst.get("Tags"))
    return next((tags[k] for k in EKS_TAGS if tags.get(k)), None)


def _running_span(start: datetime, window: Window) -> Iterator[tuple[date, Decimal]]:
    """Hours per day that a resource running since ``start`` spent inside the window."""
    for day, a, b in window.day_slices():
        a = max(a, start)
        if b > a:
            yield day, _q(_hours(a, b))


def _ec2(ctx: CollectorContext, payer: str, account: str, region: str, window: Window) -> Iterator[Any]:
    ec2 = ctx.clients.client("ec2", region, _acct_key(ctx, account))
    instances = [i for r in _pages(ec2, "describe_instances", "Reservations") for i in r.get("Instances", [])]
    running = [i for i in instances if i.get("State", {}).get("Name") == "running"]
    for inst in running:
        iid = inst["InstanceId"]
        itype = inst.get("InstanceType", "")
        platform = (inst.get("PlatformDetails") or inst.get("Platform") or "Linux/UNIX").lower()
        tenancy = inst.get("Placement", {}).get("Tenancy", "default")
        if "windows" in platform or "red hat" in platform or "suse" in platform or tenancy != "default":
            ctx.note(f"unpriced: {iid} ({itype}, {platform}, {tenancy} tenancy): the catalog prices Linux shared tenancy")
            continue
        price = _price(ctx, "ec2", region, itype)
        if price is None:
            continue
        tags = _tags(inst.get("Tags"))
        cluster = _eks_cluster(inst)
        lifecycle = inst.get("InstanceLifecycle") or "on-demand"
        for day, hours in _running_span(_utc(inst["LaunchTime"]), window):
            yield _record(ctx, payer=payer, account=account, service="ec2", region=region, day=day, resource_id=iid,
                          resource_name=tags.get("Name") or iid, resource_type=itype, price=price, quantity=hours,
                          tags=tags, description=f"{itype} {lifecycle} instance hours"
                          + (f" (EKS cluster {cluster})" if cluster else ""),
                          pricing_category="Dynamic" if lifecycle == "spot" else "Standard")
    for vol in _pages(ec2, "describe_volumes", "Volumes"):
        price = _price(ctx, "ebs", region, vol.get("VolumeType", "gp2"))
        if price is None:
            continue
        size = Decimal(int(vol.get("Size", 0)))
        tags = _tags(vol.get("Tags"))
        for day, hours in _running_span(_utc(vol["CreateTime"]), window):
            qty = _q(CONTEXT.divide(CONTEXT.multiply(size, hours), _month_hours(day)))
            yield _record(ctx, payer=payer, account=account, service="ebs", region=region, day=day,
                          resource_id=vol["VolumeId"], resource_name=tags.get("Name") or vol["VolumeId"],
                          resource_type=vol.get("VolumeType"), price=price, quantity=qty, tags=tags,
                          description=f"EBS {vol.get('VolumeType')} {size} GB")
    yield from _ec2_metrics(ctx, ctx.clients.client("cloudwatch", region, _acct_key(ctx, account)), running,
                            account, region, window)


def _eks(ctx: CollectorContext, payer: str, account: str, region: str, window: Window) -> Iterator[Any]:
    eks = ctx.clients.client("eks", region, _acct_key(ctx, account))
    for name in _pages(eks, "list_clusters", "clusters"):
        c = eks.describe_cluster(name=name)["cluster"]
        if c.get("status") not in ("ACTIVE", "UPDATING"):
            continue
        support = ((c.get("upgradePolicy") or {}).get("supportType") or "STANDARD").lower()
        price = _price(ctx, "eks", region, support)
        if price is None:
            continue
        tags = _tags(c.get("tags"))
        for day, hours in _running_span(_utc(c["createdAt"]), window):
            yield _record(ctx, payer=payer, account=account, service="eks", region=region, day=day,
                          resource_id=c.get("arn") or name, resource_name=name, resource_type=f"cluster-{support}",
                          price=price, quantity=hours, tags=tags,
                          description=f"EKS control plane ({support} support), Kubernetes {c.get('version')}")


def _usage_window(ctx: CollectorContext, window: Window) -> Window | None:
    """The closed days of ``window`` when a usage-metric pull (Lambda, S3) is due, else None.

    GetMetricData is billed per metric requested, so usage is read once per ``usage_interval_hours``
    for whole days (re-reading the trailing days catches late datapoints), not every run."""
    if ctx.fixed_window:
        return window
    scope = ctx.current.name if ctx.current is not None else ""
    today = day_floor(ctx.now)
    if window.start >= today or not ctx.due(scope, "usage", ctx.config.usage_interval_hours):
        return None
    ctx.set_mark(scope, "usage", ctx.now)
    return Window(window.start, today)


def _lambda(ctx: CollectorContext, payer: str, account: str, region: str, window: Window) -> Iterator[Any]:
    window = _usage_window(ctx, window)
    if window is None:
        return
    lam = ctx.clients.client("lambda", region, _acct_key(ctx, account))
    fns = list(_pages(lam, "list_functions", "Functions"))
    if not fns:
        return
    period = 86400 if window.start.hour == 0 and window.start.minute == 0 else 3600
    start = window.start.replace(minute=0, second=0)
    queries = []
    for n, f in enumerate(fns):
        dims = {"FunctionName": f["FunctionName"]}
        queries.append(_stat(f"i{n}", "AWS/Lambda", "Invocations", dims, "Sum", period))
        queries.append(_stat(f"d{n}", "AWS/Lambda", "Duration", dims, "Sum", period))
    res = get_metric_data(ctx.clients.client("cloudwatch", region, _acct_key(ctx, account)), queries, start, window.end)
    for n, f in enumerate(fns):
        arch = (f.get("Architectures") or ["x86_64"])[0]
        mem_gb = CONTEXT.divide(Decimal(int(f.get("MemorySize", 128))), Decimal(1024))
        p_req = _price(ctx, "lambda", region, arch, "Request")
        p_gbs = _price(ctx, "lambda", region, arch, "GB-Second")
        if p_req is None or p_gbs is None:
            continue
        inv: dict[date, Decimal] = defaultdict(lambda: ZERO)
        dur: dict[date, Decimal] = defaultdict(lambda: ZERO)
        for _, ts, v in res.get(f"i{n}", []):
            inv[ts.date()] = CONTEXT.add(inv[ts.date()], v)
        for _, ts, v in res.get(f"d{n}", []):
            dur[ts.date()] = CONTEXT.add(dur[ts.date()], v)
        tags = _tags(f.get("Tags"))
        for day in sorted(set(inv) | set(dur)):
            if day not in window.days():
                continue
            common = dict(payer=payer, account=account, service="lambda", region=region, day=day,
                          resource_id=f.get("FunctionArn") or f["FunctionName"], resource_name=f["FunctionName"],
                          resource_type=f"function-{arch}", tags=tags)
            yield _record(ctx, price=p_req, quantity=_q(inv[day]), line="requests",
                          description=f"{f['FunctionName']} requests", **common)
            gbs = _q(CONTEXT.multiply(CONTEXT.divide(dur[day], Decimal(1000)), mem_gb))
            yield _record(ctx, price=p_gbs, quantity=gbs, line="compute",
                          description=f"{f['FunctionName']} {arch} {f.get('MemorySize')} MB compute", **common)


RDS_ENGINES = {"mysql": "mysql", "postgres": "postgres", "mariadb": "mariadb"}


def _rds(ctx: CollectorContext, payer: str, account: str, region: str, window: Window) -> Iterator[Any]:
    rds = ctx.clients.client("rds", region, _acct_key(ctx, account))
    for db in _pages(rds, "describe_db_instances", "DBInstances"):
        ident = db["DBInstanceIdentifier"]
        engine = RDS_ENGINES.get(db.get("Engine", ""))
        multi_az = bool(db.get("MultiAZ"))
        klass = db.get("DBInstanceClass", "")
        rid = db.get("DBInstanceArn") or ident
        tags = _tags(db.get("TagList"))
        created = _utc(db["InstanceCreateTime"]) if db.get("InstanceCreateTime") else window.start
        if engine is None:
            ctx.note(f"unpriced: {ident} engine {db.get('Engine')}: the catalog prices {', '.join(RDS_ENGINES)}")
        elif db.get("DBInstanceStatus") in ("available", "backing-up", "modifying", "maintenance"):
            price = _price(ctx, "rds", region, engine, klass, multi_az=multi_az)
            if price is not None:
                for day, hours in _running_span(created, window):
                    yield _record(ctx, payer=payer, account=account, service="rds", region=region, day=day,
                                  resource_id=rid, resource_name=ident, resource_type=klass, price=price,
                                  quantity=hours, tags=tags, line="instance",
                                  description=f"{klass} {engine} {'Multi-AZ' if multi_az else 'Single-AZ'} hours")
        sprice = _price(ctx, "rds_storage", region, db.get("StorageType", "gp2"), multi_az=multi_az)
        if sprice is not None:
            size = Decimal(int(db.get("AllocatedStorage", 0)))
            for day, hours in _running_span(created, window):
                qty = _q(CONTEXT.divide(CONTEXT.multiply(size, hours), _month_hours(day)))
                yield _record(ctx, payer=payer, account=account, service="rds", region=region, day=day,
                              resource_id=rid, resource_name=ident, resource_type=klass, price=sprice, quantity=qty,
                              tags=tags, line="storage",
                              description=f"{db.get('StorageType')} storage {size} GB {'Multi-AZ' if multi_az else ''}".strip())


def _s3(ctx: CollectorContext, payer: str, account: str, window: Window) -> Iterator[Any]:
    window = _usage_window(ctx, window)
    if window is None:
        return
    akey = _acct_key(ctx, account)
    s3 = ctx.clients.client("s3", ctx.config.regions[0], akey)
    by_region: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in s3.list_buckets().get("Buckets", []):
        loc = s3.get_bucket_location(Bucket=b["Name"]).get("LocationConstraint") or "us-east-1"
        loc = {"EU": "eu-west-1"}.get(loc, loc)
        try:
            b["Tags"] = s3.get_bucket_tagging(Bucket=b["Name"]).get("TagSet", [])
        except s3.exceptions.ClientError as e:  # an untagged bucket answers NoSuchTagSet; anything else fails the scope
            if e.response.get("Error", {}).get("Code") not in ("NoSuchTagSet", "NoSuchTagSetError"):
                raise
            b["Tags"] = []
        by_region[loc].append(b)
    start = datetime(window.start.year, window.start.month, window.start.day, tzinfo=UTC)
    for region, buckets in sorted(by_region.items()):
        cw = ctx.clients.client("cloudwatch", region, akey)
        present = _s3_storage_types(cw)
        queries, meta = [], {}
        for n, b in enumerate(buckets):
            for m, st in enumerate(S3_STORAGE_TYPES):
                if st not in present.get(b["Name"], ()):
                    continue      # GetMetricData bills every metric requested: ask only for those that exist
                qid = f"b{n}_{m}"
                meta[qid] = (b, st)
                queries.append(_stat(qid, "AWS/S3", "BucketSizeBytes", {"BucketName": b["Name"], "StorageType": st},
                                     "Average", 86400))
            if "AllStorageTypes" in present.get(b["Name"], ()):
                queries.append(_stat(f"o{n}", "AWS/S3", "NumberOfObjects",
                                     {"BucketName": b["Name"], "StorageType": "AllStorageTypes"}, "Average", 86400))
        if not queries:
            continue
        res = get_metric_data(cw, queries, start, window.end)
        days = set(window.days())
        slices = {d: (a, z) for d, a, z in window.day_slices()}
        for qid, rows in res.items():
            if qid.startswith("o"):
                b = buckets[int(qid[1:])]
                for _, ts, v in rows:
                    yield MetricPoint(name="aws.s3.object_count", value=v, timestamp=ts, unit="Count",
                                      dimensions={"resource": b["Name"], "account": account, "region": region},
                                      source=COLLECTOR)
                continue
            b, st = meta[qid]
            cls = S3_STORAGE_TYPES[st]
            price = _price(ctx, "s3", region, cls)
            for _, ts, v in rows:
                d = ts.date()
                if d not in days or price is None:
                    continue
                yield MetricPoint(name="aws.s3.bucket_size_bytes", value=v, timestamp=ts, unit="Bytes",
                                  dimensions={"resource": b["Name"], "storage_type": st, "account": account,
                                              "region": region}, source=COLLECTOR)
                a, z = slices[d]
                gb = CONTEXT.divide(v, Decimal(1024 ** 3))
                qty = _q(CONTEXT.divide(CONTEXT.multiply(gb, _hours(a, z)), _month_hours(d)))
                yield _record(ctx, payer=payer, account=account, service="s3", region=region, day=d,
                              resource_id=f"arn:aws:s3:::{b['Name']}", resource_name=b["Name"],
                              resource_type=cls, price=price, quantity=qty, tags=_tags(b.get("Tags")), line=cls,
                              description=f"S3 {cls} storage")


def _s3_storage_types(cw: Any) -> dict[str, set[str]]:
    """Bucket -> storage types with a daily storage series in this region (``AllStorageTypes`` for the
    object count). ListMetrics costs one request per 500 series; GetMetricData bills every metric asked
    for, so asking for all nine storage classes of every bucket blindly would cost ~5x more."""
    out: dict[str, set[str]] = defaultdict(set)
    for m in _pages(cw, "list_metrics", "Metrics", Namespace="AWS/S3"):
        dims = {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}
        st = dims.get("StorageType")
        if dims.get("BucketName") and ((m.get("MetricName") == "BucketSizeBytes" and st in S3_STORAGE_TYPES)
                                       or (m.get("MetricName") == "NumberOfObjects" and st == "AllStorageTypes")):
            out[dims["BucketName"]].add(st)
    return out


# ---------------------------------------------------------------- Cost Explorer

def cost_explorer_records(ctx: CollectorContext, ce: Any, payer: str, window: Window) -> Iterator[CostRecord]:
    """Daily billed cost grouped by service and linked account (and one tag key, when configured).

    BilledCost = UnblendedCost, EffectiveCost = AmortizedCost. One request per page; with a tag key,
    one more request per linked account (Cost Explorer groups by at most two dimensions).
    """
    start = window.start.date()
    end = window.end.date() + timedelta(days=1)   # End is exclusive; today's partial day included
    base = {"TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()}, "Granularity": "DAILY",
            "Metrics": ["UnblendedCost", "AmortizedCost"]}
    tag_key = ctx.config.ce_tag_key
    names: dict[str, str] = {}   # linked account → its name (DimensionValueAttributes "description")
    rows = list(_ce_rows(ce, {**base, "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"},
                                                  {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]}, names))
    if not tag_key:
        for day, keys, metrics in rows:
            yield _billed(payer, keys[1], keys[0], day, metrics, {}, names=names)
        return
    accounts = sorted({keys[1] for _, keys, _ in rows})
    for acct in accounts:
        kw = {**base, "Filter": {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [acct]}},
              "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "TAG", "Key": tag_key}]}
        for day, keys, metrics in _ce_rows(ce, kw):
            tval = keys[1].split("$", 1)[1] if "$" in keys[1] else keys[1]
            yield _billed(payer, acct, keys[0], day, metrics, {tag_key: tval} if tval else {},
                          line=f"tag:{tag_key}={tval}", names=names)


def _ce_rows(ce: Any, kw: dict[str, Any], names: dict[str, str] | None = None
             ) -> Iterator[tuple[date, list[str], dict[str, Any]]]:
    while True:
        resp = ce.get_cost_and_usage(**kw)
        if names is not None:
            for a in resp.get("DimensionValueAttributes") or []:
                if a.get("Value") and (a.get("Attributes") or {}).get("description"):
                    names[a["Value"]] = a["Attributes"]["description"]
        for rbt in resp.get("ResultsByTime", []):
            day = date.fromisoformat(rbt["TimePeriod"]["Start"])
            for g in rbt.get("Groups", []):
                yield day, list(g.get("Keys", [])), g.get("Metrics", {})
        tok = resp.get("NextPageToken")
        if not tok:
            return
        kw = {**kw, "NextPageToken": tok}


def _billed(payer: str, account: str, service: str, day: date, metrics: dict[str, Any], tags: dict[str, str],
            line: str | None = None, names: dict[str, str] | None = None) -> CostRecord:
    unb = metrics.get("UnblendedCost") or {}
    amo = metrics.get("AmortizedCost") or unb
    billed = parse_amount(unb.get("Amount", "0"))
    effective = parse_amount(amo.get("Amount", "0"))
    cur = unb.get("Unit") or amo.get("Unit") or "USD"
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    names = names or {}
    tax = service == "Tax"
    return CostRecord(**complete(dict(
        ProviderName=PROVIDER, PublisherName=PROVIDER, InvoiceIssuerName=PROVIDER, BillingAccountId=payer,
        BillingAccountName=names.get(payer), SubAccountId=account, SubAccountName=names.get(account),
        ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(days=1),
        BillingPeriodStart=periods.month_period(day)[0], BillingPeriodEnd=periods.month_period(day)[1],
        BilledCost=billed, EffectiveCost=effective, ListCost=billed, ContractedCost=effective, BillingCurrency=cur,
        ServiceName=service[:1024] or "Unknown", ServiceCategory="Other",
        ChargeCategory="Tax" if tax else "Usage", ChargeFrequency="One-Time" if tax else "Usage-Based",
        ChargeDescription=f"Cost Explorer daily cost: {service}",
        Tags=tags, x_CostSource="billed", x_Collector=COLLECTOR, x_LineKey=line), aws_taxonomy))


# ---------------------------------------------------------------- entry point

def _acct_key(ctx: CollectorContext, account: str) -> str | None:
    """None for the caller's own account (its default session), else the member account id."""
    return None if account == ctx.clients.self_account else account


def accounts(ctx: CollectorContext) -> tuple[str, list[str]]:
    """(payer account, accounts to inventory). The caller's account comes first."""
    me = ctx.clients.client("sts", None).get_caller_identity()["Account"]
    ctx.clients.self_account = me
    members = [a.account_id for a in ctx.config.accounts if a.account_id != me]
    return str(ctx.config.payer_account_id or me), [me] + members


def collect(ctx: CollectorContext) -> Iterator[CostRecord | MetricPoint]:
    """Inventory estimates and metrics per account/region/service, then Cost Explorer billed cost."""
    regions = ctx.config.regions
    payer = None
    with ctx.scope("identity"):
        payer, accts = accounts(ctx)
    if payer is None:
        return
    for account in accts:
        for region in regions:
            for name, fn in (("ec2", _ec2), ("eks", _eks), ("lambda", _lambda), ("rds", _rds)):
                scope = f"{account}/{region}/{name}"
                with ctx.scope(scope):
                    yield from fn(ctx, payer, account, region, ctx.window_for(scope))
        scope = f"{account}/s3"
        with ctx.scope(scope):
            yield from _s3(ctx, payer, account, ctx.window_for(scope))
    if ctx.config.cost_explorer:
        scope = f"ce/{payer}"
        with ctx.scope(scope):
            if ctx.fixed_window or ctx.due(scope, "pull", ctx.config.ce_interval_hours):
                ctx.set_mark(scope, "pull", ctx.now)
                yield from cost_explorer_records(ctx, ctx.clients.client("ce", "us-east-1"), payer,
                                                 ctx.window_for(scope))
