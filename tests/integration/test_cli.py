"""The `cloudtally` command: keys, ingest (JSON, NDJSON, FOCUS CSV) and summary, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from cloudtally import cli
from tests.helpers import rec


@pytest.fixture
def env(monkeypatch, live_api):
    cfg = live_api["settings"]
    monkeypatch.setenv("CLOUDTALLY_TABLE", cfg.table)
    monkeypatch.setenv("CLOUDTALLY_DYNAMODB_ENDPOINT", cfg.dynamodb_endpoint)
    monkeypatch.setenv("CLOUDTALLY_API_URL", live_api["url"])
    return live_api


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_create_list_revoke(env, capsys):
    code, out, _ = _run(capsys, "keys", "create", "--name", "cli-test", "--scopes", "read,ingest", "--json")
    assert code == 0
    key = json.loads(out)
    assert key["scopes"] == ["ingest", "read"] and key["secret"].startswith("cts_")
    code, out, _ = _run(capsys, "keys", "list")
    assert key["id"] in out and key["secret"] not in out and "active" in out
    assert _run(capsys, "keys", "revoke", key["id"])[0] == 0
    assert f"{key['id']}" in _run(capsys, "keys", "list")[1] and "revoked" in _run(capsys, "keys", "list")[1]
    code, _, err = _run(capsys, "keys", "create", "--name", "x", "--scopes", "root")
    assert code == 2 and "invalid key" in err


def test_ingest_json_ndjson_and_focus_csv_then_summary(env, capsys, tmp_path, monkeypatch):
    k = env["keys"]["ingest"]
    monkeypatch.setenv("CLOUDTALLY_API_KEY_ID", k["id"])
    monkeypatch.setenv("CLOUDTALLY_API_KEY_SECRET", k["secret"])
    day = "2023-03-0{}T00:00:00Z"
    (tmp_path / "a.json").write_text(json.dumps([rec(ResourceId="j", BilledCost="1.10",
                                                     ChargePeriodStart=day.format(1), ChargePeriodEnd=day.format(2))]))
    (tmp_path / "b.ndjson").write_text(json.dumps(rec(ResourceId="n", BilledCost="2.20", ChargePeriodStart=day.format(1),
                                                      ChargePeriodEnd=day.format(2))) + "\n")
    (tmp_path / "c.csv").write_text(
        "ProviderName,BillingAccountId,ChargePeriodStart,ChargePeriodEnd,BilledCost,BillingCurrency,ServiceName,ChargeClass,Tags\n"
        f"Microsoft,sub-1,{day.format(1)},{day.format(2)},3.30,USD,Storage,NULL,\"{{\"\"team\"\": \"\"a\"\"}}\"\n")
    code, out, err = _run(capsys, "ingest", str(tmp_path / "a.json"), str(tmp_path / "b.ndjson"), str(tmp_path / "c.csv"))
    assert code == 0, err
    assert json.loads(out) == {"accepted": 3, "rejected": 0}
    r = env["keys"]["read"]
    monkeypatch.setenv("CLOUDTALLY_API_KEY_ID", r["id"])
    monkeypatch.setenv("CLOUDTALLY_API_KEY_SECRET", r["secret"])
    code, out, _ = _run(capsys, "summary", "--from", "2023-03-01", "--to", "2023-03-02", "--group-by", "provider", "--json")
    assert code == 0
    s = json.loads(out)
    assert Decimal(s["totals"]["USD"]["BilledCost"]) == Decimal("6.60")
    assert {x["group"]["provider"]: Decimal(x["BilledCost"]) for x in s["results"]} == {
        "AWS": Decimal("3.30"), "Microsoft": Decimal("3.30")}
    code, out, _ = _run(capsys, "summary", "--from", "2023-03-01", "--to", "2023-03-02", "--direct")
    assert "Total USD" in out and "6.6" in out


def test_ingest_reports_rejected_records_and_exits_1(env, capsys, tmp_path, monkeypatch):
    k = env["keys"]["ingest"]
    monkeypatch.setenv("CLOUDTALLY_API_KEY_ID", k["id"])
    monkeypatch.setenv("CLOUDTALLY_API_KEY_SECRET", k["secret"])
    (tmp_path / "bad.json").write_text(json.dumps([rec(ResourceId="ok", ChargePeriodStart="2023-04-01",
                                                       ChargePeriodEnd="2023-04-02"), rec(BilledCost="x")]))
    code, out, err = _run(capsys, "ingest", str(tmp_path / "bad.json"))
    assert code == 1 and json.loads(out) == {"accepted": 1, "rejected": 1}
    assert "record 1" in err and "BilledCost" in err


def test_every_command_has_help():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "cloudtally.cli", "--help"], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0
    for cmd in ("keys", "ingest", "summary", "serve", "import", "export", "collect", "agent", "alerts", "budgets"):
        assert cmd in out.stdout, cmd
        sub = subprocess.run([sys.executable, "-m", "cloudtally.cli", cmd, "--help"], capture_output=True, text=True)
        assert sub.returncode == 0 and "usage:" in sub.stdout, (cmd, sub.stderr[-500:])
