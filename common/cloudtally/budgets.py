"""Budgets: model and validation, calendar/custom periods, scope → cost query, status with forecast.

A budget is an amount in one currency over a period (``monthly``, ``quarterly``, ``annual``: calendar
periods in UTC; or ``custom`` with a ``start`` and an ``end`` day), restricted to a scope (any of
``provider``, ``service``, ``account``, ``region``, ``tags``; all must match) and with thresholds, each
a percentage (1–1000) of type ``actual`` (spend so far) or ``forecast`` (period-end forecast).

Spend comes from :meth:`Store.summary` (billed cost supersedes estimates; currencies kept apart).
Costs in another currency are converted with the dated FX table ``catalog/data/fx.json``; if a
currency is not in it, the budget's status is ``cannot_evaluate`` and says why: currencies are never
silently mixed.

>>> b = parse_budget({"name": "Team ML", "amount": "1000", "currency": "usd", "period": "monthly"})
>>> (b.currency, [(t.percentage, t.type) for t in b.thresholds])
('USD', [(Decimal('50'), 'actual'), (Decimal('80'), 'actual'), (Decimal('100'), 'actual'), (Decimal('100'), 'forecast')])
>>> period_bounds(b, date(2024, 2, 10))
(datetime.date(2024, 2, 1), datetime.date(2024, 3, 1), '2024-02')
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from . import periods
from .clock import SYSTEM, Clock, utc_now
from .errors import ValidationError
from .focus import UTC
from .forecast import Forecast, forecast_period
from .money import CONTEXT, ZERO, MoneyError, dsum, parse_amount, parse_currency
from .query import Query

PERIODS = ("monthly", "quarterly", "annual", "custom")
THRESHOLD_TYPES = ("actual", "forecast")
SCOPE_KEYS = ("provider", "service", "account", "region", "tags")
METRICS = ("EffectiveCost", "BilledCost", "ListCost", "ContractedCost")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FX_PATH = Path(__file__).resolve().parent / "catalog" / "data" / "fx.json"
HISTORY_DAYS = 28
CONVERTED_PLACES = Decimal("1E-10")


@dataclass(frozen=True)
class Threshold:
    percentage: Decimal
    type: str = "actual"

    @property
    def key(self) -> str:
        return f"{self.type}-{format(self.percentage.normalize(), 'f')}"

    def to_dict(self) -> dict[str, Any]:
        return {"percentage": self.percentage, "type": self.type}


DEFAULT_THRESHOLDS = (Threshold(Decimal(50)), Threshold(Decimal(80)), Threshold(Decimal(100)),
                      Threshold(Decimal(100), "forecast"))


@dataclass
class Budget:
    id: str
    name: str
    amount: Decimal
    currency: str
    period: str = "monthly"
    start: date | None = None
    end: date | None = None
    scope: dict[str, Any] = field(default_factory=dict)
    thresholds: tuple[Threshold, ...] = DEFAULT_THRESHOLDS
    metric: str = "EffectiveCost"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "amount": self.amount, "currency": self.currency,
                "period": self.period, "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None, "scope": self.scope,
                "thresholds": [t.to_dict() for t in self.thresholds], "metric": self.metric}


def _day(v: Any) -> date:
    if isinstance(v, date) and not isinstance(v, datetime):
        return v
    if isinstance(v, datetime):
        return v.astimezone(UTC).date()
    if isinstance(v, str) and len(v) >= 10:
        return date.fromisoformat(v[:10])
    raise ValueError("expected a day YYYY-MM-DD")


def _strs(v: Any) -> list[str] | None:
    vals = [v] if isinstance(v, str) else v
    if not isinstance(vals, list) or not vals or len(vals) > 50:
        return None
    if not all(isinstance(x, str) and 0 < len(x) <= 256 for x in vals):
        return None
    return list(vals)


def parse_budget(obj: Any, *, budget_id: str | None = None) -> Budget:
    """Validate a budget document; raise :class:`ValidationError` naming every bad field at once."""
    if not isinstance(obj, Mapping):
        raise ValidationError("a budget is a JSON object", details=[{"field": "", "message": "not an object"}])
    errs: list[dict[str, str]] = []

    def bad(f: str, m: str) -> None:
        errs.append({"field": f, "message": m})

    known = {"id", "name", "amount", "currency", "period", "start", "end", "scope", "thresholds", "metric"}
    for k in obj:
        if k not in known:
            bad(str(k)[:64], "unknown field")
    bid = budget_id or obj.get("id") or uuid.uuid4().hex[:16]
    if not isinstance(bid, str) or not ID_RE.match(bid) or bid == "status":
        bad("id", "1-64 letters, digits, '.', '_' or '-' (not 'status')")
    name = obj.get("name")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        bad("name", "required, 1-200 characters")
    amount = ZERO
    try:
        amount = parse_amount(obj.get("amount"))
        if amount <= 0:
            bad("amount", "must be greater than zero")
    except MoneyError as e:
        bad("amount", str(e))
    currency = "USD"
    try:
        currency = parse_currency(obj.get("currency", "USD"))
    except MoneyError as e:
        bad("currency", str(e))
    period = obj.get("period", "monthly")
    if period not in PERIODS:
        bad("period", "one of " + ", ".join(PERIODS))
    start = end = None
    for fname in ("start", "end"):
        if obj.get(fname) is not None:
            try:
                d = _day(obj[fname])
                start, end = (d, end) if fname == "start" else (start, d)
            except ValueError:
                bad(fname, "expected a day YYYY-MM-DD")
    if period == "custom":
        if start is None and not any(e["field"] == "start" for e in errs):
            bad("start", "required for a custom period")
        if end is None and not any(e["field"] == "end" for e in errs):
            bad("end", "required for a custom period")
    elif end is not None:
        bad("end", "only a custom period has an end")
    if start and end and end <= start:
        bad("end", "must be after start")
    scope: dict[str, Any] = {}
    raw_scope = obj.get("scope") or {}
    if not isinstance(raw_scope, Mapping):
        bad("scope", "expected an object")
        raw_scope = {}
    for k, v in raw_scope.items():
        if k not in SCOPE_KEYS:
            bad(f"scope.{str(k)[:40]}", "unknown scope key; use " + ", ".join(SCOPE_KEYS))
        elif k == "tags":
            if not isinstance(v, Mapping) or not v or len(v) > 10 or not all(
                    isinstance(tk, str) and 0 < len(tk) <= 128 and _strs(tv) for tk, tv in v.items()):
                bad("scope.tags", "expected {\"key\": \"value\" or [values]}, up to 10 keys")
            else:
                scope["tags"] = {tk: _strs(tv) for tk, tv in v.items()}
        else:
            vals = _strs(v)
            if vals is None:
                bad(f"scope.{k}", "expected a string or a list of up to 50 strings")
            else:
                scope[k] = vals
    thresholds: list[Threshold] = []
    raw_t = obj.get("thresholds")
    if raw_t is None:
        thresholds = list(DEFAULT_THRESHOLDS)
    elif not isinstance(raw_t, list) or not 0 < len(raw_t) <= 20:
        bad("thresholds", "expected a list of 1-20 {\"percentage\", \"type\"}")
    else:
        for i, t in enumerate(raw_t):
            if not isinstance(t, Mapping):
                bad(f"thresholds[{i}]", "expected {\"percentage\", \"type\"}")
                continue
            try:
                pct = parse_amount(t.get("percentage"))
                if not Decimal(1) <= pct <= Decimal(1000):
                    raise MoneyError("must be between 1 and 1000 (%)")
            except MoneyError as e:
                bad(f"thresholds[{i}].percentage", str(e))
                continue
            ttype = t.get("type", "actual")
            if ttype not in THRESHOLD_TYPES:
                bad(f"thresholds[{i}].type", "actual or forecast")
                continue
            th = Threshold(pct, ttype)
            if any(x.key == th.key for x in thresholds):
                bad(f"thresholds[{i}]", "duplicate threshold")
                continue
            thresholds.append(th)
    metric = obj.get("metric", "EffectiveCost")
    if metric not in METRICS:
        bad("metric", "one of " + ", ".join(METRICS))
    if errs:
        raise ValidationError("invalid budget", details=errs)
    return Budget(id=bid, name=name.strip(), amount=amount, currency=currency, period=period, start=start,
                  end=end, scope=scope, thresholds=tuple(sorted(thresholds, key=lambda t: (t.type, t.percentage))),
                  metric=metric)


def period_bounds(b: Budget, today: date) -> tuple[date, date, str]:
    """The budget period containing ``today``: (first day, day after the last, label)."""
    if b.period == "custom":
        assert b.start and b.end
        return b.start, b.end, f"{b.start.isoformat()}..{b.end.isoformat()}"
    if b.period == "monthly":
        return periods.month_bounds(today)
    if b.period == "quarterly":
        return periods.quarter_bounds(today)
    return periods.year_bounds(today)


def scope_query(b: Budget, start: date, end: date) -> Query:
    """The cost query of a budget's scope over [start, end), by day."""
    fmap = {"provider": "provider", "service": "service", "account": "account", "region": "region"}
    filters = {fmap[k]: tuple(v) for k, v in b.scope.items() if k in fmap}
    tags = {k: tuple(v) for k, v in (b.scope.get("tags") or {}).items()}
    return Query(start=start, end=end, granularity="day", filters=filters, tag_filters=tags)


