"""Incremental delivery over a simulated day of hourly runs, against the real store (DynamoDB Local),
directly and through the API over HTTP (records posted, status and day ledgers kept with an ingest key:
what every scheduled function does).

Today's per-resource estimates go to the day ledger and only provisional aggregates are written; at day
close the per-resource detail (including a resource that stopped during the day) replaces them; a
re-pulled closed day writes nothing unless a record changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from cloudtally.collectors import registry, runner
from cloudtally.collectors.api_state import ApiStatus
from cloudtally.collectors.delivery import DayLedger
from cloudtally.errors import Conflict
from cloudtally.focus import UTC, parse_record
from cloudtally.query import parse_query

pytestmark = pytest.mark.integration

# a pinned clock: a ledger's expiry (day + 40 days) is judged against the run's own clock
D = datetime(2026, 3, 10, tzinfo=UTC)
PRICE = Decimal("0.10")       # per instance-hour
SCOPE = "111122223333/us-east-1/ec2"


def _record(rid: str, day, hours: Decimal, team: str, price: Decimal = PRICE):
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    cost = str(hours * price)
    return parse_record({
        "ProviderName": "AWS", "BillingAccountId": "111122223333", "SubAccountId": "111122223333",
        "ServiceName": "Amazon Elastic Compute Cloud", "ServiceCategory": "Compute", "ChargeCategory": "Usage",
        "ChargePeriodStart": start.isoformat(), "ChargePeriodEnd": (start + timedelta(days=1)).isoformat(),
        "BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "BillingCurrency": "USD",
        "ResourceId": rid, "RegionId": "us-east-1", "PricingUnit": "Hours", "PricingQuantity": str(hours),
        "Tags": {"team": team, "Name": rid}, "x_CostSource": "estimated", "x_Collector": "aws"})


def fleet(resources: dict[str, tuple[datetime, datetime | None, str]], price: Decimal = PRICE):
    """A collector whose inventory is ``resources``: id -> (running since, gone at, team)."""
    def collect(ctx):
        with ctx.scope(SCOPE):
            window = ctx.window_for(SCOPE)
            for rid, (since, gone, team) in resources.items():
                if gone is not None and gone <= ctx.now:
                    continue                     # no longer in the inventory
                for day, a, b in window.day_slices():
                    a = max(a, since)
                    if b > a:
                        yield _record(rid, day, Decimal(int((b - a).total_seconds())) / 3600, team, price)
    return collect


def _d(dt) -> str:
    return dt.date().isoformat()


@pytest.fixture(params=["store", "api"])
def backend(request, settings, store):
    """Where a run posts and keeps its state: the store itself, or the API over HTTP with an ingest key."""
    if request.param == "store":
        from cloudtally.store import Store
        return {"sink": lambda: runner.StoreSink(store), "status": lambda: Store(settings)}
    api = request.getfixturevalue("http_api")
    return {"sink": lambda: runner.ClientSink(api["client"]), "status": lambda: ApiStatus(api["client"])}


def _run(backend, now, resources, price=PRICE):
    # each run is a new process: a new sink and state client (nothing carried over in memory)
    return runner.run(registry.get("aws"), sink=backend["sink"](), clients=object(), catalog=object(),
                      status=backend["status"](), now=now, collect=fleet(resources, price))


def _day(store, day, **extra):
    nxt = (day + timedelta(days=1)).date().isoformat()
    return store.summary(parse_query({"from": day.date().isoformat(), "to": nxt, "granularity": "total", **extra}))


def test_a_day_of_hourly_runs_writes_aggregates_then_detail_once(store, backend):
    fleet_ = {"i-a": (D - timedelta(days=2), D + timedelta(hours=10, minutes=30), "web"),
              "i-b": (D - timedelta(days=2), None, "web"),
              "i-c": (D + timedelta(hours=12), None, "data")}

    s1 = _run(backend, D + timedelta(hours=10), fleet_)
    # yesterday and the day before are closed: per-resource detail (a and b); today: one aggregate per team
    assert s1["delivery"]["provisional"] == 1 and s1["records_sent"] == 4 + 1
    today = _day(store, D, group_by="source")
    assert {r["group"]["source"] for r in today["results"]} == {"provisional"}
    assert Decimal(today["totals"]["USD"]["BilledCost"]) == 20 * PRICE          # a 10 h + b 10 h
    assert Decimal(_day(store, D - timedelta(days=1))["totals"]["USD"]["BilledCost"]) == 48 * PRICE

    s2 = _run(backend, D + timedelta(hours=14), fleet_)
    # a left the inventory at 10:30: the ledger keeps its last 10 h; b 14 h; c (team data) 2 h
    assert s2["records_sent"] == 2 and s2["delivery"]["skipped_unchanged"] == 2     # b of D-2 and D-1
    assert Decimal(_day(store, D)["totals"]["USD"]["BilledCost"]) == 26 * PRICE
    by_team = {r["group"]["tag:team"]: Decimal(r["BilledCost"])
               for r in _day(store, D, group_by="tag:team")["results"]}
    assert by_team == {"web": 24 * PRICE, "data": 2 * PRICE}
    assert store.top_resources(parse_query({"from": _d(D), "to": _d(D + timedelta(days=1))}))["resources"] == []

    s3 = _run(backend, D + timedelta(days=1, hours=1), fleet_)
    # day close: a (10 h, from the ledger), b (24 h) and c (12 h) as per-resource estimates
    closed = _day(store, D, group_by="source")
    assert Decimal(closed["totals"]["USD"]["BilledCost"]) == 46 * PRICE
    assert {r["group"]["source"] for r in closed["results"]} == {"estimated"}
    assert Decimal(closed["superseded_estimates"]["USD"]["EffectiveCost"]) == 26 * PRICE
    recs = store.list_records(parse_query({"from": _d(D), "to": _d(D + timedelta(days=1)), "source": "estimated"}),
                              limit=100)["records"]
    assert sorted((r["ResourceId"], r["PricingQuantity"]) for r in recs) == [("i-a", "10"), ("i-b", "24"),
                                                                            ("i-c", "12")]
    top = store.top_resources(parse_query({"from": _d(D), "to": _d(D + timedelta(days=1))}))["resources"]
    assert {t["ResourceId"] for t in top} == {"i-a", "i-b", "i-c"}
    assert s3["records_sent"] == 3 + 2            # D's detail + D+1's aggregates (web, data)

    s4 = _run(backend, D + timedelta(days=1, hours=2), fleet_)
    assert s4["records_sent"] == 2 and s4["delivery"]["skipped_unchanged"] >= 4   # only D+1's aggregates
    assert Decimal(_day(store, D)["totals"]["USD"]["BilledCost"]) == 46 * PRICE

    # a changed price (catalog update) re-sends exactly the changed closed-day records
    s5 = _run(backend, D + timedelta(days=1, hours=3), fleet_, price=Decimal("0.20"))
    assert s5["records_sent"] == 4 + 2     # b of D-2, D-1, D and c of D; D+1's two aggregates
    assert Decimal(_day(store, D)["totals"]["USD"]["BilledCost"]) == 10 * PRICE + 36 * Decimal("0.20")


def test_ledger_state_is_chunked_and_round_trips(store):
    big = DayLedger(open={f"id{i}": {"ResourceId": f"i-{i:017x}", "x": "y" * 200, "n": i} for i in range(4000)})
    blob = big.encode()
    store.STATE_CHUNK = 10_000            # force several chunks
    store.put_state("aws", SCOPE, "day:2026-03-10", blob, D + timedelta(days=40))
    assert len(blob) > 3 * 10_000
    assert DayLedger.decode(store.get_state("aws", SCOPE, "day:2026-03-10", now=D)).open == big.open
    assert store.get_state("aws", SCOPE, "day:2026-03-11", now=D) is None
    # past its expiry at the reader's clock it is absent, whatever the table still holds
    assert store.get_state("aws", SCOPE, "day:2026-03-10", now=D + timedelta(days=41)) is None


def test_a_large_ledger_goes_through_the_api_in_parts(http_api, monkeypatch):
    from cloudtally.collectors import api_state
    monkeypatch.setattr(api_state, "SINGLE_MAX", 100_000)     # the threshold, not the mechanism, is scaled down
    big = DayLedger(open={f"id{i}": {"ResourceId": f"i-{i:017x}", "x": f"{i:08x}" * 30, "n": i} for i in range(30000)})
    blob = big.encode()
    assert len(blob) > api_state.PART_SIZE        # several PUTs: parts first, then the conditional head
    st = ApiStatus(http_api["client"])
    assert st.get_states("aws", SCOPE, ["day:2026-03-10"], D) == {"day:2026-03-10": None}
    st.put_state("aws", SCOPE, "day:2026-03-10", blob, D + timedelta(days=40))
    assert st.requests > 2
    again = ApiStatus(http_api["client"]).get_states("aws", SCOPE, ["day:2026-03-10"], D)["day:2026-03-10"]
    assert DayLedger.decode(again).open == big.open


def test_file_status_keeps_ledgers_and_marks(tmp_path):
    st = runner.FileStatus(str(tmp_path / "status.json"))
    st.put_state("aws", SCOPE, "day:old", b"expired", D - timedelta(days=1))
    st.put_state("aws", SCOPE, "day:2026-03-10", b"abc", D + timedelta(days=40), now=D)
    assert st.get_states("aws", SCOPE, ["day:old"], D) == {"day:old": None}   # expired: removed like a TTL would
    st.save_status("aws", [runner.ScopeUpdate(SCOPE, "ok", marks={"metrics": "2026-03-10T00:00:00Z"})], D)
    st.save_status("aws", [runner.ScopeUpdate(SCOPE, "ok", marks={"usage": "2026-03-10T01:00:00Z"})], D)
    again = runner.FileStatus(str(tmp_path / "status.json"))
    assert again.get_states("aws", SCOPE, ["day:2026-03-10"], D) == {"day:2026-03-10": b"abc"}
    assert again.get_collector_status("aws", SCOPE).marks == {"metrics": "2026-03-10T00:00:00Z",
                                                             "usage": "2026-03-10T01:00:00Z"}


@pytest.fixture(params=["store", "api"])
def two_runs(request, settings, store):
    """Two overlapping runs of one collector, each with its own state client (its own process)."""
    if request.param == "store":
        from cloudtally.store import Store
        return store, Store(settings)
    api = request.getfixturevalue("http_api")
    return ApiStatus(api["client"]), ApiStatus(api["client"])


def test_overlapping_runs_cannot_overwrite_each_others_ledger(two_runs):
    first, other = two_runs
    key = f"day:{_d(D)}"
    assert first.get_states("aws", SCOPE, [key], D) == {key: None} == other.get_states("aws", SCOPE, [key], D)
    first.put_state("aws", SCOPE, key, b"first", D + timedelta(days=40))
    with pytest.raises(Conflict, match="another run") as e:
        other.put_state("aws", SCOPE, key, b"second", D + timedelta(days=40))
    assert e.value.code == "state_conflict"
    assert other.get_states("aws", SCOPE, [key], D)[key] == b"first"       # re-read: now it may write
    other.put_state("aws", SCOPE, key, b"second", D + timedelta(days=40))
    with pytest.raises(Conflict):
        first.put_state("aws", SCOPE, key, b"stale", D + timedelta(days=40))
    assert first.get_states("aws", SCOPE, [key], D)[key] == b"second"


def test_a_run_that_loses_the_race_reports_it_and_the_next_run_redoes_the_day(store, backend):
    fleet_ = {"i-a": (D - timedelta(days=2), None, "web")}
    _run(backend, D + timedelta(hours=3), fleet_)
    # GIVEN a run that read the ledgers, then another run wrote them meanwhile
    slow_status = backend["status"]()
    slow = runner.run(registry.get("aws"), sink=backend["sink"](), clients=object(), catalog=object(),
                      status=_Interleave(slow_status, lambda: _run(backend, D + timedelta(hours=4), fleet_)),
                      now=D + timedelta(hours=4), collect=fleet(fleet_))
    # THEN the slower run's ledger write is refused, reported, and its cursor not advanced
    assert slow["status"] == "failed" and slow["errors"][0]["code"] == "state_conflict"
    st = store.get_collector_status("aws", SCOPE)
    assert st.cursor == _d(D)
    # AND the next run delivers normally, totals exact
    _run(backend, D + timedelta(hours=5), fleet_)
    assert Decimal(_day(store, D)["totals"]["USD"]["BilledCost"]) == 5 * PRICE


class _Interleave:
    """A state client that lets another run write between this run's ledger read and its write."""

    keeps_ledgers = True

    def __init__(self, inner, other):
        self.inner, self.other, self.done = inner, other, False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def get_states(self, *a, **kw):
        out = self.inner.get_states(*a, **kw)
        if not self.done:
            self.done = True
            self.other()
        return out
