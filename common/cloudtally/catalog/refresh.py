"""Regenerate the AWS catalog from the AWS Price List Query API (``pricing:GetProducts``).

Maintainer tool only (``scripts/refresh_aws_catalog.py``); never run at collection time. It refreshes
the EC2 (Linux, shared tenancy, on-demand) and EBS prices of the newest catalog file for the
instance types and regions that file already lists, and writes a new version with the source and
date. Other services are carried over unchanged and say so in ``sources``.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, Iterator

from ..money import fmt, parse_amount

PRICE_LIST_URL = "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html"


def _products(pricing: Any, service: str, filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    kw: dict[str, Any] = {"ServiceCode": service, "FormatVersion": "aws_v1",
                          "Filters": [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()]}
    while True:
        resp = pricing.get_products(**kw)
        for raw in resp.get("PriceList", []):
            yield json.loads(raw, parse_float=Decimal) if isinstance(raw, str) else raw
        tok = resp.get("NextToken")
        if not tok:
            return
        kw["NextToken"] = tok


def on_demand_usd(product: dict[str, Any]) -> Decimal:
    """The single on-demand USD price of a Price List product (first tier)."""
    terms = product.get("terms", {}).get("OnDemand", {})
    for term in terms.values():
        dims = sorted(term.get("priceDimensions", {}).values(), key=lambda d: Decimal(d.get("beginRange", "0")))
        for d in dims:
            usd = d.get("pricePerUnit", {}).get("USD")
            if usd is not None:
                return parse_amount(usd)
    raise ValueError(f"no on-demand USD price for {product.get('product', {}).get('sku')}")


def refresh_aws(doc: dict[str, Any], pricing: Any, *, today: date | None = None) -> dict[str, Any]:
    """A new catalog document from ``doc`` with EC2 and EBS prices re-read from the Price List API."""
    today = today or date.today()
    out = json.loads(json.dumps(doc, default=str))
    for region, types in out["services"]["ec2"]["regions"].items():
        for itype in sorted(types):
            found = [on_demand_usd(p) for p in _products(pricing, "AmazonEC2", {
                "regionCode": region, "instanceType": itype, "operatingSystem": "Linux", "tenancy": "Shared",
                "preInstalledSw": "NA", "capacitystatus": "Used", "licenseModel": "No License required"})]
            if found:
                types[itype] = fmt(found[0])
    for region, vols in out["services"]["ebs"]["regions"].items():
        for vt in sorted(vols):
            api_name = {"standard": "standard"}.get(vt, vt)
            found = [on_demand_usd(p) for p in _products(pricing, "AmazonEC2", {
                "regionCode": region, "productFamily": "Storage", "volumeApiName": api_name})]
            if found:
                vols[vt] = fmt(found[0])
    out["version"] = today.isoformat()
    for s in out["sources"]:
        if s["service"] in ("ec2", "ebs"):
            s.update({"url": PRICE_LIST_URL, "retrieved": today.isoformat(), "method": "pricing:GetProducts"})
        else:
            s["method"] = f"carried over from catalog {doc['version']}"
    return out
