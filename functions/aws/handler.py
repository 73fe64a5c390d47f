"""Scheduled entry point of the AWS-hosted collectors: runs the collector named in the event.

EventBridge schedule input (generated from the registry): ``{"collector": "aws", "config": {...}}``.
Config comes from the event, then ``CLOUDTALLY_COLLECTOR_CONFIG`` (JSON); the ingest key from
``CLOUDTALLY_API_KEY_ID``/``_SECRET`` or, in deployment, the Secrets Manager secret named by
``CLOUDTALLY_API_KEY_SECRET_ARN`` (JSON ``{"key_id", "key_secret"}``). Returns the run summary.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from cloudtally import clock as ct_clock
from cloudtally import config as ct_config
from cloudtally.client import Client
from cloudtally.collectors import registry, runner
from cloudtally.errors import ConfigError

ENV_COLLECTOR_CONFIG = "CLOUDTALLY_COLLECTOR_CONFIG"
ENV_KEY_SECRET_ARN = "CLOUDTALLY_API_KEY_SECRET_ARN"

logger = Logger(service="cloudtally-collector")
metrics = Metrics(namespace="CloudTally", service="collector")
tracer = Tracer(service="cloudtally-collector")


def _api_key() -> tuple[str, str]:
    kid, sec = os.environ.get(ct_config.ENV_API_KEY_ID), os.environ.get(ct_config.ENV_API_KEY_SECRET)
    if kid and sec:
        return kid, sec
    arn = os.environ.get(ENV_KEY_SECRET_ARN)
    if not arn:
        raise ConfigError(f"set {ENV_KEY_SECRET_ARN} (or {ct_config.ENV_API_KEY_ID} and {ct_config.ENV_API_KEY_SECRET})")
    from cloudtally.collectors.aws import AwsClients
    doc = json.loads(AwsClients().client("secretsmanager", None).get_secret_value(SecretId=arn)["SecretString"])
    if not doc.get("key_id") or not doc.get("key_secret"):
        raise ConfigError(f"secret {ENV_KEY_SECRET_ARN} must hold JSON with key_id and key_secret")
    return doc["key_id"], doc["key_secret"]


def _config(event: dict[str, Any]) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    raw = os.environ.get(ENV_COLLECTOR_CONFIG)
    if raw:
        try:
            cfg.update(json.loads(raw))
        except ValueError:
            raise ConfigError(f"{ENV_COLLECTOR_CONFIG} must be a JSON object") from None
    cfg.update(event.get("config") or {})
    return cfg


def _status_store():
    """Cursors and collector status live in the CloudTally table (``GET /v1/collectors`` reads them)."""
    if not os.environ.get(ct_config.ENV_TABLE):
        raise ConfigError(f"set {ct_config.ENV_TABLE} so the collector can keep its cursors")
    from cloudtally.store import Store
    return Store(ct_config.load_settings())


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return run_event(event)


def run_event(event: dict[str, Any], *, clients: Any = None, now: datetime | None = None) -> dict[str, Any]:
    """The handler's work without the Powertools decorators (tests and ``make up`` call it directly).

    ``now`` defaults to the clock (``CLOUDTALLY_NOW`` pins it for a local stack; else the system clock).
    """
    event = event or {}
    name = event.get("collector") or (event.get("detail") or {}).get("collector")
    if not name:
        raise ConfigError("the schedule event must name a collector: {\"collector\": \"aws\"}")
    spec = registry.get(name)
    kid, sec = _api_key()
    api_url = os.environ.get(ct_config.ENV_API_URL, "")
    sink = runner.ClientSink(Client(api_url, kid, sec), agent_id=f"collector-{spec.name}")
    logger.append_keys(collector=spec.name)
    summary = runner.run(spec, sink=sink, clients=clients, config=_config(event), status=_status_store(),
                         logger=logger, now=now or ct_clock.from_env().now())
    metrics.add_dimension(name="collector", value=spec.name)
    metrics.add_metric(name="RecordsSent", unit=MetricUnit.Count, value=summary["records_sent"])
    metrics.add_metric(name="ScopesFailed", unit=MetricUnit.Count, value=len(summary["failed_scopes"]))
    ce = summary["api_calls"].get("ce", {}).get("GetCostAndUsage", 0)
    metrics.add_metric(name="CostExplorerRequests", unit=MetricUnit.Count, value=ce)
    logger.info("collector run finished", extra={"summary": {k: summary[k] for k in (
        "records_sent", "metrics_sent", "failed_scopes", "api_calls", "duration_s")}})
    return summary
