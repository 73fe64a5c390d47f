"""The route table's handlers: parse the request, call one operation, shape the reply.

Operations live in their resource modules (:class:`~cloudtally.api.service.ApiService`,
:mod:`.collector_state`, :mod:`cloudtally.budgets`, :mod:`cloudtally.dashboard_data`,
:mod:`cloudtally.importers.export`); each handler is ``handler(svc, req)``.
"""

from __future__ import annotations

from typing import Any

from ..errors import BadRequest
from . import body, collector_state
from .routes import Reply, Request


def _doc(req: Request, limit: int = 64 * 1024) -> Any:
    return body.parse_json(body.decode_body(req.body, req.headers, limit))


def _no_params(req: Request, allowed: tuple[str, ...] = ()) -> dict[str, Any]:
    p = dict(req.query)
    unknown = [k for k in p if k not in allowed]
    if unknown:
        raise BadRequest("invalid query parameters",
                         details=[{"field": k[:64], "message": "unknown parameter"} for k in unknown])
    return p


# ---------------------------------------------------------------------------------------------- meta
def health(svc: Any, req: Request) -> Any:
    return {"status": "healthy"}


def openapi(svc: Any, req: Request) -> Any:
    from .openapi import document
    return document()


# ---------------------------------------------------------------------------------------------- records, costs
def ingest_records(svc: Any, req: Request) -> Any:
    return svc.ingest(req.body, req.headers)


def list_records(svc: Any, req: Request) -> Any:
    return svc.records(req.query)


def cost_summary(svc: Any, req: Request) -> Any:
    return svc.summary(req.query)


def top_resources(svc: Any, req: Request) -> Any:
    return svc.top_resources(req.query)


def metrics(svc: Any, req: Request) -> Any:
    return svc.metrics(req.query)


def export_focus(svc: Any, req: Request) -> Reply:
    from ..importers.export import export_page
    text, headers = export_page(svc.store, dict(req.query), today=svc.clock.today())
    return Reply(text, headers=headers, raw=True)


def dashboard_view(svc: Any, req: Request) -> Any:
    return svc.dashboard(req.params["view"], req.query)


# ---------------------------------------------------------------------------------------------- collectors
def collectors(svc: Any, req: Request) -> Any:
    _no_params(req)
    return svc.collectors()


def get_collector_status(svc: Any, req: Request) -> Any:
    _no_params(req)
    return collector_state.get_status(svc, req.params["collector"])


def save_collector_status(svc: Any, req: Request) -> Any:
    return collector_state.save_status(svc, req.params["collector"], req.body, req.headers)


def get_collector_state(svc: Any, req: Request) -> Any:
    return collector_state.get_state(svc, req.params["collector"], req.query)


def put_collector_state(svc: Any, req: Request) -> Any:
    return collector_state.put_state(svc, req.params["collector"], req.body, req.headers)


def create_import(svc: Any, req: Request) -> Reply:
    return Reply(collector_state.create_import(svc, req.body, req.headers), 201)


def get_import(svc: Any, req: Request) -> Any:
    return svc.store.get_import(req.params["import_id"])


def abort_import(svc: Any, req: Request) -> Any:
    return svc.store.abort_import(req.params["import_id"])


def stage_import_records(svc: Any, req: Request) -> Any:
    return collector_state.stage_records(svc, req.params["import_id"], req.body, req.headers)


def commit_import(svc: Any, req: Request) -> Any:
    return collector_state.commit_import(svc, req.params["import_id"])


# ---------------------------------------------------------------------------------------------- keys
def list_keys(svc: Any, req: Request) -> Any:
    return {"keys": svc.keys.list()}


def create_key(svc: Any, req: Request) -> Reply:
    return Reply(svc.create_key(req.body, req.headers), 201)


def revoke_key(svc: Any, req: Request) -> Any:
    return svc.keys.revoke(req.params["key_id"])


# ---------------------------------------------------------------------------------------------- budgets
def _budgets(svc: Any) -> Any:
    return svc.budgets()


def create_budget(svc: Any, req: Request) -> Reply:
    return Reply(_budgets(svc).create(_doc(req)), 201)


def list_budgets(svc: Any, req: Request) -> Any:
    return _budgets(svc).list()


def budget_status(svc: Any, req: Request) -> Any:
    p = _no_params(req, ("budget_id",))
    bid = p.get("budget_id")
    return _budgets(svc).status(budget_id=bid if isinstance(bid, str) and bid else None)


def get_budget(svc: Any, req: Request) -> Any:
    return _budgets(svc).get(req.params["budget_id"])


def update_budget(svc: Any, req: Request) -> Any:
    return _budgets(svc).update(req.params["budget_id"], _doc(req))


def delete_budget(svc: Any, req: Request) -> Any:
    return _budgets(svc).delete(req.params["budget_id"])


def list_anomalies(svc: Any, req: Request) -> Any:
    return _budgets(svc).list_anomalies(req.query)


def mark_anomaly_expected(svc: Any, req: Request) -> Any:
    return _budgets(svc).mark_expected(req.params["anomaly_id"])


# ---------------------------------------------------------------------------------------------- agents
def register_agent(svc: Any, req: Request) -> Any:
    return svc.register_agent(req.body, req.headers)


def telemetry_ingest(svc: Any, req: Request) -> Any:
    return svc.telemetry(req.body, req.headers)
