"""Date-sensitive paths at their boundaries, with pinned clocks: the 1st and the last day of a month,
February (leap and not), quarter and year ends. Pure functions only (the views' figures over a store
are in tests/integration/test_dashboard_api.py)."""

from __future__ import annotations

import doctest
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cloudtally import anomaly, clock, dashboard_data, demo, periods
from cloudtally.budgets import parse_budget, period_bounds
from cloudtally.providers.aws.billing_export import billing_periods as export_periods
from cloudtally.config import load_settings
from cloudtally.errors import ConfigError
from cloudtally.forecast import forecast_period
from cloudtally.query import parse_query

UTC = timezone.utc
D = date.fromisoformat


@pytest.mark.parametrize("mod", [clock, periods, dashboard_data])
def test_doctests(mod):
    assert doctest.testmod(mod).failed == 0


# ----------------------------------------------------------------------------------------- the clock
def test_a_pinned_clock_never_moves_and_cloudtally_now_pins_the_settings():
    c = clock.Clock.pinned("2024-02-29T23:59:59Z")
    assert c.now() == c.now() == datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)
    assert c.today() == D("2024-02-29") and c.timestamp() == c.now().timestamp()
    assert clock.Clock.pinned("2026-12-01T10:30:00+01:00").now() == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert clock.Clock.pinned("2026-12-01T09:30:00").now().tzinfo == UTC   # no zone = UTC
    assert clock.from_env({}) is clock.SYSTEM and clock.from_env({clock.ENV_NOW: ""}) is clock.SYSTEM
    assert clock.SYSTEM.pinned_at is None and clock.SYSTEM.describe() is None


def test_load_settings_reads_cloudtally_now_and_names_it_when_bad(monkeypatch):
    monkeypatch.setenv("CLOUDTALLY_NOW", "2027-01-01T00:00:00Z")
    cfg = load_settings()
    assert cfg.clock.today() == D("2027-01-01") and cfg.sanitized()["clock"] == "2027-01-01T00:00:00Z"
    monkeypatch.setenv("CLOUDTALLY_NOW", "yesterday")
    with pytest.raises(ConfigError, match="CLOUDTALLY_NOW must be an ISO 8601 time"):
        load_settings()
    monkeypatch.delenv("CLOUDTALLY_NOW")
    assert load_settings().clock is clock.SYSTEM


@pytest.mark.parametrize("today, to", [("2026-12-31", "2027-01-01"), ("2024-02-28", "2024-02-29"),
                                       ("2024-02-29", "2024-03-01"), ("2026-02-28", "2026-03-01")])
def test_default_query_range_ends_after_the_clocks_day(today, to):
    q = parse_query({}, today=D(today))
    assert q.end == D(to) and (q.end - q.start).days == 30


# ----------------------------------------------------------------------------------------- calendar
@pytest.mark.parametrize("d, back, start", [("2024-03-31", 1, "2024-02-01"), ("2027-01-01", 1, "2026-12-01"),
                                            ("2026-12-15", 5, "2026-07-01"), ("2026-03-01", 14, "2025-01-01"),
                                            ("2026-11-30", -1, "2026-12-01"), ("2026-12-31", -1, "2027-01-01")])
def test_month_start(d, back, start):
    assert periods.month_start(D(d), back) == D(start)


@pytest.mark.parametrize("d, n", [("2024-02-01", 29), ("2026-02-28", 28), ("2000-02-10", 29), ("1900-02-10", 28),
                                  ("2026-04-30", 30), ("2026-12-31", 31)])
def test_days_in_month_february_leap_and_not(d, n):
    assert periods.days_in_month(D(d)) == n


@pytest.mark.parametrize("start, end, prev", [
    ("2024-03-01", "2024-03-31", ("2024-02-01", "2024-03-01")),     # 30 days vs a 29-day leap February
    ("2026-03-01", "2026-03-29", ("2026-02-01", "2026-03-01")),     # 28 days vs a 28-day February
    ("2026-03-01", "2026-03-28", ("2026-02-01", "2026-02-28")),     # 27 days vs 27
    ("2026-05-01", "2026-06-01", ("2026-04-01", "2026-05-01")),     # all of May vs all of April (30 days)
    ("2027-01-01", "2027-01-15", ("2026-12-01", "2026-12-15")),     # across the year end
    ("2026-12-01", "2026-12-01", ("2026-11-01", "2026-11-01")),     # the 1st: no day yet
])
def test_same_days_previous_month(start, end, prev):
    assert periods.same_days_previous_month(D(start), D(end)) == (D(prev[0]), D(prev[1]))


