"""The versioned price catalog: price data as JSON in ``catalog/data/<provider>-<version>.json``.

Prices are data, never code: each file names its sources (URL and retrieval date) and its
version, and every estimate carries that version in ``x_CatalogVersion``. The catalog is read from
the package, never fetched at collection time; ``scripts/refresh_aws_catalog.py`` regenerates the
AWS file from the AWS Price List API.

>>> cat = load("aws")
>>> cat.price("ec2", "us-east-1", "m5.large").amount
Decimal('0.096')
>>> cat.price("rds", "us-east-1", "mysql", "db.t3.medium", multi_az=True).amount
Decimal('0.136')
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import CloudTallyError
from ..money import CONTEXT, parse_amount

DATA = Path(__file__).with_name("data")
_NAME = re.compile(r"^(?P<provider>[a-z0-9]+)-(?P<version>\d{4}-\d{2}-\d{2}(?:\.\d+)?)\.json$")


class PriceNotFound(CloudTallyError, KeyError):
    """The catalog has no price for this service/region/key (the estimate is skipped and reported)."""

    code = "price_not_found"

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


@dataclass(frozen=True)
class Price:
    amount: Decimal      # per unit, in the catalog's currency
    unit: str            # FOCUS PricingUnit, e.g. "Hours", "GB-Mo", "GB-Seconds", "Requests"
    currency: str
    version: str         # the catalog version, for x_CatalogVersion
    sku: str             # a stable SkuPriceId-like key: service/region/key...

    def cost(self, quantity: Decimal) -> Decimal:
        """``amount × quantity``, exact (no rounding)."""
        return CONTEXT.multiply(self.amount, quantity)


class Catalog:
    """Price lookup over one catalog file."""

    def __init__(self, doc: dict[str, Any], path: Path | None = None):
        self.doc = doc
        self.path = path
        self.provider: str = doc["provider"]
        self.version: str = doc["version"]
        self.currency: str = doc.get("currency", "USD")
        self.services: dict[str, Any] = doc["services"]

    def __repr__(self) -> str:
        return f"Catalog({self.provider!r}, version={self.version!r})"

    def regions(self, service: str) -> list[str]:
        return sorted(self.services.get(service, {}).get("regions", {}))

    def price(self, service: str, region: str, *key: str, multi_az: bool = False) -> Price:
        """The on-demand unit price of ``service`` in ``region`` for ``key`` (e.g. instance type).

        Raises :class:`PriceNotFound` naming what is missing.
        """
        svc = self.services.get(service)
        if svc is None:
            raise PriceNotFound(f"catalog {self.version} has no service {service!r}")
        node: Any = svc.get("regions", {}).get(region)
        if node is None:
            raise PriceNotFound(f"catalog {self.version} has no {service} prices for region {region}")
        for k in key:
            node = node.get(k) if isinstance(node, dict) else None
            if node is None:
                raise PriceNotFound(f"catalog {self.version} has no {service} price for {'/'.join(key)} in {region}")
        if isinstance(node, dict):
            raise PriceNotFound(f"{service} price key {'/'.join(key)} is incomplete")
        amount = parse_amount(node)
        if multi_az:
            mult = svc.get("multi_az_multiplier")
            if mult is None:
                raise PriceNotFound(f"catalog {self.version} has no Multi-AZ rule for {service}")
            amount = CONTEXT.multiply(amount, parse_amount(mult))
        unit = svc.get("units", {}).get(key[-1], svc.get("unit", "")) if key else svc.get("unit", "")
        if service == "lambda":
            unit = {"GB-Second": "GB-Seconds", "Request": "Requests"}.get(key[-1], key[-1])
        sku = "/".join((service, region) + key + (("multi-az",) if multi_az else ()))
        return Price(amount=amount, unit=unit, currency=self.currency, version=f"{self.provider}-{self.version}",
                     sku=sku)

    @property
    def label(self) -> str:
        return f"{self.provider}-{self.version}"


def versions(provider: str) -> list[str]:
    """Available versions of a provider's catalog, oldest first."""
    out = []
    for p in DATA.glob(f"{provider}-*.json"):
        m = _NAME.match(p.name)
        if m and m["provider"] == provider:
            out.append(m["version"])
    return sorted(out)


@lru_cache(maxsize=16)
def load(provider: str, version: str | None = None) -> Catalog:
    """The catalog of ``provider`` (latest version unless ``version`` is given)."""
    vs = versions(provider)
    if not vs:
        raise PriceNotFound(f"no catalog for provider {provider!r} in {DATA}")
    v = version or vs[-1]
    if v not in vs:
        raise PriceNotFound(f"no catalog version {v!r} for {provider}; have {', '.join(vs)}")
    path = DATA / f"{provider}-{v}.json"
    doc = json.loads(path.read_text(), parse_float=Decimal)
    return Catalog(doc, path)
