"""Scheduled entry point of the Lambda-hosted collectors: runs the collector named in the event.

EventBridge schedule input (generated from the registry): ``{"collector": "aws", "config": {...}}``.
Config comes from ``CLOUDTALLY_COLLECTOR_CONFIG`` (JSON), then the event; the ingest key and the
collector's secrets from their environment variables or, in deployment, the Secrets Manager secrets
named in ``CLOUDTALLY_SECRET_ARNS``. Records, status, cursors and day ledgers go through the API
(``CLOUDTALLY_API_URL``): the function has no table access. Returns the run summary.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from cloudtally.collectors.function import run_collector
from cloudtally.collectors.secrets import arn_fetcher
from cloudtally.errors import ConfigError

logger = Logger(service="cloudtally-collector")
metrics = Metrics(namespace="CloudTally", service="collector")
tracer = Tracer(service="cloudtally-collector")


def _read_secret(arn: str) -> str:
    from cloudtally.providers.aws.session import read_secret
    return read_secret(arn)


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return run_event(event)


def run_event(event: dict[str, Any], *, clients: Any = None, now: Any = None) -> dict[str, Any]:
    """The handler's work without the Powertools decorators (tests and ``make up`` call it directly)."""
    event = event or {}
    name = event.get("collector") or (event.get("detail") or {}).get("collector")
    if not name:
        raise ConfigError("the schedule event must name a collector: {\"collector\": \"aws\"}")
    logger.append_keys(collector=name)
    summary = run_collector(name, env=os.environ, event_config=event.get("config"),
                            fetch_secret=arn_fetcher(os.environ, _read_secret), clients=clients, logger=logger,
                            now=now)
    metrics.add_dimension(name="collector", value=name)
    metrics.add_metric(name="RecordsSent", unit=MetricUnit.Count, value=summary["records_sent"])
    metrics.add_metric(name="ScopesFailed", unit=MetricUnit.Count, value=len(summary["failed_scopes"]))
    ce = summary["api_calls"].get("ce", {}).get("GetCostAndUsage", 0)
    metrics.add_metric(name="CostExplorerRequests", unit=MetricUnit.Count, value=ce)
    logger.info("collector run finished", extra={"summary": {k: summary[k] for k in (
        "status", "records_sent", "metrics_sent", "failed_scopes", "api_calls", "api_requests", "duration_s")}})
    return summary
