"""Billed usage: ``system.billing.usage`` joined to the price table within each price's validity window,
one parameterised statement per run, aggregated per day and attribution group, priced exactly in Python.

* **Exact**: the statement sums ``usage_quantity`` per group and returns the unit price as text; cost is
  ``quantity × price`` in :class:`~decimal.Decimal` (a SQL ``DECIMAL(38,18) × DECIMAL(38,18)`` would be cut
  to 6 decimals). A group spanning a price change is two groups (the price's start time is in the key).
* **Corrections net**: ``ORIGINAL``, ``RETRACTION`` (negative) and ``RESTATEMENT`` rows of a group are
  summed together, so a restated day's group carries the restated quantity and a retracted group comes
  back as zero: its record id is the same as before, so the day is *replaced*, never added to.
* **Watermark**: only days that received rows since the cursor (``ingestion_date``, minus the trailing
  window) are read, whole; the cursor becomes the newest ingestion date seen.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator

from ... import periods
from ...focus import UTC, CostRecord, parse_time
from ...money import CONTEXT, parse_amount as _parse


def parse_amount(v: str) -> Decimal:
    """Exact, trailing zeros dropped: DECIMAL(38,18) text × price text must stay within 38 digits."""
    d = _parse(v)
    return d.normalize(CONTEXT) if d else Decimal(0)
from . import PROVIDER
from .taxonomy import classify, unit

# usage_metadata fields that attribute usage (ResourceId / tags); all are strings in system.billing.usage
META = ("cluster_id", "warehouse_id", "job_id", "job_run_id", "job_name", "dlt_pipeline_id", "notebook_id",
        "notebook_path", "endpoint_name", "instance_pool_id")


def usage_statement(catalog: str, account_price_table: str | None) -> str:
    """Statement 1: billed usage per day and attribution group, with list (and account) unit prices."""
    meta = ",\n  ".join(f"u.usage_metadata.{m} AS {m}" for m in META)
    acct_cols = acct_join = ""
    if account_price_table:
        acct_cols = (",\n  CAST(ap.pricing.`default` AS STRING) AS account_price, ap.currency_code AS account_currency,"
                     "\n  CAST(ap.price_start_time AS STRING) AS account_price_start")
        acct_join = (f"\nLEFT JOIN {account_price_table} ap ON ap.sku_name = u.sku_name AND ap.cloud = u.cloud"
                     " AND ap.usage_unit = u.usage_unit AND u.usage_end_time >= ap.price_start_time"
                     " AND (ap.price_end_time IS NULL OR u.usage_end_time < ap.price_end_time)")
    return f"""WITH changed AS (
  SELECT DISTINCT usage_date FROM {catalog}.billing.usage
  WHERE ingestion_date >= :since AND usage_date >= :floor AND usage_date < :until
)
SELECT
  CAST(u.usage_date AS STRING) AS usage_date, u.account_id, u.workspace_id, u.sku_name, u.cloud, u.usage_unit,
  {meta},
  to_json(u.custom_tags) AS custom_tags, u.identity_metadata.run_as AS run_as,
  CAST(SUM(u.usage_quantity) AS STRING) AS quantity,
  CAST(COALESCE(lp.pricing.effective_list.`default`, lp.pricing.`default`) AS STRING) AS list_price,
  lp.currency_code AS currency, CAST(lp.price_start_time AS STRING) AS price_start{acct_cols},
  CAST(MAX(u.usage_end_time) AS STRING) AS last_end, CAST(MAX(u.ingestion_date) AS STRING) AS ingested,
  COUNT(*) AS source_rows, SUM(CASE WHEN u.record_type = 'ORIGINAL' THEN 0 ELSE 1 END) AS correction_rows,
  (SELECT CAST(MAX(h.usage_end_time) AS STRING) FROM {catalog}.billing.usage h WHERE h.usage_date >= :recent) AS high_water
FROM {catalog}.billing.usage u
JOIN changed c ON u.usage_date = c.usage_date
LEFT JOIN {catalog}.billing.list_prices lp ON lp.sku_name = u.sku_name AND lp.cloud = u.cloud
  AND lp.usage_unit = u.usage_unit AND u.usage_end_time >= lp.price_start_time
  AND (lp.price_end_time IS NULL OR u.usage_end_time < lp.price_end_time){acct_join}
GROUP BY ALL"""


def rates_statement(catalog: str) -> str:
    """Statement 2: the last hours' DBUs per cluster and SQL warehouse, hour by hour (their DBU/h rate and
    where the table ends for each: what today's estimates extrapolate from)."""
    return f"""SELECT u.usage_metadata.cluster_id AS cluster_id, u.usage_metadata.warehouse_id AS warehouse_id,
  u.sku_name, u.cloud, CAST(u.usage_start_time AS STRING) AS usage_start, CAST(u.usage_end_time AS STRING) AS usage_end,
  CAST(SUM(u.usage_quantity) AS STRING) AS quantity
FROM {catalog}.billing.usage u
WHERE u.usage_date >= :since_date AND u.usage_end_time > :since AND u.usage_unit = 'DBU'
  AND (u.usage_metadata.cluster_id IS NOT NULL OR u.usage_metadata.warehouse_id IS NOT NULL)
GROUP BY ALL"""


@dataclass
class Group:
    """One row of statement 1."""

    day: date
    account: str
    workspace: str
    sku: str
    cloud: str
    usage_unit: str
    meta: dict[str, str]
    tags: dict[str, str]
    run_as: str | None
    quantity: Decimal
    list_price: Decimal | None
    currency: str | None
    price_start: str | None
    account_price: Decimal | None
    last_end: datetime | None
    ingested: date | None
    corrections: int


