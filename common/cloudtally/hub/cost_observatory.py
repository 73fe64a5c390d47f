"""``CostObservatory``: the OpenFinOps cost API, backed by the CloudTally API (not by memory).

Compatible with the OpenFinOps docs' ``openfinops.observability.cost_observatory`` module::

    from cloudtally.hub.cost_observatory import Budget, CostEntry, CostObservatory

    cost_obs = CostObservatory()          # the API at CLOUDTALLY_API_URL, else OPENFINOPS_ENDPOINT, else
                                          # http://localhost:8080; the key from CLOUDTALLY_API_KEY_ID/_SECRET
    cost_obs.add_cost_entry(CostEntry(timestamp=time.time(), provider="aws", service="ec2",
                                      resource_id="i-1", cost_usd=3.50, region="us-west-2"))
    cost_obs.create_budget(Budget(budget_id="b", name="B", amount_usd=50000.0, period="monthly",
                                  scope={"provider": "aws"}, alert_threshold=0.8))
    cost_obs.get_cost_summary(time_range_hours=24)["total_cost"]
    cost_obs.get_budget_status()["b"]["spent"]

Mapping onto CloudTally:

* a ``CostEntry`` is one FOCUS record: ``cost_usd`` is the cost of the UTC hour ``timestamp`` falls
  in (the docs' "hourly cost"), ``provider``/``service`` map to ``ProviderName``/``ServiceName``
  (``aws`` → ``AWS``, ``ec2`` → ``Amazon Elastic Compute Cloud``, as for the OpenFinOps agents),
  ``tags`` to ``Tags``. The record id is the resource and the hour, so entries re-sent for the same
  hour replace each other instead of adding up.
* a ``Budget`` is a CloudTally budget: ``amount_usd`` → ``amount`` in USD, ``alert_threshold`` (a
  fraction) → an actual threshold at that percentage, plus 100 % actual and 100 % forecast;
  ``start_time`` → ``start``. ``create_budget`` of an existing id replaces it.
* ``get_cost_summary(time_range_hours)`` covers the whole UTC days the range touches (CloudTally's
  rollups are daily) and returns ``total_cost``, ``by_provider``, ``by_service``, ``top_resources``
  (each ``{"resource_id", "cost", ...}``) in USD, plus ``from``/``to`` stating the days covered.
  Amounts are :class:`~decimal.Decimal` (``f"{x:.2f}"`` works as with floats). "Now" is the
  observatory's clock: ``clock=``, else ``CLOUDTALLY_NOW``, else the system clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..api.openfinops import PROVIDERS, SERVICES
from ..budgets import fx_table
from ..client import Client, from_env
from ..clock import Clock, from_env as clock_from_env
from ..errors import CloudTallyError, ValidationError
from ..focus import ONE_HOUR, UTC, hour_floor, iso
from ..money import CONTEXT, ZERO, MoneyError, parse_amount

_PROVIDER_NAMES = {v: k for k, v in PROVIDERS.items() if k != "google"}
_SERVICE_NAMES = {v[0]: k for k, v in SERVICES.items()}
STATUS_AMOUNTS = ("amount", "spent", "remaining", "percentage_used")


def _amount(v: Any) -> Decimal:
    """Docs examples pass floats (``cost_usd=3.50``): their shortest repr is the intended decimal."""
    return parse_amount(repr(v) if isinstance(v, float) else v)


def provider_name(p: str) -> str:
    return PROVIDERS.get(str(p).lower(), str(p))


def service_name(s: str) -> str:
    return SERVICES.get(str(s).lower(), (str(s),))[0]


@dataclass
class CostEntry:
    timestamp: float
    provider: str
    service: str
    resource_id: str
    cost_usd: float | Decimal | str
    region: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    account_id: str | None = None
    currency: str = "USD"

    def to_record(self) -> dict[str, Any]:
        hour = hour_floor(datetime.fromtimestamp(float(self.timestamp), UTC))
        try:
            cost = _amount(self.cost_usd)
        except MoneyError as e:
            raise ValidationError("invalid cost entry", details=[{"field": "cost_usd", "message": str(e)}]) from None
        rec = {"ProviderName": provider_name(self.provider), "ServiceName": service_name(self.service),
               "BillingAccountId": self.account_id or f"cost-observatory:{str(self.provider).lower()}",
               "ResourceId": self.resource_id, "ChargePeriodStart": iso(hour), "ChargePeriodEnd": iso(hour + ONE_HOUR),
               "BilledCost": cost, "BillingCurrency": self.currency, "ChargeCategory": "Usage",
               "Tags": dict(self.tags or {}), "x_CostSource": "estimated", "x_Collector": "cost-observatory"}
        if self.region:
            rec["RegionId"] = self.region
        return rec


@dataclass
class Budget:
    budget_id: str
    name: str
    amount_usd: float | Decimal | str
    period: str = "monthly"
    scope: dict[str, Any] = field(default_factory=dict)
    alert_threshold: float = 0.8
    start_time: float | None = None

    def to_budget(self) -> dict[str, Any]:
        scope: dict[str, Any] = {}
        for k, v in (self.scope or {}).items():
            if k == "provider":
                scope[k] = [provider_name(x) for x in v] if isinstance(v, list) else provider_name(v)
            elif k == "service":
                scope[k] = [service_name(x) for x in v] if isinstance(v, list) else service_name(v)
            else:
                scope[k] = v
        pct = CONTEXT.multiply(_amount(self.alert_threshold), Decimal(100)).normalize()
        thresholds = [{"percentage": pct, "type": "actual"}] if pct != 100 else []
        thresholds += [{"percentage": Decimal(100), "type": "actual"}, {"percentage": Decimal(100), "type": "forecast"}]
        doc = {"id": self.budget_id, "name": self.name, "amount": _amount(self.amount_usd), "currency": "USD",
               "period": self.period, "scope": scope, "thresholds": thresholds}
        if self.start_time is not None and self.period != "custom":
            doc["start"] = datetime.fromtimestamp(float(self.start_time), UTC).date().isoformat()
        return doc


class CostObservatory:
    """Centralized cost tracking and budget management over the CloudTally API."""

    def __init__(self, collection_interval: float = 3600, *, client: Client | None = None,
                 clock: Clock | None = None):
        """Without ``client``: :func:`cloudtally.client.from_env` (a ConfigError names the URL and the
        variables to set when nothing answers at the default ``http://localhost:8080``)."""
        self.collection_interval = collection_interval
        self.client = client or from_env()
        self.clock = clock or clock_from_env()

    def add_cost_entry(self, cost_entry: CostEntry) -> str:
        """Send one entry as a record; returns nothing useful to the docs' callers but the record id."""
        resp, _ = self.client.request("POST", "/v1/records", body=[cost_entry.to_record()])
        if resp.get("rejected"):
            raise ValidationError("cost entry rejected", details=resp["rejected"][0].get("errors"))
        return cost_entry.resource_id

    def create_budget(self, budget: Budget) -> dict[str, Any]:
        doc = budget.to_budget()
        try:
            return self.client.request("POST", "/v1/budgets", body=doc)[0]
        except CloudTallyError as e:
            if e.code != "conflict":
                raise
        return self.client.request("PUT", f"/v1/budgets/{budget.budget_id}", body=doc)[0]

    def get_cost_summary(self, time_range_hours: int = 24) -> dict[str, Any]:
        now = self.clock.now()
        start = now - timedelta(hours=time_range_hours)
        p = {"from": start.date().isoformat(), "to": (now.date() + timedelta(days=1)).isoformat()}
        fx = fx_table()
        unconverted: dict[str, Decimal] = {}

        def grouped(dim: str, names: dict[str, str]) -> dict[str, Decimal]:
            res = self.client.request("GET", "/v1/costs/summary",
                                      params={**p, "granularity": "total", "group_by": dim})[0]
            out: dict[str, Decimal] = {}
            for row in res["results"]:
                v = fx.convert(Decimal(row["EffectiveCost"]), row["currency"], "USD")
                if v is None and dim == "provider":  # reported once, never mixed into USD
                    unconverted[row["currency"]] = CONTEXT.add(unconverted.get(row["currency"], ZERO),
                                                               Decimal(row["EffectiveCost"]))
                if v is not None:
                    name = row["group"][dim] or "unknown"
                    key = names.get(name, name)
                    out[key] = CONTEXT.add(out.get(key, ZERO), v)
            return dict(sorted(out.items(), key=lambda kv: kv[1], reverse=True))

        by_provider = grouped("provider", _PROVIDER_NAMES)
        by_service = grouped("service", _SERVICE_NAMES)
        top = self.client.request("GET", "/v1/costs/top-resources", params={**p, "limit": 10})[0]
        resources = []
        for r in top["resources"]:
            v = fx.convert(Decimal(r["EffectiveCost"]), r["currency"], "USD")
            if v is not None:
                resources.append({"resource_id": r["ResourceId"], "cost": v,
                                  "provider": _PROVIDER_NAMES.get(r["ProviderName"], r["ProviderName"]),
                                  "service": _SERVICE_NAMES.get(r["ServiceName"], r["ServiceName"]),
                                  "region": r.get("RegionId"), "tags": r.get("tags") or {}})
        return {"total_cost": sum(by_provider.values(), ZERO), "currency": "USD", "by_provider": by_provider,
                "by_service": by_service, "top_resources": resources, "time_range_hours": time_range_hours,
                "from": p["from"], "to": p["to"], "unconverted": unconverted, "fx": fx.info(),
                "generated_at": self.clock.timestamp()}

    def get_saas_service_costs(self, time_range_hours: int | None = None) -> dict[str, Any]:
        """The OpenFinOps SaaS summary: ``{"mongodb_atlas", "redis_cloud", "github_actions", "datadog"}`` →
        USD cost of the month to date (or of the whole UTC days the last ``time_range_hours`` touch); a
        :class:`~cloudtally.observability.markers.NotCollected` (formats as ``not collected``, falsy, with the
        reason) for a vendor nothing was collected from — never a zero that would read as free."""
        return saas_costs_usd(self.client, time_range_hours, self.clock.now())

    def get_budget_status(self) -> dict[str, dict[str, Any]]:
        res = self.client.request("GET", "/v1/budgets/status")[0]
        out = {}
        for bid, info in res["budgets"].items():
            info = dict(info)
            for k in STATUS_AMOUNTS:
                if info.get(k) is not None:
                    info[k] = Decimal(info[k])
            out[bid] = info
        return out


def saas_costs_usd(client: Client, time_range_hours: int | None, now: datetime) -> dict[str, Any]:
    """``GET /v1/costs/saas`` in USD per vendor (other currencies converted with the catalog's FX table), a
    ``NotCollected`` marker for a vendor without records (or without a convertible amount)."""
    from ..observability.markers import NotCollected
    params: dict[str, Any] = {}
    if time_range_hours is not None:
        params = {"from": (now - timedelta(hours=time_range_hours)).date().isoformat(),
                  "to": (now.date() + timedelta(days=1)).isoformat()}
    res = client.saas_costs(**params)
    fx = fx_table()
    out: dict[str, Any] = {}
    for key, info in res["services"].items():
        if info["status"] != "collected":
            out[key] = NotCollected(key, f"no {info['provider']} cost records from {res['from']} to {res['to']} "
                                         f"(is the {info['collector']} collector or the SaaS agent configured?)")
            continue
        usd, unconverted = ZERO, []
        for cur, v in (info["total"] or {}).items():
            conv = fx.convert(Decimal(v), cur, "USD")
            if conv is None:
                unconverted.append(cur)
            else:
                usd = CONTEXT.add(usd, conv)
        out[key] = usd if not unconverted or usd else NotCollected(
            key, f"{info['provider']} cost is in {', '.join(unconverted)}, which the FX table cannot convert to USD")
    return out
