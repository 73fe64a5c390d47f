"""Budget and anomaly operations of the API: the domain (:mod:`cloudtally.budgets`, :mod:`cloudtally.anomaly`)
over its repositories (:mod:`cloudtally.store.budgets_repo`). The domain modules import no store; the
repositories import the domain's models; this module wires the two."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Mapping

from ..budgets import FxTable, evaluate, parse_budget
from ..clock import SYSTEM, Clock, utc_now
from ..errors import ValidationError
from ..store.budgets_repo import AnomalyRepo, BudgetRepo


class BudgetService:
    """The budget and anomaly API operations over a store (the routes stay thin)."""

    def __init__(self, store, fx: FxTable | None = None, clock: Clock = SYSTEM):
        self.store = store
        self.clock = clock
        self.repo = BudgetRepo(store)
        self.anomalies = AnomalyRepo(store)
        self.fx = fx

    def create(self, doc: Any) -> dict[str, Any]:
        return self.repo.create(parse_budget(doc)).to_dict()

    def update(self, budget_id: str, doc: Any) -> dict[str, Any]:
        if isinstance(doc, Mapping) and doc.get("id") not in (None, budget_id):
            raise ValidationError("invalid budget", details=[{"field": "id", "message": "differs from the path"}])
        return self.repo.update(parse_budget(doc, budget_id=budget_id)).to_dict()

    def get(self, budget_id: str) -> dict[str, Any]:
        return self.repo.get(budget_id).to_dict()

    def list(self) -> dict[str, Any]:
        return {"budgets": [b.to_dict() for b in self.repo.list()]}

    def delete(self, budget_id: str) -> dict[str, Any]:
        self.repo.delete(budget_id)
        return {"deleted": budget_id}

    def status(self, now: datetime | None = None, budget_id: str | None = None) -> dict[str, Any]:
        """``{"budgets": {<id>: status}}``: the OpenFinOps ``get_budget_status()`` shape, keyed by id."""
        bs = [self.repo.get(budget_id)] if budget_id else self.repo.list()
        now = utc_now(now, self.clock)
        return {"budgets": {b.id: evaluate(b, self.store, now, self.fx) for b in bs}}

    def list_anomalies(self, params: Mapping[str, Any], today: date | None = None) -> dict[str, Any]:
        errs = []
        unknown = [k for k in params if k not in ("from", "to", "status")]
        errs += [{"field": k[:64], "message": "unknown parameter"} for k in unknown]
        today = today or self.clock.today()
        try:
            end = date.fromisoformat(params["to"]) if params.get("to") else today + timedelta(days=1)
            start = date.fromisoformat(params["from"]) if params.get("from") else end - timedelta(days=30)
        except (TypeError, ValueError):
            errs.append({"field": "from/to", "message": "expected days YYYY-MM-DD"})
            start = end = today
        if not errs and not 0 < (end - start).days <= 400:
            errs.append({"field": "to", "message": "must be after 'from', at most 400 days"})
        status = params.get("status") or None
        if status not in (None, "open", "expected"):
            errs.append({"field": "status", "message": "open or expected"})
        if errs:
            raise ValidationError("invalid query parameters", details=errs)
        return {"from": start.isoformat(), "to": end.isoformat(),
                "anomalies": self.anomalies.list(start, end, status=status)}

    def mark_expected(self, anomaly_id: str) -> dict[str, Any]:
        return self.anomalies.mark_expected(anomaly_id)
