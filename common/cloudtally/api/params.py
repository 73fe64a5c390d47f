"""Query-parameter schemas: the OpenAPI document and the handlers' checks are built from these."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import BadRequest
from ..query import FILTER_KEYS, GROUP_KEYS

_DATE = {"type": "string", "format": "date"}
_FILTER = {k: {"type": "string", "description": f"comma-separated {k} values to keep"} for k in FILTER_KEYS}
_COMMON = {
    "from": {**_DATE, "description": "first UTC day (inclusive); default: 30 days before 'to'"},
    "to": {**_DATE, "description": "UTC day after the last one (exclusive); default: tomorrow"},
    **_FILTER,
    "tag": {"type": "array", "items": {"type": "string", "pattern": "^[^=]+=.*$"},
            "description": "tag filter key=value[,value]; repeatable"},
}
PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "summary": {**_COMMON,
                "granularity": {"type": "string", "enum": ["day", "month", "total"]},
                "group_by": {"type": "string", "description": "comma-separated, up to 3 of "
                             + ", ".join(GROUP_KEYS) + ", tag:<key>"}},
    "top_resources": {**_COMMON,
                      "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                      "metric": {"type": "string", "enum": ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"]}},
    "records": {**_COMMON,
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                "cursor": {"type": "string", "maxLength": 512}},
    "metrics": {"name": {"type": "string", "minLength": 1, "maxLength": 200},
                "from": _DATE, "to": _DATE,
                "dimension": {"type": "array", "items": {"type": "string", "pattern": "^[^=]+=.*$"}},
                "limit": {"type": "integer", "minimum": 1, "maximum": 5000}},
}


def check_params(op: str, params: Mapping[str, Any]) -> None:
    """Reject unknown parameters and values that break their schema, all at once."""
    spec = PARAMS[op]
    errors = []
    for k, v in params.items():
        s = spec.get(k)
        if s is None:
            errors.append({"field": k[:64], "message": "unknown parameter"})
            continue
        vals = v if isinstance(v, list) else [v]
        if s.get("type") != "array" and len(vals) > 1:
            errors.append({"field": k, "message": "given more than once"})
        for x in vals:
            if not isinstance(x, str) or len(x) > 4096:
                errors.append({"field": k, "message": "too long"})
            elif s.get("type") == "integer":
                try:
                    n = int(x)
                    if not s["minimum"] <= n <= s["maximum"]:
                        raise ValueError
                except ValueError:
                    errors.append({"field": k, "message": f"integer between {s['minimum']} and {s['maximum']}"})
            elif "enum" in s and x not in s["enum"]:
                errors.append({"field": k, "message": "one of " + ", ".join(s["enum"])})
    if errors:
        raise BadRequest("invalid query parameters", details=errors)


def openapi_parameters(op: str) -> list[dict[str, Any]]:
    out = []
    for name, s in PARAMS[op].items():
        p: dict[str, Any] = {"name": name, "in": "query", "required": op == "metrics" and name == "name", "schema": s}
        if s.get("type") == "array":
            p["style"], p["explode"] = "form", True
        out.append(p)
    return out
