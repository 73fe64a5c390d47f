"""The ``atlas`` collector: MongoDB Atlas Admin API v2 invoices (billed) and cluster inventory (estimates).

Per organisation, each run:

* lists projects and their clusters (``GET /orgs/{org}/groups``, ``GET /groups/{gid}/clusters``; versioned
  ``Accept: application/vnd.atlas.2024-08-05+json``) for attribution (cluster id, tags, project) and for
  **today's estimate**: per cluster, the catalog's hourly price of its tier in its provider/region × its
  node count / 3 (Atlas prices a three-node replica set) × its shards × the hours so far today. Replicas,
  read-only and analytics nodes and shards are all in that one record: a cluster is counted once.
* reads the **pending invoice** (``GET /orgs/{org}/invoices/pending``): its daily ``lineItems`` within the
  trailing window become billed records per project and cluster (they supersede that day's estimate);
* lists the organisation's invoices (``GET /orgs/{org}/invoices``, paged) and, for each closed invoice of
  the last ``invoice_months`` months whose ``updated``/amount changed since it was last read, fetches it
  (``GET /orgs/{org}/invoices/{id}``) and **replaces its billing period** in one step (a revised invoice's
  figures replace the earlier ones, dropped lines go).

Amounts are in cents (``totalPriceCents``, ``discountCents``): ListCost = total, BilledCost = total − discount,
exact. Auth: a service account (OAuth 2.0 client credentials, recommended) or programmatic API keys (HTTP
Digest), from the secret store. Throttling (429 ``RATE_LIMITED``) waits ``Retry-After``.
Sources: https://www.mongodb.com/docs/atlas/reference/api-resources-spec/v2/ (Invoices, Clusters),
https://www.mongodb.com/docs/atlas/api/api-rate-limit/, https://www.mongodb.com/docs/atlas/api/service-accounts-overview/.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator, Literal

from ... import periods
from ...collectors.registry import CollectorSpec, Permissions, Schedule, SecretRef, register
from ...errors import ConfigError
from ...focus import CostRecord, day_floor, parse_time
from ...money import CONTEXT, ZERO
from ..saas import SaasConfig, day_start, hours, record, replace_period
from ..http import VendorClients

API_KEY = SecretRef("atlas-api-key", "MongoDB Atlas programmatic API key (HTTP Digest): JSON {\"public_key\", "
                    "\"private_key\"}", env=("MONGODB_ATLAS_PUBLIC_KEY", "MONGODB_ATLAS_PRIVATE_KEY"),
                    fields=("public_key", "private_key"))
SERVICE_ACCOUNT = SecretRef("atlas-service-account", "MongoDB Atlas service account (OAuth client credentials): "
                            "JSON {\"client_id\", \"client_secret\"}",
                            env=("MONGODB_ATLAS_CLIENT_ID", "MONGODB_ATLAS_CLIENT_SECRET"),
                            fields=("client_id", "client_secret"))


@dataclass(frozen=True)
class AtlasConfig(SaasConfig):
    base_url: str = "https://cloud.mongodb.com"
    org_ids: list[str] = field(default_factory=list, metadata={"help": "Atlas organisation ids (24 hex digits)"})
    project_ids: list[str] = field(default_factory=list, metadata={"help": "only these projects' clusters (default all)"})
    auth: Literal["auto", "service-account", "digest"] = field(
        default="auto", metadata={"help": "auto: the service account if its secret is set, else the API key"})
    invoices_version: str = "2023-01-01"        # Accept: application/vnd.atlas.<version>+json
    clusters_version: str = "2024-08-05"
    invoice_months: int = field(default=2, metadata={"help": "closed invoices re-checked for revisions"})
    estimate_today: bool = True
    page_size: int = 500                         # itemsPerPage (Atlas allows up to 500)

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        for i, o in enumerate(self.org_ids):
            if not (len(o) == 24 and all(c in "0123456789abcdefABCDEF" for c in o)):
                out.append((f"org_ids[{i}]", "an Atlas organisation id (24 hex digits)"))
        if not 1 <= self.page_size <= 500:
            out.append(("page_size", "between 1 and 500"))
        if not 0 <= self.invoice_months <= 12:
            out.append(("invoice_months", "between 0 and 12"))
        return out


SPEC = register(CollectorSpec(
    name="atlas",
    provider="atlas",
    module="cloudtally.providers.atlas.collector",
    schedule=Schedule.every(hours=1, offset_minutes=20),
    runtime="lambda",
    config=AtlasConfig,
    sdk_extra="lambda",
    description="MongoDB Atlas: invoices and the pending invoice's daily line items (billed, per organisation, "
                "project and cluster), cluster inventory × catalog for today's estimate.",
    permissions=Permissions(),
    secrets=(SERVICE_ACCOUNT, API_KEY),
    prices=("dedicated",),
    fixtures="atlas",
    errors="cloudtally.providers.http:to_provider_error",
    memory_mb=256,
    timeout_s=300,
))

COLLECTOR = SPEC.name
SERVICE = "MongoDB Atlas"
# line-item units → FOCUS PricingUnit
UNITS = {"hours": "Hours", "server hours": "Hours", "gb hours": "GB-Hours", "gb": "GB", "gb days": "GB-Days",
         "gb months": "GB-Mo", "gigabytes": "GB", "gigabyte days": "GB-Days", "requests": "Requests",
         "million requests": "Requests", "days": "Days"}


@dataclass(frozen=True)
class Cluster:
    id: str
    name: str
    group_id: str
    group_name: str
    state: str
    paused: bool
    created: datetime | None
    shards: list[list[tuple[str, str, str, int]]]     # per shard: (provider, region, tier, nodes)
    disk_gb: Decimal | None
    backup: bool
    tags: dict[str, str]


# ---------------------------------------------------------------- clients

class AtlasClients(VendorClients):
    """The MongoDB Atlas API's client."""


