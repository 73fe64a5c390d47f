"""The seven published OpenFinOps 0.3.0 agents, built by their own code, posted to the API over HTTP.

The agents come from the sdist on PyPI (``pip download openfinops==0.3.0 --no-deps --no-binary
:all:``, cached in pytest's cache folder, checked against its sha256; nothing of it is committed).
Their cloud SDKs are stubbed (tests/integration/openfinops_harness.py). Each test asserts that the
agent saw HTTP 200, that every cost the payload reports landed exactly (Decimal) in the period its
meaning gives, that nothing else landed, and that everything not taken is listed with a reason.
The payloads are also kept as recorded fixtures (tests/fixtures/openfinops/*.json) for the unit
tests; ``CLOUDTALLY_RECORD_OPENFINOPS=1`` rewrites them from the agents.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from cloudtally.api import openfinops
from cloudtally.money import CONTEXT, loads
from tests.helpers import unaccounted_leaves
from tests.integration import openfinops_harness as h

pytestmark = pytest.mark.integration

SDIST = "openfinops-0.3.0.tar.gz"
SDIST_SHA256 = "b906b4e28c2b2cf691dd959e0f6cfcd2d5a0db751cfcda71aa4c608993f55243"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openfinops"

DAY = "from=2026-11-01&to=2026-12-02"


@pytest.fixture(scope="session")
def agents_dir(request, tmp_path_factory) -> Path:
    """The sdist's agents/ folder, unpacked (the download is cached across sessions)."""
    given = os.environ.get("CLOUDTALLY_OPENFINOPS_SDIST")
    cache = Path(request.config.cache.mkdir("openfinops-sdist"))
    sdist = Path(given) if given else cache / SDIST
    with open(cache / ".lock", "w") as lock:   # xdist workers share the cache
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not sdist.exists():
            subprocess.run([sys.executable, "-m", "pip", "download", "openfinops==0.3.0", "--no-deps",
                            "--no-binary", ":all:", "-d", str(cache), "-q", "--disable-pip-version-check"],
                           check=True, timeout=600)
    assert hashlib.sha256(sdist.read_bytes()).hexdigest() == SDIST_SHA256, f"{sdist} is not OpenFinOps 0.3.0"
    out = tmp_path_factory.mktemp("openfinops")
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.startswith("openfinops-0.3.0/agents/")
                   and m.name.endswith("_telemetry_agent.py")]
        tar.extractall(out, members=members, filter="data")
    folder = out / "openfinops-0.3.0" / "agents"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{a}_telemetry_agent.py" for a in h.AGENTS)
    return folder


def _endpoint(module_live_api) -> str:
    k = module_live_api["keys"]["ingest"]
    host = module_live_api["url"].removeprefix("http://")
    return f"http://{k['id']}:{k['secret']}@{host}"   # the agents take a URL only: HTTP Basic carries the key


def _run(name, agents_dir, module_live_api, monkeypatch, tmp_path) -> tuple[h.AgentRun, dict, dict]:
    runner = h.RUNNERS[name]
    extra = (tmp_path,) if name in ("saas_services", "generic") else ()
    run = runner(agents_dir, _endpoint(module_live_api), monkeypatch, *extra)
    payload = loads(run.wire)
    _check_fixture(name, run.wire, payload)
    assert run.registered.status_code == 200, run.registered.text
    assert run.telemetry.status_code == 200 and run.agent_ok, run.telemetry.text
    return run, payload, loads(run.telemetry.content)


def _check_fixture(name: str, wire: bytes, payload: dict) -> None:
    path = FIXTURES / f"{name}.json"
    if os.environ.get("CLOUDTALLY_RECORD_OPENFINOPS"):
        FIXTURES.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(json.loads(wire), indent=1) + "\n")
    recorded = loads(path.read_text())
    if name == "aws":   # moto draws ids and launch times at random: the shape is what must match
        assert set(openfinops.iter_leaves(payload)) == set(openfinops.iter_leaves(recorded))
    else:
        assert payload == recorded, f"the {name} agent's payload differs from {path}: re-record it"


