"""``AzureTelemetryAgent``: the OpenFinOps agent API on top of the ``azure`` collector (no second implementation).

It runs the collector over the last hour for one subscription (``subscription_id``, else ``AZURE_SUBSCRIPTION_ID``,
else every subscription the identity can read) and an optional resource group, with ``DefaultAzureCredential``
(managed identity, environment, Azure CLI ...), and sends the published Azure agent's payload — ``{"agent_id",
"timestamp", "metrics": {"subscription_id", "resource_group", "virtual_machines", "aks", "azure_functions",
"sql_databases", "storage", "summary"}, "agent_health"}`` — with an ``hourly_cost`` on every priced element to
``POST /api/v1/telemetry/ingest``, after registering at ``POST /api/v1/agents/register``.

AKS nodes are scale set hours: they are reported once, in ``aks.node_pools`` (beside ``aks.clusters``, whose
``hourly_cost`` is the control plane's), never among ``virtual_machines``.

>>> agent = AzureTelemetryAgent(openfinops_endpoint="http://localhost:8080", subscription_id="sub-id")  # doctest: +SKIP
>>> agent.register_agent() and agent.run_once()                                                        # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..focus import CostRecord, MetricPoint
from ..money import CONTEXT, ZERO
from .base import TelemetryAgent, run_cli

log = logging.getLogger("cloudtally.agents.azure")
ENV_SUBSCRIPTION = "AZURE_SUBSCRIPTION_ID"
ENV_ARM = "CLOUDTALLY_AZURE_ARM_ENDPOINT"
ENV_METRICS = "CLOUDTALLY_AZURE_METRICS_ENDPOINT"     # with {region}


class AzureTelemetryAgent(TelemetryAgent):
    """OpenFinOps ``AzureTelemetryAgent`` (same constructor, methods and payload), backed by the collector."""

    agent_type = "azure_telemetry"
    cloud_provider = "azure"

    def __init__(self, openfinops_endpoint: str | None = None, subscription_id: str | None = None,
                 resource_group: str | None = None, *, server_url: str | None = None, agent_id: str | None = None,
                 api_key_id: str | None = None, api_key_secret: str | None = None, clients: Any = None,
                 credential: Any = None, config: dict[str, Any] | None = None, window_hours: int = 1,
                 spool_dir: str | None = None, clock: Any = None):
        self.subscription_id = subscription_id or os.environ.get(ENV_SUBSCRIPTION) or None
        self.resource_group = resource_group
        super().__init__(openfinops_endpoint or server_url, agent_id=agent_id, api_key_id=api_key_id,
                         api_key_secret=api_key_secret, spool_dir=spool_dir, clock=clock,
                         id_prefix=f"azure-telemetry-{self.subscription_id or 'all'}")
        self.credential = credential
        self.clients = clients
        self.config = {"subscriptions": [self.subscription_id] if self.subscription_id else [],
                       "resource_groups": [resource_group] if resource_group else [], "cost_management": False,
                       **(config or {})}
        self.window_hours = window_hours
        self.last_summary: dict[str, Any] | None = None
        self.started = time.monotonic()

    def __repr__(self) -> str:
        return (f"AzureTelemetryAgent({self.endpoint!r}, subscription_id={self.subscription_id!r}, "
                f"resource_group={self.resource_group!r}, agent_id={self.agent_id!r})")

    def registration(self) -> dict[str, Any]:
        return {"region": "global", "config": {"subscription_id": self.subscription_id,
                                               "resource_group": self.resource_group,
                                               "window_hours": self.window_hours}}

    def failed_scopes(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return list((self.last_summary or {}).get("failed_scopes") or [])

    def _clients(self) -> Any:
        if self.clients is not None:
            return self.clients
        from ..providers.azure.collector import AzureClients
        from ..providers.azure.session import ARM, METRICS, AzureHttp, DefaultCredential
        # endpoints: the config's, else the environment's (sovereign clouds, emulators), else Azure public cloud
        return AzureClients(http=AzureHttp(self.credential or DefaultCredential()),
                            arm=self.config.get("arm_endpoint") or os.environ.get(ENV_ARM) or ARM,
                            metrics=self.config.get("metrics_endpoint") or os.environ.get(ENV_METRICS) or METRICS)

    def collect_telemetry_data(self, now: datetime | None = None) -> dict[str, Any]:
        """One collection over the last hour: the OpenFinOps payload (hourly cost per resource)."""
        from ..collectors import registry, runner

        now = (now or self.now()).replace(microsecond=0)
        window = runner.Window(now - timedelta(hours=self.window_hours), now)
        sink = runner.ListSink()
        self.last_summary = runner.run(registry.get("azure"), sink=sink, clients=self._clients(), config=self.config,
                                       now=now, window=window, logger=log)
        return build_payload(self.agent_id, now, window.hours, self.subscription_id, self.resource_group,
                             list(sink.records.values()), sink.metrics, self.last_summary,
                             uptime=Decimal(int(time.monotonic() - self.started)))


def add_agent_command(asub: Any) -> None:
    """``cloudtally agent azure ...`` (registered by :mod:`cloudtally.collectors.cli`)."""
    p = asub.add_parser("azure", help="AzureTelemetryAgent: VMs, AKS, Functions, SQL, Storage hourly cost")
    p.add_argument("--openfinops-endpoint", "--endpoint", dest="endpoint", default=None,
                   help="server URL (default: CLOUDTALLY_API_URL, then OPENFINOPS_ENDPOINT, then http://localhost:8080)")
    p.add_argument("--subscription-id", default=None,
                   help=f"subscription to collect (default {ENV_SUBSCRIPTION}; none: every readable subscription)")
    p.add_argument("--resource-group", default=None, help="limit collection to this resource group")
    p.add_argument("--interval", type=int, default=300, help="seconds between collections (default 300)")
    p.add_argument("--agent-id", default=None)
    p.add_argument("--once", action="store_true", help="collect and send once, then exit")
    p.add_argument("--spool-dir", default=None,
                   help="keep payloads the API does not take (outage) on disk and send them next time")
    p.set_defaults(func=_cli)


def _cli(args: Any) -> int:
    from . import AzureTelemetryAgent as Agent     # looked up at call time (tests replace it)
    agent = Agent(openfinops_endpoint=args.endpoint, subscription_id=args.subscription_id,
                  resource_group=args.resource_group, agent_id=args.agent_id, spool_dir=args.spool_dir)
    return run_cli(agent, once=args.once, interval=args.interval)


# ARM type → (payload section, list, name field)
_SECTIONS = {"microsoft.compute/virtualmachines": ("virtual_machines", "virtual_machines", "vm_name"),
             "microsoft.compute/disks": ("virtual_machines", "managed_disks", "disk_name"),
             "microsoft.compute/virtualmachinescalesets": ("virtual_machines", "scale_sets", "scale_set_name"),
             "microsoft.containerservice/managedclusters": ("aks", "clusters", "cluster_name"),
             "microsoft.web/sites": ("azure_functions", "function_apps", "app_name"),
             "microsoft.web/serverfarms": ("azure_functions", "plans", "plan_name"),
             "microsoft.sql/servers/databases": ("sql_databases", "databases", "database_name"),
             "microsoft.sql/servers/elasticpools": ("sql_databases", "elastic_pools", "pool_name"),
             "microsoft.storage/storageaccounts": ("storage", "storage_accounts", "account_name")}
_POINTS = {"azure.vm.cpu_utilization": "cpu_utilization", "azure.vm.available_memory_bytes": "available_memory_bytes",
           "azure.vm.network_in_bytes": "network_ingress", "azure.vm.network_out_bytes": "network_egress",
           "azure.vmss.cpu_utilization": "cpu_utilization", "azure.sql.dtu_utilization": "dtu_usage",
           "azure.sql.cpu_utilization": "cpu_utilization", "azure.sql.storage_bytes": "storage_bytes",
           "azure.functions.executions": "invocations", "azure.storage.blob_capacity_bytes": "total_size"}


def _resource_group(rid: str) -> str | None:
    parts = rid.split("/")
    return parts[parts.index("resourcegroups") + 1] if "resourcegroups" in parts else None


def build_payload(agent_id: str, now: datetime, hours: Decimal, subscription: str | None, resource_group: str | None,
                  records: list[CostRecord], metrics: list[MetricPoint], summary: dict[str, Any] | None = None, *,
                  uptime: Decimal = ZERO) -> dict[str, Any]:
    """The published Azure agent's payload from the collector's estimates over a window of ``hours``."""
    from ..providers.azure.taxonomy import arm_type
    elements: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        if r.x_CostSource != "estimated" or not r.ResourceId:
            continue
        t = arm_type(r.ResourceId) or ""
        section, lst, name_field = _SECTIONS.get(t, ("other", "resources", "name"))
        if t == "microsoft.compute/virtualmachinescalesets" and r.Tags.get("aks-cluster"):
            section, lst, name_field = "aks", "node_pools", "pool_name"
        el = elements.setdefault((section, r.ResourceId), {
            "_list": lst, name_field: r.Tags.get("aks-managed-poolName") if lst == "node_pools" else r.ResourceName,
            "resource_id": r.ResourceId, "location": r.RegionId, "resource_group": _resource_group(r.ResourceId),
            "sku": r.ResourceType, "tags": r.Tags, "_cost": ZERO})
        if lst == "virtual_machines":
            el["vm_id"], el["vm_size"], el["power_state"] = r.ResourceId, r.ResourceType, "running"
        if lst == "node_pools":
            el["cluster_name"], el["vm_size"] = r.Tags.get("aks-cluster"), r.ResourceType
        el["_cost"] = CONTEXT.add(el["_cost"], r.BilledCost)
    latest: dict[tuple[str, str], MetricPoint] = {}
    pools: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in metrics:
        if p.name == "azure.aks.node_pool.nodes":
            d = p.dimensions
            pools[d.get("resource", "")].append({
                "pool_name": d.get("pool"), "node_count": int(p.value), "vm_size": d.get("vm_size"), "mode": d.get("mode"),
                "auto_scaling": {"enabled": d.get("autoscale") == "true",
                                 **({"min_count": int(d["min"]), "max_count": int(d["max"])} if d.get("min") else {})}})
            continue
        key = (p.name, p.dimensions.get("resource", ""))
        if key not in latest or p.timestamp > latest[key].timestamp:
            latest[key] = p
    sections: dict[str, dict[str, Any]] = {s: {} for s in ("virtual_machines", "aks", "azure_functions",
                                                           "sql_databases", "storage")}
    total = ZERO
    for (section, rid), el in sorted(elements.items()):
        lst = el.pop("_list")
        hourly = CONTEXT.divide(el.pop("_cost"), hours) if hours else ZERO
        el["hourly_cost"] = hourly
        for (name, res), p in latest.items():
            if res == rid and name in _POINTS:
                el[_POINTS[name]] = p.value
        sec = sections.setdefault(section, {})
        sec.setdefault(lst, []).append(el)
        sec["total_hourly_cost"] = CONTEXT.add(sec.get("total_hourly_cost", ZERO), hourly)
        total = CONTEXT.add(total, hourly)
    aks = sections["aks"]
    described = {(rid.rsplit("/", 1)[-1], p["pool_name"]): p for rid, ps in pools.items() for p in ps}
    for np in aks.get("node_pools", []):
        d = described.get((np.get("cluster_name"), np.get("pool_name"))) or {}
        np["node_count"], np["mode"] = d.get("node_count", 0), d.get("mode")
    for c in aks.get("clusters", []):
        c["node_pools"] = pools.pop(c["resource_id"], [])
        c["total_nodes"] = sum(p["node_count"] for p in c["node_pools"])
    for rid, listed in pools.items():        # a Free tier cluster: no control plane cost, its pools still listed
        aks.setdefault("clusters", []).append({"cluster_name": rid.rsplit("/", 1)[-1], "resource_id": rid,
                                               "resource_group": _resource_group(rid), "node_pools": listed,
                                               "total_nodes": sum(p["node_count"] for p in listed)})
    vms = sections["virtual_machines"]
    vms["total_vms"] = len(vms.get("virtual_machines", []))
    vms["running_vms"] = vms["total_vms"]
    aks["total_clusters"] = len(aks.get("clusters", []))
    aks["total_nodes"] = sum(c.get("total_nodes", 0) for c in aks.get("clusters", []))
    fn = sections["azure_functions"]
    fn["total_function_apps"] = len(fn.get("function_apps", []))
    sql = sections["sql_databases"]
    sql["total_databases"] = len(sql.get("databases", []))
    st = sections["storage"]
    st["total_accounts"] = len(st.get("storage_accounts", []))
    body = {"timestamp": now.timestamp(), "agent_id": agent_id, "subscription_id": subscription,
            "resource_group": resource_group, **sections,
            "summary": {"total_vms": vms["total_vms"], "running_vms": vms["running_vms"],
                        "aks_clusters": aks["total_clusters"], "aks_nodes": aks["total_nodes"],
                        "function_apps": fn["total_function_apps"], "sql_databases": sql["total_databases"],
                        "storage_accounts": st["total_accounts"], "total_hourly_cost": total,
                        "failed_scopes": [f["scope"] for f in (summary or {}).get("failed_scopes", [])]}}
    return {"agent_id": agent_id, "timestamp": now.timestamp(), "metrics": body, "events": [],
            "agent_health": {"status": "degraded" if (summary or {}).get("failed_scopes") else "healthy",
                             "uptime": uptime, "last_collection": now.timestamp(),
                             "metrics_count": len(metrics)}}