@pytest.mark.parametrize("today, period, bounds", [
    ("2024-02-29", "monthly", ("2024-02-01", "2024-03-01", "2024-02")),
    ("2026-02-28", "monthly", ("2026-02-01", "2026-03-01", "2026-02")),
    ("2026-12-31", "monthly", ("2026-12-01", "2027-01-01", "2026-12")),
    ("2027-01-01", "monthly", ("2027-01-01", "2027-02-01", "2027-01")),
    ("2026-03-31", "quarterly", ("2026-01-01", "2026-04-01", "2026-Q1")),
    ("2026-04-01", "quarterly", ("2026-04-01", "2026-07-01", "2026-Q2")),
    ("2026-09-30", "quarterly", ("2026-07-01", "2026-10-01", "2026-Q3")),
    ("2026-12-31", "quarterly", ("2026-10-01", "2027-01-01", "2026-Q4")),
    ("2027-01-01", "quarterly", ("2027-01-01", "2027-04-01", "2027-Q1")),
    ("2026-12-31", "annual", ("2026-01-01", "2027-01-01", "2026")),
    ("2024-02-29", "annual", ("2024-01-01", "2025-01-01", "2024")),
])
def test_budget_periods_at_their_boundaries(today, period, bounds):
    b = parse_budget({"name": "b", "amount": "1", "period": period})
    assert period_bounds(b, D(today)) == (D(bounds[0]), D(bounds[1]), bounds[2])


# ----------------------------------------------------------------------------------------- month over month
def _daily(start: str, days: int, amount: str = "10") -> dict[str, Decimal]:
    return {(D(start) + timedelta(days=i)).isoformat(): Decimal(amount) for i in range(days)}


def test_month_over_month_on_the_1st_has_no_closed_day_and_says_so():
    daily = _daily("2026-11-01", 30) | {"2026-12-01": Decimal("3.5")}    # today's few hours
    m = dashboard_data.month_over_month(daily, D("2026-12-01"), D("2026-12-01"))
    assert m["change_pct"] is None and m["days"] == 0 and m["amount"] == 0
    assert m["reason"] == "no closed day in 2026-12 yet: today (2026-12-01) is still open"


def test_month_over_month_compares_closed_days_only():
    # the 2nd: one closed day against one day; today's partial cost is not compared with a whole day
    daily = _daily("2026-11-01", 30) | {"2026-12-01": Decimal(11), "2026-12-02": Decimal(1)}
    m = dashboard_data.month_over_month(daily, D("2026-12-02"), D("2026-12-02"))
    assert (m["from"], m["to"], m["previous_from"], m["previous_to"]) == (
        "2026-12-01", "2026-12-02", "2026-11-01", "2026-11-02")
    assert m["change_pct"] == Decimal("10.0") and m["reason"] is None


def test_month_over_month_on_the_last_day_of_march_against_a_leap_february():
    daily = _daily("2024-02-01", 29, "10") | _daily("2024-03-01", 31, "5")
    m = dashboard_data.month_over_month(daily, D("2024-03-31"), D("2024-03-31"))
    assert (m["days"], m["previous_from"], m["previous_to"]) == (30, "2024-02-01", "2024-03-01")
    assert m["amount"] == 150 and m["previous_amount"] == 290 and m["change_pct"] == Decimal("-48.3")


def test_month_over_month_of_a_past_month_includes_its_last_day():
    # a range ending on 2026-02-28 viewed later: the whole of (non-leap) February vs all of January's 28 days
    daily = _daily("2026-01-01", 31, "10") | _daily("2026-02-01", 28, "12")
    m = dashboard_data.month_over_month(daily, D("2026-02-28"), D("2026-06-10"))
    assert (m["from"], m["to"], m["previous_to"], m["days"]) == ("2026-02-01", "2026-03-01", "2026-01-29", 28)
    assert m["change_pct"] == Decimal("20.0")


def test_month_over_month_with_an_empty_span_is_na_never_minus_100():
    jan = dashboard_data.month_over_month(_daily("2026-12-01", 31), D("2027-01-05"), D("2027-01-05"))
    assert jan["change_pct"] is None and jan["reason"] == "no cost recorded for 2027-01-01..2027-01-04"
    new = dashboard_data.month_over_month(_daily("2027-01-01", 4), D("2027-01-05"), D("2027-01-05"))
    assert new["change_pct"] is None
    assert new["reason"] == "no spend recorded for 2026-12-01..2026-12-04 to compare with"


