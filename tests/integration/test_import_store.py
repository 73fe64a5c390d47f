"""Imports into DynamoDB Local: summary equals PROVENANCE, idempotent, period-scoped replace,
failed imports leave earlier data intact, import → export → import round trip."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cloudtally.errors import StoreError
from cloudtally.importers.apply import run_import
from cloudtally.importers.export import COLUMNS, write_focus_csv
from cloudtally.importers.sources import expand
from cloudtally.query import Query
from tests.conftest import SHARED
from tests.helpers import key_headers
from tests.unit.test_import_samples import COLUMN_TO_FOCUS, EXPECTED

pytestmark = pytest.mark.integration
BILLING = SHARED / "data" / "billing"
PERIOD = {  # the charge days each sample covers, [from, to)
    "focus-1.0/focus_sample.csv": (date(2024, 9, 1), date(2024, 10, 1)),
    "aws-cur/sample-anonymous-aws-export-dataset.csv": (date(2023, 11, 1), date(2023, 12, 1)),
    "azure-ea/sample-anonymous-ea-export-dataset.csv": (date(2023, 9, 1), date(2023, 10, 1)),
    "azure-ea/EA_ActualCost_Small.csv": (date(2023, 9, 1), date(2023, 10, 1)),
}


def billed_totals(store, name: str) -> dict:
    start, end = PERIOD[name]
    return store.summary(Query(start=start, end=end, granularity="total",
                               filters={"source": ("billed",)}))["totals"]


def imp(store, *paths: Path | str, **kw):
    return run_import(expand([str(p) for p in paths]), store=store, **kw)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_import_summary_equals_provenance_and_reimport_is_idempotent(store, api, keys, name):
    rep = imp(store, BILLING / name)
    assert rep.ok and rep.written == rep.records > 0 and rep.deleted == 0
    exp = EXPECTED[name]
    got = billed_totals(store, name)
    assert list(got) == [exp["currency"]]
    start, end = PERIOD[name]
    r = api.http.get(f"/v1/costs/summary?from={start}&to={end}&granularity=total&source=billed",
                     headers=key_headers(keys["read"]))
    assert r.status_code == 200, r.body
    via_api = json.loads(r.body)["totals"][exp["currency"]]
    for col, total in exp["columns"].items():
        for focus_col in COLUMN_TO_FOCUS[col]:
            assert got[exp["currency"]][focus_col] == Decimal(total), (col, focus_col)
            assert Decimal(via_api[focus_col]) == Decimal(total), (col, focus_col)   # the API summary too
    first = got
    rep2 = imp(store, BILLING / name)                    # import twice → same totals, nothing removed
    assert rep2.ok and rep2.deleted == 0
    assert billed_totals(store, name) == first


def test_round_trip_import_export_import(store, tmp_path):
    name = "focus-1.0/focus_sample.csv"
    imp(store, BILLING / name)
    before = billed_totals(store, name)
    out = tmp_path / "export.csv"
    start, end = PERIOD[name]
    with out.open("w", newline="") as f:
        n = write_focus_csv(store, Query(start=start, end=date(2024, 11, 1)), f)
    assert n == 1000
    header = out.read_text().split("\n", 1)[0].split(",")
    assert header[:len(COLUMNS)] == list(COLUMNS)
    # the exported file converts to the same totals, and importing it into the same store changes nothing
    dry = imp(None, out, dry_run=True)
    assert dry.totals["USD"] == {k: before["USD"][k] for k in dry.totals["USD"]}
    rep = imp(store, out)
    assert rep.ok and rep.deleted == 0
    assert billed_totals(store, name) == before


def test_corrected_export_replaces_the_period(store, tmp_path):
    src = BILLING / "azure-ea" / "EA_ActualCost_Small.csv"
    imp(store, src)
    lines = src.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    corrected = tmp_path / "corrected.csv"
    # the corrected export drops the reservation purchase and changes one amount
    body = [l for l in lines[1:] if ",Purchase," not in l]
    body[0] = body[0].replace(",0.00004,", ",0.00005,")
    assert len(body) == 10
    corrected.write_text(lines[0] + "".join(body), encoding="utf-8")
    dry = imp(None, corrected, dry_run=True)
    rep = imp(store, corrected)
    assert rep.ok and rep.deleted >= 1 and rep.replaced_periods
    got = billed_totals(store, "azure-ea/EA_ActualCost_Small.csv")["USD"]
    assert got["BilledCost"] == dry.totals["USD"]["BilledCost"] == Decimal("5.2950177867419368")
    assert got["records"] == dry.records


def test_other_sources_and_accounts_are_not_touched_by_a_replace(store, tmp_path):
    imp(store, BILLING / "azure-ea" / "sample-anonymous-ea-export-dataset.csv")       # CAD, account 12345678
    cad = billed_totals(store, "azure-ea/sample-anonymous-ea-export-dataset.csv")["CAD"]
    src = BILLING / "azure-ea" / "EA_ActualCost_Small.csv"
    imp(store, src)
    lines = src.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    part = tmp_path / "part.csv"
    part.write_text(lines[0] + lines[1], encoding="utf-8")
    imp(store, part)
    after = billed_totals(store, "azure-ea/sample-anonymous-ea-export-dataset.csv")
    assert after["CAD"] == cad and after["USD"]["BilledCost"] == Decimal("3.25")


def test_failed_import_leaves_earlier_data_intact(store, tmp_path):
    src = BILLING / "azure-ea" / "EA_ActualCost_Small.csv"
    imp(store, src)
    before = billed_totals(store, "azure-ea/EA_ActualCost_Small.csv")
    lines = src.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    # GIVEN a corrected export with fewer rows and one unparsable amount
    broken = tmp_path / "broken.csv"
    broken.write_text(lines[0] + lines[2].replace(",0.00004,", ",0.0000x4,") + lines[3], encoding="utf-8")
    rep = imp(store, broken)
    # THEN nothing of it is imported, nothing earlier is removed, and the report says why
    assert not rep.ok and rep.written == 0 and rep.deleted == 0
    assert rep.not_imported[0]["file"].endswith("broken.csv")
    assert rep.rejected[0]["row"] == 1 and rep.rejected[0]["column"] == "Cost"
    assert billed_totals(store, "azure-ea/EA_ActualCost_Small.csv") == before
    # AND a store failure in the second part of a run writes and deletes nothing either (all or nothing)
    ok_part = tmp_path / "a.csv"
    ok_part.write_text(lines[0] + lines[1], encoding="utf-8")
    other = tmp_path / "b.csv"
    other.write_text(lines[0] + lines[4], encoding="utf-8")
    real = store.stage_records
    calls = []

    def flaky(import_id, records, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise StoreError("throttled")
        return real(import_id, records, **kw)

    store.stage_records = flaky
    rep = imp(store, ok_part, other)
    store.stage_records = real
    assert not rep.ok and rep.written == 0 and rep.deleted == 0 and "intact" in " ".join(rep.warnings)
    assert billed_totals(store, "azure-ea/EA_ActualCost_Small.csv") == before


def test_cli_import_and_export(store, settings, tmp_path, monkeypatch, capsys):
    from cloudtally.cli import main
    monkeypatch.setenv("CLOUDTALLY_TABLE", settings.table)
    monkeypatch.setenv("CLOUDTALLY_DYNAMODB_ENDPOINT", settings.dynamodb_endpoint)
    from cloudtally import config
    if hasattr(config.settings, "cache_clear"):
        config.settings.cache_clear()
    try:
        src = BILLING / "azure-ea" / "sample-anonymous-ea-export-dataset.csv"
        assert main(["import", str(src), "--json", "--no-progress"]) == 0
        doc = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert doc["written"] == 27 and doc["totals"]["CAD"]["BilledCost"] == "1.26136926505726"
        out = tmp_path / "x.csv"
        assert main(["export", "focus", "--from", "2023-09-01", "--to", "2023-10-01", "--currency", "CAD",
                     "-o", str(out)]) == 0
        assert out.read_text().count("\n") == 28
    finally:
        if hasattr(config.settings, "cache_clear"):
            config.settings.cache_clear()


def test_a_period_replace_keeps_the_collectors_estimates_and_flips_the_period_at_once(store):
    """A billed import replaces the period's billed rows only (the collector's own estimates stay, superseded);
    readers see the old totals until the commit's one flip, then the new ones."""
    from cloudtally.focus import parse_record
    from cloudtally.query import parse_query
    from tests.helpers import rec

    def r(day: int, cost: str, src: str, rid: str):
        return parse_record(rec(ResourceId=rid, BilledCost=cost, x_CostSource=src, x_Collector="atlas",
                                ChargePeriodStart=f"2024-09-{day:02d}T00:00:00Z",
                                ChargePeriodEnd=f"2024-09-{day + 1:02d}T00:00:00Z"))

    def billed_total():
        q = parse_query({"from": "2024-09-01", "to": "2024-10-01", "granularity": "total", "source": "billed"})
        return store.summary(q)["totals"]["USD"]["BilledCost"]

    store.write_records([r(1, "5", "estimated", "c1"), r(2, "5", "estimated", "c1")])
    first = store.create_import("atlas")["import_id"]
    store.stage_records(first, [r(1, "10", "billed", "c1"), r(2, "11", "billed", "c1")])
    assert store.commit_import(first)["state"] == "committed"
    assert billed_total() == Decimal("21")
    # the revised invoice: day 2's line withdrawn, day 1 lower
    second = store.create_import("atlas")["import_id"]
    store.stage_records(second, [r(1, "9", "billed", "c1")])
    store.commit_import(second, budget_s=0)          # one day per call: the commit is half done
    assert store.get_import(second)["state"] == "committing"
    assert billed_total() == Decimal("21")           # readers keep the old period until the flip
    assert store.commit_import(second)["state"] == "committed"
    assert billed_total() == Decimal("9")
    recs = store.list_records(parse_query({"from": "2024-09-01", "to": "2024-09-03", "source": "estimated"}),
                              limit=100)["records"]
    assert len(recs) == 2                             # the estimates were not in the billed import's scope
