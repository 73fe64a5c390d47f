"""The ObservabilityHub's server side: clusters, nodes and services, their metrics, cluster health and SLA.

* ``POST /v1/observability/clusters`` / ``services`` (ingest) register a cluster (its nodes, region) or a
  service (its cluster, dependencies, SLA target);
* ``POST /v1/observability/metrics`` (ingest) takes ``{"system": [...], "service": [...]}`` in one batch:
  system metrics become the metric points the dashboards read (``cpu_utilization``, ``memory_utilization``,
  ``disk_utilization``, ``gpu_utilization`` with dimensions ``host``, ``cluster``), service metrics become
  ``service.request_count``, ``service.success_rate``, ``service.avg_response_time_ms`` (dimension
  ``service``) and the service's latest status;
* ``GET /v1/observability/clusters`` (read): each cluster's health by :data:`HEALTH_RULE`, stated in the answer;
* ``GET /v1/observability/services`` (read): each service's availability and SLA compliance by
  :data:`SLA_DEFINITION` over a range.

Node liveness comes from metric points and from heartbeats (:func:`heartbeats`).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable, Mapping

from ..errors import BadRequest, ConfigError, PayloadTooLarge
from ..focus import UTC, MetricPoint, iso, parse_time
from ..money import CONTEXT, ZERO, MoneyError, fmt, parse_amount
from . import body
from .llm import ident
from .routes import Request

SYSTEM_METRICS = {"cpu_usage": "cpu_utilization", "memory_usage": "memory_utilization",
                  "disk_usage": "disk_utilization", "gpu_usage": "gpu_utilization"}
SERVICE_METRICS = {"request_count": ("service.request_count", "Count"),
                   "success_rate": ("service.success_rate", "Percent"),
                   "avg_response_time": ("service.avg_response_time_ms", "Milliseconds")}
SOURCE = "observability-hub"
STALE_AFTER = timedelta(minutes=15)
MEMORY_LIMIT = DISK_LIMIT = Decimal(95)
PCT_Q = Decimal("0.1")
HEALTH_RULE = ("a node is healthy when it reported a system metric (or its agent a heartbeat) within the last "
               f"{int(STALE_AFTER.total_seconds() // 60)} minutes and its latest memory and disk usage are below "
               f"{MEMORY_LIMIT} %; a cluster is healthy when all its nodes are healthy, degraded when at least half "
               "are, critical when fewer are, and unknown when none of its nodes has reported; the averages are "
               "over the nodes' latest readings of those minutes")
ENV_SLA_TARGET = "CLOUDTALLY_SLA_TARGET_PCT"
DEFAULT_SLA_TARGET = Decimal("99.9")
SLA_DEFINITION = ("each service metric report is one interval; an interval complies when its success rate is at "
                  "least the service's SLA target (register_service(sla_target=...), else "
                  f"{ENV_SLA_TARGET}, default {DEFAULT_SLA_TARGET} %); SLA compliance is the share of complying "
                  "intervals, per service and over all services; availability is the request-weighted success rate")
MAX_ID = 200


# ---------------------------------------------------------------------------------------------- parsing
def _pct(obj: Mapping[str, Any], name: str, errors: list, required: bool = True, limit: Decimal | None = Decimal(100)
         ) -> Decimal | None:
    v = obj.get(name)
    if v is None:
        if required:
            errors.append({"field": name, "message": "required"})
        return None
    try:
        d = parse_amount(v)
    except MoneyError as e:
        errors.append({"field": name, "message": str(e)})
        return None
    if d < 0 or (limit is not None and d > limit):
        errors.append({"field": name, "message": f"between 0 and {limit}" if limit is not None else "at least 0"})
        return None
    return d


def _time(obj: Mapping[str, Any], errors: list) -> datetime | None:
    v = obj.get("timestamp")
    try:
        if isinstance(v, str) and v.strip().replace(".", "", 1).isdigit():
            v = Decimal(v.strip())
        if isinstance(v, Decimal):
            from .llm import to_datetime
            if not 0 <= v < 32503680000:
                raise ValueError
            return to_datetime(v)
        return parse_time(v)
    except (ValueError, TypeError, OverflowError, ArithmeticError):
        errors.append({"field": "timestamp", "message": "expected epoch seconds or an ISO 8601 time"})
        return None


def _unknown(obj: Mapping[str, Any], known: Iterable[str], errors: list) -> None:
    known = set(known)
    for k in [k for k in obj if k not in known][:10]:
        errors.append({"field": str(k)[:64], "message": "unknown field"})


def _ids(obj: Mapping[str, Any], name: str, errors: list) -> list[str] | None:
    v = obj.get(name)
    if v is None:
        return None
    if not isinstance(v, list) or len(v) > 1000 or not all(isinstance(x, str) and 0 < len(x) <= MAX_ID for x in v):
        errors.append({"field": name, "message": f"a list of at most 1000 strings of 1-{MAX_ID} characters"})
        return None
    return list(dict.fromkeys(v))


def parse_system(obj: Any) -> tuple[list[MetricPoint], list[dict[str, str]]]:
    if not isinstance(obj, Mapping):
        return [], [{"field": "", "message": "expected an object"}]
    errors: list[dict[str, str]] = []
    node, cluster, ts = ident(obj, "node_id", errors), ident(obj, "cluster_id", errors), _time(obj, errors)
    vals = {k: _pct(obj, k, errors, required=k != "gpu_usage") for k in SYSTEM_METRICS}
    _unknown(obj, ("timestamp", "node_id", "cluster_id", *SYSTEM_METRICS), errors)
    if errors:
        return [], errors
    dims = {"host": node, "cluster": cluster}
    return [MetricPoint(SYSTEM_METRICS[k], v, ts, "Percent", dims, SOURCE) for k, v in vals.items() if v is not None], []


def parse_service(obj: Any) -> tuple[tuple[list[MetricPoint], str, str | None, datetime | None], list]:
    if not isinstance(obj, Mapping):
        return ([], "", None, None), [{"field": "", "message": "expected an object"}]
    errors: list[dict[str, str]] = []
    name, ts = ident(obj, "service_name", errors), _time(obj, errors)
    vals = {"request_count": _pct(obj, "request_count", errors, limit=None),
            "success_rate": _pct(obj, "success_rate", errors),
            "avg_response_time": _pct(obj, "avg_response_time", errors, required=False, limit=None)}
    status = obj.get("status")
    if status is not None and (not isinstance(status, str) or not 0 < len(status) <= 64):
        errors.append({"field": "status", "message": "a string of 1-64 characters"})
    _unknown(obj, ("service_name", "timestamp", "status", *vals), errors)
    if errors:
        return ([], "", None, None), errors
    dims = {"service": name}
    pts = [MetricPoint(SERVICE_METRICS[k][0], v, ts, SERVICE_METRICS[k][1], dims, SOURCE)
           for k, v in vals.items() if v is not None]
    return (pts, name, status, ts), []


def _doc(req: Request, limit: int = 256 * 1024) -> Any:
    doc = body.parse_json(body.decode_body(req.body, req.headers, limit))
    if not isinstance(doc, dict):
        raise BadRequest("expected a JSON object", details=[{"field": "", "message": "not an object"}])
    return doc


def _raise(errors: list) -> None:
    if errors:
        raise BadRequest("invalid input", details=errors)


# ---------------------------------------------------------------------------------------------- writes
def register_cluster(svc: Any, req: Request) -> Any:
    from ..store.hub_repo import HubRepo
    doc, errors = _doc(req), []
    cid = ident(doc, "cluster_id", errors)
    nodes = _ids(doc, "nodes", errors)
    if doc.get("nodes") is None:
        errors.append({"field": "nodes", "message": "required list of node names (hostnames, resource ids or IPs)"})
    region = ident(doc, "region", errors, required=False) or "us-east-1"
    _unknown(doc, ("cluster_id", "nodes", "region"), errors)
    _raise(errors)
    cluster = {"cluster_id": cid, "nodes": nodes, "region": region, "registered_at": iso(svc.clock.now())}
    HubRepo(svc.store).put_cluster(cluster)
    return {"status": "registered", "cluster": cluster}


def register_service(svc: Any, req: Request) -> Any:
    from ..store.hub_repo import HubRepo
    doc, errors = _doc(req), []
    name, cid = ident(doc, "service_name", errors), ident(doc, "cluster_id", errors)
    deps = _ids(doc, "dependencies", errors)
    target = _pct(doc, "sla_target", errors, required=False)
    _unknown(doc, ("service_name", "cluster_id", "dependencies", "sla_target"), errors)
    _raise(errors)
    service = {"service_name": name, "cluster_id": cid, "dependencies": deps or [],
               "sla_target": fmt(target) if target is not None else None, "registered_at": iso(svc.clock.now())}
    HubRepo(svc.store).put_service(service)
    return {"status": "registered", "service": service}


def post_metrics(svc: Any, req: Request) -> Any:
    from ..store.hub_repo import HubRepo
    doc = body.parse_json(body.decode_body(req.body, req.headers, svc.cfg.max_body_bytes))
    if not isinstance(doc, dict) or not ({"system", "service"} & set(doc)):
        raise BadRequest("expected {\"system\": [...], \"service\": [...]} (either or both)",
                         details=[{"field": "", "message": "an object with system and/or service lists"}])
    _raise([{"field": str(k)[:64], "message": "unknown field"} for k in doc if k not in ("system", "service")])
    system, service = doc.get("system") or [], doc.get("service") or []
    if not isinstance(system, list) or not isinstance(service, list):
        raise BadRequest("system and service must be lists", details=[{"field": "system", "message": "a list"}])
    if len(system) + len(service) > svc.cfg.max_batch_records:
        raise PayloadTooLarge(f"{len(system) + len(service)} elements in one request; the limit is "
                              f"{svc.cfg.max_batch_records}", details={"limit_elements": svc.cfg.max_batch_records})
    points: list[MetricPoint] = []
    rejected: list[dict[str, Any]] = []
    for i, obj in enumerate(system):
        pts, errs = parse_system(obj)
        if errs:
            rejected.append({"kind": "system", "index": i, "errors": errs})
        points.extend(pts)
    statuses: dict[str, tuple[datetime, str]] = {}
    n_service = 0
    for i, obj in enumerate(service):
        (pts, name, status, ts), errs = parse_service(obj)
        if errs:
            rejected.append({"kind": "service", "index": i, "errors": errs})
            continue
        n_service += 1
        points.extend(pts)
        if status and (name not in statuses or statuses[name][0] < ts):
            statuses[name] = (ts, status)
    kept = svc.store.write_metrics(points) if points else 0
    repo = HubRepo(svc.store)
    for name, (ts, status) in statuses.items():
        repo.set_service_status(name, status, iso(ts))
    return {"accepted": {"system": len(system) - sum(r["kind"] == "system" for r in rejected), "service": n_service},
            "metric_points": kept, "metrics_past_retention": len(points) - kept, "rejected": rejected}


# ---------------------------------------------------------------------------------------------- health
def heartbeats(store: Any) -> dict[str, datetime]:
    """Last heartbeat per host name: the agents of partition ``A`` — host agents' TelemetryFlow heartbeats
    (``POST /agents/{agentId}/heartbeat`` sets ``last_seen``) and OpenFinOps agents' registrations
    (``POST /api/v1/agents/register``; ``last_seen`` moves with every telemetry post of that agent)."""
    out: dict[str, datetime] = {}
    for a in store.list_agents():
        if a.hostname and a.last_seen:
            seen = a.last_seen.astimezone(UTC)
            out[a.hostname] = max(out.get(a.hostname, seen), seen)
    return out


def _latest_points(store: Any, now: datetime) -> dict[str, dict[str, Any]]:
    """Per host: cluster, the latest value and time of each system metric in the last day."""
    hosts: dict[str, dict[str, Any]] = {}
    start, end = (now - timedelta(days=1)).date(), now.date() + timedelta(days=1)
    for field, name in SYSTEM_METRICS.items():
        for p in store.query_metrics(name, start, end, limit=500_000):
            dims = p["dimensions"]
            host = dims.get("host") or dims.get("resource") or dims.get("hostname")
            if not host:
                continue
            ts = parse_time(p["timestamp"])
            if ts > now + timedelta(minutes=5):      # a clock ahead of the API's: not "latest" evidence
                continue
            h = hosts.setdefault(host, {"cluster": dims.get("cluster"), "latest": {}, "last_seen": None})
            cur = h["latest"].get(field)
            if cur is None or cur[0] <= ts:
                h["latest"][field] = (ts, Decimal(p["value"]))
                if dims.get("cluster"):
                    h["cluster"] = dims["cluster"]
            if h["last_seen"] is None or h["last_seen"] < ts:
                h["last_seen"] = ts
    return hosts


def _avg(vals: list[Decimal]) -> Decimal | None:
    return CONTEXT.divide(sum(vals, ZERO), Decimal(len(vals))).quantize(PCT_Q, rounding=ROUND_HALF_EVEN) if vals else None


def cluster_health(store: Any, now: datetime) -> dict[str, Any]:
    """Every registered or reporting cluster's health by :data:`HEALTH_RULE` at ``now``."""
    from ..store.hub_repo import HubRepo
    registered = {c["cluster_id"]: c for c in HubRepo(store).clusters()}
    hosts = _latest_points(store, now)
    beats = heartbeats(store)
    members: dict[str, list[str]] = {cid: list(c.get("nodes") or []) for cid, c in registered.items()}
    for host, h in hosts.items():
        if h["cluster"]:
            nodes = members.setdefault(h["cluster"], [])
            if host not in nodes:
                nodes.append(host)
    fresh_after = now - STALE_AFTER
    out: dict[str, Any] = {}
    for cid in sorted(members):
        node_rows = []
        fresh: dict[str, list[Decimal]] = {f: [] for f in SYSTEM_METRICS}
        for node in members[cid]:
            h = hosts.get(node, {"latest": {}, "last_seen": None})
            seen = max((t for t in (h["last_seen"], beats.get(node)) if t is not None), default=None)
            latest = {f: v for f, (t, v) in h["latest"].items() if t >= fresh_after}
            reasons = []
            if seen is None:
                reasons.append("never reported")
            elif seen < fresh_after:
                reasons.append(f"last reported {iso(seen)}, more than {int(STALE_AFTER.total_seconds() // 60)} min ago")
            for f, limit in (("memory_usage", MEMORY_LIMIT), ("disk_usage", DISK_LIMIT)):
                if f in latest and latest[f] >= limit:
                    reasons.append(f"{f.split('_')[0]} at {fmt(latest[f])} % (limit {limit} %)")
            for f, v in latest.items():
                fresh[f].append(v)
            node_rows.append({"node_id": node, "healthy": not reasons, "reason": "; ".join(reasons) or None,
                              "last_seen": iso(seen) if seen else None,
                              **{f: latest.get(f) for f in SYSTEM_METRICS}})
        total, healthy = len(node_rows), sum(r["healthy"] for r in node_rows)
        reporting = sum(r["last_seen"] is not None for r in node_rows)
        if not reporting:
            status = "unknown"
        elif healthy == total:
            status = "healthy"
        elif healthy * 2 >= total:
            status = "degraded"
        else:
            status = "critical"
        c = registered.get(cid, {})
        avgs = {f"avg_{f}": _avg(vals) for f, vals in fresh.items()}
        not_collected = {k: f"no node of {cid} reported {k[4:].replace('_', ' ')} in the last "
                            f"{int(STALE_AFTER.total_seconds() // 60)} minutes" for k, v in avgs.items() if v is None}
        out[cid] = {"cluster_id": cid, "registered": cid in registered, "region": c.get("region"),
                    "health_status": status, "total_nodes": total, "healthy_nodes": healthy,
                    "reporting_nodes": reporting, **avgs, "nodes": node_rows, "health_rule": HEALTH_RULE,
                    "not_collected": not_collected}
    return {"as_of": iso(now), "rule": HEALTH_RULE, "clusters": out}