def make_clients(config: AtlasConfig, secrets: Any) -> AtlasClients:
    from ..http import Digest, HttpClient

    mode = config.auth
    creds = None
    if mode == "service-account":
        creds = secrets.fields(SERVICE_ACCOUNT.name)      # a missing secret names where it was looked for
    elif mode == "auto":
        try:
            creds = secrets.fields(SERVICE_ACCOUNT.name)
        except ConfigError as e:
            if e.code != "missing_secret":
                raise
    if creds is not None:
        setting = f"the service account ({' / '.join(SERVICE_ACCOUNT.env)} or secret {SERVICE_ACCOUNT.name})"
        http = HttpClient(vendor="atlas", base_url=config.base_url, auth_setting=setting,
                          bearer=_oauth(creds["client_id"], creds["client_secret"], setting), **config.client_kw())
    else:
        keys = secrets.fields(API_KEY.name)
        setting = f"the API key ({' / '.join(API_KEY.env)} or secret {API_KEY.name})"
        http = HttpClient(vendor="atlas", base_url=config.base_url, auth_setting=setting,
                          digest=Digest(keys["public_key"], keys["private_key"]), **config.client_kw())
    return AtlasClients(http)


def _oauth(client_id: str, client_secret: str, setting: str):
    """Service-account token (OAuth 2.0 client credentials, valid one hour): fetched on first use."""
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()

    def token(http: Any) -> str:
        resp = http.request("POST", "/api/oauth/token", operation="GetAccessToken", auth=False,
                            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
                            form={"grant_type": "client_credentials"})
        tok = (resp.body or {}).get("access_token")
        if not tok:
            from ...errors import ProviderAuthError
            raise ProviderAuthError("atlas GetAccessToken: no access_token in the answer", provider="atlas",
                                    setting=setting)
        return tok
    return token


def _accept(version: str) -> dict[str, str]:
    return {"Accept": f"application/vnd.atlas.{version}+json"}


def _results(body: Any) -> list[Any]:
    return list((body or {}).get("results") or [])


