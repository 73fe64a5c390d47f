"""Per-source mappings of billing-export columns to FOCUS 1.2, and format detection.

Each mapping turns the raw columns of one export format into FOCUS columns (polars expressions);
the engine (:mod:`.engine`) validates, aggregates and sums them exactly. README.md ("Billing exports")
documents every mapping column by column; keep the two in step.

Columns are looked up case-insensitively (Azure EA and MCA exports differ only in case), and CUR 2.0
names are derived from the legacy CUR names the way AWS derives them (``lineItem/UnblendedCost`` →
``line_item_unblended_cost``), so one mapping serves both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import polars as pl

from ..errors import ValidationError
from .columns import Amount, amount, pick, text

FORMATS = ("focus", "aws-cur", "aws-cur2", "azure-ea", "azure-mca", "gcp", "oci")


class Cols:
    """Case-insensitive access to an export's columns.

    In *row* mode an amount is parsed from its text on every row. In *group* mode (the fast path)
    the rows were already grouped by every text column the mapping reads, and each amount column
    holds the exact sum of its group (``_sc_<name>``: largest scale, ``_nul_<name>``: all null), so
    the same mapping expressions run once per group instead of once per row. A condition on a text
    column (e.g. the CUR line item type) is constant within a group, so choosing or adding summed
    amounts per group equals doing it per row and summing: exact either way.

    ``wide`` (see :mod:`.columns`): amounts are two limbs; ``limb="lo"`` reads the fraction limb's
    sums (``_lo_<name>``) so the same mapping, being linear, builds the fraction of every FOCUS amount.
    """

    def __init__(self, names: Sequence[str], *, group: bool = False, wide: bool = False, limb: str = "hi"):
        self.names = list(names)
        self.group = group
        self.wide = wide
        self.limb = limb
        self.amount_cols: set[str] = set()
        self._by_lower: dict[str, str] = {}
        for n in names:
            self._by_lower.setdefault(n.strip().lower(), n)

    def name(self, *candidates: str) -> str | None:
        for c in candidates:
            n = self._by_lower.get(c.lower())
            if n is not None:
                return n
        return None

    def has(self, *candidates: str) -> bool:
        return self.name(*candidates) is not None

    def text(self, *candidates: str) -> pl.Expr:
        n = self.name(*candidates)
        return text(pl.col(n)) if n is not None else pl.lit(None, dtype=pl.String)

    def amount(self, *candidates: str) -> Amount:
        n = self.name(*candidates)
        if n is not None:
            self.amount_cols.add(n)
        if n is None or not self.group:
            return amount(n, source=n or candidates[0], wide=self.wide)
        col = pl.col(f"_lo_{n}" if self.limb == "lo" else n)
        return Amount(pl.when(pl.col(f"_nul_{n}")).then(None).otherwise(col), pl.col(f"_sc_{n}"),
                      pl.lit(False), n)

    def with_prefix(self, prefix: str) -> list[str]:
        p = prefix.lower()
        return [n for n in self.names if n.lower().startswith(p)]


@dataclass
class TimeSpec:
    """A FOCUS time column from a source column (or another FOCUS time column) plus whole days."""

    source: str | None = None          # export column name
    from_column: str | None = None     # or derive from this FOCUS time column
    add_days: int = 0


@dataclass
class Built:
    strings: dict[str, pl.Expr]
    amounts: dict[str, Amount]
    times: dict[str, TimeSpec]
    tags_json: pl.Expr | None = None                   # a JSON object / Azure "k": "v" list / GCP labels
    tags_columns: dict[str, str] = field(default_factory=dict)   # tag key -> export column
    unit_prices: dict[str, str] = field(default_factory=dict)    # ListUnitPrice -> export column
    sources: dict[str, str] = field(default_factory=dict)        # FOCUS column -> export column(s), for errors
    keep_x: bool = False                               # FOCUS files may carry x_Collector / x_LineKey


@dataclass(frozen=True)
class Mapping:
    fmt: str
    provider: str
    required: tuple[tuple[str, ...], ...]   # each entry: alternatives, one of which must be present
    build: Callable[[Cols], Built]


def camel_to_cur2(name: str) -> str:
    """Legacy CUR column → CUR 2.0 column, as AWS derives it (every capital starts a new word)."""
    out = []
    for part in name.split("/"):
        out.append(re.sub(r"(?<!^)([A-Z])", r"_\1", part).lower())
    return "_".join(out)


def _enum_map(col: pl.Expr, table: dict[str, str], default: str | None = None) -> pl.Expr:
    return col.replace_strict(table, default=pl.lit(default, dtype=pl.String) if default is not None else col,
                              return_dtype=pl.String)


# ------------------------------------------------------------------ FOCUS (1.0, 1.1, 1.2)
_FOCUS_ALIASES = {  # FOCUS 1.0-preview / 0.5 names still seen in the wild
    "ChargeCategory": ("ChargeCategory", "ChargeType"),
    "EffectiveCost": ("EffectiveCost", "AmortizedCost"),
    "ConsumedQuantity": ("ConsumedQuantity", "UsageQuantity"),
    "ConsumedUnit": ("ConsumedUnit", "UsageUnit"),
    "ServiceCategory": ("ServiceCategory",),
    "ProviderName": ("ProviderName", "ServiceProviderName", "Provider"),
    "PublisherName": ("PublisherName", "Publisher"),
    "InvoiceIssuerName": ("InvoiceIssuerName", "InvoiceIssuer"),
    "RegionId": ("RegionId",),
    "RegionName": ("RegionName", "Region"),
}


def _focus(c: Cols) -> Built:
    from .. import focus as F
    strings = {}
    for name in F.STRING_COLUMNS + F.CURRENCY_COLUMNS:
        if name in ("x_CostSource", "x_Collector", "x_CatalogVersion", "x_LineKey"):
            continue
        cands = _FOCUS_ALIASES.get(name, (name,))
        if c.has(*cands):
            strings[name] = c.text(*cands)
    for x in ("x_CostSource", "x_Collector", "x_LineKey"):
        if c.has(x):
            strings[x] = c.text(x)
    amounts = {}
    for name in F.AMOUNT_COLUMNS + F.QUANTITY_COLUMNS:
        cands = _FOCUS_ALIASES.get(name, (name,))
        if c.has(*cands):
            amounts[name] = c.amount(*cands)
    times = {name: TimeSpec(c.name(name)) for name in F.TIME_COLUMNS if c.has(name)}
    return Built(strings, amounts, times, tags_json=c.text("Tags") if c.has("Tags") else None,
                 unit_prices={n: c.name(n) for n in F.PRICE_COLUMNS if c.has(n)},
                 sources={n: c.name(*_FOCUS_ALIASES.get(n, (n,))) or n for n in F.ALL_COLUMNS}, keep_x=True)


# ------------------------------------------------------------------ AWS CUR (legacy) and CUR 2.0
# lineItem/LineItemType → FOCUS ChargeCategory / ChargeFrequency (AWS's own FOCUS export does the same)
AWS_CATEGORY = {
    "Usage": "Usage", "DiscountedUsage": "Usage", "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage", "Tax": "Tax", "Credit": "Credit", "Refund": "Credit",
    "Discount": "Credit", "BundledDiscount": "Credit", "EdpDiscount": "Credit", "PrivateRateDiscount": "Credit",
    "DistributorDiscount": "Credit", "SppDiscount": "Credit",
    "Fee": "Purchase", "RIFee": "Purchase", "SavingsPlanRecurringFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
}
AWS_FREQUENCY = {
    "Usage": "Usage-Based", "DiscountedUsage": "Usage-Based", "SavingsPlanCoveredUsage": "Usage-Based",
    "SavingsPlanNegation": "Usage-Based", "RIFee": "Recurring", "SavingsPlanRecurringFee": "Recurring",
    "Fee": "One-Time", "SavingsPlanUpfrontFee": "One-Time",
}
AWS_PRICING_CATEGORY = {"OnDemand": "Standard", "Reserved": "Committed", "Spot": "Dynamic"}
# lineItem/ProductCode → FOCUS ServiceCategory (service taxonomy, not prices)
AWS_SERVICE_CATEGORY = {
    "AmazonEC2": "Compute", "AWSLambda": "Compute", "AmazonECS": "Compute", "AmazonEKS": "Compute",
    "AWSFargate": "Compute", "AmazonLightsail": "Compute", "AWSBatch": "Compute", "AWSCloudShell": "Developer Tools",
    "AmazonS3": "Storage", "AmazonEFS": "Storage", "AmazonGlacier": "Storage", "AmazonFSx": "Storage",
    "AWSBackup": "Storage", "AmazonS3GlacierDeepArchive": "Storage",
    "AmazonRDS": "Databases", "AmazonDynamoDB": "Databases", "AmazonElastiCache": "Databases",
    "AmazonRedshift": "Databases", "AmazonDocDB": "Databases", "AmazonNeptune": "Databases",
    "AmazonVPC": "Networking", "AmazonCloudFront": "Networking", "AmazonRoute53": "Networking",
    "AWSDataTransfer": "Networking", "AWSELB": "Networking", "AmazonApiGateway": "Networking",
    "AWSGlue": "Analytics", "AmazonAthena": "Analytics", "AmazonKinesis": "Analytics", "AmazonES": "Analytics",
    "AmazonQuickSight": "Analytics", "AmazonMSK": "Analytics", "ElasticMapReduce": "Analytics",
    "AWSQueueService": "Integration", "AmazonSNS": "Integration", "AmazonStates": "Integration",
    "AmazonEventBridge": "Integration", "AmazonMQ": "Integration",
    "awskms": "Security", "AWSSecretsManager": "Security", "AWSCertificateManager": "Security",
    "AmazonGuardDuty": "Security", "AWSSecurityHub": "Security", "AWSWAF": "Security", "AmazonInspector": "Security",
    "AmazonCloudWatch": "Management and Governance", "AWSCloudTrail": "Management and Governance",
    "AWSConfig": "Management and Governance", "AWSSystemsManager": "Management and Governance",
    "AWSCostExplorer": "Management and Governance",
    "AWSMigrationHubRefactorSpaces": "Migration", "AWSDatabaseMigrationSvc": "Migration",
    "AWSIoT": "Internet of Things", "AmazonSageMaker": "AI and Machine Learning",
    "AmazonBedrock": "AI and Machine Learning", "AmazonRekognition": "AI and Machine Learning",
    "AWSCodeBuild": "Developer Tools", "AWSCodePipeline": "Developer Tools", "AWSAmplify": "Web",
}


def _aws(c: Cols, cur2: bool) -> Built:
    n = camel_to_cur2 if cur2 else (lambda x: x)

    def t(*names: str) -> pl.Expr:
        return c.text(*[n(x) for x in names])

    def a(name: str) -> Amount:
        return c.amount(n(name))

    lt_name = n("lineItem/LineItemType")
    lt = c.text(lt_name)
    unblended = a("lineItem/UnblendedCost")
    net = a("lineItem/NetUnblendedCost") if c.has(n("lineItem/NetUnblendedCost")) else None
    billed = unblended
    # EffectiveCost: amortized cost (AWS's FOCUS definition), by line item type
    # an untyped 0 takes the type of the limb it is chosen against (a Decimal(38, 24) literal would not hold
    # a wide integer limb)
    zero = Amount(pl.lit(0), unblended.scale, unblended.bad, unblended.source)
    effective = pick([
        (lt == "SavingsPlanCoveredUsage", a("savingsPlan/SavingsPlanEffectiveCost")),
        (lt == "SavingsPlanNegation", zero),
        (lt == "SavingsPlanUpfrontFee", zero),
        (lt == "SavingsPlanRecurringFee", a("savingsPlan/TotalCommitmentToDate") + a("savingsPlan/UsedCommitment").neg()),
        (lt == "DiscountedUsage", a("reservation/EffectiveCost")),
        (lt == "RIFee", a("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod") + a("reservation/UnusedRecurringFee")),
    ], unblended) if c.has(n("savingsPlan/SavingsPlanEffectiveCost"), n("reservation/EffectiveCost")) else unblended
    list_cost = a("pricing/publicOnDemandCost") if c.has(n("pricing/publicOnDemandCost")) else billed
    contracted = net if net is not None else unblended
    product = t("lineItem/ProductCode")
    strings = {
        "ProviderName": pl.lit("AWS"),
        "PublisherName": pl.when(t("bill/BillingEntity") == "AWS Marketplace")
            .then(pl.coalesce(t("product/ProductName"), pl.lit("AWS Marketplace"))).otherwise(pl.lit("AWS")),
        "InvoiceIssuerName": pl.coalesce(t("bill/InvoicingEntity"), pl.lit("AWS")),
        "InvoiceId": t("bill/InvoiceId"),
        "BillingAccountId": t("bill/PayerAccountId"),
        "BillingAccountName": t("bill/PayerAccountName"),
        "SubAccountId": t("lineItem/UsageAccountId"),
        "SubAccountName": t("lineItem/UsageAccountName"),
        "ChargeCategory": _enum_map(lt, AWS_CATEGORY),
        "ChargeFrequency": lt.replace_strict(AWS_FREQUENCY, default=None, return_dtype=pl.String),
        "ChargeDescription": t("lineItem/LineItemDescription"),
        "ServiceName": pl.coalesce(t("product/ProductName"), t("product/servicename"), product),
        "ServiceCategory": product.replace_strict(AWS_SERVICE_CATEGORY, default="Other", return_dtype=pl.String),
        "ResourceId": t("lineItem/ResourceId"),
        "RegionId": pl.coalesce(t("product/regionCode"), t("product/region")),
        "RegionName": t("product/location"),
        "AvailabilityZone": t("lineItem/AvailabilityZone"),
        "SkuId": t("product/sku"),
        "SkuPriceId": t("pricing/RateCode"),
        "SkuMeter": t("lineItem/UsageType"),
        "PricingUnit": t("pricing/unit"),
        "ConsumedUnit": pl.when(lt.is_in(["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"]))
            .then(t("pricing/unit")),
        "PricingCategory": pl.when(lt.is_in(["DiscountedUsage", "SavingsPlanCoveredUsage"])).then(pl.lit("Committed"))
            .otherwise(t("pricing/term").replace_strict(AWS_PRICING_CATEGORY, default=None, return_dtype=pl.String)),
        "CommitmentDiscountId": pl.coalesce(t("savingsPlan/SavingsPlanARN"), t("reservation/ReservationARN")),
        "BillingCurrency": t("lineItem/CurrencyCode"),
        "PricingCurrency": t("pricing/currency"),
    }
    usage = a("lineItem/UsageAmount")
    is_usage = lt.is_in(["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"])
    amounts = {
        "BilledCost": billed, "EffectiveCost": effective, "ListCost": list_cost, "ContractedCost": contracted,
        "PricingQuantity": usage,
        "ConsumedQuantity": Amount(pl.when(is_usage).then(usage.value), usage.scale, usage.bad, usage.source),
    }
    times = {
        "ChargePeriodStart": TimeSpec(c.name(n("lineItem/UsageStartDate"))),
        "ChargePeriodEnd": TimeSpec(c.name(n("lineItem/UsageEndDate"))),
        "BillingPeriodStart": TimeSpec(c.name(n("bill/BillingPeriodStartDate"))),
        "BillingPeriodEnd": TimeSpec(c.name(n("bill/BillingPeriodEndDate"))),
    }
    tag_cols: dict[str, str] = {}
    tags_json = None
    if cur2:
        if c.has("resource_tags"):
            tags_json = c.text("resource_tags")
    else:
        for col in c.with_prefix("resourceTags/"):
            key = col.split("/", 1)[1]
            tag_cols[key.removeprefix("user:")] = col
    sources = {"BilledCost": n("lineItem/UnblendedCost"), "BillingAccountId": n("bill/PayerAccountId"),
               "ChargePeriodStart": n("lineItem/UsageStartDate"), "ChargePeriodEnd": n("lineItem/UsageEndDate"),
               "BillingCurrency": n("lineItem/CurrencyCode"), "ChargeCategory": lt_name,
               "ServiceCategory": n("lineItem/ProductCode")}
    prices = {}
    if c.has(n("pricing/publicOnDemandRate")):
        prices["ListUnitPrice"] = c.name(n("pricing/publicOnDemandRate"))
    return Built(strings, amounts, times, tags_json=tags_json, tags_columns=tag_cols, unit_prices=prices,
                 sources=sources)


# ------------------------------------------------------------------ Azure EA and MCA (cost details)
AZURE_CATEGORY = {"usage": "Usage", "purchase": "Purchase", "refund": "Credit", "tax": "Tax",
                  "roundingadjustment": "Adjustment", "adjustment": "Adjustment", "credit": "Credit",
                  "unusedreservation": "Usage", "unusedsavingsplan": "Usage"}
AZURE_PRICING_CATEGORY = {"ondemand": "Standard", "reservation": "Committed", "savingsplan": "Committed",
                          "spot": "Dynamic"}
AZURE_SERVICE_CATEGORY = {
    "virtual machines": "Compute", "virtual machines licenses": "Compute", "container instances": "Compute",
    "azure app service": "Compute", "functions": "Compute", "batch": "Compute", "cloud services": "Compute",
    "storage": "Storage", "backup": "Storage", "azure netapp files": "Storage",
    "sql database": "Databases", "azure cosmos db": "Databases", "redis cache": "Databases",
    "azure database for postgresql": "Databases", "azure database for mysql": "Databases", "sql managed instance": "Databases",
    "virtual network": "Networking", "bandwidth": "Networking", "load balancer": "Networking",
    "application gateway": "Networking", "vpn gateway": "Networking", "azure dns": "Networking",
    "content delivery network": "Networking", "azure front door service": "Networking", "network watcher": "Networking",
    "azure firewall": "Security", "key vault": "Security", "microsoft defender for cloud": "Security", "sentinel": "Security",
    "log analytics": "Management and Governance", "azure monitor": "Management and Governance",
    "insight and analytics": "Management and Governance", "automation": "Management and Governance",
    "event hubs": "Integration", "service bus": "Integration", "logic apps": "Integration", "event grid": "Integration",
    "azure data factory v2": "Analytics", "azure synapse analytics": "Analytics", "azure databricks": "Analytics",
    "hdinsight": "Analytics", "cognitive services": "AI and Machine Learning",
    "azure machine learning": "AI and Machine Learning", "azure openai": "AI and Machine Learning",
    "iot hub": "Internet of Things", "azure devops": "Developer Tools", "visual studio subscription": "Developer Tools",
}


def _azure(c: Cols, mca: bool) -> Built:
    cat = c.text("ChargeType")
    meter_cat = c.text("MeterCategory")
    billed = c.amount("CostInBillingCurrency", "Cost", "PreTaxCost")
    list_cost = (c.amount("PaygCostInBillingCurrency", "PayGCostInBillingCurrency")
                 if c.has("PaygCostInBillingCurrency", "PayGCostInBillingCurrency") else billed)
    account = (pl.coalesce(c.text("BillingProfileId"), c.text("BillingAccountId")) if mca
               else pl.coalesce(c.text("BillingAccountId"), c.text("EnrollmentNumber")))
    account_name = (pl.coalesce(c.text("BillingProfileName"), c.text("BillingAccountName")) if mca
                    else c.text("BillingAccountName"))
    region = c.text("ResourceLocation")
    strings = {
        "ProviderName": pl.lit("Microsoft"),
        "PublisherName": pl.coalesce(c.text("PublisherName"), pl.lit("Microsoft")),
        "InvoiceIssuerName": pl.lit("Microsoft"),
        "InvoiceId": c.text("InvoiceId"),
        "BillingAccountId": account,
        "BillingAccountName": account_name,
        "SubAccountId": c.text("SubscriptionId", "SubscriptionGuid"),
        "SubAccountName": c.text("SubscriptionName"),
        "ChargeCategory": _enum_map(cat.str.to_lowercase(), AZURE_CATEGORY),
        "ChargeFrequency": c.text("Frequency"),
        "ChargeDescription": pl.coalesce(c.text("ProductName", "Product"), c.text("MeterName")),
        "ServiceName": pl.coalesce(meter_cat, c.text("ConsumedService"), pl.lit("Unknown")),
        "ServiceCategory": meter_cat.str.to_lowercase().replace_strict(AZURE_SERVICE_CATEGORY, default="Other",
                                                                       return_dtype=pl.String),
        "ServiceSubcategory": None,
        "ResourceId": c.text("ResourceId", "InstanceName"),
        "ResourceName": c.text("ResourceName"),
        "ResourceType": c.text("ResourceType"),
        "RegionId": region.str.to_lowercase().str.replace_all(" ", ""),
        "RegionName": c.text("MeterRegion"),
        "AvailabilityZone": c.text("AvailabilityZone"),
        "SkuId": c.text("MeterId"),
        "SkuPriceId": c.text("PartNumber"),
        "SkuMeter": c.text("MeterName"),
        "PricingUnit": c.text("UnitOfMeasure"),
        "PricingCategory": c.text("PricingModel").str.to_lowercase().replace_strict(
            AZURE_PRICING_CATEGORY, default=None, return_dtype=pl.String),
        "CommitmentDiscountId": pl.coalesce(c.text("benefitId"), c.text("ReservationId")),
        "CommitmentDiscountName": pl.coalesce(c.text("benefitName"), c.text("ReservationName")),
        "BillingCurrency": c.text("BillingCurrencyCode", "BillingCurrency", "Currency"),
        "PricingCurrency": c.text("PricingCurrency", "PricingCurrencyCode"),
    }
    strings = {k: v for k, v in strings.items() if v is not None}
    amounts = {"BilledCost": billed, "EffectiveCost": billed, "ListCost": list_cost, "ContractedCost": billed,
               "PricingQuantity": c.amount("Quantity", "UsageQuantity"),
               "ConsumedQuantity": c.amount("Quantity", "UsageQuantity")}
    times = {
        "ChargePeriodStart": TimeSpec(c.name("Date", "UsageDateTime")),
        "ChargePeriodEnd": TimeSpec(from_column="ChargePeriodStart", add_days=1),
        # Azure's billing period end date is the last day *included*; FOCUS's end is exclusive
        "BillingPeriodStart": TimeSpec(c.name("BillingPeriodStartDate")),
        "BillingPeriodEnd": TimeSpec(c.name("BillingPeriodEndDate"), add_days=1),
    }
    sources = {"BilledCost": billed.source, "BillingAccountId": "BillingProfileId" if mca else "BillingAccountId",
               "ChargePeriodStart": c.name("Date", "UsageDateTime") or "Date",
               "BillingCurrency": c.name("BillingCurrencyCode", "BillingCurrency", "Currency") or "BillingCurrency",
               "ChargeCategory": c.name("ChargeType") or "ChargeType", "ChargeFrequency": c.name("Frequency") or "Frequency"}
    prices = {k: c.name(v) for k, v in (("ListUnitPrice", "PayGPrice"), ("ContractedUnitPrice", "UnitPrice"))
              if c.has(v)}
    return Built(strings, amounts, times, tags_json=c.text("Tags") if c.has("Tags") else None,
                 unit_prices=prices, sources=sources)


# ------------------------------------------------------------------ GCP (BigQuery billing export, flattened)
GCP_CATEGORY = {"regular": "Usage", "tax": "Tax", "adjustment": "Adjustment", "rounding_error": "Adjustment"}
GCP_SERVICE_CATEGORY = {
    "compute engine": "Compute", "cloud run": "Compute", "cloud functions": "Compute",
    "kubernetes engine": "Compute", "app engine": "Compute", "cloud storage": "Storage",
    "cloud sql": "Databases", "cloud spanner": "Databases", "firestore": "Databases", "bigtable": "Databases",
    "bigquery": "Analytics", "dataflow": "Analytics", "dataproc": "Analytics", "pub/sub": "Integration",
    "networking": "Networking", "cloud dns": "Networking", "cloud cdn": "Networking",
    "cloud logging": "Management and Governance", "cloud monitoring": "Management and Governance",
    "vertex ai": "AI and Machine Learning", "secret manager": "Security", "cloud key management service (kms)": "Security",
}


def _gcp(c: Cols) -> Built:
    def t(name: str) -> pl.Expr:
        return c.text(name, name.replace(".", "_"))

    cost = c.amount("cost")
    # credits (free tier, CUDs, promotions) flattened to one column; the bill is cost + credits
    billed = cost + c.amount("credits_amount", "credits.amount") if c.has("credits_amount", "credits.amount") else cost
    svc = t("service.description")
    strings = {
        "ProviderName": pl.lit("Google Cloud"), "PublisherName": pl.lit("Google Cloud"),
        "InvoiceIssuerName": pl.lit("Google Cloud"),
        "InvoiceId": t("invoice.month"),
        "BillingAccountId": t("billing_account_id"),
        "SubAccountId": t("project.id"), "SubAccountName": t("project.name"),
        "ChargeCategory": _enum_map(pl.coalesce(t("cost_type"), pl.lit("regular")), GCP_CATEGORY),
        "ChargeFrequency": pl.lit("Usage-Based"),
        "ChargeDescription": t("sku.description"),
        "ServiceName": pl.coalesce(svc, pl.lit("Unknown")),
        "ServiceCategory": svc.str.to_lowercase().replace_strict(GCP_SERVICE_CATEGORY, default="Other",
                                                               return_dtype=pl.String),
        "ResourceId": pl.coalesce(t("resource.global_name"), t("resource.name")),
        "ResourceName": t("resource.name"),
        "RegionId": pl.coalesce(t("location.region"), t("location.location")),
        "AvailabilityZone": t("location.zone"),
        "SkuId": t("sku.id"), "PricingUnit": t("usage.pricing_unit"), "ConsumedUnit": t("usage.unit"),
        "BillingCurrency": t("currency"),
    }
    amounts = {"BilledCost": billed, "EffectiveCost": billed,
               "ListCost": c.amount("cost_at_list") if c.has("cost_at_list") else cost,
               "ContractedCost": cost,
               "PricingQuantity": c.amount("usage.amount_in_pricing_units", "usage_amount_in_pricing_units"),
               "ConsumedQuantity": c.amount("usage.amount", "usage_amount")}
    times = {"ChargePeriodStart": TimeSpec(c.name("usage_start_time")),
             "ChargePeriodEnd": TimeSpec(c.name("usage_end_time"))}
    return Built(strings, amounts, times, tags_json=c.text("labels") if c.has("labels") else None,
                 sources={"BilledCost": "cost", "BillingAccountId": "billing_account_id",
                          "ChargePeriodStart": "usage_start_time", "ChargePeriodEnd": "usage_end_time",
                          "BillingCurrency": "currency", "ChargeCategory": "cost_type"})


# ------------------------------------------------------------------ OCI (cost reports)
def _oci(c: Cols) -> Built:
    cost = c.amount("cost/myCost")
    correction = c.text("lineItem/isCorrection")
    svc = c.text("product/service")
    strings = {
        "ProviderName": pl.lit("Oracle"), "PublisherName": pl.lit("Oracle"), "InvoiceIssuerName": pl.lit("Oracle"),
        "BillingAccountId": c.text("lineItem/tenantId"),
        "SubAccountId": c.text("product/compartmentId"), "SubAccountName": c.text("product/compartmentName"),
        "ChargeCategory": pl.when(correction.str.to_lowercase() == "true").then(pl.lit("Adjustment"))
            .otherwise(pl.lit("Usage")),
        "ChargeClass": pl.when(correction.str.to_lowercase() == "true").then(pl.lit("Correction")),
        "ChargeFrequency": pl.lit("Usage-Based"),
        "ChargeDescription": c.text("product/Description"),
        "ServiceName": pl.coalesce(svc, pl.lit("Unknown")),
        "ServiceCategory": pl.lit("Other"),
        "ResourceId": c.text("product/resourceId"),
        "RegionId": c.text("product/region"), "AvailabilityZone": c.text("product/availabilityDomain"),
        "SkuId": c.text("cost/productSku"), "PricingUnit": c.text("cost/skuUnitDescription"),
        "BillingCurrency": c.text("cost/currencyCode"),
    }
    amounts = {"BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "ContractedCost": cost,
               "PricingQuantity": c.amount("usage/billedQuantity"), "ConsumedQuantity": c.amount("usage/consumedQuantity")}
    times = {"ChargePeriodStart": TimeSpec(c.name("lineItem/intervalUsageStart")),
             "ChargePeriodEnd": TimeSpec(c.name("lineItem/intervalUsageEnd"))}
    tag_cols = {col.split("/", 1)[1]: col for col in c.with_prefix("tags/")}
    prices = {"ListUnitPrice": c.name("cost/unitPrice")} if c.has("cost/unitPrice") else {}
    return Built(strings, amounts, times, tags_columns=tag_cols, unit_prices=prices,
                 sources={"BilledCost": "cost/myCost", "BillingAccountId": "lineItem/tenantId",
                          "ChargePeriodStart": "lineItem/intervalUsageStart",
                          "ChargePeriodEnd": "lineItem/intervalUsageEnd", "BillingCurrency": "cost/currencyCode"})


MAPPINGS: dict[str, Mapping] = {
    "focus": Mapping("focus", "", (("BilledCost",), ("ChargePeriodStart",), ("ChargePeriodEnd",),
                                   ("BillingAccountId",), ("BillingCurrency",),
                                   ("ProviderName", "ServiceProviderName", "Provider")), _focus),
    "aws-cur": Mapping("aws-cur", "AWS", (("lineItem/UnblendedCost",), ("lineItem/UsageStartDate",),
                                          ("lineItem/UsageEndDate",), ("bill/PayerAccountId",),
                                          ("lineItem/CurrencyCode",), ("lineItem/LineItemType",)),
                       lambda c: _aws(c, False)),
    "aws-cur2": Mapping("aws-cur2", "AWS", (("line_item_unblended_cost",), ("line_item_usage_start_date",),
                                            ("line_item_usage_end_date",), ("bill_payer_account_id",),
                                            ("line_item_currency_code",), ("line_item_line_item_type",)),
                        lambda c: _aws(c, True)),
    "azure-ea": Mapping("azure-ea", "Microsoft", (("CostInBillingCurrency", "Cost", "PreTaxCost"), ("Date", "UsageDateTime"),
                                                  ("BillingAccountId", "EnrollmentNumber"),
                                                  ("BillingCurrencyCode", "BillingCurrency", "Currency"),
                                                  ("ChargeType",)), lambda c: _azure(c, False)),
    "azure-mca": Mapping("azure-mca", "Microsoft", (("CostInBillingCurrency",), ("Date",),
                                                    ("BillingProfileId", "BillingAccountId"),
                                                    ("BillingCurrency", "BillingCurrencyCode"), ("ChargeType",)),
                         lambda c: _azure(c, True)),
    "gcp": Mapping("gcp", "Google Cloud", (("cost",), ("usage_start_time",), ("usage_end_time",),
                                           ("billing_account_id",), ("currency",)), _gcp),
    "oci": Mapping("oci", "Oracle", (("cost/myCost",), ("lineItem/intervalUsageStart",),
                                     ("lineItem/intervalUsageEnd",), ("lineItem/tenantId",),
                                     ("cost/currencyCode",)), _oci),
}


def detect(names: Iterable[str]) -> str | None:
    """The export format a header belongs to, or None."""
    c = Cols(list(names))
    if c.has("BilledCost") and c.has("ChargePeriodStart"):
        return "focus"
    if c.has("lineItem/UnblendedCost"):
        return "aws-cur"
    if c.has("line_item_unblended_cost"):
        return "aws-cur2"
    if c.has("MeterCategory", "MeterId") and c.has("CostInBillingCurrency", "Cost", "PreTaxCost"):
        # EA cost details carry the enrollment's account owner; MCA's carry billing profiles only
        if c.has("AccountOwnerId", "EnrollmentNumber", "AccountName") or not c.has("BillingProfileId"):
            return "azure-ea"
        return "azure-mca"
    if c.has("billing_account_id") and c.has("cost") and c.has("usage_start_time"):
        return "gcp"
    if c.has("cost/myCost") and c.has("lineItem/intervalUsageStart"):
        return "oci"
    return None


def check_required(fmt: str, names: Sequence[str], file: str) -> None:
    """Raise naming the file and every missing required column (row 0 is the header)."""
    c = Cols(names)
    missing = [alts for alts in MAPPINGS[fmt].required if not c.has(*alts)]
    if missing:
        raise ValidationError(
            f"{file}: missing required column{'s' if len(missing) > 1 else ''} for format {fmt}: "
            + ", ".join(" or ".join(a) for a in missing),
            details=[{"file": file, "row": 0, "column": " or ".join(a), "message": "required column missing"}
                     for a in missing])
