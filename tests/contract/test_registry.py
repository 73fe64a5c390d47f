"""The registry contract: every collector (built-in and plug-in) has a schedule valid on every runtime,
config defaults that validate, recorded fixtures and a replay, a catalog entry where it prices, exactly
the permissions its replay exercises, a README section, and its place in each deploy artifact of its
runtime. A spec missing any of them fails (proven with broken specs)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from cloudtally.collectors import contract, deployment, registry
from cloudtally.collectors.config import CollectorConfig
from cloudtally.collectors.registry import Permissions, Schedule

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "tests" / "plugins" / "cloudtally-example-collector"


@pytest.mark.parametrize("name", [s.name for s in registry.all_specs(plugins=False)])
def test_every_built_in_collector_meets_the_contract(name):
    assert contract.check(registry.get(name)) == []


def test_every_route_is_documented_and_no_library_module_imports_a_deployable():
    from cloudtally.api import openapi, routes
    ops = openapi.operations()
    assert [r.operation_id for r in routes.ROUTES if r.operation_id not in ops] == []
    doc = openapi.document()
    assert {(p, m.upper()) for p, ms in doc["paths"].items() for m in ms} == {(r.path, r.method) for r in routes.ROUTES}
    for path in (ROOT / "common" / "cloudtally").rglob("*.py"):
        text = path.read_text()
        assert "functions/api" not in text.replace("functions/api/app.py", "") or path.name == "devserver.py", path
        assert "import app" not in text, path


# ---------------------------------------------------------------------------------------------- broken specs
@dataclass(frozen=True)
class _BadDefaults(CollectorConfig):
    window_hours: int = 0

    def check(self):
        return [("window_hours", "must be positive")] if self.window_hours <= 0 else []


def _broken(**changes):
    return dataclasses.replace(registry.get("aws"), name="zz-broken", **changes)


@pytest.mark.parametrize("changes, expected", [
    ({"fixtures": "no-such-folder"}, "fixtures: no recorded responses"),
    ({"config": _BadDefaults}, "config: defaults do not validate"),
    ({"prices": ("ec2", "quantum-computer")}, "catalog: aws-"),
    ({"permissions": Permissions(aws=registry.get("aws").permissions.aws[1:])},
     "calls made but not declared: ['ec2:DescribeInstances']"),
    ({"permissions": Permissions(aws=registry.get("aws").permissions.aws + ("ec2:DescribeImages",))},
     "declared but never exercised by the replay: ['ec2:DescribeImages']"),
])
def test_a_spec_lacking_an_item_fails_the_contract(changes, expected, monkeypatch):
    spec = _broken(**changes)
    monkeypatch.setattr(contract, "readme_mentions", lambda s: True)   # the name is new: only the item under test
    replay = contract.load_replay(registry.get("aws"))
    monkeypatch.setattr(contract, "load_replay", lambda s: replay if s.fixtures == "aws" else None)
    problems = contract.check(spec, replay=spec.fixtures == "aws")
    assert any(expected in p for p in problems), problems


def test_a_spec_without_docs_or_a_deploy_artifact_fails(monkeypatch):
    spec = _broken()
    assert any("docs: no README section" in p for p in contract.check(spec, replay=False))
    agent_only = deployment.Deployment({"zz-broken": {"runtime": "agent"}}).placements(specs=[spec])
    monkeypatch.setattr(contract, "readme_mentions", lambda s: True)
    problems = contract.check(spec, replay=False, placements=agent_only)
    assert problems == ["deploy: no deploy artifact for runtime agent"]


def test_a_schedule_that_a_runtime_cannot_express_is_refused():
    from cloudtally.errors import ConfigError
    with pytest.raises(ConfigError, match="divide"):
        Schedule.every(minutes=7)
    with pytest.raises(ConfigError, match="not both"):
        Schedule.cron("0 3 1 * 1")


# ---------------------------------------------------------------------------------------------- placements
def test_a_deployment_places_a_collector_on_another_runtime_and_its_schedule_secrets_permissions_follow():
    from cloudtally.infra_render import lambda_placements, render
    d = deployment.parse({"collectors": {"aws-billing-export": {"runtime": "cloud-functions",
                                                                "schedule": "rate(2 hours)",
                                                                "config": {"bucket": "b", "export_name": "e"}}}})
    (p,) = [p for p in d.placements() if p.name == "aws-billing-export"]
    assert p.runtime == "cloud-functions" and p.schedule_expression() == "0 */2 * * *"
    assert {s.location(p.runtime) for s in p.secrets} == {"cloudtally-ingest-api-key"}   # Secret Manager names
    assert p.permissions() == () and p.foreign_permissions() == {"aws": ("s3:ListBucket", "s3:GetObject")}
    # it leaves the Lambda deploy: no function, no role, no schedule there
    text = render(lambda_placements(d))
    assert "collector-aws-billing-export" not in text and "collector-aws:" in text
    # a bad placement names its field
    from cloudtally.errors import ConfigError
    with pytest.raises(ConfigError, match="collectors.aws.runtime"):
        deployment.parse({"collectors": {"aws": {"runtime": "kubernetes"}}})
    with pytest.raises(ConfigError, match="previous_period_days"):
        deployment.parse({"collectors": {"aws-billing-export": {"config": {"previous_period_days": 99}}}}).placements()


# ---------------------------------------------------------------------------------------------- the plug-in
@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    """The example plug-in package installed (pip, like a user would) into a folder of its own."""
    target = tmp_path_factory.mktemp("plugin")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--target", str(target), str(PLUGIN)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return target


PLUGIN_CHECK = r"""
import json, sys
from cloudtally.collectors import contract, registry
from cloudtally.infra_render import render
spec = registry.get("example-chargeback")
out = {"plugin": spec.plugin, "names": [s.name for s in registry.all_specs()],
       "problems": contract.check(spec), "serverless": "collector-example-chargeback:" in render()}
