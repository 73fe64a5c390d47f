"""A realistic demo estate: 3 providers, 54 resources, 90 days, team/project tags, billed and
estimated records, weekday seasonality and a few injected anomalies. Deterministic for a seed and a
clock: everything is relative to ``now`` (pass it; ``cloudtally.clock`` gives a process's).

The 90 closed days before ``now``'s day have per-resource estimates; billed records exist for days
more than ``settle_days`` old (as a real bill settles late) and supersede that day's estimates. The
day of ``now`` is still open: it has ``provisional`` aggregates of the hours started so far, as the
collectors write them, so month to date is never empty, even on the 1st of a month.
"""

from __future__ import annotations

import decimal
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .clock import parse_instant
from .focus import UTC, CostRecord, parse_record

Q = Decimal("0.000001")

# (provider, billing account, sub account, service, category, resource prefix, count, daily base, region, unit)
ESTATE: list[tuple[str, str, str, str, str, str, int, str, str, str]] = [
    ("AWS", "111122223333", "210987654321", "Amazon Elastic Compute Cloud", "Compute", "i-0a1b2c3d", 12, "11.52", "us-east-1", "Hours"),
    ("AWS", "111122223333", "210987654321", "Amazon Elastic Kubernetes Service", "Compute", "eks-prod", 2, "2.40", "us-east-1", "Hours"),
    ("AWS", "111122223333", "345678901234", "Amazon Relational Database Service", "Databases", "db-orders", 3, "16.80", "eu-west-1", "Hours"),
    ("AWS", "111122223333", "345678901234", "Amazon Simple Storage Service", "Storage", "s3-datalake", 4, "3.10", "us-west-2", "GB-Months"),
    ("AWS", "111122223333", "210987654321", "AWS Lambda", "Compute", "fn-api", 4, "0.85", "us-east-1", "GB-Seconds"),
    ("Microsoft", "ea-8842", "sub-3f2a", "Virtual Machines", "Compute", "vm-web", 8, "9.30", "westeurope", "Hours"),
    ("Microsoft", "ea-8842", "sub-3f2a", "Azure SQL Database", "Databases", "sql-crm", 3, "12.75", "westeurope", "Hours"),
    ("Microsoft", "ea-8842", "sub-9c1d", "Storage", "Storage", "st-archive", 4, "1.95", "northeurope", "GB-Months"),
    ("Google Cloud", "01AB23-CD45EF-678901", "proj-ml", "Compute Engine", "Compute", "gce-train", 6, "14.20", "us-central1", "Hours"),
    ("Google Cloud", "01AB23-CD45EF-678901", "proj-analytics", "BigQuery", "Analytics", "bq-dataset", 4, "6.40", "US", "TiB"),
    ("Google Cloud", "01AB23-CD45EF-678901", "proj-analytics", "Cloud Storage", "Storage", "gcs-raw", 4, "2.25", "europe-west1", "GB-Months"),
]
# The FOCUS columns of each kind of demo resource (by id prefix): ResourceType, SkuMeter and the usage a
# resource at its daily base cost runs per day, in its PricingUnit. Unit prices follow from these
# (base / usage per day), quantities from each day's cost (cost / unit price): never a price literal.
KINDS: dict[str, tuple[str, str, str]] = {
    "i-0a1b2c3d": ("instance", "On-demand instance hours", "24"),
    "eks-prod": ("cluster", "EKS cluster hours", "24"),
    "db-orders": ("db", "Database instance hours", "24"),
    "s3-datalake": ("bucket", "Standard storage", "100"),
    "fn-api": ("function", "Function duration", "500000"),
    "vm-web": ("Virtual machine", "Virtual machine hours", "24"),
    "sql-crm": ("SQL database", "vCore hours", "24"),
    "st-archive": ("Storage account", "Archive storage", "100"),
    "gce-train": ("Compute instance", "Instance core hours", "24"),
    "bq-dataset": ("BigQuery dataset", "Analysis", "2"),
    "gcs-raw": ("Cloud Storage bucket", "Standard storage", "100"),
}
ACCOUNT_NAMES = {"111122223333": "Demo Payer", "210987654321": "demo-prod", "345678901234": "demo-data",
                 "ea-8842": "Demo Enrollment", "sub-3f2a": "demo-web", "sub-9c1d": "demo-archive",
                 "01AB23-CD45EF-678901": "Demo Billing", "proj-ml": "demo-ml", "proj-analytics": "demo-analytics"}
PRICE_DIGITS = decimal.Context(prec=12)      # unit prices to 12 significant digits, quantities to 1e-9
QTY_Q = Decimal("0.000000001")
TEAMS = ("platform", "data", "ml", "web")
PROJECTS = ("checkout", "search", "analytics", "recsys")
ANOMALIES = ((10, "AWS Lambda", Decimal(9)), (25, "Storage", Decimal(6)), (40, "BigQuery", Decimal(5)))


