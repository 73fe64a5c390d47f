"""The OpenAPI 3 document, generated from the record columns and parameter specs the handlers use."""

from __future__ import annotations

from typing import Any

from .. import __version__, focus
from ..auth import SCOPES
from ..money import ISO_CURRENCIES
from .params import openapi_parameters

_DEC = {"oneOf": [{"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$", "maxLength": 64},
                  {"type": "integer"}],
        "description": "exact decimal; strings recommended (floats never touch an amount)"}
_TIME = {"type": "string", "format": "date-time", "maxLength": 40}


def record_schema() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for c in focus.TIME_COLUMNS:
        props[c] = _TIME
    for c in focus.CURRENCY_COLUMNS:
        props[c] = {"type": "string", "enum": sorted(ISO_CURRENCIES)}
    for c in focus.DECIMAL_COLUMNS:
        props[c] = _DEC
    for c in focus.STRING_COLUMNS:
        props[c] = {"type": "string", "minLength": 1, "maxLength": focus.MAX_STRING}
    props["ChargeCategory"] = {"type": "string", "enum": list(focus.CHARGE_CATEGORIES)}
    props["ChargeFrequency"] = {"type": "string", "enum": list(focus.CHARGE_FREQUENCIES)}
    props["ChargeClass"] = {"type": "string", "enum": list(focus.CHARGE_CLASSES)}
    props["ServiceCategory"] = {"type": "string", "enum": list(focus.SERVICE_CATEGORIES)}
    props["ServiceSubcategory"] = {"type": "string", "enum": sorted(focus.SUBCATEGORY_PARENT),
                                   "description": "FOCUS 1.2 subcategory, under its one parent ServiceCategory"}
    props["PricingCategory"] = {"type": "string", "enum": list(focus.PRICING_CATEGORIES)}
    props["SkuPriceDetails"] = {"type": "object", "maxProperties": 100,
                                "description": "a JSON object (FOCUS KeyValueFormat); its JSON text is accepted too"}
    props["x_CostSource"] = {"type": "string", "enum": list(focus.COST_SOURCES)}
    props["Tags"] = {"type": "object", "maxProperties": focus.MAX_TAGS,
                     "additionalProperties": {"type": "string", "maxLength": focus.MAX_TAG_VALUE}}
    return {"type": "object", "required": list(focus.REQUIRED_INPUT), "properties": props,
            "additionalProperties": False,
            "description": f"A FOCUS {focus.FOCUS_VERSION} cost record. EffectiveCost, ListCost and ContractedCost "
                           "default to BilledCost; the billing period defaults to the charge month; the rest of "
                           "what FOCUS 1.2 requires is completed from the record (README, \"FOCUS 1.2 completion\")."}


ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}}


def _resp(desc: str, schema: dict | None = None) -> dict:
    r: dict[str, Any] = {"description": desc}
    if schema is not None:
        r["content"] = {"application/json": {"schema": schema}}
    return r


def _errors(*codes: int) -> dict:
    names = {400: "invalid input", 401: "missing, unknown or revoked key", 403: "key lacks the scope",
             404: "not found", 413: "body over 5 MB or more than 5 000 records", 415: "unsupported content type",
             422: "nothing in the payload could be taken (code nothing_ingested; details list why, element by element)",
             503: "store throttled; retry after Retry-After seconds"}
    return {str(c): _resp(names[c], {"$ref": "#/components/schemas/Error"}) for c in codes}


