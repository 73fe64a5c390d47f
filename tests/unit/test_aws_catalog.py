"""The AWS price catalog: lookups, coverage, and the refresh script on recorded Price List responses."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cloudtally import catalog
from cloudtally.catalog.refresh import refresh_aws

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "aws"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


def test_catalog_covers_services_and_regions_with_sources():
    cat = catalog.load("aws")
    assert {s["service"] for s in cat.doc["sources"]} == {"ec2", "ebs", "rds", "lambda", "eks", "s3"}
    assert all(s["url"].startswith("https://") and s["retrieved"] for s in cat.doc["sources"])
    for r in REGIONS:
        assert cat.price("ec2", r, "m5.large").unit == "Hours"
        assert cat.price("rds", r, "postgres", "db.m5.large").amount > 0
        assert cat.price("lambda", r, "arm64", "GB-Second").amount < cat.price("lambda", r, "x86_64", "GB-Second").amount
        assert cat.price("eks", r, "extended").amount > cat.price("eks", r, "standard").amount
        assert cat.price("s3", r, "STANDARD").unit == "GB-Mo"
        assert cat.price("ebs", r, "gp3").amount > 0
    assert isinstance(cat.price("ec2", "us-east-1", "m5.large").amount, Decimal)


def test_multi_az_and_missing_prices():
    cat = catalog.load("aws")
    single = cat.price("rds", "us-east-1", "mysql", "db.t3.medium").amount
    assert cat.price("rds", "us-east-1", "mysql", "db.t3.medium", multi_az=True).amount == single * 2
    with pytest.raises(catalog.PriceNotFound, match="m99.huge"):
        cat.price("ec2", "us-east-1", "m99.huge")
    with pytest.raises(catalog.PriceNotFound, match="ap-south-7"):
        cat.price("ec2", "ap-south-7", "m5.large")


def test_refresh_reads_price_list_responses():
    rec = json.loads((FIX / "pricing_get_products_m5_large.json").read_text())
    rec.pop("_source")
    doc = json.loads(json.dumps(catalog.load("aws").doc, default=str))
    # a small catalog: one instance type, one volume type, one region
    doc["services"]["ec2"]["regions"] = {"us-east-1": {"m5.large": "0.096"}}
    doc["services"]["ebs"]["regions"] = {"us-east-1": {"gp3": "0.08"}}
    for svc in ("rds", "rds_storage", "lambda", "eks", "s3"):
        doc["services"][svc]["regions"] = {}
    pricing = boto3.client("pricing", region_name="us-east-1")
    with Stubber(pricing) as stub:
        stub.add_response("get_products", rec, {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1", "Filters": ANY})
        stub.add_response("get_products", {"PriceList": [], "FormatVersion": "aws_v1"},
                          {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1", "Filters": ANY})
        out = refresh_aws(doc, pricing, today=date(2026, 12, 1))
        stub.assert_no_pending_responses()
    assert out["services"]["ec2"]["regions"]["us-east-1"]["m5.large"] == "0.0961000000"
    assert out["services"]["ebs"]["regions"]["us-east-1"]["gp3"] == "0.08"   # no answer: kept
    assert out["version"] == "2026-12-01"
    ec2_src = next(s for s in out["sources"] if s["service"] == "ec2")
    assert ec2_src["retrieved"] == "2026-12-01" and ec2_src["method"] == "pricing:GetProducts"


def _product(attrs: dict, usd: str, unit: str = "Hrs") -> str:
    """One Price List product as GetProducts returns it (a JSON string), first tier first."""
    return json.dumps({"product": {"productFamily": attrs.pop("productFamily", "Compute"), "attributes": attrs},
                       "terms": {"OnDemand": {"T1": {"priceDimensions": {
                           "D2": {"beginRange": "6000000000", "pricePerUnit": {"USD": "0.0000150000"}, "unit": unit},
                           "D1": {"beginRange": "0", "pricePerUnit": {"USD": usd}, "unit": unit}}}}}})


def test_refresh_rereads_rds_lambda_eks_and_s3_and_reports_what_it_could_not():
    doc = json.loads(json.dumps(catalog.load("aws").doc, default=str))
    doc["services"]["ec2"]["regions"] = {}
    doc["services"]["ebs"]["regions"] = {}
    doc["services"]["rds"]["regions"] = {"us-east-1": {"postgres": {"db.t3.medium": "0.072"}}}
    doc["services"]["rds_storage"]["regions"] = {"us-east-1": {"gp3": "0.115"}}
    doc["services"]["lambda"]["regions"] = {"us-east-1": {"arm64": {"GB-Second": "0.0000133334", "Request": "0.0000002"}}}
    doc["services"]["eks"]["regions"] = {"us-east-1": {"standard": "0.10", "extended": "0.60"}}
    doc["services"]["s3"]["regions"] = {"us-east-1": {"STANDARD": "0.023"}}
    pricing = boto3.client("pricing", region_name="us-east-1")
    p = {"FormatVersion": "aws_v1"}

    def expect(service, filters, products):
        stub.add_response("get_products", {**p, "PriceList": products}, {
            "ServiceCode": service, "FormatVersion": "aws_v1",
            "Filters": [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()]})

    with Stubber(pricing) as stub:
        expect("AmazonRDS", {"regionCode": "us-east-1", "productFamily": "Database Instance", "deploymentOption": "Single-AZ",
                             "databaseEngine": "PostgreSQL", "instanceType": "db.t3.medium"},
               [_product({"instanceType": "db.t3.medium"}, "0.0730000000")])
        expect("AmazonRDS", {"regionCode": "us-east-1", "productFamily": "Database Storage", "deploymentOption": "Single-AZ",
                             "volumeType": "General Purpose-GP3", "databaseEngine": "MySQL"},
               [_product({"volumeType": "General Purpose-GP3"}, "0.1150000000", "GB-Mo")])
        expect("AWSLambda", {"regionCode": "us-east-1", "group": "AWS-Lambda-Duration-ARM"},
               [_product({"group": "AWS-Lambda-Duration-ARM"}, "0.0000133334", "Lambda-GB-Second")])
        expect("AWSLambda", {"regionCode": "us-east-1", "group": "AWS-Lambda-Requests-ARM"}, [])  # not answered
        eks = [_product({"usagetype": "USE1-AmazonEKS-Hours:extendedSupport"}, "0.6000000000"),
               _product({"usagetype": "USE1-AmazonEKS-Hours:perCluster"}, "0.1000000000")]
        expect("AmazonEKS", {"regionCode": "us-east-1"}, eks)
        expect("AmazonEKS", {"regionCode": "us-east-1"}, eks)
        expect("AmazonS3", {"regionCode": "us-east-1", "productFamily": "Storage", "volumeType": "Standard"},
               [_product({"volumeType": "Standard"}, "0.0230000000", "GB-Mo")])
        out = refresh_aws(doc, pricing, today=date(2026, 12, 1))
        stub.assert_no_pending_responses()
    sv = out["services"]
    assert sv["rds"]["regions"]["us-east-1"]["postgres"]["db.t3.medium"] == "0.0730000000"
    assert sv["rds_storage"]["regions"]["us-east-1"]["gp3"] == "0.1150000000"
    assert sv["lambda"]["regions"]["us-east-1"]["arm64"] == {"GB-Second": "0.0000133334", "Request": "0.0000002"}
    assert sv["eks"]["regions"]["us-east-1"] == {"standard": "0.1000000000", "extended": "0.6000000000"}
    assert sv["s3"]["regions"]["us-east-1"]["STANDARD"] == "0.0230000000"   # first tier, not the 6B+ tier
    lam = next(x for x in out["sources"] if x["service"] == "lambda")
    assert lam["not_refreshed"] == ["us-east-1/arm64/Request"] and lam["retrieved"] == "2026-12-01"
    assert all(x["method"] == "pricing:GetProducts" for x in out["sources"])
