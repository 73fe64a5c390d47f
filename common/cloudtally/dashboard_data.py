"""What each dashboard page needs, in one call: ``GET /v1/dashboard/{overview,cfo,coo,infrastructure}``.

A page makes at most three API calls on load (the dashboard's speed rule), so each view is built
here from a few store queries over the daily rollups (``Store.summary``/``top_resources``), the
collector status and the metric points. Amounts stay ``Decimal`` end to end and leave as strings.

Budgets, forecasts, anomalies and the alert ledger come from ``cloudtally.budgets``,
``cloudtally.forecast`` and ``cloudtally.anomaly`` when those modules are installed; without them
the sections say ``"available": false`` and the page shows "no budgets configured".
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Mapping

from . import hub_views, periods
from .clock import Clock, utc_now
from .errors import BadRequest
from .money import CONTEXT, ZERO
from .query import Query, parse_query

log = logging.getLogger("cloudtally.dashboard")

AMOUNT = "EffectiveCost"          # what the dashboard calls "spend" (FOCUS: amortised, after discounts)
TEAM_TAG, PROJECT_TAG = "team", "project"
# metric names the Infrastructure and COO views read (host agent, OpenFinOps agents and the demo use these)
UTIL_METRICS = {"cpu": "cpu_utilization", "memory": "memory_utilization", "storage": "disk_utilization",
                "gpu": "gpu_utilization"}
METRIC_WINDOW_DAYS = 2            # utilisation is averaged over the last days of the range (points have a TTL)
IDLE_CPU = Decimal(5)             # % average CPU under which a resource is idle
UNDERUSED_CPU = Decimal(20)       # % average CPU under which it is under-used
TOP_SERVICES = 8
VIEW_PARAMS = {
    "from": {"type": "string", "format": "date", "description": "first UTC day (inclusive); default 30 days before 'to'"},
    "to": {"type": "string", "format": "date", "description": "UTC day after the last one (exclusive); default tomorrow"},
    "provider": {"type": "string", "description": "comma-separated ProviderName values"},
    "account": {"type": "string", "description": "comma-separated BillingAccountId values"},
    "service": {"type": "string", "description": "comma-separated ServiceName values"},
    "tag": {"type": "array", "items": {"type": "string", "pattern": "^[^=]+=.*$"},
            "description": "tag filter key=value[,value]; repeatable"},
}


def _optional(name: str):
    """A sibling feature module (budgets, forecast, anomaly) if installed, else None."""
    try:
        return importlib.import_module(f"cloudtally.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"cloudtally.{name}":
            return None
        raise


def parse_view_query(params: Mapping[str, Any], today: date) -> Query:
    from .api.params import PARAMS, check_params
    PARAMS.setdefault("dashboard", VIEW_PARAMS)
    check_params("dashboard", params)
    return parse_query(dict(params), today=today)


# ---------------------------------------------------------------------------------------------- helpers
def _add(a: Decimal, b: Any) -> Decimal:
    return CONTEXT.add(a, Decimal(b))


def _primary_currency(totals: dict[str, dict]) -> str:
    if not totals:
        return "USD"
    return max(totals, key=lambda c: abs(Decimal(totals[c][AMOUNT])))


def _avg(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return CONTEXT.divide(sum(values, ZERO), Decimal(len(values))).quantize(Decimal("0.1"))


def _filters_echo(q: Query) -> dict[str, Any]:
    return {"from": q.start.isoformat(), "to": q.end.isoformat(),
            "filters": {k: list(v) for k, v in q.filters.items()},
            "tags": {k: list(v) for k, v in q.tag_filters.items()}}


def _as_of(q: Query, today: date) -> date:
    """The last day the view reports on: the range's last day, but never after today."""
    return min(q.end - timedelta(days=1), today)


