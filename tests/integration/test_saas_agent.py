"""The OpenFinOps SaaSServicesTelemetryAgent over HTTP against the API and the local vendor fakes; the SaaS
cost summary route (GET /v1/costs/saas) and its client method; the CLI's --create-config / --print-config."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from cloudtally.agents import SaaSServicesTelemetryAgent
from cloudtally.agents.saas_services_telemetry_agent import load_config, redacted
from cloudtally.clock import Clock
from cloudtally.saas_fakes import FakeVendors, demo_state
from cloudtally.money import CONTEXT, ZERO

NOW = datetime(2026, 12, 15, 10, 30, tzinfo=timezone.utc)
RANGE = {"from": "2026-11-01", "to": "2026-12-16"}


@pytest.fixture
def fake():
    with FakeVendors(demo_state(NOW)) as f:
        yield f


def _config(tmp_path, fake, **overrides):
    st = fake.state
    (pub, priv), = st.atlas["api_keys"].items()
    doc = {"mongodb_atlas": {"enabled": True, "public_key": pub, "private_key": priv, "org_id": sorted(st.atlas["orgs"])[0],
                             "base_url": fake.base_url("atlas")},
           "redis_cloud": {"enabled": True, "api_key": st.redis["keys"][0], "secret_key": st.redis["keys"][1],
                           "base_url": fake.base_url("redis-cloud")},
           "github_actions": {"enabled": True, "token": "ghp_stale_token_in_the_file", "org_name": "acme",
                              "base_url": fake.base_url("github")},
           "datadog": {"enabled": True, "api_key": st.datadog["keys"][0], "app_key": st.datadog["keys"][1],
                       "base_url": fake.base_url("datadog")}}
    for k, v in overrides.items():
        doc[k].update(v)
    path = tmp_path / "saas_config.json"
    path.write_text("// the agent's config, as --create-config writes it\n" + json.dumps(doc, indent=1))
    return str(path)


def _read(http_api):
    from cloudtally.client import Client
    k = http_api["keys"]["read"]
    return Client(http_api["url"], k["id"], k["secret"], max_attempts=2)


def _agent(http_api, path, env):
    return SaaSServicesTelemetryAgent(http_api["url"], path, client=http_api["client"], env=env,
                                      clock=Clock.pinned(NOW), agent_id="saas-test")


def test_the_agent_sends_every_vendors_records_and_the_summary_route_reports_them(http_api, fake, tmp_path):
    # GIVEN a config file whose GitHub token is stale, and the right one in GITHUB_TOKEN (env overrides files)
    env = {"GITHUB_TOKEN": fake.state.github["token"]}
    agent = _agent(http_api, _config(tmp_path, fake), env)
    assert agent.register_agent()
    # WHEN it runs a cycle
    data = agent.collect_telemetry_data()
    assert all(s["status"] == "ok" for s in data["services"].values()), data["services"]
    assert agent.send_telemetry_data(data)
    # THEN the API's SaaS summary counts what the collectors produced, per vendor, exactly
    res = _read(http_api).saas_costs(**RANGE)
    expected: dict[str, Decimal] = {}
    for service, info in data["services"].items():
        expected[service] = info["total_cost"]
    billed_days = {}
    for r in data["records"]:
        billed_days.setdefault((r.ProviderName, r.BillingAccountId, r.day), set()).add(r.x_CostSource)
    # what the store counts: billed supersedes the same provider/account/day's estimates
    counted: dict[str, Decimal] = {}
    names = {"MongoDB Atlas": "mongodb_atlas", "Redis Cloud": "redis_cloud", "GitHub": "github_actions",
             "Datadog": "datadog"}
    for r in data["records"]:
        src = billed_days[(r.ProviderName, r.BillingAccountId, r.day)]
        if r.x_CostSource != "billed" and "billed" in src:
            continue
        if not "2026-11-01" <= r.day < "2026-12-16":
            continue
        k = names[r.ProviderName]
        counted[k] = CONTEXT.add(counted.get(k, ZERO), r.EffectiveCost)
    for k, info in res["services"].items():
        assert info["status"] == "collected", k
        assert Decimal(info["total"]["USD"]) == counted[k], k
    assert Decimal(res["services"]["github_actions"]["by_source"]["billed"]["USD"]) == counted["github_actions"]
    # AND a second cycle replaces instead of adding
    assert agent.run_once()
    again = _read(http_api).saas_costs(**RANGE)
    assert {k: v["total"] for k, v in again["services"].items()} == {k: v["total"] for k, v in res["services"].items()}


def test_one_vendors_wrong_key_fails_that_service_and_the_others_land(http_api, fake, tmp_path):
    env = {"GITHUB_TOKEN": fake.state.github["token"], "DATADOG_APP_KEY": "revoked-app-key-0000"}
    agent = _agent(http_api, _config(tmp_path, fake), env)
    assert not agent.run_once()                     # a failed service makes the cycle report failure
    failed = agent.last_summaries["datadog"]["failed_scopes"]
    assert failed and all(e["kind"] == "auth" and "DD_APP_KEY" in e["setting"] for f in failed for e in f["errors"])
    res = _read(http_api).saas_costs(**RANGE)["services"]
    assert res["datadog"]["status"] == "not_collected" and res["datadog"]["total"] is None
    assert all(res[k]["status"] == "collected" for k in ("mongodb_atlas", "redis_cloud", "github_actions"))


def test_the_summary_route_refuses_bad_parameters(http_api):
    from cloudtally.errors import ValidationError
    with pytest.raises(ValidationError) as e:
        _read(http_api).saas_costs(**{"from": "2026-13-01"})
    assert e.value.details == [{"field": "from", "message": "a date YYYY-MM-DD"}]
    with pytest.raises(ValidationError):
        _read(http_api).saas_costs(provider="x")


def test_config_template_env_overrides_and_redaction(tmp_path, capsys):
    from cloudtally.cli import main
    path = tmp_path / "saas.json"
    assert main(["agent", "saas", "--create-config", str(path)]) == 0
    text = path.read_text()
    assert "//" in text and all(k in text for k in ("mongodb_atlas", "redis_cloud", "github_actions", "datadog"))
    cfg = load_config(path, {"MONGODB_ATLAS_PUBLIC_KEY": "pk-from-env", "MONGODB_ATLAS_PRIVATE_KEY": "sk-from-env-123",
                             "REDIS_CLOUD_API_KEY": "rk-from-env"})
    assert cfg["mongodb_atlas"]["public_key"] == "pk-from-env" and cfg["redis_cloud"]["api_key"] == "rk-from-env"
    assert not any(s["enabled"] for s in cfg.values())
    shown = json.dumps(redacted(cfg))
    assert "sk-from-env-123" not in shown and "rk-from-env" not in shown and "your_app_key" not in shown
    assert main(["agent", "saas", "--create-config", str(path)]) == 2      # never overwrites
    capsys.readouterr()
    import os
    os.environ["MONGODB_ATLAS_PRIVATE_KEY"] = "sk-printed-never-0"
    try:
        assert main(["agent", "saas", "--print-config", "--config", str(path)]) == 0
    finally:
        del os.environ["MONGODB_ATLAS_PRIVATE_KEY"]
    out = capsys.readouterr().out
    assert "sk-printed-never-0" not in out and json.loads(out)["mongodb_atlas"]["private_key"] == "***"
    agent = SaaSServicesTelemetryAgent("http://127.0.0.1:9", str(path), client=_NoClient(),
                                       env={"REDIS_CLOUD_SECRET_KEY": "rs-secret-9999"})
    assert "rs-secret-9999" not in repr(agent)


class _NoClient:
    api_url = "http://127.0.0.1:9"
