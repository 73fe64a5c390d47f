"""Imports are exact for every value a provider emits (issue 12, item 6).

Azure EA/MCA exports carry .NET decimals with 28 fractional digits (``0.0000000072922557592391990000``):
such a file imports whole, its sums are exact, and so are values of 38 significant digits. A value
the narrow Decimal(38, 24) column cannot hold switches the file to the wide (two-limb) reading, from
its first rows or from anywhere further down.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from cloudtally.importers.engine import convert_file
from cloudtally.money import CONTEXT, dsum
from tests.conftest import SHARED

EA = SHARED / "data" / "billing" / "azure-ea" / "EA_ActualCost_Small.csv"
AZURE_28 = "0.0000000072922557592391990000"
BIG_38 = "1234567890123.1234567890123456789012345"     # 13 + 25 = 38 significant digits


def _ea_with(tmp_path: Path, costs: dict[int, str], *, copies: int = 1, quantity: dict[int, str] | None = None,
             extra_rows: list[tuple[int, str]] | None = None) -> tuple[Path, list[str]]:
    """EA_ActualCost_Small.csv with some Cost (and Quantity) values replaced, the body repeated
    ``copies`` times (later copies shifted to other days, so they stay separate records), and
    ``extra_rows`` (a copy of row i with another Cost: the same group, so summed into one record)."""
    text = EA.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    ci, qi, di = header.index("Cost"), header.index("Quantity"), header.index("Date")
    for i, v in costs.items():
        body[i][ci] = v
    for i, v in (quantity or {}).items():
        body[i][qi] = v
    out = []
    for k in range(copies):
        for r in body:
            r = list(r)
            if k:
                m, d, y = r[di].split("/")
                r[di] = f"{m}/{(int(d) + k) % 28 + 1:02d}/{y}"
            out.append(r)
    for i, cost in extra_rows or []:
        r = list(body[i])
        r[ci] = cost
        out.append(r)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(out)
    p = tmp_path / "ea.csv"
    p.write_text("\ufeff" + buf.getvalue(), encoding="utf-8")
    return p, [r[ci] for r in out]


def test_azure_28_decimal_costs_import_exactly(tmp_path):
    p, costs = _ea_with(tmp_path, {0: AZURE_28, 3: "-0.0000000000000000000000000001", 5: "3.2500000000000000000000000000"})
    conv = convert_file(p)
    assert conv.rejected_count == 0, conv.rejected
    assert conv.wide
    assert len(conv.records) == 11
    want = dsum(Decimal(c) for c in costs)
    assert conv.totals["USD"]["BilledCost"] == want
    assert want.as_tuple().exponent == -28
    assert Decimal(AZURE_28) in {r.BilledCost for r in conv.records}


def test_a_wide_value_far_down_the_file_is_found_too(tmp_path):
    """The first 200 rows look narrow; row 220 is not: the file is read again, wide, and loses nothing."""
    p, costs = _ea_with(tmp_path, {}, copies=21)
    text = p.read_text(encoding="utf-8-sig").splitlines()
    rows = list(csv.reader(text))
    ci = rows[0].index("Cost")
    rows[220][ci] = AZURE_28
    costs[219] = AZURE_28
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    p.write_text(buf.getvalue(), encoding="utf-8")
    conv = convert_file(p)
    assert conv.rejected_count == 0 and conv.wide
    assert conv.totals["USD"]["BilledCost"] == dsum(Decimal(c) for c in costs)


def test_38_significant_digits_and_large_quantities_sum_exactly(tmp_path):
    big_qty = "12345678901234567890123456789012345678"   # 38 integer digits (a count of bytes or requests)
    p, costs = _ea_with(tmp_path, {1: BIG_38, 2: "-12.5E-3", 4: "9.24E-6"}, quantity={1: big_qty},
                        extra_rows=[(1, AZURE_28), (1, "0.0000000000000000000000000001")])
    conv = convert_file(p)
    assert conv.rejected_count == 0, conv.rejected
    assert conv.totals["USD"]["BilledCost"] == dsum(Decimal(c) for c in costs)
    # rows 1 and the two extra rows share every text column: one record, summed exactly
    merged = [r for r in conv.records if r.BilledCost > 1000]
    assert len(merged) == 1
    assert str(merged[0].BilledCost) == "1234567890123.1234567963046014381404335001"   # 42 digits, every one kept
    assert merged[0].PricingQuantity == CONTEXT.multiply(Decimal(big_qty), Decimal(3))   # 3 rows of it, 38 digits


def test_values_beyond_the_wide_limbs_reject_their_row_naming_the_limits(tmp_path):
    p, _ = _ea_with(tmp_path, {2: "0." + "1" * 31, 4: "1" * 39})
    conv = convert_file(p)
    assert conv.rejected_count == 2
    assert {r["row"] for r in conv.rejected} == {3, 5}
    assert all("at most 38 integer digits and 30 decimal places" in r["message"] for r in conv.rejected)


@pytest.mark.parametrize("name", ["aws-cur/sample-anonymous-aws-export-dataset.csv", "focus-1.0/focus_sample.csv",
                                  "azure-ea/sample-anonymous-ea-export-dataset.csv", "azure-ea/EA_ActualCost_Small.csv"])
def test_wide_reading_gives_the_same_records_as_narrow(name):
    path = SHARED / "data" / "billing" / name
    narrow, wide = convert_file(path), convert_file(path, wide=True)
    assert not narrow.wide and wide.wide
    assert narrow.totals == wide.totals
    key = lambda r: r.id  # noqa: E731
    assert sorted(narrow.records, key=key) == sorted(wide.records, key=key)


def test_sums_of_accepted_amounts_are_exact():
    """CONTEXT holds the whole span parse_amount accepts: no sum of accepted amounts is rounded."""
    from cloudtally.money import parse_amount
    big, tiny = parse_amount("9" * 38), parse_amount("1." + "1" * 37 + "E-60")   # exponents 0 and -97
    total = dsum([big, tiny, big])
    assert total == CONTEXT.add(CONTEXT.multiply(big, 2), tiny) and CONTEXT.subtract(total, CONTEXT.multiply(big, 2)) == tiny
    assert len(total.as_tuple().digits) == 136


def test_store_codec_keeps_every_digit():
    """DynamoDB numbers hold 38 significant digits: longer amounts travel as their text, exactly."""
    from cloudtally.focus import parse_record
    from cloudtally.store import codec
    long = "1234567890123.1234567963046014381404335001"
    r = parse_record({"ProviderName": "Microsoft", "BillingAccountId": "1", "ChargePeriodStart": "2023-09-01",
                      "ChargePeriodEnd": "2023-09-02", "BilledCost": AZURE_28, "BillingCurrency": "USD",
                      "ListCost": "12345678901234567890123456789012345678", "PricingQuantity": "1.50"})
    r.EffectiveCost = Decimal(long)
    item = codec.to_item(r)
    assert item["bc"] == {"N": AZURE_28} and item["lc"] == {"N": "12345678901234567890123456789012345678"}
    assert item["ec"] == {"S": long}
    back = codec.from_item(item)
    assert (back.BilledCost, back.EffectiveCost, back.ListCost) == (Decimal(AZURE_28), Decimal(long), r.ListCost)
    assert str(back.EffectiveCost) == long