def _landed(module_live_api, account: str) -> dict[str, list[dict]]:
    """Every record of the account in November 2026 (and the 1st of December), by ResourceId."""
    k = module_live_api["keys"]["read"]
    out: dict[str, list[dict]] = {}
    cursor = None
    while True:
        url = f"{module_live_api['url']}/v1/records?{DAY}&account={account}&limit=1000"
        url += f"&cursor={cursor}" if cursor else ""
        r = requests.get(url, auth=(k["id"], k["secret"]), timeout=30)
        assert r.status_code == 200, r.text
        body = loads(r.content)
        for rec in body["records"]:
            out.setdefault(rec.get("ResourceId") or rec["ServiceName"], []).append(rec)
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def _amounts(landed: dict[str, list[dict]]) -> dict[str, Decimal]:
    return {k: Decimal(sum((Decimal(r["BilledCost"]) for r in v), Decimal(0))) for k, v in landed.items()}


def _assert_accounted(payload: dict, resp: dict) -> None:
    """Every leaf of the payload is a record, a metric point, or listed back with its reason."""
    t = openfinops.translate(payload)
    assert (t.ignored, t.not_counted, t.rejected) == (resp["ignored"], resp["not_counted"], resp["rejected"])
    assert unaccounted_leaves(payload, t) == []
    assert all(i["reason"] and i["count"] >= 1 for i in resp["ignored"] + resp["not_counted"])
    assert resp["metrics"] + resp.get("metrics_past_retention", 0) == len(t.metrics) > 0
    assert resp["records"] == len(t.records)


def _hour(rec: dict) -> tuple[str, str]:
    return rec["ChargePeriodStart"], rec["ChargePeriodEnd"]


LAST_HOUR = ("2026-11-30T23:00:00Z", "2026-12-01T00:00:00Z")
LAST_DAY = ("2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z")
NOVEMBER = ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")


def _per_hour_of_november(monthly: Decimal) -> Decimal:
    return openfinops._div(monthly, Decimal(720))


def test_aws_agent_every_service_lands_and_eks_nodes_count_once(agents_dir, module_live_api, monkeypatch, tmp_path):
    run, p, resp = _run("aws", agents_dir, module_live_api, monkeypatch, tmp_path)
    s = p["services"]
    nodes = set(run.extra["eks_nodes"])
    expected: dict[str, Decimal] = {}
    for i in s["ec2"]["instances"]:
        expected[i["instance_id"]] = i["hourly_cost"]
    covered = {}
    for c in s["eks"]["clusters"]:
        for ng in c["nodegroups"]:
            tagged = {i["instance_id"] for i in s["ec2"]["instances"]
                      if i["tags"].get("eks:nodegroup-name") == ng["nodegroup_name"]}
            if tagged:
                covered[ng["nodegroup_name"]] = ng["hourly_cost"]
                assert tagged == nodes
            else:
                expected[f"{c['cluster_name']}/{ng['nodegroup_name']}"] = ng["hourly_cost"]
    for f in s["lambda"]["functions"]:
        expected[f["function_name"]] = f["estimated_hourly_cost"]
    for d in s["rds"]["databases"]:
        expected[d["db_identifier"]] = d["hourly_cost"]
    for b in s["s3"]["buckets"]:
        expected[b["bucket_name"]] = _per_hour_of_november(b["monthly_cost"])
    # the payload really has every kind of cost the issue names, non-zero
    assert covered == {"ng-tagged": Decimal("0.192")} and expected["prod/ng-plain"] > 0
    assert expected["api-handler"] > 0 and expected["orders-db"] == Decimal("0.192")
    assert s["s3"]["buckets"][0]["monthly_cost"] == Decimal("11.5") and len(s["ec2"]["instances"]) == 5
    landed = _landed(module_live_api, "agent:aws-agent-ci-host")
    assert _amounts(landed) == expected
    assert all(_hour(r) == LAST_HOUR and r["ProviderName"] == "AWS" for v in landed.values() for r in v)
    assert landed["prod/ng-plain"][0]["ServiceName"] == "Amazon Elastic Compute Cloud"
    assert Decimal(resp["cost"]["USD"]) == CONTEXT.add(Decimal(0), sum(expected.values(), Decimal(0)))
    assert resp["status"] == "success" and resp["rejected"] == []
    nc = {n["path"]: n for n in resp["not_counted"]}
    assert Decimal(nc["services.eks.clusters[].nodegroups[].hourly_cost"]["amount"]) == covered["ng-tagged"]
    assert "EKS nodes are EC2 instances" in nc["services.eks.clusters[].nodegroups[].hourly_cost"]["reason"]
    assert {"summary.total_hourly_cost", "services.ec2.total_hourly_cost", "services.eks.total_hourly_cost",
            "services.s3.total_hourly_cost"} <= set(nc)
    _assert_accounted(p, resp)


