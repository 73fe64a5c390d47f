"""The ``aws-billing-export`` collector: AWS Data Exports (CUR 2.0 or FOCUS 1.2) delivered to S3,
imported as billed records with the same code as ``cloudtally import``.

Data Exports deliver each billing period under
``s3://<bucket>/<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/`` (several parts, CSV.gz or
Parquet) and, in overwrite mode, replace the whole period's files on each refresh. So each run
imports, for every billing period overlapping the window (and the one before it while the window is
in a month's first days), all the parts of the period *in one import run*: the period is replaced as
a whole (see :mod:`cloudtally.importers.apply`), and a period whose files have not changed since the
last import (newest ``LastModified`` ≤ the scope's cursor) is skipped.

Records are written straight to the table (the period replace deletes stale rows, which the ingest
API does not offer), so the collector yields nothing to the runner. Also usable from an S3
``ObjectCreated`` notification: :func:`handle_s3_event`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable
from urllib.parse import unquote_plus

from ..errors import ConfigError, ValidationError
from ..focus import UTC, iso
from .registry import CollectorSpec, register

SPEC = register(CollectorSpec(
    name="aws-billing-export",
    platform="aws",
    schedule="rate(6 hours)",
    module="cloudtally.collectors.aws_billing_export",
    sdk_extra="aws-import",             # boto3 + powertools (the handler) + polars (the importer)
    runtime_modules=("cloudtally.store", "cloudtally.importers.engine", "polars"),
    description="AWS Data Exports (CUR 2.0 or FOCUS 1.2) from S3, imported as billed records; each billing "
                "period's files replace that period (same code as `cloudtally import`).",
    secrets=(),
    iam_actions=(
        "s3:ListBucket",
        "s3:GetObject",
        # records and rollup markers in the CloudTally table (scope to the table ARN)
        "dynamodb:BatchWriteItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DescribeTable",
    ),
    default_config={
        "bucket": None,                 # the Data Exports S3 bucket (required)
        "prefix": "",                   # the export's S3 prefix
        "export_name": None,            # the export's name (required)
        "format": "auto",               # auto | aws-cur2 | focus
        "trailing_days": 3,             # periods overlapping [today - trailing_days, now) are checked
        "previous_period_days": 5,      # in a month's first days, the previous period is re-checked too
    },
    memory_mb=3008,                     # the columnar reader; gzip parts are streamed to /tmp first
    timeout_s=900,
))


@dataclass
class BillingExportClients:
    s3: Any
    store: Any


def make_clients(config: dict[str, Any]) -> BillingExportClients:
    import boto3  # lazy: no client at import
    from ..store import Store
    return BillingExportClients(s3=boto3.client("s3"), store=Store())


def _check(config: dict[str, Any]) -> tuple[str, str]:
    bucket, name = config.get("bucket"), config.get("export_name")
    if not bucket or not name:
        raise ConfigError("aws-billing-export needs config 'bucket' and 'export_name'")
    return bucket, "/".join(p.strip("/") for p in (config.get("prefix") or "", name, "data") if p.strip("/"))


def periods(start: datetime, end: datetime, previous_days: int) -> list[str]:
    """Billing periods (``YYYY-MM``) to check for a window."""
    out: list[str] = []
    d = date(start.year, start.month, 1)
    if start.day <= previous_days:
        d = (d - timedelta(days=1)).replace(day=1)
    while datetime(d.year, d.month, 1, tzinfo=UTC) < end:
        out.append(d.strftime("%Y-%m"))
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def period_sources(s3: Any, bucket: str, data_prefix: str, period: str) -> tuple[list[Any], datetime | None]:
    """The export files of one billing period and their newest LastModified."""
    from ..importers.sources import Source, _is_export
    prefix = f"{data_prefix}/BILLING_PERIOD={period}/"
    out, newest = [], None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if _is_export(obj["Key"]):
                out.append(Source(f"s3://{bucket}/{obj['Key']}", int(obj["Size"]), bucket=bucket, key=obj["Key"]))
                lm = obj["LastModified"]
                newest = lm if newest is None or lm > newest else newest
    return sorted(out, key=lambda s: s.name), newest


def import_period(clients: BillingExportClients, bucket: str, data_prefix: str, period: str, *,
                  fmt: str = "auto", cursor: str | None = None) -> dict[str, Any]:
    """Import one billing period's files in one run (replacing the period); skip if unchanged."""
    from ..importers.apply import run_import
    sources, newest = period_sources(clients.s3, bucket, data_prefix, period)
    if not sources:
        return {"period": period, "status": "no files"}
    stamp = iso(newest.astimezone(UTC)) if newest else None
    if cursor and stamp and stamp <= cursor:
        return {"period": period, "status": "unchanged", "cursor": stamp}
    rep = run_import(sources, fmt=fmt, store=clients.store, s3_client=clients.s3)
    if not rep.ok:
        raise ValidationError(f"billing period {period} not imported: "
                              + "; ".join(f"{n['file']}: {n['error']}" for n in rep.not_imported)[:900],
                              details=rep.not_imported[:20])
    return {"period": period, "status": "imported", "cursor": stamp, "rows": rep.rows, "records": rep.records,
            "written": rep.written, "deleted": rep.deleted, "totals": rep.totals}


def collect(ctx: Any) -> Iterable[Any]:
    """Import every changed billing period of the window; errors are recorded per period scope."""
    bucket, data_prefix = _check(ctx.config)
    win = ctx.window
    start = min(win.start, win.end - timedelta(days=int(ctx.config.get("trailing_days", 3))))
    for period in periods(start, win.end, int(ctx.config.get("previous_period_days", 5))):
        scope = f"s3://{bucket}/{data_prefix}/BILLING_PERIOD={period}"
        with ctx.scope(scope) as st:
            cursor = None
            if ctx.status is not None:
                item = ctx.status.get_collector_status(ctx.collector, scope)
                cursor = getattr(item, "cursor", None) if item is not None else None
            res = import_period(ctx.clients, bucket, data_prefix, period, fmt=ctx.config.get("format", "auto"),
                                cursor=cursor)
            st.records += int(res.get("written", 0))
            st.notes.append(f"{period}: {res['status']}" + (f", {res['rows']} rows, {res['written']} written, "
                                                             f"{res['deleted']} stale removed" if "rows" in res else ""))
            if ctx.status is not None and res.get("cursor"):
                ctx.status.set_collector_status(ctx.collector, scope, status="ok", records=int(res.get("written", 0)),
                                                cursor=res["cursor"])
    return []


def handle_s3_event(event: dict[str, Any], clients: BillingExportClients, *, fmt: str = "auto") -> list[dict[str, Any]]:
    """An S3 ObjectCreated notification: re-import the billing period(s) the new objects belong to."""
    done: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rec in event.get("Records", []):
        s3 = rec.get("s3", {})
        bucket = s3.get("bucket", {}).get("name")
        key = unquote_plus(s3.get("object", {}).get("key", ""))   # event keys are URL-encoded
        marker = "/BILLING_PERIOD="
        if not bucket or marker not in key:
            continue
        data_prefix, rest = key.split(marker, 1)
        period = rest.split("/", 1)[0]
        k = (bucket, data_prefix, period)
        if k not in done:
            done[k] = import_period(clients, bucket, data_prefix, period, fmt=fmt)
    return list(done.values())