sys.path.insert(0, sys.argv[1])
import build_lambdas
out["artifact"] = "collector-example-chargeback" in build_lambdas.artifacts()
print(json.dumps(out))
"""


def _py(code: str, plugin_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    pp = os.pathsep.join([str(plugin_path), os.environ.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": pp, **(env or {})})


def test_the_example_plug_in_is_picked_up_by_registry_contract_and_deploy_artifacts(plugin_path):
    r = _py(PLUGIN_CHECK, plugin_path, str(ROOT / "scripts"))
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["plugin"] == "cloudtally-example-collector"
    assert "example-chargeback" in out["names"] and "aws" in out["names"]
    assert out["problems"] == [] and out["serverless"] and out["artifact"]


PLUGIN_RUN = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import replay
srv = replay.serve()
from cloudtally.collectors.function import run_collector
s = run_collector("example-chargeback", event_config={"base_url": f"http://127.0.0.1:{srv.server_port}"},
                  now=__import__("datetime").datetime(2024, 9, 3, 1, tzinfo=__import__("datetime").timezone.utc))
print(json.dumps({k: s[k] for k in ("status", "records_sent", "api_requests", "failed_scopes")}))
"""


def test_the_example_plug_in_runs_end_to_end_through_the_api(plugin_path, http_api):
    from decimal import Decimal

    from cloudtally.query import parse_query
    key = http_api["keys"]["ingest"]
    fixtures = plugin_path / "cloudtally_example_collector" / "fixtures"
    r = _py(PLUGIN_RUN, plugin_path, str(fixtures), env={
        "CLOUDTALLY_API_URL": http_api["url"], "CLOUDTALLY_API_KEY_ID": key["id"],
        "CLOUDTALLY_API_KEY_SECRET": key["secret"], "EXAMPLE_CHARGEBACK_TOKEN": "t0ken-of-the-example",
        "CLOUDTALLY_TABLE": "", "CLOUDTALLY_DYNAMODB_ENDPOINT": ""})
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["status"] == "ok" and out["failed_scopes"] == []
    totals = http_api["store"].summary(parse_query({"from": "2024-09-01", "to": "2024-09-03",
                                                    "provider": "Example Corp IT"}))["totals"]
    assert Decimal(totals["USD"]["BilledCost"]) == Decimal("364.5000000001")
    assert "t0ken-of-the-example" not in r.stdout + r.stderr
