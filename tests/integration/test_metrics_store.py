"""Metric points packed per series, UTC day and bucket: WRU, merging, buckets, retention, reading both layouts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from cloudtally.errors import StoreError
from cloudtally.focus import MetricPoint, iso
from cloudtally.money import fmt
from tests.conftest import TEST_NOW

# two days before the store's pinned clock (tests/conftest.py TEST_NOW): inside the 30-day retention, a
# whole UTC day in the past
DAY = (TEST_NOW - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
NEXT = DAY.date() + timedelta(days=1)
CPU = "cpu_utilization"


def _pt(ts: datetime, value: str, host: str = "i-1", name: str = CPU, **dims: str) -> MetricPoint:
    return MetricPoint(name, Decimal(value), ts, "Percent", {"resource": host, **dims}, "test")


def _hourly(host: str = "i-1", hours=range(24), base: str = "12.345", name: str = CPU) -> list[MetricPoint]:
    return [_pt(DAY + timedelta(hours=h), str(Decimal(base) + h), host, name) for h in hours]


def _items(store, name: str = CPU, day=None) -> list[dict]:
    day = day or DAY.date()
    resp = store.conn.dispatch("Query", {"TableName": store.table, "KeyConditionExpression": "pk = :pk",
                                         "ExpressionAttributeValues": {":pk": {"S": f"M#{name}#{day.isoformat()}"}}})
    return resp["Items"]


def _write_old_layout(store, points: list[MetricPoint]) -> None:
    """The previous one-item-per-point layout, as ``write_metrics`` wrote it before packing."""
    ttl_s = store.cfg.metric_ttl_days * 86400
    items = []
    for p in points:
        it = {"pk": {"S": f"M#{p.name}#{p.timestamp.strftime('%Y-%m-%d')}"},
              "sk": {"S": f"{p.series}|{iso(p.timestamp)}"}, "v": {"N": fmt(p.value)},
              "ttl": {"N": str(int(p.timestamp.timestamp()) + ttl_s)}, "u": {"S": p.unit},
              "dm": {"S": json.dumps(p.dimensions, separators=(",", ":"), sort_keys=True)}, "src": {"S": p.source}}
        items.append(it)
    for i in range(0, len(items), 25):
        failed, _ = store._batch_write(items[i:i + 25])
        assert not failed


def test_an_hourly_series_day_is_one_item_and_about_one_wru(store):
    before = store.capacity["write"]
    assert store.write_metrics(_hourly()) == 24
    wru = store.capacity["write"] - before
    assert 0 < wru <= 2  # 24 WRU in the one-item-per-point layout
    items = _items(store)
    assert [i["sk"]["S"] for i in items] == [f"{CPU}|resource=i-1|d"]
    it = items[0]
    assert sorted(a for a in it if a.startswith("t") and a[1:].isdigit()) == [f"t{h:02d}0000" for h in range(24)]
    assert it["t000000"] == {"N": "12.345"} and it["u"] == {"S": "Percent"} and it["src"] == {"S": "test"}
    assert json.loads(it["dm"]["S"]) == {"resource": "i-1"}
    # TTL: end of the point's UTC day + retention
    assert int(it["ttl"]["N"]) == int(DAY.timestamp()) + 86400 + store.cfg.metric_ttl_days * 86400
    pts = store.query_metrics(CPU, DAY.date(), NEXT)
    assert [p["timestamp"] for p in pts] == [iso(DAY + timedelta(hours=h)) for h in range(24)]
    assert pts[0] == {"name": CPU, "timestamp": iso(DAY), "value": Decimal("12.345"), "unit": "Percent",
                      "dimensions": {"resource": "i-1"}}


def test_two_batches_of_one_series_day_merge_and_a_resent_point_overwrites(store):
    pts = _hourly()
    store.write_metrics(pts[:12])
    store.write_metrics(pts[12:])
    assert len(_items(store)) == 1
    assert [p["value"] for p in store.query_metrics(CPU, DAY.date(), NEXT)] == [p.value for p in pts]
    # GIVEN 24 stored points WHEN hour 5 is re-sent with a corrected value THEN it replaces the old one
    assert store.write_metrics([_pt(DAY + timedelta(hours=5), "99.5")]) == 1
    got = store.query_metrics(CPU, DAY.date(), NEXT)
    assert len(got) == 24 and got[5]["value"] == Decimal("99.5") and got[4]["value"] == Decimal("16.345")
    # the same timestamp twice in one batch: the last one wins, counted once
    assert store.write_metrics([_pt(DAY, "1"), _pt(DAY, "2")]) == 1
    assert store.query_metrics(CPU, DAY.date(), NEXT)[0]["value"] == Decimal("2")


def test_sub_hourly_points_go_to_hour_buckets_and_read_back_in_time_order(store):
    times = [DAY + timedelta(hours=10, minutes=m) for m in range(0, 60, 5)] + [
        DAY + timedelta(hours=11, minutes=30), DAY + timedelta(hours=23, minutes=59, seconds=59),
        DAY + timedelta(hours=10, minutes=5, microseconds=250000)]
    assert store.write_metrics([_pt(t, str(i)) for i, t in enumerate(times)]) == len(times)
    assert [i["sk"]["S"] for i in _items(store)] == [f"{CPU}|resource=i-1|{b}" for b in ("d", "h10", "h11", "h23")]
    got = store.query_metrics(CPU, DAY.date(), NEXT)
    assert [p["timestamp"] for p in got] == [iso(t) for t in sorted(times)]
    assert got[2]["timestamp"].endswith("T10:05:00.250000Z")


def test_a_per_minute_day_is_chunked_into_updates_and_read_back_whole(store):
    pts = [_pt(DAY + timedelta(minutes=m), str(m)) for m in range(1440)]
    before = store.capacity["write"]
    assert store.write_metrics(pts) == 1440
    assert store.capacity["write"] - before <= 2 * 25  # 24 hour items of 59 points + the on-the-hour item
    assert len(_items(store)) == 25
    got = store.query_metrics(CPU, DAY.date(), NEXT, limit=10_000)
    assert [p["value"] for p in got] == [Decimal(m) for m in range(1440)]
    # a per-second hour: 3600 points in one item, 36 UpdateItems of at most 100 points each
    sec = [_pt(DAY + timedelta(hours=5, seconds=s), str(s), "i-2") for s in range(1, 3600)]
    assert store.write_metrics(sec) == 3599
    got = store.query_metrics(CPU, DAY.date(), NEXT, dimensions={"resource": "i-2"}, limit=10_000)
    assert [p["value"] for p in got] == [Decimal(s) for s in range(1, 3600)]


def test_points_past_retention_are_dropped(store):
    old = DAY - timedelta(days=store.cfg.metric_ttl_days + 1)
    kept = store.write_metrics(_hourly(hours=range(3)) + [_pt(old, "5"), _pt(old + timedelta(hours=1), "6")])
    assert kept == 3
    assert _items(store, day=old.date()) == []
    assert store.query_metrics(CPU, old.date(), old.date() + timedelta(days=1)) == []
    assert store.write_metrics([_pt(old, "5")]) == 0


def test_dimensions_filter_and_limit(store):
    store.write_metrics(_hourly("i-1") + _hourly("i-2", base="50") + _hourly("i-3", base="70"))
    got = store.query_metrics(CPU, DAY.date(), NEXT, dimensions={"resource": "i-2"})
    assert len(got) == 24 and {p["dimensions"]["resource"] for p in got} == {"i-2"}
    assert got[0]["value"] == Decimal("50")
    assert store.query_metrics(CPU, DAY.date(), NEXT, dimensions={"resource": "i-9"}) == []
    top = store.query_metrics(CPU, DAY.date(), NEXT, limit=30)
    assert [(p["dimensions"]["resource"], p["timestamp"]) for p in top] == (
        [("i-1", iso(DAY + timedelta(hours=h))) for h in range(24)] +
        [("i-2", iso(DAY + timedelta(hours=h))) for h in range(6)])
    # two days: limit spans days in day order
    store.write_metrics(_hourly("i-1", name="mem") + [_pt(DAY + timedelta(days=1, hours=1), "1", name="mem")])
    both = store.query_metrics("mem", DAY.date(), NEXT + timedelta(days=1), limit=25)
    assert [p["timestamp"] for p in both][-2:] == [iso(DAY + timedelta(hours=23)),
                                                   iso(DAY + timedelta(days=1, hours=1))]


def test_paged_queries_return_the_same_points(store, monkeypatch):
    """Items of one series may straddle a Query page: series are emitted only once complete."""
    store.write_metrics([p for h in range(1, 6) for p in _hourly(f"i-{h}", base=str(h))] +
                        [_pt(DAY + timedelta(hours=h, minutes=30), "7", "i-3") for h in range(24)])
    whole = store.query_metrics(CPU, DAY.date(), NEXT)
    call = store._call

    def small_pages(op, kwargs, kind):
        if op == "Query":
            kwargs["Limit"] = 2
        return call(op, kwargs, kind)

    monkeypatch.setattr(store, "_call", small_pages)
    assert store.query_metrics(CPU, DAY.date(), NEXT) == whole and len(whole) == 5 * 24 + 24
    assert store.query_metrics(CPU, DAY.date(), NEXT, limit=50) == whole[:50]
    i3 = [p["timestamp"] for p in whole if p["dimensions"]["resource"] == "i-3"]
    assert len(i3) == 48 and i3 == sorted(i3)


def test_output_equals_the_one_item_per_point_layout_and_both_layouts_read_together(store):
    pts = [_pt(DAY + timedelta(hours=h, minutes=m), v, host, region="eu-west-1")
           for host in ("i-b", "i-a", "i-a,x") for h, m, v in ((0, 0, "12.345"), (3, 0, "0.000001"), (3, 15, "1E+3"),
                                                               (23, 45, "-4.50"))]
    _write_old_layout(store, [MetricPoint("old", p.value, p.timestamp, p.unit, p.dimensions, p.source) for p in pts])
    store.write_metrics(pts)
    old = store.query_metrics("old", DAY.date(), NEXT)
    new = store.query_metrics(CPU, DAY.date(), NEXT)
    assert new == [{**p, "name": CPU} for p in old] and len(new) == 12
    assert new[0]["value"] == Decimal("12.345") and str(new[0]["value"]) == "12.345"
    # a dev table with points of the earlier layout: read alongside packed ones, a re-sent point counted once
    _write_old_layout(store, _hourly("i-z", hours=range(0, 12)))
    store.write_metrics(_hourly("i-z", hours=range(10, 24), base="100"))
    z = store.query_metrics(CPU, DAY.date(), NEXT, dimensions={"resource": "i-z"})
    assert [p["timestamp"] for p in z] == [iso(DAY + timedelta(hours=h)) for h in range(24)]
    assert [p["value"] for p in z][9:11] == [Decimal("21.345"), Decimal("110")]


def test_a_failed_update_raises_a_retryable_store_error(store, monkeypatch):
    store.sleep = lambda s: None
    dispatch = store.conn.dispatch

    def throttled(op, kwargs):
        if op == "UpdateItem" and kwargs["Key"]["sk"]["S"].endswith("i-3|d"):
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                              op)
        return dispatch(op, kwargs)

    monkeypatch.setattr(store.conn, "dispatch", throttled)
    with pytest.raises(StoreError) as e:
        store.write_metrics([p for h in range(1, 9) for p in _hourly(f"i-{h}", hours=range(2))])  # thread pool
    assert e.value.status == 503 and e.value.retry_after >= 2
    with pytest.raises(StoreError):
        store.write_metrics(_hourly("i-3", hours=range(2)))  # inline path