def options(store, q: Query) -> dict[str, Any]:
    """Values for the filter controls over the range (unfiltered, so every choice stays reachable)."""
    base = Query(start=q.start, end=q.end, granularity="total")
    tag_keys = tuple(store.cfg.rollup_tag_keys)
    # group_by takes 3 dimensions: provider, account and the first tag key, then the others 3 at a time
    groups = [("provider", "account") + tuple(f"tag:{k}" for k in tag_keys[:1])]
    groups += [tuple(f"tag:{k}" for k in tag_keys[i:i + 3]) for i in range(1, len(tag_keys), 3)]
    providers: set[str] = set()
    accounts: set[tuple[str, str]] = set()
    values: dict[str, set[str]] = {}
    for gb in groups:
        for r in store.summary(replace(base, group_by=gb))["results"]:
            g = r["group"]
            if g.get("provider"):
                providers.add(g["provider"])
            if g.get("account"):
                accounts.add((g["account"], g.get("provider") or ""))
            for k, v in g.items():
                if k.startswith("tag:") and v:
                    values.setdefault(k[4:], set()).add(v)
    tags = {k: sorted(values[k]) for k in tag_keys if k in values}
    providers, accounts = sorted(providers), sorted(accounts)
    return {"providers": providers, "accounts": [{"id": a, "provider": p} for a, p in accounts], "tags": tags}


def _by(results: list[dict], key: Callable[[dict], Any], currency: str) -> dict[Any, Decimal]:
    out: dict[Any, Decimal] = {}
    for r in results:
        if r["currency"] != currency:
            continue
        k = key(r)
        out[k] = _add(out.get(k, ZERO), r[AMOUNT])
    return out


