"""``AWSTelemetryAgent``: the OpenFinOps agent API on top of the AWS collector module.

It runs :func:`cloudtally.collectors.aws.collect` over the last hour, turns the estimates into the
OpenFinOps payload (``hourly_cost`` per resource, ``summary.total_hourly_cost``) and posts it to
``POST /api/v1/telemetry/ingest`` after registering at ``POST /api/v1/agents/register``.

>>> agent = AWSTelemetryAgent(openfinops_endpoint="http://localhost:8080", aws_region="us-west-2")  # doctest: +SKIP
>>> agent.register_agent() and agent.run_once()                                                     # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .. import config as ct_config
from ..client import Client, resolve_api_url
from ..errors import CloudTallyError
from ..focus import UTC, CostRecord, MetricPoint
from ..money import CONTEXT, ZERO

log = logging.getLogger("cloudtally.agents.aws")
AGENT_VERSION = "cloudtally-0.1"
DEFAULT_ENDPOINT_ENV = ct_config.ENV_OPENFINOPS_ENDPOINT
# collector service key -> (OpenFinOps service, list name, id field)
_SHAPE = {"Amazon Elastic Compute Cloud": ("ec2", "instances", "instance_id"),
          "Amazon Elastic Block Store": ("ec2", "volumes", "resource_id"),
          "Amazon Elastic Kubernetes Service": ("eks", "clusters", "cluster_name"),
          "AWS Lambda": ("lambda", "functions", "function_name"),
          "Amazon Relational Database Service": ("rds", "databases", "db_instance_identifier"),
          "Amazon Simple Storage Service": ("s3", "buckets", "bucket_name")}
_TOTAL_KEY = {"instances": "total_instances", "volumes": "total_volumes", "clusters": "total_clusters",
              "functions": "total_functions", "databases": "total_databases", "buckets": "total_buckets"}


class AWSTelemetryAgent:
    """OpenFinOps ``AWSTelemetryAgent`` (same constructor, methods and payloads), backed by the collector."""

    def __init__(self, openfinops_endpoint: str | None = None, aws_region: str | None = None, *,
                 server_url: str | None = None, region: str | None = None, agent_id: str | None = None,
                 api_key_id: str | None = None, api_key_secret: str | None = None, clients: Any = None,
                 config: dict[str, Any] | None = None, window_hours: int = 1, spool_dir: str | None = None):
        # the argument, else CLOUDTALLY_API_URL, else OPENFINOPS_ENDPOINT, else http://localhost:8080 (the
        # OpenFinOps default), which must then answer: a clear ConfigError says what to set
        self.endpoint = resolve_api_url(openfinops_endpoint or server_url)
        self.aws_region = aws_region or region or os.environ.get("AWS_REGION") or "us-east-1"
        self.hostname = socket.gethostname()
        self.agent_id = agent_id or f"aws-{self.aws_region}-{self.hostname}-{uuid.uuid4().hex[:8]}"
        self.client = Client(self.endpoint, api_key_id or os.environ.get(ct_config.ENV_API_KEY_ID, ""),
                             api_key_secret or os.environ.get(ct_config.ENV_API_KEY_SECRET, ""), max_attempts=4,
                             spool_dir=spool_dir or os.environ.get(ct_config.ENV_SPOOL_DIR) or None)
        self.clients = clients
        self.config = {"regions": [self.aws_region], "cost_explorer": False, **(config or {})}
        self.window_hours = window_hours
        self._stop = threading.Event()
        self.last_summary: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"AWSTelemetryAgent({self.endpoint!r}, aws_region={self.aws_region!r}, agent_id={self.agent_id!r})"

    # ------------------------------------------------------------ OpenFinOps API
    def register_agent(self) -> bool:
        body = {"agent_id": self.agent_id, "hostname": self.hostname, "cloud_provider": "aws",
                "region": self.aws_region, "agent_type": "aws_telemetry", "agent_version": AGENT_VERSION,
                "config": {"regions": self.config["regions"], "window_hours": self.window_hours}}
        try:
            self.client.request("POST", "/api/v1/agents/register", body=body)
            return True
        except CloudTallyError as e:
            log.error("agent registration failed: %s", e.message)
            return False

    def collect_telemetry_data(self) -> dict[str, Any]:
        """One collection over the last hour: the OpenFinOps payload (hourly cost per resource)."""
        from ..collectors import registry, runner

        now = datetime.now(UTC).replace(microsecond=0)
        window = runner.Window(now - timedelta(hours=self.window_hours), now)
        sink = runner.ListSink()
        self.last_summary = runner.run(registry.get("aws"), sink=sink, clients=self.clients, config=self.config,
                                       now=now, window=window, logger=log)
        return build_payload(self.agent_id, self.hostname, self.aws_region, now, window.hours,
                             list(sink.records.values()), sink.metrics, self.last_summary)

    def send_telemetry_data(self, data: dict[str, Any]) -> bool:
        try:
            resp = self.client.post_or_spool("/api/v1/telemetry/ingest", data)
        except CloudTallyError as e:
            log.error("telemetry not sent: %s", e.message)
            return False
        if resp is None:
            log.warning("server unreachable: telemetry spooled to %s for the next run", self.client.spool_dir)
            return False
        if resp.get("rejected"):
            log.warning("server rejected %d telemetry items", len(resp["rejected"]))
        return True

    def run_once(self) -> bool:
        data = self.collect_telemetry_data()
        ok = self.send_telemetry_data(data)
        failed = (self.last_summary or {}).get("failed_scopes") or []
        for f in failed:
            log.warning("scope %s failed: %s", f["scope"], f["errors"])
        return ok

    def stop(self) -> None:
        self._stop.set()

    def run_continuous(self, interval_seconds: int = 300) -> None:
        """Collect and send every ``interval_seconds`` until Ctrl-C or SIGTERM (clean stop, no traceback)."""
        from .loop import run_continuous
        run_continuous(self.run_once, interval_seconds, self._stop, log, self.agent_id)


def build_payload(agent_id: str, hostname: str, region: str, now: datetime, hours: Decimal,
                  records: list[CostRecord], metrics: list[MetricPoint], summary: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """The OpenFinOps telemetry payload from the collector's estimates over a window of ``hours``."""
    per: dict[tuple[str, str, str], dict[str, Any]] = {}
    account = None
    for r in records:
        if r.x_CostSource != "estimated" or r.ServiceName not in _SHAPE:
            continue
        account = account or r.BillingAccountId
        svc, lst, idf = _SHAPE[r.ServiceName]
        rid = r.ResourceName if idf in ("cluster_name", "function_name", "db_instance_identifier", "bucket_name") \
            else r.ResourceId
        el = per.setdefault((svc, lst, rid or ""), {idf: rid, "resource_id": r.ResourceId, "region": r.RegionId,
                                                    "type": r.ResourceType, "tags": r.Tags, "_cost": ZERO})
        if svc == "ec2" and lst == "instances":
            el["instance_type"] = r.ResourceType
        if svc == "rds":
            el["instance_class"] = r.ResourceType
        el["_cost"] = CONTEXT.add(el["_cost"], r.BilledCost)
    latest: dict[tuple[str, str], MetricPoint] = {}
    for p in metrics:
        key = (p.name, p.dimensions.get("resource", ""))
        if key not in latest or p.timestamp > latest[key].timestamp:
            latest[key] = p
    services: dict[str, dict[str, Any]] = defaultdict(dict)
    total = ZERO
    for (svc, lst, _), el in sorted(per.items(), key=lambda kv: kv[0]):
        hourly = CONTEXT.divide(el.pop("_cost"), hours) if hours else ZERO
        el["hourly_cost"] = hourly
        cpu = latest.get(("aws.ec2.cpu_utilization", el.get("resource_id") or ""))
        if cpu is not None:
            el["cpu_utilization"] = cpu.value
        services[svc].setdefault(lst, []).append(el)
        services[svc]["total_hourly_cost"] = CONTEXT.add(services[svc].get("total_hourly_cost", ZERO), hourly)
        total = CONTEXT.add(total, hourly)
    for svc in ("ec2", "eks", "lambda", "rds", "s3"):
        services.setdefault(svc, {"total_hourly_cost": ZERO})
    for svc, d in services.items():
        for lst, key in _TOTAL_KEY.items():
            if lst in d:
                d[key] = len(d[lst])
        if svc == "ec2":
            d.setdefault("total_instances", 0)
    payload = {
        "agent_id": agent_id, "timestamp": int(now.timestamp()), "hostname": hostname, "cloud_provider": "aws",
        "region": region, "services": dict(services),
        "summary": {"total_hourly_cost": total, "total_resources": len(per),
                    "failed_scopes": [f["scope"] for f in (summary or {}).get("failed_scopes", [])]},
        "metrics": [p.to_dict() for p in metrics[:5000]],
    }
    if account:
        payload["account_id"] = account
    return payload
