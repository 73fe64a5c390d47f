"""Incremental delivery in isolation: provisional aggregates, the changed-only rule, ledgers."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from cloudtally.collectors.delivery import DayLedger, Deliverer, provisional
from cloudtally.collectors.state import MemoryStatus
from cloudtally.focus import UTC, parse_record

D = datetime(2026, 11, 20, tzinfo=UTC)


def rec(rid, hours, team="web", name=None, day=D, source="estimated", region="us-east-1"):
    cost = str(Decimal(hours) * Decimal("0.0416"))
    return parse_record({
        "ProviderName": "AWS", "BillingAccountId": "1", "SubAccountId": "2", "ServiceName": "Amazon EC2",
        "ServiceCategory": "Compute", "ChargePeriodStart": day.isoformat(),
        "ChargePeriodEnd": (day + timedelta(days=1)).isoformat(), "BilledCost": cost, "EffectiveCost": cost,
        "BillingCurrency": "USD", "ResourceId": rid, "RegionId": region, "PricingUnit": "Hours",
        "PricingQuantity": str(hours), "Tags": {"team": team, "Name": name or rid}, "x_CostSource": source,
        "x_Collector": "aws"})


class MemState(MemoryStatus):
    @property
    def puts(self):
        return self.calls["put"]


def test_aggregates_keep_only_allocation_tags_and_sum_exactly():
    recs = [rec("i-1", 3, "web"), rec("i-2", 5, "web"), rec("i-3", 1, "data"), rec("i-4", 2, "web", region="eu-west-1")]
    aggs = provisional([r.to_dict() for r in recs], ("team",))
    by = {(a.RegionId, a.Tags.get("team")): a for a in aggs}
    assert set(by) == {("us-east-1", "web"), ("us-east-1", "data"), ("eu-west-1", "web")}
    web = by[("us-east-1", "web")]
    assert web.BilledCost == Decimal("0.3328") and web.PricingQuantity == 8
    assert web.Tags == {"team": "web"} and web.ResourceId is None and web.x_CostSource == "provisional"
    # the same group gets the same id next hour (it replaces itself); another tag value does not collide
    again = provisional([rec("i-1", 4, "web").to_dict(), rec("i-2", 6, "web").to_dict()], ("team",))
    assert again[0].id == web.id and again[0].BilledCost == Decimal("0.4160")
    assert len({a.id for a in aggs}) == 3


def test_open_day_writes_aggregates_closed_day_writes_detail_once():
    state, sent = MemState(), []
    def run(now, recs):
        d = Deliverer(collector="aws", state=state, send=sent.extend, now=now, tag_keys=("team",))
        sent.clear()
        d.deliver("s", recs, [D.date(), (D + timedelta(days=1)).date()])
        return d.stats
    run(D + timedelta(hours=5), [rec("i-1", 5), rec("i-2", 5)])
    assert [r.x_CostSource for r in sent] == ["provisional"] and sent[0].PricingQuantity == 10
    puts = state.puts
    run(D + timedelta(hours=6), [rec("i-1", 6)])                  # i-2 left: its 5 h stay in the ledger
    assert sent[0].PricingQuantity == 11 and state.puts == puts + 1
    stats = run(D + timedelta(days=1, hours=1), [rec("i-1", 24)])   # day close
    assert sorted((r.ResourceId, r.PricingQuantity) for r in sent) == [("i-1", 24), ("i-2", 5)]
    assert all(r.x_CostSource == "estimated" for r in sent) and stats["written"] == 2
    puts = state.puts
    stats = run(D + timedelta(days=1, hours=2), [rec("i-1", 24)])   # re-pulled: unchanged, nothing written
    assert sent == [] and stats["skipped_unchanged"] == 1 and state.puts == puts
    run(D + timedelta(days=1, hours=3), [rec("i-1", 24, name="renamed")])   # a changed tag is re-sent
    assert [r.ResourceId for r in sent] == ["i-1"]
    assert not DayLedger.decode(state.get_states("aws", "s", [f"day:{D.date()}"], D)[f"day:{D.date()}"]).open


def test_billed_records_skip_the_ledger_but_keep_changed_only():
    state, sent = MemState(), []
    d = Deliverer(collector="aws", state=state, send=sent.extend, now=D + timedelta(hours=3), tag_keys=())
    billed = rec("", 3, source="billed")
    d.deliver("ce", [billed], [D.date()])
    assert sent == [billed]
    sent.clear()
    Deliverer(collector="aws", state=state, send=sent.extend, now=D + timedelta(hours=4), tag_keys=()).deliver(
        "ce", [billed], [D.date()])
    assert sent == []


def test_a_group_emptied_by_retagging_is_zeroed_not_left_behind():
    state, sent = MemState(), []
    def run(now, recs):
        sent.clear()
        Deliverer(collector="aws", state=state, send=sent.extend, now=now, tag_keys=("team",)).deliver(
            "s", recs, [D.date()])
        return {r.Tags.get("team"): r.BilledCost for r in sent}
    assert run(D + timedelta(hours=2), [rec("i-1", 2, "web")]) == {"web": Decimal("0.0832")}
    # i-1 re-tagged: the store must not keep 'web' at 2 h next to 'data' at 3 h
    assert run(D + timedelta(hours=3), [rec("i-1", 3, "data")]) == {"data": Decimal("0.1248"), "web": 0}
    assert run(D + timedelta(hours=4), [rec("i-1", 4, "data")]) == {"data": Decimal("0.1664")}   # zero unchanged
