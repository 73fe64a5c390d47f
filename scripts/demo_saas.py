"""``make up``'s SaaS vendors: local fakes of MongoDB Atlas, Redis Cloud, GitHub and Datadog answering with
the vendors' documented shapes (cloudtally.saas_fakes), so the SaaS collectors run once through the same
Lambda handler as in a deployment and their spend shows in the dashboard.

:func:`start` serves the demo account at ``now`` on a loopback port (a daemon thread: it ends with the
script), puts the collectors' credentials in the environment (as a deployment's secret store would) and
returns each collector's schedule event, pointing it at the fake.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from cloudtally.saas_fakes import FakeVendors, demo_state, vendor_config, vendor_env

COLLECTORS = ("atlas", "redis-cloud", "github", "datadog")


def start(now: datetime, *, size: int = 1) -> dict[str, dict[str, Any]]:
    state = demo_state(now, size=size)
    fake = FakeVendors(state).start()
    os.environ.update(vendor_env(state))
    print(f"[collectors] SaaS vendor fakes on {fake.url} (Atlas, Redis Cloud, GitHub, Datadog)")
    return {name: {"collector": name, "config": cfg} for name, cfg in vendor_config(fake, state).items()}