def _build(server_url: str | None = None) -> dict[str, Any]:
    auth = [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}]
    read = {"security": auth}
    batch = {"oneOf": [{"type": "array", "items": {"$ref": "#/components/schemas/CostRecord"}, "maxItems": 5000},
                       {"type": "object", "required": ["records"], "properties": {
                           "records": {"type": "array", "items": {"$ref": "#/components/schemas/CostRecord"},
                                       "maxItems": 5000}}}]}
    ingest_result = {"type": "object", "required": ["accepted", "rejected"], "properties": {
        "accepted": {"type": "integer"}, "days": {"type": "array", "items": {"type": "string"}},
        "rejected": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": "integer"}, "errors": {"type": "array"}}}}}}
    paths: dict[str, Any] = {
        "/v1/records": {
            "post": {"operationId": "ingestRecords", "summary": "Ingest FOCUS cost records (idempotent)", **read,
                     "requestBody": {"required": True, "content": {
                         "application/json": {"schema": batch},
                         "application/x-ndjson": {"schema": {"type": "string"}}}},
                     "responses": {"200": _resp("per-record result", ingest_result),
                                   **_errors(400, 401, 403, 413, 415, 503)}},
            "get": {"operationId": "listRecords", "summary": "List records (paginated)", **read,
                    "parameters": openapi_parameters("records"),
                    "responses": {"200": _resp("records", {"type": "object"}), **_errors(400, 401, 403)}}},
        "/v1/costs/summary": {"get": {"operationId": "costSummary", "summary": "Totals by period and group", **read,
                                      "parameters": openapi_parameters("summary"),
                                      "responses": {"200": _resp("summary", {"type": "object"}),
                                                    **_errors(400, 401, 403)}}},
        "/v1/costs/top-resources": {"get": {"operationId": "topResources", "summary": "Most expensive resources",
                                            **read, "parameters": openapi_parameters("top_resources"),
                                            "responses": {"200": _resp("resources", {"type": "object"}),
                                                          **_errors(400, 401, 403)}}},
        "/v1/metrics": {"get": {"operationId": "metrics", "summary": "Metric points of one metric", **read,
                                "parameters": openapi_parameters("metrics"),
                                "responses": {"200": _resp("points", {"type": "object"}), **_errors(400, 401, 403)}}},
        "/v1/collectors": {"get": {"operationId": "collectors", "summary": "Status of each collector", **read,
                                   "responses": {"200": _resp("collectors", {"type": "object"}), **_errors(401, 403)}}},
        "/v1/keys": {
            "get": {"operationId": "listKeys", "summary": "List API keys (admin)", **read,
                    "responses": {"200": _resp("keys", {"type": "object"}), **_errors(401, 403)}},
            "post": {"operationId": "createKey", "summary": "Create an API key (admin); the secret is shown once",
                     **read, "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["name", "scopes"], "properties": {
                             "name": {"type": "string", "minLength": 1, "maxLength": 100},
                             "scopes": {"type": "array", "items": {"type": "string", "enum": list(SCOPES)},
                                        "minItems": 1, "maxItems": 3}}}}}},
                     "responses": {"201": _resp("the new key", {"type": "object"}), **_errors(400, 401, 403)}}},
        "/v1/keys/{key_id}": {"delete": {"operationId": "revokeKey", "summary": "Revoke a key (admin)", **read,
                                         "parameters": [{"name": "key_id", "in": "path", "required": True,
                                                         "schema": {"type": "string", "maxLength": 64}}],
                                         "responses": {"200": _resp("revoked", {"type": "object"}),
                                                       **_errors(401, 403, 404)}}},
        "/v1/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "security": [],
                                     "responses": {"200": _resp("OpenAPI 3 document", {"type": "object"})}}},
        "/api/health": {"get": {"operationId": "health", "summary": "Health (no auth)", "security": [],
                                "responses": {"200": _resp("healthy", {"type": "object"})}}},
        "/api/v1/agents/register": {"post": {
            "operationId": "registerAgent", "summary": "OpenFinOps agent registration", **read,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["agent_id"], "properties": {
                    "agent_id": {"type": "string", "minLength": 1, "maxLength": 128},
                    **{f: {"type": "string", "maxLength": 256} for f in
                       ("hostname", "cloud_provider", "region", "agent_type", "agent_version")},
                    "config": {"type": "object"}}}}}},
            "responses": {"200": _resp("registered", {"type": "object"}), **_errors(400, 401, 403)}}},
        "/api/v1/telemetry/ingest": {"post": {
            "operationId": "telemetryIngest", "summary": "OpenFinOps agent telemetry → cost records and metric points",
            "description": "The payloads of the OpenFinOps agents (AWS, Azure, GCP, Databricks, Snowflake, SaaS, "
                           "generic) and of CloudTally's own agent. Every value becomes a record or a metric point "
                           "or is listed back in ignored / not_counted with its reason (README, OpenFinOps agents).",
            **read,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["agent_id", "timestamp"], "properties": {
                    "agent_id": {"type": "string", "minLength": 1, "maxLength": 128},
                    "timestamp": {"oneOf": [{"type": "number", "minimum": 0, "maximum": 32503680000},
                                            {"type": "string", "format": "date-time", "maxLength": 40}],
                                  "description": "epoch seconds (time.time()) or ISO 8601"},
                    "cloud_provider": {"type": "string"}, "region": {"type": "string"},
                    "services": {"type": "object"}, "summary": {"type": "object"},
                    "metrics": {"oneOf": [{"type": "array", "description": "metric points"},
                                          {"type": "object", "description": "the nested agents' collected data"}]},
                    "agent_health": {"type": "object"}, "events": {"type": "array"}}}}}},
            "responses": {"200": _resp("taken: records, metrics, cost, rejected, ignored, not_counted", {
                "type": "object", "required": ["status", "records", "metrics", "cost", "rejected", "ignored",
                                               "not_counted"], "properties": {
                    "status": {"type": "string", "enum": ["success", "partial"]},
                    "records": {"type": "integer"}, "metrics": {"type": "integer"},
                    "metrics_past_retention": {"type": "integer"},
                    "cost": {"type": "object", "additionalProperties": {"type": "string"}},
                    "rejected": {"type": "array"}, "ignored": {"type": "array"}, "not_counted": {"type": "array"}}}),
                **_errors(400, 401, 403, 413, 422)}}},
    }
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "CloudTally API", "version": __version__,
                 "description": "FOCUS cost records in, summaries out. Every error is "
                                "{\"error\": {\"code\", \"message\", \"details\"}}."},
        "paths": paths,
        "components": {
            "schemas": {"CostRecord": record_schema(), "Error": ERROR},
            "securitySchemes": {
                "keyId": {"type": "apiKey", "in": "header", "name": "X-CloudTally-Key-Id"},
                "keySecret": {"type": "apiKey", "in": "header", "name": "X-CloudTally-Key-Secret"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "<key id>.<secret>"},
                "basic": {"type": "http", "scheme": "basic", "description": "user = key id, password = secret"}},
        },
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


