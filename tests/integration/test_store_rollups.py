"""Store rules: idempotent writes, exact rollups after re-sends, concurrency and crashes, supersede."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest

from cloudtally.focus import parse_record
from cloudtally.query import parse_query
from tests.helpers import rec


def _batch(n: int, *, day: int = 1, cost: str = "1.10", offset: int = 0, **kw):
    return [parse_record(rec(ResourceId=f"i-{offset + i}", BilledCost=cost,
                             ChargePeriodStart=f"2024-09-{day:02d}T00:00:00Z",
                             ChargePeriodEnd=f"2024-09-{day + 1:02d}T00:00:00Z", **kw)) for i in range(n)]


def _total(store, **params) -> Decimal:
    q = parse_query({"from": "2024-09-01", "to": "2024-10-01", "granularity": "total", **params})
    totals = store.summary(q)["totals"]
    return totals["USD"]["BilledCost"] if totals else Decimal(0)


def test_resending_a_batch_three_times_leaves_totals_identical(store):
    batch = _batch(60)
    store.write_records(batch)
    first = _total(store)
    for _ in range(3):
        store.write_records(batch)
    assert _total(store) == first == Decimal("66.00")


def test_two_concurrent_writers_of_overlapping_batches_give_exact_totals(store):
    a = _batch(150, offset=0)      # i-0 .. i-149
    b = _batch(150, offset=100)    # i-100 .. i-249: 50 records overlap
    errors = []

    def write(batch):
        try:
            for _ in range(2):
                store.write_records(batch)
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(x,)) for x in (a, b)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert _total(store) == Decimal("1.10") * 250


def test_concurrent_refresh_and_write_never_leave_a_stale_rollup(store):
    store.write_records(_batch(30))
    assert _total(store) == Decimal("33.00")
    stop = threading.Event()

    def refresher():
        while not stop.is_set():
            store.refresh_day("2024-09-01")

    t = threading.Thread(target=refresher)
    t.start()
    for k in range(5):
        store.write_records(_batch(10, offset=100 + 10 * k))
    stop.set()
    t.join()
    assert _total(store) == Decimal("1.10") * 80


def test_crash_between_record_write_and_rollup_maintenance_is_repaired(store):
    store.write_records(_batch(10))
    assert _total(store) == Decimal("11.00")

    def crash(days):
        raise SystemExit("simulated crash after the records landed")

    store.after_records_written = crash
    with pytest.raises(SystemExit):
        store.write_records(_batch(5, offset=10))
    store.after_records_written = None
    # the records landed, the post-write marker did not: the pre-write marker still forces a recompute
    assert store.dirty_days(date(2024, 9, 1), date(2024, 10, 1)) == ["2024-09-01"]
    assert _total(store) == Decimal("16.50")
    assert store.dirty_days(date(2024, 9, 1), date(2024, 10, 1)) == []


def test_billed_supersedes_estimated_for_same_provider_account_day(store):
    est = _batch(4, cost="2.00", x_CostSource="estimated")
    store.write_records(est)
    assert _total(store) == Decimal("8.00")
    billed = parse_record(rec(ResourceId=None, ServiceName="Amazon EC2", BilledCost="7.25", x_CostSource="billed"))
    other_account = parse_record(rec(BillingAccountId="222", BilledCost="1.00"))
    other_day = _batch(1, day=2, cost="3.00")
    store.write_records([billed, other_account] + other_day)
    q = parse_query({"from": "2024-09-01", "to": "2024-10-01", "granularity": "total"})
    s = store.summary(q)
    # day 1, account 111: billed 7.25 replaces the 8.00 estimate; account 222 and day 2 stay estimated
    assert s["totals"]["USD"]["BilledCost"] == Decimal("11.25")
    assert s["superseded_estimates"]["USD"]["EffectiveCost"] == Decimal("8.00")
    by_source = store.summary(parse_query({"from": "2024-09-01", "to": "2024-10-01", "granularity": "total",
                                           "group_by": "source"}))
    got = {r["group"]["source"]: r["BilledCost"] for r in by_source["results"]}
    assert got == {"billed": Decimal("7.25"), "estimated": Decimal("4.00")}
    # the estimates are kept, not deleted
    assert len(store.list_records(q, limit=100)["records"]) == 7


@pytest.mark.parametrize("amount", ["0.0000000001", "123456789012.123456789", "-3.5", "1E+3"])
def test_decimal_amounts_round_trip_exactly(store, amount):
    r = parse_record(rec(BilledCost=amount, EffectiveCost=amount))
    store.write_records([r])
    got = store.get_record(r.day, r.id)
    assert got == r
    assert got.BilledCost == Decimal(amount)
    assert _total(store) == Decimal(amount)


def test_sums_beyond_28_digits_stay_exact(store):
    # 12 integer digits + 20 fractional digits: the default decimal context would round this sum
    a, b = "123456789012.12345678901234567891", "0.00000000000000000009"
    store.write_records([parse_record(rec(ResourceId="a", BilledCost=a)), parse_record(rec(ResourceId="b", BilledCost=b))])
    assert _total(store) == Decimal("123456789012.12345678901234567900")


def test_summary_groups_filters_and_month_granularity(store):
    recs = [parse_record(rec(ResourceId=f"r{i}", ServiceName=svc, RegionId=reg, BilledCost="1.5",
                             Tags={"team": team}, ChargePeriodStart=f"2024-{m:02d}-10T00:00:00Z",
                             ChargePeriodEnd=f"2024-{m:02d}-11T00:00:00Z"))
            for i, (svc, reg, team, m) in enumerate([("EC2", "us-east-1", "a", 8), ("S3", "eu-west-1", "b", 9),
                                                     ("EC2", "eu-west-1", "a", 9), ("EC2", "us-east-1", "b", 9)])]
    store.write_records(recs)
    q = parse_query({"from": "2024-08-01", "to": "2024-10-01", "granularity": "month", "group_by": "service,tag:team",
                     "region": "us-east-1,eu-west-1"})
    rows = {(r["period"], r["group"]["service"], r["group"]["tag:team"]): r["BilledCost"] for r in store.summary(q)["results"]}
    assert rows == {("2024-08", "EC2", "a"): Decimal("1.5"), ("2024-09", "S3", "b"): Decimal("1.5"),
                    ("2024-09", "EC2", "a"): Decimal("1.5"), ("2024-09", "EC2", "b"): Decimal("1.5")}
    q2 = parse_query({"from": "2024-08-01", "to": "2024-10-01", "granularity": "total", "service": "EC2",
                      "tag": "team=b"})
    assert store.summary(q2)["totals"]["USD"]["BilledCost"] == Decimal("1.5")


def test_group_by_a_tag_outside_the_rollup_keys_is_answered_from_records(store):
    store.write_records([parse_record(rec(ResourceId="x", Tags={"owner": "ann"}, BilledCost="2")),
                         parse_record(rec(ResourceId="y", Tags={"owner": "bob"}, BilledCost="3"))])
    s = store.summary(parse_query({"from": "2024-09-01", "to": "2024-09-02", "group_by": "tag:owner"}))
    assert s["source"] == "records"
    assert {r["group"]["tag:owner"]: r["BilledCost"] for r in s["results"]} == {"ann": Decimal(2), "bob": Decimal(3)}


def test_currencies_are_never_mixed(store):
    store.write_records([parse_record(rec(ResourceId="u", BilledCost="1")),
                         parse_record(rec(ResourceId="e", BilledCost="2", BillingCurrency="EUR"))])
    t = store.summary(parse_query({"from": "2024-09-01", "to": "2024-09-02"}))["totals"]
    assert t["USD"]["BilledCost"] == Decimal(1) and t["EUR"]["BilledCost"] == Decimal(2)


def test_top_resources_and_pagination(store):
    recs = [parse_record(rec(ResourceId=f"i-{i}", BilledCost=str(i))) for i in range(1, 26)]
    store.write_records(recs)
    q = parse_query({"from": "2024-09-01", "to": "2024-09-02"})
    top = store.top_resources(q, limit=3)["resources"]
    assert [t["ResourceId"] for t in top] == ["i-25", "i-24", "i-23"]
    seen, cursor = [], None
    while True:
        page = store.list_records(q, limit=7, cursor=cursor)
        seen += [r["id"] for r in page["records"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(r.id for r in recs)


def test_two_stores_on_different_tables_in_one_process_stay_apart(store, ddb_endpoint):
    from cloudtally.config import Settings
    from cloudtally.store import Store
    other = Store(Settings(table=f"{store.table}-b", dynamodb_endpoint=ddb_endpoint))
    other.create_table()
    try:
        store.put_key("ctk_a", "a", {"read"}, "h")
        other.put_key("ctk_b", "b", {"read"}, "h")
        store.set_collector_status("aws", "r1", status="ok", records=1)
        assert [k.sk for k in store.list_keys()] == ["ctk_a"]
        assert [k.sk for k in other.list_keys()] == ["ctk_b"]
        assert other.collectors() == [] and store.collectors()[0]["name"] == "aws"
    finally:
        other.delete_table()


def test_top_resources_from_prefix_sums_equal_the_records_for_any_range(store):
    """Month-to-date prefix sums answer any range exactly: across a month end, inside a month, after a day
    of the range changed (a late re-pull), after billed cost superseded a day, and on a filter."""
    import random
    from datetime import timedelta

    rnd = random.Random(3)
    days = [date(2024, 8, 20) + timedelta(days=i) for i in range(25)]       # Aug 20 .. Sep 13
    recs = []
    for d in days:
        for k in range(12):
            if (k + d.day) % 5 == 0:
                continue                                   # resources come and go
            recs.append(parse_record(rec(
                ResourceId=f"i-{k}", BilledCost=str(Decimal(rnd.randint(1, 9999)) / 100), RegionId=("us-east-1", "eu-west-1")[k % 2],
                ChargePeriodStart=f"{d.isoformat()}T00:00:00Z", ChargePeriodEnd=f"{(d + timedelta(days=1)).isoformat()}T00:00:00Z")))
    store.write_records(recs)

    def brute(frm: date, to: date, region=None) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        billed_days = {r.day for r in recs if r.x_CostSource == "billed"}
        for r in recs:
            if frm.isoformat() <= r.day < to.isoformat() and r.x_CostSource == "estimated" \
                    and r.day not in billed_days and region in (None, r.RegionId):
                out[r.ResourceId] = out.get(r.ResourceId, Decimal(0)) + r.EffectiveCost
        return out

    def top(frm: date, to: date, **f) -> dict[str, Decimal]:
        q = parse_query({"from": frm.isoformat(), "to": to.isoformat(), **f})
        return {t["ResourceId"]: t["EffectiveCost"] for t in store.top_resources(q, limit=1000)["resources"]}

    ranges = [(date(2024, 8, 20), date(2024, 9, 14)), (date(2024, 8, 25), date(2024, 9, 3)),
              (date(2024, 9, 2), date(2024, 9, 9)), (date(2024, 8, 31), date(2024, 9, 1)),
              (date(2024, 9, 1), date(2024, 9, 14))]
    for frm, to in ranges:
        assert top(frm, to) == brute(frm, to), (frm, to)
    assert top(date(2024, 8, 25), date(2024, 9, 10), region="eu-west-1") == brute(date(2024, 8, 25), date(2024, 9, 10),
                                                                                    "eu-west-1")
    # a late re-pull changes a day inside the month: every prefix through it is recomputed
    changed = [r for r in recs if r.day == "2024-09-04"]
    for r in changed:
        r.BilledCost = r.EffectiveCost = r.ListCost = r.ContractedCost = r.BilledCost + Decimal("0.01")
    store.write_records(changed)
    # billed cost arrives for a day: its estimates leave the ranking
    billed = parse_record(rec(ResourceId=None, BilledCost="500", x_CostSource="billed",
                              ChargePeriodStart="2024-09-06T00:00:00Z", ChargePeriodEnd="2024-09-07T00:00:00Z"))
    recs.append(billed)
    store.write_records([billed])
    for frm, to in ranges:
        assert top(frm, to) == brute(frm, to), (frm, to)
    # the dashboard's range moves a day at a time: each sum comes from yesterday's plus or minus one day
    for k in range(6):
        frm, to = date(2024, 8, 21) + timedelta(days=k), date(2024, 9, 5) + timedelta(days=k)
        assert top(frm, to) == brute(frm, to), (frm, to)
    # a repeated call reads the stored sums: a few items, not every day of the range
    before = store.capacity["read"]
    top(date(2024, 8, 20), date(2024, 9, 14))
    assert store.capacity["read"] - before < 20
