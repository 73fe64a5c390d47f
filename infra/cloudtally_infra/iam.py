"""Least-privilege statements for a collector: exactly the actions its CollectorSpec declares.

Each action gets the narrowest resource CloudTally knows: the table, the collector's own secrets, the
alerts topic, the member-account role pattern. Actions that AWS authorizes only on ``*`` (account-wide
List/Describe calls, Cost Explorer, CloudWatch GetMetricData, sts:GetCallerIdentity) get ``*`` resources,
and each such service carries the written reason below; an action with neither a scope nor a reason
fails the synth, so a new collector cannot silently widen a role.
"""

from __future__ import annotations

from dataclasses import dataclass

# services whose read actions have no resource-level permissions: the reason is the cdk-nag suppression text
WILDCARD_REASONS: dict[str, str] = {
    "ec2": "EC2 Describe* calls support only Resource '*' (Service Authorization Reference).",
    "eks": "eks:ListClusters supports only '*'; the collector inventories every cluster of the account.",
    "lambda": "lambda:ListFunctions supports only Resource '*'.",
    "rds": "The collector inventories every DB instance of the account (Describe on all instances).",
    "s3": "s3:ListAllMyBuckets supports only '*'; the collector inventories every bucket's location and tags.",
    "cloudwatch": "cloudwatch:GetMetricData supports only Resource '*'.",
    "ce": "Cost Explorer actions support only Resource '*'.",
    "sts": "sts:GetCallerIdentity needs no permission and supports only '*'.",
    "pricing": "AWS Price List actions support only Resource '*'.",
    "organizations": "Organizations List/Describe of member accounts supports only '*' for these calls.",
    "bcm-data-exports": "Data Exports List/Get calls are authorized account-wide for the billing export.",
    "cur": "CUR report definitions are authorized account-wide.",
}


@dataclass(frozen=True)
class Scopes:
    table_arn: str
    secret_arns: tuple[str, ...]
    topic_arn: str
    member_role_pattern: str
    export_bucket_arn: str


def statements(actions: tuple[str, ...], scopes: Scopes) -> list[tuple[list[str], list[str]]]:
    """Group ``actions`` into (actions, resources) statements; raises if an action has no scope nor reason."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for action in actions:
        service, _, name = action.partition(":")
        if "*" in action or not name:
            raise ValueError(f"IAM action {action!r} is a wildcard or malformed")
        if service == "dynamodb":
            res: tuple[str, ...] = (scopes.table_arn,)   # one table, no secondary index
        elif service == "secretsmanager":
            if not scopes.secret_arns:
                raise ValueError(f"{action} declared without secrets in the CollectorSpec")
            res = scopes.secret_arns
        elif action == "sts:AssumeRole":
            res = (scopes.member_role_pattern,)   # a deploy parameter, e.g. arn:aws:iam::*:role/CloudTally*
        elif service == "sns":
            res = (scopes.topic_arn,)
        elif action in ("s3:GetObject", "s3:ListBucket"):   # the billing export's bucket only
            res = (scopes.export_bucket_arn, f"{scopes.export_bucket_arn}/*")
        elif service in WILDCARD_REASONS:
            res = ("*",)
        else:
            raise ValueError(f"IAM action {action!r} has no resource scope and no written reason for '*': "
                             "add one to infra/cloudtally_infra/iam.py")
        groups.setdefault(res, []).append(action)
    return [(sorted(a), list(r)) for r, a in groups.items()]
