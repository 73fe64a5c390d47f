"""The OpenFinOps hub's data-platform queries as API operations (read scope), from the stored records and
metric points (billed supersedes estimated per provider, account and day, as in every total):

* ``GET /v1/platforms/databricks/costs-by-category`` — cost per Databricks category (all_purpose, jobs,
  sql, dlt, model_serving, serverless, storage, networking, other) over ``from``/``to`` or the UTC days
  the last ``hours_lookback`` hours touch (the hub's ``get_costs_by_category('databricks')``);
* ``GET /v1/platforms/databricks/job-costs`` — cost per job (``get_databricks_job_costs(hours_lookback)``);
* ``GET /v1/platforms/snowflake/warehouse-costs`` — credits and cost per warehouse
  (``get_snowflake_warehouse_costs(hours_lookback)``);
* ``GET /v1/platforms/snowflake/storage`` — the latest day's storage per database, in TB, and its monthly
  cost at the catalog's TB-month price (``get_snowflake_storage_metrics()``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Mapping

from ..errors import BadRequest
from ..money import CONTEXT, ZERO
from ..query import Query
from .routes import Request

MAX_LOOKBACK_HOURS = 24 * 93
TB = Decimal(1024 ** 4)          # Snowflake bills storage per TB of 2^40 bytes
TB_QUANTUM = Decimal("0.000000001")


def _tb(value: Any) -> Decimal:
    """Bytes as TB to 1e-9 (a kilobyte): the figure shown, and the one priced (exactly)."""
    return CONTEXT.divide(Decimal(str(value)), TB).quantize(TB_QUANTUM)


def _params(req: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    p = dict(req.query)
    unknown = [k for k in p if k not in allowed]
    if unknown:
        raise BadRequest("invalid query parameters", details=[{"field": k[:64], "message": "unknown parameter"}
                                                              for k in unknown])
    return p


def _range(svc: Any, p: Mapping[str, Any], default_hours: int | None) -> tuple[date, date]:
    """[from, to) in UTC days: explicit ``from``/``to``, else the days the last ``hours_lookback`` touch."""
    if p.get("from") or p.get("to"):
        from ..query import parse_query
        q = parse_query({k: p[k] for k in ("from", "to") if p.get(k)}, today=svc.clock.today())
        return q.start, q.end
    raw = p.get("hours_lookback", default_hours)
    try:
        hours = int(str(raw))
    except (TypeError, ValueError):
        raise BadRequest("invalid hours_lookback", details=[{"field": "hours_lookback", "message": "an integer"}]) from None
    if not 1 <= hours <= MAX_LOOKBACK_HOURS:
        raise BadRequest("invalid hours_lookback", details=[{"field": "hours_lookback",
                                                             "message": f"between 1 and {MAX_LOOKBACK_HOURS}"}])
    now = svc.clock.now()
    return (now - timedelta(hours=hours)).date(), now.date() + timedelta(days=1)


def _counted(svc: Any, provider: str, start: date, end: date) -> list[Any]:
    """The provider's records of [start, end) that totals count (superseded estimates left out)."""
    from ..store import codec
    out = []
    d = start
    while d < end:
        recs = [r for r in (codec.from_item(i) for i in svc.store.iter_day_items(d.isoformat(), consistent=False))
                if r.ProviderName == provider]
        billed = {r.BillingAccountId for r in recs if r.x_CostSource == "billed"}
        detail = {(r.BillingAccountId, r.ServiceName) for r in recs if r.x_CostSource == "estimated"}
        for r in recs:
            if r.x_CostSource != "billed" and r.BillingAccountId in billed:
                continue          # billed supersedes estimated (and provisional) for the account's day
            if r.x_CostSource == "provisional" and (r.BillingAccountId, r.ServiceName) in detail:
                continue          # a closed day's per-resource estimates supersede its provisional aggregates
            out.append(r)
        d += timedelta(days=1)
    return out