def _next_page(resp: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    """Atlas pages by ``pageNum``/``itemsPerPage``; the last page is short or has no ``next`` link."""
    body = resp.body or {}
    got = len(body.get("results") or [])
    links = [l for l in body.get("links") or [] if isinstance(l, dict) and l.get("rel") == "next"]
    per = int(params.get("itemsPerPage", 100))
    page = int(params.get("pageNum", 1))
    total = body.get("totalCount")
    more = bool(links) or (total is not None and page * per < int(total)) or (total is None and got >= per)
    return {**params, "pageNum": page + 1} if more and got else None


def _list(ctx: Any, path: str, operation: str, version: str) -> list[Any]:
    return list(ctx.clients.http.pages(path, operation=operation, headers=_accept(version), next_of=_next_page,
                                       params={"itemsPerPage": ctx.config.page_size, "pageNum": 1},
                                       items_of=_results))


# ---------------------------------------------------------------- inventory

def _cluster(c: dict[str, Any], group: dict[str, Any]) -> Cluster:
    shards = []
    for spec in c.get("replicationSpecs") or []:
        nodes = []
        for rc in spec.get("regionConfigs") or []:
            provider = rc.get("providerName") or ""
            if provider == "TENANT":            # M0/Flex on a backing provider
                provider = rc.get("backingProviderName") or provider
            for kind in ("electableSpecs", "readOnlySpecs", "analyticsSpecs"):
                s = rc.get(kind) or {}
                n = int(s.get("nodeCount") or 0)
                if n and s.get("instanceSize"):
                    nodes.append((provider, rc.get("regionName") or "", s["instanceSize"], n))
        num = int(spec.get("numShards") or 1)      # the 2023 format counts shards; 2024-08-05 lists each one
        shards.extend([nodes] * num)
    disk = None
    for spec in c.get("replicationSpecs") or []:
        for rc in spec.get("regionConfigs") or []:
            d = (rc.get("electableSpecs") or {}).get("diskSizeGB")
            if d is not None:
                disk = Decimal(str(d))
    if disk is None and c.get("diskSizeGB") is not None:
        disk = Decimal(str(c["diskSizeGB"]))
    tags = {str(t.get("key"))[:128]: str(t.get("value", ""))[:256] for t in c.get("tags") or [] if t.get("key")}
    created = parse_time(c["createDate"]) if c.get("createDate") else None
    return Cluster(id=str(c.get("id") or f"{group['id']}/{c['name']}"), name=c["name"], group_id=group["id"],
                   group_name=group.get("name") or group["id"], state=str(c.get("stateName") or ""),
                   paused=bool(c.get("paused")), created=created, shards=shards, disk_gb=disk,
                   backup=bool(c.get("backupEnabled") or c.get("providerBackupEnabled")), tags=tags)


def inventory(ctx: Any, org: str) -> list[Cluster]:
    cfg: AtlasConfig = ctx.config
    groups = _list(ctx, f"/api/atlas/v2/orgs/{org}/groups", "ListOrganizationProjects", cfg.clusters_version)
    out = []
    for g in groups:
        if cfg.project_ids and g["id"] not in cfg.project_ids:
            continue
        for c in _list(ctx, f"/api/atlas/v2/groups/{g['id']}/clusters", "ListClusters", cfg.clusters_version):
            out.append(_cluster(c, g))
    return out


def estimates(ctx: Any, org: str, clusters: list[Cluster]) -> Iterator[CostRecord]:
    """Today so far, per cluster: tier price × nodes/3 × shards × hours (one record per cluster)."""
    from ...catalog import PriceNotFound
    today = day_floor(ctx.now)
    for c in clusters:
        if c.paused or c.state in ("DELETING", "DELETED"):
            continue
        start = max(today, c.created or today)
        h = hours(start, ctx.now)
        if h <= 0:
            continue
        cost, qty, prices, version = ZERO, ZERO, set(), None
        try:
            for shard in c.shards:
                for provider, region, tier, nodes in shard:
                    p = ctx.catalog.price("dedicated", f"{provider}:{region}", tier)
                    q = CONTEXT.multiply(h, CONTEXT.divide(Decimal(nodes), Decimal(3)))
                    cost, qty = CONTEXT.add(cost, p.cost(q)), CONTEXT.add(qty, q)
                    prices.add((p.amount, p.sku))
                    version = p.version
        except PriceNotFound as e:
            ctx.note(f"cluster {c.name}: unpriced ({e.message})")
            continue
        (amount, sku), = prices if len(prices) == 1 else ((None, None),)
        region = c.shards[0][0][1] if c.shards and c.shards[0] else None
        yield record(provider=_provider(), collector=COLLECTOR, account=org, day=today.date(), service=SERVICE,
                     category="Databases", billed=cost, source="estimated",
                     SubAccountId=c.group_id, SubAccountName=c.group_name, ResourceId=c.id, ResourceName=c.name,
                     ResourceType=_tier_label(c), RegionId=region, RegionName=region, PricingUnit="Hours",
                     PricingQuantity=qty, ConsumedQuantity=qty, ConsumedUnit="Hours", ListUnitPrice=amount,
                     SkuPriceId=sku, PricingCategory="Standard", ServiceSubcategory="NoSQL Databases",
                     Tags={**c.tags, "atlas.project": c.group_name},
                     ChargeDescription=f"{c.name}: {_tier_label(c)}, {len(c.shards)} shard(s), "
                                       f"{sum(n for _, _, _, n in (c.shards[0] if c.shards else []))} node(s) per shard"
                                       + (f", {c.disk_gb} GB disk" if c.disk_gb is not None else "")
                                       + (", backup on" if c.backup else ""),
                     x_CatalogVersion=version)


def _tier_label(c: Cluster) -> str:
    tiers = sorted({t for shard in c.shards for _, _, t, _ in shard})
    return "/".join(tiers) or "unknown"


def _provider() -> str:
    from . import PROVIDER
    return PROVIDER


# ---------------------------------------------------------------- invoices

def _cents(v: Any) -> Decimal:
    return CONTEXT.divide(Decimal(str(v or 0)), Decimal(100))


def line_record(org: str, line: dict[str, Any], clusters: dict[tuple[str, str], Cluster], invoice: dict[str, Any]
                ) -> CostRecord:
    start = parse_time(line["startDate"])
    day = start.date()
    gross = _cents(line.get("totalPriceCents"))
    net = CONTEXT.subtract(gross, _cents(line.get("discountCents")))
    gid, cname = line.get("groupId"), line.get("clusterName")
    c = clusters.get((gid or "", cname or ""))
    sku = str(line.get("sku") or "UNKNOWN")
    tags = {str(k)[:128]: ",".join(str(x) for x in v)[:256] if isinstance(v, list) else str(v)[:256]
            for k, v in (line.get("tags") or {}).items()}
    if c is not None:
        tags = {**c.tags, **tags}
    if line.get("groupName"):
        tags["atlas.project"] = str(line["groupName"])[:256]
    tier = ""
    if line.get("tierLowerBound") is not None or line.get("tierUpperBound") is not None:
        tier = f"tier:{line.get('tierLowerBound')}-{line.get('tierUpperBound')}"
    category = "Credit" if "CREDIT" in sku else "Tax" if "TAX" in sku else "Usage"
    unit = str(line.get("unit") or "")
    qty = line.get("quantity")
    price = line.get("unitPriceDollars")
    bps = parse_time(invoice["startDate"]) if invoice.get("startDate") else None
    bpe = parse_time(invoice["endDate"]) if invoice.get("endDate") else None
    end = parse_time(line["endDate"]) if line.get("endDate") else None
    if end is None or end <= start or end.date() > day + timedelta(days=1):
        end = day_start(day) + timedelta(days=1)
    return record(provider=_provider(), collector=COLLECTOR, account=org, day=day, service=SERVICE,
                  category="Databases", billed=net, list_cost=gross, source="billed", start=start, end=end,
                  BillingPeriodStart=bps, BillingPeriodEnd=bpe, InvoiceId=invoice.get("id"),
                  SubAccountId=gid, SubAccountName=line.get("groupName"),
                  ResourceId=c.id if c is not None else (f"{gid}/{cname}" if cname else None), ResourceName=cname,
                  SkuId=sku, PricingUnit=UNITS.get(unit.lower(), unit or None),
                  PricingQuantity=Decimal(str(qty)) if qty is not None else None,
                  ListUnitPrice=Decimal(str(price)) if price is not None else None, ChargeCategory=category,
                  ChargeFrequency="Usage-Based" if category == "Usage" else "One-Time",
                  ChargeDescription=(str(line.get("note")) if line.get("note") else sku)[:1024],
                  ServiceSubcategory="NoSQL Databases", Tags=dict(list(tags.items())[:50]), x_LineKey=tier or None)


def _fingerprint(meta: dict[str, Any]) -> str:
    return f"v1:{meta.get('statusName')}:{meta.get('updated')}:{meta.get('amountBilledCents')}:" \
           f"{meta.get('creditsCents')}:{meta.get('subtotalCents')}"


def invoices(ctx: Any, org: str, clusters: dict[tuple[str, str], Cluster]) -> Iterator[CostRecord]:
    """The pending invoice's lines of the window (yielded), then each changed closed invoice (replaced)."""
    cfg: AtlasConfig = ctx.config
    http = ctx.clients.http
    scope = f"atlas/{org}/invoices"
    window = ctx.window_for(scope)
    with ctx.scope(scope):
        pending = http.request("GET", f"/api/atlas/v2/orgs/{org}/invoices/pending", headers=_accept(cfg.invoices_version),
                               operation="GetOrganizationPendingInvoice", ok=(200,)).body or {}
        for line in pending.get("lineItems") or []:
            if not line.get("startDate") or parse_time(line["startDate"]) < window.start:
                continue
            yield line_record(org, line, clusters, pending)
    cutoff = periods.month_start(ctx.now.date(), back=cfg.invoice_months)
    metas = []
    with ctx.scope(f"atlas/{org}/invoice-list"):
        metas = _list(ctx, f"/api/atlas/v2/orgs/{org}/invoices", "ListOrganizationInvoices", cfg.invoices_version)
    for meta in metas:
        if meta.get("statusName") == "PENDING" or meta.get("id") == pending.get("id") or not meta.get("startDate"):
            continue
        if parse_time(meta["startDate"]).date() < cutoff:
            continue
        iscope = f"atlas/{org}/invoice/{meta['id']}"
        fp = _fingerprint(meta)
        if ctx.cursor(iscope) == fp:
            continue
        with ctx.scope(iscope) as st:
            inv = http.request("GET", f"/api/atlas/v2/orgs/{org}/invoices/{meta['id']}", ok=(200,),
                               headers=_accept(cfg.invoices_version), operation="GetOrganizationInvoice").body or {}
            recs = [line_record(org, line, clusters, inv) for line in inv.get("lineItems") or []
                    if line.get("startDate")]
            res = replace_period(ctx, COLLECTOR, recs)
            st.records += len(recs)
            st.notes.append(f"invoice {meta['id']} ({meta.get('statusName')}): {len(recs)} lines, "
                            f"{res.get('deleted', 0)} earlier records removed")
            ctx.set_cursor(iscope, fp)


def collect(ctx: Any) -> Iterator[CostRecord]:
    cfg: AtlasConfig = ctx.config
    if not cfg.org_ids:
        raise ConfigError("atlas: set org_ids (the Atlas organisation ids to collect)",
                          details=[{"field": "org_ids", "message": "at least one organisation id"}])
    for org in cfg.org_ids:
        clusters: list[Cluster] = []
        scope = f"atlas/{org}/clusters"
        with ctx.scope(scope):
            clusters = inventory(ctx, org)
            if cfg.estimate_today:
                yield from estimates(ctx, org, clusters)
        yield from invoices(ctx, org, {(c.group_id, c.name): c for c in clusters})