# ---------------------------------------------------------------------------- currency
@dataclass(frozen=True)
class FxTable:
    """Reference rates: units of each currency per 1 unit of ``base``, as of ``date``."""

    base: str
    date: str
    source: str
    version: str
    rates: dict[str, Decimal]

    def convert(self, amount: Decimal, frm: str, to: str) -> Decimal | None:
        """``amount`` in ``frm`` expressed in ``to`` (10 decimal places), or None if either is unknown."""
        if frm == to:
            return amount
        if frm not in self.rates or to not in self.rates:
            return None
        v = CONTEXT.multiply(CONTEXT.divide(amount, self.rates[frm]), self.rates[to])
        return v.quantize(CONVERTED_PLACES, context=CONTEXT)

    def info(self) -> dict[str, str]:
        return {"version": self.version, "date": self.date, "source": self.source, "base": self.base}


@lru_cache(maxsize=1)
def fx_table(path: str | None = None) -> FxTable:
    doc = json.loads(Path(path or FX_PATH).read_text())
    return FxTable(base=doc["base"], date=doc["date"], source=doc["source"], version=doc["version"],
                   rates={c: parse_amount(r) for c, r in doc["rates"].items()})


# ---------------------------------------------------------------------------- status
def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return CONTEXT.divide(CONTEXT.multiply(part, Decimal(100)), whole).quantize(Decimal("0.01"), context=CONTEXT)


