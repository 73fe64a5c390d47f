"""The OpenFinOps SaaS agent's per-service structures (docs: "MongoDB Atlas metrics structure", "GitHub
Actions metrics structure"), computed from the records a cycle's collectors produced.

* ``mongodb_atlas``: ``total_clusters``, ``total_daily_cost_usd`` and per cluster ``cluster_name``,
  ``instance_size``, ``num_shards``, ``replication_factor`` (nodes per shard), ``provider``, ``region``,
  ``hourly_cost_usd`` (today's estimate so far ÷ its hours) and ``daily_cost_usd`` (that rate × 24), from
  today's per-cluster estimates (the inventory × the catalog);
* ``github_actions``: ``total_minutes_used``, ``included_minutes`` (the minutes GitHub's discount covered:
  discount ÷ unit price), ``billable_minutes``, ``estimated_monthly_cost_usd`` (the net amount of this
  month's Actions usage in the window) and ``minutes_used_breakdown`` by runner OS (``UBUNTU``,
  ``WINDOWS``, ``MACOS``), from the billed usage items.

Amounts stay :class:`~decimal.Decimal`; a service with no such records gets an empty structure (zero
clusters, zero minutes: the collector ran and found none).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from ..focus import CostRecord
from ..money import CONTEXT, ZERO

_SHARDS = re.compile(r"(\d+) shard\(s\), (\d+) node\(s\) per shard")
_RUNNER = {"linux": "UBUNTU", "ubuntu": "UBUNTU", "windows": "WINDOWS", "macos": "MACOS", "mac": "MACOS"}


def atlas(records: Iterable[CostRecord], now: datetime) -> dict[str, Any]:
    today = now.date()
    clusters, total = [], ZERO
    for r in sorted(records, key=lambda r: (r.ResourceName or "", r.ResourceId or "")):
        if r.x_CostSource != "estimated" or r.ChargePeriodStart.date() != today or not r.ResourceId:
            continue
        m = _SHARDS.search(r.ChargeDescription or "")
        hours = r.ConsumedQuantity or ZERO
        shards, nodes = (int(m.group(1)), int(m.group(2))) if m else (1, 3)
        # ConsumedQuantity is hours × nodes/3 × shards: the cluster's wall-clock hours are that ÷ (nodes/3 × shards)
        wall = CONTEXT.divide(CONTEXT.multiply(hours, Decimal(3)), Decimal(nodes * shards)) if hours and nodes else ZERO
        hourly = CONTEXT.divide(r.BilledCost, wall).quantize(Decimal("0.000001")) if wall else ZERO
        sku = (r.SkuPriceId or "").split("/")
        provider = sku[1].split(":")[0] if len(sku) > 2 and ":" in sku[1] else None
        daily = CONTEXT.multiply(hourly, Decimal(24))
        clusters.append({"cluster_name": r.ResourceName, "cluster_id": r.ResourceId, "instance_size": r.ResourceType,
                         "num_shards": shards, "replication_factor": nodes, "provider": provider,
                         "region": r.RegionId, "hourly_cost_usd": hourly, "daily_cost_usd": daily,
                         "cost_today_so_far_usd": r.BilledCost})
        total = CONTEXT.add(total, daily)
    return {"total_clusters": len(clusters), "total_daily_cost_usd": total, "clusters": clusters}


def github_actions(records: Iterable[CostRecord], now: datetime) -> dict[str, Any]:
    used = included = cost = ZERO
    breakdown: dict[str, Decimal] = {}
    month = (now.year, now.month)
    for r in records:
        if r.ServiceName != "GitHub Actions" or (r.PricingUnit or r.ConsumedUnit) != "Minutes" or r.x_CostSource != "billed":
            continue
        minutes = r.ConsumedQuantity or r.PricingQuantity or ZERO
        used = CONTEXT.add(used, minutes)
        runner = next((v for k, v in _RUNNER.items() if k in (r.SkuId or "").lower()), "OTHER")
        breakdown[runner] = CONTEXT.add(breakdown.get(runner, ZERO), minutes)
        if r.ListUnitPrice:
            included = CONTEXT.add(included, CONTEXT.divide(CONTEXT.subtract(r.ListCost, r.BilledCost), r.ListUnitPrice))
        if (r.ChargePeriodStart.year, r.ChargePeriodStart.month) == month:
            cost = CONTEXT.add(cost, r.BilledCost)
    return {"total_minutes_used": used, "included_minutes": included, "billable_minutes": CONTEXT.subtract(used, included),
            "estimated_monthly_cost_usd": cost, "minutes_used_breakdown": breakdown}


STRUCTURES = {"mongodb_atlas": atlas, "github_actions": github_actions}


def structure(service: str, records: list[CostRecord], now: datetime) -> dict[str, Any]:
    fn = STRUCTURES.get(service)
    return fn(records, now) if fn else {}
