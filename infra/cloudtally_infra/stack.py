"""CloudTallyStack: table, API, alerts topic, dashboard, one scheduled Lambda per AWS-hosted collector.

Deploy-time choices are CloudFormation parameters (alert e-mail, API throttling, body limit, member-account
role pattern); build-time choices are CDK context (``stage``, ``customDomain``/``certificateArn``,
``logRetentionDays``, ``artifactsDir``, ``allowUnbuiltArtifacts``). See README.md ("Deploying on AWS").

The Lambda artifacts are built (or rebuilt when stale) by scripts/build_lambdas.py as part of the synth
(:mod:`.artifacts`), so one ``cdk deploy`` deploys a clean checkout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import (
    aws_apigateway as apigw,
    aws_certificatemanager as acm,
    aws_cloudfront as cloudfront,
    aws_cloudfront_origins as origins,
    aws_cloudwatch as cw,
    aws_cloudwatch_actions as cw_actions,
    aws_dynamodb as ddb,
    aws_events as events,
    aws_events_targets as targets,
    aws_iam as iam,
    aws_kms as kms,
    aws_lambda as lambda_,
    aws_lambda_event_sources as lambda_events,
    aws_logs as logs,
    aws_s3 as s3,
    aws_s3_deployment as s3deploy,
    aws_secretsmanager as sm,
    aws_sns as sns,
    aws_sns_subscriptions as subs,
    aws_sqs as sqs,
)
from constructs import Construct

from . import artifacts as ct_artifacts
from . import iam as ct_iam
from . import naming
from .dashboard import (REWRITE_JS, api_path_patterns, build_headers, pages_blocking_same_origin,
                        same_origin_csp)
from .api_swagger import swagger
from .nag import suppress

ENV_TABLE = "CLOUDTALLY_TABLE"
ENV_SNS_TOPIC_ARN = "CLOUDTALLY_SNS_TOPIC_ARN"
ENV_DASHBOARD_URL = "CLOUDTALLY_DASHBOARD_URL"
ENV_API_URL = "CLOUDTALLY_API_URL"
ENV_MAX_BODY_BYTES = "CLOUDTALLY_MAX_BODY_BYTES"
ENV_CORS_ORIGIN = "CLOUDTALLY_CORS_ORIGIN"
ENV_COLLECTOR = naming.ENV_COLLECTOR
ENV_SECRETS = naming.ENV_SECRET_ARNS   # JSON {secret name: ARN} of the secrets this function may read
# the stage variable naming the API's function in the integration URI (see _api: it breaks a reference cycle)
API_FUNCTION_STAGE_VARIABLE = "apiFunction"
# API responses through the dashboard's origin: JSON (or a FOCUS download), never rendered as a page
API_CSP = "default-src 'none'; frame-ancestors 'none'"

KMS_REASON = ("kms:GenerateDataKey* on the alerts key only (publishing to the KMS-encrypted topic needs "
              "GenerateDataKey and GenerateDataKeyWithoutPlaintext); the key is CloudTally's own.")
RETENTION = {1: logs.RetentionDays.ONE_DAY, 7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS,
             30: logs.RetentionDays.ONE_MONTH, 90: logs.RetentionDays.THREE_MONTHS,
             180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR}


def _settings(env: dict[str, Any]) -> dict[str, str]:
    return {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in env.items()}


class CloudTallyStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, placements=None, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        ctx = self.node.try_get_context
        self.stage = ctx("stage") or "v1"
        self.retention = RETENTION[int(ctx("logRetentionDays") or 90)]
        self.artifacts = Path(ctx("artifactsDir") or naming.BUILD_DIR).resolve()
        # tests of the template only: no build, the bare sources where no artifact exists (not deployable)
        self.allow_unbuilt = str(ctx("allowUnbuiltArtifacts") or "false").lower() == "true"
        if placements is None:
            from cloudtally.collectors import deployment
            placements = naming.lambda_placements(deployment.load(ctx("deployment"), root=naming.ROOT))
        self.placements = list(placements)
        # scripts/build_lambdas.py's report: what this synth built and what it reused (None: not run)
        self.artifact_build: dict[str, Any] | None = None
        if not self.allow_unbuilt:
            self.artifact_build = ct_artifacts.ensure(
                self.artifacts, ["api", "alerts", *(naming.collector_artifact(p.name) for p in self.placements)])

        # ------------------------------------------------------------------ parameters
        self.alert_email = cdk.CfnParameter(
            self, "AlertEmail", type="String", default="",
            description="E-mail address subscribed to budget and anomaly alerts (empty: no subscription)")
        self.rate_limit = cdk.CfnParameter(
            self, "ApiThrottleRateLimit", type="Number", default=50, min_value=1,
            description="API Gateway steady-state requests per second for the stage")
        self.burst_limit = cdk.CfnParameter(
            self, "ApiThrottleBurstLimit", type="Number", default=100, min_value=1,
            description="API Gateway burst requests for the stage")
        self.max_body = cdk.CfnParameter(
            self, "MaxBodyBytes", type="Number", default=5 * 1024 * 1024, min_value=1024,
            max_value=6 * 1024 * 1024, description="Largest accepted request body in bytes (413 above it)")
        actions = {a for p in self.placements for a in naming.function_actions(p)}
        # parameters that only exist when a registered collector needs them (cfn-lint flags unused ones)
        self.member_roles = cdk.CfnParameter(
            self, "MemberAccountRolePattern", type="String", default="arn:aws:iam::*:role/CloudTallyCollector*",
            description="IAM role ARN pattern collectors may assume in member accounts",
        ) if "sts:AssumeRole" in actions else None
        self.export_bucket = cdk.CfnParameter(
            self, "BillingExportBucket", type="String", default="cloudtally-billing-export",
            allowed_pattern="[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
            description="S3 bucket holding the CUR 2.0 / FOCUS billing export read by the billing-export collector",
        ) if actions & {"s3:GetObject", "s3:ListBucket"} else None

        # ------------------------------------------------------------------ data and alerts
        self.key = kms.Key(self, "AlertsKey", enable_key_rotation=True,
                           description="CloudTally: encrypts the alerts topic")
        self.key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.table = ddb.Table(
            self, "Table",
            partition_key=ddb.Attribute(name="pk", type=ddb.AttributeType.STRING),
            sort_key=ddb.Attribute(name="sk", type=ddb.AttributeType.STRING),
            billing_mode=ddb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            deletion_protection=True,
            time_to_live_attribute="ttl",
            encryption=ddb.TableEncryption.AWS_MANAGED,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            stream=ddb.StreamViewType(naming.ALERTS_STREAM_VIEW),   # post-ingest alerts (see _alerts)
        )
        self.topic = sns.Topic(self, "AlertsTopic", display_name="CloudTally alerts", master_key=self.key,
                               enforce_ssl=True)
        has_email = cdk.CfnCondition(self, "HasAlertEmail",
                                     expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(
                                         self.alert_email.value_as_string, "")))
        sub = sns.CfnSubscription(self, "AlertEmailSubscription", topic_arn=self.topic.topic_arn,
                                  protocol="email", endpoint=self.alert_email.value_as_string)
        sub.cfn_options.condition = has_email

        # ------------------------------------------------------------------ API
        self.api_fn, self.api, self.api_routes = self._api()
        self.api_url = self.api.url
        # ------------------------------------------------------------------ dashboard (and the API on its origin)
        self.dashboard_url = self._dashboard()
        self.api_fn.add_environment(ENV_DASHBOARD_URL, self.dashboard_url)
        self.api_fn.add_environment(ENV_CORS_ORIGIN, self.dashboard_url)
        # ------------------------------------------------------------------ collectors and alerts
        self.secrets = self._secrets()
        self.collector_fns = {p.name: self._collector(p) for p in self.placements}
        self.alerts_fn = self._alerts()

        cdk.CfnOutput(self, "ApiUrl", value=self.api_url, description="CLOUDTALLY_API_URL for agents and collectors")
        cdk.CfnOutput(self, "DashboardUrl", value=self.dashboard_url)
        cdk.CfnOutput(self, "DashboardApiUrl", value=self.dashboard_url,
                      description="The same API on the dashboard's origin (CloudFront sends "
                                  f"{' '.join(api_path_patterns(self.api_routes))} to the {self.stage} stage): "
                                  "what the dashboard calls; also usable as CLOUDTALLY_API_URL")
        cdk.CfnOutput(self, "TableName", value=self.table.table_name)
        cdk.CfnOutput(self, "AlertsTopicArn", value=self.topic.topic_arn)
        for name, secret in self.secrets.items():
            cdk.CfnOutput(self, f"SecretArn{naming.logical(name)}", value=secret.secret_arn,
                          description=f"Secrets Manager secret {name}: put the collector's API key here")

    # ---------------------------------------------------------------------- helpers
    def _code(self, artifact: str, source: Path) -> lambda_.Code:
        """The built artifact (scripts/build_lambdas.py); the bare source only when explicitly allowed."""
        built = self.artifacts / artifact
        if built.is_dir():
            return lambda_.Code.from_asset(str(built))
        if not self.allow_unbuilt:
            raise FileNotFoundError(f"{built} is missing although scripts/build_lambdas.py reported it built")
        cdk.Annotations.of(self).add_warning_v2(f"cloudtally:unbuilt:{artifact}",
                                                f"{artifact}: artifact not built, using {source} (not deployable)")
        return lambda_.Code.from_asset(str(source), exclude=["vendor", "__pycache__", ".chalice"])

    def _function(self, cid: str, *, artifact: str, source: Path, handler: str, memory: int, timeout: int,
                  env: dict[str, Any], description: str, role: iam.Role | None = None,
                  alarm: bool = True) -> lambda_.Function:
        log_group = logs.LogGroup(self, f"{cid}Logs", retention=self.retention,
                                  removal_policy=cdk.RemovalPolicy.DESTROY)
        role = role or iam.Role(self, f"{cid}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                                description=f"CloudTally {artifact}")
        dlq = sqs.Queue(self, f"{cid}Dlq", enforce_ssl=True, encryption=sqs.QueueEncryption.SQS_MANAGED,
                        retention_period=cdk.Duration.days(14))
        suppress(dlq, "AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the function.")
        fn = lambda_.Function(
            self, cid, runtime=lambda_.Runtime(naming.RUNTIME, lambda_.RuntimeFamily.PYTHON),
            handler=handler, code=self._code(artifact, source), memory_size=memory,
            timeout=cdk.Duration.seconds(timeout), environment=_settings(env), role=role, log_group=log_group,
            dead_letter_queue=dlq, retry_attempts=2, description=description,
            architecture=lambda_.Architecture.X86_64)
        log_group.grant_write(role)
        if alarm:
            al = cw.Alarm(self, f"{cid}Errors", metric=fn.metric_errors(period=cdk.Duration.minutes(5)),
                          threshold=1, evaluation_periods=1,
                          comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                          treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                          alarm_description=f"CloudTally {artifact} raised errors")
            al.add_alarm_action(cw_actions.SnsAction(self.topic))
        fn.dlq = dlq
        return fn

    # ---------------------------------------------------------------------- API
    def _api(self) -> tuple[lambda_.Function, apigw.SpecRestApi, list[str]]:
        fn = self._function(
            "Api", artifact="api", source=naming.ROOT / "functions" / "api", handler=naming.API_HANDLER,
            memory=naming.API_MEMORY_MB, timeout=naming.API_TIMEOUT_S, description="CloudTally API (Chalice)",
            env={ENV_TABLE: self.table.table_name, ENV_SNS_TOPIC_ARN: self.topic.topic_arn,
                 ENV_MAX_BODY_BYTES: self.max_body.value_as_string})
        self.table.grant_read_write_data(fn)
        self.topic.grant_publish(fn)
        suppress(fn.role, "AwsSolutions-IAM5", KMS_REASON, applies_to=["Action::kms:GenerateDataKey*"])
        # The function is named by a stage variable, not by its ARN in the definition: the dashboard's
        # distribution routes to this API (it needs the RestApi id) and the function's environment names the
        # distribution (CORS origin, alert links), so a RestApi -> function reference would close a cycle.
        uri = (f"arn:{cdk.Aws.PARTITION}:apigateway:{cdk.Aws.REGION}:lambda:path/2015-03-31/functions/"
               f"arn:{cdk.Aws.PARTITION}:lambda:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:function:"
               f"${{stageVariables.{API_FUNCTION_STAGE_VARIABLE}}}/invocations")
        definition = swagger(uri)
        access_logs = logs.LogGroup(self, "ApiAccessLogs", retention=self.retention,
                                    removal_policy=cdk.RemovalPolicy.DESTROY)
        api = apigw.SpecRestApi(
            self, "RestApi", api_definition=apigw.ApiDefinition.from_inline(definition),
            rest_api_name=f"cloudtally-{self.stack_name}", cloud_watch_role=True,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.DESTROY,
            endpoint_types=[apigw.EndpointType.REGIONAL],
            deploy_options=apigw.StageOptions(
                stage_name=self.stage, variables={API_FUNCTION_STAGE_VARIABLE: fn.function_name},
                throttling_rate_limit=self.rate_limit.value_as_number,
                throttling_burst_limit=self.burst_limit.value_as_number,
                logging_level=apigw.MethodLoggingLevel.ERROR, data_trace_enabled=False, metrics_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=False)))
        fn.add_permission("ApiInvoke", principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
                          source_arn=api.arn_for_execute_api())
        domain = self.node.try_get_context("customDomain")
        if domain:
            cert_arn = self.node.try_get_context("certificateArn")
            if not cert_arn:
                raise ValueError("context customDomain needs certificateArn (an ACM certificate in this region)")
            dn = apigw.DomainName(self, "ApiDomain", domain_name=domain, security_policy=apigw.SecurityPolicy.TLS_1_2,
                                  certificate=acm.Certificate.from_certificate_arn(self, "ApiCert", cert_arn),
                                  endpoint_type=apigw.EndpointType.REGIONAL)
            dn.add_base_path_mapping(api, stage=api.deployment_stage)
            cdk.CfnOutput(self, "ApiDomainTarget", value=dn.domain_name_alias_domain_name,
                          description=f"CNAME/alias target for {domain}")
        for rule, reason in {
            "AwsSolutions-APIG2": "Every route validates its input in the app (cloudtally.api) and answers 4xx with a "
                                  "machine-readable error; API Gateway models would duplicate and drift.",
            "AwsSolutions-APIG3": "WAF is optional and billed per web ACL; throttling is set on the stage and "
                                  "request limits are enforced in the app. Attach a web ACL for public exposure.",
            "AwsSolutions-APIG4": "Authorization is CloudTally API keys (id + hashed secret, scoped, revocable) checked "
                                  "in the app for every route but health; agents and collectors on other clouds "
                                  "cannot use IAM or Cognito.",
            "AwsSolutions-COG4": "See APIG4: API keys are verified in the app, not by a Cognito authorizer.",
        }.items():
            suppress(api, rule, reason)
        from cloudtally.api.routes import ROUTES
        return fn, api, sorted({r.path for r in ROUTES})

    # ---------------------------------------------------------------------- dashboard
    def _dashboard(self) -> str:
        bucket = s3.Bucket(self, "DashboardBucket", block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                           encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True, versioned=False,
                           object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                           removal_policy=cdk.RemovalPolicy.DESTROY, auto_delete_objects=False)
        suppress(bucket, "AwsSolutions-S1", "Static dashboard assets reached only through CloudFront (OAC); "
                                            "access is recorded at the CloudFront edge, not per object read.")
        dist_dir = naming.ROOT / "dashboard" / "dist"
        built = (dist_dir / "index.html").is_file()
        headers = self._dashboard_headers(build_headers(dist_dir))
        # The pages repeat the build's CSP in a <meta> tag, which the browser enforces as well as the header:
        # it must let them call their own origin (never a problem for a build.mjs build).
        blocked = pages_blocking_same_origin(dist_dir) if built else []
        if blocked:
            cdk.Annotations.of(self).add_warning_v2(
                "cloudtally:dashboard-api-origin",
                f"dashboard/dist: the <meta> CSP of {', '.join(blocked)} does not allow connect-src 'self', so the "
                "deployed pages cannot call the API on their own origin. Rebuild with `node dashboard/build.mjs`.")
        rewrite = cloudfront.Function(
            self, "DashboardRewrite", runtime=cloudfront.FunctionRuntime.JS_2_0,
            code=cloudfront.FunctionCode.from_file(file_path=str(REWRITE_JS)),
            comment="CloudTally dashboard: /dashboard/<page>[/] -> /dashboard/<page>/index.html")
        # The API on the dashboard's own origin: the page calls /v1/... and /api/... of the site it came from,
        # so neither the build nor config.json needs the API's URL (known only once deployed).
        api_behavior = cloudfront.BehaviorOptions(
            origin=origins.HttpOrigin(
                f"{self.api.rest_api_id}.execute-api.{cdk.Aws.REGION}.{cdk.Aws.URL_SUFFIX}",
                origin_path=f"/{self.stage}", protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2]),
            # HTTPS only, no redirect: a redirected POST would lose its body (and send the key in clear first)
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            # the query string, the key headers (Authorization too: allowed with caching disabled), Origin and
            # Content-Encoding; not Host, which must be the execute-api host for API Gateway to route
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=self._api_headers(),
            compress=False)   # with caching disabled CloudFront compresses nothing: Accept-Encoding goes to the API
        dist = cloudfront.Distribution(
            self, "DashboardCdn", comment="CloudTally dashboard and its API", default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                response_headers_policy=headers,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                function_associations=[cloudfront.FunctionAssociation(
                    function=rewrite, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)]),
            additional_behaviors={pattern: api_behavior for pattern in api_path_patterns(self.api_routes)},
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100)
        for rule, reason in {
            "AwsSolutions-CFR1": "The dashboard is served worldwide; data access is gated by API keys, not geography.",
            "AwsSolutions-CFR2": "WAF is optional (billed per web ACL); the static site is public code and the API "
                                 "paths it forwards are throttled on the API Gateway stage and gated by API keys.",
            "AwsSolutions-CFR3": "Standard logs need an ACL-enabled log bucket; enable them per deployment if needed "
                                 "(the assets are public code; API calls are in the API Gateway access logs).",
            "AwsSolutions-CFR4": "Without a custom domain CloudFront's default certificate fixes the viewer policy; "
                                 "set an alias with an ACM certificate and TLSv1.2_2021 to raise it.",
        }.items():
            suppress(dist, rule, reason)
        url = f"https://{dist.distribution_domain_name}"
        source = dist_dir if built else Path(__file__).parent / "placeholder"
        # config.json as dashboard/src/api.js reads it: api_url "" is the page's own origin (the behaviors above).
        # The build's own config.json names its local API (and maybe a demo key): never uploaded.
        cfg = dist_dir / "config.json"
        refresh = json.loads(cfg.read_text()).get("refresh_seconds", 60) if built and cfg.is_file() else 60
        s3deploy.BucketDeployment(
            self, "DashboardDeploy", destination_bucket=bucket, distribution=dist, distribution_paths=["/*"],
            sources=[s3deploy.Source.asset(str(source), exclude=["config.json", "headers.json"]),
                     s3deploy.Source.json_data("config.json", {"api_url": "", "refresh_seconds": refresh,
                                                               "stage": self.stage})],
            prune=True, memory_limit=256)
        return url

    def _dashboard_headers(self, build: dict[str, str]) -> cloudfront.ResponseHeadersPolicy:
        """The build's headers.json as a response-headers policy, plus HSTS. Its CSP's connect-src is 'self'
        (the API is on the same origin): for the default build that is headers.json's CSP as it is."""
        build = dict(build)
        security: dict[str, Any] = {
            "strict_transport_security": cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=cdk.Duration.days(365), include_subdomains=True, preload=True, override=True),
            "content_security_policy": cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=same_origin_csp(build.pop("Content-Security-Policy")), override=True)}
        if "X-Content-Type-Options" in build:
            if build.pop("X-Content-Type-Options").lower() != "nosniff":
                raise ValueError("headers.json: CloudFront sends X-Content-Type-Options: nosniff only")
            security["content_type_options"] = cloudfront.ResponseHeadersContentTypeOptions(override=True)
        if "X-Frame-Options" in build:
            security["frame_options"] = cloudfront.ResponseHeadersFrameOptions(
                frame_option=getattr(cloudfront.HeadersFrameOption, build.pop("X-Frame-Options").upper()),
                override=True)
        if "Referrer-Policy" in build:
            security["referrer_policy"] = cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=getattr(cloudfront.HeadersReferrerPolicy,
                                        build.pop("Referrer-Policy").upper().replace("-", "_")),
                override=True)
        custom = cloudfront.ResponseCustomHeadersBehavior(custom_headers=[
            cloudfront.ResponseCustomHeader(header=k, value=v, override=True) for k, v in sorted(build.items())
        ]) if build else None
        return cloudfront.ResponseHeadersPolicy(
            self, "DashboardHeaders", comment="CloudTally dashboard: the build's headers.json, plus HSTS",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(**security),
            custom_headers_behavior=custom)

    def _api_headers(self) -> cloudfront.ResponseHeadersPolicy:
        """Security headers for API responses on the dashboard's origin: not the pages' policy (a page CSP
        means nothing on JSON), but HSTS for the shared host and the usual API set (a CSP that lets nothing
        load or frame a response opened directly). None overrides the API: its own headers (Content-Type,
        CORS, X-Request-Id, Retry-After, Content-Encoding) pass as they are."""
        return cloudfront.ResponseHeadersPolicy(
            self, "ApiHeaders", comment="CloudTally API via the dashboard origin: HSTS and API security headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=cdk.Duration.days(365), include_subdomains=True, preload=True,
                    override=False),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=API_CSP, override=False),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=False),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=False),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=False)))

    # ---------------------------------------------------------------------- collectors
    def _secrets(self) -> dict[str, sm.Secret]:
        out: dict[str, sm.Secret] = {}
        refs = {ref.aws_name: ref for p in self.placements for ref in p.secrets}
        for name, ref in sorted(refs.items()):
            secret = sm.Secret(self, f"Secret{naming.logical(name)}", secret_name=name,
                               description=f"CloudTally {ref.name}: {ref.description}"[:2048],
                               removal_policy=cdk.RemovalPolicy.RETAIN)
            suppress(secret, "AwsSolutions-SMG4", "Holds a credential CloudTally cannot rotate itself (an API key "
                                                  "is rotated by creating a new key and revoking the old one).")
            out[name] = secret
        return out

    def _collector(self, placement) -> lambda_.Function:
        spec = placement.spec
        cid = f"Collector{naming.logical(spec.name)}"
        artifact = naming.collector_artifact(spec.name)
        actions = naming.function_actions(placement)
        role = iam.Role(self, f"{cid}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description=f"CloudTally collector {spec.name}: only the actions its CollectorSpec declares")
        own = {ref.name: self.secrets[ref.aws_name] for ref in placement.secrets}
        scopes = ct_iam.Scopes(
            table_arn=self.table.table_arn, secret_arns=tuple(s.secret_arn for s in own.values()),
            topic_arn=self.topic.topic_arn,
            member_role_pattern=self.member_roles.value_as_string if self.member_roles else "",
            export_bucket_arn=(f"arn:{cdk.Aws.PARTITION}:s3:::{self.export_bucket.value_as_string}"
                               if self.export_bucket else ""))
        statements = ct_iam.statements(actions, scopes)
        policy = iam.Policy(self, f"{cid}Policy", policy_name=f"collector-{spec.name}", roles=[role],
                            statements=[iam.PolicyStatement(actions=a, resources=r) for a, r in statements])
        wild = sorted({action.partition(":")[0] for acts, res in statements if res == ["*"] for action in acts})
        if wild:
            reasons = " ".join(ct_iam.WILDCARD_REASONS[s] for s in wild)
            suppress(policy, "AwsSolutions-IAM5", f"Resource '*' only for actions without resource-level "
                     f"permissions: {reasons}", applies_to=["Resource::*"])
        if any(a in ("s3:GetObject", "s3:ListBucket") for a in actions):
            suppress(policy, "AwsSolutions-IAM5", "Objects of the billing export bucket only (the CUR 2.0 / FOCUS "
                     "export writes date-partitioned keys under its prefix).", applies_to_regex=r"/^Resource::.*:s3:::.*\/\*$/")
        # no table: records, status, cursors and day ledgers go through the API with the ingest key
        env = {ENV_API_URL: self.api_url, ENV_COLLECTOR: spec.name,
               ENV_SECRETS: cdk.Fn.sub(json.dumps({n: "${" + f"S{i}" + "}" for i, n in enumerate(own)}),
                                       {f"S{i}": s.secret_arn for i, s in enumerate(own.values())})}
        if placement.config:
            env[naming.ENV_COLLECTOR_CONFIG] = json.dumps(placement.config, sort_keys=True)
        schedule = placement.schedule_expression()
        fn = self._function(
            cid, artifact=artifact, source=naming.ROOT / "functions" / "aws", handler=naming.COLLECTOR_HANDLER,
            memory=spec.memory_mb, timeout=spec.timeout_s, role=role,
            description=f"CloudTally collector {spec.name} ({schedule})",
            env=env)
        rule = events.Rule(self, f"{cid}Schedule", schedule=events.Schedule.expression(schedule),
                           description=f"CloudTally collector {spec.name}")
        rule.add_target(targets.LambdaFunction(
            fn, event=events.RuleTargetInput.from_object({"collector": spec.name}),
            dead_letter_queue=fn.dlq, retry_attempts=2, max_event_age=cdk.Duration.hours(2)))
        return fn

    def _alerts(self) -> lambda_.Function:
        fn = self._function(
            "Alerts", artifact="alerts", source=naming.ROOT / "functions" / "alerts", handler=naming.ALERTS_HANDLER,
            memory=naming.ALERTS_MEMORY_MB, timeout=naming.ALERTS_TIMEOUT_S,
            description="CloudTally budgets, forecasts and anomalies → SNS",
            env={ENV_TABLE: self.table.table_name, ENV_SNS_TOPIC_ARN: self.topic.topic_arn,
                 ENV_DASHBOARD_URL: self.dashboard_url})
        self.table.grant_read_write_data(fn)
        self.topic.grant_publish(fn)
        suppress(fn.role, "AwsSolutions-IAM5", KMS_REASON, applies_to=["Action::kms:GenerateDataKey*"])
        rule = events.Rule(self, "AlertsSchedule", schedule=events.Schedule.expression(naming.ALERTS_SCHEDULE),
                           description="CloudTally alerts evaluator")
        rule.add_target(targets.LambdaFunction(fn, event=events.RuleTargetInput.from_object({"source": "schedule"}),
                                               dead_letter_queue=fn.dlq, retry_attempts=2))
        # post-ingest: the rollup dirty markers an ingest bumps, gathered for a minute into one invocation
        fn.add_event_source(lambda_events.DynamoEventSource(
            self.table, starting_position=lambda_.StartingPosition.LATEST,
            batch_size=naming.ALERTS_STREAM_BATCH_SIZE,
            max_batching_window=cdk.Duration.seconds(naming.ALERTS_STREAM_WINDOW_S),
            retry_attempts=naming.ALERTS_STREAM_RETRIES, bisect_batch_on_error=True,
            max_record_age=cdk.Duration.seconds(naming.ALERTS_STREAM_MAX_AGE_S),
            on_failure=lambda_events.SqsDlq(fn.dlq),
            filters=[lambda_.FilterCriteria.filter(naming.ALERTS_STREAM_FILTER)]))
        suppress(fn.role, "AwsSolutions-IAM5", "dynamodb:ListStreams supports only Resource '*' (Service "
                 "Authorization Reference); the stream reads themselves are scoped to the table's stream ARN.",
                 applies_to=["Resource::*"])
        return fn
