"""The OTLP/HTTP metrics receiver over HTTP: a stock OpenTelemetry SDK with the standard OTLP/HTTP exporter,
bad input (malformed protobuf, wrong content type, unknown metric type, 10 MB bodies, NaN), mixed requests
keeping their valid points, idempotent batches counted once."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest
import requests
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (ExportMetricsServiceRequest,
                                                                          ExportMetricsServiceResponse)

from tests.conftest import LIVE_NOW
from tests.helpers import key_headers

PB = {"Content-Type": "application/x-protobuf"}
T0 = LIVE_NOW - timedelta(hours=2)          # the live API's clock is pinned at LIVE_NOW


def _ns(dt) -> int:
    return int(dt.timestamp()) * 10**9


def otlp(metrics: list[tuple[str, str, list]], resource: dict[str, str] | None = None) -> ExportMetricsServiceRequest:
    """A request of ``(name, kind, [(time, value, attrs)])`` metrics; kind gauge | sum | histogram | summary | none."""
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for k, v in (resource or {"host.name": "web-1", "service.name": "checkout", "cloud.provider": "aws",
                              "k8s.cluster.name": "prod", "process.pid": "42"}).items():
        kv = rm.resource.attributes.add()
        kv.key, kv.value.string_value = k, v
    sm = rm.scope_metrics.add()
    for name, kind, pts in metrics:
        m = sm.metrics.add()
        m.name, m.unit = name, "1"
        for ts, value, attrs in pts:
            if kind == "none":
                break
            if kind == "histogram":
                p = m.histogram.data_points.add()
                p.count, p.sum = value["count"], value["sum"]
                p.explicit_bounds.extend(value["bounds"])
                p.bucket_counts.extend(value["counts"])
            elif kind == "summary":
                p = m.summary.data_points.add()
                p.count, p.sum = 1, value
            else:
                p = (m.gauge if kind == "gauge" else m.sum).data_points.add()
                if isinstance(value, int):
                    p.as_int = value
                else:
                    p.as_double = value
            p.time_unix_nano = _ns(ts)
            for k, v in attrs.items():
                kv = p.attributes.add()
                kv.key, kv.value.string_value = k, v
    return req


def post(api, body: bytes, headers: dict[str, str], key="ingest") -> requests.Response:
    return requests.post(f"{api['url']}/otlp/v1/metrics", data=body,
                         headers={**key_headers(api["keys"][key]), **headers}, timeout=30)


def points(api, name: str, day, **dims) -> list[dict]:
    params = {"name": name, "from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat(), "limit": 5000}
    if dims:
        params["dimension"] = [f"{k}={v}" for k, v in dims.items()]
    r = requests.get(f"{api['url']}/v1/metrics", params=params, headers=key_headers(api["keys"]["read"]), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["points"]


def error(r: requests.Response, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()["error"]


# ---------------------------------------------------------------------------------------------- stock SDK
def test_a_stock_opentelemetry_sdk_exports_to_the_receiver_and_its_points_appear(http_api):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    class Recording(OTLPMetricExporter):
        """The standard exporter, keeping what it sent (the test learns the SDK's timestamps from it)."""

        sent: list = []
        results: list = []

        def export(self, metrics_data, timeout_millis: float = 10_000, **kw):
            self.sent.append(metrics_data)
            result = super().export(metrics_data, timeout_millis=timeout_millis, **kw)
            self.results.append(result)
            return result

    ingest = http_api["keys"]["ingest"]
    exporter = Recording(endpoint=f"{http_api['url']}/otlp/v1/metrics", compression=Compression.Gzip,
                         headers={"X-TelemetryFlow-Key-ID": ingest["id"], "X-TelemetryFlow-Key-Secret": ingest["secret"]})
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource.create({"service.name": "checkout", "host.name": "web-7",
                                                       "cloud.provider": "gcp", "cloud.region": "europe-west1",
                                                       "k8s.cluster.name": "prod", "deployment.environment": "x"}),
                             metric_readers=[reader])
    meter = provider.get_meter("cloudtally.test")
    orders = meter.create_counter("shop.orders", unit="{order}")
    latency = meter.create_histogram("shop.latency", unit="ms")
    queue = meter.create_up_down_counter("shop.queue")
    temp = meter.create_gauge("shop.temperature", unit="Cel")
    for i in range(10):
        orders.add(2, {"region": "eu"})
        latency.record(5 * i, {"route": "/pay"})
    queue.add(7)
    queue.add(-3)
    temp.set(21.5, {"room": "a"})
    provider.shutdown()                       # collects and exports once

    from opentelemetry.sdk.metrics.export import MetricExportResult
    assert exporter.results == [MetricExportResult.SUCCESS]
    sent = {m.name: m for rm in exporter.sent[0].resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    ts = sent["shop.orders"].data.data_points[0].time_unix_nano
    from datetime import datetime, timezone
    day = datetime.fromtimestamp(ts / 1e9, timezone.utc).date()
    res = {"host.name": "web-7", "service.name": "checkout", "cloud.provider": "gcp", "cloud.region": "europe-west1",
           "k8s.cluster.name": "prod"}
    got = points(http_api, "shop.orders", day)
    assert [p["value"] for p in got] == ["20"]
    assert got[0]["dimensions"] == {**res, "region": "eu"}   # deployment.environment is not a dimension
    assert [p["value"] for p in points(http_api, "shop.queue", day)] == ["4"]
    assert [(p["value"], p["unit"]) for p in points(http_api, "shop.temperature", day)] == [("21.5", "Cel")]
    assert [p["value"] for p in points(http_api, "shop.latency.count", day)] == ["10"]
    assert [p["value"] for p in points(http_api, "shop.latency.sum", day)] == ["225"]
    assert [p["value"] for p in points(http_api, "shop.latency.max", day)] == ["45"]
    buckets = {p["dimensions"]["le"]: p["value"] for p in points(http_api, "shop.latency.bucket", day)}
    assert buckets["0.0"] == "1" and buckets["5.0"] == "2" and buckets["50.0"] == "10" and buckets["+Inf"] == "10"


# ---------------------------------------------------------------------------------------------- bad input
def test_mixed_request_keeps_the_valid_points_and_explains_the_rejected_ones(module_live_api):
    api = module_live_api
    req = otlp([("mix.cpu", "gauge", [(T0, 0.5, {"cpu": "0"}), (T0 + timedelta(seconds=15), float("nan"), {}),
                                      (T0 + timedelta(seconds=30), float("inf"), {}),
                                      (T0 + timedelta(seconds=45), 0.75, {"cpu": "0"})]),
                ("mix.summary", "summary", [(T0, 1.0, {}), (T0, 2.0, {})]),
                ("mix.unknown", "none", [(T0, 1.0, {})]),
                ("mix.old", "gauge", [(LIVE_NOW - timedelta(days=40), 1.0, {})]),
                ("mix.future", "sum", [(LIVE_NOW + timedelta(days=3), 1, {})]),
                ("bad name!", "gauge", [(T0, 1.0, {})])])
    r = post(api, req.SerializeToString(), PB)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/x-protobuf"
    resp = ExportMetricsServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_data_points == 8
    msg = resp.partial_success.error_message
    for reason in ("NaN or infinite value", "metric type summary is not supported", "unknown metric type",
                   "older than the metric retention", "more than a day ahead", "invalid metric name"):
        assert reason in msg, msg
    got = points(api, "mix.cpu", T0.date(), cpu="0")
    assert [p["value"] for p in got] == ["0.5", "0.75"]
    assert got[0]["dimensions"] == {"host.name": "web-1", "service.name": "checkout", "cloud.provider": "aws",
                                    "k8s.cluster.name": "prod", "cpu": "0"}   # process.pid is not a dimension
    # the same as OTLP JSON: the answer in JSON, NaN written the proto3 way
    doc = {"resourceMetrics": [{"resource": {"attributes": [{"key": "host.name", "value": {"stringValue": "web-2"}}]},
                                "scopeMetrics": [{"metrics": [
                                    {"name": "mix.json", "unit": "By", "sum": {"aggregationTemporality": 2,
                                     "isMonotonic": True, "dataPoints": [
                                         {"timeUnixNano": str(_ns(T0)), "asInt": "12345678901234"},
                                         {"timeUnixNano": str(_ns(T0) + 10**9), "asDouble": "NaN"},
                                         {"timeUnixNano": str(_ns(T0) + 2 * 10**9), "asDouble": 2.5,
                                          "exemplars": [{"spanId": "0102030405060708", "asDouble": 1}]}]}},
                                    {"name": "mix.json.exp", "exponentialHistogram": {"dataPoints": [
                                        {"timeUnixNano": str(_ns(T0)), "count": "1"}]}}]}]}]}
    r = post(api, gzip.compress(json.dumps(doc).encode()), {"Content-Type": "application/json",
                                                              "Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert r.json()["partialSuccess"]["rejectedDataPoints"] == "2"
    assert "exponential_histogram is not supported" in r.json()["partialSuccess"]["errorMessage"]
    assert [(p["value"], p["unit"]) for p in points(api, "mix.json", T0.date())] == [("12345678901234", "By"),
                                                                                     ("2.5", "By")]


@pytest.mark.parametrize("body,headers,status,code", [
    (b"\x0a\xff\xff\xff\xff\x0f garbage", PB, 400, "malformed_protobuf"),
    (b"\x08", PB, 400, "malformed_protobuf"),
    (b"{not json", {"Content-Type": "application/json"}, 400, "invalid_json"),
    (b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "x", "gauge": {"dataPoints": '
     b'[{"timeUnixNano": "1", "asDouble": NaN}]}}]}]}]}', {"Content-Type": "application/json"}, 400, "invalid_json"),
    (b'{"resourceMetrics": "nope"}', {"Content-Type": "application/json"}, 400, "invalid_otlp"),
    (b"[1, 2]", {"Content-Type": "application/json"}, 400, "invalid_otlp"),
    (b"a,b\n1,2", {"Content-Type": "text/csv"}, 415, "unsupported_media_type"),
    (b"\x0a\x00", {"Content-Type": "application/octet-stream"}, 415, "unsupported_media_type"),
    (b"\x0a\x00", {}, 415, "unsupported_media_type"),
    (b"\x1f\x8b\x08 not gzip", {**PB, "Content-Encoding": "gzip"}, 400, "bad_gzip"),
    (b"\x0a\x00", {**PB, "Content-Encoding": "br"}, 415, "unsupported_media_type"),
])
def test_bad_bodies_are_4xx_with_a_reason(module_live_api, body, headers, status, code):
    e = error(post(module_live_api, body, headers), status)
    assert e["code"] == code and e["message"]


def test_a_request_of_only_invalid_points_is_a_400_naming_each_reason(module_live_api):
    req = otlp([("nan.only", "gauge", [(T0, float("nan"), {}), (T0, float("-inf"), {})]),
                ("sum.only", "summary", [(T0, 1.0, {})]), ("nothing", "none", [])])
    e = error(post(module_live_api, req.SerializeToString(), PB), 400)
    assert e["code"] == "no_valid_points" and e["details"]["rejected_data_points"] == 4
    assert {(x["metric"], x["data_points"]) for x in e["details"]["reasons"]} == {
        ("nan.only", 2), ("sum.only", 1), ("nothing", 1)}


def test_ten_megabyte_bodies_are_413_plain_or_gzip(module_live_api):
    big = b"\x0a" + b"\x00" * (10 * 1024 * 1024)
    assert error(post(module_live_api, big, PB), 413)["code"] == "payload_too_large"
    bomb = gzip.compress(big)
    assert len(bomb) < 100_000
    e = error(post(module_live_api, bomb, {**PB, "Content-Encoding": "gzip"}), 413)
    assert e["code"] == "payload_too_large" and "decompressed" in e["message"]


def test_no_key_is_401_and_a_read_key_is_403(module_live_api):
    body = otlp([("auth.x", "gauge", [(T0, 1.0, {})])]).SerializeToString()
    r = requests.post(f"{module_live_api['url']}/otlp/v1/metrics", data=body, headers=PB, timeout=30)
    assert error(r, 401)["code"] == "missing_key"
    assert error(post(module_live_api, body, PB, key="read"), 403)["code"] == "insufficient_scope"


# ---------------------------------------------------------------------------------------------- idempotency
def _agent(api, agent_id: str) -> dict:
    r = requests.get(f"{api['url']}/v1/agents/{agent_id}", headers=key_headers(api["keys"]["read"]), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_batch_resent_with_its_idempotency_key_is_counted_once(module_live_api):
    api = module_live_api
    agent = "idem-agent-1"
    hb = requests.post(f"{api['url']}/agents/{agent}/heartbeat", json={"systemInfo": {"hostname": "h1"}},
                       headers=key_headers(api["keys"]["ingest"]), timeout=30)
    assert hb.status_code == 200, hb.text
    body = otlp([("idem.cpu", "gauge", [(T0 + timedelta(seconds=s), 0.1 * s, {}) for s in range(0, 300, 15)])],
                ).SerializeToString()
    hdr = {**PB, "Idempotency-Key": "batch-0001", "X-TelemetryFlow-Agent-ID": agent}
    first = post(api, body, hdr)
    assert first.status_code == 200 and "Idempotent-Replay" not in first.headers
    again = post(api, body, hdr)                       # the acknowledgment was lost: the agent re-sends
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert again.content == first.content
    other = post(api, otlp([("idem.cpu", "gauge", [(T0, 9.0, {})])]).SerializeToString(), hdr)
    assert error(other, 409)["code"] == "idempotency_key_reused"
    post(api, body, {**hdr, "Idempotency-Key": "batch-0002"})   # the same points under a new key: counted again
    a = _agent(api, agent)
    assert (a["points_received"], a["batches_received"], a["duplicate_batches"]) == (40, 2, 1)
    assert len(points(api, "idem.cpu", T0.date())) == 20      # stored once: a point is its series and time
