"""The translation of OpenFinOps agent payloads: the seven agents' recorded payloads, the cost semantics
(hour, day, month, run, uptime), no double counting between totals and items, and an account of
every value (records, metric points, or listed back with a reason)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cloudtally.api import openfinops
from cloudtally.api.openfinops import per_hour_of_month, translate
from cloudtally.errors import ValidationError
from cloudtally.focus import iso
from cloudtally.money import CONTEXT, loads
from tests.helpers import unaccounted_leaves

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openfinops"
AGENTS = ("aws", "azure", "gcp", "databricks", "snowflake", "saas_services", "generic")
UTC = timezone.utc
D = Decimal
HOUR = ("2026-11-30T23:00:00Z", "2026-12-01T00:00:00Z")
DAY = ("2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z")
NOVEMBER = ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")


def fixture(name: str) -> dict:
    return loads((FIXTURES / f"{name}.json").read_text())


def landed(t) -> dict[str, tuple[Decimal, tuple[str, str]]]:
    out = {}
    for r in t.records:
        key = r.ResourceId or r.ServiceName
        assert key not in out, key
        out[key] = (r.BilledCost, (iso(r.ChargePeriodStart), iso(r.ChargePeriodEnd)))
    return out


def not_counted(t) -> dict[str, tuple[Decimal, str]]:
    return {n["path"]: (D(n["amount"]), n["reason"]) for n in t.not_counted}


# ---------------------------------------------------------------- the seven recorded payloads

@pytest.mark.parametrize("agent", AGENTS)
def test_every_value_of_each_agents_payload_is_taken_or_listed_with_a_reason(agent):
    p = fixture(agent)
    t = translate(p)
    assert unaccounted_leaves(p, t) == []
    assert t.rejected == [] and t.data_taken
    assert all(i["reason"] and i["count"] >= 1 for i in t.ignored + t.not_counted)
    # the translation is a pure function of the payload
    assert translate(copy.deepcopy(p)).ignored == t.ignored


def test_aws_payload_every_service_lands_in_the_snapshots_hour():
    p = fixture("aws")
    t = translate(p)
    got = landed(t)
    s = p["services"]
    web = [i["instance_id"] for i in s["ec2"]["instances"] if i["tags"].get("team") == "web"]
    nodes = [i["instance_id"] for i in s["ec2"]["instances"] if "eks:nodegroup-name" in i["tags"]]
    ops = [i["instance_id"] for i in s["ec2"]["instances"] if i["tags"].get("team") == "ops"]
    assert got == {
        **{i: (D("0.096"), HOUR) for i in web + nodes}, ops[0]: (D("0.0104"), HOUR),
        "prod/ng-plain": (D("0.51"), HOUR),                       # EKS node group: 3 × c5.xlarge
        "api-handler": (D("0.00254500461"), HOUR), "nightly-report": (D("0.0"), HOUR),   # Lambda
        "orders-db": (D("0.192"), HOUR),                           # RDS, keyed by db_identifier
        # S3 monthly_cost 11.5 per hour of November's 720 hours; an empty bucket costs 0
        "logs-archive": (D("0.01597222222222222222"), HOUR), "static-assets": (D("0"), HOUR),
    }
    nc = not_counted(t)
    # the node group whose nodes are listed EC2 instances is counted once, as those instances
    amount, reason = nc["services.eks.clusters[].nodegroups[].hourly_cost"]
    assert amount == D("0.192") and all(n in reason for n in nodes)
    # totals are never records: the agent's summary double counts the EKS nodes, CloudTally does not
    assert nc["summary.total_hourly_cost"][0] == D("1.3069")
    assert D(t.cost()["USD"]) == D("1.11491722683222222222")
    assert {r.ServiceName for r in t.records if r.ResourceId == "prod/ng-plain"} == {"Amazon Elastic Compute Cloud"}
    ng = next(r for r in t.records if r.ResourceId == "prod/ng-plain")
    assert ng.Tags == {"eks:cluster-name": "prod", "eks:nodegroup-name": "ng-plain"}


def test_azure_and_gcp_payloads_carry_no_cost_their_placeholders_are_listed():
    for agent, account in (("azure", "00000000-1111-2222-3333-444444444444"), ("gcp", "acme-prod")):
        t = translate(fixture(agent))
        assert t.records == [] and t.cost() == {}
        ignored = {i["path"]: i["reason"] for i in t.ignored}
        assert ignored["metrics.cost_metrics.current_month_cost"] == openfinops.R_ZERO
        assert "metrics.cost_metrics.note" in ignored
        names = {m.name for m in t.metrics}
        assert f"{agent}.security_compliance.compliance_score" in names


def test_gcp_durations_are_metrics_and_epoch_times_are_not():
    t = translate(fixture("gcp"))
    assert "gcp.cloud_functions.avg_execution_time" in {m.name for m in t.metrics}
    assert {"gcp.cloud_functions.functions.invocations": D(1750)}.items() <= {
        m.name: m.value for m in t.metrics if m.dimensions.get("resource") == "resize"}.items()


def test_databricks_payload_uptime_rates_runs_and_warehouses():
    t = translate(fixture("databricks"))
    assert landed(t) == {
        "0930-101010-abc1": (D("1.125"), HOUR),     # 6.1875 since start / 5.5 h uptime, for this hour
        "1130-232713-adh2": (D("0.2667"), HOUR),    # began at 23:27: its cost so far is this hour's
        "456": (D("0.2531"), ("2026-11-30T21:00:00Z", "2026-11-30T21:45:00Z")),
        "455": (D("1.35"), ("2026-11-30T22:10:00Z", "2026-11-30T22:40:00Z")),
        "454": (D("0.0"), ("2026-11-30T20:00:00Z", "2026-11-30T20:05:00Z")),   # ran on a shared cluster
        "9f3e2a1b0c4d5e6f": (D("1.1"), HOUR), "1a2b3c4d5e6f7a8b": (D("0.0"), HOUR),
    }
    nc = not_counted(t)
    assert nc["metrics.metrics.clusters.clusters[].estimated_cost_usd"] == (D("0.0562"), openfinops.R_JOB_CLUSTER)
    assert nc["metrics.summary.total_estimated_cost_usd"] == (D("9.2135"), openfinops.R_TOTAL)
    ignored = {i["path"]: i["reason"] for i in t.ignored}
    assert "not running" in ignored["metrics.metrics.clusters.clusters[].estimated_cost_usd"]
    assert {r.BillingAccountId for r in t.records} == {"dbc-1234.cloud.databricks.com"}


def test_snowflake_payload_daily_total_is_not_added_to_its_items():
    t = translate(fixture("snowflake"))
    assert landed(t) == {
        "ETL_WH": (D("360.75"), DAY), "COMPUTE_WH": (D("127.54"), DAY),          # the last 24 h: a day
        "ANALYTICS": (per_hour_of_month(D("530.0"), datetime(2026, 11, 30, tzinfo=UTC)), HOUR),
        "RAW": (D("0.18888888888888888889"), HOUR),                               # 136.0 / 720
    }
    nc = not_counted(t)
    assert nc["metrics.summary.total_daily_cost_usd"] == (D("510.49"), openfinops.R_TOTAL)
    assert nc["metrics.metrics.user_attribution.user_attributions[].estimated_cost_usd"] == (
        D("474.0"), openfinops.R_ATTRIBUTION)
    users = {m.dimensions.get("user_name") for m in t.metrics if m.name.endswith("user_attributions.credits_used")}
    assert users == {"ETL_SVC", "ANALYST"}
    trend = [m for m in t.metrics if m.name == "snowflake.storage.databases.trend.total_tb"
             and m.dimensions["resource"] == "RAW"]
    assert len(trend) == 7 and min(m.timestamp for m in trend) == datetime(2026, 11, 24, tzinfo=UTC)


def test_saas_payload_hourly_monthly_rates_and_month_figures():
    t = translate(fixture("saas_services"))
    assert landed(t) == {
        "orders": (D("1.62"), HOUR), "analytics": (D("0.48"), HOUR),                 # Atlas hourly rates
        "1000101": (D("0.29236111111111111111"), HOUR),                             # Redis 210.5 a month
        "1000102": (D("0.12498611111111111111"), HOUR),                             # 89.99 a month
        "GitHub Actions": (D("11.6"), NOVEMBER), "Datadog": (D("675.0"), NOVEMBER),  # the month's bill
    }
    providers = {r.ResourceId or r.ServiceName: r.ProviderName for r in t.records}
    assert providers["orders"] == "MongoDB Atlas" and providers["GitHub Actions"] == "GitHub"
    nc = not_counted(t)
    assert nc["metrics.services.mongodb_atlas.clusters[].daily_cost_usd"][0] == D("50.40")
    assert nc["metrics.summary.estimated_annual_cost_usd"][0] == D("11845.08")


def test_generic_payload_is_metric_points_only():
    t = translate(fixture("generic"))
    assert t.records == []
    m = {x.name: x.value for x in t.metrics if "index" not in x.dimensions}
    assert m["generic.system_metrics.cpu.usage_percent"] == D("23.5")
    assert m["generic.system_metrics.memory.total_bytes"] == D(17179869184)


# ---------------------------------------------------------------- cost semantics

def _aws(ts, **services):
    return {"agent_id": "aws-agent-h-0a1b2c3d", "timestamp": ts, "cloud_provider": "aws", "region": "us-east-1",
            "services": services}


@pytest.mark.parametrize("when, hours", [("2026-02-14T10:30:00Z", 672), ("2028-02-14T10:30:00Z", 696),
                                         ("2026-04-30T23:59:59Z", 720), ("2026-12-31T00:00:00Z", 744)])
def test_a_monthly_cost_is_spread_over_the_real_hours_of_its_month(when, hours):
    t = translate(_aws(when, s3={"buckets": [{"bucket_name": "b", "monthly_cost": D("7.44")}]}))
    (r,) = t.records
    assert r.BilledCost == CONTEXT.divide(D("7.44"), D(hours)).quantize(D("1e-20"))
    assert r.ChargePeriodEnd - r.ChargePeriodStart == (datetime(2026, 1, 1, 1) - datetime(2026, 1, 1))
    assert f"{hours}-hour month" in r.ChargeDescription
    assert openfinops.hours_in_month(datetime.fromisoformat(when.replace("Z", "+00:00"))) == hours


def test_snapshots_in_one_hour_count_it_once_the_next_hour_is_another_record():
    ids = []
    for ts in ("2026-11-30T10:00:00Z", "2026-11-30T10:55:00Z", "2026-11-30T11:05:00Z"):
        (r,) = translate(_aws(ts, ec2={"instances": [{"instance_id": "i-1", "hourly_cost": D("0.1")}]})).records
        ids.append(r.id)
    assert ids[0] == ids[1] != ids[2]


def test_a_days_cost_is_one_record_per_utc_day_and_a_months_one_per_month():
    def snow(ts):
        return {"agent_id": "snowflake-acct-1796082433", "timestamp": ts, "metrics": {
            "account_name": "acct", "edition": "standard", "metrics": {"warehouses": {
                "lookback_hours": 24, "warehouses": [{"warehouse_name": "WH", "estimated_cost_usd": D("12")}]}}}}

    a, b, c = (translate(snow(ts)).records[0] for ts in ("2026-11-30T00:05:00Z", "2026-11-30T23:55:00Z",
                                                          "2026-12-01T00:05:00Z"))
    assert a.id == b.id != c.id and (iso(b.ChargePeriodStart), iso(b.ChargePeriodEnd)) == DAY

    def gh(ts):
        return {"agent_id": "saas-services-1796082433", "timestamp": ts, "metrics": {"services": {
            "github_actions": {"service": "github_actions", "estimated_monthly_cost_usd": D("3.2")}}}}

    first, last = translate(gh("2026-11-01T00:00:00Z")).records[0], translate(gh("2026-11-30T23:59:59Z")).records[0]
    assert first.id == last.id and (iso(last.ChargePeriodStart), iso(last.ChargePeriodEnd)) == NOVEMBER
    assert first.ChargeFrequency == "Recurring"


def test_an_agent_restart_keeps_the_same_records():
    """The agents put their start time in agent_id; the account id leaves it out."""
    def snap(agent_id):
        return {"agent_id": agent_id, "timestamp": "2026-11-30T10:00:00Z", "metrics": {"services": {
            "datadog": {"service": "datadog", "estimated_monthly_cost_usd": D("675")}}}}

    a, b = (translate(snap(x)).records[0] for x in ("saas-services-1796082433", "saas-services-1796090000"))
    assert a.id == b.id and a.BillingAccountId == "agent:saas-services"
    assert openfinops.stable_agent_key("aws-agent-host-1-0a1b2c3d") == "aws-agent-host-1"
    assert openfinops.stable_agent_key("my-agent") == "my-agent"


def test_eks_node_groups_count_once_with_their_ec2_nodes():
    nodes = [{"instance_id": f"i-{n}", "instance_type": "m5.large", "hourly_cost": D("0.096"),
              "tags": {"eks:cluster-name": "c", "eks:nodegroup-name": "ng-a"}} for n in (1, 2)]
    p = _aws("2026-11-30T10:00:00Z", ec2={"instances": nodes, "total_hourly_cost": D("0.192")},
             eks={"clusters": [{"cluster_name": "c", "nodegroups": [
                 {"nodegroup_name": "ng-a", "hourly_cost": D("0.192"), "desired_capacity": 2},
                 {"nodegroup_name": "ng-b", "hourly_cost": D("0.34"), "desired_capacity": 2}]}],
                 "total_hourly_cost": D("0.532")})
    t = translate(p)
    assert {r.ResourceId: r.BilledCost for r in t.records} == {"i-1": D("0.096"), "i-2": D("0.096"),
                                                             "c/ng-b": D("0.34")}
    assert D(t.cost()["USD"]) == D("0.532")      # = EC2 nodes + the node group without listed nodes
    assert not_counted(t)["services.eks.clusters[].nodegroups[].hourly_cost"][0] == D("0.192")
    assert not_counted(t)["services.eks.total_hourly_cost"] == (D("0.532"), openfinops.R_TOTAL)


def test_cloudtallys_own_agent_payload_amounts_as_strings():
    p = _aws("2026-11-30T10:00:00Z", ec2={"instances": [{"instance_id": "i-1", "hourly_cost": "0.096",
                                                         "cpu_utilization": "12.5", "type": "m5.large"}]})
    p["metrics"] = [{"name": "aws.ec2.cpu_utilization", "value": "12.5", "timestamp": "2026-11-30T10:00:00Z",
                     "dimensions": {"resource": "i-1"}}]
    t = translate(json.loads(json.dumps(p, default=str)))
    assert [r.BilledCost for r in t.records] == [D("0.096")]
    assert sorted(m.name for m in t.metrics) == ["aws.ec2.cpu_utilization", "aws.ec2.instances.cpu_utilization"]


def test_the_same_resource_listed_twice_counts_once():
    p = _aws("2026-11-30T10:00:00Z", rds={"databases": [{"db_identifier": "a", "hourly_cost": D("0.2")}],
                                          "replicas": [{"db_identifier": "a", "hourly_cost": D("0.2")}]})
    t = translate(p)
    assert len(t.records) == 1
    assert not_counted(t)["services.rds.replicas[].hourly_cost"] == (D("0.2"), openfinops.R_DUPLICATE)


# ---------------------------------------------------------------- what cannot be taken

def test_an_unreadable_or_unplaceable_cost_is_rejected_and_the_rest_lands():
    p = _aws("2026-11-30T10:00:00Z", ec2={"instances": [
        {"instance_id": "i-1", "hourly_cost": "lots"}, {"hourly_cost": D("0.1")},
        {"instance_id": "i-3", "hourly_cost": D("0.1")}, {"instance_id": "i-4", "estimated_cost_usd": D("1")},
        {"instance_id": "i-5", "annual_cost": D("100")}]})
    t = translate(p)
    assert [r.ResourceId for r in t.records] == ["i-3"]
    rejected = {r["path"]: r["errors"][0] for r in t.rejected}
    assert set(rejected) == {f"services.ec2.instances[{i}]" for i in (0, 1, 3, 4)}
    assert rejected["services.ec2.instances[0]"] == {"field": "hourly_cost", "message": "not a decimal number"}
    assert "needs an id" in rejected["services.ec2.instances[1]"]["message"]
    assert "without a period" in rejected["services.ec2.instances[3]"]["message"]
    assert unaccounted_leaves(p, t) == []


def test_a_cost_from_an_unknown_provider_is_rejected_not_guessed():
    t = translate({"agent_id": "x", "timestamp": 1796082433, "things": {"items": [{"id": "a", "hourly_cost": 1}]}})
    assert t.records == [] and "unknown provider" in t.rejected[0]["errors"][0]["message"]


def test_a_payload_of_which_nothing_is_taken_is_not_data():
    p = {"agent_id": "azure-telemetry-x-1796082433", "timestamp": 1796082433.5,
         "metrics": {"error": "DefaultAzureCredential failed to retrieve a token", "timestamp": 1796082433.5},
         "events": [], "agent_health": {"status": "healthy", "uptime": D(60)}}
    t = translate(p)
    assert not t.data_taken and t.records == [] and len(t.metrics) == t.health_metrics == 1
    assert {"path": "metrics.error", "count": 1,
            "reason": "the agent reported an error here: DefaultAzureCredential failed to retrieve a token"} in t.ignored


@pytest.mark.parametrize("payload, field", [([], ""), ({"timestamp": 1}, "agent_id"), ({"agent_id": "a"}, "timestamp"),
                                            ({"agent_id": "a", "timestamp": "yesterday"}, "timestamp")])
def test_a_payload_without_agent_or_time_is_invalid(payload, field):
    with pytest.raises(ValidationError) as e:
        translate(payload)
    assert e.value.details[0]["field"] == field


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 12, 10 ** 15) | st.decimals(allow_nan=False, allow_infinity=False,
                                                                              places=6, min_value=-10 ** 9,
                                                                              max_value=10 ** 9)
    | st.text(max_size=12) | st.sampled_from(["0.1", "12", "2026-11-30", "JOB", "aws"]),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(["instance_id", "hourly_cost", "monthly_cost", "estimated_cost_usd", "uptime_hours", "tags",
                         "services", "metrics", "summary", "total_hourly_cost", "ec2", "eks", "nodegroups",
                         "clusters", "lookback_hours", "start_time", "name", "cost", "error", "items", "date",
                         "cluster_source", "timestamp", "daily_cost_usd", "current_month_cost"]) | st.text(max_size=6),
        c, max_size=5),
    max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.dictionaries(st.sampled_from(["services", "metrics", "summary", "cloud_provider", "region",
                                             "account_id", "subscription_id", "collectors", "x"]), _json, max_size=4))
def test_any_payload_is_translated_or_refused_and_every_value_is_accounted(body):
    p = {"agent_id": "fuzz", "timestamp": 1796082433, **body}
    try:
        t = translate(p)
    except ValidationError:
        return
    assert unaccounted_leaves(p, t) == []
    for r in t.records:
        assert r.ChargePeriodEnd > r.ChargePeriodStart and r.BillingCurrency == "USD"


def test_deeply_nested_payloads_are_cut_at_the_depth_limit_not_a_server_error():
    deep: dict = {"instance_id": "leaf", "hourly_cost": 1}
    for i in range(600):
        deep = {"instance_id": f"i-{i}", "children": [deep]} if i % 2 else {"wrap": deep}
    t = translate(_aws("2026-11-30T10:00:00Z", ec2={"instances": [deep]}))
    assert openfinops.R_DEPTH in {i["reason"] for i in t.ignored}


def test_ten_thousand_instances_land_exactly():
    instances = [{"instance_id": f"i-{n:05d}", "instance_type": "m5.large", "hourly_cost": D("0.096"),
                  "cpu_usage": D("12.5"), "state": "running", "tags": {"team": "web"}} for n in range(10000)]
    t = translate(_aws("2026-11-30T10:00:00Z", ec2={"instances": instances, "total_hourly_cost": D("960")}))
    assert len(t.records) == 10000 and D(t.cost()["USD"]) == D("960.000") and len(t.metrics) == 10001
    assert t.ignored == [{"path": "services.ec2.instances[].state", "count": 10000,
                          "reason": openfinops.R_TEXT_UNMAPPED}]
