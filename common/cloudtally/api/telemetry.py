"""Host and OTLP telemetry routes: ``POST /otlp/v1/metrics`` (OTLP/HTTP metrics receiver),
``POST /agents/{agentId}/heartbeat`` (TelemetryFlow heartbeat), ``GET /v1/agents`` and
``GET /v1/agents/{agentId}``.

The receiver takes protobuf (``application/x-protobuf``) and JSON (``application/json``), optionally gzip;
a request's valid data points are written and the answer's ``partial_success`` counts and explains the
others (:mod:`cloudtally.telemetry.otlp`). With an ``Idempotency-Key`` header a batch is counted once
however often it is re-sent (:class:`cloudtally.store.metrics.MetricBatchesMixin`); ``X-TelemetryFlow-Agent-ID``
names the agent whose counters it adds to.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Mapping

from ..errors import BadRequest, NotFound
from . import body
from .routes import Reply, Request

IDEMPOTENCY_HEADERS = ("idempotency-key", "x-idempotency-key", "x-cloudtally-idempotency-key")
AGENT_HEADER = "x-telemetryflow-agent-id"
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$")
HEARTBEAT_MAX_BYTES = 256 * 1024
MAX_TAGS = 50


def _header(headers: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for k, v in headers.items():
        if k.lower() in names and v:
            return v.strip()
    return None


def _id(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if not ID.match(value):
        raise BadRequest(f"invalid {field}", code="invalid_id",
                         details=[{"field": field, "message": "1-128 characters: letters, digits and . _ : @ / -, "
                                                              "starting with a letter or digit"}])
    return value


# ---------------------------------------------------------------------------------------------- OTLP
def otlp_metrics(svc: Any, req: Request) -> Reply:
    from ..telemetry import otlp

    raw = body.decode_body(req.body, req.headers, svc.cfg.max_body_bytes, types=otlp.CONTENT_TYPES)
    now = svc.now()
    decoded = otlp.decode(raw, req.headers, now=now, retention_days=svc.cfg.metric_ttl_days)
    if decoded.data_points and not decoded.accepted:
        raise BadRequest(f"none of the {decoded.data_points} data points could be stored: {decoded.error_message()}",
                         code="no_valid_points",
                         details={"rejected_data_points": decoded.rejected, "reasons": decoded.reason_list()})
    key = _id(_header(req.headers, IDEMPOTENCY_HEADERS), "Idempotency-Key")
    agent = _id(_header(req.headers, (AGENT_HEADER,)), "X-TelemetryFlow-Agent-ID")
    res = svc.store.write_metric_batch(decoded.points, key=key, digest=hashlib.blake2b(raw, digest_size=16).hexdigest(),
                                       agent_id=agent, accepted=decoded.accepted, rejected=decoded.rejected,
                                       error_message=decoded.error_message(), now=now)
    # a protobuf answer only to a client that accepts one (API Gateway and Chalice refuse a binary answer to a
    # request whose Accept header does not name it; OTLP clients read a JSON answer as well)
    kind = decoded.encoding if decoded.encoding == "json" or _accepts_protobuf(req.headers) else "json"
    out, ctype = otlp.response(kind, res["rejected"], res["error_message"])
    headers = {"X-CloudTally-Accepted-Data-Points": str(res["accepted"])}
    if res["replay"]:
        headers["Idempotent-Replay"] = "true"
    if kind == "protobuf":
        return Reply(out, headers={"Content-Type": ctype, **headers}, raw=True)
    return Reply(out, headers=headers)


def _accepts_protobuf(headers: Mapping[str, str]) -> bool:
    accept = (_header(headers, ("accept",)) or "").lower()
    return any(t.split(";")[0].strip() in ("application/x-protobuf", "application/protobuf", "*/*", "application/*")
               for t in accept.split(","))


# ---------------------------------------------------------------------------------------------- heartbeat
def agent_heartbeat(svc: Any, req: Request) -> Any:
    from ..telemetry import systeminfo

    agent_id = _id(req.params.get("agentId"), "agentId")
    header_id = _header(req.headers, (AGENT_HEADER,))
    if header_id is not None and header_id != agent_id:
        raise BadRequest("X-TelemetryFlow-Agent-ID differs from the path's agent id", code="agent_id_mismatch",
                         details=[{"field": "X-TelemetryFlow-Agent-ID", "message": "must equal {agentId}"}])
    doc = _json(body.decode_body(req.body, req.headers, HEARTBEAT_MAX_BYTES))
    if not isinstance(doc, dict) or not isinstance(doc.get("systemInfo"), dict):
        raise BadRequest("a heartbeat is {\"systemInfo\": {...}}", code="invalid_heartbeat",
                         details=[{"field": "systemInfo", "message": "required object"}])
    info, problems = systeminfo.validate(doc["systemInfo"])
    interval = doc.get("heartbeatInterval")
    if interval is not None and not (isinstance(interval, int) and not isinstance(interval, bool)
                                     and 1 <= interval <= 86400):
        problems.append({"field": "heartbeatInterval", "message": "seconds, 1-86400"})
        interval = None
    tags = doc.get("tags")
    if tags is not None and not (isinstance(tags, dict) and len(tags) <= MAX_TAGS and all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 128 and len(v) <= 256 for k, v in tags.items())):
        problems.append({"field": "tags", "message": f"at most {MAX_TAGS} string key/value pairs"})
        tags = None
    extras = {}
    for k in ("agentName", "environment"):
        v = doc.get(k)
        if v is not None and not (isinstance(v, str) and len(v) <= 200):
            problems.append({"field": k, "message": "a string of at most 200 characters"})
        elif v:
            extras[k] = v
    facts = {"kind": "host", "hostname": info.get("hostname"), "agent_version": info.get("agentVersion"),
             "name": extras.get("agentName"), "environment": extras.get("environment"),
             "cloud_provider": info.get("cloudProvider"), "region": info.get("cloudRegion"),
             "heartbeat_interval": interval}
    now = svc.now()
    seen = svc.store.record_heartbeat(agent_id, info, facts, tags=tags, now=now)
    return {"status": "ok", "agent_id": agent_id, "received_at": _iso(now), "first_seen": _iso(seen["first_seen"]),
            "heartbeats": seen["heartbeats"], "fields": len(info), "rejected": problems}


def _json(raw: bytes) -> Any:
    """A heartbeat's JSON with plain numbers (telemetry, not money: floats are what the agent measured);
    NaN/Infinity, bad UTF-8 and nesting deeper than the parser allows are 400s."""
    import json

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=no_constant)
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8", code="bad_encoding") from None
    except (ValueError, RecursionError) as e:
        raise BadRequest(f"malformed JSON: {str(e)[:120]}", code="invalid_json") from None


def _iso(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------- agents
def list_agents(svc: Any, req: Request) -> Any:
    from ..telemetry import hosts

    p = dict(req.query)
    unknown = [k for k in p if k not in ("status", "kind")]
    errors = [{"field": k[:64], "message": "unknown parameter"} for k in unknown]
    want = p.get("status")
    if want is not None and want not in hosts.STATUSES:
        errors.append({"field": "status", "message": "one of " + ", ".join(hosts.STATUSES)})
    kind = p.get("kind")
    if kind is not None and kind not in ("host", "openfinops"):
        errors.append({"field": "kind", "message": "host or openfinops"})
    if errors:
        raise BadRequest("invalid query parameters", details=errors)
    now = svc.now()
    rows = [hosts.agent_view(r, now) for r in svc.store.agents()]
    rows = [r for r in rows if (want is None or r["status"] == want) and (kind is None or r["kind"] == kind)]
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in hosts.STATUSES}
    return {"now": _iso(now), "counts": counts, "agents": rows,
            "rule": f"online: last seen within {hosts.ONLINE_INTERVALS} intervals, stale: within "
                    f"{hosts.STALE_INTERVALS}, offline: later (interval: the agent's heartbeat interval; "
                    f"{hosts.HOST_INTERVAL} s for a host agent, {hosts.OTHER_INTERVAL} s for another agent)"}


def get_agent(svc: Any, req: Request) -> Any:
    from ..telemetry import hosts

    agent_id = _id(req.params.get("agentId"), "agentId")
    if req.query:
        raise BadRequest("invalid query parameters", details=[{"field": k[:64], "message": "unknown parameter"}
                                                              for k in req.query])
    row = svc.store.agent(agent_id)
    if row is not None:
        return hosts.agent_view(row, svc.now(), system_info=True)
    raise NotFound(f"no agent {agent_id!r}", details={"agent_id": agent_id})


# ---------------------------------------------------------------------------------------------- OpenAPI
def openapi() -> dict[str, dict[str, Any]]:
    from ..telemetry.systeminfo import FIELDS

    sec = {"security": [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}]}
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

    def e(*codes: int) -> dict[str, Any]:
        names = {400: "invalid input; details say why", 401: "missing or unknown key", 403: "key lacks the scope",
                 404: "no such agent", 409: "Idempotency-Key reused with a different body",
                 413: "body over the limit (5 MB, also after gunzip) or more than 100 000 data points",
                 415: "Content-Type is not application/x-protobuf or application/json", 503: "store throttled; retry"}
        return {str(c): {"description": names[c], **err} for c in codes}

    aid = [{"name": "agentId", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 128}}]
    types = {"string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
             "boolean": {"type": "boolean"}, "array": {"type": "array", "items": {}}, "object": {"type": "object"}}
    system_info = {"type": "object", "additionalProperties": True,
                   "properties": {k: types[t] for k, t in FIELDS.items()},
                   "description": "TelemetryFlow systemInfo (100+ fields); unknown fields are kept"}
    agent = {"type": "object", "properties": {
        "agent_id": {"type": "string"}, "kind": {"type": "string", "enum": ["host", "openfinops"]},
        "status": {"type": "string", "enum": ["online", "stale", "offline"]},
        "first_seen": {"type": "string", "format": "date-time", "nullable": True},
        "last_seen": {"type": "string", "format": "date-time", "nullable": True},
        "age_seconds": {"type": "integer", "nullable": True}, "version": {"type": "string", "nullable": True},
        "points_received": {"type": "integer"}, "batches_received": {"type": "integer"},
        "duplicate_batches": {"type": "integer"}, "heartbeats": {"type": "integer"},
        "host": {"type": "object", "nullable": True, "description": "host facts from the latest systemInfo"}}}
    otlp_body = {"description": "OTLP ExportMetricsServiceRequest (opentelemetry-proto); gzip with "
                                "Content-Encoding: gzip", "required": True, "content": {
        "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object", "properties": {"resourceMetrics": {"type": "array"}}}}}}
    return {
        "otlpMetrics": {
            "operationId": "otlpMetrics", **sec,
            "summary": "OTLP/HTTP metrics receiver (gauges, sums, histograms; resource attributes host.name, "
                       "service.name, cloud.*, k8s.* become dimensions) (ingest)",
            "parameters": [
                {"name": "Idempotency-Key", "in": "header", "required": False,
                 "schema": {"type": "string", "maxLength": 128},
                 "description": "a batch re-sent with the same key is written and counted once"},
                {"name": "X-TelemetryFlow-Agent-ID", "in": "header", "required": False,
                 "schema": {"type": "string", "maxLength": 128},
                 "description": "the agent whose points_received / batches_received counters this batch adds to"}],
            "requestBody": otlp_body,
            "responses": {"200": {"description": "ExportMetricsServiceResponse in the request's encoding; "
                                                 "partial_success counts and explains rejected data points",
                                  "content": {"application/x-protobuf": {"schema": {"type": "string",
                                                                                    "format": "binary"}},
                                              "application/json": {"schema": {"type": "object", "properties": {
                                                  "partialSuccess": {"type": "object", "properties": {
                                                      "rejectedDataPoints": {"type": "string"},
                                                      "errorMessage": {"type": "string"}}}}}}}},
                          **e(400, 401, 403, 409, 413, 415, 503)}},
        "agentHeartbeat": {
            "operationId": "agentHeartbeat", **sec,
            "summary": "TelemetryFlow host agent heartbeat: the latest systemInfo, first and last seen (ingest)",
            "parameters": aid + [{"name": "X-TelemetryFlow-Agent-ID", "in": "header", "required": False,
                                  "schema": {"type": "string", "maxLength": 128}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["systemInfo"], "properties": {
                    "systemInfo": system_info, "heartbeatInterval": {"type": "integer", "minimum": 1},
                    "agentName": {"type": "string"}, "environment": {"type": "string"},
                    "tags": {"type": "object", "additionalProperties": {"type": "string"}}}}}}},
            "responses": {"200": {"description": "acknowledged; fields of the wrong type listed in rejected",
                                  "content": {"application/json": {"schema": {"type": "object", "properties": {
                                      "status": {"type": "string"}, "agent_id": {"type": "string"},
                                      "received_at": {"type": "string"}, "first_seen": {"type": "string"},
                                      "heartbeats": {"type": "integer"}, "fields": {"type": "integer"},
                                      "rejected": {"type": "array", "items": {"type": "object"}}}}}}},
                          **e(400, 401, 403, 413, 415, 503)}},
        "listAgents": {
            "operationId": "listAgents", **sec,
            "summary": "Host and OpenFinOps agents: online / stale / offline by heartbeat age at the API's clock, "
                       "version, host facts, points received (read)",
            "parameters": [{"name": "status", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": ["online", "stale", "offline"]}},
                           {"name": "kind", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": ["host", "openfinops"]}}],
            "responses": {"200": {"description": "agents", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"now": {"type": "string"}, "counts": {"type": "object"},
                                                 "rule": {"type": "string"},
                                                 "agents": {"type": "array", "items": agent}}}}}},
                          **e(400, 401, 403)}},
        "getAgent": {
            "operationId": "getAgent", **sec, "summary": "One agent with its whole latest systemInfo (read)",
            "parameters": aid,
            "responses": {"200": {"description": "the agent", "content": {"application/json": {"schema": {
                **agent, "properties": {**agent["properties"], "systemInfo": system_info}}}}},
                          **e(400, 401, 403, 404)}},
    }
