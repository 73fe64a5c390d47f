"""Regenerate the AWS catalog from the AWS Price List Query API (``pricing:GetProducts``).

Maintainer tool only (``scripts/refresh_aws_catalog.py``); never run at collection time. For the
keys and regions the newest catalog file already lists, it re-reads the on-demand USD price (first
tier) of every service the collector prices — EC2 (Linux, shared tenancy), EBS, RDS instances
(Single-AZ) and storage, Lambda (GB-second and requests, x86 and Arm), EKS control plane (standard
and extended support), S3 storage classes — and writes a new version with the source and date. A
key the API does not answer keeps its previous price and is listed in ``sources[].not_refreshed``.

Products are selected by ``regionCode`` (+ product family) with ``TERM_MATCH`` filters, then by the
attribute values below (the Price List's own vocabulary: ``aws pricing get-attribute-values``).
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


# catalog key -> Price List attribute values
RDS_ENGINES = {"mysql": "MySQL", "postgres": "PostgreSQL", "mariadb": "MariaDB"}
RDS_STORAGE = {"gp2": "General Purpose", "gp3": "General Purpose-GP3", "io1": "Provisioned IOPS",
               "io2": "Provisioned IOPS-IO2", "standard": "Magnetic"}
S3_CLASSES = {"STANDARD": "Standard", "STANDARD_IA": "Standard - Infrequent Access",
              "ONEZONE_IA": "One Zone - Infrequent Access", "GLACIER_IR": "Glacier Instant Retrieval",
              "GLACIER": "Amazon Glacier", "DEEP_ARCHIVE": "Glacier Deep Archive",
              "INTELLIGENT_TIERING_FA": "Intelligent-Tiering Frequent Access",
              "INTELLIGENT_TIERING_IA": "Intelligent-Tiering Infrequent Access",
              "INTELLIGENT_TIERING_AIA": "Intelligent-Tiering Archive Instant Access"}
LAMBDA_GROUPS = {("x86_64", "GB-Second"): "AWS-Lambda-Duration", ("arm64", "GB-Second"): "AWS-Lambda-Duration-ARM",
                 ("x86_64", "Request"): "AWS-Lambda-Requests", ("arm64", "Request"): "AWS-Lambda-Requests-ARM"}
EKS_USAGE = {"standard": "AmazonEKS-Hours:perCluster", "extended": "AmazonEKS-Hours:extendedSupport"}


def _attr(p: dict[str, Any], name: str) -> str:
    return str(p.get("product", {}).get("attributes", {}).get(name, ""))


def _refresh_table(table: dict[str, Any], lookup, missed: list[str], label: str) -> None:
    """Replace each leaf price of ``table`` (nested dict of keys → price) with ``lookup(path)``."""
    for key, val in table.items():
        if isinstance(val, dict):
            _refresh_table(val, lambda path, k=key: lookup((k,) + path), missed, f"{label}/{key}")
            continue
        price = lookup((key,))
        if price is None:
            missed.append(f"{label}/{key}")
        else:
            table[key] = fmt(price)


def _first(products: Iterator[dict[str, Any]], pred=lambda p: True) -> Decimal | None:
    for p in products:
        if pred(p):
            return on_demand_usd(p)
    return None


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
    missed: dict[str, list[str]] = {k: [] for k in ("rds", "lambda", "eks", "s3")}
    services = out["services"]
    for region, engines in services.get("rds", {}).get("regions", {}).items():
        _refresh_table(engines, lambda path, r=region: _first(_products(pricing, "AmazonRDS", {
            "regionCode": r, "productFamily": "Database Instance", "deploymentOption": "Single-AZ",
            "databaseEngine": RDS_ENGINES.get(path[0], path[0]), "instanceType": path[1]})), missed["rds"], region)
    for region, vols in services.get("rds_storage", {}).get("regions", {}).items():
        _refresh_table(vols, lambda path, r=region: _first(_products(pricing, "AmazonRDS", {
            "regionCode": r, "productFamily": "Database Storage", "deploymentOption": "Single-AZ",
            "volumeType": RDS_STORAGE.get(path[0], path[0]), "databaseEngine": "MySQL"})), missed["rds"], region)
    for region, archs in services.get("lambda", {}).get("regions", {}).items():
        _refresh_table(archs, lambda path, r=region: _first(_products(pricing, "AWSLambda", {
            "regionCode": r, "group": LAMBDA_GROUPS.get((path[0], path[1]), "")})), missed["lambda"], region)
    for region, tiers in services.get("eks", {}).get("regions", {}).items():
        _refresh_table(tiers, lambda path, r=region: _first(
            _products(pricing, "AmazonEKS", {"regionCode": r}),
            lambda p, k=path[0]: _attr(p, "usagetype").endswith(EKS_USAGE.get(k, "?"))), missed["eks"], region)
    for region, classes in services.get("s3", {}).get("regions", {}).items():
        _refresh_table(classes, lambda path, r=region: _first(_products(pricing, "AmazonS3", {
            "regionCode": r, "productFamily": "Storage", "volumeType": S3_CLASSES.get(path[0], path[0])})),
            missed["s3"], region)
    out["version"] = today.isoformat()
    for src in out["sources"]:
        src.update({"url": PRICE_LIST_URL, "retrieved": today.isoformat(), "method": "pricing:GetProducts"})
        gaps = missed.get(src["service"]) or []
        if gaps:
            src["not_refreshed"] = gaps
        src.pop("checked", None)
    return out
