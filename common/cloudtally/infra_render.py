"""Deploy constants and serverless.yml, generated from the collector registry (one source of truth).

The CDK app (infra/) and serverless.yml (the alternative deploy path, Serverless Framework v3) both take
their functions, schedules, handlers, memory, timeouts and IAM actions from the collectors placed on
Lambda (:mod:`cloudtally.collectors.deployment`: the registry's defaults, or a deployment file) and the
constants here, and their API routes from the route table (:mod:`cloudtally.api.routes`);
``cloudtally infra render`` rewrites serverless.yml and ``--check`` fails when the file has drifted.

>>> statements(("ce:GetCostAndUsage", "dynamodb:GetItem"), Scopes(table_arn="T", secret_arns=(), topic_arn="",
...            member_role_pattern="", export_bucket_arn=""))
[(['ce:GetCostAndUsage'], ['*']), (['dynamodb:GetItem'], ['T'])]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SERVERLESS_YML = ROOT / "serverless.yml"

RUNTIME = "python3.14"                  # Lambda runtime; scripts/build_lambdas.py builds artifacts for it
COLLECTOR_HANDLER = "handler.handler"   # functions/aws/handler.py; the schedule event names the collector
ALERTS_HANDLER = "handler.handler"      # functions/alerts/handler.py
API_HANDLER = "app.app"                 # the Chalice app (functions/api/app.py)
ALERTS_SCHEDULE = "rate(1 hour)"
ALERTS_MEMORY_MB = 512
ALERTS_TIMEOUT_S = 300
API_MEMORY_MB = 512
API_TIMEOUT_S = 29                      # API Gateway's integration timeout
LOG_RETENTION_DAYS = 90
# Post-ingest alerts: the alerts function reads the table's stream (keys only), filtered to the rollup dirty
# markers the store bumps on every ingest (pk ``U#<month>``, sk ``<day>#d``: cloudtally.store.models), and
# batched so a bulk ingest of many days is a few invocations, not one per marker write.
ALERTS_STREAM_VIEW = "KEYS_ONLY"
ALERTS_STREAM_FILTER: dict[str, Any] = {"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "U#"}]},
                                                              "sk": {"S": [{"suffix": "#d"}]}}}}
ALERTS_STREAM_BATCH_SIZE = 1000
ALERTS_STREAM_WINDOW_S = 60          # wait up to this long to gather a batch
ALERTS_STREAM_RETRIES = 2            # then the batch goes to the alerts DLQ; the hourly schedule catches up
ALERTS_STREAM_MAX_AGE_S = 3600       # older records are not retried either (the schedule has run meanwhile)
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024

ENV_COLLECTOR = "CLOUDTALLY_COLLECTOR"
ENV_SECRET_ARNS = "CLOUDTALLY_SECRET_ARNS"  # JSON {secret name: ARN} of the secrets this function may read
ENV_COLLECTOR_CONFIG = "CLOUDTALLY_COLLECTOR_CONFIG"   # the deployment's config for the collector (JSON)

# services whose read actions have no resource-level permissions; the text is the written reason for '*'
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


def collector_artifact(name: str) -> str:
    """Artifact and function name of a collector: ``collector-<name>``."""
    return f"collector-{name}"


def logical(name: str) -> str:
    """A CloudFormation-safe PascalCase id from a registry name (``aws-billing-export`` → ``AwsBillingExport``)."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name) if p)


def lambda_placements(deployment: Any = None) -> list:
    """The collectors placed on AWS Lambda (registry defaults, or the deployment's placements)."""
    from .collectors import deployment as dep
    d = deployment if deployment is not None else dep.load(root=ROOT)
    return d.placements("lambda")


def function_actions(placement: Any) -> tuple[str, ...]:
    """What a collector function's role may do: the collector's AWS actions, and reading its secrets
    (the ingest key at least). Never the table: state and records go through the API."""
    return tuple(placement.permissions()) + ("secretsmanager:GetSecretValue",)


@dataclass(frozen=True)
class Scopes:
    """Resources a collector's actions are scoped to (strings or CloudFormation intrinsics)."""
    table_arn: Any
    secret_arns: tuple
    topic_arn: Any
    member_role_pattern: Any
    export_bucket_arn: Any


