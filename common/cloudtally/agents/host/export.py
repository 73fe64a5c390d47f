"""Sending: a batch of collections as OTLP/HTTP protobuf (gzip) to CloudTally's receiver or any OpenTelemetry
collector, or as CloudTally's JSON metric ingest; the heartbeat. Retries with exponential back-off and jitter on
429, 502, 503, 504 and connection errors, honouring ``Retry-After``; other statuses are not retried (OTLP/HTTP's
rule). Every request carries ``X-TelemetryFlow-Key-ID``, ``X-TelemetryFlow-Key-Secret`` and
``X-TelemetryFlow-Agent-ID``; a batch also its ``Idempotency-Key``.
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import ssl
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable

log = logging.getLogger("cloudtally.agent.export")
RETRYABLE = {429, 502, 503, 504}
MAX_RETRY_AFTER = 600.0


@dataclass
class Outcome:
    ok: bool
    retryable: bool = False
    status: int | None = None
    accepted: int | None = None       # data points the receiver took (None: all)
    reason: str = ""
    retry_after: float | None = None
    body: bytes = b""
    headers: dict[str, str] | None = None


def resource_attributes(info: dict[str, Any], agent_id: str, agent_name: str, environment: str,
                        env: dict[str, str]) -> dict[str, str]:
    """OpenTelemetry resource attributes of the host (semantic conventions): host, OS, service, cloud, container,
    Kubernetes (from the downward API's variables)."""
    attrs = {"service.name": "cloudtally-agent", "service.version": str(info.get("agentVersion") or ""),
             "service.instance.id": agent_id, "host.name": str(info.get("hostname") or ""),
             "host.id": str(info.get("hostId") or ""), "host.arch": str(info.get("architecture") or ""),
             "os.type": str(info.get("os") or ""), "deployment.environment": environment,
             "telemetryflow.agent.name": agent_name}
    cloud = {"cloud.provider": "cloudProvider", "cloud.region": "cloudRegion", "cloud.availability_zone": "cloudZone",
             "host.type": "cloudInstanceType", "cloud.account.id": "cloudAccountId"}
    for k, f in cloud.items():
        if info.get(f):
            attrs[k] = str(info[f])
    if info.get("cloudProvider") and info.get("cloudInstanceId"):
        attrs["host.id"] = str(info["cloudInstanceId"])
    if info.get("containerId"):
        attrs["container.id"] = str(info["containerId"])
    if info.get("containerRuntime"):
        attrs["container.runtime"] = str(info["containerRuntime"])
    for k, var in (("k8s.node.name", "NODE_NAME"), ("k8s.pod.name", "POD_NAME"),
                   ("k8s.namespace.name", "POD_NAMESPACE"), ("k8s.cluster.name", "CLUSTER_NAME")):
        if env.get(var):
            attrs[k] = env[var]
    return {k: v for k, v in attrs.items() if v}


def encode_otlp(entries: list[dict[str, Any]], resource: dict[str, str], scope_version: str) -> bytes:
    """One ``ExportMetricsServiceRequest``: the batch's points grouped by metric, one data point per collection
    and attribute set. Sums are cumulative and monotonic, starting at the agent's start."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_CUMULATIVE

    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for k, v in resource.items():
        kv = rm.resource.attributes.add()
        kv.key, kv.value.string_value = k, v
    sm = rm.scope_metrics.add()
    sm.scope.name, sm.scope.version = "cloudtally-agent", scope_version
    metrics: dict[str, Any] = {}
    for e in entries:
        ns = int(e["t"]) * 10**9
        for name, kind, unit, value, attrs in e["p"]:
            m = metrics.get(name)
            if m is None:
                m = metrics[name] = sm.metrics.add()
                m.name, m.unit = name, unit
                if kind == "s":
                    m.sum.aggregation_temporality = AGGREGATION_TEMPORALITY_CUMULATIVE
                    m.sum.is_monotonic = True
            p = (m.sum if kind == "s" else m.gauge).data_points.add()
            p.time_unix_nano = ns
            if isinstance(value, int):
                p.as_int = value
            else:
                p.as_double = value
            for k, v in (attrs or {}).items():
                kv = p.attributes.add()
                kv.key, kv.value.string_value = k, v
    return req.SerializeToString()


def encode_json(entries: list[dict[str, Any]], resource: dict[str, str], agent_id: str) -> bytes:
    """CloudTally's JSON metric ingest (``POST /api/v1/telemetry/ingest``, the OpenFinOps envelope with a
    list of points): the resource attributes CloudTally keeps as dimensions, plus each point's own."""
    keep = {k: v for k, v in resource.items() if k in ("host.name", "service.name") or k.startswith(("cloud.", "k8s."))}
    pts = [{"name": name, "value": value, "timestamp": e["t"], "unit": unit, "dimensions": {**keep, **(attrs or {})},
            "source": "cloudtally-agent"} for e in entries for name, _, unit, value, attrs in e["p"]]
    ts = entries[-1]["t"] if entries else 0
    return json.dumps({"agent_id": agent_id, "timestamp": ts, "hostname": resource.get("host.name", ""),
                       "metrics": pts}, separators=(",", ":")).encode()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        from datetime import datetime, timezone
        dt = parsedate_to_datetime(value)
        return max(0.0, min((dt - datetime.now(timezone.utc)).total_seconds(), MAX_RETRY_AFTER))
    except (TypeError, ValueError):
        return None