def databricks_costs_by_category(svc: Any, req: Request) -> dict[str, Any]:
    from ..providers.databricks.taxonomy import CATEGORIES, SERVICE_CATEGORY_KEY
    p = _params(req, ("from", "to", "hours_lookback", "currency"))
    start, end = _range(svc, p, 24 * 30)
    q = Query(start=start, end=end, granularity="total", group_by=("service", "currency"),
              filters={"provider": ("Databricks",)})
    res = svc.store.summary(q)
    by_cur: dict[str, dict[str, Decimal]] = defaultdict(lambda: {c: ZERO for c in CATEGORIES})
    for row in res["results"]:
        cat = SERVICE_CATEGORY_KEY.get(row["group"]["service"] or "", "other")
        acc = by_cur[row["group"]["currency"]]
        acc[cat] = CONTEXT.add(acc[cat], row["EffectiveCost"])
    currency = str(p.get("currency") or "USD").upper()
    main = by_cur.get(currency, {c: ZERO for c in CATEGORIES})
    return {"from": start.isoformat(), "to": end.isoformat(), "currency": currency, **main,
            "total": sum(main.values(), ZERO), "by_currency": {k: dict(v) for k, v in sorted(by_cur.items())}}


def databricks_job_costs(svc: Any, req: Request) -> dict[str, Any]:
    p = _params(req, ("from", "to", "hours_lookback"))
    start, end = _range(svc, p, 24)
    jobs: dict[tuple[str, str], dict[str, Any]] = {}
    for r in _counted(svc, "Databricks", start, end):
        if not (r.ResourceId or "").startswith("jobs/"):
            continue
        key = (r.ResourceId, r.BillingCurrency)
        j = jobs.setdefault(key, {"job_id": r.ResourceId.split("/", 1)[1], "job_name": r.ResourceName,
                                  "cost": ZERO, "currency": r.BillingCurrency, "dbus": ZERO, "runs": set(),
                                  "sources": set()})
        j["cost"] = CONTEXT.add(j["cost"], r.EffectiveCost)
        if r.PricingUnit == "DBU" and r.ConsumedQuantity is not None:
            j["dbus"] = CONTEXT.add(j["dbus"], r.ConsumedQuantity)
        if r.Tags.get("databricks:job_run_id"):
            j["runs"].add(r.Tags["databricks:job_run_id"])
        j["job_name"] = j["job_name"] or r.ResourceName
        j["sources"].add(r.x_CostSource)
    out = sorted(({**j, "runs": sorted(j["runs"]), "sources": sorted(j["sources"])} for j in jobs.values()),
                 key=lambda j: (-j["cost"], j["job_id"]))
    return {"from": start.isoformat(), "to": end.isoformat(), "jobs": out}


def snowflake_warehouse_costs(svc: Any, req: Request) -> dict[str, Any]:
    p = _params(req, ("from", "to", "hours_lookback"))
    start, end = _range(svc, p, 24)
    whs: dict[tuple[str, str], dict[str, Any]] = {}
    for r in _counted(svc, "Snowflake", start, end):
        if r.ResourceType != "warehouse":
            continue
        key = (r.ResourceId or "", r.BillingCurrency)
        w = whs.setdefault(key, {"name": r.ResourceId, "credits": ZERO, "cost": ZERO, "currency": r.BillingCurrency,
                                 "idle_credits": ZERO, "cloud_services_credits": ZERO, "sources": set()})
        q = r.ConsumedQuantity or ZERO
        w["credits"] = CONTEXT.add(w["credits"], q)
        w["cost"] = CONTEXT.add(w["cost"], r.EffectiveCost)
        part = r.Tags.get("snowflake:part")
        if part == "idle":
            w["idle_credits"] = CONTEXT.add(w["idle_credits"], q)
        elif part == "cloud_services":
            w["cloud_services_credits"] = CONTEXT.add(w["cloud_services_credits"], q)
        w["sources"].add(r.x_CostSource)
    out = sorted(({**w, "sources": sorted(w["sources"])} for w in whs.values()), key=lambda w: (-w["cost"], w["name"]))
    return {"from": start.isoformat(), "to": end.isoformat(), "warehouses": out}