def test_monthly_changes_mark_the_open_month_and_a_history_that_starts_mid_month():
    daily = _daily("2026-09-02", 29) | _daily("2026-10-01", 31) | _daily("2026-11-01", 30, "11")
    daily["2026-12-01"] = Decimal(2)
    mom = dashboard_data.month_over_month(daily, D("2026-12-01"), D("2026-12-01"))
    rows = dashboard_data.monthly_changes(daily, D("2026-08-01"), D("2026-12-01"), D("2026-12-01"), mom)
    got = [(r["month"], r["amount"], r["change_pct"], r["change_reason"], r["partial"]) for r in rows]
    assert got == [
        ("2026-08", 0, None, "no cost recorded in 2026-08", False),
        ("2026-09", 290, None, "cost data for 2026-09 starts on 2026-09-02", False),
        ("2026-10", 310, None, "cost data for 2026-09 starts on 2026-09-02", False),
        ("2026-11", 330, Decimal("6.5"), None, False),
        ("2026-12", 2, None, "no closed day in 2026-12 yet: today (2026-12-01) is still open", True)]
    # a view ending on the (closed) last day of November: November is complete, not partial
    mom = dashboard_data.month_over_month(daily, D("2026-11-30"), D("2026-12-01"))
    rows = dashboard_data.monthly_changes(daily, D("2026-10-01"), D("2026-11-30"), D("2026-12-01"), mom)
    assert [(r["month"], r["partial"], r["change_pct"]) for r in rows] == [
        ("2026-10", False, None), ("2026-11", False, Decimal("6.5"))]


# ----------------------------------------------------------------------------------------- forecast
@pytest.mark.parametrize("today, start, end, remaining", [
    ("2026-12-01", "2026-12-01", "2027-01-01", 31),    # the 1st: only today so far
    ("2026-12-31", "2026-12-01", "2027-01-01", 1),     # the last day of the month (and of the year)
    ("2024-02-29", "2024-02-01", "2024-03-01", 1),     # the last day of a leap February
    ("2026-02-01", "2026-02-01", "2026-03-01", 28),    # a 28-day February
    ("2026-03-31", "2026-01-01", "2026-04-01", 1),     # a quarter's last day
    ("2026-12-31", "2026-01-01", "2027-01-01", 1),     # the year's last day
])
def test_forecast_at_period_boundaries_is_the_run_rate_over_the_whole_period(today, start, end, remaining):
    t, s, e = D(today), D(start), D(end)
    daily = {t - timedelta(days=i): Decimal(10) for i in range(1, 400)}     # closed days at 10 a day
    daily[t] = Decimal(4)                                                   # today so far
    f = forecast_period(daily, s, e, today=t)
    assert f.days_remaining == remaining and f.history_days == 28
    closed = Decimal(10) * (t - s).days
    assert f.spent == closed + 4
    assert f.value == closed + 10 * remaining                               # today: max(so far, 10)
    assert (e - s).days * 10 == f.value


# ----------------------------------------------------------------------------------------- anomaly windows
@pytest.mark.parametrize("day, first, last", [("2024-03-01", "2024-02-02", "2024-02-29"),
                                              ("2027-01-01", "2026-12-04", "2026-12-31"),
                                              ("2026-03-01", "2026-02-01", "2026-02-28")])
def test_anomaly_history_window_crosses_month_and_year_ends(day, first, last):
    series = {D("2023-01-01") + timedelta(days=i): Decimal(10) for i in range(2000)}
    h = anomaly.history_of(series, D(day), 28)
    assert (min(h), max(h), len(h)) == (D(first), D(last), 28)


def test_a_spike_on_new_years_day_is_found_against_decembers_same_weekdays():
    series = {D("2026-12-01") + timedelta(days=i): Decimal(100 + (i % 7)) for i in range(31)}
    series[D("2027-01-01")] = Decimal(400)
    c = anomaly.check(series, D("2027-01-01"))
    assert c.anomalous and c.expected == Decimal(103)   # Fridays of December: 103 each


# ----------------------------------------------------------------------------------------- billing-export periods
@pytest.mark.parametrize("start, end, expected", [
    ("2026-12-01T00:00:00", "2026-12-01T09:30:00", ["2026-11", "2026-12"]),    # the 1st: last period re-checked
    ("2026-11-28T00:00:00", "2026-12-01T09:30:00", ["2026-11", "2026-12"]),    # a window across the month end
    ("2026-12-12T00:00:00", "2026-12-15T09:30:00", ["2026-12"]),
    ("2026-12-29T00:00:00", "2027-01-01T00:00:00", ["2026-12"]),               # up to the year end, exclusive
    ("2027-01-02T00:00:00", "2027-01-02T06:00:00", ["2026-12", "2027-01"]),    # across the year end
    ("2024-03-01T00:00:00", "2024-03-01T06:00:00", ["2024-02", "2024-03"]),    # after a leap February
])
def test_billing_export_periods_checked_at_boundaries(start, end, expected):
    s, e = datetime.fromisoformat(start).replace(tzinfo=UTC), datetime.fromisoformat(end).replace(tzinfo=UTC)
    assert export_periods(s, e, 5) == expected


