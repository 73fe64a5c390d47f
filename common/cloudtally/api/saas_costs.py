"""``GET /v1/costs/saas``: the SaaS cost summary per vendor (the OpenFinOps ``get_saas_service_costs()``).

Keys are the OpenFinOps service names (``mongodb_atlas``, ``redis_cloud``, ``github_actions``, ``datadog``).
Each carries the vendor's totals over ``[from, to)`` per currency (what every other view counts: billed
supersedes estimated), its split by service and by cost source, and ``status``: ``collected`` when the range
has records of that vendor, else ``not_collected`` with ``total`` null — never a zero that would read as
"it cost nothing". Default range: the month to date (by the API's clock).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..errors import BadRequest
from ..money import CONTEXT, ZERO
from .routes import Request

# OpenFinOps key -> (ProviderName of the records, collector)
VENDORS = {"mongodb_atlas": ("MongoDB Atlas", "atlas"), "redis_cloud": ("Redis Cloud", "redis-cloud"),
           "github_actions": ("GitHub", "github"), "datadog": ("Datadog", "datadog")}


def _day(params: Any, name: str, default: date) -> date:
    v = params.get(name)
    if v is None:
        return default
    try:
        return date.fromisoformat(v if isinstance(v, str) else "")
    except ValueError:
        raise BadRequest("invalid query parameters", details=[{"field": name, "message": "a date YYYY-MM-DD"}]) from None


def saas_costs(svc: Any, req: Request) -> dict[str, Any]:
    unknown = [k for k in req.query if k not in ("from", "to")]
    if unknown:
        raise BadRequest("invalid query parameters", details=[{"field": k[:64], "message": "unknown parameter"}
                                                              for k in unknown])
    today = svc.clock.today()
    start = _day(req.query, "from", today.replace(day=1))
    end = _day(req.query, "to", today + timedelta(days=1))
    if end <= start:
        raise BadRequest("invalid query parameters", details=[{"field": "to", "message": "must be after from"}])
    res = svc.summary({"from": start.isoformat(), "to": end.isoformat(), "granularity": "total",
                       "group_by": "provider,service,source",
                       "provider": ",".join(p for p, _ in VENDORS.values())})
    services: dict[str, Any] = {}
    for key, (provider, collector) in VENDORS.items():
        rows = [r for r in res["results"] if r["group"].get("provider") == provider]
        totals: dict[str, Decimal] = {}
        by_service: dict[str, dict[str, Decimal]] = {}
        by_source: dict[str, dict[str, Decimal]] = {}
        for r in rows:
            cur, v = r["currency"], Decimal(r["EffectiveCost"])
            totals[cur] = CONTEXT.add(totals.get(cur, ZERO), v)
            s = by_service.setdefault(r["group"].get("service") or "unknown", {})
            s[cur] = CONTEXT.add(s.get(cur, ZERO), v)
            src = by_source.setdefault(r["group"].get("source") or "unknown", {})
            src[cur] = CONTEXT.add(src.get(cur, ZERO), v)
        services[key] = {"provider": provider, "collector": collector,
                         "status": "collected" if rows else "not_collected",
                         "total": totals or None, "by_service": by_service, "by_source": by_source}
    return {"from": start.isoformat(), "to": end.isoformat(), "metric": "EffectiveCost", "services": services}


def openapi() -> dict[str, dict[str, Any]]:
    amounts = {"type": "object", "additionalProperties": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
               "description": "per ISO currency, decimal strings"}
    vendor = {"type": "object", "required": ["provider", "collector", "status", "total"], "properties": {
        "provider": {"type": "string"}, "collector": {"type": "string"},
        "status": {"type": "string", "enum": ["collected", "not_collected"]},
        "total": {"oneOf": [amounts, {"type": "null"}]},
        "by_service": {"type": "object", "additionalProperties": amounts},
        "by_source": {"type": "object", "additionalProperties": amounts}}}
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {"saasCosts": {
        "operationId": "saasCosts",
        "summary": "SaaS cost summary per vendor (MongoDB Atlas, Redis Cloud, GitHub, Datadog) over a range (read)",
        "security": [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}],
        "parameters": [{"name": "from", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
                        "description": "first UTC day (default: the 1st of this month)"},
                       {"name": "to", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
                        "description": "UTC day after the last (default: tomorrow)"}],
        "responses": {"200": {"description": "per vendor totals", "content": {"application/json": {"schema": {
            "type": "object", "required": ["from", "to", "services"], "properties": {
                "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
                "metric": {"type": "string"},
                "services": {"type": "object", "properties": {k: vendor for k in VENDORS}}}}}}},
            "400": {"description": "invalid parameters; details name each", **err},
            "401": {"description": "missing or unknown key", **err},
            "403": {"description": "key lacks the scope", **err}}}}
