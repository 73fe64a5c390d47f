"""Small builders shared by tests."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from cloudtally.clock import ENV_NOW, Clock

UTC = timezone.utc
# The clocks tests run at (never the wall clock). FIRST_OF_MONTH is the day the demo estate once had no
# closed day in its month: views, budgets and forecasts must still show real, non-zero figures on it.
FIRST_OF_MONTH = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
MID_MONTH = datetime(2026, 12, 15, 9, 30, tzinfo=UTC)


def rec(**kw: Any) -> dict[str, Any]:
    """A valid record as JSON, with overrides."""
    base = {"ProviderName": "AWS", "BillingAccountId": "111111111111", "ServiceName": "Amazon EC2",
            "ChargePeriodStart": "2024-09-01T00:00:00Z", "ChargePeriodEnd": "2024-09-02T00:00:00Z",
            "BilledCost": "1.00", "BillingCurrency": "USD", "ResourceId": "i-1", "RegionId": "us-east-1"}
    base.update(kw)
    return base


def key_headers(key: dict, **extra: str) -> dict[str, str]:
    return {"X-CloudTally-Key-Id": key["id"], "X-CloudTally-Key-Secret": key["secret"], **extra}


def pinned(now: datetime) -> Clock:
    return Clock.pinned(now)


def pinned_env(now: datetime) -> dict[str, str]:
    """The environment that pins a process's clock (the API under ``chalice local``, the CLI)."""
    return {ENV_NOW: now.isoformat().replace("+00:00", "Z")}


def load_module(path: Path, name: str) -> ModuleType:
    """Import a script or function file (scripts/, functions/) under its own module name."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def unaccounted_leaves(payload: Any, translation: Any) -> list[str]:
    """Leaves of a telemetry payload that its translation neither took nor listed back with a reason
    (an object taken whole, such as ``tags``, accounts for what is under it; containers do not)."""
    from cloudtally.api import openfinops

    t = translation
    accounted = ({p for p, kind in t.taken.items() if kind != "container"} | {i["path"] for i in t.ignored}
                 | {n["path"] for n in t.not_counted} | {openfinops._pat(r["path"]) for r in t.rejected})
    return [leaf for leaf in openfinops.iter_leaves(payload)
            if not any(leaf == a or leaf.startswith((a + ".", a + "[")) for a in accounted)]


def load_infra_app():
    """infra/app.py as a module, by path: the name ``app`` is also the Chalice app's module."""
    import importlib.util
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("cloudtally_infra_app", root / "infra" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