def parse_groups(rows: Iterator[dict[str, str | None]]) -> Iterator[Group]:
    for r in rows:
        tags_raw = r.get("custom_tags")
        try:
            tags = json.loads(tags_raw) if tags_raw else {}
        except ValueError:
            tags = {}
        if not isinstance(tags, dict):
            tags = {}
        yield Group(
            day=date.fromisoformat(str(r["usage_date"])[:10]), account=str(r.get("account_id") or ""),
            workspace=str(r.get("workspace_id") or ""), sku=str(r.get("sku_name") or ""), cloud=str(r.get("cloud") or ""),
            usage_unit=str(r.get("usage_unit") or ""), meta={m: str(r[m]) for m in META if r.get(m) not in (None, "")},
            tags={str(k): str(v) for k, v in tags.items()}, run_as=r.get("run_as") or None,
            quantity=parse_amount(r.get("quantity") or "0"),
            list_price=parse_amount(r["list_price"]) if r.get("list_price") not in (None, "") else None,
            currency=r.get("currency") or None, price_start=r.get("price_start") or None,
            account_price=parse_amount(r["account_price"]) if r.get("account_price") not in (None, "") else None,
            last_end=parse_time(r["last_end"]) if r.get("last_end") else None,
            ingested=date.fromisoformat(str(r["ingested"])[:10]) if r.get("ingested") else None,
            corrections=int(r.get("correction_rows") or 0))


def resource_of(meta: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    """(ResourceId, ResourceName, ResourceType) from usage_metadata: the most specific billed object."""
    if meta.get("warehouse_id"):
        return f"warehouses/{meta['warehouse_id']}", None, "sql-warehouse"
    if meta.get("dlt_pipeline_id"):
        return f"pipelines/{meta['dlt_pipeline_id']}", None, "pipeline"
    if meta.get("job_id"):
        return f"jobs/{meta['job_id']}", meta.get("job_name"), "job"
    if meta.get("endpoint_name"):
        return f"serving-endpoints/{meta['endpoint_name']}", meta["endpoint_name"], "serving-endpoint"
    if meta.get("cluster_id"):
        return f"clusters/{meta['cluster_id']}", None, "cluster"
    if meta.get("notebook_id"):
        return f"notebooks/{meta['notebook_id']}", meta.get("notebook_path"), "notebook"
    if meta.get("instance_pool_id"):
        return f"instance-pools/{meta['instance_pool_id']}", None, "instance-pool"
    return None, None, None


def line_key(g: Group) -> str:
    """What tells two groups of the same resource, SKU and day apart (tags, identity, run, price window)."""
    key = json.dumps({"m": g.meta, "t": g.tags, "r": g.run_as, "p": g.price_start, "u": g.usage_unit},
                     sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


def tags_of(g: Group) -> dict[str, str]:
    tags = {k[:128]: v[:256] for k, v in sorted(g.tags.items())[:40]}
    if g.run_as:
        tags["databricks:run_as"] = g.run_as[:256]
    for m in ("job_id", "job_run_id", "cluster_id", "warehouse_id", "dlt_pipeline_id", "endpoint_name"):
        if g.meta.get(m):
            tags[f"databricks:{m}"] = g.meta[m][:256]
    return tags


def record(g: Group, *, collector: str, source: str, workspace_names: dict[str, str],
           account_id: str | None = None, description: str = "") -> CostRecord:
    """The FOCUS record of one group: ``billed`` for a settled day, ``estimated`` while the table fills."""
    sku = classify(g.sku)
    start = datetime(g.day.year, g.day.month, g.day.day, tzinfo=UTC)
    list_price = g.list_price if g.list_price is not None else Decimal(0)
    price = g.account_price if g.account_price is not None else list_price
    list_cost = CONTEXT.multiply(g.quantity, list_price)
    cost = CONTEXT.multiply(g.quantity, price)
    rid, rname, rtype = resource_of(g.meta)
    bp = periods.month_period(g.day)
    u = unit(g.usage_unit)
    return CostRecord(
        ProviderName=PROVIDER, PublisherName=PROVIDER, InvoiceIssuerName=PROVIDER,
        BillingAccountId=account_id or g.account, SubAccountId=g.workspace or None,
        SubAccountName=workspace_names.get(g.workspace), SubAccountType="Workspace" if g.workspace else None,
        ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(days=1), BillingPeriodStart=bp[0],
        BillingPeriodEnd=bp[1], BilledCost=cost, EffectiveCost=cost, ListCost=list_cost, ContractedCost=cost,
        BillingCurrency=g.currency or "USD", PricingCurrency=g.currency or "USD", ChargeCategory="Usage",
        ChargeFrequency="Usage-Based",   # no ChargeClass: it is part of the id, and a restated group must replace
        ChargeDescription=description or (f"{g.sku} {u} on {g.day.isoformat()}"
                                          + (f" (net of {g.corrections} correction rows)" if g.corrections else "")),
        ServiceName=sku.service_name, ServiceCategory=sku.service_category, ServiceSubcategory=sku.service_subcategory,
        ResourceId=rid, ResourceName=rname, ResourceType=rtype, SkuId=g.sku,
        SkuPriceId=f"{g.sku}/{g.cloud}/{g.usage_unit}/{g.price_start or 'none'}", PricingUnit=u,
        PricingQuantity=g.quantity, ConsumedQuantity=g.quantity, ConsumedUnit=u, ListUnitPrice=list_price,
        ContractedUnitPrice=price, PricingCategory="Standard", Tags=tags_of(g), x_CostSource=source,
        x_Collector=collector, x_LineKey=line_key(g))