def test_azure_agent_reports_no_cost_and_its_inventory_becomes_metric_points(agents_dir, module_live_api, monkeypatch,
                                                                               tmp_path):
    run, p, resp = _run("azure", agents_dir, module_live_api, monkeypatch, tmp_path)
    assert p["metrics"]["cost_metrics"]["current_month_cost"] == 0          # a placeholder in 0.3.0
    assert _landed(module_live_api, h.AZURE_SUB) == {} and resp["records"] == 0 and resp["cost"] == {}
    ignored = {i["path"]: i["reason"] for i in resp["ignored"]}
    assert ignored["metrics.cost_metrics.current_month_cost"] == openfinops.R_ZERO
    assert "Consumption API" in ignored["metrics.cost_metrics.note"]
    assert ignored["metrics.security_compliance.recommendations[]"] == openfinops.R_TEXT_LIST
    _assert_accounted(p, resp)


def test_gcp_agent_reports_no_cost_and_its_inventory_becomes_metric_points(agents_dir, module_live_api, monkeypatch,
                                                                             tmp_path):
    run, p, resp = _run("gcp", agents_dir, module_live_api, monkeypatch, tmp_path)
    assert _landed(module_live_api, "acme-prod") == {} and resp["records"] == 0
    assert p["metrics"]["compute_engine"]["instances"][0]["cpu_utilization"] == Decimal("41.25")
    _assert_accounted(p, resp)


def test_databricks_agent_clusters_jobs_and_warehouses_land_once(agents_dir, module_live_api, monkeypatch, tmp_path):
    run, p, resp = _run("databricks", agents_dir, module_live_api, monkeypatch, tmp_path)
    m = p["metrics"]["metrics"]
    clusters = {c["cluster_id"]: c for c in m["clusters"]["clusters"]}
    etl, adhoc, job = clusters["0930-101010-abc1"], clusters["1130-232713-adh2"], clusters["1130-233713-job3"]
    expected = {
        # cost since start ÷ uptime = the hourly rate; a run that began this hour: its cost so far
        etl["cluster_id"]: openfinops._div(etl["estimated_cost_usd"], etl["uptime_hours"]),
        adhoc["cluster_id"]: adhoc["estimated_cost_usd"],
    }
    runs = {j["run_id"]: j for j in m["jobs"]["jobs"]}
    assert set(runs) == {456, 455, 454}              # the agent drops the run older than 24 h
    for rid, j in runs.items():
        expected[str(rid)] = j["estimated_cost_usd"]
    for w in m["sql_warehouses"]["warehouses"]:
        expected[w["warehouse_id"]] = w["estimated_hourly_cost_usd"]
    assert expected[etl["cluster_id"]] == openfinops._div(Decimal("6.1875"), Decimal("5.5")) == Decimal("1.125")
    assert expected["9f3e2a1b0c4d5e6f"] == Decimal("1.1") and runs[456]["estimated_cost_usd"] == Decimal("0.2531")
    landed = _landed(module_live_api, "dbc-1234.cloud.databricks.com")
    assert _amounts(landed) == expected
    assert _hour(landed["456"][0]) == ("2026-11-30T21:00:00Z", "2026-11-30T21:45:00Z")   # the run's own period
    assert _hour(landed[etl["cluster_id"]][0]) == LAST_HOUR and _hour(landed["9f3e2a1b0c4d5e6f"][0]) == LAST_HOUR
    nc = {n["path"]: n for n in resp["not_counted"]}
    assert nc["metrics.metrics.clusters.clusters[].estimated_cost_usd"]["reason"] == openfinops.R_JOB_CLUSTER
    assert Decimal(nc["metrics.metrics.clusters.clusters[].estimated_cost_usd"]["amount"]) == job["estimated_cost_usd"]
    assert Decimal(nc["metrics.summary.total_estimated_cost_usd"]["amount"]) == p["metrics"]["summary"][
        "total_estimated_cost_usd"]
    _assert_accounted(p, resp)


