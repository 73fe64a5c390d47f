"""The observability hubs' sections of the dashboard views (``GET /v1/dashboard/{cfo,coo,infrastructure,llm}``).

The CFO, COO and Infrastructure dashboard classes (:mod:`cloudtally.dashboard`) read these same sections,
so a class and its web page show the same numbers. Each figure that cannot be computed is ``null`` with
its reason next to it, never a zero.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping

from .money import CONTEXT, ZERO, MoneyError, parse_amount, parse_currency

AMOUNT = "EffectiveCost"
PCT_Q = Decimal("0.1")
ENV_AI_ML_VALUE = "CLOUDTALLY_AI_ML_VALUE_PER_DAY"
# managed AI/ML services (FOCUS ServiceCategory "AI and Machine Learning"), by the ServiceName their records carry
AI_ML_SERVICES = ("Amazon SageMaker", "Amazon Bedrock", "Amazon Rekognition", "Amazon Comprehend", "Amazon Textract",
                  "Azure OpenAI", "Azure Machine Learning", "Cognitive Services", "Azure AI services",
                  "Vertex AI", "Cloud AI Platform", "GitHub Copilot", "Databricks Model Serving")
AI_ML_DEFINITION = ("the spend of managed AI/ML services (" + ", ".join(AI_ML_SERVICES) + ") plus the cost of the "
                    "LLM training runs of the range (their nodes' cost records over each run's span, clipped to the "
                    "range; records of the services above are counted once)")
BUDGET_UTILIZATION_DEFINITION = ("the spend of every budget in the view's currency over its current period, divided "
                                 "by the sum of their amounts")


def _pct(a: Decimal, b: Decimal) -> Decimal:
    return CONTEXT.divide(CONTEXT.multiply(a, Decimal(100)), b).quantize(PCT_Q)


def ai_ml_value_per_day(env: Mapping[str, str] | None = None) -> tuple[Decimal, str | None] | None:
    """``CLOUDTALLY_AI_ML_VALUE_PER_DAY`` = ``"<amount> [<currency>]"``: the value (revenue, savings) AI/ML
    workloads produce a day, which the ROI needs; None when it is not set."""
    from .errors import ConfigError
    raw = (os.environ if env is None else env).get(ENV_AI_ML_VALUE, "").strip()
    if not raw:
        return None
    amount, _, cur = raw.partition(" ")
    try:
        return parse_amount(amount), (parse_currency(cur) if cur.strip() else None)
    except MoneyError as e:
        raise ConfigError(f"{ENV_AI_ML_VALUE}={raw[:40]!r}: {e} (expected '<amount> [<ISO currency>]')") from None


def ai_ml(store: Any, q: Any, now: datetime, currency: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    from dataclasses import replace

    from .api import llm
    from .store.hub_repo import HubRepo
    wanted = tuple(x for x in q.filters.get("service", AI_ML_SERVICES) if x in AI_ML_SERVICES)
    s = store.summary(replace(q, granularity="total", group_by=("service",), filters={**q.filters, "service": wanted}))
    services = {r["group"]["service"]: Decimal(r[AMOUNT]) for r in s["results"] if r["currency"] == currency}
    managed = sum(services.values(), ZERO)
    start = datetime(q.start.year, q.start.month, q.start.day, tzinfo=now.tzinfo)
    end = min(datetime(q.end.year, q.end.month, q.end.day, tzinfo=now.tzinfo), now)
    repo = HubRepo(store)
    clusters = {c["cluster_id"]: c for c in repo.clusters()}
    runs, run_total, day_items = [], ZERO, {}
    for info in repo.run_infos("T"):
        parts = repo.chunk_docs(f"LT#{info['key']}", "s#")
        if not parts:
            continue
        figs = llm.merge_training(parts)
        if figs["first_timestamp"] is None:
            continue
        t0, t1 = max(llm.to_datetime(figs["first_timestamp"]), start), min(llm.to_datetime(figs["last_timestamp"]), end)
        if t1 <= t0:
            continue
        c = llm.run_cost(store, llm.run_nodes(repo, info, clusters), t0, t1, day_items,
                         exclude_services=AI_ML_SERVICES)
        cost = (c.get("cost_by_currency") or {}).get(currency)
        if cost is not None:
            runs.append({"run_id": info["key"], "cost": cost})
            run_total = CONTEXT.add(run_total, cost)
    total = CONTEXT.add(managed, run_total)
    out: dict[str, Any] = {"spend": total, "currency": currency, "managed_services": services,
                           "training_runs": runs, "definition": AI_ML_DEFINITION, "roi": None}
    value = ai_ml_value_per_day(env)
    days = max((min(q.end, now.date() + timedelta(days=1)) - q.start).days, 0)
    if value is None:
        out["roi_reason"] = (f"no value figure configured: set {ENV_AI_ML_VALUE} to what AI/ML workloads earn or save "
                             "a day (e.g. '2500 USD')")
    elif value[1] not in (None, currency):
        out["roi_reason"] = f"{ENV_AI_ML_VALUE} is in {value[1]}, the spend in {currency}: currencies are never mixed"
    elif total <= 0:
        out["roi_reason"] = "no AI/ML spend in this range to return anything on"
    else:
        gained = CONTEXT.multiply(value[0], Decimal(days))
        out.update({"roi": _pct(CONTEXT.subtract(gained, total), total), "value": gained, "value_days": days,
                    "roi_method": f"(value per day × {days} days − AI/ML spend) ÷ AI/ML spend", "roi_reason": None})
    return out


def budget_utilization(budgets: Mapping[str, Any], currency: str) -> dict[str, Any]:
    items = [b for b in budgets.get("items") or [] if b.get("currency") == currency and b.get("spent") is not None]
    if not items:
        return {"budget_utilization": None, "definition": BUDGET_UTILIZATION_DEFINITION,
                "reason": "no budget configured" if not budgets.get("items") else f"no budget in {currency}"}
    spent = sum((Decimal(b["spent"]) for b in items), ZERO)
    amount = sum((Decimal(b["amount"]) for b in items), ZERO)
    return {"budget_utilization": _pct(spent, amount), "spent": spent, "amount": amount, "budgets": len(items),
            "currency": currency, "definition": BUDGET_UTILIZATION_DEFINITION, "reason": None}


def cfo_sections(store: Any, q: Any, now: datetime, currency: str, totals: Mapping[str, Any],
                 budgets: Mapping[str, Any], today: Any) -> dict[str, Any]:
    spend = Decimal(totals[currency][AMOUNT]) if currency in totals else ZERO
    return {"total_spend": spend, "ai_ml": ai_ml(store, q, now, currency),
            "budget_utilization": budget_utilization(budgets, currency)}


def coo_sections(store: Any, q: Any, hosts: Mapping[str, Any], costs: Mapping[str, Any], currency: str
                 ) -> dict[str, Any]:
    from .api import observability
    return {"sla": observability.sla(store, q.start, q.end),
            "efficiency": observability.operational_efficiency(hosts, costs, currency)}


def infrastructure_sections(store: Any, hosts: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    from .api import observability
    return {"cluster_health": observability.cluster_health(store, now),
            "utilization": observability.resource_utilization(hosts)}


def llm(store: Any, q: Any, now: datetime) -> dict[str, Any]:
    from .api import llm as llm_api
    return llm_api.dashboard_view(store, q, now)
