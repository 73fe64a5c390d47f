"""``GET /v1/export/focus`` over the Chalice app: read scope, FOCUS columns, filters, paging, errors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cloudtally.focus import MANDATORY_COLUMNS
from cloudtally.importers.apply import run_import
from cloudtally.importers.export import NEXT_HEADER
from cloudtally.importers.sources import expand
from tests.conftest import SHARED
from tests.helpers import key_headers

pytestmark = pytest.mark.integration
SRC = SHARED / "data" / "billing" / "azure-ea" / "sample-anonymous-ea-export-dataset.csv"
NULLABLE = {"ChargeClass", "PricingQuantity", "PricingUnit", "BillingAccountName", "ChargeDescription"}


def test_export_focus_route(api, store, keys):
    assert run_import(expand([str(SRC)]), store=store).ok
    r = api.http.get("/v1/export/focus?from=2023-09-01&to=2023-10-01&currency=CAD", headers=key_headers(keys["read"]))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.body.decode())))
    assert len(rows) == 27
    for c in MANDATORY_COLUMNS:
        assert c in rows[0]
        if c not in NULLABLE:
            assert all(row[c] for row in rows), c
    from decimal import Decimal
    from cloudtally.money import dsum
    assert dsum(Decimal(x["BilledCost"]) for x in rows) == Decimal("1.26136926505726")
    assert {x["x_CostSource"] for x in rows} == {"billed"}
    # filters: another currency → header only
    r = api.http.get("/v1/export/focus?from=2023-09-01&to=2023-10-01&currency=USD", headers=key_headers(keys["read"]))
    assert r.status_code == 200 and r.body.decode().count("\n") == 1
    # no key → 401; a bad parameter → 400 in the error format
    assert api.http.get("/v1/export/focus?from=2023-09-01&to=2023-10-01").status_code == 401
    r = api.http.get("/v1/export/focus?from=2023-09-01&to=2023-10-01&bogus=1", headers=key_headers(keys["read"]))
    assert r.status_code == 400 and json.loads(r.body)["error"]["details"][0]["field"] == "bogus"
    r = api.http.get("/v1/export/focus?from=2023-10-01&to=2023-09-01", headers=key_headers(keys["read"]))
    assert r.status_code == 400
    doc = json.loads(api.http.get("/v1/openapi.json").body)
    assert "/v1/export/focus" in doc["paths"]


def test_export_pages_at_day_boundaries(store):
    from cloudtally.importers.export import export_page
    assert run_import(expand([str(SHARED / "data" / "billing" / "azure-ea" / "EA_ActualCost_Small.csv")]),
                      store=store).ok
    body, headers = export_page(store, {"from": "2023-09-01", "to": "2023-10-01"}, max_bytes=3000)
    assert NEXT_HEADER in headers
    first = list(csv.DictReader(io.StringIO(body)))
    seen = len(first)
    while NEXT_HEADER in headers:
        body, headers = export_page(store, {"from": headers[NEXT_HEADER], "to": "2023-10-01"}, max_bytes=3000)
        seen += len(list(csv.DictReader(io.StringIO(body))))
    assert seen == 11
