"""OTLP/HTTP metrics: decode an ``ExportMetricsServiceRequest`` (protobuf or JSON, optionally gzip) into
:class:`~cloudtally.focus.MetricPoint` objects, validating every data point, and build the OTLP answer.

What a data point becomes:

* **gauge** and **sum** points: one point each, under the metric's name (a sum's value as sent: a cumulative
  sum is a running total, a delta sum an increment);
* **histogram** points: ``<name>.count``, ``<name>.sum``, ``<name>.min`` / ``<name>.max`` when sent, and the
  cumulative bucket counts ``<name>.bucket`` with a dimension ``le`` (the bucket's upper bound, ``+Inf`` for the
  last), as Prometheus exposes them.

Dimensions are the point's attributes plus the resource attributes ``host.name``, ``service.name``,
``cloud.*`` and ``k8s.*`` (keys kept as OpenTelemetry names them); other resource attributes are not stored.

A point is **rejected, with its reason**, when its value is NaN or infinite (or outside what the store's
numbers hold), it has no value or time, it is older than the metric retention or more than a day ahead,
it has more than 30 dimensions or an oversized one, or its metric's type is not one of gauge, sum and
histogram (``summary`` and ``exponential_histogram`` are refused by name; a metric with no known type as
"unknown metric type"). The valid points of the request are kept; the answer's ``partial_success`` carries
the rejected count and the reasons. A body that is not OTLP at all is a 400; see :func:`decode`.

>>> from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
>>> req = ExportMetricsServiceRequest()
>>> rm = req.resource_metrics.add()
>>> kv = rm.resource.attributes.add(); kv.key = "host.name"; kv.value.string_value = "web-1"
>>> m = rm.scope_metrics.add().metrics.add(); m.name = "system.cpu.utilization"; m.unit = "1"
>>> p = m.gauge.data_points.add(); p.as_double = 0.25; p.time_unix_nano = 1_796_000_000 * 10**9
>>> out = decode(req.SerializeToString(), {"Content-Type": "application/x-protobuf"},
...              now=datetime(2026, 12, 1, tzinfo=UTC))
>>> [(pt.name, str(pt.value), pt.dimensions) for pt in out.points], out.rejected
([('system.cpu.utilization', '0.25', {'host.name': 'web-1'})], 0)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

from ..errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from ..focus import MetricPoint

UTC = timezone.utc
PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
JSON_TYPE = "application/json"
CONTENT_TYPES = PROTOBUF_TYPES + (JSON_TYPE,)
RESOURCE_KEYS = ("host.name", "service.name")
RESOURCE_PREFIXES = ("cloud.", "k8s.")
MAX_DIMENSIONS = 30
MAX_KEY = 128
MAX_VALUE = 256
MAX_UNIT = 64
MAX_REASONS = 20
DEFAULT_MAX_POINTS = 100_000
FUTURE = timedelta(days=1)
# DynamoDB numbers: 38 significant digits, magnitudes 1E-130 to 9.9E125
NUM_MAX = 9.9e125
NUM_MIN = 1e-130
NAME = re.compile(r"^[A-Za-z_:][A-Za-z0-9_.:/\-]{0,199}$")
FLAG_NO_RECORDED_VALUE = 1
SOURCE = "otlp"

R_NAN = "NaN or infinite value (not stored)"
R_RANGE = "value outside the range the store holds (|v| <= 9.9e125, |v| >= 1e-130 or 0)"
R_NO_VALUE = "data point without a value"
R_NO_RECORDED = "data point flagged 'no recorded value'"
R_NO_TIME = "data point without time_unix_nano"
R_OLD = "older than the metric retention"
R_FUTURE = "more than a day ahead of the server's clock"
R_DIMS = f"more than {MAX_DIMENSIONS} dimensions (attributes + host.name, service.name, cloud.*, k8s.*)"
R_ATTR = f"attribute key over {MAX_KEY} or value over {MAX_VALUE} characters"
R_NAME = "invalid metric name (1-200 characters: letters, digits, _ . : / -, starting with a letter, _ or :)"
R_UNIT = f"unit longer than {MAX_UNIT} characters"
R_UNKNOWN = "unknown metric type (send gauge, sum or histogram)"
R_BUCKETS = "histogram bucket_counts does not match explicit_bounds (len(bounds) + 1)"
R_BOUNDS = "histogram explicit_bounds not finite and increasing"


@dataclass
class Decoded:
    """The points of one request and the account of what was refused."""

    encoding: str                                    # "protobuf" | "json"
    points: list[MetricPoint] = field(default_factory=list)
    data_points: int = 0                             # OTLP data points in the request
    rejected: int = 0                                # of those, refused (with reasons)
    reasons: dict[tuple[str, str], int] = field(default_factory=dict)   # (metric, reason) -> data points
    metrics: set[str] = field(default_factory=set)   # names written

    @property
    def accepted(self) -> int:
        return self.data_points - self.rejected

    def reject(self, metric: str, reason: str, n: int = 1) -> None:
        self.rejected += n
        key = (metric[:200], reason)
        self.reasons[key] = self.reasons.get(key, 0) + n

    def reason_list(self) -> list[dict[str, Any]]:
        items = sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        return [{"metric": m, "reason": r, "data_points": n} for (m, r), n in items[:MAX_REASONS]]

    def error_message(self) -> str:
        if not self.rejected:
            return ""
        parts = [f"{r['metric'] or '(unnamed)'}: {r['reason']} ({r['data_points']})" for r in self.reason_list()]
        more = len(self.reasons) - MAX_REASONS
        return (f"{self.rejected} of {self.data_points} data points rejected: " + "; ".join(parts)
                + (f"; and {more} more reasons" if more > 0 else ""))


def content_kind(headers: Mapping[str, str]) -> str:
    """``protobuf`` or ``json`` from the Content-Type; anything else is a 415."""
    ctype = ""
    for k, v in headers.items():
        if k.lower() == "content-type":
            ctype = (v or "").split(";")[0].strip().lower()
    if ctype in PROTOBUF_TYPES:
        return "protobuf"
    if ctype == JSON_TYPE:
        return "json"
    raise UnsupportedMediaType(
        f"OTLP/HTTP takes Content-Type application/x-protobuf or application/json, got {ctype[:60]!r}",
        details={"accepted": list(CONTENT_TYPES)})


def parse_request(raw: bytes, kind: str) -> Any:
    """The ``ExportMetricsServiceRequest`` of a decoded body (400 when it is not one)."""
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    req = ExportMetricsServiceRequest()
    if kind == "protobuf":
        try:
            req.ParseFromString(raw)
        except (DecodeError, RuntimeError, ValueError, RecursionError) as e:   # upb: DecodeError; nesting: Runtime
            raise BadRequest(f"malformed protobuf: not an OTLP ExportMetricsServiceRequest ({str(e)[:80]})",
                             code="malformed_protobuf") from None
        return req
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8", code="bad_encoding") from None
    except (ValueError, RecursionError) as e:
        raise BadRequest(f"malformed JSON: {str(e)[:120]}", code="invalid_json") from None
    if not isinstance(doc, dict):
        raise BadRequest("OTLP JSON must be an object {\"resourceMetrics\": [...]}", code="invalid_otlp")
    _drop_exemplars(doc)
    try:
        json_format.ParseDict(doc, req, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError) as e:
        raise BadRequest(f"invalid OTLP JSON: {str(e)[:160]}", code="invalid_otlp") from None
    return req


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (OTLP JSON writes NaN and Infinity as the strings \"NaN\", \"Infinity\")")


def _drop_exemplars(doc: dict) -> None:
    """Exemplars are not stored, and OTLP JSON writes their trace ids in hex where proto3 JSON expects base64."""
    for rm in _list(doc.get("resourceMetrics", doc.get("resource_metrics"))):
        for sm in _list(rm.get("scopeMetrics", rm.get("scope_metrics")) if isinstance(rm, dict) else None):
            for m in _list(sm.get("metrics") if isinstance(sm, dict) else None):
                if not isinstance(m, dict):
                    continue
                for data in m.values():
                    if isinstance(data, dict):
                        for p in _list(data.get("dataPoints", data.get("data_points"))):
                            if isinstance(p, dict):
                                p.pop("exemplars", None)


def _list(v: Any) -> list:
    return v if isinstance(v, list) else []


def decode(raw: bytes, headers: Mapping[str, str], *, now: datetime, retention_days: int = 30,
           max_points: int = DEFAULT_MAX_POINTS) -> Decoded:
    """Decode and validate an already size-checked, gunzipped body. Raises :class:`UnsupportedMediaType`
    (415), :class:`BadRequest` (400: malformed protobuf or JSON) or :class:`PayloadTooLarge` (413: more than
    ``max_points`` data points); per-point problems are counted in the result, never raised."""
    kind = content_kind(headers)
    req = parse_request(raw, kind)
    out = Decoded(kind)
    oldest_ns = int((now - timedelta(days=retention_days)).timestamp()) * 10**9
    newest_ns = int((now + FUTURE).timestamp()) * 10**9
    times: dict[int, datetime] = {}
    for rm in req.resource_metrics:
        base = _resource_dims(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                _metric(m, base, out, times, oldest_ns, newest_ns)
                if out.data_points > max_points:
                    raise PayloadTooLarge(f"more than {max_points} data points in one request; send smaller batches",
                                          details={"limit_data_points": max_points})
    return out


def _any(v: Any) -> str | None:
    """An attribute's value as dimension text (None: empty)."""
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return "true" if v.bool_value else "false"
    if kind == "int_value":
        return str(v.int_value)
    if kind == "double_value":
        return repr(v.double_value)
    if kind == "bytes_value":
        return v.bytes_value.hex()
    if kind == "array_value":
        return json.dumps([_any(x) for x in v.array_value.values], separators=(",", ":"))
    if kind == "kvlist_value":
        return json.dumps({kv.key: _any(kv.value) for kv in v.kvlist_value.values}, separators=(",", ":"),
                          sort_keys=True)
    return None


