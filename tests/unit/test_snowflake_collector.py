"""The Snowflake collector on fakesnow with look-alike ACCOUNT_USAGE / ORGANIZATION_USAGE views."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cloudtally.collectors import registry, runner
from cloudtally.collectors.secrets import Secrets
from tests.helpers import load_module

emu = load_module("tests/fixtures/snowflake/emulator.py", "sf_emulator")
replay = load_module("tests/fixtures/snowflake/replay.py", "sf_replay")
NOW = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
SPEC = registry.get("snowflake")
KEY = replay.test_key()


@pytest.fixture
def sf():
    with emu.emulate() as em:
        yield em


def run(*, now=NOW, status=None, sink=None, env=None, **cfg):
    sink = sink if sink is not None else runner.ListSink()
    summary = runner.run(SPEC, sink=sink, status=status if status is not None else runner.MemoryStatus(ledgers=False),
                         now=now, config={"account": "xy12345.us-east-1", "user": "CLOUDTALLY_SVC", **cfg},
                         secrets=Secrets(SPEC.all_secrets, env=env if env is not None else {"SNOWFLAKE_PRIVATE_KEY": KEY}))
    return summary, sink


def warehouse_credits() -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in emu.rows("WAREHOUSE_METERING_HISTORY"):
        out[(r["START_TIME"][:10], r["WAREHOUSE_NAME"])] += Decimal(r["CREDITS_USED"])
    return out


def parts(sink, source=None):
    out: dict[tuple[str, str], list] = defaultdict(list)
    for r in sink.records.values():
        if r.ResourceType == "warehouse" and (source is None or r.x_CostSource == source):
            out[(r.day, r.ResourceId)].append(r)
    return out


def test_per_query_attribution_plus_idle_equals_each_warehouses_credits_exactly(sf):
    summary, sink = run()
    assert summary["status"] == "ok", summary["failed_scopes"]
    got = parts(sink)
    want = warehouse_credits()
    assert {k for k in got} == {k for k in want if k[0] < "2026-12-01"} | {k for k in want if k[0] == "2026-12-01"}
    for key, recs in got.items():
        assert sum((r.ConsumedQuantity for r in recs), Decimal(0)) == want[key], key          # exact, credits
        kinds = {r.Tags["snowflake:part"] for r in recs}
        assert kinds == {"queries", "idle", "cloud_services"}
        users = [r for r in recs if r.Tags["snowflake:part"] == "queries"]
        assert all(r.Tags["snowflake:user"] and r.Tags["snowflake:role"] for r in users)      # role from QUERY_HISTORY
    # the day's warehouse bill in currency is allocated over the parts: they sum to the currency rows exactly
    cur = emu.rows("USAGE_IN_CURRENCY_DAILY")
    for day in ("2026-11-28", "2026-11-29"):
        bill = sum(Decimal(r["USAGE_IN_CURRENCY"]) for r in cur if r["USAGE_DATE"] == day
                   and r["SERVICE_TYPE"] == "WAREHOUSE_METERING" and not r["IS_ADJUSTMENT"])
        allocated = sum((r.BilledCost for (d, _), rs in got.items() if d == day for r in rs), Decimal(0))
        assert allocated == bill and all(r.x_CostSource == "billed" for (d, _), rs in got.items() if d == day for r in rs)


def test_days_the_currency_view_lacks_are_estimated_from_the_catalog_until_it_lands(sf):
    _, sink = run()
    recs = [r for (d, _), rs in parts(sink).items() if d == "2026-11-30" for r in rs]
    assert recs and all(r.x_CostSource == "estimated" and r.ListUnitPrice == Decimal("3.00") for r in recs)
    assert all(r.x_CatalogVersion == "snowflake-2026-12-01" for r in recs)


def test_without_the_currency_view_billed_credits_times_the_edition_price(sf):
    sf.revoke("USAGE_IN_CURRENCY_DAILY")
    summary, sink = run(edition="business_critical")
    assert summary["status"] == "ok"
    notes = summary["scopes"]["XY12345/usage_in_currency"]["notes"]
    assert any("METERING_DAILY_HISTORY" in n for n in notes)
    for d in ("2026-11-28", "2026-11-29", "2026-11-30"):
        billed = sum(Decimal(r["CREDITS_BILLED"]) for r in emu.rows("METERING_DAILY_HISTORY") if r["USAGE_DATE"] == d)
        compute = [r for r in sink.records.values() if r.day == d and r.x_CostSource == "billed"
                   and r.PricingUnit == "Credits"]
        assert sum((r.ConsumedQuantity for r in compute), Decimal(0)) == billed
        assert sum((r.BilledCost for r in compute), Decimal(0)) == billed * Decimal("4.00")
    adj = [r for r in sink.records.values() if r.x_LineKey == "cloud-services-adjustment"]
    assert adj and all(r.ChargeCategory == "Credit" and r.BilledCost < 0 for r in adj)
    # storage: a day's share of the TB-month price, per database (database and fail-safe) and stages
    st = [r for r in sink.records.values() if r.day == "2026-11-29" and r.PricingUnit == "TB-Months"]
    assert {r.ResourceId for r in st} == {"databases/ANALYTICS", "databases/RAW", "stages"}
    assert all(r.ListUnitPrice == Decimal("40.00") for r in st)


def test_a_revoked_grant_on_one_view_fails_that_scope_only(sf):
    sf.revoke("QUERY_ATTRIBUTION_HISTORY")
    summary, sink = run()
    failed = {f["scope"]: f["errors"][0] for f in summary["failed_scopes"]}
    assert set(failed) == {"XY12345/warehouses"}
    assert failed["XY12345/warehouses"]["code"] == "002003" and failed["XY12345/warehouses"]["kind"] == "auth"
    assert "IMPORTED PRIVILEGES" in failed["XY12345/warehouses"]["setting"]
    assert summary["scopes"]["XY12345/storage"]["status"] == "ok"
    assert any(r.ServiceName == "Snowflake Snowpipe" for r in sink.records.values())


def test_a_rerun_sends_nothing_new_and_leaves_totals_identical(sf):
    status, sink = runner.MemoryStatus(), runner.ListSink()
    first, _ = run(status=status, sink=sink)
    total = sum((r.BilledCost for r in sink.records.values() if r.day < "2026-12-01"), Decimal(0))
    again, _ = run(status=status, sink=sink, now=NOW + timedelta(minutes=10))
    assert first["records_sent"] > 0 and again["records_sent"] == 0
    assert sum((r.BilledCost for r in sink.records.values() if r.day < "2026-12-01"), Decimal(0)) == total
    # the watermarks moved: the next read starts at each view's newest data minus its documented latency
    marks = status.load_status("snowflake")["XY12345/warehouses"].marks
    assert marks["WAREHOUSE_METERING_HISTORY"].startswith("2026-12-01T09:00")
    assert again["api_calls"]["snowflake"] == first["api_calls"]["snowflake"]     # constant queries


def test_key_pair_auth_sends_the_private_key_and_never_a_password(sf):
    import snowflake.connector
    run()
    kw = snowflake.connector.connect.call_args.kwargs
    assert isinstance(kw["private_key"], bytes) and "password" not in kw and kw["user"] == "CLOUDTALLY_SVC"


def test_a_password_is_accepted_with_a_warning(sf, caplog):
    summary, _ = run(env={"SNOWFLAKE_PASSWORD": "s3cret-pw"})
    assert summary["status"] == "ok"
    assert any("key-pair" in m for m in caplog.messages)
    assert "s3cret-pw" not in str(summary) and "s3cret-pw" not in caplog.text


def test_no_credentials_is_a_clear_config_error():
    from cloudtally.errors import ConfigError
    with pytest.raises(ConfigError, match="snowflake-private-key"):
        run(env={})


def test_losing_the_currency_view_never_bills_its_days_twice(sf):
    status, sink = runner.MemoryStatus(ledgers=False), runner.ListSink()
    run(status=status, sink=sink)
    billed = lambda day: sum((r.BilledCost for r in sink.records.values()      # noqa: E731
                              if r.day == day and r.x_CostSource == "billed"), Decimal(0))
    before = {d: billed(d) for d in ("2026-11-28", "2026-11-29")}
    # GIVEN the role loses ORGANIZATION_USAGE: the collector falls back to credits x price, but only from the
    # first day the currency view never billed (its watermark), so 11-28 and 11-29 are not billed twice
    sf.revoke("USAGE_IN_CURRENCY_DAILY")
    summary, _ = run(status=status, sink=sink, now=NOW + timedelta(hours=1))
    assert summary["status"] == "ok"
    assert {d: billed(d) for d in before} == before
    assert billed("2026-11-30") > 0 and any("left as they are" in n for n in summary["scopes"]["XY12345/metering_daily"]["notes"])


def test_a_failing_currency_view_holds_the_bill_instead_of_mixing_two(sf, monkeypatch):
    from cloudtally.errors import ProviderTransient
    from cloudtally.providers.snowflake import collector
    real = collector.usage_in_currency

    def flaky(run_, scope):
        raise ProviderTransient("warehouse busy", provider="snowflake")
        yield from real(run_, scope)

    monkeypatch.setattr(collector, "usage_in_currency", flaky)
    summary, sink = run()
    assert [f["scope"] for f in summary["failed_scopes"]] == ["XY12345/usage_in_currency"]
    assert not any(r.x_CostSource == "billed" for r in sink.records.values())
    assert "metering_daily" not in " ".join(summary["scopes"])
