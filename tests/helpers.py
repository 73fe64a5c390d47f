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


def load_infra_app():
    """infra/app.py as a module, by path: the name ``app`` is also the Chalice app's module."""
    import importlib.util
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("cloudtally_infra_app", root / "infra" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
