"""A FOCUS export holds exactly what the totals count (issue 12, item 4).

On the demo estate (billed records supersede that day's estimates), ``GET /v1/export/focus`` sums to
``GET /v1/costs/summary`` for the same range and filters; superseded estimates come only with
``include_superseded=true``, marked ``x_Superseded=true``, and sum to the summary's
``superseded_estimates``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from cloudtally.demo import demo_records
from cloudtally.money import dsum
from tests.helpers import key_headers

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)   # the demo's last closed day is Nov 19; Nov 18-19 are estimated only
RANGE = "from=2026-11-01&to=2026-11-20"


@pytest.fixture
def demo_store(store):
    store.write_records(demo_records(NOW, days=30))
    return store


def _csv(api, keys, query: str) -> list[dict[str, str]]:
    r = api.http.get(f"/v1/export/focus?{query}", headers=key_headers(keys["read"]))
    assert r.status_code == 200, r.body
    return list(csv.DictReader(io.StringIO(r.body.decode())))


def _summary(api, keys, query: str) -> dict:
    r = api.http.get(f"/v1/costs/summary?{query}&granularity=total", headers=key_headers(keys["read"]))
    assert r.status_code == 200, r.body
    return json.loads(r.body)


def _sum(rows, col: str) -> Decimal:
    return dsum(Decimal(x[col]) for x in rows)


@pytest.mark.parametrize("filters", ["", "&provider=AWS", "&source=estimated", "&tag=team=web",
                                     "&service=Storage,BigQuery&account=ea-8842,01AB23-CD45EF-678901"])
def test_export_sums_equal_the_summary(demo_store, api, keys, filters):
    rows = _csv(api, keys, RANGE + filters)
    summary = _summary(api, keys, RANGE + filters)
    tot = summary["totals"].get("USD", {"BilledCost": "0", "EffectiveCost": "0", "ListCost": "0",
                                        "ContractedCost": "0", "records": 0})
    assert rows or filters
    for col in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
        assert _sum(rows, col) == Decimal(tot[col]), col
    assert len(rows) == tot["records"]
    assert {x["x_Superseded"] for x in rows} <= {"false"}


def test_superseded_estimates_only_on_request(demo_store, api, keys):
    default = _csv(api, keys, RANGE)
    full = _csv(api, keys, RANGE + "&include_superseded=true")
    marked = [x for x in full if x["x_Superseded"] == "true"]
    kept = [x for x in full if x["x_Superseded"] == "false"]
    summary = _summary(api, keys, RANGE)
    # the estimates of the billed days (Nov 1-17), one per resource and day; the last two days stay in
    assert len(marked) == 54 * 17 and {x["x_CostSource"] for x in marked} == {"estimated"}
    assert {x["ChargePeriodStart"][:10] for x in marked} == {f"2026-11-{d:02d}" for d in range(1, 18)}
    assert sorted(kept, key=lambda x: x["x_LineKey"] + x["ChargePeriodStart"] + x["ResourceId"] + x["x_CostSource"]) \
        == sorted(default, key=lambda x: x["x_LineKey"] + x["ChargePeriodStart"] + x["ResourceId"] + x["x_CostSource"])
    assert _sum(marked, "EffectiveCost") == Decimal(summary["superseded_estimates"]["USD"]["EffectiveCost"])
    assert _sum(full, "BilledCost") > _sum(default, "BilledCost") == Decimal(summary["totals"]["USD"]["BilledCost"])
    # the parameter is checked and documented
    r = api.http.get(f"/v1/export/focus?{RANGE}&include_superseded=yes", headers=key_headers(keys["read"]))
    assert r.status_code == 400 and json.loads(r.body)["error"]["details"][0]["field"] == "include_superseded"
    doc = json.loads(api.http.get("/v1/openapi.json").body)
    params = {p["name"]: p for p in doc["paths"]["/v1/export/focus"]["get"]["parameters"]}
    assert params["include_superseded"]["schema"]["enum"] == ["true", "false"]


def test_cli_export_matches_the_route(demo_store, tmp_path):
    """``cloudtally export focus`` writes the same default selection (the store, streamed day by day)."""
    from cloudtally.importers.export import export_page, write_focus_csv
    from cloudtally.query import parse_query
    out = io.StringIO()
    n = write_focus_csv(demo_store, parse_query({"from": "2026-11-01", "to": "2026-11-20"}), out)
    body, _ = export_page(demo_store, {"from": "2026-11-01", "to": "2026-11-20"})
    assert out.getvalue() == body and n == body.count("\n") - 1
    out2 = io.StringIO()
    n2 = write_focus_csv(demo_store, parse_query({"from": "2026-11-01", "to": "2026-11-20"}), out2,
                         include_superseded=True)
    assert n2 == n + 54 * 17