def _operations(paths: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for methods in paths.values() for op in methods.values()}


def operations() -> dict[str, dict[str, Any]]:
    """Every operation's OpenAPI object by operation id: the core ones here, the others from their
    resource modules (budgets, dashboard, export, collector state)."""
    from . import openapi_parts
    ops = _operations(_build()["paths"])
    for part in (openapi_parts.budgets(), openapi_parts.dashboard(), openapi_parts.collector_state()):
        ops.update(part)
    from ..importers.export import openapi_operation
    ops["exportFocus"] = openapi_operation()["get"]
    from .saas_costs import openapi as saas_openapi
    ops.update(saas_openapi())
    from .data_platforms import openapi_operations as data_platform_operations
    ops.update(data_platform_operations())
    from .telemetry import openapi as telemetry_openapi
    ops.update(telemetry_openapi())
    from . import llm, observability
    ops.update(observability.openapi())
    ops.update(llm.openapi())
    return ops


def document(server_url: str | None = None) -> dict[str, Any]:
    """The full document, one operation per route of the route table (:mod:`.routes`)."""
    from .routes import ROUTES
    doc = _build(server_url)
    ops = operations()
    paths: dict[str, Any] = {}
    for r in ROUTES:
        op = dict(ops[r.operation_id])
        op["operationId"] = r.operation_id
        paths.setdefault(r.path, {})[r.method.lower()] = op
    doc["paths"] = paths
    return doc
