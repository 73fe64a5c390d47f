"""The ``aws-billing-export`` collector against moto server's S3 and DynamoDB Local."""

from __future__ import annotations

import gzip
import urllib.request
from datetime import date, datetime, timezone
from decimal import Decimal

import boto3
import pytest

from cloudtally.providers.aws import billing_export as abe
from cloudtally.collectors import registry, runner
from cloudtally.importers.formats import camel_to_cur2
from cloudtally.query import Query
from tests.conftest import SHARED

pytestmark = pytest.mark.integration
CUR = SHARED / "data" / "billing" / "aws-cur" / "sample-anonymous-aws-export-dataset.csv"
DATA = "exports/cur2/data/BILLING_PERIOD=2023-11"


class NullSink:
    def send_records(self, records):
        raise AssertionError("the billing-export collector writes to the table itself")

    def send_metrics(self, points):
        raise AssertionError("no metrics")


def cur2_parts() -> list[bytes]:
    """The CUR sample as a CUR 2.0 export in two gzip parts (header in each)."""
    head, body = CUR.read_text(encoding="utf-8").split("\n", 1)
    header = ",".join(camel_to_cur2(h) for h in head.split(","))
    lines = body.splitlines(keepends=True)
    half = len(lines) // 2
    return [gzip.compress((header + "\n" + "".join(p)).encode()) for p in (lines[:half], lines[half:])]


def billed(store):
    return store.summary(Query(start=date(2023, 11, 1), end=date(2023, 12, 1), granularity="total",
                               filters={"source": ("billed",)}))["totals"]


def test_collector_imports_the_period_skips_unchanged_and_replaces_on_refresh(moto_endpoint, store):
    urllib.request.urlopen(urllib.request.Request(moto_endpoint + "/moto-api/reset", method="POST"), timeout=30)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="billing")
    parts = cur2_parts()
    for i, p in enumerate(parts):
        s3.put_object(Bucket="billing", Key=f"{DATA}/cur2-0000{i + 1}.csv.gz", Body=p)
    spec = registry.get("aws-billing-export")
    assert spec.platform == "aws" and "s3:GetObject" in spec.iam_actions
    clients = abe.BillingExportClients(s3=s3, store=store)
    config = {"bucket": "billing", "prefix": "exports", "export_name": "cur2"}
    now = datetime(2023, 11, 20, tzinfo=timezone.utc)
    summary = runner.run(spec, sink=NullSink(), clients=clients, catalog=object(), config=config, status=store,
                         now=now)
    assert summary.get("failed_scopes", []) == [], summary
    assert billed(store)["USD"]["BilledCost"] == Decimal("1.68230869740")
    # an unchanged period is skipped (the cursor is the newest LastModified)
    assert abe.import_period(clients, "billing", "exports/cur2/data", "2023-11",
                             cursor=abe.import_period(clients, "billing", "exports/cur2/data", "2023-11")["cursor"]
                             )["status"] == "unchanged"
    # AWS refreshes the period (overwrite mode): one part now without its tax rows
    head, *rows = gzip.decompress(parts[0]).decode().splitlines(keepends=True)
    s3.put_object(Bucket="billing", Key=f"{DATA}/cur2-00001.csv.gz",
                  Body=gzip.compress((head + "".join(r for r in rows if ",Tax," not in r)).encode()))
    event = {"Records": [{"s3": {"bucket": {"name": "billing"},
                                 "object": {"key": f"{DATA}/cur2-00001.csv.gz".replace("=", "%3D")}}}]}
    res = abe.handle_s3_event(event, clients)
    assert res[0]["status"] == "imported" and res[0]["deleted"] == 12
    assert billed(store)["USD"]["BilledCost"] == Decimal("1.60230869740")


def test_config_is_checked():
    from cloudtally.errors import ConfigError
    with pytest.raises(ConfigError):
        abe._check({"bucket": None})
    assert abe.periods(datetime(2024, 3, 2, tzinfo=timezone.utc), datetime(2024, 3, 20, tzinfo=timezone.utc), 5) == \
        ["2024-02", "2024-03"]
