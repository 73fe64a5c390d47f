"""Billed cost from the Cloud Billing export to BigQuery (standard, detailed, or FOCUS table).

https://cloud.google.com/billing/docs/how-to/export-data-bigquery-tables

**Standard / detailed** (``gcp_billing_export_v1_<ACCOUNT>`` / ``gcp_billing_export_resource_v1_<ACCOUNT>``):
rows are appended as usage is rated, late rows and corrections included (no delivery guarantee; a
backfill can take days). Each pull therefore runs two bounded queries:

1. *touched days*: the usage days of the rows exported since the scope's window start
   (``export_time``), reading only ``usage_start_time`` and ``export_time`` of the partitions loaded since;
2. *re-aggregation*: every row of those usage days, summed per day × project × service × SKU × region ×
   labels × cost type × invoice month × currency (× resource for the detailed table), with each credit
   type summed separately.

A restated day is re-aggregated whole, and a record's id is its identity (not its amounts), so its new
totals **replace** the earlier ones, never add to them. Both queries filter on ``_PARTITIONTIME`` (the
export is partitioned by day; a row is loaded on or after its usage day, and a day of margin is kept)
and carry ``maximumBytesBilled``; their ``totalBytesBilled`` is reported per run.

Amounts are summed as ``NUMERIC`` (exact decimals; the export's FLOAT64 costs carry at most six
decimals) and arrive as strings. Mapping: ``cost`` → BilledCost/ContractedCost of the usage record,
``cost_at_list`` → ListCost (``cost`` when absent), ``cost`` + the row group's credits → EffectiveCost
(net); each credit type → a ``Credit`` record (BilledCost = the credit, EffectiveCost 0, since the usage
record's EffectiveCost is already net), so BilledCost and EffectiveCost both total cost + credits;
``labels`` → Tags; ``invoice.month`` → InvoiceId and the billing period; ``currency`` → BillingCurrency.

**FOCUS** (preview; ``gcp_billing_immutable_<ACCOUNT>_<LOCATION>.gcp_billing_export_focus_<ACCOUNT>``): the
columns are FOCUS's own; the window's charge days are re-read whole (``ChargePeriodStart`` bounds the
scan) and replace themselves the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator

from ... import periods
from ...errors import ConfigError
from ...focus import UTC, CostRecord, iso
from ...money import CONTEXT, ZERO, parse_amount
from . import taxonomy

COLLECTOR = "gcp"
_TABLE = re.compile(r"^[a-z][a-z0-9-]{4,61}[a-z0-9]\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_]{1,1024}$")
_ACCOUNT = re.compile(r"gcp_billing_export_(?:resource_v1|v1|focus)_([0-9A-F]{6})_([0-9A-F]{6})_([0-9A-F]{6})$")
CHARGE_CATEGORY = {"regular": "Usage", "tax": "Tax", "adjustment": "Adjustment", "rounding_error": "Adjustment"}


def check_table(name: str, setting: str) -> str:
    if not _TABLE.match(name or ""):
        raise ConfigError(f"{setting} must be project.dataset.table, got {name!r}",
                          details=[{"field": setting, "message": "project.dataset.table"}])
    return name


def account_of_table(table: str) -> str | None:
    """The billing account a billing export table is named after (``..._01A2B3_C4D5E6_F7A8B9`` → ``01A2B3-C4D5E6-F7A8B9``)."""
    m = _ACCOUNT.search(table.rsplit(".", 1)[-1])
    return "-".join(m.groups()) if m else None


def is_detailed(table: str) -> bool:
    return "_resource_v1_" in table.rsplit(".", 1)[-1]


# ---------------------------------------------------------------------------------------------- SQL
def touched_days_sql(table: str) -> str:
    return f"""
SELECT CAST(DATE(t.usage_start_time) AS STRING) AS usage_day, UNIX_MICROS(MAX(t.export_time)) AS last_export_us
FROM `{table}` AS t
WHERE t._PARTITIONTIME >= TIMESTAMP(@export_from)
  AND t.export_time >= TIMESTAMP(@export_from)
  AND t.usage_start_time >= TIMESTAMP(@usage_floor)
