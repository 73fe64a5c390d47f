#!/usr/bin/env python3
"""Run every registered AWS-hosted collector once against the local stack (`make up` calls this).

* ``aws``: moto server is seeded with a realistic account (scripts/seed_moto_aws.py), then the
  collector runs through its Lambda handler, so the AWS numbers in the API come from the collector.
* ``aws-billing-export``: a FOCUS 1.2 Data Export for a separate demo payer account (synthetic,
  generated here) is put in a moto S3 bucket, then the collector imports it through its handler.

Environment (set by scripts/stack.py): AWS_ENDPOINT_URL (moto), CLOUDTALLY_TABLE and
CLOUDTALLY_DYNAMODB_ENDPOINT, CLOUDTALLY_API_URL and the ingest key.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "functions" / "aws")]

from cloudtally.collectors import registry  # noqa: E402
from cloudtally.focus import UTC, parse_record  # noqa: E402

EXPORT_BUCKET = "cloudtally-demo-data-exports"
EXPORT_NAME = "focus-daily"
EXPORT_ACCOUNT = "444455556666"


def demo_focus_export(now: datetime) -> str:
    """A small FOCUS 1.2 CSV (what AWS Data Exports delivers) for the current billing period."""
    from cloudtally.importers.export import COLUMNS, row
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    day = start
    n = 0
    while day < now.replace(hour=0, minute=0, second=0, microsecond=0):
        for svc, cost in (("Amazon CloudFront", "12.40"), ("Amazon DynamoDB", "3.75"), ("AWS Key Management Service", "1.00")):
            w.writerow(row(parse_record({
                "ProviderName": "AWS", "BillingAccountId": EXPORT_ACCOUNT, "SubAccountId": EXPORT_ACCOUNT,
                "ServiceName": svc, "ChargePeriodStart": day.isoformat(),
                "ChargePeriodEnd": (day + timedelta(days=1)).isoformat(), "BilledCost": cost, "BillingCurrency": "USD",
                "ChargeCategory": "Usage", "ServiceCategory": "Networking" if "Front" in svc else "Databases"
                if "Dynamo" in svc else "Security", "x_CostSource": "billed", "Tags": {"team": "platform"}})))
            n += 1
        day += timedelta(days=1)
    return buf.getvalue()


def main() -> int:
    import boto3
    import handler  # functions/aws/handler.py
    from seed_moto_aws import seed
    moto = os.environ["AWS_ENDPOINT_URL"]
    now = datetime.now(UTC)
    failed = 0
    for spec in registry.all_specs():
        if spec.platform != "aws":
            print(f"[collectors] {spec.name}: runs on {spec.platform}; not part of the local AWS stack")
            continue
        if spec.name == "aws":
            created = seed(moto)
            print(f"[collectors] aws: seeded moto ({sum(len(v) for v in created['instances'].values())} instances)")
            event = {"collector": "aws", "config": {"regions": ["us-east-1", "eu-west-1"]}}
        elif spec.name == "aws-billing-export":
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket=EXPORT_BUCKET)
            key = f"{EXPORT_NAME}/data/BILLING_PERIOD={now:%Y-%m}/{EXPORT_NAME}-00001.csv"
            s3.put_object(Bucket=EXPORT_BUCKET, Key=key, Body=demo_focus_export(now).encode())
            event = {"collector": spec.name, "config": {"bucket": EXPORT_BUCKET, "export_name": EXPORT_NAME,
                                                        "format": "focus"}}
        else:
            event = {"collector": spec.name}
        try:
            summary = handler.run_event(event)
        except Exception as e:  # report and go on: one collector's failure must not hide the others
            failed += 1
            print(f"[collectors] {spec.name}: FAILED: {type(e).__name__}: {e}")
            continue
        computed = sum(int(sc.get("records", 0)) for sc in summary.get("scopes", {}).values())
        # the AWS collector posts today's provisional aggregates, not every per-resource record (see README);
        # the billing-export collector writes straight to the table
        print(f"[collectors] {spec.name}: {computed} records collected, {summary.get('records_sent', 0)} posted, "
              f"{summary.get('metrics_sent', 0)} metric points, {len(summary.get('failed_scopes', []))} failed scopes "
              f"{json.dumps(summary.get('failed_scopes', []))[:300]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
