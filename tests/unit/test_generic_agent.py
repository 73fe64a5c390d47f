"""GenericTelemetryAgent's pieces without a server: what a collector's dict becomes, cost entries, a failing
collector, the Prometheus parser and config errors."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cloudtally.agents.generic_telemetry_agent import GenericTelemetryAgent, load_config, parse_prometheus
from cloudtally.clock import Clock
from cloudtally.errors import ConfigError

NOW = datetime(2026, 12, 15, 9, 30, tzinfo=timezone.utc)


class NoClient:
    api_url = "http://unused"

    def request(self, *a, **kw):
        raise AssertionError("no request expected")


def agent(**kw) -> GenericTelemetryAgent:
    return GenericTelemetryAgent(client=NoClient(), clock=Clock.pinned(NOW), agent_id="a-1", **kw)


def test_a_collectors_dict_becomes_points_cost_records_and_a_failure_is_reported():
    a = agent()
    a.register_metric_collector("gpu_cluster", lambda: {
        "source": "on-prem-gpu-cluster", "timestamp": 1796082433.5,
        "gpu_metrics": [{"gpu_utilization": 45.0, "memory_used_mb": 1024.0}, {"gpu_utilization": 67.5, "ok": True}],
        "cost_entries": [{"timestamp": 1796082433, "provider": "on-prem", "service": "GPU", "resource_id": "gpu-0",
                          "cost_usd": "1.25"},
                         {"ProviderName": "On-Premises", "BillingAccountId": "dc-1", "ChargePeriodStart": "2026-12-14",
                          "ChargePeriodEnd": "2026-12-15", "BilledCost": "10", "BillingCurrency": "USD"},
                         {"cost_usd": "x"}]})
    a.register_metric_collector("broken", lambda: 1 / 0)
    data = a.collect_telemetry_data()
    pts = {(p["name"], p["dimensions"].get("index")): p for p in data["metrics"]}
    assert set(pts) == {("generic.gpu_cluster.gpu_metrics.gpu_utilization", "0"),
                        ("generic.gpu_cluster.gpu_metrics.memory_used_mb", "0"),
                        ("generic.gpu_cluster.gpu_metrics.gpu_utilization", "1")}
    p = pts[("generic.gpu_cluster.gpu_metrics.gpu_utilization", "1")]
    assert str(p["value"]) == "67.5" and p["timestamp"] == "2026-11-30T23:47:13.500000Z"
    assert p["dimensions"] == {"agent": "a-1", "collector": "gpu_cluster", "source": "on-prem-gpu-cluster", "index": "1"}
    assert data["ignored"] == {"generic.gpu_cluster.gpu_metrics.ok": 1}           # a flag is not a metric
    assert [r["x_Collector"] for r in data["records"]] == ["generic:gpu_cluster"] * 2
    assert data["records"][0]["BilledCost"] == "1.25" and data["records"][1]["x_CostSource"] == "estimated"
    assert set(data["errors"]) == {"broken", "gpu_cluster.cost_entries[2]"}
    assert data["errors"]["broken"].startswith("ZeroDivisionError")


def test_prometheus_text_format():
    text = ('# HELP x help\n# TYPE x counter\nx_total{a="1",b="q\\"uote"} 12 1796082433000\nup 1\n'
            'node_load1 NaN\nbad line here\nhist_bucket{le="+Inf"} 3\n')
    got = parse_prometheus(text)
    assert got[0] == ("x_total", {"a": "1", "b": 'q"uote'}, 12.0, 1796082433000)
    assert [g[0] for g in got] == ["x_total", "up", "node_load1", "hist_bucket"]
    assert [g[0] for g in parse_prometheus(text, ["node_*", "up"])] == ["up", "node_load1"]


@pytest.mark.parametrize("doc,message", [
    ("sources: [{name: a, type: shell, command: [ls]}]", "type must be one of"),
    ("sources: [{name: a, type: command, command: 'rm -rf /'}]", "command must be a list of strings"),
    ("sources: [{name: a, type: prometheus, url: 'file:///etc/passwd'}]", "url must be an http(s) URL"),
    ("sources: [{name: a, type: csv_costs, path: x.csv}]", "provider is required"),
    ("sources: [{name: a, type: command, command: [x], shell: true}]", "unknown key(s) shell"),
    ("sources: [{name: a, type: command, command: [x]}, {name: a, type: command, command: [y]}]", "unique"),
    ("agent: {interval: 60, colour: red}", "agent takes id, interval and environment"),
])
def test_bad_configs_name_the_problem(tmp_path, doc, message):
    f = tmp_path / "c.yaml"
    f.write_text(doc)
    with pytest.raises(ConfigError) as e:
        load_config(f)
    assert message in e.value.message
