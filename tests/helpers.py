"""Small builders shared by tests."""

from __future__ import annotations

from typing import Any


def rec(**kw: Any) -> dict[str, Any]:
    """A valid record as JSON, with overrides."""
    base = {"ProviderName": "AWS", "BillingAccountId": "111111111111", "ServiceName": "Amazon EC2",
            "ChargePeriodStart": "2024-09-01T00:00:00Z", "ChargePeriodEnd": "2024-09-02T00:00:00Z",
            "BilledCost": "1.00", "BillingCurrency": "USD", "ResourceId": "i-1", "RegionId": "us-east-1"}
    base.update(kw)
    return base


def key_headers(key: dict, **extra: str) -> dict[str, str]:
    return {"X-CloudTally-Key-Id": key["id"], "X-CloudTally-Key-Secret": key["secret"], **extra}


def unaccounted_leaves(payload: Any, translation: Any) -> list[str]:
    """Leaves of a telemetry payload that its translation neither took nor listed back with a reason
    (an object taken whole, such as ``tags``, accounts for what is under it; containers do not)."""
    from cloudtally.api import openfinops

    t = translation
    accounted = ({p for p, kind in t.taken.items() if kind != "container"} | {i["path"] for i in t.ignored}
                 | {n["path"] for n in t.not_counted} | {openfinops._pat(r["path"]) for r in t.rejected})
    return [leaf for leaf in openfinops.iter_leaves(payload)
            if not any(leaf == a or leaf.startswith((a + ".", a + "[")) for a in accounted)]
