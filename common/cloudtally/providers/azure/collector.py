"""The ``azure`` collector: VMs, scale sets (AKS nodes), managed disks, AKS, Functions, SQL and Storage priced
from the catalog; Azure Monitor utilisation in batches; billed cost from the Cost Management Query API.

Declared by :data:`SPEC` (typed settings: :class:`AzureConfig`); plain REST through
:class:`~cloudtally.providers.azure.session.AzureHttp`. Per subscription, each unit of work is a scope:
``<sub>/compute`` (VMs, scale sets, disks, AKS control planes), ``<sub>/functions``, ``<sub>/sql``,
``<sub>/storage`` and ``costmanagement/<sub>`` — an ``AuthorizationFailed`` on one subscription fails its
scopes only (``GET /v1/collectors`` shows it) and the other subscriptions land.

Counted once: an AKS node pool is a virtual machine scale set in the cluster's node resource group; its
instance hours are estimated from the scale set (``sku.capacity`` × hours) — the cluster's agent pools only
describe them (mode, autoscale min/max) and are never priced a second time. A VM of a *flexible* scale set
is listed as a VM and priced as one; its scale set is not priced again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...collectors.config import CollectorConfig
from ...collectors.registry import CollectorSpec, Permissions, Schedule, register
from .session import ARM, METRICS


@dataclass(frozen=True)
class AzureConfig(CollectorConfig):
    trailing_days: int = 5                 # Azure cost data settles within ~72 h: re-pull five days
    initial_days: int = 5
    subscriptions: list[str] = field(default_factory=list, metadata={
        "help": "subscription ids to collect; empty: every subscription the identity can read"})
    resource_groups: list[str] = field(default_factory=list, metadata={
        "help": "only these resource groups (and the node resource groups of their AKS clusters)"})
    billing_account_id: str | None = field(default=None, metadata={
        "help": "BillingAccountId of the records (the EA enrollment / MCA billing profile); default: the subscription"})
    arm_endpoint: str = field(default=ARM, metadata={"help": "Azure Resource Manager (sovereign clouds, emulators)"})
    metrics_endpoint: str = field(default=METRICS, metadata={
        "help": "regional metrics endpoint, {region} is replaced (metrics:getBatch)"})
    cost_management: bool = True           # billed cost from the Cost Management Query API
    # Cost Management data refreshes about every 4 hours and Microsoft asks for few queries: pull at most this often
    cost_interval_hours: float = 8
    metrics: bool = True                   # VM / scale set / SQL utilisation (metrics:getBatch)
    metrics_interval_hours: float = 24     # hourly points of the closed days, pulled once a day
    metrics_backfill_days: int = 1
    usage_interval_hours: float = 24       # Functions executions and blob capacity: closed days, daily

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if self.cost_interval_hours < 4:
            out.append(("cost_interval_hours", "at least 4 (Cost Management data refreshes every 4 hours)"))
        for name in ("metrics_interval_hours", "usage_interval_hours"):
            if getattr(self, name) <= 0:
                out.append((name, "a positive number of hours"))
        if not 0 <= self.metrics_backfill_days <= 14:
            out.append(("metrics_backfill_days", "between 0 and 14"))
        for name in ("arm_endpoint", "metrics_endpoint"):
            if not getattr(self, name).startswith(("https://", "http://")):
                out.append((name, "an http(s) URL"))
        if "{region}" not in self.metrics_endpoint:
            out.append(("metrics_endpoint", "must contain {region}"))
        for s in self.subscriptions:
            if len(s) != 36 or s.count("-") != 4:
                out.append(("subscriptions", f"{s!r} is not a subscription id (GUID)"))
        return out


SPEC = register(CollectorSpec(
    name="azure",
    provider="azure",
    runtime="azure-functions",
    schedule=Schedule.every(hours=1),
    module="cloudtally.providers.azure.collector",
    config=AzureConfig,
    sdk_extra="azure",
    description="VMs (size, OS, spot, power state), scale sets / AKS nodes counted once, managed disks, AKS control "
                "plane, Function apps (Consumption, Flex, Premium, Dedicated), Azure SQL (DTU, vCore, elastic pools) "
                "and Storage (capacity by access tier) × the catalog; Azure Monitor metrics:getBatch utilisation; "
                "daily billed cost from the Cost Management Query API (ActualCost, AmortizedCost).",
    permissions=Permissions(azure=("Reader", "Monitoring Reader", "Cost Management Reader")),
    prices=("vm", "disk", "aks", "functions", "functions_premium", "app_service", "sql_dtu", "sql_pool_dtu",
            "sql_vcore", "sql_storage", "storage"),
    fixtures="azure",
    errors="cloudtally.providers.azure.errors:to_provider_error",
    memory_mb=2048,                        # Flex Consumption instance sizes: 512, 2048 or 4096 MB
    timeout_s=600,
    runtime_modules=("cloudtally.collectors.delivery", "cloudtally.collectors.api_state",
                     "cloudtally.providers.azure.inventory", "cloudtally.providers.azure.monitor",
                     "cloudtally.providers.azure.billed"),
))


@dataclass
class AzureClients:
    """What the collector calls Azure with: one counted HTTP session and the endpoints."""

    http: Any
    arm: str = ARM
    metrics: str = METRICS

    def bind(self, ctx: Any) -> None:
        self.http.bind(ctx)


def make_clients(config: AzureConfig, secrets: Any = None) -> AzureClients:
    from .session import AzureHttp, DefaultCredential
    return AzureClients(http=AzureHttp(DefaultCredential()), arm=config.arm_endpoint, metrics=config.metrics_endpoint)


def collect(ctx: Any) -> Any:
    """Inventory estimates, metrics and usage per subscription and service, then billed cost."""
    from . import billed, inventory
    subs = list(ctx.config.subscriptions)
    if not subs:
        with ctx.scope("subscriptions"):
            subs = inventory.subscriptions(ctx)
    for sub in subs:
        yield from inventory.collect_subscription(ctx, sub)
        if ctx.config.cost_management:
            yield from billed.collect_subscription(ctx, sub)
