"""OpenAPI objects of the operations outside the core (budgets, dashboard, collector state, imports)."""

from __future__ import annotations

from typing import Any

_SEC = {"security": [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}]}
_OBJ = {"content": {"application/json": {"schema": {"type": "object"}}}}


def _err(*codes: int) -> dict[str, Any]:
    names = {400: "invalid input; details name each field", 401: "missing or unknown key", 403: "key lacks the scope",
             404: "not found", 409: "conflict (already exists, or updated meanwhile)", 413: "body too large",
             415: "unsupported content type"}
    return {str(c): {"description": names[c], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for c in codes}


def _collect(fn) -> dict[str, dict[str, Any]]:
    ops: dict[str, dict[str, Any]] = {}

    def _put(path: str, spec: dict[str, Any]) -> None:
        for op in spec.values():
            ops[op["operationId"]] = op

    fn(_put)
    return ops


def budgets() -> dict[str, dict[str, Any]]:
    def build(_put):
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
        _put("/v1/budgets", {
            "post": {"operationId": "createBudget", "summary": "Create a budget (admin)", **sec, "requestBody": body_,
                     "responses": {"201": {"description": "created", **obj}, **{k: err[k] for k in ("400", "401", "403", "409")}}},
            "get": {"operationId": "listBudgets", "summary": "List budgets (admin)", **sec,
                    "responses": {"200": {"description": "budgets", **obj}, **{k: err[k] for k in ("401", "403")}}}})
        _put("/v1/budgets/status", {"get": {
            "operationId": "budgetStatus", "summary": "Spent, remaining, percentage used, status, forecast and "
                                                      "threshold states of every budget (read)", **sec,
            "parameters": [{"name": "budget_id", "in": "query", "required": False, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "status by budget id", **obj}, **{k: err[k] for k in ("400", "401", "403", "404")}}}})
        _put("/v1/budgets/{budget_id}", {
            "get": {"operationId": "getBudget", "summary": "A budget (admin)", **sec, "parameters": pid,
                    "responses": {"200": {"description": "budget", **obj}, **{k: err[k] for k in ("401", "403", "404")}}},
            "put": {"operationId": "updateBudget", "summary": "Replace a budget (admin)", **sec, "parameters": pid,
                    "requestBody": body_,
                    "responses": {"200": {"description": "budget", **obj}, **{k: err[k] for k in ("400", "401", "403", "404")}}},
            "delete": {"operationId": "deleteBudget", "summary": "Delete a budget (admin)", **sec, "parameters": pid,
                       "responses": {"200": {"description": "deleted", **obj}, **{k: err[k] for k in ("401", "403", "404")}}}})
        _put("/v1/anomalies", {"get": {
            "operationId": "listAnomalies", "summary": "Detected cost anomalies, newest first (read)", **sec,
            "parameters": [{"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                           {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
                           {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "expected"]}}],
            "responses": {"200": {"description": "anomalies", **obj}, **{k: err[k] for k in ("400", "401", "403")}}}})
        _put("/v1/anomalies/{anomaly_id}/expected", {"post": {
            "operationId": "markAnomalyExpected", "summary": "Mark an anomaly expected; repeats of its root cause "
                                                             "are suppressed for 28 days (admin)", **sec,
            "parameters": [{"name": "anomaly_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}],
            "responses": {"200": {"description": "the anomaly", **obj}, **{k: err[k] for k in ("401", "403", "404")}}}})


    return _collect(build)


def dashboard() -> dict[str, dict[str, Any]]:
    from ..dashboard_data import VIEW_PARAMS
    VIEWS = ("overview", "cfo", "coo", "infrastructure", "llm")

    def build(_put):
        parameters = [{"name": "view", "in": "path", "required": True, "schema": {"type": "string", "enum": list(VIEWS)}}]
        for name, schema in VIEW_PARAMS.items():
            p = {"name": name, "in": "query", "required": False, "schema": schema}
            if schema.get("type") == "array":
                p["style"], p["explode"] = "form", True
            parameters.append(p)
        err = {"$ref": "#/components/schemas/Error"}
        _put("/v1/dashboard/{view}", {"get": {
            "operationId": "dashboardView",
            "summary": "One dashboard page's data (overview, cfo, coo, infrastructure, llm) in a single call",
            "security": [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}],
            "parameters": parameters,
            "responses": {"200": {"description": "the view", "content": {"application/json": {"schema": {"type": "object"}}}},
                          **{str(c): {"description": d, "content": {"application/json": {"schema": err}}}
                             for c, d in ((400, "invalid filter or unknown view"), (401, "missing or unknown key"),
                                          (403, "key lacks the read scope"))}}}})

    return _collect(build)


def collector_state() -> dict[str, dict[str, Any]]:
    coll = {"name": "collector", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,38}[a-z0-9]$"}}
    imp = {"name": "import_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
    body = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    ok = {"description": "done", **_OBJ}
    return {
        "getCollectorStatus": {"summary": "Every scope's status, cursor and interval marks of one collector (ingest)",
                               **_SEC, "parameters": [coll], "responses": {"200": ok, **_err(400, 401, 403)}},
        "saveCollectorStatus": {"summary": "A run's scope updates: {updates: [{scope, status, records, errors, "
                                           "cursor, marks}], run_at}; marks merge, a missing cursor is kept (ingest)",
                                **_SEC, "parameters": [coll], "requestBody": body,
                                "responses": {"200": ok, **_err(400, 401, 403, 413, 415)}},
        "getCollectorState": {"summary": "Day ledgers of one scope with their generations (ingest)", **_SEC,
                              "parameters": [coll, {"name": "scope", "in": "query", "required": True,
                                                    "schema": {"type": "string", "maxLength": 512}},
                                             {"name": "key", "in": "query", "required": True, "style": "form",
                                              "explode": True, "schema": {"type": "array", "maxItems": 100,
                                                                          "items": {"type": "string", "maxLength": 128}}}],
                              "responses": {"200": ok, **_err(400, 401, 403)}},
        "putCollectorState": {"summary": "Write a ledger (or one part of a large one), conditional on "
                                         "expect_generation; 409 state_conflict when another run wrote it (ingest)",
                              **_SEC, "parameters": [coll], "requestBody": body,
                              "responses": {"200": ok, **_err(400, 401, 403, 409, 413, 415)}},
        "createImport": {"summary": "Start a period replace: records are staged, then committed in one visible "
                                    "step (ingest)", **_SEC, "requestBody": body,
                         "responses": {"201": {"description": "the import", **_OBJ}, **_err(400, 401, 403, 415)}},
        "getImport": {"summary": "An import's state, scopes and counts (ingest)", **_SEC, "parameters": [imp],
                      "responses": {"200": ok, **_err(401, 403, 404)}},
        "abortImport": {"summary": "Drop a staging import (ingest)", **_SEC, "parameters": [imp],
                        "responses": {"200": ok, **_err(401, 403, 404, 409)}},
        "stageImportRecords": {"summary": "Stage records (as POST /v1/records takes them); invalid ones are listed "
                                          "(ingest)", **_SEC, "parameters": [imp], "requestBody": body,
                               "responses": {"200": ok, **_err(400, 401, 403, 404, 409, 413, 415)}},
        "commitImport": {"summary": "Commit as many days as fit one call; repeat while state is committing. The "
                                    "periods' old records are replaced when state becomes committed (ingest)",
                         **_SEC, "parameters": [imp], "responses": {"200": ok, **_err(401, 403, 404, 409)}},
    }
