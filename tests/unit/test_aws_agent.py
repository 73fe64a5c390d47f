"""AWSTelemetryAgent: the OpenFinOps payload from the collector module, accepted by the API's translator."""

from __future__ import annotations

import time
from decimal import Decimal

import boto3
from moto import mock_aws

from cloudtally.agents import AWSTelemetryAgent
from cloudtally.api import openfinops
from cloudtally.providers.aws.session import AwsClients


def test_agent_payload_has_hourly_costs_and_translates():
    with mock_aws():
        ec2 = boto3.client("ec2", "us-west-2")
        ami = next(i["ImageId"] for i in ec2.describe_images()["Images"] if not i.get("Platform"))
        ec2.run_instances(ImageId=ami, MinCount=2, MaxCount=2, InstanceType="m5.large")
        time.sleep(1.5)   # launched this second: let them run a little inside the agent's last-hour window
        agent = AWSTelemetryAgent(openfinops_endpoint="http://127.0.0.1:9", aws_region="us-west-2",
                                  api_key_id="k", api_key_secret="s", clients=AwsClients({}))
        data = agent.collect_telemetry_data()
    ec2d = data["services"]["ec2"]
    assert ec2d["total_instances"] == 2 and data["cloud_provider"] == "aws" and data["region"] == "us-west-2"
    # instances launched moments ago: the last hour holds only their running seconds
    assert all(Decimal(0) < i["hourly_cost"] <= Decimal("0.096") for i in ec2d["instances"])
    t = openfinops.translate(data)
    assert not t.rejected and len([r for r in t.records if r.ResourceType == "m5.large"]) == 2
    agent.client.sleep = lambda s: None
    assert agent.send_telemetry_data(data) is False      # nothing listens on port 9: reported, not raised
