"""Cloud Monitoring: utilisation and usage with one aggregated ``timeSeries.list`` per metric type and project.

Each query asks Monitoring to align every series to the pull's period (a UTC day for scheduled runs,
the window for the agent) and to reduce across series grouped by the resource (``aggregation.
crossSeriesReducer`` + ``groupByFields``), so one call returns one point per instance (service, bucket)
and day: the number of calls per project is the number of metric types (at most ten), whatever the
instance count; a page holds up to 100 000 points (2 000 instances × 3 days is one page).
https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list

Metric types: Compute Engine CPU, the Ops Agent's memory and GPU utilisation (where the agent reports
them), disk read/write and network egress bytes; Cloud Run request count and billable instance time
(gen2 functions are Cloud Run services); Cloud Functions (1st gen) execution times (a distribution:
its count is the invocations); Cloud Storage total bytes per storage class. Those of a kind the project
has none of are not asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator

from ...focus import MetricPoint, iso, parse_time
from ...money import CONTEXT, ZERO

SOURCE = "gcp"


@dataclass(frozen=True)
class Query:
    key: str
    metric_type: str
    resource_type: str
    group_by: tuple[str, ...]
    aligner: str
    reducer: str
    needs: str                      # instances | gpu_instances | run | functions | buckets
    point: str                      # metric point name
    unit: str
    extra_filter: str = ""
    scale: Decimal = Decimal(1)     # CPU utilisation is a fraction: x100 for Percent

    def filter(self) -> str:
        f = f'metric.type = "{self.metric_type}" AND resource.type = "{self.resource_type}"'
        return f"{f} AND {self.extra_filter}" if self.extra_filter else f


_INST = ("resource.label.instance_id", "resource.label.zone")
QUERIES: tuple[Query, ...] = (
    Query("cpu", "compute.googleapis.com/instance/cpu/utilization", "gce_instance", _INST, "ALIGN_MEAN",
          "REDUCE_MEAN", "instances", "gcp.compute.cpu_utilization", "Percent", scale=Decimal(100)),
    Query("memory", "agent.googleapis.com/memory/percent_used", "gce_instance", _INST, "ALIGN_MEAN",
          "REDUCE_MEAN", "instances", "gcp.compute.memory_used", "Percent", extra_filter='metric.label.state = "used"'),
    Query("disk_read", "compute.googleapis.com/instance/disk/read_bytes_count", "gce_instance", _INST, "ALIGN_DELTA",
          "REDUCE_SUM", "instances", "gcp.compute.disk_read_bytes", "Bytes"),
    Query("disk_write", "compute.googleapis.com/instance/disk/write_bytes_count", "gce_instance", _INST,
          "ALIGN_DELTA", "REDUCE_SUM", "instances", "gcp.compute.disk_write_bytes", "Bytes"),
    Query("network_sent", "compute.googleapis.com/instance/network/sent_bytes_count", "gce_instance", _INST,
          "ALIGN_DELTA", "REDUCE_SUM", "instances", "gcp.compute.network_sent_bytes", "Bytes"),
    Query("gpu", "agent.googleapis.com/gpu/utilization", "gce_instance", _INST, "ALIGN_MEAN", "REDUCE_MEAN",
          "gpu_instances", "gcp.compute.gpu_utilization", "Percent"),
    Query("run_requests", "run.googleapis.com/request_count", "cloud_run_revision",
          ("resource.label.service_name", "resource.label.location"), "ALIGN_DELTA", "REDUCE_SUM", "run",
          "gcp.run.request_count", "Count"),
    Query("run_instance_time", "run.googleapis.com/container/billable_instance_time", "cloud_run_revision",
          ("resource.label.service_name", "resource.label.location"), "ALIGN_DELTA", "REDUCE_SUM", "run",
          "gcp.run.billable_instance_seconds", "Seconds"),
    Query("function_executions", "cloudfunctions.googleapis.com/function/execution_times", "cloud_function",
          ("resource.label.function_name", "resource.label.region"), "ALIGN_DELTA", "REDUCE_SUM", "functions",
          "gcp.functions.executions", "Count"),
    Query("storage_bytes", "storage.googleapis.com/storage/total_bytes", "gcs_bucket",
          ("resource.label.bucket_name", "metric.label.storage_class"), "ALIGN_MEAN", "REDUCE_SUM", "buckets",
          "gcp.storage.total_bytes", "Bytes"),
)


def _value(v: dict[str, Any]) -> tuple[Decimal, Decimal | None]:
    """(value, total) of a point: a double/int64, or a distribution's count and count × mean."""
    if "distributionValue" in v:
        d = v["distributionValue"]
        count = Decimal(str(d.get("count") or 0))
        return count, CONTEXT.multiply(count, Decimal(str(d.get("mean") or 0)))
    for k in ("doubleValue", "int64Value"):
        if k in v:
            return Decimal(str(v[k])), None
    return ZERO, None


@dataclass
class Series:
    query: Query
    labels: dict[str, str]          # the grouped labels (resource.label.x / metric.label.x → x)
    points: list[tuple[datetime, datetime, Decimal, Decimal | None]]   # (start, end, value, total)


def list_time_series(clients: Any, project: str, query: Query, start: datetime, end: datetime, *,
                     period_s: int, page_size: int) -> list[Series]:
    """One aggregated ``projects.timeSeries.list`` (all pages)."""
    params = {"filter": query.filter(), "interval.startTime": iso(start), "interval.endTime": iso(end),
              "aggregation.alignmentPeriod": f"{period_s}s", "aggregation.perSeriesAligner": query.aligner,
              "aggregation.crossSeriesReducer": query.reducer, "aggregation.groupByFields": list(query.group_by),
              "view": "FULL", "pageSize": page_size}
    out = []
    for page in clients.pages("monitoring", "projects.timeSeries.list", f"/v3/projects/{project}/timeSeries",
                              params=params):
        for ts in page.get("timeSeries") or []:
            lab = {**{f"metric.{k}": v for k, v in ((ts.get("metric") or {}).get("labels") or {}).items()},
                   **{f"resource.{k}": v for k, v in ((ts.get("resource") or {}).get("labels") or {}).items()}}
            pts = []
            for p in ts.get("points") or []:
                iv = p.get("interval") or {}
                pend = parse_time(iv["endTime"])
                pstart = parse_time(iv["startTime"]) if iv.get("startTime") else pend - timedelta(seconds=period_s)
                if pstart == pend:      # a GAUGE point's interval is an instant: the aligned period ends there
                    pstart = pend - timedelta(seconds=period_s)
                value, total = _value(p.get("value") or {})
                pts.append((pstart, pend, CONTEXT.multiply(value, query.scale), total))
            out.append(Series(query, {k.replace("resource.", "", 1).replace("metric.", "", 1): v
                                      for k, v in lab.items()}, pts))
    return out


def points(series: list[Series], dims_for: Any) -> Iterator[MetricPoint]:
    """Metric points of the series (``dims_for(series)`` gives the dimensions, or None to skip a series)."""
    for s in series:
        dims = dims_for(s)
        if dims is None:
            continue
        for start, _end, value, total in s.points:
            yield MetricPoint(name=s.query.point, value=value, timestamp=start, unit=s.query.unit, dimensions=dims,
                              source=SOURCE)
            if s.query.key == "function_executions" and total is not None:
                yield MetricPoint(name="gcp.functions.execution_seconds",
                                  value=CONTEXT.divide(total, Decimal(10) ** 9), timestamp=start, unit="Seconds",
                                  dimensions=dims, source=SOURCE)
