"""Period-end cost forecast: costs so far + a weekday-seasonal recent run-rate, with an interval.

Method (stated in every forecast as :attr:`Forecast.method`):

1. *History* is the last ``window`` complete UTC days before ``today`` (28 by default; days before
   the first day that has data are missing, not zero).
2. *Weekday factors*: with at least 14 days of history, each weekday's mean cost divided by the mean
   of the seven weekday means (balanced, so a history that is not whole weeks is not biased);
   otherwise every factor is 1.
3. *Run-rate* (the level): the mean of the last ``recent`` (7) days' deseasonalised costs.
4. *Forecast* = costs of the complete days of the period + max(today's cost so far, level × factor)
   + level × factor for each remaining day up to the period end.
5. *Interval* (80 % by default): normal approximation from the standard deviation σ of the
   deseasonalised history: variance = σ² Σf² (day-to-day noise) + σ² (Σf)² / k (uncertainty of a
   level averaged over k days); never below the costs already incurred.

Everything is :class:`~decimal.Decimal` (square roots included); no float touches an amount.

>>> from datetime import date
>>> from decimal import Decimal
>>> days = {date(2024, 9, d): Decimal(10) for d in range(1, 16)}
>>> f = forecast_period(days, date(2024, 9, 1), date(2024, 10, 1), today=date(2024, 9, 16))
>>> f.value, f.spent
(Decimal('300'), Decimal('150'))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Mapping

from .money import CONTEXT, ZERO, dsum

Z_SCORES = {Decimal("0.8"): Decimal("1.2816"), Decimal("0.9"): Decimal("1.6449"), Decimal("0.95"): Decimal("1.9600")}
METHOD = ("period-to-date + weekday-seasonal run-rate: level = mean of the last {recent} days' deseasonalised "
          "costs, weekday factors from the last {window} days (balanced weekday means, when >= 14 days); "
          "{conf}% interval from the deseasonalised daily standard deviation")


@dataclass(frozen=True)
class Forecast:
    """A period-end forecast with its interval and the figures it was made from."""

    value: Decimal
    low: Decimal
    high: Decimal
    spent: Decimal
    run_rate: Decimal
    days_remaining: int
    history_days: int
    confidence: Decimal
    method: str

    def to_dict(self) -> dict:
        """JSON view. Estimates are shown to 6 decimal places (``spent`` stays exact): a forecast
        carried to the context's full precision would claim a precision it does not have."""
        return {"value": _show(self.value), "low": _show(self.low), "high": _show(self.high), "spent": self.spent,
                "run_rate": _show(self.run_rate), "days_remaining": self.days_remaining,
                "history_days": self.history_days, "confidence": self.confidence, "method": self.method}


_SHOW = Decimal("0.000001")


def _show(d: Decimal) -> Decimal:
    return d.quantize(_SHOW, context=CONTEXT)


def _div(a: Decimal, b: Decimal) -> Decimal:
    return CONTEXT.divide(a, b)


def weekday_factors(history: Mapping[date, Decimal]) -> dict[int, Decimal]:
    """Factor per weekday (0 = Monday); all 1 with fewer than 14 days or no weekday coverage."""
    ones = {w: Decimal(1) for w in range(7)}
    if len(history) < 14:
        return ones
    by_w: dict[int, list[Decimal]] = {}
    for d, v in history.items():
        by_w.setdefault(d.weekday(), []).append(v)
    if len(by_w) < 7:
        return ones
    means = {w: _div(dsum(vs), Decimal(len(vs))) for w, vs in by_w.items()}
    overall = _div(dsum(means.values()), Decimal(7))
    if overall <= 0:
        return ones
    return {w: _div(m, overall) for w, m in means.items()}


def forecast_period(daily: Mapping[date, Decimal], start: date, end: date, *, today: date,
                    window: int = 28, recent: int = 7, confidence: Decimal = Decimal("0.8")) -> Forecast:
    """Forecast the total of [start, end) given daily costs (``today`` is the current, partial day).

    ``daily`` may hold days before ``start``: they feed the run-rate and weekday factors.
    """
    conf = Decimal(confidence)
    z = Z_SCORES.get(conf)
    if z is None:
        raise ValueError(f"confidence must be one of {sorted(Z_SCORES)}")
    method = METHOD.format(recent=recent, window=window, conf=int(conf * 100))
    last = min(today, end - timedelta(days=1))
    spent = dsum(v for d, v in daily.items() if start <= d <= last)
    if today >= end:
        return Forecast(spent, spent, spent, spent, ZERO, 0, 0, conf, "period complete: actual total")
    first = min(daily) if daily else today
    hist_start = max(first, today - timedelta(days=window))
    history = {hist_start + timedelta(days=i): daily.get(hist_start + timedelta(days=i), ZERO)
               for i in range((today - hist_start).days)}
    remaining = [today + timedelta(days=i) for i in range((end - max(today, start)).days)] if today >= start else \
        [start + timedelta(days=i) for i in range((end - start).days)]
    if not history:
        return Forecast(spent, spent, spent, spent, ZERO, len(remaining), 0, conf,
                        "insufficient history: no complete day yet; forecast = costs so far")
    f = weekday_factors(history)
    recent_days = sorted(history)[-recent:]
    deseason = [_div(history[d], f[d.weekday()]) for d in recent_days if f[d.weekday()] > 0]
    level = _div(dsum(deseason), Decimal(len(deseason))) if deseason else ZERO
    total = dsum(v for d, v in daily.items() if start <= d < today)
    for d in remaining:
        pred = CONTEXT.multiply(level, f[d.weekday()])
        if d == today:
            pred = max(pred, daily.get(today, ZERO))
        total = CONTEXT.add(total, pred)
    # interval
    all_des = [_div(v, f[d.weekday()]) for d, v in history.items() if f[d.weekday()] > 0]
    sd = ZERO
    if len(all_des) >= 2:
        mean = _div(dsum(all_des), Decimal(len(all_des)))
        var = _div(dsum(CONTEXT.multiply(x - mean, x - mean) for x in all_des), Decimal(len(all_des) - 1))
        sum_f = dsum(f[d.weekday()] for d in remaining)
        sum_f2 = dsum(CONTEXT.multiply(f[d.weekday()], f[d.weekday()]) for d in remaining)
        k = Decimal(max(1, len(deseason)))
        tot_var = CONTEXT.multiply(var, CONTEXT.add(sum_f2, _div(CONTEXT.multiply(sum_f, sum_f), k)))
        sd = CONTEXT.sqrt(tot_var) if tot_var > 0 else ZERO
    half = CONTEXT.multiply(z, sd)
    low = max(spent, total - half)
    return Forecast(value=total, low=low, high=CONTEXT.add(total, half), spent=spent, run_rate=level,
                    days_remaining=len(remaining), history_days=len(history), confidence=conf, method=method)