def _ranked(d: dict[Any, Decimal], limit: int | None = None) -> list[tuple[Any, Decimal]]:
    items = sorted(d.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return items[:limit] if limit else items


def _freshness(results: list[dict]) -> list[dict[str, Any]]:
    """Latest day with cost per provider and cost source (estimates arrive daily, bills settle later)."""
    last: dict[tuple[str, str], str] = {}
    for r in results:
        g = r["group"]
        k = (g.get("provider") or "", g.get("source") or "estimated")
        last[k] = max(last.get(k, ""), r["period"])
    return [{"provider": p, "source": s, "last_day": d} for (p, s), d in sorted(last.items())]


def _budget_statuses(store, now: datetime) -> list[dict[str, Any]] | None:
    mod = _optional("api.budgets")
    if mod is None:
        return None
    return list(mod.BudgetService(store).status(now)["budgets"].values())


def _budgets(store, q: Query, now: datetime, statuses: list[dict] | None = None) -> dict[str, Any]:
    """Each budget's status (cloudtally.budgets.evaluate) reduced to what a budget bar shows."""
    statuses = _budget_statuses(store, now) if statuses is None else statuses
    if statuses is None:
        return {"available": False, "items": []}
    items = []
    for st in statuses:
        fc = st.get("forecast") or {}
        items.append({"id": st["id"], "name": st["name"], "amount": st["amount"], "currency": st["currency"],
                      "spent": st.get("spent"), "remaining": st.get("remaining"),
                      "percentage_used": st.get("percentage_used"), "status": st["status"],
                      "reason": st.get("reason"), "period": st["period"]["type"], "period_label": st["period"]["label"],
                      "forecast": fc.get("value"), "forecast_percentage": fc.get("percentage"),
                      "forecast_method": fc.get("method")})
    return {"available": True, "items": items}


def _anomalies(store, q: Query, status: str | None = "open") -> dict[str, Any]:
    mod = _optional("api.budgets")
    if mod is None:
        return {"available": False, "items": []}
    found = mod.BudgetService(store).anomalies.list(q.start, q.end, status=status)
    return {"available": True, "items": found[:50]}


def _alerts(store, q: Query, statuses: list[dict] | None) -> dict[str, Any]:
    """Alerts the evaluator claimed: the ledger entries of crossed budget thresholds and of the range's
    anomalies, each with when it was claimed and when SNS acknowledged it (``sent_at``; null while
    ``pending``).

    The ledger keys are those ``cloudtally.alerts.AlertEvaluator`` claims; one GetItem each.
    """
    mod = _optional("store.budgets_repo")
    if mod is None or statuses is None:
        return {"available": False, "items": []}
    from .money import fmt
    ledger = mod.AlertLedger(store)
    items = []
    for st in statuses:
        for t in st.get("thresholds") or []:
            if t.get("state") != "crossed":
                continue
            key = f"budget#{st['id']}#{st['period']['label']}#{t['type']}#{fmt(Decimal(t['percentage']).normalize())}"
            got = ledger.get(key)
            if got:
                items.append({"kind": "budget", "subject": f"Budget {st['name']}: {t['type']} {t['percentage']} % "
                              f"threshold, {st['period']['label']}", "budget": st["name"],
                              "threshold": f"{t['type']} {t['percentage']} %", **_ledger_times(got)})
    for a in _anomalies(store, q, status=None)["items"]:
        got = ledger.get(f"anomaly#{a['id']}")
        if got:
            rc = a.get("root_cause") or {}
            items.append({"kind": "anomaly", "subject": f"Anomaly {a.get('severity', '')}: {rc.get('dimension', '')} "
                          f"{rc.get('value', '')} on {a['day']}", "budget": "", "threshold": "",
                          **_ledger_times(got)})
    items.sort(key=lambda i: (i["claimed_at"] or "", i["subject"]), reverse=True)
    return {"available": True, "items": items}


def _ledger_times(entry: dict[str, Any]) -> dict[str, Any]:
    return {"status": entry["state"], "claimed_at": entry.get("claimed_at"), "sent_at": entry.get("sent_at"),
            "attempts": entry.get("attempts"), "last_claimed_at": entry.get("last_claimed_at")}


def _metric_window(q: Query, today: date) -> tuple[date, date]:
    end = min(q.end, today + timedelta(days=1))
    start = max(q.start, end - timedelta(days=METRIC_WINDOW_DAYS))
    return start, max(start, end)


def utilisation(store, q: Query, today: date) -> dict[str, dict[str, Any]]:
    """Average (and peak CPU) utilisation per host from metric points, with its cluster and provider."""
    start, end = _metric_window(q, today)
    hosts: dict[str, dict[str, Any]] = {}
    providers = q.filters.get("provider")
    for kind, name in UTIL_METRICS.items():
        for p in store.query_metrics(name, start, end, limit=100_000):
            dims = p["dimensions"]
            host = dims.get("resource") or dims.get("host") or dims.get("hostname")
            if not host or (providers and dims.get("provider") and dims["provider"] not in providers):
                continue
            h = hosts.setdefault(host, {"host": host, "cluster": dims.get("cluster") or None,
                                        "provider": dims.get("provider") or None, "_v": {}})
            h["_v"].setdefault(kind, []).append(Decimal(p["value"]))
    for h in hosts.values():
        vals = h.pop("_v")
        for kind in UTIL_METRICS:
            h[kind] = _avg(vals.get(kind, []))
        h["cpu_peak"] = max(vals["cpu"]) if vals.get("cpu") else None
        h["points"] = sum(len(v) for v in vals.values())
    return hosts


def _resource_costs(store, q: Query) -> tuple[dict[str, dict], str]:
    top = store.top_resources(q, limit=1000, metric=AMOUNT)
    return {r["ResourceId"]: r for r in top["resources"]}, top.get("metric", AMOUNT)


# ---------------------------------------------------------------------------------------------- views
def _is_partial(day: str, today: date) -> bool:
    """A day that has not closed yet (today, by the view's clock): its cost so far is provisional."""
    return day >= today.isoformat()


def _partial_note(today: date) -> str:
    return (f"{today.isoformat()} is still open: its cost so far is provisional (collectors write today's "
            "running estimate every hour; the day's detail and bill follow)")


def overview(store, q: Query, now: datetime) -> dict[str, Any]:
    today = now.date()
    s = store.summary(replace(q, granularity="day", group_by=("provider", "service", "source")))
    cur = _primary_currency(s["totals"])
    daily = _by(s["results"], lambda r: (r["period"], r["group"]["provider"] or "(none)"), cur)
    services = _by(s["results"], lambda r: (r["group"]["service"] or "(none)", r["group"]["provider"] or ""), cur)
    top = store.top_resources(q, limit=10, metric=AMOUNT)
    return {
        "view": "overview", **_filters_echo(q), "currency": cur, "metric": AMOUNT,
        "totals": s["totals"],
        "daily": [{"day": d, "provider": p, "amount": a, "partial": _is_partial(d, today)}
                  for (d, p), a in sorted(daily.items())],
        "partial_note": _partial_note(today),
        "services": [{"service": k[0], "provider": k[1], "amount": a} for k, a in _ranked(services, TOP_SERVICES)],
        "top_resources": [r for r in top["resources"] if r["currency"] == cur],
        "budgets": _budgets(store, q, now),
        "anomalies": _anomalies(store, q),
        "collectors": store.collectors(),
        "freshness": _freshness(s["results"]),
        "options": options(store, q),
    }


def run_rate_forecast(daily: dict[str, Decimal], as_of: date, window: int = 7) -> dict[str, Any]:
    """Month-end forecast: month-to-date + mean of the last ``window`` days × days left.

    >>> d = {f"2024-09-{i:02d}": Decimal(10) for i in range(1, 11)}
    >>> run_rate_forecast(d, date(2024, 9, 10))["forecast"]
    Decimal('300.00')
    """
    month_start = periods.month_start(as_of)
    mtd = sum((a for d, a in daily.items() if month_start.isoformat() <= d <= as_of.isoformat()), ZERO)
    recent = [daily.get((as_of - timedelta(days=i)).isoformat(), ZERO) for i in range(window)]
    rate = CONTEXT.divide(sum(recent, ZERO), Decimal(window))
    days_left = periods.days_in_month(as_of) - as_of.day
    forecast = CONTEXT.add(mtd, CONTEXT.multiply(rate, Decimal(days_left)))
    return {"month_to_date": mtd, "forecast": forecast.quantize(Decimal("0.01")),
            "daily_run_rate": rate.quantize(Decimal("0.01")), "days_left": days_left,
            "method": f"month-to-date + mean daily spend of the last {window} days × days left in the month"}


def _span_sum(daily: Mapping[str, Decimal], start: date, end: date) -> tuple[Decimal, bool]:
    """The sum of ``[start, end)`` and whether any day of it has cost data at all."""
    a, b = start.isoformat(), end.isoformat()
    vals = [v for d, v in daily.items() if a <= d < b]
    return sum(vals, ZERO), bool(vals)


def _change(cur: Decimal, prev: Decimal) -> Decimal:
    return CONTEXT.divide(CONTEXT.subtract(cur, prev) * 100, prev).quantize(Decimal("0.1"))


def month_over_month(daily: Mapping[str, Decimal], as_of: date, today: date) -> dict[str, Any]:
    """Month to date against the same days of the previous month, on **closed** days only.

    Today's cost so far is partial, so comparing it with a whole day of last month would show a fall
    that did not happen; with no closed day yet (the 1st of a month), or no cost in either span, the
    change is ``None`` and ``reason`` says why (never a -100 % from an empty span).

    >>> d = {f"2026-11-{i:02d}": Decimal(10) for i in range(1, 31)} | {"2026-12-01": Decimal(3)}
    >>> m = month_over_month(d, date(2026, 12, 1), date(2026, 12, 1))
    >>> m["change_pct"], m["reason"]
    (None, 'no closed day in 2026-12 yet: today (2026-12-01) is still open')
    >>> d |= {"2026-12-02": Decimal(12), "2026-12-03": Decimal(1)}
    >>> m = month_over_month(d, date(2026, 12, 3), date(2026, 12, 3))
    >>> m["change_pct"], m["from"], m["to"], m["previous_from"], m["previous_to"]
    (Decimal('-25.0'), '2026-12-01', '2026-12-03', '2026-11-01', '2026-11-03')
    """
    start = periods.month_start(as_of)
    end = as_of + timedelta(days=1) if as_of < today else today     # exclusive; today is still open
    prev_start, prev_end = periods.same_days_previous_month(start, end)
    amount, has = _span_sum(daily, start, end)
    prev_amount, prev_has = _span_sum(daily, prev_start, prev_end)
    month, reason, change = start.strftime("%Y-%m"), None, None
    if end <= start:
        reason = f"no closed day in {month} yet: today ({today.isoformat()}) is still open"
    elif not has:
        reason = f"no cost recorded for {periods.day_span(start, end)}"
    elif not prev_has or prev_amount == 0:
        reason = f"no spend recorded for {periods.day_span(prev_start, prev_end)} to compare with"
    else:
        change = _change(amount, prev_amount)
    return {"from": start.isoformat(), "to": max(start, end).isoformat(), "days": max((end - start).days, 0),
            "amount": amount, "previous_from": prev_start.isoformat(), "previous_to": prev_end.isoformat(),
            "previous_amount": prev_amount, "change_pct": change, "reason": reason,
            "basis": "closed days of the month to date vs the same days of the previous month"}


def monthly_changes(daily: Mapping[str, Decimal], first: date, as_of: date, today: date,
                    mom: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Spend per month from ``first`` to ``as_of``'s month, each with its change on the month before.

    A month without cost data, or whose data starts after its first day (the start of the history),
    is not compared (``change_pct`` None with a ``change_reason``); the month in progress takes the
    closed-day comparison of :func:`month_over_month`.
    """
    data_from = min(daily) if daily else None
    out: list[dict[str, Any]] = []
    current = periods.month_start(as_of)
    prev: dict[str, Any] | None = None
    for m in periods.months(first, as_of + timedelta(days=1)):
        nxt = periods.next_month(m)
        amount, has = _span_sum(daily, m, nxt)
        key = m.strftime("%Y-%m")
        partial = m == current and not (as_of + timedelta(days=1) == nxt and as_of < today)
        starts_late = bool(has and data_from and m.isoformat() < data_from < nxt.isoformat()
                           and data_from > first.isoformat())
        change, reason = None, None
        if partial:
            change, reason = mom["change_pct"], mom["reason"]
        elif not has:
            reason = f"no cost recorded in {key}"
        elif starts_late:
            reason = f"cost data for {key} starts on {data_from}"
        elif prev is None:
            reason = "the month before is not in this view"
        elif not prev["has"] or prev["amount"] == 0:
            reason = f"no spend recorded in {prev['month']}"
        elif prev["starts_late"]:
            reason = f"cost data for {prev['month']} starts on {data_from}"
        else:
            change = _change(amount, prev["amount"])
        out.append({"month": key, "amount": amount, "change_pct": change, "change_reason": reason,
                    "partial": partial})
        prev = {"month": key, "amount": amount, "has": has, "starts_late": starts_late}
    return out


def cfo(store, q: Query, now: datetime) -> dict[str, Any]:
    today = now.date()
    as_of = _as_of(q, today)
    month_start = periods.month_start(as_of)
    first = periods.month_start(as_of, 5)
    hist = store.summary(replace(q, start=first, end=as_of + timedelta(days=1), granularity="day", group_by=()))
    sel = store.summary(replace(q, granularity="total", group_by=(f"tag:{TEAM_TAG}", f"tag:{PROJECT_TAG}", "source")))
    cur = _primary_currency(sel["totals"] or hist["totals"])
    daily = _by(hist["results"], lambda r: r["period"], cur)
    fc = run_rate_forecast(daily, as_of)
    fmod = _optional("forecast")
    if fmod is not None:
        f = fmod.forecast_period({date.fromisoformat(d): a for d, a in daily.items()}, month_start,
                                 periods.next_month(month_start), today=as_of)
        fc.update({"forecast": f.value.quantize(Decimal("0.01")), "forecast_low": f.low.quantize(Decimal("0.01")),
                   "forecast_high": f.high.quantize(Decimal("0.01")), "method": f.method})
    mom = month_over_month(daily, as_of, today)
    budgets = _budgets(store, q, now)
    open_day = as_of if as_of >= today else None
    today_so_far = daily.get(open_day.isoformat(), ZERO) if open_day else ZERO
    team = _by(sel["results"], lambda r: r["group"][f"tag:{TEAM_TAG}"] or "(untagged)", cur)
    project = _by(sel["results"], lambda r: r["group"][f"tag:{PROJECT_TAG}"] or "(untagged)", cur)
    source = _by(sel["results"], lambda r: r["group"]["source"] or "estimated", cur)
    sup = sel["superseded_estimates"].get(cur, {}).get(AMOUNT, ZERO)
    return {
        "view": "cfo", **_filters_echo(q), "currency": cur, "metric": AMOUNT, "as_of": as_of.isoformat(),
        "totals": sel["totals"],
        "month": {"month": month_start.strftime("%Y-%m"), **fc,
                  # month to date counts today's cost so far (provisional: the day is still open)
                  "open_day": open_day.isoformat() if open_day else None, "today_so_far": today_so_far,
                  "closed_days": mom["days"],
                  "previous_month_same_days": mom["previous_amount"], "mom_change_pct": mom["change_pct"],
                  "mom_reason": mom["reason"], "mom": mom},
        "months": monthly_changes(daily, first, as_of, today, mom),
        "by_team": [{"name": k, "amount": a} for k, a in _ranked(team)],
        "by_project": [{"name": k, "amount": a} for k, a in _ranked(project)],
        "billed_vs_estimated": {"billed": source.get("billed", ZERO), "estimated": source.get("estimated", ZERO),
                                "provisional": source.get("provisional", ZERO), "superseded_estimates": sup},
        "budgets": budgets,
        **hub_views.cfo_sections(store, q, now, cur, sel["totals"], budgets, today),
        "options": options(store, q),
    }


def coo(store, q: Query, now: datetime) -> dict[str, Any]:
    today = now.date()
    s = store.summary(replace(q, granularity="day", group_by=("provider", "service", "source")))
    cur = _primary_currency(s["totals"])
    per_service = _by(s["results"], lambda r: r["group"]["service"] or "(none)", cur)
    top_services = [k for k, _ in _ranked(per_service, 6)]
    trend = _by(s["results"], lambda r: (r["period"], r["group"]["service"] if r["group"]["service"] in top_services
                                         else "Other"), cur)
    costs, _ = _resource_costs(store, q)
    hosts = utilisation(store, q, today)
    idle = []
    for h in hosts.values():
        if h["cpu"] is None or h["cpu"] >= UNDERUSED_CPU:
            continue
        c = costs.get(h["host"])
        idle.append({"resource": h["host"], "provider": h["provider"], "cpu": h["cpu"], "memory": h["memory"],
                     "state": "idle" if h["cpu"] < IDLE_CPU else "under-used",
                     "service": c["ServiceName"] if c else None,
                     "amount": c[AMOUNT] if c and c["currency"] == cur else ZERO})
    idle.sort(key=lambda r: (-r["amount"], r["resource"]))
    return {
        "view": "coo", **_filters_echo(q), "currency": cur, "metric": AMOUNT, "totals": s["totals"],
        "collectors": store.collectors(),
        "freshness": _freshness(s["results"]),
        "idle_resources": idle,
        "idle_thresholds": {"idle_cpu_pct": IDLE_CPU, "underused_cpu_pct": UNDERUSED_CPU,
                            "metric": UTIL_METRICS["cpu"], "window_days": METRIC_WINDOW_DAYS},
        "service_trend": [{"day": d, "service": svc, "amount": a, "partial": _is_partial(d, today)}
                          for (d, svc), a in sorted(trend.items())],
        "partial_note": _partial_note(today),
        "alerts": _alerts(store, q, _budget_statuses(store, now)),
        **hub_views.coo_sections(store, q, hosts, costs, cur),
        "options": options(store, q),
    }


def infrastructure(store, q: Query, now: datetime) -> dict[str, Any]:
    today = now.date()
    s = store.summary(replace(q, granularity="total", group_by=()))
    cur = _primary_currency(s["totals"])
    costs, _ = _resource_costs(store, q)
    hosts = utilisation(store, q, today)
    clusters: dict[str, dict[str, Any]] = {}
    idle_total = ZERO
    nodes = []
    for h in sorted(hosts.values(), key=lambda h: (h["cluster"] or "~", h["host"])):
        c = costs.get(h["host"])
        amount = c[AMOUNT] if c and c["currency"] == cur else ZERO
        busiest = max((v for v in (h["cpu"], h["memory"]) if v is not None), default=None)
        idle = ZERO if busiest is None else CONTEXT.divide(CONTEXT.multiply(amount, Decimal(100) - min(busiest, Decimal(100))),
                                                           Decimal(100)).quantize(Decimal("0.01"))
        idle_total = CONTEXT.add(idle_total, idle)
        nodes.append({**h, "service": c["ServiceName"] if c else None, "amount": amount, "idle_amount": idle})
        cl = clusters.setdefault(h["cluster"] or "(standalone)", {"cluster": h["cluster"] or "(standalone)",
                                                                  "nodes": 0, "amount": ZERO, "idle_amount": ZERO,
                                                                  "_cpu": [], "_mem": [], "_disk": []})
        cl["nodes"] += 1
        cl["amount"] = CONTEXT.add(cl["amount"], amount)
        cl["idle_amount"] = CONTEXT.add(cl["idle_amount"], idle)
        for k, src in (("_cpu", "cpu"), ("_mem", "memory"), ("_disk", "storage")):
            if h[src] is not None:
                cl[k].append(h[src])
    cluster_list = []
    for cl in clusters.values():
        cluster_list.append({**{k: v for k, v in cl.items() if not k.startswith("_")},
                             "cpu": _avg(cl["_cpu"]), "memory": _avg(cl["_mem"]), "storage": _avg(cl["_disk"])})
    cluster_list.sort(key=lambda c: (-c["amount"], c["cluster"]))
    start, end = _metric_window(q, today)
    from .telemetry import hosts as host_agents
    return {
        "view": "infrastructure", **_filters_echo(q), "currency": cur, "metric": AMOUNT, "totals": s["totals"],
        "metrics_window": {"from": start.isoformat(), "to": end.isoformat(), "metrics": UTIL_METRICS},
        "clusters": cluster_list, "nodes": nodes, "idle_amount": idle_total,
        "idle_method": "per node: cost × (100 % − the higher of average CPU and memory utilisation)",
        # host agents' heartbeats (online/stale/offline at this clock) with each host's cost where a record names it
        "hosts": host_agents.host_rows(store.agents(), now, costs, cur, AMOUNT), "hosts_rule": host_agents.RULE,
        **hub_views.infrastructure_sections(store, hosts, now),
        "options": options(store, q),
    }


VIEWS: dict[str, Callable[[Any, Query, datetime], dict[str, Any]]] = {
    "overview": overview, "cfo": cfo, "coo": coo, "infrastructure": infrastructure, "llm": hub_views.llm}


def build(store, view: str, params: Mapping[str, Any], now: datetime | None = None, *,
          clock: Clock | None = None) -> dict[str, Any]:
    """One view's data for the given filters at ``now`` (else the clock's; the system clock by default).

    Raises :class:`BadRequest` on an unknown view or bad filter. Every view carries ``today`` (the
    open day by this clock, whose cost is partial) and ``generated_at`` (``now``).
    """
    fn = VIEWS.get(view)
    if fn is None:
        raise BadRequest(f"unknown dashboard view {view[:40]!r}",
                         details=[{"field": "view", "message": "one of " + ", ".join(VIEWS)}])
    now = utc_now(now, clock)
    today = now.date()
    q = parse_view_query(params, today)
    out = fn(store, q, now)
    out["today"] = today.isoformat()
    out["generated_at"] = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    return out