def snowflake_storage(svc: Any, req: Request) -> dict[str, Any]:
    from .. import catalog
    from ..catalog import PriceNotFound
    p = _params(req, ("account", "storage_pricing"))
    pricing = str(p.get("storage_pricing") or "on_demand")
    if pricing not in ("on_demand", "capacity"):
        raise BadRequest("invalid storage_pricing", details=[{"field": "storage_pricing",
                                                              "message": "on_demand or capacity"}])
    today = svc.clock.today()
    start, end = today - timedelta(days=5), today + timedelta(days=1)
    dims = {"account": str(p["account"])} if p.get("account") else None
    points = {n: svc.store.query_metrics(f"snowflake.storage.{n}_bytes", start, end, dimensions=dims)
              for n in ("database", "failsafe", "stage")}
    latest = max((pt["timestamp"] for pt in points["database"]), default=None)
    if latest is None:
        return {"as_of": None, "total_tb": ZERO, "monthly_cost": ZERO, "currency": "USD", "databases": []}
    dbs: dict[tuple[str, str], dict[str, Any]] = {}
    region = None
    for n in ("database", "failsafe"):
        for pt in points[n]:
            if pt["timestamp"] != latest:
                continue
            d = pt["dimensions"]
            region = region or d.get("region")
            e = dbs.setdefault((d.get("account", ""), d.get("database", "")), {
                "account": d.get("account"), "database_name": d.get("database"), "database_tb": ZERO, "failsafe_tb": ZERO})
            e[f"{n}_tb"] = _tb(pt["value"])
    stage_tb = sum((_tb(pt["value"]) for pt in points["stage"] if pt["timestamp"] == latest), ZERO)
    try:
        price = catalog.load("snowflake").price("storage", region or "AWS_US_EAST_1", pricing)
    except PriceNotFound as e:
        raise BadRequest("no storage price", details=[{"field": "storage_pricing", "message": e.message}]) from None
    out, total = [], ZERO
    for e in sorted(dbs.values(), key=lambda e: (e["account"] or "", e["database_name"] or "")):
        tb = CONTEXT.add(e["database_tb"], e["failsafe_tb"])
        out.append({**e, "current_storage_tb": tb, "monthly_cost": CONTEXT.multiply(tb, price.amount)})
        total = CONTEXT.add(total, tb)
    total = CONTEXT.add(total, stage_tb)
    return {"as_of": str(latest)[:10], "total_tb": total, "stage_tb": stage_tb,
            "monthly_cost": CONTEXT.multiply(total, price.amount), "currency": price.currency,
            "price_per_tb_month": price.amount, "price_source": price.sku, "catalog_version": price.version,
            "databases": out}


# ---------------------------------------------------------------------------------------------- OpenAPI
def openapi_operations() -> dict[str, dict[str, Any]]:
    sec = {"security": [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}]}
    obj = {"content": {"application/json": {"schema": {"type": "object"}}}}
    err = {str(c): {"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
           for c, d in ((400, "invalid parameter; details name it"), (401, "missing or unknown key"),
                        (403, "key lacks the read scope"))}
    rng = [{"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
           {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
           {"name": "hours_lookback", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                 "maximum": MAX_LOOKBACK_HOURS}}]
    return {
        "databricksCostsByCategory": {"summary": "Databricks cost per category (all_purpose, jobs, sql, dlt, model_serving, "
                                                 "serverless, storage, networking, other) (read)", **sec,
                                      "parameters": rng + [{"name": "currency", "in": "query", "schema": {"type": "string"}}],
                                      "responses": {"200": {"description": "amounts by category", **obj}, **err}},
        "databricksJobCosts": {"summary": "Cost, DBUs and runs per Databricks job over a look-back (read)", **sec,
                               "parameters": rng, "responses": {"200": {"description": "jobs by cost", **obj}, **err}},
        "snowflakeWarehouseCosts": {"summary": "Credits (idle and cloud services included) and cost per Snowflake "
                                               "warehouse over a look-back (read)", **sec, "parameters": rng,
                                    "responses": {"200": {"description": "warehouses by cost", **obj}, **err}},
        "snowflakeStorage": {"summary": "The latest day's Snowflake storage per database (TB) and its monthly cost "
                                        "at the catalog's TB-month price (read)", **sec,
                             "parameters": [{"name": "account", "in": "query", "schema": {"type": "string"}},
                                            {"name": "storage_pricing", "in": "query",
                                             "schema": {"type": "string", "enum": ["on_demand", "capacity"]}}],
                             "responses": {"200": {"description": "storage metrics", **obj}, **err}},
    }
