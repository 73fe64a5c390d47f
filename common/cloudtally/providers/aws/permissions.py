"""The IAM actions API calls need: botocore's ``<endpoint prefix>:<operation>`` → ``<IAM prefix>:<action>``.

Most AWS operations are authorised by an action of the same name; the exceptions are listed (Service
Authorization Reference). The collector contract compares these with what a spec declares.
"""

from __future__ import annotations

PREFIX = {"monitoring": "cloudwatch"}              # endpoint prefix -> IAM service prefix
ACTION = {("s3", "ListBuckets"): "s3:ListAllMyBuckets", ("s3", "ListObjectsV2"): "s3:ListBucket",
          ("s3", "ListObjects"): "s3:ListBucket", ("s3", "HeadObject"): "s3:GetObject"}


def iam_action(service: str, operation: str) -> str:
    return ACTION.get((service, operation)) or f"{PREFIX.get(service, service)}:{operation}"


def required(api_calls: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    """``{"aws": {IAM actions}}`` for a run summary's ``api_calls`` (``{service: {operation: count}}``)."""
    return {"aws": {iam_action(svc, op) for svc, ops in api_calls.items() for op in ops}}
