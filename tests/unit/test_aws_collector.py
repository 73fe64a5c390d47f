"""The AWS collector against moto in-process (mock_aws) and recorded Cost Explorer responses."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from cloudtally import catalog
from cloudtally.collectors import registry, runner
from cloudtally.providers.aws import collector as aws

UTC = timezone.utc
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "aws"
CENT = Decimal("0.01")


def MemStatus():
    return runner.MemoryStatus(ledgers=False)   # status and cursors only: every run sends everything


@pytest.fixture
def account():
    with mock_aws():
        ec2 = boto3.client("ec2", "us-east-1")
        ami = next(i["ImageId"] for i in ec2.describe_images()["Images"] if not i.get("Platform"))
        ec2.run_instances(ImageId=ami, MinCount=3, MaxCount=3, InstanceType="m5.large")
        ec2.run_instances(ImageId=ami, MinCount=2, MaxCount=2, InstanceType="t3.large", TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "eks:cluster-name", "Value": "prod"}]}])
        eu = boto3.client("ec2", "eu-west-1")
        eu_ami = next(i["ImageId"] for i in eu.describe_images()["Images"] if not i.get("Platform"))
        eu.run_instances(ImageId=eu_ami, MinCount=2, MaxCount=2, InstanceType="c5.large")
        boto3.client("eks", "us-east-1").create_cluster(name="prod", roleArn="arn:aws:iam::123456789012:role/x",
                                                        resourcesVpcConfig={})
        boto3.client("rds", "us-east-1").create_db_instance(
            DBInstanceIdentifier="db1", DBInstanceClass="db.t3.medium", Engine="postgres", AllocatedStorage=20,
            MasterUsername="a", MasterUserPassword="abcdefgh1", MultiAZ=True, StorageType="gp3")
        s3 = boto3.client("s3", "us-east-1")
        s3.create_bucket(Bucket="bucket-one")
        yield datetime.now(UTC).replace(microsecond=0)


def _run(now, status=None, clients=None, **cfg):
    sink = runner.ListSink()
    config = {"regions": ["us-east-1", "eu-west-1"], **cfg}
    summary = runner.run(registry.get("aws"), sink=sink, now=now, status=status, clients=clients, config=config)
    return summary, sink


def test_each_service_priced_and_eks_node_counted_once(account):
    summary, sink = _run(account + timedelta(hours=30))
    recs = list(sink.records.values())
    assert not summary["failed_scopes"]
    by_svc = Counter(r.ServiceName for r in recs)
    for svc in ("Amazon Elastic Compute Cloud", "Amazon Elastic Block Store", "Amazon Elastic Kubernetes Service",
                "Amazon Relational Database Service"):
        assert by_svc[svc] > 0, svc
    # an EKS node is an EC2 instance: one record per instance and day, carrying its cluster
    per_day = Counter((r.ResourceId, r.day) for r in recs if r.ServiceName == "Amazon Elastic Compute Cloud")
    assert set(per_day.values()) == {1}
    nodes = {r.ResourceId for r in recs if r.Tags.get("eks:cluster-name") == "prod"}
    assert len(nodes) == 2
    assert all("EKS cluster prod" in r.ChargeDescription for r in recs if r.ResourceId in nodes)
    eks = [r for r in recs if r.ServiceName == "Amazon Elastic Kubernetes Service"]
    assert all(r.ResourceType == "cluster-standard" for r in eks)
    assert not any(r.ResourceId in nodes for r in eks)


def test_each_estimate_is_catalog_price_times_usage(account):
    _, sink = _run(account + timedelta(hours=30))
    cat = catalog.load("aws")
    n = 0
    for r in sink.records.values():
        assert r.x_CostSource == "estimated" and r.x_CatalogVersion == cat.label
        svc, region, *key = r.SkuPriceId.split("/")
        multi = key[-1] == "multi-az"
        price = cat.price(svc, region, *(key[:-1] if multi else key), multi_az=multi)
        assert r.ListUnitPrice == price.amount
        assert r.BilledCost.quantize(CENT, ROUND_HALF_UP) == (price.amount * r.ConsumedQuantity).quantize(CENT, ROUND_HALF_UP)
        assert r.BilledCost == price.amount * r.ConsumedQuantity   # and in fact exactly
        n += 1
    assert n > 20
    m5 = [r for r in sink.records.values() if r.ResourceType == "m5.large" and r.day == (account + timedelta(hours=30)).date().isoformat()]
    assert m5 and m5[0].ListUnitPrice == Decimal("0.096")


def test_estimates_are_complete_focus_1_2(account):
    """SKU, quantities, unit prices, units in the FOCUS format, names and types from the AWS taxonomy."""
    from tests.focus_rules import record_rows, violations
    _, sink = _run(account + timedelta(hours=30))
    recs = list(sink.records.values())
    assert recs and violations(record_rows(recs)) == []
    assert {r.PricingUnit for r in recs} <= {"Hours", "GB-Months", "GB-Seconds", "Requests"}
    assert all(r.SkuId == r.SkuPriceId and r.SkuMeter and r.ServiceSubcategory and r.RegionName for r in recs)
    assert all((r.BillingAccountType, r.SubAccountType) == ("Payer Account", "Linked Account") for r in recs)
    ebs = next(r for r in recs if r.ServiceName == "Amazon Elastic Block Store")
    assert (ebs.ServiceCategory, ebs.ServiceSubcategory, ebs.PricingUnit) == ("Storage", "Block Storage", "GB-Months")
    assert next(r for r in recs if r.RegionId == "eu-west-1").RegionName == "EU (Ireland)"


def test_access_denied_in_one_region_keeps_the_others(account):
    clients = aws.AwsClients({})

    def deny(**kw):
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "not allowed in eu-west-1"}},
                          "DescribeInstances")

    clients.client("ec2", "eu-west-1").meta.events.register("before-call.ec2.DescribeInstances", deny)
    status = MemStatus()
    summary, sink = _run(account + timedelta(hours=5), status=status, clients=clients)
    failed = {f["scope"]: f["errors"] for f in summary["failed_scopes"]}
    assert list(failed) == ["123456789012/eu-west-1/ec2"]
    assert failed["123456789012/eu-west-1/ec2"][0]["code"] == "UnauthorizedOperation"
    regions = {r.RegionId for r in sink.records.values() if r.ServiceName == "Amazon Elastic Compute Cloud"}
    assert regions == {"us-east-1"}
    st = status.get_collector_status("aws", "123456789012/eu-west-1/ec2")
    assert st.status == "error" and st.cursor is None and st.errors[0]["code"] == "UnauthorizedOperation"
    assert status.get_collector_status("aws", "123456789012/us-east-1/ec2").status == "ok"


def test_running_twice_is_identical_and_a_skipped_day_is_backfilled(account):
    status = MemStatus()
    now = account + timedelta(hours=2)
    _, first = _run(now, status=status, trailing_days=0, initial_days=0)
    _, again = _run(now, status=status, trailing_days=0, initial_days=0)
    assert {k: (r.BilledCost, r.ConsumedQuantity) for k, r in first.records.items()} == \
           {k: (r.BilledCost, r.ConsumedQuantity) for k, r in again.records.items()}
    # skip a day: the cursor makes the next run cover it even with no trailing window
    later = now + timedelta(days=2)
    summary, third = _run(later, status=status, trailing_days=0, initial_days=0)
    days = {r.day for r in third.records.values() if r.ServiceName == "Amazon Elastic Compute Cloud"}
    skipped = (now + timedelta(days=1)).date().isoformat()
    assert skipped in days
    full = [r for r in third.records.values() if r.day == skipped and r.ResourceType == "m5.large"]
    assert full and all(r.ConsumedQuantity == Decimal(24) for r in full)
    # without the cursor the skipped day would not be re-pulled
    _, blind = _run(later, status=MemStatus(), trailing_days=0, initial_days=0)
    assert skipped not in {r.day for r in blind.records.values()}


def _ce_ctx(**cfg):
    now = datetime(2024, 9, 3, 1, tzinfo=UTC)
    return runner.CollectorContext(collector="aws", window=runner.Window(datetime(2024, 9, 1, tzinfo=UTC), now),
                                   clients=None, catalog=catalog.load("aws"), config=aws.AwsConfig.parse(cfg),
                                   logger=runner.log, now=now)


def test_cost_explorer_recorded_response_becomes_billed_records():
    resp = json.loads((FIX / "ce_get_cost_and_usage.json").read_text())
    resp.pop("_source")
    ce = boto3.client("ce", "us-east-1")
    ctx = _ce_ctx()
    with Stubber(ce) as stub:
        stub.add_response("get_cost_and_usage", resp, {
            "TimePeriod": {"Start": "2024-09-01", "End": "2024-09-04"}, "Granularity": "DAILY",
            "Metrics": ["UnblendedCost", "AmortizedCost"],
            "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]})
        recs = list(aws.cost_explorer_records(ctx, ce, "111122223333", ctx.window))
        stub.assert_no_pending_responses()
    assert len(recs) == 3
    ec2 = recs[0]
    assert (ec2.BilledCost, ec2.EffectiveCost) == (Decimal("12.3456789012"), Decimal("10.1000000001"))
    assert ec2.x_CostSource == "billed" and ec2.BillingAccountId == "111122223333" and ec2.SubAccountId == "210987654321"
    assert ec2.ServiceCategory == "Compute" and ec2.day == "2024-09-01"
    assert recs[1].BilledCost == Decimal("0.0000001")
    assert recs[2].ChargeCategory == "Tax"


def test_cost_explorer_rows_are_completed_from_what_cost_explorer_says():
    """Linked-account names from DimensionValueAttributes, the service's FOCUS category and subcategory
    (the taxonomy the CUR import uses too), charge frequency, account types."""
    from cloudtally.providers.aws import taxonomy
    resp = json.loads((FIX / "ce_get_cost_and_usage.json").read_text())
    resp.pop("_source")
    resp["DimensionValueAttributes"] = [{"Value": "210987654321", "Attributes": {"description": "prod-account"}}]
    ce = boto3.client("ce", "us-east-1")
    ctx = _ce_ctx()
    with Stubber(ce) as stub:
        stub.add_response("get_cost_and_usage", resp)
        recs = list(aws.cost_explorer_records(ctx, ce, "111122223333", ctx.window))
    ec2, tax = recs[0], recs[2]
    assert (ec2.SubAccountName, ec2.SubAccountType, ec2.BillingAccountType) == ("prod-account", "Linked Account",
                                                                                 "Payer Account")
    assert ec2.BillingAccountName == "111122223333"     # Cost Explorer does not name the payer here: its id
    assert (ec2.ServiceCategory, ec2.ServiceSubcategory) == taxonomy.service_categories("AmazonEC2")
    assert (ec2.ChargeFrequency, tax.ChargeFrequency) == ("Usage-Based", "One-Time")
    assert all(r.PricingCurrency == "USD" and r.PricingCurrencyEffectiveCost == r.EffectiveCost for r in recs)
    assert taxonomy.service_categories("Amazon Redshift") == taxonomy.service_categories("AmazonRedshift")


def test_cost_explorer_tag_key_splits_per_account():
    resp = json.loads((FIX / "ce_get_cost_and_usage.json").read_text())
    resp.pop("_source")
    tagged = {"ResultsByTime": [{"TimePeriod": {"Start": "2024-09-01", "End": "2024-09-02"}, "Estimated": False,
                                 "Groups": [{"Keys": ["AWS Lambda", "team$web"], "Metrics": {
                                     "UnblendedCost": {"Amount": "2", "Unit": "USD"},
                                     "AmortizedCost": {"Amount": "1.9", "Unit": "USD"}}}]}]}
    ce = boto3.client("ce", "us-east-1")
    ctx = _ce_ctx(ce_tag_key="team")
    with Stubber(ce) as stub:
        stub.add_response("get_cost_and_usage", resp)
        stub.add_response("get_cost_and_usage", tagged)
        stub.add_response("get_cost_and_usage", {"ResultsByTime": []})
        recs = list(aws.cost_explorer_records(ctx, ce, "111122223333", ctx.window))
        stub.assert_no_pending_responses()   # 1 + one request per linked account (2)
    assert [(r.SubAccountId, r.Tags) for r in recs] == [("210987654321", {"team": "web"})]


def test_metric_queries_stay_within_three_calls_per_thousand_instances():
    ids = [f"i-{n:017x}" for n in range(1000)]
    qs = aws.ec2_metric_queries(ids, 3600)
    assert len(qs) <= 3 * aws.GMD_MAX_QUERIES
    assert all(len(q["Expression"]) <= 1024 for q in qs if "Expression" in q)
    covered = {i for q in qs if "Expression" in q for i in ids if f'"{i}"' in q["Expression"]}
    assert covered == set(ids)


def test_collector_module_imports_no_sdk():
    import subprocess
    import sys
    # what the import adds (functions-framework's namespace .pth pre-loads an empty ``google`` package at startup)
    code = ("import sys; before = set(sys.modules); import cloudtally.providers.aws.collector; "
            "bad = [m for m in set(sys.modules) - before if m.split('.')[0] in ('boto3', 'azure', 'google', 'databricks', 'snowflake')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_per_request_billed_apis_are_interval_gated(account):
    """Cost Explorer ($0.01/request) and GetMetricData ($0.01/1000 metrics) are not called every hour."""
    status = MemStatus()
    requested = Counter()
    clients = aws.AwsClients({})
    for region in ("us-east-1", "eu-west-1"):
        clients.client("cloudwatch", region).meta.events.register(
            "provide-client-params.cloudwatch.GetMetricData",
            lambda params, **kw: requested.update(q["Id"][0] for q in params["MetricDataQueries"]))
    day0 = datetime(account.year, account.month, account.day, tzinfo=UTC) + timedelta(days=1)

    def run(at, **cfg):
        requested.clear()
        summary, _ = _run(at, status=status, clients=clients, **cfg)
        assert not summary["failed_scopes"], summary["failed_scopes"]
        return summary["api_calls"], dict(requested)

    calls, asked = run(day0 + timedelta(hours=1))
    assert calls["ce"] == {"GetCostAndUsage": 1}
    assert asked.get("c") == 7                     # CPU of the 7 running instances, closed days only
    assert "s" not in asked                        # network/disk SEARCH is opt-in (billed per metric found)
    # moto lists the bucket's StandardStorage size and object count: 2 metrics asked, not all 9 classes + 1
    assert asked.get("b") == 1 and asked.get("o") == 1
    calls, asked = run(day0 + timedelta(hours=2))
    assert "ce" not in calls and asked == {}       # an hour later: nothing billed per request is due
    calls, asked = run(day0 + timedelta(hours=13, minutes=1))
    assert calls["ce"] == {"GetCostAndUsage": 1} and asked == {}
    calls, asked = run(day0 + timedelta(days=1, hours=1))
    # the next day: Lambda/S3 usage (daily) and Cost Explorer again; CPU waits for its 72 h interval
    assert "c" not in asked and asked.get("b") == 1 and calls["ce"] == {"GetCostAndUsage": 1}
    calls, asked = run(day0 + timedelta(days=3, hours=1), metrics_extended=True)
    assert asked.get("c") == 7 and asked.get("s", 0) >= 1   # opted in: SEARCH expressions for network/disk
