"""The OpenFinOps agents' payloads, turned into cost records and metric points.

Accepted at ``POST /api/v1/telemetry/ingest`` (documented in README, "Agent payloads")::

    {"agent_id": "...", "timestamp": 1732590000, "hostname": "...", "cloud_provider": "aws",
     "region": "us-west-2", "account_id": "optional",
     "services": {"ec2": {"instances": [{"instance_id": "i-1", "instance_type": "m5.large",
                                         "hourly_cost": 0.096, "tags": {...}, "cpu_utilization": 12.5}],
                          "total_instances": 1, "total_hourly_cost": 0.096}, "eks": {...}, ...},
     "summary": {"total_hourly_cost": 0.096},
     "metrics": [{"name": "...", "value": 1, "timestamp": ..., "dimensions": {...}}]}

Agents send an **hourly rate** snapshot every few minutes. Each resource's rate becomes the cost of
the UTC hour the snapshot falls in (rate × 1 h). The record id is the resource and the hour, not the
snapshot, so twelve snapshots at a 5-minute interval count that hour once (the latest rate wins),
where the published OpenFinOps server adds all twelve up (12× overcount).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import ValidationError
from ..focus import ONE_HOUR, CostRecord, MetricPoint, hour_floor, parse_metric, parse_record, parse_time, iso
from ..money import MoneyError, parse_amount
from ..providers import taxonomy as provider_taxonomy

PROVIDERS = {"aws": "AWS", "azure": "Microsoft", "gcp": "Google Cloud", "google": "Google Cloud",
             "databricks": "Databricks", "snowflake": "Snowflake", "mongodb_atlas": "MongoDB Atlas",
             "redis_cloud": "Redis Cloud", "github": "GitHub", "datadog": "Datadog"}
SERVICES = {"ec2": ("Amazon Elastic Compute Cloud", "Compute"), "eks": ("Amazon Elastic Kubernetes Service", "Compute"),
            "lambda": ("AWS Lambda", "Compute"), "rds": ("Amazon Relational Database Service", "Databases"),
            "s3": ("Amazon Simple Storage Service", "Storage")}
RATE_FIELDS = ("hourly_cost", "hourly_cost_usd", "cost_per_hour")
ID_FIELDS = ("instance_id", "resource_id", "cluster_name", "cluster_id", "function_name", "db_instance_identifier",
             "bucket_name", "vm_id", "name", "id")
METRIC_FIELDS = ("cpu_utilization", "memory_utilization", "disk_utilization", "network_in", "network_out",
                 "invocations", "duration_ms", "size_bytes", "object_count", "node_count", "gpu_utilization")


def _tags(v: Any) -> dict[str, str]:
    if isinstance(v, dict):
        return {str(k)[:128]: str(x)[:256] for k, x in list(v.items())[:50] if x is not None}
    if isinstance(v, list):
        return {str(t.get("Key") or t.get("key"))[:128]: str(t.get("Value") or t.get("value") or "")[:256]
                for t in v[:50] if isinstance(t, dict) and (t.get("Key") or t.get("key"))}
    return {}


def translate(payload: Any) -> tuple[list[CostRecord], list[MetricPoint], list[dict]]:
    """Records, metric points and per-item errors (``{"path", "errors"}``) of one telemetry payload."""
    if not isinstance(payload, dict):
        raise ValidationError("telemetry payload must be a JSON object",
                              details=[{"field": "", "message": "not an object"}])
    errors: list[dict] = []
    agent_id = payload.get("agent_id")
    if not isinstance(agent_id, str) or not 0 < len(agent_id) <= 128:
        raise ValidationError("invalid telemetry payload", details=[{"field": "agent_id", "message": "required string"}])
    try:
        ts = parse_time(payload.get("timestamp"))
    except (ValueError, TypeError, OverflowError):
        raise ValidationError("invalid telemetry payload",
                              details=[{"field": "timestamp", "message": "epoch seconds or ISO 8601"}]) from None
    cp = str(payload.get("cloud_provider") or "unknown").lower()
    provider = PROVIDERS.get(cp, cp[:64] or "unknown")
    region = payload.get("region") if isinstance(payload.get("region"), str) else None
    account = str(payload.get("account_id") or payload.get("subscription_id") or payload.get("project_id")
                  or f"agent:{agent_id}")[:128]
    hour = hour_floor(ts)
    records: list[CostRecord] = []
    metrics: list[MetricPoint] = []
    services = payload.get("services") or {}
    if not isinstance(services, dict):
        errors.append({"path": "services", "errors": [{"field": "services", "message": "expected an object"}]})
        services = {}
    for svc_key, svc in services.items():
        if not isinstance(svc, dict):
            continue
        name, category = SERVICES.get(str(svc_key).lower(), (str(svc_key)[:128], "Other"))
        for list_key, items in svc.items():
            if not isinstance(items, list):
                continue
            for n, el in enumerate(items[:10000]):
                if not isinstance(el, dict):
                    continue
                path = f"services.{svc_key}.{list_key}[{n}]"
                rate = next((el[f] for f in RATE_FIELDS if el.get(f) is not None), None)
                rid = next((str(el[f]) for f in ID_FIELDS if el.get(f)), None)
                if rate is None or rid is None:
                    continue
                try:
                    records.append(parse_record({
                        "ProviderName": provider, "BillingAccountId": account, "ServiceName": name,
                        "ServiceCategory": category, "ResourceId": rid[:1024],
                        "ResourceName": str(el.get("name") or rid)[:1024],
                        "ResourceType": str(el.get("instance_type") or el.get("instance_class")
                                            or el.get("type") or list_key)[:1024],
                        "RegionId": str(el.get("region") or region or "")[:64] or None,
                        "ChargePeriodStart": iso(hour), "ChargePeriodEnd": iso(hour + ONE_HOUR),
                        "BilledCost": rate, "ListUnitPrice": rate, "PricingQuantity": "1", "PricingUnit": "Hours",
                        "ConsumedQuantity": "1", "ConsumedUnit": "Hours", "BillingCurrency": "USD",
                        "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based",
                        "ChargeDescription": f"{name} hourly rate reported by OpenFinOps agent",
                        "Tags": _tags(el.get("tags")), "x_CostSource": "estimated",
                        "x_Collector": "openfinops-agent",
                    }, provider_taxonomy(provider)))
                except ValidationError as e:
                    errors.append({"path": path, "errors": e.details})
                    continue
                for f in METRIC_FIELDS:
                    v = el.get(f)
                    if v is None or isinstance(v, bool):
                        continue
                    try:
                        val = parse_amount(v if not isinstance(v, float) else repr(v))
                    except MoneyError:
                        continue
                    metrics.append(MetricPoint(name=f"{svc_key}.{f}", value=val, timestamp=ts,
                                               dimensions={"resource": rid[:256], "agent": agent_id},
                                               source="openfinops-agent"))
    total = (payload.get("summary") or {}).get("total_hourly_cost") if isinstance(payload.get("summary"), dict) else None
    if total is not None:
        try:
            metrics.append(MetricPoint(name="agent.total_hourly_cost", value=parse_amount(total), timestamp=ts,
                                       unit="USD/h", dimensions={"agent": agent_id}, source="openfinops-agent"))
        except MoneyError as e:
            errors.append({"path": "summary.total_hourly_cost", "errors": [{"field": "total_hourly_cost", "message": str(e)}]})
    raw_metrics = payload.get("metrics")
    if isinstance(raw_metrics, list):
        for n, m in enumerate(raw_metrics[:10000]):
            try:
                metrics.append(parse_metric(m))
            except ValidationError as e:
                errors.append({"path": f"metrics[{n}]", "errors": e.details})
    return records, metrics, errors


def agent_info(payload: Any) -> tuple[str, dict[str, Any]]:
    """Validate a registration payload: ``{"agent_id", "hostname", "cloud_provider", "region",
    "agent_type", "agent_version", "config"}``."""
    if not isinstance(payload, dict):
        raise ValidationError("registration must be a JSON object", details=[{"field": "", "message": "not an object"}])
    errors = []
    agent_id = payload.get("agent_id")
    if not isinstance(agent_id, str) or not 0 < len(agent_id) <= 128:
        errors.append({"field": "agent_id", "message": "required string of 1-128 characters"})
    info: dict[str, Any] = {}
    for f in ("hostname", "cloud_provider", "region", "agent_type", "agent_version"):
        v = payload.get(f)
        if v is None:
            continue
        if not isinstance(v, str) or len(v) > 256:
            errors.append({"field": f, "message": "expected a string of at most 256 characters"})
        else:
            info[f] = v
    cfg = payload.get("config")
    if cfg is not None:
        if not isinstance(cfg, dict):
            errors.append({"field": "config", "message": "expected an object"})
        else:
            info["config"] = _plain(cfg)
    if errors:
        raise ValidationError("invalid agent registration", details=errors)
    return agent_id, info


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v
