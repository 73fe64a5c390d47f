"""The ``collect-azure`` timer function of functions/azure/function_app.py, fired the way the Functions host fires
it (a TimerRequest decoded from the host's trigger data), against the emulated tenant and the API over HTTP: no
table access; one subscription denied (AuthorizationFailed shows in GET /v1/collectors, the other lands); billed
cost supersedes the estimates of its days; a re-run leaves every total as it was."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from azure.functions.meta import Datum
from azure.functions.timer import TimerRequestConverter

from cloudtally.providers.azure import deploy
from cloudtally.providers.azure import emulator as E
from cloudtally.providers.azure.session import StaticCredential
from cloudtally.query import parse_query
from tests.helpers import MID_MONTH, key_headers, pinned_env

pytestmark = pytest.mark.integration
FIX = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "azure"
A, B = E.DEMO_SUBSCRIPTION, "8c1e6f3a-94d2-4b57-a0c8-7e2f5d9b1a46"
NOW = MID_MONTH          # the recording's clock, and the http_api fixture's


def _timer(past_due=False):
    return TimerRequestConverter.decode(Datum(json.dumps({"Schedule": {"AdjustForDST": True}, "IsPastDue": past_due,
                                                          "ScheduleStatus": {}}), "json"), trigger_metadata={})


@pytest.fixture(scope="module")
def fired(module_live_api):
    """Fire the timer function twice (the second past due, at the same clock) with the API (its clock pinned at the
    recording's) and the emulator wired as app settings; DynamoDB refused to this process meanwhile."""
    import pynamodb.connection.base as base

    api = module_live_api
    key = api["keys"]["ingest"]
    module = deploy.load_function_app()
    summaries = []
    real_run = module.run
    with pytest.MonkeyPatch.context() as mp, \
            E.Emulator(E.Estate.load(FIX / "estate.json"), page_size=50, forbidden={B}) as em:
        mp.setattr(module, "run", lambda *a, **kw: summaries.append(real_run(*a, **kw)) or summaries[-1])
        mp.setattr("cloudtally.providers.azure.session.DefaultCredential", lambda: StaticCredential("mi-token"))
        env = {"CLOUDTALLY_API_URL": api["url"], **pinned_env(NOW),
               # what the Key Vault reference of the app setting resolves to
               "CLOUDTALLY_SECRET_INGEST_API_KEY": json.dumps({"key_id": key["id"], "key_secret": key["secret"]}),
               "CLOUDTALLY_COLLECTOR_CONFIG_AZURE": json.dumps({"arm_endpoint": em.url,
                                                                 "metrics_endpoint": em.metrics_url})}
        for k, v in env.items():
            mp.setenv(k, v)
        for k in ("CLOUDTALLY_API_KEY_ID", "CLOUDTALLY_API_KEY_SECRET", "CLOUDTALLY_TABLE", "CLOUDTALLY_DYNAMODB_ENDPOINT"):
            mp.delenv(k, raising=False)

        def refuse(self, operation_name, *a, **kw):
            raise AssertionError(f"the function called DynamoDB {operation_name}: it must use the API")
        fn = next(f for f in module.app.get_functions() if f.get_function_name() == "collect-azure").get_user_function()
        mp.setattr(base.Connection, "_make_api_call", refuse)
        assert fn(_timer()) is None
        mp.undo()
        first = _totals(api["store"])
        mp.setattr(module, "run", lambda *a, **kw: summaries.append(real_run(*a, **kw)) or summaries[-1])
        mp.setattr("cloudtally.providers.azure.session.DefaultCredential", lambda: StaticCredential("mi-token"))
        for k, v in env.items():
            mp.setenv(k, v)
        mp.setattr(base.Connection, "_make_api_call", refuse)
        fn(_timer(past_due=True))
        mp.undo()
        yield {"api": api, "first": first, "second": _totals(api["store"]), "requests": dict(em.requests),
               "summaries": summaries}


def _totals(store):
    q = {"from": (NOW - timedelta(days=8)).date().isoformat(), "to": (NOW + timedelta(days=1)).date().isoformat(),
         "provider": "Microsoft", "group_by": "source,subaccount", "granularity": "day"}
    return store.summary(parse_query(q))


def test_one_denied_subscription_shows_in_collectors_and_the_other_lands(fired):
    api = fired["api"]
    r = requests.get(api["url"] + "/v1/collectors", headers=key_headers(api["keys"]["read"]), timeout=30)
    assert r.status_code == 200
    col = next(c for c in r.json()["collectors"] if c["name"] == "azure")
    scopes = {s["scope"]: s for s in col["scopes"]}
    assert col["status"] == "failing"
    for name in (f"{B}/compute", f"{B}/storage", f"costmanagement/{B}"):
        err = scopes[name]["errors"][0]
        assert scopes[name]["status"] == "error" and err["code"] == "AuthorizationFailed" and err["kind"] == "auth"
    assert "Cost Management Reader" in scopes[f"costmanagement/{B}"]["errors"][0]["setting"]
    first_run = fired["summaries"][0]["scopes"]
    for name in (f"{A}/compute", f"{A}/functions", f"{A}/sql", f"{A}/storage", f"costmanagement/{A}"):
        assert scopes[name]["status"] == "ok" and scopes[name]["last_success"] and first_run[name]["records"] > 0
    subs = {row["group"]["subaccount"] for row in fired["first"]["results"]}
    assert subs == {A}


def test_billed_cost_supersedes_the_estimates_of_its_days(fired):
    rows = fired["first"]["results"]
    by_day = {}
    for row in rows:
        src = by_day.setdefault(row["period"], {})
        src[row["group"]["source"]] = src.get(row["group"]["source"], Decimal(0)) + Decimal(row["BilledCost"])
    settled = (NOW - timedelta(days=4)).date().isoformat()      # billed (Cost Management) and estimated both exist
    today = NOW.date().isoformat()                              # estimates only: today's provisional cost so far
    assert set(by_day[settled]) == {"billed"}, by_day[settled]
    assert "billed" not in by_day[today] and by_day[today]
    est = json.loads((FIX / "estate.json").read_text(), parse_float=Decimal)["costs"][A]
    bill = sum((Decimal(str(r["actual"])) for r in est if r["date"] == settled), Decimal(0))
    assert by_day[settled]["billed"] == bill
    superseded = fired["first"]["superseded_estimates"]["USD"]["EffectiveCost"]      # settled days' estimates
    assert Decimal(superseded) > 0           # the estimates are kept (estimate accuracy), not added to the bill


def test_a_rerun_leaves_every_total_identical(fired):
    first, second = fired["summaries"]
    assert first["status"] == second["status"] == "partial" and first["records_sent"] > 0
    assert first["past_due"] is False and second["past_due"] is True
    assert fired["second"]["totals"] == fired["first"]["totals"]
    assert fired["second"]["results"] == fired["first"]["results"]
    # the billed pull is interval gated: only the denied subscription (no mark: it failed) is asked again
    assert second["api_calls"]["costmanagement"] == {"Query": 1}
