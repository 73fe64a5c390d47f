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
