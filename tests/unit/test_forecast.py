"""Period-end forecasts on synthetic series whose right answer is known."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from cloudtally.forecast import forecast_period

SEP1, OCT1 = date(2024, 9, 1), date(2024, 10, 1)


def series(start: date, n: int, f) -> dict[date, Decimal]:
    return {start + timedelta(days=i): f(start + timedelta(days=i)) for i in range(n)}


def test_constant_run_rate_is_exact():
    daily = series(date(2024, 8, 1), 46, lambda d: Decimal("12.5"))  # Aug 1 .. Sep 15
    f = forecast_period(daily, SEP1, OCT1, today=date(2024, 9, 16))
    assert f.spent == Decimal("187.5") and f.value == Decimal("375") and f.low == f.high == f.value
    assert f.days_remaining == 15 and "run-rate" in f.method


def test_weekday_seasonality_is_exact():
    # weekdays 100, weekends 20: the naive run-rate would be off by the weekend mix
    daily = series(date(2024, 8, 4), 42, lambda d: Decimal(20 if d.weekday() >= 5 else 100))  # to Sep 14
    f = forecast_period(daily, SEP1, OCT1, today=date(2024, 9, 15))
    truth = sum(Decimal(20 if d.weekday() >= 5 else 100) for d in (SEP1 + timedelta(days=i) for i in range(30)))
    assert abs(f.value - truth) < Decimal("1E-30")


def test_todays_partial_cost_counts_when_above_the_prediction():
    daily = series(date(2024, 9, 1), 10, lambda d: Decimal(10))
    daily[date(2024, 9, 11)] = Decimal(50)  # today, already above the run-rate
    f = forecast_period(daily, SEP1, OCT1, today=date(2024, 9, 11))
    assert f.value == Decimal(100 + 50 + 19 * 10)


def test_past_period_is_its_actual_total():
    daily = series(date(2024, 9, 1), 30, lambda d: Decimal(3))
    f = forecast_period(daily, SEP1, OCT1, today=date(2024, 10, 5))
    assert f.value == f.spent == Decimal(90) and f.days_remaining == 0


def test_80_percent_interval_covers_the_truth_about_80_percent_of_the_time():
    covered, n = 0, 300
    for seed in range(n):
        rng = random.Random(seed)

        def noisy(d, rng=rng):
            return Decimal(100) + Decimal(sum(rng.randint(0, 1000) for _ in range(12)) - 6000) / 100

        full = series(date(2024, 8, 4), 58, noisy)  # to Sep 30
        truth = sum(v for d, v in full.items() if d >= SEP1)
        seen = {d: v for d, v in full.items() if d < date(2024, 9, 16)}
        f = forecast_period(seen, SEP1, OCT1, today=date(2024, 9, 16))
        assert f.low <= f.value <= f.high
        covered += f.low <= truth <= f.high
    assert 0.7 * n <= covered <= 0.92 * n, covered
