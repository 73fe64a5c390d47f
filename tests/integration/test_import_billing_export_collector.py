"""The ``aws-billing-export`` collector against moto server's S3 and DynamoDB Local."""

from __future__ import annotations

import gzip
import urllib.request
from datetime import date, datetime, timezone
from decimal import Decimal

import boto3
import pytest

from cloudtally.providers.aws import billing_export as abe
from cloudtally.collectors import registry
from cloudtally.importers.formats import camel_to_cur2
from cloudtally.query import Query
from tests.conftest import SHARED

pytestmark = pytest.mark.integration
CUR = SHARED / "data" / "billing" / "aws-cur" / "sample-anonymous-aws-export-dataset.csv"
DATA = "exports/cur2/data/BILLING_PERIOD=2023-11"


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


def test_collector_imports_the_period_skips_unchanged_and_replaces_on_refresh(moto_endpoint, http_api, store,
                                                                             monkeypatch, no_table):
    urllib.request.urlopen(urllib.request.Request(moto_endpoint + "/moto-api/reset", method="POST"), timeout=30)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="billing")
    parts = cur2_parts()
    for i, p in enumerate(parts):
        s3.put_object(Bucket="billing", Key=f"{DATA}/cur2-0000{i + 1}.csv.gz", Body=p)
    spec = registry.get("aws-billing-export")
    assert spec.runtime == "lambda" and set(spec.permissions.aws) == {"s3:GetObject", "s3:ListBucket"}
    # GIVEN the function's environment: the API URL, an ingest-only key, S3 (moto); no table
    key = http_api["keys"]["ingest"]
    for k, v in {"AWS_ENDPOINT_URL": moto_endpoint, "CLOUDTALLY_API_URL": http_api["url"],
                 "CLOUDTALLY_API_KEY_ID": key["id"], "CLOUDTALLY_API_KEY_SECRET": key["secret"]}.items():
        monkeypatch.setenv(k, v)
    from cloudtally.collectors.function import run_collector
    config = {"bucket": "billing", "prefix": "exports", "export_name": "cur2"}
    now = datetime(2023, 11, 20, tzinfo=timezone.utc)
    with no_table():
        summary = run_collector("aws-billing-export", event_config=config, now=now)
    assert summary["failed_scopes"] == [], summary
    assert summary["api_requests"]["imports"] >= 3          # begin, stage, commit
    assert billed(store)["USD"]["BilledCost"] == Decimal("1.68230869740")
    # the scope's cursor is the export's LastModified, not the run's date
    scope = "s3://billing/exports/cur2/data/BILLING_PERIOD=2023-11"
    stamp = store.get_collector_status("aws-billing-export", scope).cursor
    assert stamp is not None and "T" in stamp and stamp != now.date().isoformat()
    # WHEN it runs again the same day THEN the unchanged period is skipped (not imported on every run)
    with no_table():
        again = run_collector("aws-billing-export", event_config=config, now=now.replace(hour=6))
    assert "2023-11: unchanged" in again["scopes"][scope]["notes"] and again["api_requests"]["imports"] == 0
    # AWS refreshes the period (overwrite mode): one part now without its tax rows
    head, *rows = gzip.decompress(parts[0]).decode().splitlines(keepends=True)
    s3.put_object(Bucket="billing", Key=f"{DATA}/cur2-00001.csv.gz",
                  Body=gzip.compress((head + "".join(r for r in rows if ",Tax," not in r)).encode()))
    event = {"Records": [{"s3": {"bucket": {"name": "billing"},
                                 "object": {"key": f"{DATA}/cur2-00001.csv.gz".replace("=", "%3D")}}}]}
    from cloudtally.importers.targets import ApiTarget
    with no_table():
        res = abe.handle_s3_event(event, s3, ApiTarget(http_api["client"]))
    assert res[0]["status"] == "imported" and res[0]["deleted"] == 12
    assert billed(store)["USD"]["BilledCost"] == Decimal("1.60230869740")


def test_config_is_checked():
    from cloudtally.errors import ConfigError
    cfg = abe.BillingExportConfig.parse({"bucket": None})
    with pytest.raises(ConfigError, match="export_name"):
        abe.data_prefix(cfg)
    with pytest.raises(ConfigError, match="previous_period_days"):
        abe.BillingExportConfig.parse({"previous_period_days": 40})
