"""focus.complete and the provider taxonomies: the one place FOCUS 1.2 completion rules live."""

from __future__ import annotations

import doctest
from decimal import Decimal

import pytest

from cloudtally import focus, providers
from cloudtally.errors import ValidationError
from cloudtally.focus import SUBCATEGORY_PARENT, complete, parse_record
from cloudtally.providers import taxonomy
from cloudtally.providers.aws import taxonomy as aws
from cloudtally.providers.azure import taxonomy as azure
from cloudtally.providers.gcp import taxonomy as gcp
from cloudtally.providers.oci import taxonomy as oci
from cloudtally.store import codec

BASE = {"ProviderName": "AWS", "BillingAccountId": "111122223333", "ChargePeriodStart": "2024-09-01",
        "ChargePeriodEnd": "2024-09-02", "BilledCost": "1.25", "BillingCurrency": "USD"}


@pytest.mark.parametrize("module", [focus, providers, aws, azure, gcp, oci, codec])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_every_taxonomy_subcategory_is_focus_1_2_under_its_category():
    tables = [(cat, sub) for _, _, cat, sub in aws.SERVICES] + list(gcp.SERVICES.values()) + list(oci.SERVICES.values())
    pairs, names = azure.services()
    tables += [(c, s) for _, c, s in pairs.values()] + list(names.values())
    assert tables and all(SUBCATEGORY_PARENT.get(sub) == cat for cat, sub in tables)


def test_tax_rows_drop_what_focus_requires_null_and_keep_the_amounts():
    r = parse_record({**BASE, "ChargeCategory": "Tax", "SkuId": "s", "SkuPriceId": "p", "PricingQuantity": "3",
                      "PricingUnit": "Hours", "ListUnitPrice": "0.5", "PricingCategory": "Standard",
                      "ConsumedQuantity": "3", "ConsumedUnit": "Hours"}, taxonomy("AWS"))
    assert (r.SkuId, r.SkuPriceId, r.PricingQuantity, r.PricingUnit, r.ListUnitPrice, r.PricingCategory,
            r.ConsumedQuantity, r.ConsumedUnit) == (None,) * 8
    assert r.BilledCost == Decimal("1.25") and r.ChargeFrequency is None


def test_usage_record_is_completed_from_the_taxonomy():
    r = parse_record({**BASE, "ServiceName": "Amazon Redshift", "ServiceCategory": "Analytics", "RegionId": "eu-west-1",
                      "SubAccountId": "210987654321", "ResourceId": "arn:aws:redshift:eu-west-1:1:cluster:dw",
                      "PricingQuantity": "24", "PricingUnit": "Hrs", "ListUnitPrice": "0.25",
                      "InvoiceIssuerName": "Amazon Web Services EMEA SARL"}, taxonomy("AWS"))
    assert (r.ServiceCategory, r.ServiceSubcategory) == ("Databases", "Data Warehouses")   # one category per service
    assert (r.RegionName, r.PricingUnit, r.ResourceType) == ("EU (Ireland)", "Hours", "cluster")
    assert (r.BillingAccountName, r.BillingAccountType, r.SubAccountName, r.SubAccountType) == (
        "111122223333", "Payer Account", "210987654321", "Linked Account")
    assert r.InvoiceIssuerName == "AWS"
    assert (r.PricingCurrency, r.PricingCurrencyListUnitPrice, r.PricingCurrencyEffectiveCost) == (
        "USD", Decimal("0.25"), Decimal("1.25"))


def test_other_pricing_currency_is_kept_and_stored():
    r = parse_record({**BASE, "PricingCurrency": "EUR", "ListUnitPrice": "0.5", "PricingCurrencyListUnitPrice": "0.46"})
    assert r.PricingCurrencyEffectiveCost is None and r.PricingCurrencyListUnitPrice == Decimal("0.46")
    back = codec.from_item(codec.to_item(r))
    assert (back.PricingCurrency, back.PricingCurrencyListUnitPrice) == ("EUR", Decimal("0.46"))
    same = parse_record({**BASE, "ListUnitPrice": "0.5"})
    item = codec.to_item(same)
    assert "pcur" not in item and "pclu" not in item and "pcec" not in item     # derivable: not stored
    assert codec.from_item(item).PricingCurrencyListUnitPrice == Decimal("0.5")


def test_sku_price_details_and_subcategory_are_validated():
    r = parse_record({**BASE, "SkuPriceId": "p", "SkuPriceDetails": {"CoreCount": 2, "x_Tier": "std"}})
    assert r.SkuPriceDetails == '{"CoreCount":2,"x_Tier":"std"}'
    with pytest.raises(ValidationError) as e:
        parse_record({**BASE, "SkuPriceDetails": "[1]", "ServiceCategory": "Compute",
                      "ServiceSubcategory": "Object Storage", "PricingCategory": "Cheap"})
    assert {d["field"] for d in e.value.details} == {"SkuPriceDetails", "ServiceSubcategory", "PricingCategory"}


def test_negative_unit_price_dropped_outside_usage_and_purchase_only():
    v = complete({"BillingAccountId": "1", "BillingCurrency": "USD", "ChargeCategory": "Credit",
                  "ContractedUnitPrice": Decimal(-3), "EffectiveCost": Decimal(-1)})
    assert "ContractedUnitPrice" not in v
    v = complete({"BillingAccountId": "1", "BillingCurrency": "USD", "ChargeCategory": "Usage",
                  "ContractedUnitPrice": Decimal(-3), "EffectiveCost": Decimal(-1)})
    assert v["ContractedUnitPrice"] == Decimal(-3)     # a source error on a usage row is not hidden
