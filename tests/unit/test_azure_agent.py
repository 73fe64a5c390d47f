"""AzureTelemetryAgent: the OpenFinOps constructor, methods and payload, from the same collector code; its
payload is taken by the API's translator at exactly its own total, AKS nodes once."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from cloudtally.agents import AzureTelemetryAgent
from cloudtally.api import openfinops
from cloudtally.money import CONTEXT
from cloudtally.providers.azure import emulator as E
from cloudtally.providers.azure.collector import AzureClients
from cloudtally.providers.azure.session import AzureHttp, StaticCredential

FIX = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "azure"
NOW = datetime(2026, 12, 15, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def payload():
    with E.Emulator(E.Estate.load(FIX / "estate.json")) as em:
        clients = AzureClients(http=AzureHttp(StaticCredential("t")), arm=em.url, metrics=em.metrics_url)
        agent = AzureTelemetryAgent(openfinops_endpoint="http://127.0.0.1:9", subscription_id=E.DEMO_SUBSCRIPTION,
                                    api_key_id="k", api_key_secret="s", clients=clients)
        data = agent.collect_telemetry_data(now=NOW)
        assert agent.last_summary["status"] == "ok" and "costmanagement" not in agent.last_summary["api_calls"]
        return agent, data


def test_the_constructor_takes_the_documented_arguments(monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "00000000-1111-2222-3333-444444444444")
    a = AzureTelemetryAgent(openfinops_endpoint="http://localhost:8080", resource_group="ml-resources")
    assert a.subscription_id == "00000000-1111-2222-3333-444444444444" and a.resource_group == "ml-resources"
    assert a.config["subscriptions"] == [a.subscription_id] and a.config["resource_groups"] == ["ml-resources"]
    assert a.agent_id.startswith("azure-telemetry-00000000-1111-2222-3333-444444444444-")
    b = AzureTelemetryAgent("http://localhost:8080", "sub-explicit")
    assert b.subscription_id == "sub-explicit"
    for method in ("register_agent", "collect_telemetry_data", "send_telemetry_data", "run_once", "run_continuous"):
        assert callable(getattr(a, method))
    assert (a.cloud_provider, a.agent_type) == ("azure", "azure_telemetry")
    assert a.registration()["config"]["subscription_id"] == a.subscription_id


def test_the_payload_lists_vms_aks_functions_sql_and_storage(payload):
    _, data = payload
    m = data["metrics"]
    assert m["subscription_id"] == E.DEMO_SUBSCRIPTION and set(data) >= {"agent_id", "timestamp", "metrics", "agent_health"}
    vms = {v["vm_name"]: v for v in m["virtual_machines"]["virtual_machines"]}
    assert "vm-platform-19" not in vms and m["summary"]["running_vms"] == len(vms) == 21   # deallocated left out
    vm = vms["vm-web-00"]
    assert vm["vm_size"] == "Standard_D2s_v5" and vm["hourly_cost"] == Decimal("0.103680") and "cpu_utilization" in vm
    clusters = {c["cluster_name"]: c for c in m["aks"]["clusters"]}
    assert clusters["aks-prod"]["hourly_cost"] == Decimal("0.10")           # the Standard tier control plane
    assert {p["pool_name"]: p["node_count"] for p in clusters["aks-prod"]["node_pools"]} == {"system": 2, "user": 3}
    assert "hourly_cost" not in clusters["aks-dev"] and clusters["aks-dev"]["total_nodes"] == 1     # Free tier
    pools = {p["pool_name"]: p for p in m["aks"]["node_pools"]}
    assert pools["user"]["hourly_cost"] == CONTEXT.multiply(Decimal(3), Decimal("0.220800"))
    assert m["summary"]["aks_nodes"] == 6
    assert {a["app_name"] for a in m["azure_functions"]["function_apps"]} == {"fn-thumbnails", "fn-ingest"}
    assert {p["plan_name"] for p in m["azure_functions"]["plans"]} == {"plan-premium", "plan-dedicated"}
    assert {d["database_name"] for d in m["sql_databases"]["databases"]} == {"crm", "orders"}
    assert {s["account_name"] for s in m["storage"]["storage_accounts"]} == {"stdatalake01", "starchive01"}


def test_the_api_takes_the_payload_at_its_own_total_and_counts_aks_nodes_once(payload):
    _, data = payload
    t = openfinops.translate(data)
    assert not t.rejected and t.records
    total = sum((r.BilledCost for r in t.records), Decimal(0))
    assert total == data["metrics"]["summary"]["total_hourly_cost"]
    nodes = [r for r in t.records if "virtualmachinescalesets/aks-" in (r.ResourceId or "")]
    assert len(nodes) == 3 and all(r.ServiceName == "Azure Kubernetes Service" for r in nodes)
    assert not [r for r in t.records if r.ServiceName == "Virtual Machines" and "aks-" in (r.ResourceId or "")]


def test_an_unreachable_server_is_reported_not_raised(payload):
    agent, data = payload
    agent.client.sleep = lambda s: None
    assert agent.send_telemetry_data(data) is False and agent.register_agent() is False


def test_the_cli_runs_the_agent_with_the_documented_flags(monkeypatch):
    seen = {}

    class Fake:
        def __init__(self, **kw):
            seen.update(kw)

        def register_agent(self):
            return True

        def run_once(self):
            return True

        def run_continuous(self, interval_seconds=300):
            seen["interval"] = interval_seconds

    monkeypatch.setattr("cloudtally.agents.AzureTelemetryAgent", Fake)
    from cloudtally.cli import main
    assert main(["agent", "azure", "--openfinops-endpoint", "http://x:8080", "--subscription-id", "s1",
                 "--resource-group", "rg", "--interval", "120"]) == 0
    assert seen["subscription_id"] == "s1" and seen["resource_group"] == "rg" and seen["interval"] == 120
    assert main(["agent", "azure", "--openfinops-endpoint", "http://x:8080", "--once"]) == 0


def test_the_readme_example_runs(monkeypatch):
    import re
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "AzureTelemetryAgent(" in b)
    ran = []
    monkeypatch.setattr(AzureTelemetryAgent, "register_agent", lambda self: True)
    monkeypatch.setattr(AzureTelemetryAgent, "run_continuous", lambda self, interval_seconds=300: ran.append(
        (self.subscription_id, interval_seconds)))
    exec(compile(block, "README.md", "exec"), {})
    assert ran == [("your-subscription-id", 300)]
