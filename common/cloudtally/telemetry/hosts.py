"""Agents and hosts as ``GET /v1/agents`` and the Infrastructure page show them: status by heartbeat age at
the API's clock, version, host facts, and each host's cost where a cost record names it.

Status: **online** while the last heartbeat (or, for an OpenFinOps agent, its last registration or
telemetry post) is at most ``ONLINE_INTERVALS`` intervals old, **stale** up to ``STALE_INTERVALS`` intervals,
**offline** after that. The interval is the one the agent reports (``heartbeatInterval``; an OpenFinOps
agent's registered ``config.interval``), else 60 s for a host agent and 300 s for another agent.

>>> from datetime import datetime, timedelta, timezone
>>> now = datetime(2026, 12, 15, 9, 30, tzinfo=timezone.utc)
>>> [status(now - timedelta(seconds=s), now, 60) for s in (30, 179, 181, 900, 901)]
['online', 'online', 'stale', 'stale', 'offline']
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

from .systeminfo import facts

ONLINE_INTERVALS = 3     # two heartbeats may be missed
STALE_INTERVALS = 15
HOST_INTERVAL = 60
OTHER_INTERVAL = 300
STATUSES = ("online", "stale", "offline")
RULE = (f"online: a heartbeat within {ONLINE_INTERVALS} heartbeat intervals (60 s by default), stale: within "
        f"{STALE_INTERVALS}, offline: older; cost: the range's cost of the record whose ResourceId or ResourceName is "
        "the host's cloud instance id, host name, host id or agent id")


def status(last_seen: datetime | None, now: datetime, interval: int) -> str:
    if last_seen is None:
        return "offline"
    age = (now - last_seen).total_seconds()
    if age <= ONLINE_INTERVALS * interval:
        return "online"
    if age <= STALE_INTERVALS * interval:
        return "stale"
    return "offline"


def _interval(row: Mapping[str, Any]) -> int:
    if isinstance(row.get("heartbeat_interval"), int) and row["heartbeat_interval"] > 0:
        return row["heartbeat_interval"]
    cfg = row.get("config") or {}
    for k in ("interval", "interval_seconds", "collection_interval"):
        if isinstance(cfg.get(k), (int, float)) and cfg[k] > 0:
            return int(cfg[k])
    return HOST_INTERVAL if row.get("kind") == "host" else OTHER_INTERVAL


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def agent_view(row: Mapping[str, Any], now: datetime, *, system_info: bool = False) -> dict[str, Any]:
    """One agent as ``GET /v1/agents`` answers it (``system_info``: with the whole latest systemInfo)."""
    interval = _interval(row)
    last = row.get("last_seen")
    info = row.get("system_info") or {}
    out: dict[str, Any] = {
        "agent_id": row["agent_id"], "kind": row.get("kind") or "openfinops",
        "agent_type": row.get("agent_type"), "name": row.get("name"), "hostname": row.get("hostname"),
        "status": status(last, now, interval), "interval_seconds": interval,
        "first_seen": _iso(row.get("first_seen")), "last_seen": _iso(last),
        "age_seconds": int((now - last).total_seconds()) if last else None,
        "version": row.get("agent_version"), "environment": row.get("environment"), "tags": row.get("tags") or {},
        "cloud_provider": row.get("cloud_provider"), "region": row.get("region"),
        "heartbeats": row.get("heartbeats", 0), "points_received": row.get("points_received", 0),
        "batches_received": row.get("batches_received", 0), "duplicate_batches": row.get("duplicate_batches", 0),
        "host": facts(info) if info else None,
    }
    if system_info:
        out["systemInfo"] = info or None
    return out


def host_cost_keys(host: Mapping[str, Any], agent_id: str) -> list[str]:
    """The ids a cost record may name a host by: its cloud instance id, host name, host id, agent id."""
    keys = [host.get("cloudInstanceId"), host.get("hostname"), host.get("hostId"), agent_id]
    return [k for k in keys if isinstance(k, str) and k]


def host_rows(rows: list[Mapping[str, Any]], now: datetime, costs: Mapping[str, Mapping[str, Any]],
              currency: str, amount: str = "EffectiveCost") -> list[dict[str, Any]]:
    """The Infrastructure page's hosts: every agent that sent a heartbeat, with its status, utilisation, GPU,
    container and cloud facts, and its cost over the page's range where a record's ResourceId (or
    ResourceName) is the host's cloud instance id, host name, host id or agent id (``cost_source`` says
    which); ``amount`` null when no record names it."""
    by_name: dict[str, Mapping[str, Any]] = {}
    for rid, c in costs.items():
        by_name.setdefault(rid, c)
        if c.get("ResourceName"):
            by_name.setdefault(str(c["ResourceName"]), c)
    out = []
    for row in rows:
        info = row.get("system_info")
        if not info:
            continue
        v = agent_view(row, now)
        h = v["host"] or {}
        cost = None
        matched = None
        for k in host_cost_keys({**h, "hostId": info.get("hostId")}, row["agent_id"]):
            c = by_name.get(k)
            if c is not None and c.get("currency") == currency:
                cost, matched = c, k
                break
        out.append({"agent_id": v["agent_id"], "host": h.get("hostname") or v["hostname"] or v["agent_id"],
                    "status": v["status"], "last_seen": v["last_seen"], "age_seconds": v["age_seconds"],
                    "version": v["version"], "environment": v["environment"],
                    "cpu": h.get("cpuUsage"), "cpu_cores": h.get("cpuCores"), "memory": h.get("memoryUsage"),
                    "memory_total": h.get("memoryTotal"), "disk": h.get("diskUsage"), "disk_total": h.get("diskTotal"),
                    "load1": h.get("loadAvg1"), "gpu_count": h.get("gpuCount") or 0,
                    "gpu_utilization": h.get("gpuUtilization"), "gpu_names": h.get("gpuNames") or [],
                    "os": " ".join(str(x) for x in (h.get("platform"), h.get("osVersion")) if x) or h.get("os"),
                    "container": ({"runtime": h.get("containerRuntime"), "id": h.get("containerId"),
                                   "name": h.get("containerName"), "image": h.get("containerImage")}
                                  if h.get("isContainer") else None),
                    "virtualization": h.get("virtualizationType") if h.get("isVirtualized") else None,
                    "cloud": ({"provider": h.get("cloudProvider"), "instance_id": h.get("cloudInstanceId"),
                               "instance_type": h.get("cloudInstanceType"), "region": h.get("cloudRegion"),
                               "zone": h.get("cloudZone")} if h.get("cloudProvider") else None),
                    "amount": Decimal(cost[amount]) if cost else None,
                    "service": cost.get("ServiceName") if cost else None,
                    "cost_resource": matched})
    order = {s: i for i, s in enumerate(STATUSES)}
    out.sort(key=lambda r: (order[r["status"]], r["host"]))
    return out
