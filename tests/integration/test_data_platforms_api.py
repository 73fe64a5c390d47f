"""Both data-platform collectors through the API (records, status and ledgers over HTTP, as a scheduled
function runs them), against the emulated sources: a revoked grant shows in GET /v1/collectors for that scope
only, a re-run sends nothing and leaves totals identical, and the hub's queries answer from what landed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cloudtally.api import routes
from cloudtally.api.service import ApiService
from cloudtally.client import Client
from cloudtally.clock import Clock
from cloudtally.collectors import registry, runner
from cloudtally.collectors.api_state import ApiStatus
from cloudtally.collectors.secrets import Secrets
from cloudtally.hub import ObservabilityHub
from tests.helpers import load_module

dbx = load_module("tests/fixtures/databricks/fake.py", "dbx_fake_api")
emu = load_module("tests/fixtures/snowflake/emulator.py", "sf_emulator_api")
NOW = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)


def _run(name, client, config, env, now=NOW):
    spec = registry.get(name)
    return runner.run(spec, sink=runner.ClientSink(client, agent_id=f"collector-{name}"), status=ApiStatus(client),
                      now=now, config=config, secrets=Secrets(spec.all_secrets, env=env))


def _read(http_api):
    k = http_api["keys"]["read"]
    return Client(http_api["url"], k["id"], k["secret"])


def _route(svc, path, **query):
    (r,) = [r for r in routes.ROUTES if r.path == path]
    return routes.call(r, svc, routes.Request("GET", path, query=query)).body


@pytest.fixture
def workspace():
    srv, ws = dbx.serve()
    yield srv, ws
    srv.shutdown()


@pytest.fixture
def api_at_now(monkeypatch):
    """The API process at NOW, the clock the collectors run at: the metric points they stamp are inside its
    retention on any date (at the system clock, a month after NOW it would drop them as expired)."""
    monkeypatch.setenv("CLOUDTALLY_NOW", NOW.isoformat().replace("+00:00", "Z"))


def test_data_platforms_through_the_api(api_at_now, http_api, workspace):
    client, read = http_api["client"], _read(http_api)
    srv, ws = workspace
    dcfg = {"host": dbx.url(srv), "warehouse_id": "wh-1", "workspace_id": "1234567890123456"}
    denv = {"DATABRICKS_TOKEN": ws.token}
    first = _run("databricks", client, dcfg, denv)
    assert first["status"] == "ok" and first["records_sent"] > 0
    before = read.summary(**{"from": "2026-11-28", "to": "2026-12-02", "provider": "Databricks", "group_by": "source"})
    # a re-run sends nothing new and leaves the totals identical (same instant: today's running estimate, which
    # grows with the clock, is unchanged too)
    again = _run("databricks", client, dcfg, denv)
    assert again["records_sent"] == 0
    assert read.summary(**{"from": "2026-11-28", "to": "2026-12-02", "provider": "Databricks",
                           "group_by": "source"})["totals"] == before["totals"]

    key = replay_key()
    with emu.emulate() as sf:
        sf.revoke("QUERY_ATTRIBUTION_HISTORY")
        scfg, senv = {"account": "xy12345.us-east-1", "user": "CLOUDTALLY_SVC"}, {"SNOWFLAKE_PRIVATE_KEY": key}
        failed = _run("snowflake", client, scfg, senv)
        # GIVEN the role lost its grant on one view, THEN that scope fails, visibly, and the others land
        cols = {c["name"]: c for c in read.request("GET", "/v1/collectors")[0]["collectors"]}
        scopes = {s["scope"]: s for s in cols["snowflake"]["scopes"]}
        assert cols["snowflake"]["status"] == "failing"
        assert scopes["XY12345/warehouses"]["status"] == "error"
        assert "not authorized" in scopes["XY12345/warehouses"]["errors"][0]["message"]
        assert {s for s, v in scopes.items() if v["status"] == "ok"} == {"XY12345/usage_in_currency", "XY12345/storage"}
        assert failed["records_sent"] > 0 and all(s["status"] == "ok" for s in cols["databricks"]["scopes"])
        # the grant comes back: the next run fills the scope
        sf.create("QUERY_ATTRIBUTION_HISTORY")
        sf.insert("QUERY_ATTRIBUTION_HISTORY", emu.rows("QUERY_ATTRIBUTION_HISTORY"))
        ok = _run("snowflake", client, scfg, senv, now=NOW + timedelta(minutes=10))
        assert ok["status"] == "ok"

    # the hub's queries, over HTTP (explicit days) and at the API's pinned clock (look-backs)
    cats = read.databricks_costs_by_category(start="2026-11-29", end="2026-11-30")
    assert Decimal(cats["all_purpose"]) == Decimal("5.5") and Decimal(cats["jobs"]) == Decimal("0.525")
    assert Decimal(cats["sql"]) == Decimal("19.8") and Decimal(cats["dlt"]) == Decimal("0.6")
    assert Decimal(cats["total"]) == Decimal("26.425") + Decimal("0.333333333333333333") * Decimal("0.082")
    hub = ObservabilityHub(read)
    jobs = hub.get_databricks_job_costs(hours_lookback=24)        # the API's clock: real days, maybe none
    assert isinstance(jobs, list)
    svc = ApiService(store=http_api["store"], clock=Clock.pinned(NOW))
    jc = _route(svc, "/v1/platforms/databricks/job-costs", hours_lookback="30")
    (job,) = jc["jobs"]
    assert job["job_id"] == "123" and job["cost"] == Decimal("3.5") * Decimal("0.16") and job["runs"] == ["456"]
    wc = _route(svc, "/v1/platforms/snowflake/warehouse-costs", **{"from": "2026-11-28", "to": "2026-11-29"})
    etl = next(w for w in wc["warehouses"] if w["name"] == "ETL_WH")
    assert etl["credits"] == Decimal("17.2") and etl["cost"] == Decimal("17.2") * Decimal("2.85")
    st = _route(svc, "/v1/platforms/snowflake/storage")
    assert st["as_of"] == "2026-12-01" and {d["database_name"] for d in st["databases"]} == {"ANALYTICS", "RAW"}
    assert st["price_per_tb_month"] == Decimal("40.00") and st["monthly_cost"] == st["total_tb"] * Decimal("40.00")
    with pytest.raises(Exception, match="hours_lookback"):
        _route(svc, "/v1/platforms/snowflake/warehouse-costs", hours_lookback="0")


def replay_key() -> str:
    return load_module("tests/fixtures/snowflake/replay.py", "sf_replay_api").test_key()


def test_the_agent_clis_post_their_payloads(http_api, workspace, monkeypatch, tmp_path):
    from cloudtally.cli import main
    tmp_path = tmp_path / "spool"
    tmp_path.mkdir()
    srv, ws = workspace
    ingest = http_api["keys"]["ingest"]
    monkeypatch.setenv("CLOUDTALLY_API_KEY_ID", ingest["id"])
    monkeypatch.setenv("CLOUDTALLY_API_KEY_SECRET", ingest["secret"])
    monkeypatch.setenv("CLOUDTALLY_NOW", "2026-12-01T10:00:00Z")
    monkeypatch.setenv("DATABRICKS_TOKEN", ws.token)
    assert main(["agent", "databricks", "--openfinops-endpoint", http_api["url"], "--databricks-host", dbx.url(srv),
                 "--warehouse-id", "wh-1", "--once", "--spool-dir", str(tmp_path)]) == 0
    monkeypatch.setenv("SNOWFLAKE_PRIVATE_KEY", replay_key())
    with emu.emulate():
        assert main(["agent", "snowflake", "--openfinops-endpoint", http_api["url"], "--snowflake-account",
                     "xy12345.us-east-1", "--snowflake-user", "CLOUDTALLY_SVC", "--snowflake-warehouse", "COMPUTE_WH",
                     "--edition", "enterprise", "--once", "--spool-dir", str(tmp_path)]) == 0
    agents = {a.agent_type: a for a in http_api["store"].list_agents()}
    assert agents["databricks_telemetry"].cloud_provider == "databricks" and agents["databricks_telemetry"].last_seen
    assert agents["snowflake_telemetry"].cloud_provider == "snowflake" and agents["snowflake_telemetry"].last_seen
    recs = _read(http_api).request("GET", "/v1/records", params={"from": "2026-11-30", "to": "2026-12-02",
                                                                "limit": 1000})[0]["records"]
    assert any(r["x_Collector"] == "openfinops-agent" and r["ProviderName"] == "Databricks" for r in recs)
    assert any(r["x_Collector"] == "openfinops-agent" and r["ProviderName"] == "Snowflake" for r in recs)
    assert not list(tmp_path.iterdir())           # nothing spooled: the API took both payloads
