"""``SnowflakeTelemetryAgent``: the OpenFinOps Snowflake agent API on the ``snowflake`` collector.

Same constructor, methods and return shapes as the OpenFinOps docs (``collect_warehouse_metrics()``,
``collect_storage_metrics()`` and the five common methods), computed from one collector run: hourly
warehouse credits (WAREHOUSE_METERING_HISTORY), the cost of those credits at the price the warehouse's
records carry (currency allocation or the edition's credit price), and the latest day's storage bytes
priced per TB-month. Password sign-in is accepted with a warning; ``private_key`` (PEM) is preferred.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..money import CONTEXT, ZERO
from . import platform_run
from .base import TelemetryAgent, agent_parser, run_cli

TB = Decimal(1024 ** 4)


def _days_in_month(day: str) -> int:
    from datetime import date
    from .. import periods
    s, e = periods.month_period(date.fromisoformat(day))
    return (e - s).days


class SnowflakeTelemetryAgent(TelemetryAgent):
    agent_type = "snowflake_telemetry"
    cloud_provider = "snowflake"

    def __init__(self, openfinops_endpoint: str | None = None, snowflake_account: str | None = None,
                 snowflake_user: str | None = None, snowflake_password: str | None = None,
                 snowflake_warehouse: str | None = "COMPUTE_WH", edition: str = "enterprise", *,
                 private_key: str | None = None, role: str | None = None, agent_id: str | None = None,
                 api_key_id: str | None = None, api_key_secret: str | None = None, clients: Any = None,
                 config: dict[str, Any] | None = None, spool_dir: str | None = None, clock: Any = None,
                 client: Any = None):
        self.snowflake_account = snowflake_account or os.environ.get("SNOWFLAKE_ACCOUNT") or ""
        self.snowflake_user = snowflake_user or os.environ.get("SNOWFLAKE_USER") or ""
        self._password = snowflake_password or os.environ.get("SNOWFLAKE_PASSWORD") or ""
        self._key = private_key or os.environ.get("SNOWFLAKE_PRIVATE_KEY") or ""
        self.snowflake_warehouse = snowflake_warehouse or os.environ.get("SNOWFLAKE_WAREHOUSE")
        self.edition = edition
        super().__init__(openfinops_endpoint, agent_id=agent_id, id_prefix=f"snowflake-{self.snowflake_account}",
                         api_key_id=api_key_id, api_key_secret=api_key_secret, spool_dir=spool_dir, clock=clock,
                         client=client)
        self.clients = clients
        self.last_summary: dict[str, Any] | None = None
        self.config = {"account": self.snowflake_account, "user": self.snowflake_user, "edition": edition,
                       **({"warehouse": self.snowflake_warehouse} if self.snowflake_warehouse else {}),
                       **({"role": role} if role else {}), **(config or {})}

    def __repr__(self) -> str:   # never a credential
        return f"SnowflakeTelemetryAgent({self.endpoint!r}, {self.snowflake_account!r}, agent_id={self.agent_id!r})"

    def registration(self) -> dict[str, Any]:
        return {"region": self.snowflake_account.partition(".")[2] or None,
                "config": {"account": self.snowflake_account, "edition": self.edition}}

    def failed_scopes(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return (self.last_summary or {}).get("failed_scopes", [])

    def _collect(self, hours: float) -> tuple[list[Any], list[Any], datetime]:
        env = {"SNOWFLAKE_PRIVATE_KEY": self._key} if self._key else {"SNOWFLAKE_PASSWORD": self._password}
        # storage views are daily: read at least the last two days so the latest full day is there
        records, metrics, self.last_summary, now = platform_run.collect(
            self, "snowflake", max(hours, 48), config=self.config, env=env, clients=self.clients)
        return records, metrics, now

    def collect_warehouse_metrics(self, hours_lookback: int = 24, _run: tuple | None = None) -> dict[str, Any]:
        records, metrics, now = _run or self._collect(hours_lookback)
        since = now - timedelta(hours=hours_lookback)
        compute, cloud = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
        by_day: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)     # credits in the window per day
        active: dict[str, set] = defaultdict(set)
        for p in metrics:
            if p.timestamp < since or p.name not in ("snowflake.warehouse.credits_used_compute",
                                                     "snowflake.warehouse.credits_used_cloud_services"):
                continue
            wh = p.dimensions["warehouse"]
            acc = compute if p.name.endswith("compute") else cloud
            acc[wh] = CONTEXT.add(acc[wh], p.value)
            key = (wh, p.timestamp.date().isoformat())
            by_day[key] = CONTEXT.add(by_day[key], p.value)
            if p.value > 0:
                active[wh].add(p.timestamp)
        # each day's credits cost what that day's records of the warehouse charge per credit
        cost, credits = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
        for r in records:
            if r.ResourceType == "warehouse" and r.ConsumedQuantity:
                cost[(r.ResourceId, r.day)] = CONTEXT.add(cost[(r.ResourceId, r.day)], r.BilledCost)
                credits[(r.ResourceId, r.day)] = CONTEXT.add(credits[(r.ResourceId, r.day)], r.ConsumedQuantity)
        whs = []
        for wh in sorted(set(compute) | set(cloud)):
            total = CONTEXT.add(compute[wh], cloud[wh])
            spent = ZERO
            for (w, day), n in by_day.items():
                if w == wh and credits[(w, day)]:
                    spent = CONTEXT.add(spent, CONTEXT.divide(CONTEXT.multiply(n, cost[(w, day)]), credits[(w, day)]))
            whs.append({"warehouse_name": wh, "total_credits_used": total, "compute_credits": compute[wh],
                        "cloud_service_credits": cloud[wh], "active_hours": len(active[wh]),
                        "estimated_cost_usd": spent.quantize(Decimal("0.000001"))})
        return {"timestamp": now.timestamp(), "lookback_hours": hours_lookback, "total_warehouses": len(whs),
                "total_credits_used": sum((w["total_credits_used"] for w in whs), ZERO),
                "total_estimated_cost_usd": sum((w["estimated_cost_usd"] for w in whs), ZERO), "warehouses": whs}

    def collect_storage_metrics(self, _run: tuple | None = None) -> dict[str, Any]:
        records, metrics, now = _run or self._collect(48)
        latest = max((p.timestamp for p in metrics if p.name == "snowflake.storage.database_bytes"), default=None)
        dbs: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"database": ZERO, "failsafe": ZERO})
        for p in metrics:
            if p.timestamp == latest and p.name in ("snowflake.storage.database_bytes", "snowflake.storage.failsafe_bytes"):
                dbs[p.dimensions["database"]]["database" if "database_bytes" in p.name else "failsafe"] = p.value
        day = latest.date().isoformat() if latest else None
        # per TB-month: what the day's storage records charge, scaled to the month; else the catalog's list price
        price = self._storage_price(records, day)
        out, total_tb, total_cost = [], ZERO, ZERO
        for name in sorted(dbs):
            d = CONTEXT.divide(dbs[name]["database"], TB)
            f = CONTEXT.divide(dbs[name]["failsafe"], TB)
            cur = CONTEXT.add(d, f)
            monthly = CONTEXT.multiply(cur, price).quantize(Decimal("0.01"))
            out.append({"database_name": name, "current_storage_tb": cur.quantize(Decimal("0.000001")),
                        "database_tb": d.quantize(Decimal("0.000001")), "failsafe_tb": f.quantize(Decimal("0.000001")),
                        "estimated_monthly_cost_usd": monthly})
            total_tb, total_cost = CONTEXT.add(total_tb, cur), CONTEXT.add(total_cost, monthly)
        return {"timestamp": now.timestamp(), "as_of": day, "total_storage_tb": total_tb.quantize(Decimal("0.000001")),
                "estimated_monthly_cost_usd": total_cost, "price_per_tb_month": price, "databases": out}

    def _storage_price(self, records: list[Any], day: str | None) -> Decimal:
        recs = [r for r in records if r.day == day and r.PricingUnit == "TB-Months" and r.ListUnitPrice]
        if recs:
            return recs[0].ListUnitPrice
        from .. import catalog
        cfg = {"region": "AWS_US_EAST_1", "storage_pricing": "on_demand", **self.config}
        return catalog.load("snowflake").price("storage", cfg["region"], cfg["storage_pricing"]).amount

    def collect_telemetry_data(self) -> dict[str, Any]:
        run = self._collect(48)
        now = run[2]
        wh = self.collect_warehouse_metrics(24, run)
        st = self.collect_storage_metrics(run)
        storage_daily = CONTEXT.divide(st["estimated_monthly_cost_usd"], Decimal(_days_in_month(st["as_of"]))) \
            if st["as_of"] else ZERO
        failed = [f["scope"] for f in (self.last_summary or {}).get("failed_scopes", [])]
        return {"agent_id": self.agent_id, "timestamp": now.timestamp(), "metrics": {
            "timestamp": now.timestamp(), "agent_id": self.agent_id, "account_name": self.snowflake_account,
            "edition": self.edition, "metrics": {"warehouses": wh, "storage": st},
            "summary": {"total_daily_cost_usd": CONTEXT.add(wh["total_estimated_cost_usd"], storage_daily).quantize(Decimal("0.01")),
                        "compute_cost_24h_usd": wh["total_estimated_cost_usd"],
                        "storage_cost_daily_usd": storage_daily.quantize(Decimal("0.01"))}},
            "agent_health": {"status": "degraded" if failed else "healthy", "failed_scopes": failed,
                             "last_collection": now.timestamp()}}


def add_agent_command(asub: Any) -> None:
    """``cloudtally agent snowflake ...`` (the OpenFinOps docs' flags; SNOWFLAKE_USER / SNOWFLAKE_PASSWORD /
    SNOWFLAKE_ACCOUNT, and SNOWFLAKE_PRIVATE_KEY for key-pair sign-in)."""
    p = agent_parser(asub, "snowflake", "SnowflakeTelemetryAgent: warehouse credits and cost, storage")
    p.add_argument("--snowflake-account", default=os.environ.get("SNOWFLAKE_ACCOUNT"), help="SNOWFLAKE_ACCOUNT")
    p.add_argument("--snowflake-user", default=os.environ.get("SNOWFLAKE_USER"), help="SNOWFLAKE_USER")
    p.add_argument("--snowflake-warehouse", default=os.environ.get("SNOWFLAKE_WAREHOUSE") or "COMPUTE_WH")
    p.add_argument("--edition", choices=("standard", "enterprise", "business_critical"), default="enterprise")
    p.set_defaults(func=_cli)


def _cli(args: Any) -> int:
    from ..errors import ConfigError
    if not args.snowflake_account or not args.snowflake_user:
        raise ConfigError("pass --snowflake-account and --snowflake-user (or set SNOWFLAKE_ACCOUNT / SNOWFLAKE_USER); "
                          "the key comes from SNOWFLAKE_PRIVATE_KEY (or, with a warning, SNOWFLAKE_PASSWORD)")
    agent = SnowflakeTelemetryAgent(args.endpoint, args.snowflake_account, args.snowflake_user,
                                    snowflake_warehouse=args.snowflake_warehouse, edition=args.edition,
                                    agent_id=args.agent_id, spool_dir=args.spool_dir)
    return run_cli(agent, once=args.once, interval=args.interval)
