"""Cost queries: a UTC day range [from, to), filters and grouping, parsed from API/CLI parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .errors import BadRequest
from .focus import UTC

GROUP_KEYS = ("provider", "service", "account", "subaccount", "region", "category", "source", "currency")
FILTER_KEYS = ("provider", "service", "account", "subaccount", "region", "category", "source", "currency")
MAX_RANGE_DAYS = 800



@dataclass
class Query:
    """A cost query: half-open UTC day range [start, end), filters, grouping."""

    start: date
    end: date
    granularity: str = "day"
    group_by: tuple[str, ...] = ()
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tag_filters: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def days(self) -> list[str]:
        n = (self.end - self.start).days
        return [(self.start + timedelta(days=i)).isoformat() for i in range(n)]

    def tag_keys(self) -> tuple[str, ...]:
        keys = [g[4:] for g in self.group_by if g.startswith("tag:")]
        keys += [k for k in self.tag_filters if k not in keys]
        return tuple(keys)


def parse_query(params: dict[str, Any], *, default_days: int = 30, today: date | None = None) -> Query:
    """Build a :class:`Query` from API/CLI parameters; every bad parameter is reported at once."""
    errors: list[dict[str, str]] = []
    today = today or datetime.now(UTC).date()

    def day(name: str, default: date) -> date:
        raw = params.get(name)
        if raw in (None, ""):
            return default
        try:
            return date.fromisoformat(str(raw)[:10]) if len(str(raw)) >= 10 else date.fromisoformat(str(raw))
        except ValueError:
            errors.append({"field": name, "message": "expected a date YYYY-MM-DD"})
            return default

    end = day("to", today + timedelta(days=1))
    start = day("from", end - timedelta(days=default_days))
    if end <= start:
        errors.append({"field": "to", "message": "must be after 'from' (the range is [from, to))"})
    elif (end - start).days > MAX_RANGE_DAYS:
        errors.append({"field": "to", "message": f"range longer than {MAX_RANGE_DAYS} days"})
    gran = params.get("granularity") or "day"
    if gran not in ("day", "month", "total"):
        errors.append({"field": "granularity", "message": "must be day, month or total"})
    gb_raw = params.get("group_by") or ""
    group_by: list[str] = []
    for g in (x.strip() for x in str(gb_raw).split(",") if x.strip()):
        if g in GROUP_KEYS or (g.startswith("tag:") and 4 < len(g) <= 132):
            group_by.append(g)
        else:
            errors.append({"field": "group_by", "message": f"unknown dimension {g[:40]!r}; use "
                           f"{', '.join(GROUP_KEYS)} or tag:<key>"})
    if len(group_by) > 3:
        errors.append({"field": "group_by", "message": "at most 3 dimensions"})
    filters: dict[str, tuple[str, ...]] = {}
    for k in FILTER_KEYS:
        v = params.get(k)
        if v not in (None, ""):
            vals = tuple(x for x in str(v).split(",") if x)
            if len(vals) > 50 or any(len(x) > 256 for x in vals):
                errors.append({"field": k, "message": "at most 50 values of 256 characters"})
            filters[k] = vals
    tag_filters: dict[str, tuple[str, ...]] = {}
    tags = params.get("tag")
    if tags:
        for t in ([tags] if isinstance(tags, str) else list(tags)):
            key, sep, val = str(t).partition("=")
            if not sep or not key or len(key) > 128:
                errors.append({"field": "tag", "message": "expected tag=<key>=<value>[,<value>]"})
                continue
            tag_filters[key] = tuple(val.split(","))
    if errors:
        raise BadRequest("invalid query", details=errors)
    return Query(start=start, end=end, granularity=gran, group_by=tuple(group_by), filters=filters,
                 tag_filters=tag_filters)


