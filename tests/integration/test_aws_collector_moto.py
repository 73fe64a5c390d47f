"""The AWS collector's Lambda handler against moto server, posting to the API over HTTP (chalice local)."""

from __future__ import annotations

import urllib.request
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from tests.helpers import key_headers, load_module

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live_api(ddb_endpoint, tmp_path_factory):
    """The API at the system clock: moto stamps launches and Cost Explorer days with it, so the collector runs
    at it too, and the API must not take its status for a report from the future (``run_at`` > now + 10 min
    is refused) on any day after the pinned ``LIVE_NOW``."""
    from tests.conftest import _serve_api
    yield from _serve_api(ddb_endpoint, tmp_path_factory, now=None)


@pytest.fixture
def demo(moto_endpoint, live_api, monkeypatch, no_table):
    urllib.request.urlopen(urllib.request.Request(moto_endpoint + "/moto-api/reset", method="POST"), timeout=30)
    seeded = load_module(ROOT / "scripts" / "seed_moto_aws.py", "seed_moto_aws").seed(moto_endpoint)
    # the function's whole configuration: the API URL and a key with only the ingest scope (no table)
    assert live_api["keys"]["ingest"]["scopes"] == ["ingest"]
    for k, v in {"AWS_ENDPOINT_URL": moto_endpoint, "CLOUDTALLY_API_URL": live_api["url"],
                 "CLOUDTALLY_API_KEY_ID": live_api["keys"]["ingest"]["id"],
                 "CLOUDTALLY_API_KEY_SECRET": live_api["keys"]["ingest"]["secret"]}.items():
        monkeypatch.setenv(k, v)
    handler = load_module(ROOT / "functions" / "aws" / "handler.py", "aws_collector_handler")
    return seeded, handler


def _get(live_api, path, **params):
    r = requests.get(live_api["url"] + path, params=params, headers=key_headers(live_api["keys"]["read"]), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_handler_on_demo_account_billed_replaces_estimates_and_reruns_are_stable(demo, live_api, no_table):
    seeded, handler = demo
    event = {"collector": "aws", "config": {"regions": ["us-east-1", "eu-west-1"]}}
    with no_table():
        summary = handler.run_event(event)
    assert summary["failed_scopes"] == [] and summary["records_sent"] > 50
    # closed days go out as per-resource detail, today as provisional aggregates of the day ledgers
    assert summary["delivery"]["provisional"] > 0 and summary["delivery"]["aggregated"] > 0
    assert summary["api_calls"]["ce"] == {"GetCostAndUsage": 1}
    ce_day = seeded["ce_days"][-1]
    nxt = (date.fromisoformat(ce_day) + timedelta(days=1)).isoformat()
    day = _get(live_api, "/v1/costs/summary", **{"from": ce_day, "to": nxt, "group_by": "source"})
    # the day Cost Explorer billed: only billed records count, the estimates are superseded (kept aside)
    assert {r["group"]["source"] for r in day["results"]} == {"billed"}
    assert Decimal(day["totals"]["USD"]["BilledCost"]) == Decimal("93.67")
    assert Decimal(day["superseded_estimates"]["USD"]["EffectiveCost"]) > 0
    today = datetime.now(timezone.utc).date()
    tot_before = _get(live_api, "/v1/costs/summary", **{"from": seeded["ce_days"][0],
                                                        "to": (today + timedelta(days=1)).isoformat()})["totals"]
    with no_table():
        again = handler.run_event(event)
    assert again["failed_scopes"] == []
    # the re-run writes only today's provisional aggregates (the demo resources were launched today);
    # Cost Explorer and the Lambda/S3 usage metrics are interval-gated (billed per request / metric)
    assert again["records_sent"] == again["delivery"]["provisional"] > 0
    assert not {"ce", "lambda", "s3"} & set(again["api_calls"])
    tot_after = _get(live_api, "/v1/costs/summary", **{"from": seeded["ce_days"][0],
                                                       "to": (today + timedelta(days=1)).isoformat()})["totals"]
    # the second run sees a later clock: only today's running estimates may grow, billed days are identical
    day2 = _get(live_api, "/v1/costs/summary", **{"from": ce_day, "to": nxt})
    assert day2["totals"] == {k: v for k, v in day["totals"].items()}
    assert Decimal(tot_after["USD"]["BilledCost"]) >= Decimal(tot_before["USD"]["BilledCost"])
    cols = {c["name"]: c for c in _get(live_api, "/v1/collectors")["collectors"]}
    aws = cols["aws"]
    assert aws["status"] == "ok"
    scopes = {s["scope"] for s in aws["scopes"]}
    assert {"123456789012/us-east-1/ec2", "123456789012/eu-west-1/ec2", "ce/123456789012"} <= scopes
    # utilisation of the closed days is pulled once a day (GetMetricData is billed per metric)
    pts = _get(live_api, "/v1/metrics", name="aws.ec2.cpu_utilization",
               **{"from": (today - timedelta(days=2)).isoformat(), "to": today.isoformat()})
    assert pts["points"]
    assert summary["api_calls"]["monitoring"]["GetMetricData"] > again["api_calls"].get("monitoring", {}).get(
        "GetMetricData", 0)


def test_access_denied_region_visible_in_collectors(demo, live_api, monkeypatch, no_table):
    _, handler = demo
    from botocore.exceptions import ClientError

    from cloudtally.providers.aws.session import AwsClients

    clients = AwsClients({})

    def deny(**kw):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "DescribeDBInstances")

    clients.client("rds", "eu-west-1").meta.events.register("before-call.rds.DescribeDBInstances", deny)
    with no_table():
        summary = handler.run_event({"collector": "aws", "config": {"regions": ["us-east-1", "eu-west-1"]}},
                                    clients=clients)
    assert [f["scope"] for f in summary["failed_scopes"]] == ["123456789012/eu-west-1/rds"]
    cols = {c["name"]: c for c in _get(live_api, "/v1/collectors")["collectors"]}
    scope = next(s for s in cols["aws"]["scopes"] if s["scope"] == "123456789012/eu-west-1/rds")
    assert scope["status"] == "error" and scope["errors"][0]["code"] == "AccessDenied"
    assert cols["aws"]["status"] == "failing"
    today = datetime.now(timezone.utc).date()
    # the demo databases were created today: today's cost is the provisional aggregate per region
    recs = _get(live_api, "/v1/records", service="Amazon Relational Database Service", source="provisional",
                limit=100, **{"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()})["records"]
    assert "us-east-1" in {r["RegionId"] for r in recs}   # the other region's records are in place
