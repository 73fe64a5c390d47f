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