GROUP BY usage_day
ORDER BY usage_day""".strip()


def _group_columns(detailed: bool) -> list[tuple[str, str]]:
    cols = [("usage_day", "CAST(DATE(t.usage_start_time) AS STRING)"),
            ("billing_account_id", "t.billing_account_id"), ("project_id", "t.project.id"),
            ("project_name", "t.project.name"), ("service_id", "t.service.id"),
            ("service_name", "t.service.description"), ("sku_id", "t.sku.id"), ("sku_name", "t.sku.description"),
            ("region", "t.location.region"), ("location", "t.location.location"), ("zone", "t.location.zone"),
            ("invoice_month", "t.invoice.month"), ("currency", "t.currency"), ("cost_type", "t.cost_type"),
            ("usage_unit", "t.usage.unit"), ("pricing_unit", "t.usage.pricing_unit"),
            ("labels_json", "TO_JSON_STRING(t.labels)")]
    if detailed:
        cols += [("resource_name", "t.resource.name"), ("resource_global_name", "t.resource.global_name")]
    return cols


_DAYS_FILTER = """t._PARTITIONTIME >= TIMESTAMP(@scan_from)
  AND t.usage_start_time >= TIMESTAMP(@usage_from)
  AND CAST(DATE(t.usage_start_time) AS STRING) IN UNNEST(@days)"""


def aggregate_sql(table: str) -> str:
    """The re-aggregation of whole usage days: the usage lines, and (a second scan of the credits) each
    credit type. Two plain scans rather than one CTE read twice, so what BigQuery bills is what it reads."""
    cols = _group_columns(is_detailed(table))
    names = ", ".join(n for n, _ in cols)
    select = ",\n  ".join(f"{expr} AS {n}" for n, expr in cols)
    return f"""
SELECT
  {select},
  'usage' AS line, CAST(NULL AS STRING) AS credit_type, CAST(NULL AS STRING) AS credit_name,
  SUM(CAST(t.cost AS NUMERIC)) AS amount,
  SUM(CAST(IFNULL(t.cost_at_list, t.cost) AS NUMERIC)) AS list_amount,
  SUM(CAST(t.usage.amount AS NUMERIC)) AS usage_amount,
  SUM(CAST(t.usage.amount_in_pricing_units AS NUMERIC)) AS pricing_amount
FROM `{table}` AS t
WHERE {_DAYS_FILTER}
GROUP BY {names}
UNION ALL
SELECT
  {select},
  'credit' AS line, c.type AS credit_type, c.name AS credit_name,
  SUM(CAST(c.amount AS NUMERIC)) AS amount,
  CAST(0 AS NUMERIC) AS list_amount, CAST(0 AS NUMERIC) AS usage_amount, CAST(0 AS NUMERIC) AS pricing_amount
FROM `{table}` AS t, UNNEST(t.credits) AS c
WHERE {_DAYS_FILTER}
GROUP BY {names}, credit_type, credit_name""".strip()


def focus_sql(table: str) -> str:
    return f"""
SELECT CAST(DATE(f.ChargePeriodStart) AS STRING) AS usage_day, f.BillingAccountId, f.BillingAccountName,
  f.SubAccountId, f.SubAccountName, f.ServiceName, f.ServiceCategory, f.ChargeCategory, f.ChargeClass,
  f.RegionId, f.RegionName, f.ResourceId, f.ResourceName, f.SkuId, f.PricingUnit, f.ConsumedUnit,
  f.BillingCurrency, f.InvoiceId, TO_JSON_STRING(f.Tags) AS tags,
  SUM(CAST(f.BilledCost AS NUMERIC)) AS BilledCost, SUM(CAST(f.EffectiveCost AS NUMERIC)) AS EffectiveCost,
  SUM(CAST(f.ListCost AS NUMERIC)) AS ListCost, SUM(CAST(f.ContractedCost AS NUMERIC)) AS ContractedCost,
  SUM(CAST(f.PricingQuantity AS NUMERIC)) AS PricingQuantity,
  SUM(CAST(f.ConsumedQuantity AS NUMERIC)) AS ConsumedQuantity
