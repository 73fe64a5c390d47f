"""Bad input names the file, the row and the column; rejected rows are never half-imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudtally.cli import main
from cloudtally.errors import ValidationError
from cloudtally.importers.engine import convert_file

HEADER = "ProviderName,BillingAccountId,ChargePeriodStart,ChargePeriodEnd,BilledCost,BillingCurrency,ServiceName,ChargeCategory\n"
GOOD = "AWS,111,2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,1.25,USD,EC2,Usage\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def cli_json(capsys, *args: str) -> tuple[int, dict, str]:
    code = main(list(args) + ["--json", "--no-progress"])
    cap = capsys.readouterr()
    return code, json.loads(cap.out.strip().splitlines()[-1]), cap.err


def test_unknown_format_names_file_and_header_row(tmp_path, capsys):
    p = write(tmp_path, "mystery.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(ValidationError) as ei:
        convert_file(p)
    assert "mystery.csv" in ei.value.message and "unknown billing export format" in ei.value.message
    assert ei.value.details[0]["row"] == 0
    code, doc, err = cli_json(capsys, "import", str(p), "--dry-run")
    assert code == 2 and not doc["ok"] and "mystery.csv" in err
    assert doc["not_imported"][0]["file"].endswith("mystery.csv")


def test_missing_required_column_names_file_row_and_column(tmp_path):
    p = write(tmp_path, "cur.csv", "lineItem/UnblendedCost,lineItem/UsageStartDate\n1,2024-01-01T00:00:00Z\n")
    with pytest.raises(ValidationError) as ei:
        convert_file(p, "aws-cur")
    cols = {d["column"] for d in ei.value.details}
    assert "lineItem/UsageEndDate" in cols and "bill/PayerAccountId" in cols
    assert all(d["row"] == 0 and d["file"].endswith("cur.csv") for d in ei.value.details)


def test_unparsable_amount_is_rejected_with_file_row_column(tmp_path, capsys):
    bad = GOOD.replace("1.25", "12,5x")
    p = write(tmp_path, "f.csv", HEADER + GOOD + GOOD.replace("01:00", "02:00") + '"AWS",111,2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,"1.2.3",USD,EC2,Usage\n')
    conv = convert_file(p)
    assert conv.rejected_count == 1
    rej = conv.rejected[0]
    assert rej["row"] == 3 and rej["column"] == "BilledCost" and rej["value"] == "1.2.3"
    assert rej["file"].endswith("f.csv") and "decimal" in rej["message"]
    code, doc, err = cli_json(capsys, "import", str(p), "--dry-run")
    assert code == 2 and not doc["ok"] and doc["rejected"][0]["row"] == 3
    assert "row 3, column BilledCost" in err
    del bad


@pytest.mark.parametrize("line,column,fragment", [
    ("AWS,111,2024-13-45T00:00:00Z,2024-09-01T01:00:00Z,1,USD,EC2,Usage\n", "ChargePeriodStart", "timestamp"),
    ("AWS,111,2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,1,XXX,EC2,Usage\n", "BillingCurrency", "ISO 4217"),
    ("AWS,111,2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,1,USD,EC2,Bogus\n", "ChargeCategory", "one of"),
    ("AWS,,2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,1,USD,EC2,Usage\n", "BillingAccountId", "required"),
    ("AWS,111,2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,NULL,USD,EC2,Usage\n", "BilledCost", "required"),
    ("AWS,111,2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,NaN,USD,EC2,Usage\n", "BilledCost", "decimal"),
    ("AWS,111,2024-09-01T00:00:00Z,2024-09-01T01:00:00Z,1e999,USD,EC2,Usage\n", "BilledCost", "decimal"),
])
def test_each_bad_value_is_named(tmp_path, line, column, fragment):
    conv = convert_file(write(tmp_path, "x.csv", HEADER + GOOD + line))
    assert conv.rejected_count == 1, conv.rejected
    assert conv.rejected[0]["row"] == 2 and conv.rejected[0]["column"] == column
    assert fragment in conv.rejected[0]["message"]


def test_more_digits_than_exact_scale_is_rejected_not_rounded(tmp_path):
    v = "0." + "1" * 31   # beyond the 30 decimals of the wide reading
    conv = convert_file(write(tmp_path, "x.csv", HEADER + GOOD.replace("1.25", v)))
    assert conv.rejected_count == 1 and conv.records == []


def test_unreadable_file_names_it(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x01garbage\x00")
    with pytest.raises(ValidationError) as ei:
        convert_file(p)
    assert "bin.csv" in ei.value.message


def test_missing_path(capsys, tmp_path):
    code, doc, err = cli_json(capsys, "import", str(tmp_path / "nope.csv"), "--dry-run")
    assert code == 2 and "nope.csv" in err and not doc["ok"]


def test_unparsable_tags_are_rejected_with_row_and_column(tmp_path):
    header = HEADER.strip() + ",Tags\n"
    good = GOOD.strip() + ',"{""team"": ""a""}"\n'
    bad = GOOD.strip().replace("01:00", "02:00") + ',"{not json"\n'
    conv = convert_file(write(tmp_path, "t.csv", header + good + bad))
    assert conv.rejected_count == 1
    assert conv.rejected[0]["row"] == 2 and conv.rejected[0]["column"] == "Tags"
    assert [r.Tags for r in conv.records] == [{"team": "a"}]
