"""``GCPTelemetryAgent``: the OpenFinOps agent API on top of the ``gcp`` collector module.

It runs :func:`cloudtally.providers.gcp.collector.collect` over the last hour for one project, turns the
estimates into the OpenFinOps GCP payload — ``compute_engine`` (instances with their GPUs and utilisation,
disks), ``gke`` (clusters with their node pools; the nodes are the Compute Engine instances, so a cluster's
``hourly_cost`` is its management fee only), ``cloud_functions`` (1st gen, 2nd gen and Cloud Run services),
``cloud_sql``, ``cloud_storage``, each resource with an ``hourly_cost`` — nested under ``metrics`` as the
published GCP agent sends it, and posts it to ``POST /api/v1/telemetry/ingest``.

>>> agent = GCPTelemetryAgent(openfinops_endpoint="http://localhost:8080", project_id="my-project")  # doctest: +SKIP
>>> agent.register_agent() and agent.run_continuous(interval_seconds=300)                          # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..errors import ConfigError
from ..focus import CostRecord, MetricPoint
from ..money import CONTEXT, ZERO
from .base import TelemetryAgent, agent_parser, run_cli

log = logging.getLogger("cloudtally.agents.gcp")
# ServiceName of the collector's estimates -> (payload section, list, id field)
_SHAPE = {"Compute Engine": ("compute_engine", "instances", "instance_name"),
          "Kubernetes Engine": ("gke", "clusters", "cluster_name"),
          "Cloud Run": ("cloud_functions", "functions", "function_name"),
          "Cloud Functions": ("cloud_functions", "functions", "function_name"),
          "Cloud SQL": ("cloud_sql", "instances", "instance_name"),
          "Cloud Storage": ("cloud_storage", "buckets", "bucket_name")}
_TOTALS = {"compute_engine": "total_instances", "gke": "total_clusters", "cloud_functions": "total_functions",
           "cloud_sql": "total_instances", "cloud_storage": "total_buckets"}


class GCPTelemetryAgent(TelemetryAgent):
    """OpenFinOps ``GCPTelemetryAgent(openfinops_endpoint, project_id=None, region="us-central1")``."""

    cloud_provider = "gcp"
    agent_type = "gcp_telemetry"

    def __init__(self, openfinops_endpoint: str | None = None, project_id: str | None = None,
                 region: str = "us-central1", *, server_url: str | None = None, agent_id: str | None = None,
                 api_key_id: str | None = None, api_key_secret: str | None = None, clients: Any = None,
                 config: dict[str, Any] | None = None, window_hours: int = 1, spool_dir: str | None = None,
                 client: Any = None, env: Any = None, clock: Any = None):
        environ = os.environ if env is None else env
        project = project_id or environ.get("GOOGLE_CLOUD_PROJECT") or _detect_project(clients)
        super().__init__(openfinops_endpoint or server_url, agent_id=agent_id, api_key_id=api_key_id,
                         api_key_secret=api_key_secret, client=client, env=env, clock=clock, spool_dir=spool_dir,
                         id_prefix=f"gcp-telemetry-{project}")
        self.project_id = project
        self.region = region
        self.clients = clients
        self.config = {"projects": [project], "billing_export_table": None, **(config or {})}
        self.window_hours = window_hours
        self.last_summary: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"GCPTelemetryAgent({self.endpoint!r}, project_id={self.project_id!r}, region={self.region!r})"

    def registration(self) -> dict[str, Any]:
        return {"region": self.region, "config": {"project_id": self.project_id, "window_hours": self.window_hours}}

    def failed_scopes(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return list((self.last_summary or {}).get("failed_scopes") or [])

    def collect_telemetry_data(self, now: datetime | None = None) -> dict[str, Any]:
        """One collection over the last hour: the OpenFinOps payload (hourly cost per resource)."""
        from ..collectors import registry, runner

        now = (now or self.now()).replace(microsecond=0)
        window = runner.Window(now - timedelta(hours=self.window_hours), now)
        sink = runner.ListSink()
        self.last_summary = runner.run(registry.get("gcp"), sink=sink, clients=self.clients, config=self.config,
                                       now=now, window=window, logger=log)
        return build_payload(self.agent_id, self.project_id, self.region, now, window.hours,
                             list(sink.records.values()), sink.metrics, self.last_summary)


def _detect_project(clients: Any) -> str:
    """The project Application Default Credentials name (the OpenFinOps docs: auto-detected)."""
    if clients is None:
        from ..providers.gcp.session import default_credentials
        project = default_credentials()[1]
        if project:
            return project
    raise ConfigError("GCPTelemetryAgent: no project: pass project_id, set GOOGLE_CLOUD_PROJECT, or use "
                      "credentials that name one (gcloud config set project)")


def add_agent_command(asub: Any) -> None:
    """``cloudtally agent gcp --openfinops-endpoint URL --project-id P --region R --interval 300 [--once]``."""
    gcp = agent_parser(asub, "gcp", "GCPTelemetryAgent: Compute Engine (GPUs), GKE, functions, Cloud SQL, Storage")
    gcp.add_argument("--project-id", default=None, help="project (default: GOOGLE_CLOUD_PROJECT or the credentials')")
    gcp.add_argument("--region", default="us-central1")
    gcp.set_defaults(func=_run)


def _run(args: Any) -> int:
    agent = GCPTelemetryAgent(openfinops_endpoint=args.endpoint, project_id=args.project_id, region=args.region,
                              agent_id=args.agent_id, spool_dir=args.spool_dir)
    return run_cli(agent, once=args.once, interval=args.interval)


def build_payload(agent_id: str, project: str, region: str, now: datetime, hours: Decimal, records: list[CostRecord],
                  metrics: list[MetricPoint], summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OpenFinOps GCP payload from the collector's estimates over a window of ``hours``."""
    per: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in records:
        if r.x_CostSource != "estimated" or r.ServiceName not in _SHAPE:
            continue
        section, lst, idf = _SHAPE[r.ServiceName]
        if section == "compute_engine" and r.x_LineKey == "disk":
            lst, idf = "disks", "disk_name"
        el = per.setdefault((section, lst, r.ResourceId or ""), {
            idf: r.ResourceName, "resource_id": r.ResourceId, "region": r.RegionId, "tags": r.Tags, "_cost": ZERO})
        if lst == "instances" and section == "compute_engine":
            el.update({"instance_id": (r.ResourceId or "").rsplit("/", 1)[-1], "zone": r.AvailabilityZone,
                       "machine_type": r.ResourceType, "status": "RUNNING",
                       "provisioning_model": "SPOT" if r.PricingCategory == "Dynamic" else "STANDARD"})
            if r.x_LineKey and r.x_LineKey.startswith("gpu:"):
                el.setdefault("gpus", []).append({"type": r.x_LineKey[4:], "count": int(
                    CONTEXT.divide(r.PricingQuantity or ZERO, hours)) if hours else 0})
        elif section == "cloud_sql":
            el["tier"] = r.ResourceType
        elif section == "cloud_storage":
            el.setdefault("storage_classes", []).append(r.ResourceType)
        elif section == "cloud_functions":
            el["type"] = r.ResourceType
            if r.x_LineKey in ("requests", "invocations"):
                el["invocations"] = r.PricingQuantity
        el["_cost"] = CONTEXT.add(el["_cost"], r.BilledCost)
    latest: dict[tuple[str, str], MetricPoint] = {}
    pools: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in metrics:
        if p.name == "gcp.gke.node_pool_nodes":
            pools[p.dimensions.get("cluster", "")].append({
                "pool_name": p.dimensions.get("node_pool"), "node_count": int(p.value),
                "machine_type": p.dimensions.get("machine_type"),
                "auto_scaling": p.dimensions.get("autoscaling") == "true"})
            continue
        key = (p.name, p.dimensions.get("resource", ""))
        if key not in latest or p.timestamp > latest[key].timestamp:
            latest[key] = p
    sections: dict[str, dict[str, Any]] = {s: {} for s in _TOTALS}
    total = ZERO
    for (section, lst, rid), el in sorted(per.items(), key=lambda kv: kv[0]):
        hourly = CONTEXT.divide(el.pop("_cost"), hours) if hours else ZERO
        el["hourly_cost"] = hourly
        if section == "compute_engine" and lst == "instances":
            for metric, field in (("gcp.compute.cpu_utilization", "cpu_utilization"),
                                  ("gcp.compute.memory_used", "memory_usage"),
                                  ("gcp.compute.gpu_utilization", "gpu_utilization")):
                m = latest.get((metric, rid))
                if m is not None:
                    el[field] = m.value
        if section == "gke":
            el["nodes"] = pools.get(el["cluster_name"], [])
            el["node_count"] = sum(x["node_count"] for x in el["nodes"])
        sections[section].setdefault(lst, []).append(el)
        total = CONTEXT.add(total, hourly)
    for section, key in _TOTALS.items():
        main = {"compute_engine": "instances", "gke": "clusters", "cloud_functions": "functions",
                "cloud_sql": "instances", "cloud_storage": "buckets"}[section]
        sections[section][key] = len(sections[section].get(main, []))
    ts = int(now.timestamp())
    return {
        "agent_id": agent_id, "timestamp": ts,
        "metrics": {"timestamp": ts, "agent_id": agent_id, "project_id": project, "region": region, **sections,
                    "summary": {"total_hourly_cost": total, "total_resources": len(per),
                                "failed_scopes": [f["scope"] for f in (summary or {}).get("failed_scopes", [])]}},
    }
