"""Calendar arithmetic on UTC days, in one place: months, quarters, years, and comparable spans.

Ranges are half-open ``[start, end)`` like every cost query.

>>> month_start(date(2024, 3, 31), back=1), next_month(date(2024, 12, 5))
(datetime.date(2024, 2, 1), datetime.date(2025, 1, 1))
>>> days_in_month(date(2024, 2, 10)), days_in_month(date(2026, 2, 10))
(29, 28)
>>> quarter_bounds(date(2026, 12, 31))
(datetime.date(2026, 10, 1), datetime.date(2027, 1, 1), '2026-Q4')
>>> same_days_previous_month(date(2024, 3, 1), date(2024, 3, 31))   # March 1-30 vs all of February
(datetime.date(2024, 2, 1), datetime.date(2024, 3, 1))
>>> month_hours(date(2024, 2, 10)), list(month_keys(date(2024, 11, 20), date(2025, 1, 2)))
(696, ['2024-11', '2024-12', '2025-01'])
>>> month_period(date(2024, 12, 15))[1].isoformat()
'2025-01-01T00:00:00+00:00'
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

UTC = timezone.utc
ONE_DAY = timedelta(days=1)


def month_start(d: date, back: int = 0) -> date:
    """The first day of the month ``back`` months before ``d``'s month."""
    y, m = divmod(d.year * 12 + (d.month - 1) - back, 12)
    return date(y, m + 1, 1)


def next_month(d: date) -> date:
    """The first day of the month after ``d``'s."""
    return month_start(d, back=-1)


def days_in_month(d: date) -> int:
    return monthrange(d.year, d.month)[1]


def month_bounds(d: date) -> tuple[date, date, str]:
    """The calendar month containing ``d``: (first day, first day of the next month, ``YYYY-MM``)."""
    s = month_start(d)
    return s, next_month(s), s.strftime("%Y-%m")


def quarter_bounds(d: date) -> tuple[date, date, str]:
    """The calendar quarter containing ``d``: (first day, first day of the next quarter, ``YYYY-Qn``)."""
    q = (d.month - 1) // 3
    s = date(d.year, 3 * q + 1, 1)
    return s, month_start(s, back=-3), f"{d.year}-Q{q + 1}"


def year_bounds(d: date) -> tuple[date, date, str]:
    return date(d.year, 1, 1), date(d.year + 1, 1, 1), str(d.year)


def months(start: date, end: date) -> Iterator[date]:
    """First days of the months overlapping ``[start, end)``."""
    m = month_start(start)
    while m < end:
        yield m
        m = next_month(m)


def same_days_previous_month(start: date, end: date) -> tuple[date, date]:
    """The span of the previous month that a month-to-date span ``[start, end)`` is compared with.

    ``start`` is the first of a month and ``end`` at most the first of the next; the previous month
    contributes the same number of days, or all its days when it is shorter (March 1-30 is compared
    with the whole of February).
    """
    prev = month_start(start, back=1)
    n = min((end - start).days, days_in_month(prev))
    return prev, prev + timedelta(days=n)


def day_span(start: date, end: date) -> str:
    """``2026-11-01..2026-11-14`` for ``[2026-11-01, 2026-11-15)`` (inclusive days, as people read them)."""
    last = end - timedelta(days=1)
    return start.isoformat() if last == start else f"{start.isoformat()}..{last.isoformat()}"


def add_months(d: date, n: int) -> date:
    """The first day of the month ``n`` months after ``d``'s (``n`` may be negative)."""
    return month_start(d, back=-n)


def month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def month_keys(start: date, end: date) -> Iterator[str]:
    """The ``YYYY-MM`` keys of the months overlapping ``[start, end)`` (store partitions are monthly)."""
    for m in months(start, end):
        yield month_key(m)


def month_hours(d: date) -> int:
    """Hours in ``d``'s month (monthly prices are per calendar month: 672 to 744 hours)."""
    return days_in_month(d) * 24


def midnight(d: date) -> datetime:
    """``d`` 00:00 UTC."""
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def month_period(d: date) -> tuple[datetime, datetime]:
    """``d``'s calendar month as aware UTC datetimes: a FOCUS billing period."""
    s, e, _ = month_bounds(d)
    return midnight(s), midnight(e)


def day_bounds(d: date) -> tuple[datetime, datetime]:
    s = midnight(d)
    return s, s + ONE_DAY


def days(start: date, end: date) -> Iterator[date]:
    """Every day of ``[start, end)``."""
    d = start
    while d < end:
        yield d
        d += ONE_DAY


def billing_months(start: datetime, end: datetime, previous_days: int) -> list[str]:
    """The billing periods (``YYYY-MM``) a billing-export import checks for the window ``[start, end)``: those it
    overlaps, and the one before while ``start`` is in a month's first ``previous_days`` days (late restatements).

    >>> billing_months(datetime(2024, 9, 3, tzinfo=UTC), datetime(2024, 9, 4, 6, tzinfo=UTC), 5)
    ['2024-08', '2024-09']
    >>> billing_months(datetime(2024, 9, 20, tzinfo=UTC), datetime(2024, 10, 1, tzinfo=UTC), 5)
    ['2024-09']
    """
    first = month_start(start.date(), back=1 if start.day <= previous_days else 0)
    last = end.date() if end == midnight(end.date()) else end.date() + ONE_DAY   # [start, end) in whole days
    return list(month_keys(first, last))
