#!/usr/bin/env python3
"""Seed a moto SERVER with a realistic AWS account for the AWS collector demo (`make up` calls seed()).

Two regions, 34 EC2 instances (an EKS managed node group among them), EBS volumes, an EKS cluster,
RDS (Multi-AZ PostgreSQL, MySQL), Lambda functions (x86 and arm64) with invocation metrics, S3
buckets with daily storage metrics per storage class, EC2 CPU metrics, and Cost Explorer daily cost
injected through moto's ``/moto-api/static/ce/cost-and-usage-results``.

    python scripts/seed_moto_aws.py --endpoint http://127.0.0.1:5055
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import urllib.request
import zipfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal

UTC = timezone.utc
REGIONS = ("us-east-1", "eu-west-1")
# (region, count, instance type, tags)
FLEET = [
    ("us-east-1", 10, "m5.large", {"team": "web", "environment": "prod", "project": "storefront"}),
    ("us-east-1", 4, "c5.xlarge", {"team": "data", "environment": "prod", "project": "etl"}),
    ("us-east-1", 4, "t3.large", {"team": "platform", "environment": "prod", "eks:cluster-name": "prod-eks",
                                  "eks:nodegroup-name": "prod-ng", "project": "k8s"}),
    ("us-east-1", 2, "t3.medium", {"team": "web", "environment": "dev", "project": "storefront"}),
    ("eu-west-1", 8, "m5.large", {"team": "web", "environment": "prod", "project": "storefront-eu"}),
    ("eu-west-1", 4, "r5.large", {"team": "data", "environment": "prod", "project": "cache"}),
    ("eu-west-1", 2, "t3.micro", {"team": "platform", "environment": "dev", "project": "bastion"}),
]
LAMBDAS = [("us-east-1", "api-handler", "x86_64", 512, 120000, 85.0), ("us-east-1", "image-resize", "arm64", 1024, 8000, 900.0),
           ("eu-west-1", "eu-api-handler", "arm64", 256, 60000, 40.0)]
BUCKETS = [("us-east-1", "acme-datalake", {"StandardStorage": 5 * 1024 ** 4, "GlacierStorage": 20 * 1024 ** 4}),
           ("us-east-1", "acme-assets", {"StandardStorage": 300 * 1024 ** 3, "StandardIAStorage": 800 * 1024 ** 3}),
           ("eu-west-1", "acme-eu-backups", {"DeepArchiveStorage": 50 * 1024 ** 4, "StandardStorage": 100 * 1024 ** 3}),
           ("eu-west-1", "acme-eu-logs", {"StandardStorage": 2 * 1024 ** 4})]
CE_SERVICES = {"Amazon Elastic Compute Cloud - Compute": "61.20", "EC2 - Other": "4.80", "Amazon Relational Database Service": "14.30",
               "Amazon Simple Storage Service": "9.85", "AWS Lambda": "1.12", "Amazon Elastic Container Service for Kubernetes": "2.40"}


def _clients(endpoint: str):
    import boto3
    s = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return lambda svc, region="us-east-1": s.client(svc, region_name=region, endpoint_url=endpoint)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buf.getvalue()


def seed(endpoint_url: str, now: datetime | None = None, *, ce_days: int = 3) -> dict:
    """Create the demo account in the moto server at ``endpoint_url``; returns what was created."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    c = _clients(endpoint_url)
    account = c("sts").get_caller_identity()["Account"]
    out: dict = {"account": account, "instances": {}, "buckets": [], "functions": [], "databases": []}
    for region in REGIONS:
        ec2 = c("ec2", region)
        ami = next(i["ImageId"] for i in ec2.describe_images()["Images"] if not i.get("Platform"))
        out["instances"][region] = []
        for reg, n, itype, tags in FLEET:
            if reg != region:
                continue
            r = ec2.run_instances(ImageId=ami, MinCount=n, MaxCount=n, InstanceType=itype,
                                  TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                      {"Key": k, "Value": v} for k, v in {**tags, "Name": f"{tags['project']}-{itype}"}.items()]}])
            out["instances"][region] += [i["InstanceId"] for i in r["Instances"]]
        ec2.create_volume(AvailabilityZone=f"{region}a", Size=500, VolumeType="gp3",
                          TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "team", "Value": "data"}]}])
        cw = c("cloudwatch", region)
        data = []
        for n, iid in enumerate(out["instances"][region]):
            for h in range(1, 25):          # the last day: the collector reads closed days
                data.append({"MetricName": "CPUUtilization", "Dimensions": [{"Name": "InstanceId", "Value": iid}],
                             "Timestamp": now - timedelta(hours=h), "Value": 10 + (n * 7) % 80, "Unit": "Percent"})
        for i in range(0, len(data), 500):
            cw.put_metric_data(Namespace="AWS/EC2", MetricData=data[i:i + 500])
    eks = c("eks")
    eks.create_cluster(name="prod-eks", version="1.31", roleArn=f"arn:aws:iam::{account}:role/eks",
                       resourcesVpcConfig={"subnetIds": []}, tags={"team": "platform"})
    eks.create_nodegroup(clusterName="prod-eks", nodegroupName="prod-ng", subnets=["subnet-1"],
                         nodeRole=f"arn:aws:iam::{account}:role/eks-node", instanceTypes=["t3.large"],
                         scalingConfig={"minSize": 4, "maxSize": 8, "desiredSize": 4})
    c("rds").create_db_instance(DBInstanceIdentifier="orders-db", DBInstanceClass="db.m5.large", Engine="postgres",
                                AllocatedStorage=200, StorageType="gp3", MultiAZ=True, MasterUsername="app",
                                MasterUserPassword="demo-password-1", Tags=[{"Key": "team", "Value": "web"}])
    c("rds", "eu-west-1").create_db_instance(DBInstanceIdentifier="eu-crm-db", DBInstanceClass="db.t3.medium",
                                             Engine="mysql", AllocatedStorage=50, StorageType="gp2", MultiAZ=False,
                                             MasterUsername="app", MasterUserPassword="demo-password-1")
    out["databases"] = ["orders-db", "eu-crm-db"]
    iam = c("iam")
    role = iam.create_role(RoleName="demo-lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                               "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    code = _zip()
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    for region, name, arch, mem, invocations, avg_ms in LAMBDAS:
        c("lambda", region).create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
                                            Code={"ZipFile": code}, MemorySize=mem, Architectures=[arch],
                                            Tags={"team": "web"})
        out["functions"].append(name)
        cw = c("cloudwatch", region)
        for d in range(ce_days + 1):
            ts = today - timedelta(days=d) + timedelta(minutes=30)
            if ts >= now:
                ts = now - timedelta(minutes=1)
            cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
                {"MetricName": "Invocations", "Dimensions": [{"Name": "FunctionName", "Value": name}], "Timestamp": ts,
                 "Value": invocations, "Unit": "Count"},
                {"MetricName": "Duration", "Dimensions": [{"Name": "FunctionName", "Value": name}], "Timestamp": ts,
                 "Value": invocations * avg_ms, "Unit": "Milliseconds"}])
    for region, name, sizes in BUCKETS:
        s3 = c("s3", region)
        kw = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **kw)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
        out["buckets"].append(name)
        cw = c("cloudwatch", region)
        for d in range(ce_days + 1):
            ts = max(today - timedelta(days=d), now - timedelta(hours=23)) if d == 0 else today - timedelta(days=d)
            md = [{"MetricName": "BucketSizeBytes", "Timestamp": ts, "Value": v, "Unit": "Bytes",
                   "Dimensions": [{"Name": "BucketName", "Value": name}, {"Name": "StorageType", "Value": st}]}
                  for st, v in sizes.items()]
            md.append({"MetricName": "NumberOfObjects", "Timestamp": ts, "Value": 1000 * len(name), "Unit": "Count",
                       "Dimensions": [{"Name": "BucketName", "Value": name}, {"Name": "StorageType", "Value": "AllStorageTypes"}]})
            cw.put_metric_data(Namespace="AWS/S3", MetricData=md)
    # Cost Explorer: billed cost for the settled days before today (today stays estimated)
    results = []
    for d in range(ce_days, 0, -1):
        day = (today - timedelta(days=d)).date()
        groups = [{"Keys": [svc, account], "Metrics": {
            "UnblendedCost": {"Amount": amt, "Unit": "USD"},
            "AmortizedCost": {"Amount": str(Decimal(amt) * Decimal("0.97")), "Unit": "USD"}}}
            for svc, amt in CE_SERVICES.items()]
        results.append({"TimePeriod": {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()},
                        "Total": {}, "Groups": groups, "Estimated": False})
    body = json.dumps({"results": [{"ResultsByTime": results, "DimensionValueAttributes": []}]}).encode()
    req = urllib.request.Request(endpoint_url.rstrip("/") + "/moto-api/static/ce/cost-and-usage-results", data=body,
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status != 201:
            raise RuntimeError(f"moto refused the Cost Explorer results: HTTP {resp.status}")
    out["ce_days"] = [r["TimePeriod"]["Start"] for r in results]
    out["regions"] = list(REGIONS)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", required=True, help="moto server URL")
    a = p.parse_args(argv)
    out = seed(a.endpoint)
    print(json.dumps({"account": out["account"], "instances": sum(len(v) for v in out["instances"].values()),
                      "buckets": len(out["buckets"]), "functions": len(out["functions"]), "ce_days": out["ce_days"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