class Sender:
    """HTTP with the TelemetryFlow headers, TLS settings and the retry policy of ``telemetryflow.retry``."""

    def __init__(self, cfg: Any, agent_id: str, *, sleep: Callable[[float], bool] | None = None,
                 opener: Callable[..., Any] | None = None):
        self.cfg = cfg
        self.agent_id = agent_id
        self._stop = threading.Event()
        # sleep(seconds) -> True when stopping; the agent passes one that follows its time scale
        self.sleep = sleep or (lambda s: self._stop.wait(s))
        self.opener = opener or urllib.request.urlopen
        tls = cfg.telemetryflow.tls
        self.context = None
        if cfg.telemetryflow.endpoint.startswith("https://"):
            self.context = ssl.create_default_context(cafile=tls.ca_file or None)
            if tls.insecure_skip_verify:
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE
        self.requests = 0
        self.retries = 0

    def headers(self) -> dict[str, str]:
        tf = self.cfg.telemetryflow
        h = {"X-TelemetryFlow-Key-ID": tf.api_key_id, "X-TelemetryFlow-Key-Secret": tf.api_key_secret,
             "X-TelemetryFlow-Agent-ID": self.agent_id, "User-Agent": "cloudtally-agent",
             "Accept": "application/x-protobuf, application/json"}
        h.update(self.cfg.exporter.headers)
        return {k: v for k, v in h.items() if v}

    def once(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
        req = urllib.request.Request(url, data=body, method="POST", headers={**self.headers(), **headers})
        self.requests += 1
        try:
            kw: dict[str, Any] = {"timeout": timeout}
            if self.context is not None:
                kw["context"] = self.context
            with self.opener(req, **kw) as r:
                return Outcome(True, status=r.status, body=r.read(), headers=dict(r.headers))
        except urllib.error.HTTPError as e:
            data = e.read()[:4000]
            reason = data.decode("utf-8", "replace")
            return Outcome(False, retryable=e.code in RETRYABLE, status=e.code, reason=f"HTTP {e.code}: {reason}",
                           retry_after=_retry_after(e.headers.get("Retry-After")), body=data)
        except (urllib.error.URLError, OSError, ValueError) as e:   # refused, reset, timeout, DNS
            return Outcome(False, retryable=True, reason=f"{type(e).__name__}: {getattr(e, 'reason', e)}")

    def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout: float,
             attempts: int | None = None) -> Outcome:
        """POST with the retry policy: up to ``retry.max_attempts`` attempts, exponential back-off with full
        jitter between ``initial_interval`` and ``max_interval``, at least ``Retry-After`` when the server says."""
        r = self.cfg.telemetryflow.retry
        attempts = attempts or r.max_attempts
        out = Outcome(False, retryable=True, reason="not sent")
        for attempt in range(attempts):
            out = self.once(url, body, headers, timeout)
            if out.ok or not out.retryable or attempt == attempts - 1:
                return out
            self.retries += 1
            delay = self.backoff(attempt)
            if out.retry_after is not None:
                delay = max(delay, out.retry_after)
            log.debug("retrying %s in %.3fs: %s", url, delay, out.reason)
            if self.sleep(delay):
                return out
        return out

    def backoff(self, attempt: int) -> float:
        r = self.cfg.telemetryflow.retry
        cap = min(r.max_interval, r.initial_interval * r.multiplier ** attempt)
        return random.uniform(cap / 2, cap)


def accepted_points(out: Outcome, fmt: str, sent: int) -> tuple[int, str]:
    """How many of the ``sent`` points the receiver took, and its reasons for the others (OTLP partial success,
    CloudTally's headers, or the JSON ingest's answer)."""
    h = {k.lower(): v for k, v in (out.headers or {}).items()}
    if fmt == "otlp":
        rejected, message = 0, ""
        ctype = h.get("content-type", "")
        try:
            if ctype.startswith("application/x-protobuf") and out.body:
                from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
                ps = ExportMetricsServiceResponse.FromString(out.body).partial_success
                rejected, message = ps.rejected_data_points, ps.error_message
            elif ctype.startswith("application/json") and out.body:
                ps = json.loads(out.body).get("partialSuccess") or {}
                rejected, message = int(ps.get("rejectedDataPoints") or 0), ps.get("errorMessage", "")
        except (ValueError, AttributeError) as e:
            log.warning("could not read the receiver's answer (%s): counting every point as taken", e)
        return max(0, sent - rejected), message
    try:
        doc = json.loads(out.body or b"{}")
    except ValueError:
        return sent, ""
    taken = doc.get("metrics") if isinstance(doc, dict) else None
    return (int(taken) if isinstance(taken, int) else sent), json.dumps(doc.get("rejected") or [])[:500] \
        if isinstance(doc, dict) else ""


def compress(body: bytes, how: str) -> tuple[bytes, dict[str, str]]:
    if how == "gzip":
        return gzip.compress(body, 6), {"Content-Encoding": "gzip"}
    return body, {}