def daily_costs(store, b: Budget, start: date, end: date,
                fx: FxTable) -> tuple[dict[date, Decimal], list[str], list[str]]:
    """Daily costs of the scope in the budget's currency; the currencies seen; those with no rate."""
    res = store.summary(scope_query(b, start, end))
    by_day: dict[date, list[Decimal]] = {}
    missing: set[str] = set()
    seen: set[str] = set()
    for row in res["results"]:
        amount = row[b.metric]
        seen.add(row["currency"])
        conv = fx.convert(amount, row["currency"], b.currency)
        if conv is None:
            missing.add(row["currency"])
            continue
        by_day.setdefault(date.fromisoformat(row["period"]), []).append(conv)
    return {d: dsum(v) for d, v in by_day.items()}, sorted(seen), sorted(missing)


def evaluate(b: Budget, store, now: datetime | None = None, fx: FxTable | None = None) -> dict[str, Any]:
    """Status of one budget for the period containing ``now`` (UTC).

    Fields: ``name``, ``amount``, ``spent``, ``remaining``, ``percentage_used``, ``status``
    (``ok`` | ``warning`` | ``exceeded`` | ``cannot_evaluate``), ``forecast`` (value, interval,
    method), ``thresholds`` (each with ``state`` ``ok`` | ``crossed``), ``period``, ``currency``.
    """
    now = utc_now(now)
    fx = fx or fx_table()
    today = now.astimezone(UTC).date()
    pstart, pend, label = period_bounds(b, today)
    base = {"id": b.id, "budget_id": b.id, "name": b.name, "amount": b.amount, "currency": b.currency,
            "period": {"type": b.period, "label": label, "start": pstart.isoformat(), "end": pend.isoformat()},
            "scope": b.scope, "metric": b.metric, "evaluated_at": now.astimezone(UTC).isoformat()}
    if b.start and today < b.start:
        return {**base, "spent": ZERO, "remaining": b.amount, "percentage_used": ZERO, "status": "ok",
                "forecast": None, "thresholds": [{**t.to_dict(), "state": "ok"} for t in b.thresholds],
                "note": f"budget starts on {b.start.isoformat()}"}
    q_start = min(pstart, today - timedelta(days=HISTORY_DAYS))
    q_end = min(pend, today + timedelta(days=1)) if today < pend else pend
    daily, seen, missing = daily_costs(store, b, q_start, max(q_end, pstart + timedelta(days=1)), fx)
    if missing:
        return {**base, "spent": None, "remaining": None, "percentage_used": None, "status": "cannot_evaluate",
                "reason": f"costs in {', '.join(missing)} have no rate in the FX table "
                          f"{fx.version} ({fx.source}); currencies are never mixed",
                "forecast": None, "thresholds": [{**t.to_dict(), "state": "unknown"} for t in b.thresholds]}
    fc: Forecast = forecast_period(daily, pstart, pend, today=today)
    spent = fc.spent
    pct = _pct(spent, b.amount)
    fpct = _pct(fc.value, b.amount)
    ths = []
    for t in b.thresholds:
        used = pct if t.type == "actual" else fpct
        ths.append({**t.to_dict(), "state": "crossed" if used >= t.percentage else "ok"})
    warn_at = max([t.percentage for t in b.thresholds if t.type == "actual" and t.percentage < 100] or [Decimal(80)])
    status = "exceeded" if pct >= 100 else "warning" if (pct >= warn_at or fpct >= 100) else "ok"
    out = {**base, "spent": spent, "remaining": b.amount - spent, "percentage_used": pct, "status": status,
           "forecast": {**fc.to_dict(), "percentage": fpct}, "thresholds": ths}
    if any(c != b.currency for c in seen):
        out["fx"] = {**fx.info(), "converted": [c for c in seen if c != b.currency]}
    return out
