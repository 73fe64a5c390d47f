"""Budget validation (every bad field named), periods, scope queries and FX conversion."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cloudtally.budgets import fx_table, parse_budget, period_bounds, scope_query
from cloudtally.errors import ValidationError

GOOD = {"name": "Team", "amount": "1000", "currency": "USD", "period": "monthly"}


@pytest.mark.parametrize("patch, field", [
    ({"amount": "-5"}, "amount"), ({"amount": "0"}, "amount"), ({"amount": 1.5}, "amount"),
    ({"currency": "XYZ"}, "currency"), ({"thresholds": [{"percentage": "0.5"}]}, "thresholds[0].percentage"),
    ({"thresholds": [{"percentage": 1001}]}, "thresholds[0].percentage"),
    ({"thresholds": [{"percentage": 50, "type": "maybe"}]}, "thresholds[0].type"),
    ({"scope": {"cloud": "aws"}}, "scope.cloud"), ({"period": "weekly"}, "period"),
    ({"period": "custom", "start": "2024-05-01", "end": "2024-04-01"}, "end"),
    ({"period": "custom", "start": "2024-05-01"}, "end"), ({"name": ""}, "name"), ({"id": "a/b"}, "id"),
])
def test_bad_budgets_name_the_field(patch, field):
    with pytest.raises(ValidationError) as ei:
        parse_budget({**GOOD, **patch})
    assert field in [d["field"] for d in ei.value.details]
    assert ei.value.status == 400


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(ValidationError) as ei:
        parse_budget({"name": "x", "amount": "0", "currency": "ZZZ", "scope": {"team": "a"}})
    assert {d["field"] for d in ei.value.details} == {"amount", "currency", "scope.team"}


def test_defaults_and_scope_query():
    b = parse_budget({**GOOD, "scope": {"provider": "AWS", "service": ["Amazon EC2", "AWS Lambda"],
                                        "tags": {"team": "ml"}}})
    assert [(t.percentage, t.type) for t in b.thresholds] == [
        (Decimal(50), "actual"), (Decimal(80), "actual"), (Decimal(100), "actual"), (Decimal(100), "forecast")]
    q = scope_query(b, date(2024, 9, 1), date(2024, 10, 1))
    assert q.filters == {"provider": ("AWS",), "service": ("Amazon EC2", "AWS Lambda")}
    assert q.tag_filters == {"team": ("ml",)}


@pytest.mark.parametrize("period, today, expected", [
    ("monthly", date(2024, 12, 31), (date(2024, 12, 1), date(2025, 1, 1), "2024-12")),
    ("quarterly", date(2024, 11, 5), (date(2024, 10, 1), date(2025, 1, 1), "2024-Q4")),
    ("quarterly", date(2024, 2, 29), (date(2024, 1, 1), date(2024, 4, 1), "2024-Q1")),
    ("annual", date(2024, 6, 1), (date(2024, 1, 1), date(2025, 1, 1), "2024")),
])
def test_calendar_periods_in_utc(period, today, expected):
    assert period_bounds(parse_budget({**GOOD, "period": period}), today) == expected


def test_custom_period():
    b = parse_budget({**GOOD, "period": "custom", "start": "2024-03-15", "end": "2024-06-15"})
    assert period_bounds(b, date(2024, 4, 1)) == (date(2024, 3, 15), date(2024, 6, 15), "2024-03-15..2024-06-15")


def test_fx_table_is_dated_and_sourced_and_converts_through_its_base():
    fx = fx_table()
    assert fx.date and fx.source.startswith("https://") and fx.base == "EUR"
    assert fx.convert(Decimal("1.0811"), "USD", "EUR") == Decimal("1.0000000000")
    assert fx.convert(Decimal("10"), "USD", "USD") == Decimal("10")
    assert fx.convert(Decimal("10"), "XAU", "USD") is None
