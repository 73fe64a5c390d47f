"""cdk-nag suppressions: every one carries a written reason (cdk-nag refuses reasons under 10 characters)."""

from __future__ import annotations

from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct


def suppress(construct: IConstruct, rule: str, reason: str, *, applies_to: list[str] | None = None,
             applies_to_regex: str | None = None) -> None:
    if len(reason) < 20:
        raise ValueError(f"suppression of {rule} needs a real reason, got {reason!r}")
    targets: list = list(applies_to or [])
    if applies_to_regex:
        targets.append(RegexAppliesTo(regex=applies_to_regex))
    NagSuppressions.add_resource_suppressions(
        construct, [NagPackSuppression(id=rule, reason=reason, applies_to=targets or None)], apply_to_children=True)


def suppress_framework(stack) -> None:
    """Findings on what CDK itself generates (asset-deployment function, API Gateway logging role)."""
    from aws_cdk import Stack
    assert isinstance(stack, Stack)
    for child in stack.node.find_all():
        path = child.node.path
        if "Custom::CDKBucketDeployment" in path and path.count("/") == 2:
            for rule, reason in {
                "AwsSolutions-IAM4": "CDK's BucketDeployment provider uses AWSLambdaBasicExecutionRole for its own logs.",
                "AwsSolutions-IAM5": "CDK's BucketDeployment provider copies the dashboard asset from the CDK asset "
                                     "bucket into the dashboard bucket: object-level wildcards on those two buckets.",
                "AwsSolutions-L1": "CDK's BucketDeployment provider pins its own runtime (deploy-time only).",
            }.items():
                suppress(child, rule, reason, applies_to_regex=r"/.*/" if rule != "AwsSolutions-L1" else None)
        elif path.endswith("/RestApi/CloudWatchRole"):
            suppress(child, "AwsSolutions-IAM4", "API Gateway's account-level logging role needs "
                     "AmazonAPIGatewayPushToCloudWatchLogs (the documented setup for access and execution logs).",
                     applies_to_regex=r"/Policy::.*AmazonAPIGatewayPushToCloudWatchLogs$/")
