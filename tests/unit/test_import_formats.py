"""Format detection and the mappings of CUR 2.0 (CSV, gzip, Parquet), Azure MCA, GCP and OCI, and
exactness against a Decimal reference on adversarial amounts."""

from __future__ import annotations

import csv
import gzip
import io
import random
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from cloudtally.importers.engine import convert_file
from cloudtally.importers.formats import camel_to_cur2, detect
from cloudtally.money import CONTEXT, dsum
from tests.conftest import SHARED

CUR = SHARED / "data" / "billing" / "aws-cur" / "sample-anonymous-aws-export-dataset.csv"
CUR_BILLED = Decimal("1.68230869740")


def cur2_csv(tmp_path: Path) -> Path:
    """The legacy CUR sample with CUR 2.0 column names (AWS's snake-case renaming)."""
    lines = CUR.read_text(encoding="utf-8").split("\n", 1)
    header = ",".join(camel_to_cur2(h) for h in lines[0].split(","))
    p = tmp_path / "cur2.csv"
    p.write_text(header + "\n" + lines[1], encoding="utf-8")
    return p


def test_detect():
    assert detect(["BilledCost", "ChargePeriodStart"]) == "focus"
    assert detect(["line_item_unblended_cost"]) == "aws-cur2"
    assert detect(["MeterCategory", "CostInBillingCurrency", "AccountOwnerId"]) == "azure-ea"
    assert detect(["meterCategory", "costInBillingCurrency", "billingProfileId"]) == "azure-mca"
    assert detect(["billing_account_id", "cost", "usage_start_time"]) == "gcp"
    assert detect(["cost/myCost", "lineItem/intervalUsageStart"]) == "oci"
    assert detect(["a"]) is None


