"""The ``aws-billing-export`` collector: AWS Data Exports (CUR 2.0 or FOCUS 1.2) delivered to S3,
imported as billed records with the same code as ``cloudtally import``.

Data Exports deliver each billing period under
``s3://<bucket>/<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/`` (several parts, CSV.gz or
Parquet) and, in overwrite mode, replace the whole period's files on each refresh. So each run
imports, for every billing period overlapping the window (and the one before it while the window is
in a month's first days), all the parts of the period *in one import*: the period is replaced as a
whole, in one visible step, by the API's period replace (``/v1/imports``, :mod:`cloudtally.store.imports`),
and a period whose files have not changed since the last import (newest ``LastModified`` ≤ the scope's
cursor) is skipped. The function needs only the API URL and an ingest key besides S3 read access.
Also usable from an S3 ``ObjectCreated`` notification: :func:`handle_s3_event`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Literal
from urllib.parse import unquote_plus

from ... import periods as P
from ...collectors.config import CollectorConfig
from ...collectors.registry import CollectorSpec, Permissions, Schedule, register
from ...errors import ConfigError, ValidationError
from ...focus import UTC, iso


@dataclass(frozen=True)
class BillingExportConfig(CollectorConfig):
    bucket: str | None = field(default=None, metadata={"help": "the Data Exports S3 bucket (required)"})
    prefix: str = field(default="", metadata={"help": "the export's S3 prefix"})
    export_name: str | None = field(default=None, metadata={"help": "the export's name (required)"})
    format: Literal["auto", "aws-cur2", "focus"] = "auto"
    previous_period_days: int = 5       # in a month's first days, the previous period is re-checked too

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if not 0 <= self.previous_period_days <= 27:
            out.append(("previous_period_days", "between 0 and 27"))
        return out


SPEC = register(CollectorSpec(
    name="aws-billing-export",
    provider="aws",
    runtime="lambda",
    schedule=Schedule.every(hours=6),
    module="cloudtally.providers.aws.billing_export",
    config=BillingExportConfig,
    sdk_extra="aws-import",             # boto3 + powertools (the handler) + polars (the importer)
    runtime_modules=("cloudtally.importers.engine", "cloudtally.importers.targets", "polars"),
    description="AWS Data Exports (CUR 2.0 or FOCUS 1.2) from S3, imported as billed records; each billing "
                "period's files replace that period in one visible step (same code as `cloudtally import`).",
    permissions=Permissions(aws=("s3:ListBucket", "s3:GetObject")),
    fixtures="aws-billing-export",
    errors="cloudtally.providers.aws.errors:to_provider_error",
    memory_mb=3008,                     # the columnar reader; gzip parts are streamed to /tmp first
    timeout_s=900,
))


@dataclass
class BillingExportClients:
    s3: Any
    aws: Any = None          # the AwsClients that made s3 (counts calls into the run)

    def bind(self, ctx: Any) -> None:
        if self.aws is not None:
            self.aws.bind(ctx)


def make_clients(config: BillingExportConfig, secrets: Any = None) -> BillingExportClients:
    from .session import AwsClients
    aws = AwsClients()
    return BillingExportClients(s3=aws.client("s3", None), aws=aws)


def data_prefix(config: BillingExportConfig) -> tuple[str, str]:
    """``(bucket, <prefix>/<export-name>/data)``; a clear error naming the missing setting."""
    missing = [n for n in ("bucket", "export_name") if not getattr(config, n)]
    if missing:
        raise ConfigError(f"aws-billing-export needs config {' and '.join(repr(m) for m in missing)}",
                          details=[{"field": m, "message": "required"} for m in missing])
    return config.bucket, "/".join(p.strip("/") for p in (config.prefix or "", config.export_name, "data")
                                    if p.strip("/"))


def billing_periods(start: datetime, end: datetime, previous_days: int) -> list[str]:
    """Billing periods (``YYYY-MM``) to check for a window."""
    return P.billing_months(start, end, previous_days)


def period_sources(s3: Any, bucket: str, prefix: str, period: str) -> tuple[list[Any], datetime | None]:
    """The export files of one billing period and their newest LastModified."""
    from ...importers.sources import Source, is_export
    out, newest = [], None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/BILLING_PERIOD={period}/"):
        for obj in page.get("Contents", []):
            if is_export(obj["Key"]):
                out.append(Source(f"s3://{bucket}/{obj['Key']}", int(obj["Size"]), bucket=bucket, key=obj["Key"]))
                lm = obj["LastModified"]
                newest = lm if newest is None or lm > newest else newest
    return sorted(out, key=lambda s: s.name), newest


def import_period(s3: Any, target: Any, bucket: str, prefix: str, period: str, *, fmt: str = "auto",
                  cursor: str | None = None) -> dict[str, Any]:
    """Import one billing period's files in one import (replacing the period); skip if unchanged."""
    from ...importers.apply import run_import
    sources, newest = period_sources(s3, bucket, prefix, period)
    if not sources:
        return {"period": period, "status": "no files"}
    stamp = iso(newest.astimezone(UTC)) if newest else None
    if cursor and stamp and stamp <= cursor:
        return {"period": period, "status": "unchanged", "cursor": stamp}
    rep = run_import(sources, fmt=fmt, target=target, s3_client=s3, label=SPEC.name)
    if not rep.ok:
        raise ValidationError(f"billing period {period} not imported: "
                              + "; ".join(f"{n['file']}: {n['error']}" for n in rep.not_imported)[:900],
                              details=rep.not_imported[:20])
    return {"period": period, "status": "imported", "cursor": stamp, "rows": rep.rows, "records": rep.records,
            "written": rep.written, "deleted": rep.deleted, "totals": rep.totals}


def collect(ctx: Any) -> Iterable[Any]:
    """Import every changed billing period of the window; errors are recorded per period scope."""
    bucket, prefix = data_prefix(ctx.config)
    if ctx.imports is None:
        raise ConfigError("aws-billing-export needs an import target (the API's /v1/imports, through the sink)")
    win = ctx.window
    start = min(win.start, win.end - timedelta(days=ctx.config.trailing_days))
    for period in billing_periods(start, win.end, ctx.config.previous_period_days):
        scope = f"s3://{bucket}/{prefix}/BILLING_PERIOD={period}"
        with ctx.scope(scope) as st:
            res = import_period(ctx.clients.s3, ctx.imports, bucket, prefix, period, fmt=ctx.config.format,
                                cursor=ctx.cursor(scope))
            st.records += int(res.get("written", 0))
            st.notes.append(f"{period}: {res['status']}" + (f", {res['rows']} rows, {res['written']} written, "
                                                             f"{res['deleted']} stale removed" if "rows" in res else ""))
            if res.get("cursor"):
                ctx.set_cursor(scope, res["cursor"])   # the export's LastModified, not the run's date
    return []


def handle_s3_event(event: dict[str, Any], s3: Any, target: Any, *, fmt: str = "auto") -> list[dict[str, Any]]:
    """An S3 ObjectCreated notification: re-import the billing period(s) the new objects belong to."""
    done: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rec in event.get("Records", []):
        s3info = rec.get("s3", {})
        bucket = s3info.get("bucket", {}).get("name")
        key = unquote_plus(s3info.get("object", {}).get("key", ""))   # event keys are URL-encoded
        marker = "/BILLING_PERIOD="
        if not bucket or marker not in key:
            continue
        prefix, rest = key.split(marker, 1)
        period = rest.split("/", 1)[0]
        k = (bucket, prefix, period)
        if k not in done:
            done[k] = import_period(s3, target, bucket, prefix, period, fmt=fmt)
    return list(done.values())