def _resource_dims(attrs: Iterable[Any]) -> dict[str, str]:
    dims: dict[str, str] = {}
    for kv in attrs:
        k = kv.key
        if k in RESOURCE_KEYS or k.startswith(RESOURCE_PREFIXES):
            val = _any(kv.value)
            if val is not None:
                dims[k] = val
    return dims


def _dims(base: dict[str, str], attrs: Any) -> dict[str, str] | str:
    """The point's dimensions, or the reason they are refused."""
    if not attrs:
        dims = base
    else:
        dims = dict(base)
        for kv in attrs:
            val = _any(kv.value)
            if val is not None:
                dims[kv.key] = val
    if len(dims) > MAX_DIMENSIONS:
        return R_DIMS
    for k, v in dims.items():
        if len(k) > MAX_KEY or len(v) > MAX_VALUE or not k:
            return R_ATTR
    return dims


def _number(x: float) -> Decimal | str:
    if x != x or x in (math.inf, -math.inf):
        return R_NAN
    a = abs(x)
    if a > NUM_MAX or (a and a < NUM_MIN):
        return R_RANGE
    if a < 9007199254740992 and x == int(x):     # an integral double: 225.0 is stored as 225
        return Decimal(int(x))
    return Decimal(repr(x))


def _when(ns: int, times: dict[int, datetime], oldest: int, newest: int) -> datetime | str:
    if not ns:
        return R_NO_TIME
    if ns < oldest:
        return R_OLD
    if ns > newest:
        return R_FUTURE
    t = times.get(ns)
    if t is None:
        s, rem = divmod(ns, 10**9)
        t = times[ns] = datetime.fromtimestamp(s, UTC).replace(microsecond=rem // 1000)
    return t


def _metric(m: Any, base: dict[str, str], out: Decoded, times: dict[int, datetime], oldest: int,
            newest: int) -> None:
    name = m.name
    kind = m.WhichOneof("data")
    if kind in ("gauge", "sum", "histogram", "exponential_histogram", "summary"):
        pts = getattr(m, kind).data_points
        n = len(pts)
    else:
        pts, n = (), 1                 # nothing readable: counted as one refused data point
    out.data_points += n
    if kind not in ("gauge", "sum", "histogram"):
        out.reject(name, R_UNKNOWN if kind is None else f"metric type {kind} is not supported (send gauge, sum "
                                                        f"or histogram)", n)
        return
    if not NAME.match(name):
        out.reject(name, R_NAME, n)
        return
    unit = m.unit
    if len(unit) > MAX_UNIT:
        out.reject(name, R_UNIT, n)
        return
    append = out.points.append
    written = False
    for p in pts:
        if p.flags & FLAG_NO_RECORDED_VALUE:
            out.reject(name, R_NO_RECORDED)
            continue
        ts = _when(p.time_unix_nano, times, oldest, newest)
        if isinstance(ts, str):
            out.reject(name, ts)
            continue
        dims = _dims(base, p.attributes)
        if isinstance(dims, str):
            out.reject(name, dims)
            continue
        if kind == "histogram":
            pts_out = _histogram(name, unit, p, ts, dims)
            if isinstance(pts_out, str):
                out.reject(name, pts_out)
                continue
            out.points.extend(pts_out)
            for q in pts_out:
                out.metrics.add(q.name)
            continue
        which = p.WhichOneof("value")
        if which == "as_double":
            v = _number(p.as_double)
            if isinstance(v, str):
                out.reject(name, v)
                continue
        elif which == "as_int":
            v = Decimal(p.as_int)
        else:
            out.reject(name, R_NO_VALUE)
            continue
        append(MetricPoint(name, v, ts, unit, dims, SOURCE))
        written = True
    if written:
        out.metrics.add(name)


def _histogram(name: str, unit: str, p: Any, ts: datetime, dims: dict[str, str]) -> list[MetricPoint] | str:
    bounds = list(p.explicit_bounds)
    counts = list(p.bucket_counts)
    if counts and len(counts) != len(bounds) + 1:
        return R_BUCKETS
    if any(b != b or b in (math.inf, -math.inf) for b in bounds) or any(b >= c for b, c in zip(bounds, bounds[1:])):
        return R_BOUNDS
    out = [MetricPoint(f"{name}.count", Decimal(p.count), ts, "", dims, SOURCE)]
    for attr in ("sum", "min", "max"):
        if p.HasField(attr):
            v = _number(getattr(p, attr))
            if isinstance(v, str):
                return v
            out.append(MetricPoint(f"{name}.{attr}", v, ts, unit, dims, SOURCE))
    running = 0
    for i, c in enumerate(counts):
        running += c
        le = repr(bounds[i]) if i < len(bounds) else "+Inf"
        out.append(MetricPoint(f"{name}.bucket", Decimal(running), ts, "", {**dims, "le": le}, SOURCE))
    return out


def response(kind: str, rejected: int = 0, error_message: str = "") -> tuple[bytes | dict[str, Any], str]:
    """The OTLP ``ExportMetricsServiceResponse`` in the request's encoding: (body, content type).

    An empty response means everything was accepted; otherwise ``partial_success`` carries the number of
    rejected data points and the reasons.

    >>> response("json", 2, "x: NaN or infinite value (not stored) (2)")
    ({'partialSuccess': {'rejectedDataPoints': '2', 'errorMessage': 'x: NaN or infinite value (not stored) (2)'}}, 'application/json')
    >>> response("protobuf")
    (b'', 'application/x-protobuf')
    """
    if kind == "protobuf":
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
        resp = ExportMetricsServiceResponse()
        if rejected:
            resp.partial_success.rejected_data_points = rejected
            resp.partial_success.error_message = error_message
        return resp.SerializeToString(), PROTOBUF_TYPES[0]
    body: dict[str, Any] = {}
    if rejected:
        # proto3 JSON mapping (OTLP/HTTP JSON): lowerCamelCase names, int64 as a string
        body["partialSuccess"] = {"rejectedDataPoints": str(rejected), "errorMessage": error_message}
    return body, JSON_TYPE