def test_cur2_csv_gzip_and_parquet_match_legacy_cur(tmp_path):
    legacy = convert_file(CUR)
    p = cur2_csv(tmp_path)
    c2 = convert_file(p)
    assert c2.format == "aws-cur2" and c2.totals == legacy.totals
    assert c2.totals["USD"]["BilledCost"] == CUR_BILLED
    gz = tmp_path / "cur2.csv.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    from cloudtally.importers.sources import Source, local_copy
    with local_copy(Source(str(gz), gz.stat().st_size, path=gz)) as plain:
        assert convert_file(plain).totals == legacy.totals
    # Parquet as AWS writes it: costs as DOUBLE, timestamps as timestamps, tags as a map
    df = pl.read_csv(p, infer_schema=False)
    for c in ("line_item_unblended_cost", "pricing_public_on_demand_cost", "line_item_usage_amount"):
        df = df.with_columns(pl.col(c).cast(pl.Float64))
    for c in ("line_item_usage_start_date", "line_item_usage_end_date", "bill_billing_period_start_date",
              "bill_billing_period_end_date"):
        df = df.with_columns(pl.col(c).str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC"))
    df = df.with_columns(pl.lit([{"key": "team", "value": "data"}],
                                dtype=pl.List(pl.Struct({"key": pl.String, "value": pl.String}))).alias("resource_tags"))
    pq = tmp_path / "cur2.parquet"
    df.write_parquet(pq)
    cp = convert_file(pq)
    assert cp.format == "aws-cur2" and cp.rejected_count == 0
    assert cp.totals["USD"]["BilledCost"] == CUR_BILLED           # exact through DOUBLE's shortest text
    assert all(r.Tags == {"team": "data"} for r in cp.records)


def test_azure_mca_lowercase_columns(tmp_path):
    text = ("billingAccountId,billingAccountName,billingPeriodStartDate,billingPeriodEndDate,billingProfileId,"
            "billingProfileName,subscriptionId,subscriptionName,date,meterCategory,meterId,meterName,quantity,"
            "costInBillingCurrency,paygCostInBillingCurrency,billingCurrency,chargeType,frequency,pricingModel,"
            "resourceLocation,resourceId,tags\n"
            "acct:1,Contoso,2024-09-01,2024-09-30,BP-1,Profile,sub-1,Sub,2024-09-03,Virtual Machines,m1,D2s,24,"
            "12.3456789012345678,15.00,EUR,Usage,UsageBased,OnDemand,West Europe,/subs/vm1,\"{\"\"team\"\": \"\"a\"\"}\"\n"
            "acct:1,Contoso,2024-09-01,2024-09-30,BP-1,Profile,sub-1,Sub,2024-09-03,Virtual Machines,m1,D2s,1,"
            "-2.5,0,EUR,Refund,OneTime,OnDemand,West Europe,/subs/vm1,\n")
    p = tmp_path / "mca.csv"
    p.write_text(text)
    conv = convert_file(p)
    assert conv.format == "azure-mca" and conv.rejected_count == 0, conv.rejected
    t = conv.totals["EUR"]
    assert t["BilledCost"] == Decimal("9.8456789012345678") and t["ListCost"] == Decimal("15.00")
    refund = [r for r in conv.records if r.BilledCost < 0][0]
    assert refund.ChargeCategory == "Credit" and refund.ChargeFrequency == "One-Time"
    r = [r for r in conv.records if r.BilledCost > 0][0]
    assert r.BillingAccountId == "BP-1" and r.RegionId == "westeurope" and r.ServiceCategory == "Compute"
    assert r.Tags == {"team": "a"} and r.ChargeFrequency == "Usage-Based"


def test_gcp_flattened_export_with_credits_and_tax(tmp_path):
    text = ("billing_account_id,service.description,sku.id,sku.description,usage_start_time,usage_end_time,"
            "project.id,location.region,cost,credits_amount,currency,usage.amount,usage.unit,cost_type,labels\n"
            "0A-1,Compute Engine,S1,N2 core,2024-09-01 00:00:00 UTC,2024-09-01 01:00:00 UTC,p1,europe-west1,"
            "1.000001,-0.25,EUR,3600,seconds,regular,\"[{\"\"key\"\":\"\"env\"\",\"\"value\"\":\"\"prod\"\"}]\"\n"
            "0A-1,Compute Engine,S1,N2 core,2024-09-01 01:00:00 UTC,2024-09-01 02:00:00 UTC,p1,europe-west1,"
            "2.5E-7,0,EUR,3600,seconds,regular,\"[{\"\"key\"\":\"\"env\"\",\"\"value\"\":\"\"prod\"\"}]\"\n"
            "0A-1,Invoice,,Tax,2024-09-01 00:00:00 UTC,2024-10-01 00:00:00 UTC,,,0.19,,EUR,,,tax,\n")
    p = tmp_path / "gcp.csv"
    p.write_text(text)
    conv = convert_file(p)
    assert conv.format == "gcp" and conv.rejected_count == 0, conv.rejected
    assert conv.totals["EUR"]["BilledCost"] == Decimal("0.94000125")
    assert conv.totals["EUR"]["ContractedCost"] == Decimal("1.19000125")
    usage = [r for r in conv.records if r.ChargeCategory == "Usage"]
    assert len(usage) == 1 and usage[0].Tags == {"env": "prod"} and usage[0].ConsumedQuantity == 7200
    assert [r.ChargeCategory for r in conv.records if r.ChargeCategory != "Usage"] == ["Tax"]


def test_oci_cost_report(tmp_path):
    text = ("lineItem/referenceNo,lineItem/tenantId,lineItem/intervalUsageStart,lineItem/intervalUsageEnd,"
            "product/service,product/resourceId,product/region,cost/myCost,cost/currencyCode,usage/billedQuantity,"
            "lineItem/isCorrection,tags/Oracle-Tags.CreatedBy\n"
            "r1,ocid1.tenancy.oc1..aa,2024-09-01T00:00Z,2024-09-01T01:00Z,COMPUTE,ocid1.instance.1,eu-frankfurt-1,"
            "0.0123,USD,1,false,alice\n"
            "r2,ocid1.tenancy.oc1..aa,2024-09-01T01:00Z,2024-09-01T02:00Z,COMPUTE,ocid1.instance.1,eu-frankfurt-1,"
            "-0.0003,USD,1,true,alice\n")
    p = tmp_path / "oci.csv"
    p.write_text(text)
    conv = convert_file(p)
    assert conv.format == "oci" and conv.totals["USD"]["BilledCost"] == Decimal("0.0120")
    assert {r.ChargeClass for r in conv.records} == {None, "Correction"}
    assert all(r.Tags == {"Oracle-Tags.CreatedBy": "alice"} for r in conv.records)


def _rand_amount(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.2:
        return f"{rng.randint(-10**6, 10**6)}.{rng.randint(0, 10**16):016d}"   # Azure-like 16 digits
    if kind < 0.4:
        return f"{rng.randint(1, 999)}E-{rng.randint(1, 12)}"                  # CUR-like scientific
    if kind < 0.5:
        return f"-{rng.randint(0, 99)}.{rng.randint(0, 10**11):011d}"           # credits
    if kind < 0.6:
        return f"{rng.randint(0, 10**13)}.{rng.randint(0, 10**9)}"             # big numbers
    if kind < 0.65:
        return f"0.{'0' * 23}1"                                                 # the 24th decimal
    return f"{rng.randint(0, 10**4)}.{rng.randint(0, 10**5)}"


def test_totals_exact_against_decimal_on_adversarial_amounts(tmp_path):
    rng = random.Random(7)
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = ["ProviderName", "BillingAccountId", "ChargePeriodStart", "ChargePeriodEnd", "BilledCost",
            "EffectiveCost", "BillingCurrency", "ResourceId"]
    w.writerow(cols)
    rows = []
    for i in range(3000):
        h = rng.randint(0, 23)
        row = ["AWS", str(rng.randint(1, 3)), f"2024-09-0{rng.randint(1, 3)}T{h:02d}:00:00Z",
               f"2024-09-0{rng.randint(1, 3)}T{h:02d}:59:59Z".replace("T23:59:59Z", "T23:59:59Z"),
               _rand_amount(rng), _rand_amount(rng), rng.choice(["USD", "EUR"]), f"r{rng.randint(1, 40)}"]
        row[3] = row[2].replace(":00:00Z", ":30:00Z")
        rows.append(row)
        w.writerow(row)
    p = tmp_path / "adv.csv"
    p.write_text(buf.getvalue())
    conv = convert_file(p)
    assert conv.rejected_count == 0 and len(conv.records) < 3000
    for cur in ("USD", "EUR"):
        for j, col in ((4, "BilledCost"), (5, "EffectiveCost")):
            ref = dsum(Decimal(r[j]) for r in rows if r[6] == cur)
            got = conv.totals[cur][col]
            assert got == ref and str(got) == str(ref.quantize(Decimal(1).scaleb(-max(
                -Decimal(r[j]).as_tuple().exponent for r in rows if r[6] == cur)), context=CONTEXT))