FROM `{table}` AS f
WHERE f.ChargePeriodStart >= TIMESTAMP(@usage_from) AND f.ChargePeriodStart < TIMESTAMP(@usage_to)
GROUP BY usage_day, f.BillingAccountId, f.BillingAccountName, f.SubAccountId, f.SubAccountName, f.ServiceName,
  f.ServiceCategory, f.ChargeCategory, f.ChargeClass, f.RegionId, f.RegionName, f.ResourceId, f.ResourceName,
  f.SkuId, f.PricingUnit, f.ConsumedUnit, f.BillingCurrency, f.InvoiceId, tags""".strip()


# ---------------------------------------------------------------------------------------------- jobs.query
def _param(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {"name": name, "parameterType": {"type": "ARRAY", "arrayType": {"type": "STRING"}},
                "parameterValue": {"arrayValues": [{"value": str(v)} for v in value]}}
    if isinstance(value, datetime):
        return {"name": name, "parameterType": {"type": "TIMESTAMP"},
                "parameterValue": {"value": value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00")}}
    return {"name": name, "parameterType": {"type": "STRING"}, "parameterValue": {"value": str(value)}}


@dataclass
class QueryResult:
    rows: list[dict[str, Any]]
    bytes_billed: int
    bytes_processed: int
    job_id: str | None
    calls: int


def run_query(clients: Any, project: str, sql: str, params: dict[str, Any], *, location: str | None,
              max_bytes_billed: int, page_size: int = 10000, timeout_ms: int = 60000,
              max_polls: int = 60) -> QueryResult:
    """``jobs.query`` (+ ``jobs.getQueryResults`` pages and polls, ``jobs.get`` for the bytes billed when the
    answer lacks them); rows as ``{column: text value}``."""
    body: dict[str, Any] = {"query": sql, "useLegacySql": False, "parameterMode": "NAMED",
                            "queryParameters": [_param(k, v) for k, v in params.items()],
                            "maxResults": page_size, "timeoutMs": timeout_ms,
                            "maximumBytesBilled": str(max_bytes_billed), "labels": {"cloudtally-collector": COLLECTOR}}
    if location:
        body["location"] = location
    resp = clients.request("POST", "bigquery", "jobs.query", f"/bigquery/v2/projects/{project}/queries", body=body)
    calls = 1
    job = resp.get("jobReference") or {}
    job_id, job_loc = job.get("jobId"), job.get("location") or location
    polls = 0
    while not resp.get("jobComplete", False):
        polls += 1
        if polls > max_polls:
            from ...errors import ProviderTransient
            raise ProviderTransient(f"BigQuery job {job_id} did not complete", provider="gcp", provider_code="TIMEOUT")
        resp = clients.get("bigquery", "jobs.getQueryResults", f"/bigquery/v2/projects/{project}/queries/{job_id}",
                           location=job_loc, maxResults=page_size, timeoutMs=timeout_ms)
        calls += 1
    fields = [f["name"] for f in (resp.get("schema") or {}).get("fields") or []]
    billed = resp.get("totalBytesBilled")
    processed = int(resp.get("totalBytesProcessed") or 0)
    rows = [_row(fields, r) for r in resp.get("rows") or []]
    token = resp.get("pageToken")
    while token:
        page = clients.get("bigquery", "jobs.getQueryResults", f"/bigquery/v2/projects/{project}/queries/{job_id}",
                           location=job_loc, maxResults=page_size, pageToken=token)
        calls += 1
        rows.extend(_row(fields, r) for r in page.get("rows") or [])
        token = page.get("pageToken")
    if billed is None and job_id:
        j = clients.get("bigquery", "jobs.get", f"/bigquery/v2/projects/{project}/jobs/{job_id}", location=job_loc)
        calls += 1
        stats = (j.get("statistics") or {}).get("query") or {}
        billed = stats.get("totalBytesBilled")
        processed = int(stats.get("totalBytesProcessed") or processed)
    return QueryResult(rows=rows, bytes_billed=int(billed or 0), bytes_processed=processed, job_id=job_id, calls=calls)


def _row(fields: list[str], r: dict[str, Any]) -> dict[str, Any]:
    return {n: (c or {}).get("v") for n, c in zip(fields, r.get("f") or [])}


# ---------------------------------------------------------------------------------------------- records
def _tags(text: str | None) -> dict[str, str]:
    """Labels from ``TO_JSON_STRING(labels)``: ``[{"key": k, "value": v}]`` (or a FOCUS Tags object)."""
    if not text:
        return {}
    doc = json.loads(text)
    if isinstance(doc, dict):
        items = doc.items()
    else:
        items = ((d.get("key"), d.get("value")) for d in doc or [] if isinstance(d, dict))
    out = {str(k)[:128]: "" if v is None else str(v)[:256] for k, v in items if k}
    return dict(sorted(out.items())[:50])


def _month_period(invoice_month: str | None, day: date) -> tuple[datetime, datetime]:
    """The billing period: the invoice month (``YYYYMM``), else the charge day's month."""
    if invoice_month and len(invoice_month) == 6 and invoice_month.isdigit():
        return periods.month_period(date(int(invoice_month[:4]), int(invoice_month[4:]), 1))
    return periods.month_period(day)


