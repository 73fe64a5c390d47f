"""The API's routes: one table that the Chalice app, the OpenAPI document, the CloudFront behaviours and
serverless.yml all read (no library module imports the deployable ``functions/api/app.py``).

A route names its method, path, scope (``None``: no key), operation id and handler. A handler is
``handler(svc, req) -> Reply | data`` in one of the resource modules of this package, framework-free:
:class:`Request` carries what it needs from the HTTP request. The operation's OpenAPI object comes
from the resource module's ``OPENAPI[operation_id]`` (tests/contract checks every route has one).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

# every content type a body may be declared with reaches the handler, which answers 415 in CloudTally's format
ANY_CONTENT = ("application/json", "application/x-ndjson", "application/ndjson", "application/gzip",
               "application/x-gzip", "text/plain", "application/octet-stream", "text/csv", "application/xml",
               "text/html", "application/x-www-form-urlencoded", "multipart/form-data",
               "application/x-protobuf", "application/protobuf")
BINARY_TYPES = ("application/gzip", "application/x-gzip", "application/octet-stream", "application/x-protobuf",
                "application/protobuf")


@dataclass(frozen=True)
class Request:
    """What a handler sees of an HTTP request."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)          # path parameters
    query: Mapping[str, Any] = field(default_factory=dict)           # name -> str, or list for repeats
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str | None = None
    key_id: str | None = None                                        # the authenticated key


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw: bool = False           # body is text/bytes sent as it is (CSV), not JSON


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    scope: str | None
    operation_id: str
    handler: str                          # "module:function", imported on first call (cold start stays small)
    any_content: bool = False             # a body route: every content type reaches the handler

    def resolve(self) -> Callable[[Any, Request], Any]:
        mod, _, fn = self.handler.rpartition(":")
        return getattr(importlib.import_module(mod), fn)

    @property
    def module(self) -> str:
        return self.handler.rpartition(":")[0]


def _r(method: str, path: str, scope: str | None, op: str, handler: str, **kw: Any) -> Route:
    return Route(method, path, scope, op, handler, **kw)


