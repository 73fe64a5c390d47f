"""``ObservabilityHub``: the OpenFinOps hub (``openfinops.observability.observability_hub``), backed by the API.

::

    from cloudtally.observability import ObservabilityHub
    from cloudtally.observability.observability_hub import SystemMetrics, ServiceMetrics

    hub = ObservabilityHub()       # the API at CLOUDTALLY_API_URL, else OPENFINOPS_ENDPOINT, else localhost:8080
    hub.register_cluster(cluster_id="gpu-cluster-1", nodes=["node-1", "node-2"], region="us-west-2")
    hub.register_service(service_name="training-api", cluster_id="gpu-cluster-1", dependencies=["database"])
    hub.collect_system_metrics(SystemMetrics(timestamp=time.time(), cpu_usage=75.5, memory_usage=68.2,
                                             disk_usage=45.0, gpu_usage=92.3, cluster_id="gpu-cluster-1",
                                             node_id="node-1"))
    hub.get_cluster_health_summary()["gpu-cluster-1"]["health_status"]    # healthy | degraded | critical | unknown

The server stores clusters, nodes and services and computes health from metric points and heartbeats
(``GET /v1/observability/clusters``); each cluster's ``health_rule`` states the rule. Metrics are sent in
batches (:class:`~cloudtally.observability.batching.Batcher`): calling ``collect_*`` in a loop does not add
a request per call. The cost queries of the OpenFinOps agents' README (``get_costs_by_category``,
``get_databricks_job_costs``, ``get_snowflake_warehouse_costs``, ``get_snowflake_storage_metrics``,
``get_saas_service_costs``) delegate to the API's cost routes; a figure whose source is not collected, or
whose route this API does not have, is a :class:`~cloudtally.observability.markers.NotCollected` with the
reason, never a zero. Amounts and percentages are :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from ..client import Client, from_env
from ..clock import Clock, from_env as clock_from_env
from ..errors import ValidationError
from ..money import parse_amount
from .batching import Batched, Batcher
from .markers import NotCollected, mark


def number(v: Any) -> Any:
    """A value for the API: floats by their shortest repr (``75.5`` → ``"75.5"``), exact from there on."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, float):
        return parse_amount(repr(v))
    return v


def decimals(d: Any, keys: tuple[str, ...]) -> Any:
    """The decimal strings under ``keys`` of an API answer as :class:`Decimal`, recursively."""
    if isinstance(d, dict):
        return {k: (v if k == "not_collected" else parse_amount(v) if k in keys and isinstance(v, str)
                    else decimals(v, keys)) for k, v in d.items()}
    if isinstance(d, list):
        return [decimals(x, keys) for x in d]
    return d


@dataclass
class SystemMetrics:
    timestamp: float
    cpu_usage: float
    memory_usage: float
    disk_usage: float
    gpu_usage: float | None = None
    cluster_id: str = "default"
    node_id: str = "localhost"


@dataclass
class ServiceMetrics:
    service_name: str
    timestamp: float
    request_count: int
    success_rate: float
    avg_response_time: float | None = None
    status: str | None = None


class _OperationIndex:
    """Which operations the API at the client's URL has (from its OpenAPI document), fetched once."""

    def __init__(self, client: Client):
        self.client = client
        self._ops: set[str] | None = None
        self._lock = threading.Lock()

    def has(self, operation_id: str) -> bool:
        with self._lock:
            if self._ops is None:
                doc = self.client.request("GET", "/v1/openapi.json")[0]
                self._ops = {op.get("operationId") for methods in doc.get("paths", {}).values()
                             for op in methods.values() if isinstance(op, dict)}
        return operation_id in self._ops


