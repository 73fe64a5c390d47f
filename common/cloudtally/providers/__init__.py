"""Everything one cost source knows, one package per source, and the only place its SDK is imported.

``providers/<source>/`` holds the source's client session, error mapping (SDK exception →
:class:`cloudtally.errors.ProviderError`), permissions, inventory, billed-cost reader and its collectors'
specs; importing a provider package imports no SDK (clients are made when a collector runs).
``providers/<provider>/taxonomy.py`` holds the provider's FOCUS knowledge (service → ServiceCategory
and ServiceSubcategory, units in the FOCUS unit format, region id → name, account types, resource
types), used alike by its collector, its billing-export mapping and the demo estate, so a service
has one category whichever source its cost came from. These packages import nothing heavy: no SDK,
no polars.

>>> taxonomy("AWS").service_categories("AmazonRedshift") == taxonomy("AWS").service_categories("Amazon Redshift")
True
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any, Callable

# FOCUS ProviderName → the taxonomy's package
PROVIDERS = {"AWS": "aws", "Microsoft": "azure", "Google Cloud": "gcp", "Oracle": "oci"}


def taxonomy(provider_name: str) -> ModuleType | None:
    """The taxonomy module of a FOCUS ProviderName, or None for a provider CloudTally has none for."""
    pkg = PROVIDERS.get(provider_name)
    return import_module(f"{__name__}.{pkg}.taxonomy") if pkg else None


def fill(v: dict[str, Any], *, billing_account_type: str, sub_account_type: str,
         categories: Callable[[str | None], tuple[str, str] | None] | None = None,
         region_name: Callable[[str | None], str | None] | None = None,
         unit: Callable[[str | None], str | None] | None = None,
         resource_type: Callable[[str, str | None], str | None] | None = None) -> None:
    """What a taxonomy knows, written into one record (in place), the same way for every provider.

    The service's category and subcategory replace the record's when the taxonomy knows the service
    (one category per service, whichever source wrote the record); a region name, account types and
    a resource type fill what is missing; units are rewritten in the FOCUS unit format.
    """
    if categories is not None:
        cats = categories(v.get("ServiceName"))
        if cats is not None:
            v["ServiceCategory"], v["ServiceSubcategory"] = cats
    if region_name is not None and v.get("RegionId") and not v.get("RegionName"):
        name = region_name(v["RegionId"])
        if name:
            v["RegionName"] = name
    if unit is not None:
        for k in ("PricingUnit", "ConsumedUnit"):
            if v.get(k):
                v[k] = unit(v[k])
    if not v.get("BillingAccountType"):
        v["BillingAccountType"] = billing_account_type
    if v.get("SubAccountId") and not v.get("SubAccountType"):
        v["SubAccountType"] = sub_account_type
    if resource_type is not None and v.get("ResourceId") and not v.get("ResourceType"):
        v["ResourceType"] = resource_type(v["ResourceId"], v.get("ServiceName"))
