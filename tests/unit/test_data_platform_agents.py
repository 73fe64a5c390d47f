"""DatabricksTelemetryAgent and SnowflakeTelemetryAgent: the OpenFinOps docs' constructors, methods and
return shapes, computed from one collector run over the emulated sources; the payload translates."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from cloudtally.agents import DatabricksTelemetryAgent, SnowflakeTelemetryAgent
from cloudtally.api import openfinops
from cloudtally.clock import Clock
from tests.helpers import load_module

dbx = load_module("tests/fixtures/databricks/fake.py", "dbx_fake_agents")
emu = load_module("tests/fixtures/snowflake/emulator.py", "sf_emulator_agents")
NOW = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)


@pytest.fixture
def workspace():
    srv, ws = dbx.serve()
    yield srv, ws
    srv.shutdown()


def test_databricks_agent_methods_and_payload(workspace):
    srv, ws = workspace
    agent = DatabricksTelemetryAgent("http://127.0.0.1:9", dbx.url(srv), ws.token, workspace_name="production",
                                     warehouse_id="wh-1", api_key_id="k", api_key_secret="s", clock=Clock.pinned(NOW))
    assert "dapi" not in repr(agent)
    c = agent.collect_cluster_metrics()
    assert (c["total_clusters"], c["running_clusters"]) == (4, 2)
    etl = next(x for x in c["clusters"] if x["cluster_name"] == "etl-shared")
    # the last 24 h of billed/so-far usage (11-30 and 12-01) plus today's hours past the table's end
    assert etl["estimated_cost_usd"] == Decimal("5.5") + Decimal("8.25") + Decimal("5.5")
    assert etl["instance_type"] == "m5.xlarge" and etl["num_workers"] == 4 and etl["uptime_hours"] > 0
    j = agent.collect_job_metrics(hours_lookback=24)
    assert (j["total_runs"], j["successful_runs"], j["failed_runs"]) == (2, 1, 1)
    run456 = next(x for x in j["jobs"] if x["run_id"] == 456)
    assert run456["runtime_seconds"] == 6300 and run456["estimated_cost_usd"] == Decimal("3.5") * Decimal("0.16")
    w = agent.collect_sql_warehouse_metrics()
    assert (w["total_warehouses"], w["running_warehouses"]) == (2, 1)
    bi = next(x for x in w["warehouses"] if x["warehouse_name"] == "BI Warehouse")
    assert bi["estimated_hourly_cost_usd"] > 0 and bi["cluster_size"] == "Medium"
    data = agent.collect_telemetry_data()
    assert data["metrics"]["workspace_name"] == "production" and data["agent_health"]["status"] == "healthy"
    t = openfinops.translate(data)
    assert not t.rejected and t.records
    agent.client.sleep = lambda s: None
    assert agent.send_telemetry_data(data) is False      # nothing listens on port 9: reported, not raised


def test_snowflake_agent_methods_and_payload():
    with emu.emulate():
        agent = SnowflakeTelemetryAgent("http://127.0.0.1:9", "xy12345.us-east-1", "CLOUDTALLY_SVC", "pw",
                                        "COMPUTE_WH", edition="enterprise", api_key_id="k", api_key_secret="s",
                                        clock=Clock.pinned(NOW))
        w = agent.collect_warehouse_metrics(hours_lookback=24)
        s = agent.collect_storage_metrics()
        data = agent.collect_telemetry_data()
    etl = next(x for x in w["warehouses"] if x["warehouse_name"] == "ETL_WH")
    # 12-01 01:00-09:00 (8 hours) inside the last 24 h: 2.0 compute + 0.15 cloud services an hour
    assert etl["compute_credits"] == Decimal("16") and etl["cloud_service_credits"] == Decimal("1.2")
    assert etl["total_credits_used"] == Decimal("17.2") and etl["active_hours"] == 8
    assert etl["estimated_cost_usd"] == Decimal("17.2") * Decimal("3.00")   # today: estimated at the edition price
    assert w["total_warehouses"] == 2
    names = {d["database_name"]: d for d in s["databases"]}
    assert names["ANALYTICS"]["database_tb"] == Decimal("12.5") and names["ANALYTICS"]["failsafe_tb"] == Decimal("0.75")
    assert s["total_storage_tb"] == Decimal("12.5") + Decimal("0.75") + names["RAW"]["current_storage_tb"]
    assert s["estimated_monthly_cost_usd"] > 0
    assert data["metrics"]["edition"] == "enterprise" and not openfinops.translate(data).rejected
