"""The one clock of the API, dashboard views, budgets, forecasts, anomalies, alerts and the demo estate.

Date-sensitive code never reads the wall clock itself: it takes ``now`` (a :class:`datetime` in UTC)
or a :class:`Clock` and asks it. A process's clock is the system clock unless ``CLOUDTALLY_NOW``
pins it (local stacks, HTTP tests, demos of a given day); in-process, pass ``Clock.pinned(...)``
(``Settings.clock``, ``ApiService(clock=...)``, ``BudgetService(clock=...)``, ...).

>>> c = Clock.pinned("2026-12-01T09:30:00Z")
>>> c.now().isoformat(), c.today().isoformat()
('2026-12-01T09:30:00+00:00', '2026-12-01')
>>> Clock.pinned("2024-02-29").now().isoformat()        # a day alone is its midnight UTC
'2024-02-29T00:00:00+00:00'
>>> from_env({ENV_NOW: "2026-03-01T10:00:00+01:00"}).now().isoformat()
'2026-03-01T09:00:00+00:00'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Mapping

from .errors import ConfigError

UTC = timezone.utc
ENV_NOW = "CLOUDTALLY_NOW"


def parse_instant(raw: str | datetime | date, name: str = ENV_NOW) -> datetime:
    """An ISO 8601 instant (``Z``, an offset, or no zone = UTC; a day alone = its midnight) in UTC."""
    if isinstance(raw, datetime):
        return (raw.replace(tzinfo=UTC) if raw.tzinfo is None else raw).astimezone(UTC)
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day, tzinfo=UTC)
    text = str(raw).strip()
    try:
        if len(text) == 10:
            return parse_instant(date.fromisoformat(text))
        return parse_instant(datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")))
    except ValueError:
        raise ConfigError(f"{name} must be an ISO 8601 time such as 2026-12-01T09:30:00Z, "
                          f"got {text[:40]!r}") from None


@dataclass(frozen=True)
class Clock:
    """The system clock, or one pinned at an instant (``pinned_at``)."""

    pinned_at: datetime | None = None

    @classmethod
    def pinned(cls, at: str | datetime | date) -> "Clock":
        return cls(parse_instant(at, "the pinned time"))

    def now(self) -> datetime:
        """The current instant, in UTC."""
        return self.pinned_at if self.pinned_at is not None else datetime.now(UTC)

    def today(self) -> date:
        """The current UTC day (the day that is still open: its costs are partial)."""
        return self.now().date()

    def timestamp(self) -> float:
        """Seconds since the epoch (what ``time.time()`` gives for the system clock)."""
        return self.now().timestamp()

    def describe(self) -> str | None:
        """The pinned instant as ISO 8601, or None for the system clock."""
        return self.pinned_at.isoformat().replace("+00:00", "Z") if self.pinned_at is not None else None


SYSTEM = Clock()


def from_env(env: Mapping[str, str] | None = None) -> Clock:
    """``CLOUDTALLY_NOW`` pins the clock; unset or empty is the system clock."""
    raw = (os.environ if env is None else env).get(ENV_NOW)
    return Clock(parse_instant(raw)) if raw else SYSTEM


def utc_now(now: datetime | None = None, clock: Clock | None = None) -> datetime:
    """``now`` in UTC if given, else the clock's (the system clock by default)."""
    if now is not None:
        return parse_instant(now)
    return (clock or SYSTEM).now()