def resources(seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for prov, acct, sub, svc, cat, prefix, n, base, region, unit in ESTATE:
        rtype, meter, per_day = KINDS[prefix]
        for i in range(n):
            res_base = Decimal(base) * Decimal(rnd.randint(60, 140)) / 100
            out.append({"provider": prov, "account": acct, "sub": sub, "service": svc, "category": cat,
                        "id": f"{prefix}-{i:02d}", "base": res_base,
                        "region": region, "unit": unit, "type": rtype, "meter": meter,
                        "price": PRICE_DIGITS.create_decimal(res_base / Decimal(per_day)),
                        "sku": f"demo-{prefix}-{region}".lower(),
                        "tags": {"team": rnd.choice(TEAMS), "project": rnd.choice(PROJECTS),
                                 "environment": "prod" if i % 3 else "staging"}})
    return out


def demo_records(now: datetime, days: int = 90, seed: int = 7, settle_days: int = 2,
                 skip_providers: tuple[str, ...] = ()) -> list[CostRecord]:
    """Daily records for the ``days`` closed days before ``now``'s UTC day, and its provisional so far
    (``skip_providers``: providers whose numbers a collector of the local stack brings instead)."""
    now = parse_instant(now)
    end = now.date()
    rnd = random.Random(seed)
    out: list[CostRecord] = []
    open_day: list[dict[str, Any]] = []
    hours = Decimal(now.hour + 1)          # the hours started so far today (the current one included)
    for res in resources(seed):
        keep = res["provider"] not in skip_providers    # drawn all the same: the others' figures do not move
        for back in range(days, -1, -1):
            day = end - timedelta(days=back)
            weekday = Decimal("0.78") if day.weekday() >= 5 else Decimal(1)
            growth = 1 + Decimal(days - back) / Decimal(900)
            noise = Decimal(rnd.randint(92, 108)) / 100
            cost = res["base"] * weekday * growth * noise
            for ago, svc, factor in ANOMALIES:
                if back == ago and res["service"] == svc:
                    cost *= factor
            if back == 0:
                cost = cost * hours / 24
            cost = cost.quantize(Q)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            price = res["price"]
            qty = (cost / price).quantize(QTY_Q)   # the usage the day's cost buys at the resource's unit price
            common = {
                "ProviderName": res["provider"], "BillingAccountId": res["account"], "SubAccountId": res["sub"],
                "BillingAccountName": ACCOUNT_NAMES[res["account"]], "SubAccountName": ACCOUNT_NAMES[res["sub"]],
                "ServiceName": res["service"], "ServiceCategory": res["category"], "ResourceId": res["id"],
                "ResourceName": res["id"], "ResourceType": res["type"], "RegionId": res["region"],
                "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based",
                "ChargeDescription": f"{res['service']}: {res['meter']}", "ChargePeriodStart": start.isoformat(),
                "ChargePeriodEnd": (start + timedelta(days=1)).isoformat(), "BillingCurrency": "USD",
                "SkuId": res["sku"], "SkuPriceId": res["sku"], "SkuMeter": res["meter"], "PricingCategory": "Standard",
                "PricingUnit": res["unit"], "PricingQuantity": str(qty), "ConsumedUnit": res["unit"],
                "ConsumedQuantity": str(qty), "ListUnitPrice": str(price), "Tags": res["tags"],
            }
            estimate = parse_record({**common, "BilledCost": str(cost), "ListCost": str(cost),
                                     "ContractedUnitPrice": str(price), "x_CostSource": "estimated",
                                     "x_Collector": "demo", "x_CatalogVersion": "demo-1"}, _taxonomy(res))
            if back == 0:
                if keep:
                    open_day.append(estimate.to_dict())
                continue
            if keep:
                out.append(estimate)
            if back > settle_days:
                billed = (cost * Decimal(rnd.randint(97, 103)) / 100).quantize(Q)
                effective = (billed * Decimal("0.92")).quantize(Q) if res["category"] == "Compute" else billed
                if keep:
                    out.append(parse_record({**common, "BilledCost": str(billed), "EffectiveCost": str(effective),
                                             "ListCost": str(cost),
                                             "ContractedUnitPrice": str(PRICE_DIGITS.create_decimal(effective / qty)),
                                             "x_CostSource": "billed", "x_Collector": "demo"}, _taxonomy(res)))
    # today so far: what a collector posts while the day is open (aggregates, no per-resource detail yet)
    from .collectors.delivery import provisional
    from .config import DEFAULT_ROLLUP_TAG_KEYS
    out.extend(provisional(open_day, tuple(DEFAULT_ROLLUP_TAG_KEYS.split(","))))
    return out


def _taxonomy(res: dict[str, Any]) -> Any:
    from .providers import taxonomy
    return taxonomy(res["provider"])


def demo_metrics(now: datetime, days: int = 3, seed: int = 7) -> list:
    """Hourly CPU/memory/storage utilisation of the compute resources over the ``days`` × 24 hours
    before ``now``'s hour (Infrastructure view)."""
    from .focus import MetricPoint
    now = parse_instant(now)
    top = now.replace(minute=0, second=0, microsecond=0)
    rnd = random.Random(seed + 1)
    pts = []
    for res in resources(seed):
        if res["category"] not in ("Compute", "Databases"):
            continue
        cluster = "eks-prod-00" if res["id"].startswith("i-") and res["id"].endswith(("00", "01", "02", "03")) else ""
        idle = res["id"].endswith("07")
        for h in range(days * 24, 0, -1):
            ts = top - timedelta(hours=h)
            dims = {"resource": res["id"], "provider": res["provider"]}
            if cluster:
                dims["cluster"] = cluster
            cpu = Decimal(rnd.randint(1, 4) if idle else rnd.randint(20, 85))
            pts.append(MetricPoint("cpu_utilization", cpu, ts, "Percent", dims, "demo"))
            pts.append(MetricPoint("memory_utilization", Decimal(rnd.randint(30, 90)), ts, "Percent", dims, "demo"))
            pts.append(MetricPoint("disk_utilization", Decimal(rnd.randint(10, 70)), ts, "Percent", dims, "demo"))
    return pts


def load_demo(store, now: datetime) -> dict[str, int]:
    """Write the demo estate at ``now`` straight into a store (tests); ``make up`` sends it through the API."""
    recs = demo_records(now)
    store.write_records(recs)
    n_metrics = store.write_metrics(demo_metrics(now))
    from .telemetry.demo import write_demo_hosts
    return {"records": len(recs), "metrics": n_metrics, "hosts": write_demo_hosts(store, now)}
