"""What CloudTally knows about each source, one package per provider.

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

# FOCUS ProviderName → the taxonomy's package
PROVIDERS = {"AWS": "aws", "Microsoft": "azure", "Google Cloud": "gcp", "Oracle": "oci"}


def taxonomy(provider_name: str) -> ModuleType | None:
    """The taxonomy module of a FOCUS ProviderName, or None for a provider CloudTally has none for."""
    pkg = PROVIDERS.get(provider_name)
    return import_module(f"{__name__}.{pkg}.taxonomy") if pkg else None