class ObservabilityHub(Batched):
    """Clusters, services, system and service metrics, cluster health and the hub's cost queries."""

    def __init__(self, client: Client | None = None, *, clock: Clock | None = None, batch_size: int = 1000,
                 flush_interval: float = 2.0):
        """Without ``client``: :func:`cloudtally.client.from_env`; ``clock`` (else ``CLOUDTALLY_NOW``, else the
        system clock) is "now" for the look-backs of the cost queries."""
        self.client = client or from_env()
        self.clock = clock or clock_from_env()
        self.session = uuid.uuid4().hex[:12]
        self.rejected: list[dict[str, Any]] = []
        self._batcher = Batcher(self._send, batch_size=batch_size, flush_interval=flush_interval,
                                name="observability", target=self.client.api_url)
        self._ops = _OperationIndex(self.client)

    def __repr__(self) -> str:
        return f"ObservabilityHub({self.client.api_url!r})"

    # ------------------------------------------------------------ registration (sent at once)
    def register_cluster(self, cluster_id: str, nodes: list[str], region: str = "us-east-1") -> dict[str, Any]:
        return self.client.request("POST", "/v1/observability/clusters",
                                   body={"cluster_id": cluster_id, "nodes": list(nodes), "region": region})[0]

    def register_service(self, service_name: str, cluster_id: str, dependencies: list[str] | None = None, *,
                         sla_target: float | Decimal | str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"service_name": service_name, "cluster_id": cluster_id,
                                "dependencies": list(dependencies or [])}
        if sla_target is not None:
            body["sla_target"] = number(sla_target)
        return self.client.request("POST", "/v1/observability/services", body=body)[0]

    # ------------------------------------------------------------ metrics (batched)
    def collect_system_metrics(self, metrics: SystemMetrics) -> None:
        self._batcher.add("system", {k: number(v) for k, v in asdict(metrics).items() if v is not None})

    def collect_service_metrics(self, metrics: ServiceMetrics) -> None:
        self._batcher.add("service", {k: number(v) for k, v in asdict(metrics).items() if v is not None})

    def _send(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        body: dict[str, list] = {}
        for kind, el in batch:
            body.setdefault(kind, []).append(el)
        self._rejected(self.client.request("POST", "/v1/observability/metrics", body=body)[0])

    # ------------------------------------------------------------ health and SLA
    def get_cluster_health_summary(self) -> dict[str, dict[str, Any]]:
        """``{cluster_id: {"health_status", "total_nodes", "healthy_nodes", "avg_cpu_usage", "avg_gpu_usage",
        ..., "health_rule", "nodes"}}``; an average no node reported is a :class:`NotCollected`."""
        self._flush_before_read()
        res = self.client.request("GET", "/v1/observability/clusters")[0]
        out = {}
        for cid, c in res["clusters"].items():
            c = decimals(c, ("avg_cpu_usage", "avg_memory_usage", "avg_disk_usage", "avg_gpu_usage", "cpu_usage",
                             "memory_usage", "disk_usage", "gpu_usage"))
            out[cid] = mark(c)
        return out

    def get_service_sla(self, *, start: str | None = None, end: str | None = None) -> dict[str, Any]:
        """Each service's availability and SLA compliance (``GET /v1/observability/services``)."""
        self._flush_before_read()
        res = self.client.request("GET", "/v1/observability/services", params={"from": start, "to": end})[0]
        return decimals(res, ("sla_compliance", "availability", "sla_target", "default_target", "requests",
                              "avg_response_time_ms"))

    # ------------------------------------------------------------ cost queries (the agents README)
    def _route(self, operation_id: str, what: str) -> NotCollected | None:
        if self._ops.has(operation_id):
            return None
        return NotCollected(what, f"the API at {self.client.api_url} has no {operation_id} operation "
                                  f"({what} is not collected by this deployment)")

    def get_costs_by_category(self, platform: str = "databricks", *, hours_lookback: int | None = None
                              ) -> dict[str, Any]:
        """Databricks cost per category (``all_purpose``, ``jobs``, ``sql``, ``dlt``, ``model_serving``, ...)."""
        if str(platform).lower() != "databricks":
            raise ValidationError(f"get_costs_by_category({platform!r}): categories exist for 'databricks'",
                                  details=[{"field": "platform", "message": "one of: databricks"}])
        from ..providers.databricks.taxonomy import CATEGORIES
        categories = tuple(CATEGORIES)
        missing = self._route("databricksCostsByCategory", "Databricks cost")
        if missing is None:
            res = self.client.request("GET", "/v1/platforms/databricks/costs-by-category",
                                      params={"hours_lookback": hours_lookback})[0]
            if res.get("by_currency"):
                return decimals(res, ("total",) + categories)
            missing = NotCollected("Databricks cost", f"no Databricks cost records from {res.get('from')} to "
                                                      f"{res.get('to')} (is the databricks collector or agent running?)")
        return {**{c: missing for c in categories}, "total": missing, "status": "not_collected",
                "reason": missing.reason}

    def get_databricks_job_costs(self, hours_lookback: int = 24) -> list[dict[str, Any]] | NotCollected:
        missing = self._route("databricksJobCosts", "Databricks job cost")
        if missing is not None:
            return missing
        res = self.client.request("GET", "/v1/platforms/databricks/job-costs", params={"hours_lookback": hours_lookback})[0]
        return [decimals(j, ("cost", "dbus")) for j in res["jobs"]]

    def get_snowflake_warehouse_costs(self, hours_lookback: int = 24) -> list[dict[str, Any]] | NotCollected:
        missing = self._route("snowflakeWarehouseCosts", "Snowflake warehouse cost")
        if missing is not None:
            return missing
        res = self.client.request("GET", "/v1/platforms/snowflake/warehouse-costs",
                                  params={"hours_lookback": hours_lookback})[0]
        return [decimals(w, ("credits", "cost", "idle_credits", "cloud_services_credits")) for w in res["warehouses"]]

    def get_snowflake_storage_metrics(self) -> dict[str, Any]:
        missing = self._route("snowflakeStorage", "Snowflake storage")
        if missing is None:
            res = self.client.request("GET", "/v1/platforms/snowflake/storage")[0]
            if res.get("as_of"):
                return decimals(res, ("total_tb", "stage_tb", "monthly_cost", "price_per_tb_month", "database_tb",
                                      "failsafe_tb", "current_storage_tb"))
            missing = NotCollected("Snowflake storage", "no Snowflake storage metric points in the last days "
                                                        "(is the snowflake collector or agent running?)")
        return {"total_tb": missing, "monthly_cost": missing, "databases": [], "status": "not_collected",
                "reason": missing.reason}

    def get_saas_service_costs(self, time_range_hours: int | None = None) -> dict[str, Any]:
        """USD cost per SaaS vendor (``mongodb_atlas``, ``redis_cloud``, ``github_actions``, ``datadog``) of the
        month to date (or of the UTC days the last ``time_range_hours`` touch); :class:`NotCollected` for a
        vendor without records."""
        from ..hub.cost_observatory import saas_costs_usd
        missing = self._route("saasCosts", "SaaS cost")
        if missing is not None:
            return {k: missing for k in ("mongodb_atlas", "redis_cloud", "github_actions", "datadog")}
        return saas_costs_usd(self.client, time_range_hours, self.clock.now())


__all__ = ["ObservabilityHub", "SystemMetrics", "ServiceMetrics", "NotCollected"]
