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
from ..providers.aws import taxonomy as aws_taxonomy
from ..providers.azure import taxonomy as azure_taxonomy
from ..providers.gcp import taxonomy as gcp_taxonomy
from ..providers.oci import taxonomy as oci_taxonomy
from . import enrich as E
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
    # cost -> unit price: the cost is that price × PricingQuantity (FOCUS's definition) when the source
    # has the price but not the cost (Azure cost details carry PayGPrice and UnitPrice, not their costs)
    products: dict[str, str] = field(default_factory=dict)


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
    _focus_complete(c, strings)
    for name in F.PRICING_CURRENCY_AMOUNTS:
        if c.has(name):
            amounts[name] = c.amount(name)
    times = {name: TimeSpec(c.name(name)) for name in F.TIME_COLUMNS if c.has(name)}
    return Built(strings, amounts, times, tags_json=c.text("Tags") if c.has("Tags") else None,
                 unit_prices={n: c.name(n) for n in F.PRICE_COLUMNS if c.has(n)},
                 sources={n: c.name(*_FOCUS_ALIASES.get(n, (n,))) or n for n in F.ALL_COLUMNS}, keep_x=True)


def _focus_complete(c: Cols, s: dict[str, pl.Expr]) -> None:
    """What a FOCUS file of an earlier version (or a sparse one) lacks for FOCUS 1.2, from each row's
    provider taxonomy: the service's category and subcategory (a file without ServiceSubcategory: one
    per service, so a service keeps one category), region names (a region id written as the name,
    as some OCI files do, becomes the id), resource types, account types, FOCUS units, and AWS's own
    invoicing entities as the invoice issuer."""
    prov = s["ProviderName"]
    name = s.get("ServiceName", pl.lit(None, dtype=pl.String))
    if "ServiceSubcategory" not in s:
        known = {p: f(name) for p, f in (("AWS", lambda n: E.aws_service(None, n)), ("Microsoft", E.azure_by_name),
                                         ("Google Cloud", E.gcp_service), ("Oracle", E.oci_service))}
        file_cat = s.get("ServiceCategory", pl.lit(None, dtype=pl.String))
        cat = pl.coalesce(E.by_provider(prov, {p: k[0] for p, k in known.items()}, pl.lit(None, dtype=pl.String)),
                          file_cat, pl.lit("Other"))
        sub = E.by_provider(prov, {p: k[1] for p, k in known.items()}, pl.lit(None, dtype=pl.String))
        # a taxonomy subcategory belongs to the taxonomy's category; otherwise "Other (<category>)"
        s["ServiceCategory"] = cat
        s["ServiceSubcategory"] = pl.when(sub.is_not_null() & (cat == E.by_provider(
            prov, {p: k[0] for p, k in known.items()}, pl.lit(None, dtype=pl.String)))).then(sub).otherwise(E.other(cat))
    rid, rname = s.get("RegionId"), s.get("RegionName")
    if rname is not None:
        oci_id = pl.when((prov == "Oracle") & E.oci_region_name(rname).is_not_null()).then(rname)
        rid = oci_id if rid is None else pl.coalesce(rid, oci_id)
        rname = pl.when(oci_id.is_not_null()).then(E.oci_region_name(rname)).otherwise(rname)
    if rid is not None:
        s["RegionId"] = rid
        named = E.by_provider(prov, {"AWS": E.aws_region_name(rid), "Microsoft": E.azure_region_name(rid),
                                     "Google Cloud": E.gcp_region_name(rid), "Oracle": E.oci_region_name(rid)},
                              pl.lit(None, dtype=pl.String))
        s["RegionName"] = named if rname is None else pl.coalesce(rname, named)
    if "ResourceId" in s:
        res = s["ResourceId"]
        derived = E.by_provider(prov, {"AWS": E.aws_resource_type(res, None, name),
                                       "Microsoft": E.azure_resource_type(res, name)}, pl.when(res.is_not_null()).then(name))
        s["ResourceType"] = derived if "ResourceType" not in s else pl.coalesce(s["ResourceType"], derived)
    ba, sa = E.account_types(prov)
    s["BillingAccountType"] = ba if "BillingAccountType" not in s else pl.coalesce(s["BillingAccountType"], ba)
    if "SubAccountId" in s:
        sa = pl.when(s["SubAccountId"].is_not_null()).then(sa)
        s["SubAccountType"] = sa if "SubAccountType" not in s else pl.coalesce(s["SubAccountType"], sa)
    for u in ("PricingUnit", "ConsumedUnit"):
        if u in s:
            s[u] = E.by_provider(prov, {"AWS": E.aws_units(s[u])}, s[u])
    if "InvoiceIssuerName" in s:
        s["InvoiceIssuerName"] = pl.when(prov == "AWS").then(E.aws_invoice_issuer(s["InvoiceIssuerName"])).otherwise(
            s["InvoiceIssuerName"])


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
    "Fee": "One-Time", "SavingsPlanUpfrontFee": "One-Time", "Tax": "One-Time", "Credit": "One-Time",
    "Refund": "One-Time", "Discount": "Usage-Based", "BundledDiscount": "Usage-Based", "EdpDiscount": "Usage-Based",
    "PrivateRateDiscount": "Usage-Based", "DistributorDiscount": "Usage-Based", "SppDiscount": "Usage-Based",
}
AWS_PURCHASE = ("Fee", "RIFee", "SavingsPlanRecurringFee", "SavingsPlanUpfrontFee")
AWS_PRICING_CATEGORY = {"OnDemand": "Standard", "Reserved": "Committed", "Spot": "Dynamic"}


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
    service_name = pl.coalesce(t("product/ProductName"), t("product/servicename"), product)
    category, subcategory = E.aws_service(product, service_name)
    region = pl.coalesce(t("product/regionCode"), t("product/region"))
    unit = E.aws_units(t("pricing/unit"))
    sub_account = t("lineItem/UsageAccountId")
    usage_types = ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"]
    strings = {
        "ProviderName": pl.lit("AWS"),
        "PublisherName": pl.when(t("bill/BillingEntity") == "AWS Marketplace")
            .then(pl.coalesce(t("product/ProductName"), pl.lit("AWS Marketplace"))).otherwise(pl.lit("AWS")),
        "InvoiceIssuerName": E.aws_invoice_issuer(t("bill/InvoicingEntity")),
        "InvoiceId": t("bill/InvoiceId"),
        "BillingAccountId": t("bill/PayerAccountId"),
        "BillingAccountName": t("bill/PayerAccountName"),
        "BillingAccountType": pl.lit(aws_taxonomy.BILLING_ACCOUNT_TYPE),
        "SubAccountId": sub_account,
        "SubAccountName": t("lineItem/UsageAccountName"),
        "SubAccountType": pl.when(sub_account.is_not_null()).then(pl.lit(aws_taxonomy.SUB_ACCOUNT_TYPE)),
        "ChargeCategory": _enum_map(lt, AWS_CATEGORY),
        "ChargeFrequency": lt.replace_strict(AWS_FREQUENCY, default=None, return_dtype=pl.String),
        "ChargeDescription": t("lineItem/LineItemDescription"),
        "ServiceName": service_name,
        "ServiceCategory": category,
        "ServiceSubcategory": subcategory,
        "ResourceId": t("lineItem/ResourceId"),
        "ResourceType": E.aws_resource_type(t("lineItem/ResourceId"), product, service_name),
        "RegionId": region,
        "RegionName": pl.coalesce(t("product/location"), E.aws_region_name(region)),
        "AvailabilityZone": t("lineItem/AvailabilityZone"),
        "SkuId": t("product/sku"),
        "SkuPriceId": t("pricing/RateCode"),
        "SkuMeter": t("lineItem/UsageType"),
        "PricingUnit": unit,
        "ConsumedUnit": pl.when(lt.is_in(usage_types)).then(unit),
        # covered by a reservation or savings plan: Committed; else the price's term; a usage or fee line
        # without one is priced at the account's predetermined rate (Standard), spot usage at the market's
        "PricingCategory": pl.when(lt.is_in(["DiscountedUsage", "SavingsPlanCoveredUsage"])).then(pl.lit("Committed"))
            .otherwise(pl.coalesce(
                t("pricing/term").replace_strict(AWS_PRICING_CATEGORY, default=None, return_dtype=pl.String),
                pl.when(lt.is_in(usage_types + list(AWS_PURCHASE))).then(
                    pl.when(t("lineItem/UsageType").str.contains("SpotUsage", literal=True)).then(pl.lit("Dynamic"))
                    .otherwise(pl.lit("Standard"))))),
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
    # the rate of ContractedCost (NetUnblendedCost, else UnblendedCost)
    rate = n("lineItem/NetUnblendedRate") if net is not None and c.has(n("lineItem/NetUnblendedRate")) \
        else n("lineItem/UnblendedRate")
    if c.has(rate):
        prices["ContractedUnitPrice"] = c.name(rate)
    return Built(strings, amounts, times, tags_json=tags_json, tags_columns=tag_cols, unit_prices=prices,
                 sources=sources)


# ------------------------------------------------------------------ Azure EA and MCA (cost details)
AZURE_CATEGORY = {"usage": "Usage", "purchase": "Purchase", "refund": "Credit", "tax": "Tax",
                  "roundingadjustment": "Adjustment", "adjustment": "Adjustment", "credit": "Credit",
                  "unusedreservation": "Usage", "unusedsavingsplan": "Usage"}
AZURE_PRICING_CATEGORY = {"ondemand": "Standard", "reservation": "Committed", "savingsplan": "Committed",
                          "spot": "Dynamic"}
def _azure(c: Cols, mca: bool) -> Built:
    cat = c.text("ChargeType")
    cat_low = cat.str.to_lowercase()
    meter_cat = c.text("MeterCategory")
    billed = c.amount("CostInBillingCurrency", "Cost", "PreTaxCost")
    has_payg = c.has("PaygCostInBillingCurrency", "PayGCostInBillingCurrency")
    list_cost = c.amount("PaygCostInBillingCurrency", "PayGCostInBillingCurrency") if has_payg else billed
    account = (pl.coalesce(c.text("BillingProfileId"), c.text("BillingAccountId")) if mca
               else pl.coalesce(c.text("BillingAccountId"), c.text("EnrollmentNumber")))
    account_name = (pl.coalesce(c.text("BillingProfileName"), c.text("BillingAccountName")) if mca
                    else c.text("BillingAccountName"))
    resource = c.text("ResourceId", "InstanceName")
    name, category, subcategory = E.azure_service(c.text("ConsumedService"), E.azure_arm_type(resource), meter_cat)
    region_id, region_name = E.azure_region(c.text("ResourceLocation"))
    unit = E.azure_unit(c.text("UnitOfMeasure"))
    subscription = c.text("SubscriptionId", "SubscriptionGuid")
    commitment = pl.coalesce(c.text("benefitId"), c.text("ReservationId"))
    model = c.text("PricingModel").str.to_lowercase()
    savings_plan = (model == "savingsplan") | commitment.str.to_lowercase().str.contains("savingsplan")
    strings = {
        "ProviderName": pl.lit("Microsoft"),
        "PublisherName": pl.coalesce(c.text("PublisherName"), pl.lit("Microsoft")),
        "InvoiceIssuerName": pl.lit("Microsoft"),
        "InvoiceId": c.text("InvoiceId"),
        "BillingAccountId": account,
        "BillingAccountName": account_name,
        "BillingAccountType": pl.lit(azure_taxonomy.BILLING_ACCOUNT_TYPES["mca" if mca else "ea"]),
        "SubAccountId": subscription,
        "SubAccountName": c.text("SubscriptionName"),
        "SubAccountType": pl.when(subscription.is_not_null()).then(pl.lit(azure_taxonomy.SUB_ACCOUNT_TYPE)),
        "ChargeCategory": _enum_map(cat_low, AZURE_CATEGORY),
        "ChargeFrequency": c.text("Frequency"),
        "ChargeDescription": pl.coalesce(c.text("ProductName", "Product"), c.text("MeterName")),
        "ServiceName": name,
        "ServiceCategory": category,
        "ServiceSubcategory": subcategory,
        "ResourceId": resource,
        "ResourceName": c.text("ResourceName"),
        "ResourceType": pl.coalesce(c.text("ResourceType"), E.azure_resource_type(resource, name)),
        "RegionId": region_id,
        "RegionName": region_name,
        "AvailabilityZone": c.text("AvailabilityZone"),
        "SkuId": c.text("MeterId"),
        "SkuPriceId": c.text("PartNumber"),
        "SkuMeter": c.text("MeterName"),
        "PricingUnit": unit,
        "ConsumedUnit": pl.when(cat_low == "usage").then(unit),
        # a commitment's purchase is priced at its agreed rate (Standard); usage it covers is Committed
        "PricingCategory": pl.when(cat_low == "purchase").then(
            pl.when(model == "spot").then(pl.lit("Dynamic")).otherwise(pl.lit("Standard"))).otherwise(
            model.replace_strict(AZURE_PRICING_CATEGORY, default=None, return_dtype=pl.String)),
        "CommitmentDiscountId": commitment,
        "CommitmentDiscountName": pl.coalesce(c.text("benefitName"), c.text("ReservationName")),
        "CommitmentDiscountType": pl.when(commitment.is_not_null()).then(
            pl.when(savings_plan).then(pl.lit("Savings Plan")).otherwise(pl.lit("Reservation"))),
        "CommitmentDiscountCategory": pl.when(commitment.is_not_null()).then(
            pl.when(savings_plan).then(pl.lit("Spend")).otherwise(pl.lit("Usage"))),
        "CommitmentDiscountStatus": pl.when(commitment.is_not_null()).then(
            pl.when(cat_low.is_in(["unusedreservation", "unusedsavingsplan"])).then(pl.lit("Unused"))
            .when(cat_low == "usage").then(pl.lit("Used"))),
        "BillingCurrency": c.text("BillingCurrencyCode", "BillingCurrency", "Currency"),
        "PricingCurrency": c.text("PricingCurrency", "PricingCurrencyCode"),
    }
    zero = Amount(pl.lit(0), billed.scale, billed.bad, billed.source)
    # FOCUS: the purchase of a commitment costs nothing effective (its cost is amortized over the usage
    # it covers, which Azure's amortized and FOCUS datasets carry; an actual-cost file does not)
    effective = pick([(commitment.is_not_null() & (cat_low == "purchase"), zero)], billed)
    quantity = c.amount("Quantity", "UsageQuantity")
    amounts = {"BilledCost": billed, "EffectiveCost": effective, "ListCost": list_cost, "ContractedCost": billed,
               "PricingQuantity": quantity, "ConsumedQuantity": quantity}
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
    # Quantity × UnitPrice is the contracted cost (the bill, Cost, also has commitment benefits in it);
    # Quantity × PayGPrice the list cost when the file has no PayG cost column
    products = {"ContractedCost": "ContractedUnitPrice"} if "ContractedUnitPrice" in prices else {}
    if "ListUnitPrice" in prices and not has_payg:
        products["ListCost"] = "ListUnitPrice"
    return Built(strings, amounts, times, tags_json=c.text("Tags") if c.has("Tags") else None,
                 unit_prices=prices, sources=sources, products=products)


# ------------------------------------------------------------------ GCP (BigQuery billing export, flattened)
GCP_CATEGORY = {"regular": "Usage", "tax": "Tax", "adjustment": "Adjustment", "rounding_error": "Adjustment"}
def _gcp(c: Cols) -> Built:
    def t(name: str) -> pl.Expr:
        return c.text(name, name.replace(".", "_"))

    cost = c.amount("cost")
    # credits (free tier, CUDs, promotions) flattened to one column; the bill is cost + credits
    billed = cost + c.amount("credits_amount", "credits.amount") if c.has("credits_amount", "credits.amount") else cost
    svc = t("service.description")
    category, subcategory = E.gcp_service(svc)
    region = pl.coalesce(t("location.region"), t("location.location"))
    project = t("project.id")
    strings = {
        "ProviderName": pl.lit("Google Cloud"), "PublisherName": pl.lit("Google Cloud"),
        "InvoiceIssuerName": pl.lit("Google Cloud"),
        "InvoiceId": t("invoice.month"),
        "BillingAccountId": t("billing_account_id"),
        "BillingAccountType": pl.lit(gcp_taxonomy.BILLING_ACCOUNT_TYPE),
        "SubAccountId": project, "SubAccountName": t("project.name"),
        "SubAccountType": pl.when(project.is_not_null()).then(pl.lit(gcp_taxonomy.SUB_ACCOUNT_TYPE)),
        "ChargeCategory": _enum_map(pl.coalesce(t("cost_type"), pl.lit("regular")), GCP_CATEGORY),
        "ChargeFrequency": pl.lit("Usage-Based"),
        "ChargeDescription": t("sku.description"),
        "ServiceName": pl.coalesce(svc, pl.lit("Unknown")),
        "ServiceCategory": category, "ServiceSubcategory": subcategory,
        "ResourceId": pl.coalesce(t("resource.global_name"), t("resource.name")),
        "ResourceName": t("resource.name"),
        "RegionId": region, "RegionName": E.gcp_region_name(region),
        "AvailabilityZone": t("location.zone"),
        "SkuId": t("sku.id"), "SkuPriceId": t("sku.id"), "SkuMeter": t("sku.description"),
        "PricingUnit": E.gcp_units(t("usage.pricing_unit")), "ConsumedUnit": E.gcp_units(t("usage.unit")),
        "PricingCategory": pl.when(pl.coalesce(t("cost_type"), pl.lit("regular")) == "regular").then(pl.lit("Standard")),
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
    category, subcategory = E.oci_service(svc)
    compartment = c.text("product/compartmentId")
    region = c.text("product/region")
    strings = {
        "ProviderName": pl.lit("Oracle"), "PublisherName": pl.lit("Oracle"), "InvoiceIssuerName": pl.lit("Oracle"),
        "BillingAccountId": c.text("lineItem/tenantId"),
        "BillingAccountType": pl.lit(oci_taxonomy.BILLING_ACCOUNT_TYPE),
        "SubAccountId": compartment, "SubAccountName": c.text("product/compartmentName"),
        "SubAccountType": pl.when(compartment.is_not_null()).then(pl.lit(oci_taxonomy.SUB_ACCOUNT_TYPE)),
        "ChargeCategory": pl.when(correction.str.to_lowercase() == "true").then(pl.lit("Adjustment"))
            .otherwise(pl.lit("Usage")),
        "ChargeClass": pl.when(correction.str.to_lowercase() == "true").then(pl.lit("Correction")),
        "ChargeFrequency": pl.lit("Usage-Based"),
        "ChargeDescription": c.text("product/Description"),
        "ServiceName": pl.coalesce(svc, pl.lit("Unknown")),
        "ServiceCategory": category, "ServiceSubcategory": subcategory,
        "ResourceId": c.text("product/resourceId"),
        "RegionId": region, "RegionName": E.oci_region_name(region),
        "AvailabilityZone": c.text("product/availabilityDomain"),
        "SkuId": c.text("cost/productSku"), "SkuPriceId": c.text("cost/productSku"),
        "PricingUnit": c.text("cost/skuUnitDescription"),
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
