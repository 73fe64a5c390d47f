"""``GET /v1/export/focus``: FOCUS 1.2 CSV of stored records (read scope). Logic: cloudtally.importers.export."""

from __future__ import annotations

from chalice import Response

from chalicelib.http import params, route, service

from cloudtally.api.openapi import register_extra


def register(app) -> None:
    from cloudtally.importers.export import export_page, openapi_operation

    @route(app, "/v1/export/focus", "GET", "read")
    def export_focus():
        body, headers = export_page(service().store, params(app), today=service().clock.today())
        return Response(body=body, status_code=200, headers=headers)

    register_extra("/v1/export/focus", openapi_operation())
