#!/usr/bin/env python3
"""Run every registered AWS-hosted collector once against the local stack (`make up` calls this).

* ``aws``: moto server is seeded with a realistic account (scripts/seed_moto_aws.py), then the
  collector runs through its Lambda handler, so the AWS numbers in the API come from the collector.
* ``azure``, ``azure-billing-export``: scripts/demo_azure.py (an emulated subscription, Azurite).
* ``aws-billing-export``: a FOCUS 1.2 Data Export for a separate demo payer account (synthetic,
  generated here) is put in a moto S3 bucket, then the collector imports it through its handler. Like
  AWS's, the export holds the previous billing period (closed) and the current one's closed days, so
  there is a bill to import whatever the date: on the 1st of a month the current period has no closed
  day yet and the collector imports the previous one (it re-checks it in a month's first days).

Environment (set by scripts/stack.py): AWS_ENDPOINT_URL (moto), CLOUDTALLY_TABLE and
CLOUDTALLY_DYNAMODB_ENDPOINT, CLOUDTALLY_API_URL and the ingest key; CLOUDTALLY_NOW pins the clock.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "functions" / "aws")]

from cloudtally.clock import from_env as clock_from_env  # noqa: E402
from cloudtally.collectors import registry  # noqa: E402
from cloudtally.focus import UTC, parse_record  # noqa: E402
from cloudtally.periods import month_start  # noqa: E402

EXPORT_BUCKET = "cloudtally-demo-data-exports"
EXPORT_NAME = "focus-daily"
EXPORT_ACCOUNT = "444455556666"


DEMO_EXPORT_SERVICES = (("Amazon CloudFront", "12.40", "Networking"), ("Amazon DynamoDB", "3.75", "Databases"),
                        ("AWS Key Management Service", "1.00", "Security"))


def demo_focus_export(start: datetime, end: datetime) -> str:
    """A small FOCUS 1.2 CSV (what AWS Data Exports delivers): the days ``[start, end)`` of one billing period."""
    from cloudtally.importers.export import COLUMNS, row
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    day = start
    while day < end:
        for svc, cost, category in DEMO_EXPORT_SERVICES:
            w.writerow(row(parse_record({
                "ProviderName": "AWS", "BillingAccountId": EXPORT_ACCOUNT, "SubAccountId": EXPORT_ACCOUNT,
                "ServiceName": svc, "ChargePeriodStart": day.isoformat(),
                "ChargePeriodEnd": (day + timedelta(days=1)).isoformat(), "BilledCost": cost, "BillingCurrency": "USD",
                "ChargeCategory": "Usage", "ServiceCategory": category, "x_CostSource": "billed",
                "Tags": {"team": "platform"}})))
        day += timedelta(days=1)
    return buf.getvalue()


def demo_focus_exports(now: datetime) -> dict[str, str]:
    """The export's files at ``now``, by billing period: the previous month in full and the current
    month's closed days (none on the 1st: that period has no file yet)."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    current = datetime.combine(month_start(today.date()), datetime.min.time(), UTC)
    previous = datetime.combine(month_start(today.date(), back=1), datetime.min.time(), UTC)
    out = {f"{previous:%Y-%m}": demo_focus_export(previous, current)}
    if today > current:
        out[f"{current:%Y-%m}"] = demo_focus_export(current, today)
    return out


def put_demo_export(s3, now: datetime, bucket: str = EXPORT_BUCKET) -> dict[str, Any]:
    """Deliver the demo export at ``now`` to ``bucket`` as Data Exports lays it out; returns the
    collector's schedule event for it."""
    s3.create_bucket(Bucket=bucket)
    for period, body in demo_focus_exports(now).items():
        s3.put_object(Bucket=bucket, Key=f"{EXPORT_NAME}/data/BILLING_PERIOD={period}/{EXPORT_NAME}-00001.csv",
                      Body=body.encode())
    return {"collector": "aws-billing-export", "config": {"bucket": bucket, "export_name": EXPORT_NAME,
                                                          "format": "focus"}}


# modules of scripts/ whose ``start(now)`` starts a provider's local fakes and returns {collector: event}
DEMOS = ["demo_saas", "demo_data_platforms", "demo_hubs"]


def demo_events(now: datetime, moto: str) -> dict[str, dict[str, Any]]:
    """Each Lambda-placed collector's schedule event, pointed at its local demo source."""
    import boto3
    from seed_moto_aws import seed
    created = seed(moto, now)
    print(f"[collectors] aws: seeded moto ({sum(len(v) for v in created['instances'].values())} instances)")
    events = {"aws": {"collector": "aws", "config": {"regions": ["us-east-1", "eu-west-1"]}},
              "aws-billing-export": put_demo_export(boto3.client("s3", region_name="us-east-1"), now)}
    for name in DEMOS:
        events.update(importlib.import_module(name).start(now))
    return events


def main() -> int:
    import handler  # functions/aws/handler.py
    moto = os.environ["AWS_ENDPOINT_URL"]
    now = clock_from_env().now()
    failed = 0
    events = demo_events(now, moto)
    for spec in registry.all_specs():
        if spec.runtime != "lambda":
            print(f"[collectors] {spec.name}: runs on {spec.runtime}; run by its own function app below")
            continue
        event = events.get(spec.name) or {"collector": spec.name}
        try:
            summary = handler.run_event(event, now=now)
        except Exception as e:  # report and go on: one collector's failure must not hide the others
            failed += 1
            print(f"[collectors] {spec.name}: FAILED: {type(e).__name__}: {e}")
            continue
        computed = sum(int(sc.get("records", 0)) for sc in summary.get("scopes", {}).values())
        # the AWS collector posts today's provisional aggregates, not every per-resource record (see README);
        # the billing-export collector replaces its periods through the API's /v1/imports
        print(f"[collectors] {spec.name}: {computed} records collected, {summary.get('records_sent', 0)} posted, "
              f"{summary.get('metrics_sent', 0)} metric points, {len(summary.get('failed_scopes', []))} failed scopes "
              f"{json.dumps(summary.get('failed_scopes', []))[:300]}")
    failed += __import__("demo_azure").run(now)      # scripts/demo_azure.py: the emulated subscription, Azurite
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    import demo_gcp   # the gcp collector (cloud-functions): emulated Google APIs, through its Cloud Functions entry point
    gcp = demo_gcp.main(clock_from_env().now())
    sys.exit(code or gcp)