def statements(actions: tuple[str, ...], scopes: Scopes) -> list[tuple[list[str], list[Any]]]:
    """Group exactly ``actions`` into (actions, resources) statements with the narrowest known resources.

    Raises ``ConfigError`` for a wildcard action or an action with neither a scope nor a written reason for
    ``*`` in :data:`WILDCARD_REASONS`, so a new collector cannot silently widen a role.
    """
    groups: dict[str, tuple[list[Any], list[str]]] = {}
    for action in actions:
        service, _, name = action.partition(":")
        if "*" in action or not name:
            raise ConfigError(f"IAM action {action!r} is a wildcard or malformed")
        if service == "dynamodb":
            res: list[Any] = [scopes.table_arn]       # one table, no secondary index
        elif service == "secretsmanager":
            if not scopes.secret_arns:
                raise ConfigError(f"{action} declared without secrets in the CollectorSpec")
            res = list(scopes.secret_arns)
        elif action == "sts:AssumeRole":
            res = [scopes.member_role_pattern]        # a deploy parameter, e.g. arn:aws:iam::*:role/CloudTally*
        elif service == "sns":
            res = [scopes.topic_arn]
        elif action in ("s3:GetObject", "s3:ListBucket"):   # the billing export's bucket only
            b = scopes.export_bucket_arn
            res = [b, {"Fn::Join": ["", [b, "/*"]]}] if isinstance(b, dict) else [b, f"{b}/*"]
        elif service in WILDCARD_REASONS:
            res = ["*"]
        else:
            raise ConfigError(f"IAM action {action!r} has no resource scope and no written reason for '*': "
                              "add one to cloudtally/infra_render.py")
        key = json.dumps(res, sort_keys=True, default=str)
        groups.setdefault(key, (res, []))[1].append(action)
    return [(sorted(a), r) for r, a in groups.values()]


# ---------------------------------------------------------------------------------------------- serverless
def _sub_arn(resource: str) -> dict:
    return {"Fn::GetAtt": [resource, "Arn"]}


def _role(logical_id: str, fn_name: str, statements_: list[dict], dlq: str) -> dict:
    log_arn = {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/"
                          "cloudtally-${sls:stage}-" + fn_name + ":*"}
    return {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [
            {"PolicyName": "runtime", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": log_arn},
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": _sub_arn(dlq)}]}},
            {"PolicyName": fn_name, "PolicyDocument": {"Version": "2012-10-17", "Statement": statements_}},
        ]}}


def sls_function_id(fn_key: str) -> str:
    """The logical id Serverless v3 gives a function (``collector-aws`` → ``CollectorDashawsLambdaFunction``)."""
    n = fn_key.replace("-", "Dash").replace("_", "Underscore")
    return f"{n[:1].upper()}{n[1:]}LambdaFunction"


def _dlq() -> dict:
    return {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": True,
                                                      "MessageRetentionPeriod": 1209600}}


def _alarm(fn_key: str, description: str) -> dict:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description, "Namespace": "AWS/Lambda", "MetricName": "Errors", "Statistic": "Sum",
        "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": sls_function_id(fn_key)}}],
        "Period": 300, "EvaluationPeriods": 1, "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlertsTopic"}]}}


def _api_events() -> list[dict]:
    """One http event per route of the route table (API Gateway routes by resource path, so no {proxy+})."""
    from .api.routes import ROUTES
    return [{"http": {"path": r.path.lstrip("/") or "/", "method": r.method.lower(), "cors": True}}
            for r in sorted(ROUTES, key=lambda r: (r.path, r.method))]