H = "cloudtally.api.handlers"
T = "cloudtally.api.telemetry"
O, LLM = "cloudtally.api.observability", "cloudtally.api.llm"
ROUTES: list[Route] = [
    _r("GET", "/api/health", None, "health", f"{H}:health"),
    _r("GET", "/v1/openapi.json", None, "openapi", f"{H}:openapi"),
    # records and costs
    _r("POST", "/v1/records", "ingest", "ingestRecords", f"{H}:ingest_records", any_content=True),
    _r("GET", "/v1/records", "read", "listRecords", f"{H}:list_records"),
    _r("GET", "/v1/costs/summary", "read", "costSummary", f"{H}:cost_summary"),
    _r("GET", "/v1/costs/top-resources", "read", "topResources", f"{H}:top_resources"),
    _r("GET", "/v1/costs/saas", "read", "saasCosts", "cloudtally.api.saas_costs:saas_costs"),
    _r("GET", "/v1/metrics", "read", "metrics", f"{H}:metrics"),
    _r("GET", "/v1/export/focus", "read", "exportFocus", f"{H}:export_focus"),
    _r("GET", "/v1/dashboard/{view}", "read", "dashboardView", f"{H}:dashboard_view"),
    # collectors: status for readers; state and period replace for the scheduled functions (ingest)
    _r("GET", "/v1/collectors", "read", "collectors", f"{H}:collectors"),
    _r("GET", "/v1/collectors/{collector}/status", "ingest", "getCollectorStatus", f"{H}:get_collector_status"),
    _r("POST", "/v1/collectors/{collector}/status", "ingest", "saveCollectorStatus", f"{H}:save_collector_status",
       any_content=True),
    _r("GET", "/v1/collectors/{collector}/state", "ingest", "getCollectorState", f"{H}:get_collector_state"),
    _r("PUT", "/v1/collectors/{collector}/state", "ingest", "putCollectorState", f"{H}:put_collector_state",
       any_content=True),
    _r("POST", "/v1/imports", "ingest", "createImport", f"{H}:create_import", any_content=True),
    _r("GET", "/v1/imports/{import_id}", "ingest", "getImport", f"{H}:get_import"),
    _r("DELETE", "/v1/imports/{import_id}", "ingest", "abortImport", f"{H}:abort_import"),
    _r("POST", "/v1/imports/{import_id}/records", "ingest", "stageImportRecords", f"{H}:stage_import_records",
       any_content=True),
    _r("POST", "/v1/imports/{import_id}/commit", "ingest", "commitImport", f"{H}:commit_import"),
    # keys
    _r("GET", "/v1/keys", "admin", "listKeys", f"{H}:list_keys"),
    _r("POST", "/v1/keys", "admin", "createKey", f"{H}:create_key", any_content=True),
    _r("DELETE", "/v1/keys/{key_id}", "admin", "revokeKey", f"{H}:revoke_key"),
    # budgets and anomalies
    _r("POST", "/v1/budgets", "admin", "createBudget", f"{H}:create_budget"),
    _r("GET", "/v1/budgets", "admin", "listBudgets", f"{H}:list_budgets"),
    _r("GET", "/v1/budgets/status", "read", "budgetStatus", f"{H}:budget_status"),
    _r("GET", "/v1/budgets/{budget_id}", "admin", "getBudget", f"{H}:get_budget"),
    _r("PUT", "/v1/budgets/{budget_id}", "admin", "updateBudget", f"{H}:update_budget"),
    _r("DELETE", "/v1/budgets/{budget_id}", "admin", "deleteBudget", f"{H}:delete_budget"),
    _r("GET", "/v1/anomalies", "read", "listAnomalies", f"{H}:list_anomalies"),
    _r("POST", "/v1/anomalies/{anomaly_id}/expected", "admin", "markAnomalyExpected", f"{H}:mark_anomaly_expected"),
    # the OpenFinOps hub's data-platform queries
    _r("GET", "/v1/platforms/databricks/costs-by-category", "read", "databricksCostsByCategory",
       "cloudtally.api.data_platforms:databricks_costs_by_category"),
    _r("GET", "/v1/platforms/databricks/job-costs", "read", "databricksJobCosts",
       "cloudtally.api.data_platforms:databricks_job_costs"),
    _r("GET", "/v1/platforms/snowflake/warehouse-costs", "read", "snowflakeWarehouseCosts",
       "cloudtally.api.data_platforms:snowflake_warehouse_costs"),
    _r("GET", "/v1/platforms/snowflake/storage", "read", "snowflakeStorage", "cloudtally.api.data_platforms:snowflake_storage"),
    # the OpenFinOps hubs: clusters, services and their metrics; LLM training runs and RAG pipelines
    _r("POST", "/v1/observability/clusters", "ingest", "registerCluster", f"{O}:register_cluster", any_content=True),
    _r("GET", "/v1/observability/clusters", "read", "clusterHealth", f"{O}:get_clusters"),
    _r("POST", "/v1/observability/services", "ingest", "registerService", f"{O}:register_service", any_content=True),
    _r("GET", "/v1/observability/services", "read", "serviceSla", f"{O}:get_services"),
    _r("POST", "/v1/observability/metrics", "ingest", "postObservabilityMetrics", f"{O}:post_metrics", any_content=True),
    _r("POST", "/v1/llm/metrics", "ingest", "postLlmMetrics", f"{LLM}:post_metrics", any_content=True),
    _r("GET", "/v1/llm/training-runs", "read", "listTrainingRuns", f"{LLM}:list_training_runs"),
    _r("GET", "/v1/llm/training-runs/{run_id}", "read", "getTrainingRun", f"{LLM}:get_training_run"),
    _r("GET", "/v1/llm/rag-pipelines", "read", "listRagPipelines", f"{LLM}:list_rag_pipelines"),
    _r("GET", "/v1/llm/rag-pipelines/{pipeline_id}", "read", "getRagPipeline", f"{LLM}:get_rag_pipeline"),
    # the OpenFinOps agents' paths
    _r("POST", "/api/v1/agents/register", "ingest", "registerAgent", f"{H}:register_agent", any_content=True),
    _r("POST", "/api/v1/telemetry/ingest", "ingest", "telemetryIngest", f"{H}:telemetry_ingest", any_content=True),
    # host telemetry: OTLP/HTTP metrics, the TelemetryFlow heartbeat, agents and their status
    _r("POST", "/otlp/v1/metrics", "ingest", "otlpMetrics", f"{T}:otlp_metrics", any_content=True),
    _r("POST", "/agents/{agentId}/heartbeat", "ingest", "agentHeartbeat", f"{T}:agent_heartbeat", any_content=True),
    _r("GET", "/v1/agents", "read", "listAgents", f"{T}:list_agents"),
    _r("GET", "/v1/agents/{agentId}", "read", "getAgent", f"{T}:get_agent"),
]


def routes() -> list[Route]:
    return list(ROUTES)


def prefixes() -> list[str]:
    """The first path segment of every route (``/v1``, ``/api`` ...): what the CDN sends to the API."""
    return sorted({"/" + r.path.strip("/").split("/", 1)[0] for r in ROUTES})


def call(route: Route, svc: Any, req: Request) -> Reply:
    out = route.resolve()(svc, req)
    return out if isinstance(out, Reply) else Reply(out)
