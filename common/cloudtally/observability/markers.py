"""``NotCollected``: what a hub query answers for a figure whose source is not configured or not collected.

It is never a zero (a zero would read as "it cost nothing"): it formats as ``not collected`` whatever the
format spec, so the OpenFinOps examples' ``f"${costs['datadog']:.2f}"`` prints ``$not collected``; it is
falsy, iterates as empty (a list query of a source that is not there), and carries the reason.

>>> m = NotCollected("datadog", "no Datadog records from 2026-12-01 to 2026-12-16")
>>> f"{m:.2f}", bool(m), list(m), m.reason
('not collected', False, [], 'no Datadog records from 2026-12-01 to 2026-12-16')
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

TEXT = "not collected"


class NotCollected:
    __slots__ = ("field", "reason")

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason

    def __format__(self, spec: str) -> str:
        return TEXT

    def __str__(self) -> str:
        return f"{TEXT} ({self.reason})"

    def __repr__(self) -> str:
        return f"NotCollected({self.field!r}, {self.reason!r})"

    def __bool__(self) -> bool:
        return False

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NotCollected) and (other.field, other.reason) == (self.field, self.reason)

    def __hash__(self) -> int:
        return hash((NotCollected, self.field, self.reason))


def is_collected(value: Any) -> bool:
    return not isinstance(value, NotCollected)


def mark(doc: dict[str, Any], reasons: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``doc`` with each ``null`` field that ``reasons`` (default ``doc["not_collected"]``) explains replaced
    by a :class:`NotCollected` carrying that reason."""
    reasons = doc.get("not_collected") or {} if reasons is None else reasons
    for k, why in reasons.items():
        if doc.get(k) is None:
            doc[k] = NotCollected(k, why)
    return doc
