"""Day, month, quarter and year arithmetic in UTC: the one place calendar periods are computed.

Every period is half-open, ``[start, end)``. Functions take ``date`` or aware ``datetime`` values and
never read the clock.

>>> add_months(date(2024, 1, 31), 1)
datetime.date(2024, 2, 1)
>>> month_start(date(2024, 12, 15), 1)
datetime.date(2025, 1, 1)
>>> month_hours(date(2024, 2, 10))
696
>>> [m for m in months(date(2024, 11, 20), date(2025, 1, 2))]
['2024-11', '2024-12', '2025-01']
>>> quarter_bounds(date(2024, 12, 31))
(datetime.date(2024, 10, 1), datetime.date(2025, 1, 1))
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

UTC = timezone.utc
ONE_DAY = timedelta(days=1)


def _as_date(d: date | datetime) -> date:
    return d.astimezone(UTC).date() if isinstance(d, datetime) else d


def month_start(d: date | datetime, offset: int = 0) -> date:
    """The first day of ``d``'s month moved by ``offset`` months (negative goes back)."""
    d = _as_date(d)
    n = d.year * 12 + (d.month - 1) + offset
    return date(n // 12, n % 12 + 1, 1)


def add_months(d: date | datetime, n: int) -> date:
    """The first day of the month ``n`` months after ``d``'s month (``add_months(d, 1)`` = next month)."""
    return month_start(d, n)


def month_bounds_date(d: date | datetime) -> tuple[date, date]:
    """``[first day of d's month, first day of the next month)``."""
    return month_start(d), month_start(d, 1)


def month_bounds(d: date | datetime) -> tuple[datetime, datetime]:
    """``d``'s calendar month as aware UTC datetimes (a FOCUS billing period)."""
    s, e = month_bounds_date(d)
    return midnight(s), midnight(e)


def month_key(d: date | datetime) -> str:
    """``YYYY-MM``."""
    d = _as_date(d)
    return f"{d.year:04d}-{d.month:02d}"


def days_in_month(d: date | datetime) -> int:
    d = _as_date(d)
    return monthrange(d.year, d.month)[1]


def month_hours(d: date | datetime) -> int:
    """Hours in ``d``'s month (monthly prices are per calendar month: 672 to 744 hours)."""
    return days_in_month(d) * 24


def months(start: date | datetime, end: date | datetime) -> Iterator[str]:
    """The ``YYYY-MM`` keys of every month that ``[start, end)`` touches."""
    s, e = _as_date(start), _as_date(end)
    m = month_start(s)
    while m < e:
        yield month_key(m)
        m = month_start(m, 1)


def quarter_bounds(d: date | datetime) -> tuple[date, date]:
    """The calendar quarter holding ``d``."""
    d = _as_date(d)
    first = date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    return first, month_start(first, 3)


def quarter_key(d: date | datetime) -> str:
    d = _as_date(d)
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def year_bounds(d: date | datetime) -> tuple[date, date]:
    d = _as_date(d)
    return date(d.year, 1, 1), date(d.year + 1, 1, 1)


def midnight(d: date) -> datetime:
    """``d`` 00:00 UTC."""
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def day_bounds(d: date) -> tuple[datetime, datetime]:
    s = midnight(d)
    return s, s + ONE_DAY


def days(start: date, end: date) -> Iterator[date]:
    """Every day of ``[start, end)``."""
    d = start
    while d < end:
        yield d
        d += ONE_DAY
