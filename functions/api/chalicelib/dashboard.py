"""``GET /v1/dashboard/{view}``: everything one dashboard page shows, in one call (read scope)."""

from __future__ import annotations

from cloudtally.api.openapi import register_extra

from .http import ok, params, route, service

VIEWS = ("overview", "cfo", "coo", "infrastructure")


def register(app) -> None:
    from cloudtally.dashboard_data import VIEW_PARAMS

    @route(app, "/v1/dashboard/{view}", "GET", "read")
    def dashboard_view(view):
        return ok(service().dashboard(view, params(app)))

    parameters = [{"name": "view", "in": "path", "required": True, "schema": {"type": "string", "enum": list(VIEWS)}}]
    for name, schema in VIEW_PARAMS.items():
        p = {"name": name, "in": "query", "required": False, "schema": schema}
        if schema.get("type") == "array":
            p["style"], p["explode"] = "form", True
        parameters.append(p)
    err = {"$ref": "#/components/schemas/Error"}
    register_extra("/v1/dashboard/{view}", {"get": {
        "operationId": "dashboardView",
        "summary": "One dashboard page's data (overview, cfo, coo, infrastructure) in a single call",
        "security": [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}],
        "parameters": parameters,
        "responses": {"200": {"description": "the view", "content": {"application/json": {"schema": {"type": "object"}}}},
                      **{str(c): {"description": d, "content": {"application/json": {"schema": err}}}
                         for c, d in ((400, "invalid filter or unknown view"), (401, "missing or unknown key"),
                                      (403, "key lacks the read scope"))}}}})
