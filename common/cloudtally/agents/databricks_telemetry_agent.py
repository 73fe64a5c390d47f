"""``DatabricksTelemetryAgent``: the OpenFinOps Databricks agent API on the ``databricks`` collector.

Same constructor, methods and return shapes as the OpenFinOps docs (``collect_cluster_metrics()``,
``collect_job_metrics(hours_lookback=24)``, ``collect_sql_warehouse_metrics()`` and the five common
methods); every figure is computed from the collector's records and metric points of one run: billed
usage where the billing table has it, the observed-rate estimate past its end. Costs are exact
:class:`~decimal.Decimal` (the docs' ``f"{x:.2f}"`` works as with floats).

>>> agent = DatabricksTelemetryAgent("http://localhost:8080", "https://dbc-1234.cloud.databricks.com",
...                                  "dapi***", workspace_name="production")            # doctest: +SKIP
>>> agent.collect_cluster_metrics()["running_clusters"]                               # doctest: +SKIP
3
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..money import CONTEXT, ZERO
from . import platform_run
from .base import TelemetryAgent, agent_parser, run_cli


def _sum(recs: list[Any]) -> Decimal:
    out = ZERO
    for r in recs:
        out = CONTEXT.add(out, r.BilledCost)
    return out


class DatabricksTelemetryAgent(TelemetryAgent):
    agent_type = "databricks_telemetry"
    cloud_provider = "databricks"

    def __init__(self, openfinops_endpoint: str | None = None, databricks_host: str | None = None,
                 databricks_token: str | None = None, workspace_name: str | None = None, *,
                 warehouse_id: str | None = None, agent_id: str | None = None, api_key_id: str | None = None,
                 api_key_secret: str | None = None, clients: Any = None, config: dict[str, Any] | None = None,
                 spool_dir: str | None = None, clock: Any = None, client: Any = None):
        self.databricks_host = (databricks_host or os.environ.get("DATABRICKS_HOST") or "").rstrip("/")
        self._token = databricks_token or os.environ.get("DATABRICKS_TOKEN") or ""
        self.workspace_name = workspace_name or self.databricks_host.split("://", 1)[-1].split(".", 1)[0] or "workspace"
        super().__init__(openfinops_endpoint, agent_id=agent_id, id_prefix=f"databricks-{self.workspace_name}",
                         api_key_id=api_key_id, api_key_secret=api_key_secret, spool_dir=spool_dir, clock=clock,
                         client=client)
        self.clients = clients
        self.last_summary: dict[str, Any] | None = None
        self.config = {"host": self.databricks_host,
                       **({"warehouse_id": warehouse_id} if warehouse_id else {}), **(config or {})}

    def __repr__(self) -> str:   # never the token
        return f"DatabricksTelemetryAgent({self.endpoint!r}, {self.databricks_host!r}, agent_id={self.agent_id!r})"

    def registration(self) -> dict[str, Any]:
        return {"region": self.workspace_name, "config": {"workspace_host": self.databricks_host}}

    def failed_scopes(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return (self.last_summary or {}).get("failed_scopes", [])

    def _collect(self, hours: float) -> tuple[list[Any], list[Any], datetime]:
        records, metrics, self.last_summary, now = platform_run.collect(
            self, "databricks", hours, config=self.config, env={"DATABRICKS_TOKEN": self._token}, clients=self.clients)
        return records, metrics, now

    # ------------------------------------------------------------ the docs' methods
    def collect_cluster_metrics(self, _run: tuple | None = None) -> dict[str, Any]:
        records, metrics, now = _run or self._collect(24)
        cost = defaultdict(lambda: ZERO)
        for r in records:
            if r.ResourceId and r.ResourceId.startswith("clusters/"):
                cost[r.ResourceId] = CONTEXT.add(cost[r.ResourceId], r.BilledCost)
        clusters = []
        for p in metrics:
            if p.name != "databricks.cluster.up":
                continue
            d = p.dimensions
            start = datetime.fromtimestamp(int(d["start_time"]) / 1000, now.tzinfo) if d.get("start_time") else None
            up = p.value == 1
            clusters.append({"cluster_id": d.get("cluster_id"), "cluster_name": d.get("cluster_name"),
                             "state": d.get("state"), "instance_type": d.get("node_type"),
                             "driver_node_type": d.get("driver_node_type"), "num_workers": int(d.get("workers") or 0),
                             "spark_version": d.get("spark_version"),
                             "uptime_hours": (Decimal(int((now - start).total_seconds())) / Decimal(3600)).quantize(Decimal("0.01"))
                             if up and start else Decimal(0),
                             "estimated_cost_usd": cost.get(d["resource"], ZERO), "cluster_source": d.get("source"),
                             "creator_user_name": d.get("owner")})
        return {"timestamp": now.timestamp(), "total_clusters": len(clusters),
                "running_clusters": sum(1 for c in clusters if c["state"] in ("RUNNING", "RESIZING")),
                "total_estimated_cost_usd": _sum([r for r in records if (r.ResourceId or "").startswith("clusters/")]),
                "clusters": clusters}

    def collect_job_metrics(self, hours_lookback: int = 24, _run: tuple | None = None) -> dict[str, Any]:
        if _run is None:
            self.config = {**self.config, "job_runs_lookback_hours": int(hours_lookback)}
        records, metrics, now = _run or self._collect(hours_lookback)
        by_run = defaultdict(lambda: ZERO)
        for r in records:
            run_id = r.Tags.get("databricks:job_run_id")
            if run_id:
                by_run[run_id] = CONTEXT.add(by_run[run_id], r.BilledCost)
        jobs = []
        for p in metrics:
            if p.name != "databricks.job_run.duration_seconds":
                continue
            d = p.dimensions
            jobs.append({"run_id": int(d["run_id"]), "job_id": int(d["job_id"]), "run_name": d.get("run_name"),
                         "state": d.get("state"), "result_state": d.get("result_state"),
                         "start_time": d.get("start_time"), "end_time": d.get("end_time"),
                         "runtime_seconds": int(p.value), "estimated_cost_usd": by_run.get(d["run_id"], ZERO),
                         "creator_user_name": d.get("owner")})
        return {"timestamp": now.timestamp(), "lookback_hours": hours_lookback, "total_runs": len(jobs),
                "successful_runs": sum(1 for j in jobs if j["result_state"] == "SUCCESS"),
                "failed_runs": sum(1 for j in jobs if j["result_state"] in ("FAILED", "TIMEDOUT", "CANCELED")),
                "total_estimated_cost_usd": sum((j["estimated_cost_usd"] for j in jobs), ZERO), "jobs": jobs}

    def collect_sql_warehouse_metrics(self, _run: tuple | None = None) -> dict[str, Any]:
        records, metrics, now = _run or self._collect(24)
        today = now.date().isoformat()
        hours_today = Decimal(now.hour * 3600 + now.minute * 60 + now.second) / Decimal(3600)
        today_cost = defaultdict(lambda: ZERO)
        for r in records:
            if (r.ResourceId or "").startswith("warehouses/") and r.day == today:
                today_cost[r.ResourceId] = CONTEXT.add(today_cost[r.ResourceId], r.BilledCost)
        whs = []
        for p in metrics:
            if p.name != "databricks.warehouse.up":
                continue
            d = p.dimensions
            running = p.value == 1
            hourly = CONTEXT.divide(today_cost.get(d["resource"], ZERO), hours_today) if running and hours_today else ZERO
            whs.append({"warehouse_id": d.get("warehouse_id"), "warehouse_name": d.get("warehouse_name"),
                        "state": d.get("state"), "cluster_size": d.get("size"),
                        "min_num_clusters": int(d.get("min_clusters") or 0), "max_num_clusters": int(d.get("max_clusters") or 0),
                        "auto_stop_mins": int(d.get("auto_stop_mins") or 0), "warehouse_type": d.get("type"),
                        "estimated_hourly_cost_usd": hourly.quantize(Decimal("0.0001")), "creator_name": d.get("owner")})
        return {"timestamp": now.timestamp(), "total_warehouses": len(whs),
                "running_warehouses": sum(1 for w in whs if w["state"] == "RUNNING"),
                "total_estimated_cost_usd": sum((w["estimated_hourly_cost_usd"] for w in whs), ZERO), "warehouses": whs}

    def collect_telemetry_data(self) -> dict[str, Any]:
        """One collection (the last 24 hours): the OpenFinOps Databricks payload."""
        run = self._collect(24)
        now = run[2]
        clusters = self.collect_cluster_metrics(run)
        jobs = self.collect_job_metrics(24, run)
        whs = self.collect_sql_warehouse_metrics(run)
        failed = [f["scope"] for f in (self.last_summary or {}).get("failed_scopes", [])]
        return {"agent_id": self.agent_id, "timestamp": now.timestamp(), "metrics": {
            "timestamp": now.timestamp(), "agent_id": self.agent_id, "workspace_name": self.workspace_name,
            "workspace_host": self.databricks_host,
            "metrics": {"clusters": clusters, "jobs": jobs, "sql_warehouses": whs},
            "summary": {"total_estimated_cost_usd": _sum(run[0]), "total_running_clusters": clusters["running_clusters"],
                        "total_job_runs_24h": jobs["total_runs"], "total_sql_warehouses": whs["total_warehouses"]}},
            "agent_health": {"status": "degraded" if failed else "healthy", "failed_scopes": failed,
                             "last_collection": now.timestamp()}}


def add_agent_command(asub: Any) -> None:
    """``cloudtally agent databricks ...`` (the OpenFinOps docs' flags and variables)."""
    p = agent_parser(asub, "databricks", "DatabricksTelemetryAgent: clusters, job runs, SQL warehouses (DBU cost)")
    p.add_argument("--databricks-host", default=os.environ.get("DATABRICKS_HOST"), help="workspace URL (DATABRICKS_HOST)")
    p.add_argument("--databricks-token", default=os.environ.get("DATABRICKS_TOKEN"),
                   help="personal access token (DATABRICKS_TOKEN; prefer the variable: flags show in ps)")
    p.add_argument("--workspace-name", default=None)
    p.add_argument("--warehouse-id", default=os.environ.get("DATABRICKS_WAREHOUSE_ID"),
                   help="SQL warehouse that reads system.billing (DATABRICKS_WAREHOUSE_ID)")
    p.set_defaults(func=_cli)


def _cli(args: Any) -> int:
    from ..errors import ConfigError
    if not args.databricks_host or not args.databricks_token:
        raise ConfigError("pass --databricks-host and --databricks-token (or set DATABRICKS_HOST / DATABRICKS_TOKEN)")
    agent = DatabricksTelemetryAgent(args.endpoint, args.databricks_host, args.databricks_token, args.workspace_name,
                                     warehouse_id=args.warehouse_id, agent_id=args.agent_id, spool_dir=args.spool_dir)
    return run_cli(agent, once=args.once, interval=args.interval)