@pytest.mark.parametrize("charge, period", [
    ("2024-02-29T23:00:00Z", ("2024-02-01", "2024-03-01")),
    ("2026-02-28T23:00:00Z", ("2026-02-01", "2026-03-01")),
    ("2026-12-31T23:00:00Z", ("2026-12-01", "2027-01-01")),
    ("2027-01-01T00:00:00Z", ("2027-01-01", "2027-02-01")),
    ("2026-03-31T23:00:00Z", ("2026-03-01", "2026-04-01")),
])
def test_imported_rows_without_a_billing_period_get_their_charge_month(tmp_path, charge, period):
    from cloudtally.importers.engine import convert_file
    end = (datetime.fromisoformat(charge.replace("Z", "+00:00")) + timedelta(hours=1)).isoformat()
    p = tmp_path / "focus.csv"
    p.write_text("ProviderName,BillingAccountId,ChargePeriodStart,ChargePeriodEnd,BilledCost,BillingCurrency\n"
                 f"AWS,1,{charge},{end},1.25,USD\n")
    (r,) = convert_file(p).records
    assert (r.BillingPeriodStart.date(), r.BillingPeriodEnd.date()) == (D(period[0]), D(period[1]))
    assert r.ChargePeriodStart.date() == D(charge[:10])


def test_azure_inclusive_billing_period_end_at_a_leap_february(tmp_path):
    from cloudtally.importers.engine import convert_file
    p = tmp_path / "ea.csv"
    p.write_text("BillingAccountId,BillingAccountName,AccountOwnerId,AccountName,SubscriptionId,Date,"
                 "BillingPeriodStartDate,BillingPeriodEndDate,CostInBillingCurrency,BillingCurrencyCode,MeterCategory,"
                 "ChargeType\n"
                 "ea-1,Acme,o@x,Acme,sub-1,02/29/2024,02/01/2024,02/29/2024,1.5,USD,Storage,Usage\n")
    (r,) = convert_file(p).records
    assert (r.BillingPeriodStart.date(), r.BillingPeriodEnd.date()) == (D("2024-02-01"), D("2024-03-01"))
    assert (r.ChargePeriodStart.date(), r.ChargePeriodEnd.date()) == (D("2024-02-29"), D("2024-03-01"))


# ----------------------------------------------------------------------------------------- the demo estate
@pytest.mark.parametrize("now", ["2026-12-01T00:00:00Z", "2024-03-01T09:30:00Z", "2027-01-01T23:59:59Z",
                                 "2026-12-31T12:00:00Z"])
def test_demo_estate_is_relative_to_its_clock(now):
    at = clock.parse_instant(now)
    recs = demo.demo_records(at)
    today = at.date()
    days = sorted({r.ChargePeriodStart.date() for r in recs})
    assert days[0] == today - timedelta(days=90) and days[-1] == today and len(days) == 91
    todays = [r for r in recs if r.ChargePeriodStart.date() == today]
    # today is open: provisional aggregates (no per-resource detail), never zero, even in its first hour
    assert {r.x_CostSource for r in todays} == {"provisional"} and not any(r.ResourceId for r in todays)
    assert sum(r.EffectiveCost for r in todays) > 0
    assert {r.x_CostSource for r in recs if r.ChargePeriodStart.date() == today - timedelta(days=2)} == {"estimated"}
    assert {r.x_CostSource for r in recs if r.ChargePeriodStart.date() == today - timedelta(days=3)} == {
        "estimated", "billed"}
    assert demo.demo_records(at) == recs                                   # deterministic for a clock
    pts = demo.demo_metrics(at)
    assert max(p.timestamp for p in pts) < at and min(p.timestamp for p in pts) >= at - timedelta(hours=73)


def test_todays_demo_cost_so_far_grows_with_the_hours():
    def so_far(hour: int) -> Decimal:
        at = datetime(2026, 12, 1, hour, tzinfo=UTC)
        return sum((r.EffectiveCost for r in demo.demo_records(at) if r.x_CostSource == "provisional"), Decimal(0))

    first, noon, last = so_far(0), so_far(11), so_far(23)
    assert 0 < first < noon < last
    # proportional to the hours started (each resource's share is rounded to 6 decimals)
    assert abs(noon - 12 * first) < Decimal("0.001") and abs(last - 24 * first) < Decimal("0.001")
