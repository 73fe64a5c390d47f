"""`make up`'s Azure part (scripts/demo_azure.py) at a pinned clock: the emulated demo subscription collected by
the ``azure`` collector and a FOCUS export imported from Azurite by ``azure-billing-export``, both through the
Function App's ``run``, into the API — so the Microsoft numbers come from the collectors, not the demo fixture."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from cloudtally import devstack
from cloudtally.demo import demo_records
from cloudtally.providers.azure.emulator import DEMO_SUBSCRIPTION
from tests.helpers import FIRST_OF_MONTH, MID_MONTH, key_headers, load_module, pinned_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
demo_azure = load_module(ROOT / "scripts" / "demo_azure.py", "demo_azure_under_test")


@pytest.mark.parametrize("now", [FIRST_OF_MONTH, MID_MONTH], ids=["1st", "15th"])   # one table: the 1st first
def test_the_azure_demo_fills_microsoft_from_the_collectors(module_live_api, now, capsys):
    api = module_live_api
    key = api["keys"]["ingest"]
    env = {"CLOUDTALLY_API_URL": api["url"], "CLOUDTALLY_API_KEY_ID": key["id"], "CLOUDTALLY_API_KEY_SECRET": key["secret"],
           **pinned_env(now), "PATH": ""}
    assert demo_azure.run(now, env=env, azurite_port=devstack.free_port(), days=6) == 0      # make up reaches 35
    out = capsys.readouterr().out
    assert "[collectors] azure: " in out and "0 failed scopes" in out and "azure-billing-export: " in out

    def summary(**params):
        r = requests.get(api["url"] + "/v1/costs/summary", params=params, headers=key_headers(api["keys"]["read"]),
                         timeout=60)
        assert r.status_code == 200, r.text
        return r.json()
    settled = (now - timedelta(days=4)).date()
    day = summary(**{"from": settled.isoformat(), "to": (settled + timedelta(days=1)).isoformat(),
                     "provider": "Microsoft", "account": DEMO_SUBSCRIPTION, "group_by": "source",
                     "granularity": "total"})
    sources = {r["group"]["source"] for r in day["results"]}
    assert sources == {"billed"} and Decimal(day["totals"]["USD"]["BilledCost"]) > 100   # Cost Management's bill
    today = summary(**{"from": now.date().isoformat(), "to": (now.date() + timedelta(days=1)).isoformat(),
                       "provider": "Microsoft", "group_by": "source", "granularity": "total"})
    assert {r["group"]["source"] for r in today["results"]} == {"provisional"}            # today so far: estimates
    # the export: the previous period on the 1st (the current one has no closed day yet), else the current one's
    # closed days (the collector re-checks the previous period in a month's first days only)
    first = now.date().replace(day=1)
    start = (first - timedelta(days=1)).replace(day=1) if now.day == 1 else first
    days = (first - start).days if now.day == 1 else now.day - 1
    export = summary(**{"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat(),
                        "provider": "Microsoft", "account": demo_azure.EXPORT_ACCOUNT, "granularity": "total"})
    assert Decimal(export["totals"]["USD"]["BilledCost"]) == demo_azure.EXPORT_DAY * days
    # the demo fixture no longer brings Microsoft records when the collectors run
    assert not [r for r in demo_records(now, skip_providers=("Microsoft",)) if r.ProviderName == "Microsoft"]