def _key(*parts: Any) -> str:
    return hashlib.blake2b("\x1f".join("" if p is None else str(p) for p in parts).encode(), digest_size=10).hexdigest()


@dataclass
class _Group:
    row: dict[str, Any]
    tags: dict[str, str]
    cost: Decimal = ZERO
    list_cost: Decimal = ZERO
    usage: Decimal = ZERO
    pricing: Decimal = ZERO
    credits: dict[tuple[str, str], Decimal] | None = None


def billed_records(rows: list[dict[str, Any]]) -> Iterator[CostRecord]:
    """Records from the re-aggregation's rows: one usage record per group (net in EffectiveCost) and one
    Credit record per credit type of the group. Groups are keyed canonically (labels as a sorted mapping),
    so two spellings of one label set sum into one record instead of one overwriting the other."""
    groups: dict[str, _Group] = {}
    for r in rows:
        tags = _tags(r.get("labels_json"))
        gk = _key(r["usage_day"], r.get("billing_account_id"), r.get("project_id"), r.get("service_id"),
                  r.get("sku_id"), r.get("region") or r.get("location"), r.get("zone"), r.get("invoice_month"),
                  r.get("currency"), r.get("cost_type"), r.get("usage_unit"), r.get("pricing_unit"),
                  r.get("resource_global_name") or r.get("resource_name"), json.dumps(tags, sort_keys=True))
        g = groups.get(gk)
        if g is None:
            g = groups[gk] = _Group(row=r, tags=tags, credits={})
        amount = parse_amount(r.get("amount") or "0")
        if r.get("line") == "credit":
            ck = (str(r.get("credit_type") or "UNKNOWN"), str(r.get("credit_name") or ""))
            g.credits[ck] = CONTEXT.add(g.credits.get(ck, ZERO), amount)
        else:
            g.cost = CONTEXT.add(g.cost, amount)
            g.list_cost = CONTEXT.add(g.list_cost, parse_amount(r.get("list_amount") or "0"))
            g.usage = CONTEXT.add(g.usage, parse_amount(r.get("usage_amount") or "0"))
            g.pricing = CONTEXT.add(g.pricing, parse_amount(r.get("pricing_amount") or "0"))
    for gk, g in groups.items():
        yield from _group_records(gk, g)


