"""Budget and anomaly routes: CRUD ``/v1/budgets`` (admin), ``GET /v1/budgets/status`` (read),
``GET /v1/anomalies`` (read), ``POST /v1/anomalies/{id}/expected`` (admin). Logic: cloudtally.budgets."""

from __future__ import annotations

from chalicelib.http import ok, params, route, service

from cloudtally.api import body
from cloudtally.api.openapi import register_extra


def _svc():
    return service().budgets()


def _doc(app):
    req = app.current_request
    return body.parse_json(body.decode_body(req.raw_body, req.headers, 64 * 1024))


def register(app) -> None:
    @route(app, "/v1/budgets", "POST", "admin")
    def create_budget():
        return ok(_svc().create(_doc(app)), 201)

    @route(app, "/v1/budgets", "GET", "admin")
    def list_budgets():
        return ok(_svc().list())

    @route(app, "/v1/budgets/status", "GET", "read")
    def budget_status():
        p = params(app)
        bid = p.pop("budget_id", None)
        if p:
            from cloudtally.errors import BadRequest
            raise BadRequest("invalid query parameters",
                             details=[{"field": k[:64], "message": "unknown parameter"} for k in p])
        return ok(_svc().status(budget_id=bid if isinstance(bid, str) and bid else None))

    @route(app, "/v1/budgets/{budget_id}", "GET", "admin")
    def get_budget(budget_id):
        return ok(_svc().get(budget_id))

    @route(app, "/v1/budgets/{budget_id}", "PUT", "admin")
    def update_budget(budget_id):
        return ok(_svc().update(budget_id, _doc(app)))

    @route(app, "/v1/budgets/{budget_id}", "DELETE", "admin")
    def delete_budget(budget_id):
        return ok(_svc().delete(budget_id))

    @route(app, "/v1/anomalies", "GET", "read")
    def list_anomalies():
        return ok(_svc().list_anomalies(params(app)))

    @route(app, "/v1/anomalies/{anomaly_id}/expected", "POST", "admin")
    def mark_anomaly_expected(anomaly_id):
        return ok(_svc().mark_expected(anomaly_id))


def _openapi() -> None:
    sec = {"security": [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}]}
    err = {str(c): {"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
           for c, d in ((400, "invalid input; details name each field"), (401, "missing or unknown key"),
                        (403, "key lacks the scope"), (404, "not found"), (409, "already exists"))}
    dec = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
    strs = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    budget = {"type": "object", "required": ["name", "amount"], "additionalProperties": False, "properties": {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "amount": {"oneOf": [dec, {"type": "number", "minimum": 0, "exclusiveMinimum": True}]},
        "currency": {"type": "string", "description": "ISO 4217; default USD"},
        "period": {"type": "string", "enum": ["monthly", "quarterly", "annual", "custom"]},
        "start": {"type": "string", "format": "date"}, "end": {"type": "string", "format": "date"},
        "scope": {"type": "object", "additionalProperties": False, "properties": {
            "provider": strs, "service": strs, "account": strs, "region": strs,
            "tags": {"type": "object", "additionalProperties": strs}}},
        "thresholds": {"type": "array", "maxItems": 20, "items": {"type": "object", "required": ["percentage"],
                       "properties": {"percentage": {"oneOf": [dec, {"type": "number", "minimum": 1, "maximum": 1000}]},
                                      "type": {"type": "string", "enum": ["actual", "forecast"]}}}},
        "metric": {"type": "string", "enum": ["EffectiveCost", "BilledCost", "ListCost", "ContractedCost"]}}}
    body_ = {"required": True, "content": {"application/json": {"schema": budget}}}
    obj = {"content": {"application/json": {"schema": {"type": "object"}}}}
    pid = [{"name": "budget_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}]
    register_extra("/v1/budgets", {
        "post": {"operationId": "createBudget", "summary": "Create a budget (admin)", **sec, "requestBody": body_,
                 "responses": {"201": {"description": "created", **obj}, **{k: err[k] for k in ("400", "401", "403", "409")}}},
        "get": {"operationId": "listBudgets", "summary": "List budgets (admin)", **sec,
                "responses": {"200": {"description": "budgets", **obj}, **{k: err[k] for k in ("401", "403")}}}})
    register_extra("/v1/budgets/status", {"get": {
        "operationId": "budgetStatus", "summary": "Spent, remaining, percentage used, status, forecast and "
                                                  "threshold states of every budget (read)", **sec,
        "parameters": [{"name": "budget_id", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "status by budget id", **obj}, **{k: err[k] for k in ("400", "401", "403", "404")}}}})
    register_extra("/v1/budgets/{budget_id}", {
        "get": {"operationId": "getBudget", "summary": "A budget (admin)", **sec, "parameters": pid,
                "responses": {"200": {"description": "budget", **obj}, **{k: err[k] for k in ("401", "403", "404")}}},
        "put": {"operationId": "updateBudget", "summary": "Replace a budget (admin)", **sec, "parameters": pid,
                "requestBody": body_,
                "responses": {"200": {"description": "budget", **obj}, **{k: err[k] for k in ("400", "401", "403", "404")}}},
        "delete": {"operationId": "deleteBudget", "summary": "Delete a budget (admin)", **sec, "parameters": pid,
                   "responses": {"200": {"description": "deleted", **obj}, **{k: err[k] for k in ("401", "403", "404")}}}})
    register_extra("/v1/anomalies", {"get": {
        "operationId": "listAnomalies", "summary": "Detected cost anomalies, newest first (read)", **sec,
        "parameters": [{"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                       {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
                       {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "expected"]}}],
        "responses": {"200": {"description": "anomalies", **obj}, **{k: err[k] for k in ("400", "401", "403")}}}})
    register_extra("/v1/anomalies/{anomaly_id}/expected", {"post": {
        "operationId": "markAnomalyExpected", "summary": "Mark an anomaly expected; repeats of its root cause "
                                                         "are suppressed for 28 days (admin)", **sec,
        "parameters": [{"name": "anomaly_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}],
        "responses": {"200": {"description": "the anomaly", **obj}, **{k: err[k] for k in ("401", "403", "404")}}}})


_openapi()
