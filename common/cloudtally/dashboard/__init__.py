"""The OpenFinOps dashboard classes (``openfinops.dashboard``): CFO, COO and Infrastructure leader.

Each reads the same API call as its web page (``GET /v1/dashboard/cfo|coo|infrastructure``), so a report and
the page show the same numbers::

    from cloudtally.dashboard import CFODashboard, COODashboard, InfrastructureLeaderDashboard
    report = CFODashboard(hub).generate_financial_report()
    report.total_spend, report.budget_utilization, report.ai_ml_spend, report.ai_ml_roi   # Decimal | None
    COODashboard(hub).get_operational_metrics().sla_compliance
    InfrastructureLeaderDashboard(hub).get_resource_utilization().cpu_percent

``hub`` is an :class:`~cloudtally.observability.ObservabilityHub` (its API client is used), a
:class:`~cloudtally.client.Client`, or ``None`` (the client from the environment). A figure the data does
not allow is ``None`` with its ``..._reason``; every figure comes with its definition.
(The dashboards' data builder is :mod:`cloudtally.dashboard_data`, on the API side.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..client import Client, from_env
from ..money import parse_amount


def _client(hub: Any) -> Client:
    if hub is None:
        return from_env()
    if isinstance(hub, Client):
        return hub
    client = getattr(hub, "client", None)
    if not isinstance(client, Client):
        raise TypeError("pass an ObservabilityHub, a cloudtally.client.Client or None")
    return client


def _d(v: Any) -> Decimal | None:
    return None if v is None else parse_amount(v)


class _Dashboard:
    view = ""

    def __init__(self, hub: Any = None, *, start: str | None = None, end: str | None = None, **filters: str):
        """``start``/``end`` (UTC days, end exclusive) and filters (``provider``, ``service``, ``account``,
        ``tag``) as the page's URL takes them; default: the page's default range."""
        self.hub = hub
        self.client = _client(hub)
        self.params = {"from": start, "to": end, **filters}

    def data(self) -> dict[str, Any]:
        """The page's data, as the web page receives it."""
        flush = getattr(self.hub, "flush", None)
        if callable(flush):
            flush()
        return self.client.request("GET", f"/v1/dashboard/{self.view}", params=self.params)[0]


@dataclass
class FinancialReport:
    total_spend: Decimal
    currency: str
    start: str
    end: str
    budget_utilization: Decimal | None
    budget_utilization_reason: str | None
    ai_ml_spend: Decimal
    ai_ml_roi: Decimal | None
    ai_ml_roi_reason: str | None
    month_to_date: Decimal
    forecast: Decimal
    definitions: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict, repr=False)


class CFODashboard(_Dashboard):
    view = "cfo"

    def generate_financial_report(self) -> FinancialReport:
        d = self.data()
        bu, ai = d["budget_utilization"], d["ai_ml"]
        return FinancialReport(
            total_spend=_d(d["total_spend"]), currency=d["currency"], start=d["from"], end=d["to"],
            budget_utilization=_d(bu["budget_utilization"]), budget_utilization_reason=bu.get("reason"),
            ai_ml_spend=_d(ai["spend"]), ai_ml_roi=_d(ai.get("roi")), ai_ml_roi_reason=ai.get("roi_reason"),
            month_to_date=_d(d["month"]["month_to_date"]), forecast=_d(d["month"]["forecast"]),
            definitions={"total_spend": f"EffectiveCost from {d['from']} to {d['to']} (exclusive)",
                         "budget_utilization": bu["definition"], "ai_ml_spend": ai["definition"],
                         "ai_ml_roi": ai.get("roi_method") or ai.get("roi_reason") or ""},
            data=d)


@dataclass
class OperationalMetrics:
    sla_compliance: Decimal | None
    sla_compliance_reason: str | None
    operational_efficiency: Decimal | None
    operational_efficiency_reason: str | None
    services: list[dict[str, Any]]
    idle_resources: int
    collectors_failing: int
    definitions: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict, repr=False)


class COODashboard(_Dashboard):
    view = "coo"

    def get_operational_metrics(self) -> OperationalMetrics:
        d = self.data()
        sla, eff = d["sla"], d["efficiency"]
        services = [{**s, **{k: _d(s[k]) for k in ("sla_compliance", "availability", "sla_target", "requests",
                                                   "avg_response_time_ms") if isinstance(s.get(k), str)}}
                    for s in sla["services"]]
        return OperationalMetrics(
            sla_compliance=_d(sla["sla_compliance"]), sla_compliance_reason=sla.get("sla_compliance_reason"),
            operational_efficiency=_d(eff["operational_efficiency"]), operational_efficiency_reason=eff.get("reason"),
            services=services, idle_resources=len(d["idle_resources"]),
            collectors_failing=sum(c.get("status") != "ok" for c in d.get("collectors") or []),
            definitions={"sla_compliance": sla["definition"], "operational_efficiency": eff["definition"]}, data=d)


@dataclass
class ResourceUtilization:
    cpu_percent: Decimal | None
    memory_percent: Decimal | None
    storage_percent: Decimal | None
    gpu_percent: Decimal | None
    hosts: int
    clusters: dict[str, dict[str, Any]]
    not_collected: dict[str, str] = field(default_factory=dict)
    definition: str = ""
    data: dict[str, Any] = field(default_factory=dict, repr=False)


class InfrastructureLeaderDashboard(_Dashboard):
    view = "infrastructure"

    def get_resource_utilization(self) -> ResourceUtilization:
        d = self.data()
        u = d["utilization"]
        return ResourceUtilization(
            cpu_percent=_d(u["cpu_percent"]), memory_percent=_d(u["memory_percent"]),
            storage_percent=_d(u["storage_percent"]), gpu_percent=_d(u["gpu_percent"]),
            hosts=len(d["nodes"]), clusters=d["cluster_health"]["clusters"], not_collected=u["not_collected"],
            definition=u["definition"], data=d)


__all__ = ["CFODashboard", "COODashboard", "InfrastructureLeaderDashboard", "FinancialReport", "OperationalMetrics",
           "ResourceUtilization"]
