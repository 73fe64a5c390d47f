"""Azure Monitor metrics in batches: ``POST https://<region>.metrics.monitor.azure.com/subscriptions/<id>/metrics:getBatch``.

One call returns up to :data:`MAX_RESOURCES` resources of one subscription, region and resource type, for
up to :data:`MAX_METRICS` metric names of one namespace (https://learn.microsoft.com/azure/azure-monitor/
essentials/migrate-to-batch-api; REST: Metrics Batch - Batch, api-version 2024-02-01). CPU, memory, disk and
network of 1 000 VMs in one region are therefore 20 calls, not 6 000 per-resource ones.

Body ``{"resourceids": [...]}``; answer ``{"values": [{"resourceid", "resourceregion", "namespace",
"starttime", "endtime", "interval", "value": [{"name": {"value"}, "unit", "errorCode", "timeseries":
[{"metadatavalues": [{"name": {"value"}, "value"}], "data": [{"timeStamp", "average", "total", ...}]}]}]}]}``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Iterator

from ...focus import MetricPoint, iso
from .records import COLLECTOR, lower_id, parse_arm_time
from .session import SCOPE_METRICS, url

API_VERSION = "2024-02-01"
MAX_RESOURCES = 50
MAX_METRICS = 20

# (metric name, aggregation, our point name, unit) per namespace
VM_METRICS = (("Percentage CPU", "average", "cpu_utilization", "Percent"),
              ("Available Memory Bytes", "average", "available_memory_bytes", "Bytes"),
              ("Disk Read Bytes", "total", "disk_read_bytes", "Bytes"),
              ("Disk Write Bytes", "total", "disk_write_bytes", "Bytes"),
              ("Network In Total", "total", "network_in_bytes", "Bytes"),
              ("Network Out Total", "total", "network_out_bytes", "Bytes"))
SQL_METRICS = (("cpu_percent", "average", "cpu_utilization", "Percent"),
               ("dtu_consumption_percent", "average", "dtu_utilization", "Percent"),
               ("storage", "maximum", "storage_bytes", "Bytes"))
NAMESPACE = {"vm": "Microsoft.Compute/virtualMachines", "vmss": "Microsoft.Compute/virtualMachineScaleSets",
             "sql": "Microsoft.Sql/servers/databases", "site": "Microsoft.Web/sites",
             "blob": "Microsoft.Storage/storageAccounts/blobServices"}


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


Series = dict[str, dict[str, list[tuple[datetime, dict[str, Decimal], dict[str, str]]]]]


def get_batch(ctx: Any, sub: str, region: str, namespace: str, resource_ids: list[str], metric_names: list[str],
              start: datetime, end: datetime, *, interval: str = "PT1H", aggregation: str = "average",
              filter_: str | None = None) -> Series:
    """``{resource id (lower case): {metric name: [(time, {aggregation: value}, {dimension: value})]}}``.

    Resources are sent :data:`MAX_RESOURCES` at a time and metric names :data:`MAX_METRICS` at a time; a metric
    the service answers with an ``errorCode`` other than Success is noted, not fatal."""
    out: Series = defaultdict(lambda: defaultdict(list))
    base = ctx.clients.metrics.format(region=region)
    for names in _chunks(list(metric_names), MAX_METRICS):
        for ids in _chunks(list(resource_ids), MAX_RESOURCES):
            u = url(base, f"/subscriptions/{sub}/metrics:getBatch", **{
                "api-version": API_VERSION, "starttime": iso(start), "endtime": iso(end), "interval": interval,
                "metricnamespace": namespace, "metricnames": ",".join(names), "aggregation": aggregation,
                "filter": filter_})
            doc = ctx.clients.http.request("POST", u, service="monitor", operation="GetBatch", scope=SCOPE_METRICS,
                                           body={"resourceids": ids}).json() or {}
            for item in doc.get("values") or []:
                rid = lower_id(item.get("resourceid") or "")
                for metric in item.get("value") or []:
                    name = (metric.get("name") or {}).get("value") or ""
                    if metric.get("errorCode") not in (None, "", "Success"):
                        ctx.note(f"metric {name} of {rid}: {metric.get('errorCode')} {metric.get('errorMessage') or ''}"
                                 .strip())
                        continue
                    for ts in metric.get("timeseries") or []:
                        dims = {str((m.get("name") or {}).get("value") or "").lower(): str(m.get("value") or "")
                                for m in ts.get("metadatavalues") or []}
                        for point in ts.get("data") or []:
                            when = parse_arm_time(point.get("timeStamp"))
                            values = {k: Decimal(v) if not isinstance(v, Decimal) else v for k, v in point.items()
                                      if k != "timeStamp" and v is not None}
                            if when is not None and values:
                                out[rid][name].append((when, values, dims))
    return out


def by_group(resources: Iterable[dict[str, Any]], sub: str) -> dict[str, list[dict[str, Any]]]:
    """Resources per region (a batch holds one subscription, region and type)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in resources:
        groups[(r.get("location") or "").lower().replace(" ", "")].append(r)
    return dict(sorted(groups.items()))


def utilisation(ctx: Any, sub: str, kind: str, resources: list[dict[str, Any]], start: datetime, end: datetime,
                metrics: tuple[tuple[str, str, str, str], ...] = VM_METRICS,
                dims: Any = None) -> Iterator[MetricPoint]:
    """Hourly utilisation points of ``resources`` (one ``kind`` of :data:`NAMESPACE`), region by region."""
    for region, group in by_group(resources, sub).items():
        by_id = {lower_id(r["id"]): r for r in group}
        aggregations = ",".join(sorted({m[1] for m in metrics}))
        res = get_batch(ctx, sub, region, NAMESPACE[kind], list(by_id), [m[0] for m in metrics], start, end,
                        aggregation=aggregations)
        for rid, series in res.items():
            r = by_id.get(rid)
            if r is None:
                continue
            extra = dims(r) if dims is not None else {}
            for metric, agg, point, unit in metrics:
                for when, values, _ in series.get(metric, []):
                    if agg in values:
                        yield MetricPoint(name=f"azure.{kind}.{point}", value=values[agg], timestamp=when, unit=unit,
                                          dimensions={"resource": rid, "subscription": sub, "region": region, **extra},
                                          source=COLLECTOR)


def metrics_span(ctx: Any, window: Any) -> tuple[datetime, datetime] | None:
    """When utilisation is due for the current scope: ``(start, end)`` of the closed hours to pull (marked done);
    the agent's fixed window is pulled as asked."""
    if not ctx.config.metrics:
        return None
    if ctx.fixed_window:
        return window.start.replace(minute=0, second=0), window.end
    scope = ctx.current.name
    days = ctx.metric_days_due(scope, "metrics", ctx.config.metrics_interval_hours, ctx.config.metrics_backfill_days)
    if days is not None:
        ctx.set_mark(scope, "metrics", days[1])
    return days