def test_snowflake_agent_a_days_cost_is_not_added_to_its_items(agents_dir, module_live_api, monkeypatch, tmp_path):
    run, p, resp = _run("snowflake", agents_dir, module_live_api, monkeypatch, tmp_path)
    m = p["metrics"]["metrics"]
    expected = {w["warehouse_name"]: w["estimated_cost_usd"] for w in m["warehouses"]["warehouses"]}
    for db in m["storage"]["databases"]:
        expected[db["database_name"]] = _per_hour_of_november(db["estimated_monthly_cost_usd"])
    assert expected["ETL_WH"] == Decimal("360.75")
    landed = _landed(module_live_api, "xy12345.us-east-1")
    assert _amounts(landed) == expected
    assert _hour(landed["ETL_WH"][0]) == LAST_DAY and _hour(landed["ANALYTICS"][0]) == LAST_HOUR
    summary = p["metrics"]["summary"]
    nc = {n["path"]: Decimal(n["amount"]) for n in resp["not_counted"]}
    assert nc["metrics.summary.total_daily_cost_usd"] == summary["total_daily_cost_usd"] > 0
    assert nc["metrics.metrics.user_attribution.user_attributions[].estimated_cost_usd"] > 0
    _assert_accounted(p, resp)


def test_saas_agent_hourly_monthly_and_month_figures(agents_dir, module_live_api, monkeypatch, tmp_path):
    run, p, resp = _run("saas_services", agents_dir, module_live_api, monkeypatch, tmp_path)
    sv = p["metrics"]["services"]
    expected = {c["cluster_name"]: c["hourly_cost_usd"] for c in sv["mongodb_atlas"]["clusters"]}
    for s in sv["redis_cloud"]["subscriptions"]:
        expected[str(s["subscription_id"])] = _per_hour_of_november(s["estimated_monthly_cost_usd"])
    expected["GitHub Actions"] = sv["github_actions"]["estimated_monthly_cost_usd"]
    expected["Datadog"] = sv["datadog"]["estimated_monthly_cost_usd"]
    assert expected["GitHub Actions"] == Decimal("11.6") and expected["Datadog"] == Decimal("675.0")
    landed = _landed(module_live_api, "agent:saas-services")
    assert _amounts(landed) == expected
    assert {r["ProviderName"] for v in landed.values() for r in v} == {"MongoDB Atlas", "Redis Cloud", "GitHub",
                                                                      "Datadog"}
    assert _hour(landed["GitHub Actions"][0]) == NOVEMBER and _hour(landed["orders"][0]) == LAST_HOUR
    nc = {n["path"]: n for n in resp["not_counted"]}
    assert "same charge as hourly_cost_usd" in nc["metrics.services.mongodb_atlas.clusters[].daily_cost_usd"]["reason"]
    assert {"metrics.summary.total_monthly_cost_usd", "metrics.summary.total_daily_cost_usd",
            "metrics.services.redis_cloud.total_monthly_cost_usd"} <= set(nc)
    _assert_accounted(p, resp)


def test_generic_agent_system_metrics_become_metric_points(agents_dir, module_live_api, monkeypatch, tmp_path):
    run, p, resp = _run("generic", agents_dir, module_live_api, monkeypatch, tmp_path)
    assert resp["records"] == 0 and resp["cost"] == {}
    t = openfinops.translate(p)
    cpu = [m for m in t.metrics if m.name == "generic.system_metrics.cpu.usage_percent"]
    assert [m.value for m in cpu] == [Decimal("23.5")]
    _assert_accounted(p, resp)


def test_a_second_snapshot_in_the_hour_replaces_the_first(agents_dir, module_live_api, monkeypatch, tmp_path):
    """Repeated snapshots count their hour, day or month once: the Databricks agent posts twice."""
    _run("databricks", agents_dir, module_live_api, monkeypatch, tmp_path)
    first = _amounts(_landed(module_live_api, "dbc-1234.cloud.databricks.com"))
    _run("databricks", agents_dir, module_live_api, monkeypatch, tmp_path)
    assert _amounts(_landed(module_live_api, "dbc-1234.cloud.databricks.com")) == first