def render(placements: list | None = None) -> str:
    """serverless.yml for ``placements`` (default: every collector placed on Lambda)."""
    import yaml

    placements = lambda_placements() if placements is None else placements
    api_url = {"Fn::Join": ["", ["https://", {"Ref": "ApiGatewayRestApi"}, ".execute-api.", {"Ref": "AWS::Region"},
                                 ".", {"Ref": "AWS::URLSuffix"}, "/${sls:stage}"]]}
    table_arn = _sub_arn("Table")
    resources: dict[str, Any] = {
        "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                  "Properties": {
                      "BillingMode": "PAY_PER_REQUEST",
                      "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}],
                      "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}],
                      "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                      "DeletionProtectionEnabled": True,
                      "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                      "SSESpecification": {"SSEEnabled": True},
                      "StreamSpecification": {"StreamViewType": ALERTS_STREAM_VIEW}}},
        "AlertsKey": {"Type": "AWS::KMS::Key", "Properties": {
            "EnableKeyRotation": True, "Description": "CloudTally: encrypts the alerts topic",
            "KeyPolicy": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                 "Action": "kms:*", "Resource": "*"},
                {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}]}}},
        "AlertsTopic": {"Type": "AWS::SNS::Topic", "Properties": {
            "DisplayName": "CloudTally alerts", "KmsMasterKeyId": {"Ref": "AlertsKey"}}},
    }
    publish = [{"Effect": "Allow", "Action": ["sns:Publish"], "Resource": {"Ref": "AlertsTopic"}},
               {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": _sub_arn("AlertsKey")}]
    table_rw = [{"Effect": "Allow", "Action": [
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
        "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
        "dynamodb:UpdateItem"], "Resource": table_arn}]
    resources["ApiDlq"] = _dlq()
    resources["ApiRole"] = _role("ApiRole", "api", table_rw + publish, "ApiDlq")
    resources["AlertsDlq"] = _dlq()
    # a custom role gets no statements from Serverless for its stream events: read the table's stream only
    stream_read = [{"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords",
                                                  "dynamodb:GetShardIterator"],
                    "Resource": {"Fn::GetAtt": ["Table", "StreamArn"]}},
                   {"Effect": "Allow", "Action": ["dynamodb:ListStreams"], "Resource": "*"}]
    resources["AlertsRole"] = _role("AlertsRole", "alerts", table_rw + publish + stream_read, "AlertsDlq")
    resources["ApiErrors"] = _alarm("api", "CloudTally api raised errors")
    resources["AlertsErrors"] = _alarm("alerts", "CloudTally alerts raised errors")

    functions: dict[str, Any] = {
        "api": {"handler": API_HANDLER, "description": "CloudTally API (Chalice)",
                "package": {"artifact": "build/lambda/api.zip"}, "memorySize": API_MEMORY_MB,
                "timeout": API_TIMEOUT_S, "role": "ApiRole",
                "destinations": {"onFailure": {"type": "sqs", "arn": _sub_arn("ApiDlq")}},
                "environment": {"CLOUDTALLY_SNS_TOPIC_ARN": {"Ref": "AlertsTopic"},
                                "CLOUDTALLY_MAX_BODY_BYTES": str(DEFAULT_MAX_BODY_BYTES)},
                "events": _api_events()},
        "alerts": {"handler": ALERTS_HANDLER, "description": "CloudTally budgets, forecasts and anomalies",
                   "package": {"artifact": "build/lambda/alerts.zip"}, "memorySize": ALERTS_MEMORY_MB,
                   "timeout": ALERTS_TIMEOUT_S, "role": "AlertsRole",
                   "destinations": {"onFailure": {"type": "sqs", "arn": _sub_arn("AlertsDlq")}},
                   "environment": {"CLOUDTALLY_SNS_TOPIC_ARN": {"Ref": "AlertsTopic"}},
                   "events": [{"schedule": {"rate": [ALERTS_SCHEDULE], "input": {"source": "schedule"}}},
                              {"stream": {
                                  "type": "dynamodb", "arn": {"Fn::GetAtt": ["Table", "StreamArn"]},
                                  "startingPosition": "LATEST", "batchSize": ALERTS_STREAM_BATCH_SIZE,
                                  "batchWindow": ALERTS_STREAM_WINDOW_S,
                                  "maximumRetryAttempts": ALERTS_STREAM_RETRIES,
                                  "maximumRecordAgeInSeconds": ALERTS_STREAM_MAX_AGE_S,
                                  "bisectBatchOnFunctionError": True,
                                  "destinations": {"onFailure": {"type": "sqs", "arn": _sub_arn("AlertsDlq")}},
                                  "filterPatterns": [ALERTS_STREAM_FILTER]}}]},
    }
    secrets = {s.aws_name: s for p in placements for s in p.secrets}
    for name, ref in sorted(secrets.items()):
        resources[f"Secret{logical(name)}"] = {
            "Type": "AWS::SecretsManager::Secret", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {"Name": name, "Description": f"CloudTally {ref.name}: {ref.description}"[:2048]}}
    for p in placements:
        spec = p.spec
        key = collector_artifact(spec.name)
        cid = f"Collector{logical(spec.name)}"
        refs = p.secrets
        scopes = Scopes(table_arn=table_arn, secret_arns=tuple({"Ref": f"Secret{logical(s.aws_name)}"} for s in refs),
                        topic_arn={"Ref": "AlertsTopic"},
                        member_role_pattern="${param:memberAccountRolePattern}",
                        export_bucket_arn="arn:aws:s3:::${param:billingExportBucket}")
        st = [{"Effect": "Allow", "Action": a, "Resource": r} for a, r in statements(function_actions(p), scopes)]
        env: dict[str, Any] = {"CLOUDTALLY_API_URL": api_url, ENV_COLLECTOR: spec.name, ENV_SECRET_ARNS: {"Fn::Sub": [
            json.dumps({s.name: "${" + f"S{i}" + "}" for i, s in enumerate(refs)}),
            {f"S{i}": {"Ref": f"Secret{logical(s.aws_name)}"} for i, s in enumerate(refs)}]}}
        if p.config:
            env[ENV_COLLECTOR_CONFIG] = json.dumps(p.config, sort_keys=True)
        resources[f"{cid}Dlq"] = _dlq()
        resources[f"{cid}Role"] = _role(f"{cid}Role", key, st, f"{cid}Dlq")
        resources[f"{cid}Errors"] = _alarm(key, f"CloudTally {key} raised errors")
        functions[key] = {
            "handler": COLLECTOR_HANDLER, "description": f"CloudTally collector {spec.name} ({p.schedule_expression()})",
            "package": {"artifact": f"build/lambda/{key}.zip"}, "memorySize": spec.memory_mb,
            "timeout": spec.timeout_s, "role": f"{cid}Role",
            "destinations": {"onFailure": {"type": "sqs", "arn": _sub_arn(f"{cid}Dlq")}},
            "environment": env,
            "events": [{"schedule": {"rate": [p.schedule_expression()], "input": {"collector": spec.name}}}]}
    doc = {
        "service": "cloudtally",
        "frameworkVersion": "3",
        # v3's schema predates the newest Lambda runtimes; unknown values warn instead of failing
        "configValidationMode": "warn",
        "params": {"default": {"memberAccountRolePattern": "arn:aws:iam::*:role/CloudTallyCollector*",
                               "billingExportBucket": "cloudtally-billing-export"}},
        "provider": {
            "name": "aws", "runtime": RUNTIME, "architecture": "x86_64",
            "stage": "${opt:stage, 'v1'}", "region": "${opt:region, 'us-east-1'}",
            "logRetentionInDays": LOG_RETENTION_DAYS,
            # the route table's binary types: gzip bodies and OTLP protobuf reach the handlers as bytes
            "apiGateway": {"binaryMediaTypes": list(_binary_types())},
            "environment": {"CLOUDTALLY_TABLE": {"Ref": "Table"}},
        },
        "package": {"individually": True, "patterns": ["!node_modules/**"]},
        "functions": functions,
        "resources": {"Resources": resources, "Outputs": {
            "ApiUrl": {"Value": api_url}, "TableName": {"Value": {"Ref": "Table"}},
            "AlertsTopicArn": {"Value": {"Ref": "AlertsTopic"}}}},
    }
    head = ("# GENERATED by `cloudtally infra render` from the collector registry: do not edit by hand.\n"
            "# The alternative deploy path (Serverless Framework v3); the CDK app in infra/ is the primary one.\n"
            "# Build the artifacts first: .venv/bin/python scripts/build_lambdas.py --zip\n")
    return head + yaml.safe_dump(doc, sort_keys=False, width=120)


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("infra", help="deploy descriptions generated from the collector registry")
    isub = p.add_subparsers(dest="infra_cmd", required=True)
    r = isub.add_parser("render", help="write serverless.yml from the registry")
    r.add_argument("--out", type=Path, default=SERVERLESS_YML)
    r.add_argument("--check", action="store_true", help="fail (exit 1) if the file differs from the registry")
    r.set_defaults(func=_render_cmd)


def _render_cmd(a: argparse.Namespace) -> int:
    text = render()
    if a.check:
        current = a.out.read_text() if a.out.is_file() else ""
        if current != text:
            print(f"{a.out} is out of date with the collector registry: run `cloudtally infra render`",
                  file=sys.stderr)
            return 1
        return 0
    a.out.write_text(text)
    print(f"wrote {a.out}")
    return 0


def _binary_types() -> tuple[str, ...]:
    from .api.routes import BINARY_TYPES
    return BINARY_TYPES
