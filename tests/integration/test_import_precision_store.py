"""An Azure export with .NET 28-decimal costs imports whole into DynamoDB Local and reads back exactly:
records, the summary's totals and the FOCUS export (issue 12, item 6)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from cloudtally.importers.apply import run_import
from cloudtally.importers.export import export_page
from cloudtally.importers.sources import expand
from cloudtally.money import CONTEXT, dsum
from cloudtally.query import Query
from tests.unit.test_import_precision import AZURE_28, BIG_38, _ea_with

pytestmark = pytest.mark.integration


def test_28_decimal_azure_costs_round_trip_through_dynamodb(store, tmp_path):
    p, costs = _ea_with(tmp_path, {3: AZURE_28, 2: "-12.5E-3", 1: BIG_38},
                        extra_rows=[(1, AZURE_28), (1, "0.0000000000000000000000000001")])
    rep = run_import(expand([str(p)]), store=store)
    assert rep.ok, (rep.rejected, rep.not_imported)
    want = dsum(Decimal(c) for c in costs)
    q = Query(start=date(2023, 9, 1), end=date(2023, 10, 1), granularity="total")
    tot = store.summary(q)["totals"]["USD"]
    purchase = Decimal(costs[0])    # row 0 buys a reservation: no EffectiveCost (FOCUS), all of it billed
    assert tot["BilledCost"] == want and tot["EffectiveCost"] == CONTEXT.subtract(want, purchase) and tot["records"] == 11
    # every record reads back with every digit: the 42-digit sum (beyond DynamoDB's 38) included
    listed = store.list_records(q, limit=1000)["records"]
    # (DynamoDB keeps a number's value, not its trailing zeros: 1.50 comes back as 1.5)
    amounts = {Decimal(x["BilledCost"]) for x in listed}
    assert Decimal(AZURE_28) in amounts and "1234567890123.1234567963046014381404335001" in {x["BilledCost"] for x in listed}
    rows = list(csv.DictReader(io.StringIO(export_page(store, {"from": "2023-09-01", "to": "2023-10-01"})[0])))
    assert dsum(Decimal(x["BilledCost"]) for x in rows) == want
    assert {x["BilledCost"] for x in rows} == {x["BilledCost"] for x in listed}
