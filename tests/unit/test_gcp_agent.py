"""GCPTelemetryAgent and ``cloudtally agent gcp``: the OpenFinOps GCP payload from the same collector module,
accepted by the API's translator with every resource counted once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cloudtally.agents import gcp_telemetry_agent as gcp_agent_mod
from cloudtally.agents.gcp_telemetry_agent import GCPTelemetryAgent
from cloudtally.api import openfinops
from cloudtally.errors import ConfigError
from cloudtally.providers.gcp.session import GcpClients
from tests.gcp_support import NOW, emulated


@pytest.fixture(scope="module")
def payload():
    with emulated(export=False) as emu:
        agent = GCPTelemetryAgent(openfinops_endpoint="http://127.0.0.1:9", project_id="acme-prod", region="us-central1",
                                  api_key_id="k", api_key_secret="s", clients=GcpClients(endpoint=emu.url))
        data = agent.collect_telemetry_data(now=NOW)
        yield agent, data


def test_the_payload_lists_compute_with_gpus_gke_functions_sql_and_storage(payload):
    agent, data = payload
    m = data["metrics"]
    assert (m["project_id"], m["region"], data["agent_id"]) == ("acme-prod", "us-central1", agent.agent_id)
    assert agent.last_summary["failed_scopes"] == []
    ce = m["compute_engine"]
    assert ce["total_instances"] == 18                       # the running ones (the stopped one has no cost)
    t4 = next(i for i in ce["instances"] if i["instance_name"] == "inference-t4")
    assert t4["gpus"] == [{"type": "nvidia-tesla-t4", "count": 1}] and t4["gpu_utilization"] == Decimal("71.5")
    assert t4["hourly_cost"] == 4 * Decimal("0.031611") + 15 * Decimal("0.004237") + Decimal("0.35")
    assert "cpu_utilization" in t4 and t4["machine_type"] == "n1-standard-4"
    spot = next(i for i in ce["instances"] if i["instance_name"] == "batch-spot-1")
    assert spot["provisioning_model"] == "SPOT"
    (ml,) = m["gke"]["clusters"]
    assert ml["hourly_cost"] == Decimal("0.1")               # the management fee only: the nodes are instances
    assert {(p["pool_name"], p["node_count"]) for p in ml["nodes"]} == {("default-pool", 3), ("gpu-pool", 2)}
    names = {f["function_name"] for f in m["cloud_functions"]["functions"]}
    assert names == {"api-gateway", "resize-images", "cleanup"}
    assert {i["instance_name"] for i in m["cloud_sql"]["instances"]} == {"orders-pg", "reports-mysql"}
    assert {b["bucket_name"] for b in m["cloud_storage"]["buckets"]} == {"acme-prod-assets", "acme-prod-logs"}


def test_the_translator_takes_every_resource_once_and_the_cost_of_the_hour(payload):
    _, data = payload
    t = openfinops.translate(data)
    assert not t.rejected
    costed = [r for r in t.records if r.x_CostSource == "estimated"]
    total = sum((r.BilledCost for r in costed), Decimal(0))
    assert total == data["metrics"]["summary"]["total_hourly_cost"]
    gke = [r for r in costed if r.ServiceName == "Kubernetes Engine"]
    assert len(gke) == 1 and gke[0].BilledCost == Decimal("0.1")
    assert {r.BillingAccountId for r in costed} == {"acme-prod"}      # the account of a GCP payload: its project


def test_project_is_required_when_credentials_name_none(monkeypatch):
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(ConfigError, match="project_id"):
        GCPTelemetryAgent(openfinops_endpoint="http://127.0.0.1:9", clients=object())
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "from-env")
    assert GCPTelemetryAgent(openfinops_endpoint="http://127.0.0.1:9", clients=object()).project_id == "from-env"


def test_cli_agent_gcp_takes_the_docs_flags(monkeypatch):
    from cloudtally import cli
    seen = {}

    class Fake:
        def __init__(self, **kw):
            seen.update(kw)

        def register_agent(self):
            return True

        def run_once(self):
            return True

    monkeypatch.setattr(gcp_agent_mod, "GCPTelemetryAgent", Fake)
    rc = cli.main(["agent", "gcp", "--openfinops-endpoint", "http://x:8080", "--project-id", "p1", "--region",
                   "europe-west1", "--interval", "300", "--once"])
    assert rc == 0 and seen["project_id"] == "p1" and seen["region"] == "europe-west1"
    assert seen["openfinops_endpoint"] == "http://x:8080"


def test_the_readme_agent_example_runs(monkeypatch):
    """The README's GCPTelemetryAgent snippet, against the emulator (one cycle instead of a loop)."""
    import re

    agents = gcp_agent_mod
    from tests.gcp_support import ROOT
    text = (ROOT / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "GCPTelemetryAgent(" in b]
    sent = []
    with emulated(export=False) as emu:
        class Agent(agents.GCPTelemetryAgent):
            def __init__(self, **kw):
                super().__init__(**kw, clients=GcpClients(endpoint=emu.url), api_key_id="k", api_key_secret="s")

            def register_agent(self):
                return True

            def send_telemetry_data(self, data):
                sent.append(data)
                return True

            def run_continuous(self, interval_seconds=300):
                assert interval_seconds == 300
                self.run_once()

            def collect_telemetry_data(self, now=None):
                return super().collect_telemetry_data(now=NOW)
        monkeypatch.setattr(agents, "GCPTelemetryAgent", Agent)
        exec(compile(block, "README.md", "exec"), {})
    assert sent and sent[0]["metrics"]["project_id"] == "acme-prod" and sent[0]["metrics"]["compute_engine"]["instances"]