def _group_records(gk: str, g: _Group) -> Iterator[CostRecord]:
    r = g.row
    day = date.fromisoformat(r["usage_day"])
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    bp = _month_period(r.get("invoice_month"), day)
    service = r.get("service_name") or "Unknown"
    cats = taxonomy.service_categories(service) or ("Other", None)
    region = r.get("region") or r.get("location") or None
    net = CONTEXT.add(g.cost, sum(g.credits.values(), ZERO))
    common: dict[str, Any] = dict(
        ProviderName=taxonomy.PROVIDER, PublisherName=taxonomy.PROVIDER, InvoiceIssuerName=taxonomy.PROVIDER,
        BillingAccountId=r.get("billing_account_id") or "unknown", BillingAccountType=taxonomy.BILLING_ACCOUNT_TYPE,
        SubAccountId=r.get("project_id"), SubAccountName=r.get("project_name") or r.get("project_id"),
        SubAccountType=taxonomy.SUB_ACCOUNT_TYPE if r.get("project_id") else None,
        ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(days=1), BillingPeriodStart=bp[0],
        BillingPeriodEnd=bp[1], InvoiceId=r.get("invoice_month"), BillingCurrency=r.get("currency") or "USD",
        ServiceName=service, ServiceCategory=cats[0], ServiceSubcategory=cats[1], SkuId=r.get("sku_id"),
        RegionId=region, RegionName=taxonomy.region_name(region) if region else None,
        AvailabilityZone=r.get("zone") or None, ResourceId=r.get("resource_global_name") or r.get("resource_name"),
        ResourceName=r.get("resource_name"), Tags=g.tags, x_CostSource="billed", x_Collector=COLLECTOR)
    category = CHARGE_CATEGORY.get(str(r.get("cost_type") or "regular"), "Usage")
    usage_row = category == "Usage"
    yield CostRecord(
        **common, BilledCost=g.cost, EffectiveCost=net, ListCost=g.list_cost, ContractedCost=g.cost,
        ChargeCategory=category, ChargeFrequency="Usage-Based", ChargeDescription=r.get("sku_name"),
        PricingUnit=taxonomy.pricing_unit(r.get("pricing_unit")) if usage_row else None,
        PricingQuantity=g.pricing if usage_row and r.get("pricing_unit") else None,
        ConsumedUnit=taxonomy.pricing_unit(r.get("usage_unit")) if usage_row else None,
        ConsumedQuantity=g.usage if usage_row and r.get("usage_unit") else None, x_LineKey=f"usage:{gk}")
    for (ctype, cname), amount in sorted(g.credits.items()):
        yield CostRecord(
            **common, BilledCost=amount, EffectiveCost=ZERO, ListCost=ZERO, ContractedCost=amount,
            ChargeCategory="Credit", ChargeFrequency="Usage-Based", ChargeDescription=f"{ctype}: {cname}".strip(": "),
            x_LineKey=f"credit:{ctype}:{_key(cname)}:{gk}")


def focus_records(rows: list[dict[str, Any]]) -> Iterator[CostRecord]:
    """Records from the FOCUS export's daily sums (its columns are FOCUS's)."""
    for r in rows:
        day = date.fromisoformat(r["usage_day"])
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        bp = periods.month_period(day)
        service = r.get("ServiceName") or "Unknown"
        cats = taxonomy.service_categories(service)
        num = {k: parse_amount(r.get(k) or "0") for k in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")}
        qty = {k: parse_amount(r[k]) if r.get(k) is not None else None for k in ("PricingQuantity", "ConsumedQuantity")}
        yield CostRecord(
            ProviderName=taxonomy.PROVIDER, PublisherName=taxonomy.PROVIDER, InvoiceIssuerName=taxonomy.PROVIDER,
            BillingAccountId=r.get("BillingAccountId") or "unknown", BillingAccountName=r.get("BillingAccountName"),
            SubAccountId=r.get("SubAccountId"), SubAccountName=r.get("SubAccountName"),
            ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(days=1), BillingPeriodStart=bp[0],
            BillingPeriodEnd=bp[1], InvoiceId=r.get("InvoiceId"), BillingCurrency=r.get("BillingCurrency") or "USD",
            ServiceName=service, ServiceCategory=(cats or (r.get("ServiceCategory") or "Other",))[0],
            ServiceSubcategory=cats[1] if cats else None, ChargeCategory=r.get("ChargeCategory") or "Usage",
            ChargeClass=r.get("ChargeClass"), SkuId=r.get("SkuId"), RegionId=r.get("RegionId"),
            RegionName=r.get("RegionName"), ResourceId=r.get("ResourceId"), ResourceName=r.get("ResourceName"),
            PricingUnit=r.get("PricingUnit"), ConsumedUnit=r.get("ConsumedUnit"), Tags=_tags(r.get("tags")),
            **num, **qty, x_CostSource="billed", x_Collector=COLLECTOR,
            x_LineKey="focus:" + _key(r.get("PricingUnit"), r.get("ConsumedUnit"), r.get("InvoiceId"),
                                      r.get("ResourceName"), r.get("tags")))


def export_marker(last_export_us: str | int | None) -> str | None:
    """An export_time in microseconds (``UNIX_MICROS``) as the scope's cursor text."""
    if last_export_us in (None, ""):
        return None
    return iso(datetime.fromtimestamp(int(last_export_us) / 1_000_000, UTC).replace(microsecond=0))