def get_clusters(svc: Any, req: Request) -> Any:
    from .handlers import _no_params
    _no_params(req)
    return cluster_health(svc.store, svc.clock.now())


# ---------------------------------------------------------------------------------------------- SLA
def default_sla_target(env: Mapping[str, str] | None = None) -> Decimal:
    raw = (os.environ if env is None else env).get(ENV_SLA_TARGET, "").strip()
    if not raw:
        return DEFAULT_SLA_TARGET
    try:
        d = parse_amount(raw)
    except MoneyError:
        d = Decimal(-1)
    if not 0 < d <= 100:
        raise ConfigError(f"{ENV_SLA_TARGET}={raw[:20]!r}: expected a percentage between 0 and 100")
    return d


def sla(store: Any, start: Any, end: Any, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Each service's availability and SLA compliance over UTC days [start, end) by :data:`SLA_DEFINITION`."""
    from ..store.hub_repo import HubRepo
    default = default_sla_target(env)
    known = HubRepo(store).services()
    registered = {s["service_name"]: s for s in known if s.get("registered_at")}
    statuses = {s["service_name"]: s for s in known}
    reports: dict[str, dict[str, dict[str, Decimal]]] = {}
    for field in ("success_rate", "request_count", "avg_response_time"):
        name = SERVICE_METRICS[field][0]
        for p in store.query_metrics(name, start, end, limit=500_000):
            svc_name = p["dimensions"].get("service")
            if svc_name:
                reports.setdefault(svc_name, {}).setdefault(p["timestamp"], {})[field] = Decimal(p["value"])
    rows, all_intervals, all_ok = [], 0, 0
    for name in sorted(set(registered) | set(reports)):
        reg = registered.get(name, {})
        target = Decimal(reg["sla_target"]) if reg.get("sla_target") else default
        reps = [r for r in reports.get(name, {}).values() if "success_rate" in r]
        ok = sum(r["success_rate"] >= target for r in reps)
        reqs = sum((r.get("request_count", ZERO) for r in reps), ZERO)
        weighted = sum((CONTEXT.multiply(r.get("request_count", ZERO), r["success_rate"]) for r in reps), ZERO)
        times = [r["avg_response_time"] for r in reps if "avg_response_time" in r]
        availability = (CONTEXT.divide(weighted, reqs).quantize(Decimal("0.001")) if reqs
                        else _avg([r["success_rate"] for r in reps]))
        st = statuses.get(name, {})
        rows.append({"service_name": name, "cluster_id": reg.get("cluster_id"), "dependencies": reg.get("dependencies", []),
                     "registered": name in registered, "status": st.get("st"), "status_at": st.get("sat"),
                     "sla_target": target, "target_source": "service" if reg.get("sla_target") else "default",
                     "intervals": len(reps), "compliant_intervals": ok,
                     "sla_compliance": CONTEXT.divide(Decimal(ok * 100), Decimal(len(reps))).quantize(PCT_Q)
                     if reps else None,
                     "availability": availability, "meets_target": availability >= target if availability is not None else None,
                     "requests": reqs, "avg_response_time_ms": _avg(times)})
        all_intervals += len(reps)
        all_ok += ok
    overall = CONTEXT.divide(Decimal(all_ok * 100), Decimal(all_intervals)).quantize(PCT_Q) if all_intervals else None
    return {"from": start.isoformat(), "to": end.isoformat(), "services": rows, "sla_compliance": overall,
            "sla_compliance_reason": None if overall is not None else
            "no service metrics in this range (ObservabilityHub.collect_service_metrics)",
            "default_target": default, "definition": SLA_DEFINITION}


def get_services(svc: Any, req: Request) -> Any:
    from ..query import parse_query
    from .handlers import _no_params
    _no_params(req, ("from", "to"))
    q = parse_query({k: req.query[k] for k in ("from", "to") if k in req.query}, default_days=7,
                    today=svc.clock.today())
    return sla(svc.store, q.start, q.end)


# ---------------------------------------------------------------------------------------------- dashboard sections
EFFICIENCY_DEFINITION = ("used ÷ paid capacity: over the nodes with both a cost and utilisation metrics in the "
                         "range, the sum of each node's cost × the higher of its average CPU and memory "
                         "utilisation, divided by the sum of their cost")


def operational_efficiency(hosts: Mapping[str, Mapping[str, Any]], costs: Mapping[str, Mapping[str, Any]],
                           currency: str, amount: str = "EffectiveCost") -> dict[str, Any]:
    """Cost-weighted utilisation of the nodes (the complement of the Infrastructure page's idle cost)."""
    paid = used = ZERO
    nodes = 0
    for host, h in hosts.items():
        c = costs.get(host)
        busiest = max((v for v in (h.get("cpu"), h.get("memory")) if v is not None), default=None)
        if not c or c["currency"] != currency or busiest is None or Decimal(c[amount]) <= 0:
            continue
        cost = Decimal(c[amount])
        paid = CONTEXT.add(paid, cost)
        used = CONTEXT.add(used, CONTEXT.divide(CONTEXT.multiply(cost, min(busiest, Decimal(100))), Decimal(100)))
        nodes += 1
    pct = CONTEXT.divide(used * 100, paid).quantize(PCT_Q) if paid else None
    return {"operational_efficiency": pct, "used_amount": used.quantize(Decimal("0.01")),
            "paid_amount": paid.quantize(Decimal("0.01")), "nodes": nodes, "currency": currency,
            "definition": EFFICIENCY_DEFINITION,
            "reason": None if pct is not None else "no node has both a cost and CPU or memory metrics in this range"}


UTILIZATION_DEFINITION = ("mean over the reporting hosts of each host's average utilisation over the metrics window "
                          "(the hosts and window of the Infrastructure page)")


def resource_utilization(hosts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, field in (("cpu_percent", "cpu"), ("memory_percent", "memory"), ("storage_percent", "storage"),
                       ("gpu_percent", "gpu")):
        vals = [Decimal(h[field]) for h in hosts.values() if h.get(field) is not None]
        out[key] = _avg(vals)
        out[f"{key}_hosts"] = len(vals)
    out["definition"] = UTILIZATION_DEFINITION
    out["not_collected"] = {k: "no host reported this metric in the window" for k in
                            ("cpu_percent", "memory_percent", "storage_percent", "gpu_percent") if out[k] is None}
    return out


# ---------------------------------------------------------------------------------------------- OpenAPI
def openapi() -> dict[str, dict[str, Any]]:
    sec = {"security": [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}]}
    err = {str(c): {"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
           for c, d in ((400, "invalid input; details name each field"), (401, "missing or unknown key"),
                        (403, "key lacks the scope"), (413, "too many elements or body too large"),
                        (415, "unsupported content type"))}
    obj = {"content": {"application/json": {"schema": {"type": "object"}}}}
    ident = {"type": "string", "minLength": 1, "maxLength": MAX_ID}
    num = {"oneOf": [{"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "maxLength": 64},
                     {"type": "number", "minimum": 0}]}
    pct = {"oneOf": [{"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "maxLength": 64},
                     {"type": "number", "minimum": 0, "maximum": 100}]}
    ts = {"oneOf": [{"type": "number", "minimum": 0, "maximum": 32503680000}, {"type": "string", "maxLength": 40}],
          "description": "epoch seconds or ISO 8601"}
    system = {"type": "object", "required": ["timestamp", "cpu_usage", "memory_usage", "disk_usage", "cluster_id",
                                             "node_id"], "additionalProperties": False, "properties": {
        "timestamp": ts, "cpu_usage": pct, "memory_usage": pct, "disk_usage": pct, "gpu_usage": pct,
        "cluster_id": ident, "node_id": ident}}
    service = {"type": "object", "required": ["service_name", "timestamp", "request_count", "success_rate"],
               "additionalProperties": False, "properties": {
                   "service_name": ident, "timestamp": ts, "request_count": num, "success_rate": pct,
                   "avg_response_time": num, "status": {"type": "string", "minLength": 1, "maxLength": 64}}}
    ids = {"type": "array", "items": ident, "maxItems": 1000}

    def body_(schema):
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    return {
        "registerCluster": {"summary": "Register a cluster and its nodes (ingest); registering again replaces it", **sec,
                            "requestBody": body_({"type": "object", "required": ["cluster_id", "nodes"],
                                                  "additionalProperties": False, "properties": {
                                                      "cluster_id": ident, "nodes": ids, "region": ident}}),
                            "responses": {"200": {"description": "registered", **obj},
                                          **{k: err[k] for k in ("400", "401", "403", "413", "415")}}},
        "registerService": {"summary": "Register a service, its cluster, dependencies and SLA target (ingest)", **sec,
                            "requestBody": body_({"type": "object", "required": ["service_name", "cluster_id"],
                                                  "additionalProperties": False, "properties": {
                                                      "service_name": ident, "cluster_id": ident, "dependencies": ids,
                                                      "sla_target": pct}}),
                            "responses": {"200": {"description": "registered", **obj},
                                          **{k: err[k] for k in ("400", "401", "403", "413", "415")}}},
        "postObservabilityMetrics": {"summary": "System and service metrics in one batch (ingest); per-element errors",
                                     **sec, "requestBody": body_({"type": "object", "properties": {
                                         "system": {"type": "array", "items": system, "maxItems": 5000},
                                         "service": {"type": "array", "items": service, "maxItems": 5000}}}),
                                     "responses": {"200": {"description": "accepted and rejected elements", **obj},
                                                   **{k: err[k] for k in ("400", "401", "403", "413", "415")}}},
        "clusterHealth": {"summary": "Each cluster's health, nodes and average utilisation, with the rule that decided "
                                     "it (read)", **sec,
                          "responses": {"200": {"description": "health by cluster", **obj},
                                        **{k: err[k] for k in ("400", "401", "403")}}},
        "serviceSla": {"summary": "Each service's availability and SLA compliance over a range, with the definition "
                                  "(read)", **sec,
                       "parameters": [{"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                                      {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}}],
                       "responses": {"200": {"description": "SLA by service", **obj},
                                     **{k: err[k] for k in ("400", "401", "403")}}},
    }
