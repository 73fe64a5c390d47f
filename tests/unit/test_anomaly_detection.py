"""Anomaly detection: one injected spike → one anomaly naming the service; noise pages < 1 %."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from cloudtally.anomaly import AnomalyConfig, check, detect

D0 = date(2024, 1, 1)
DIMS = ("provider", "account", "service")


def gauss(rng: random.Random, mean: Decimal, sd: Decimal) -> Decimal:
    """Irwin-Hall normal approximation in exact decimals (sum of 12 uniforms)."""
    return mean + Decimal(sum(rng.randint(0, 1000) for _ in range(12)) - 6000) * sd / 1000


def three_services(seed: int) -> dict:
    rng = random.Random(seed)
    return {("AWS", "111", svc): {D0 + timedelta(days=i): gauss(rng, Decimal(m), Decimal(m) / 20) for i in range(60)}
            for svc, m in (("Amazon EC2", 400), ("Amazon S3", 120), ("AWS Lambda", 60))}


def test_one_spike_on_one_service_is_one_anomaly_rooted_in_that_service():
    leaves = three_services(7)
    spike_day = D0 + timedelta(days=45)
    leaves[("AWS", "111", "Amazon S3")][spike_day] += Decimal(300)
    found = [a for i in range(28, 60) for a in detect(leaves, DIMS, D0 + timedelta(days=i), currency="USD")]
    assert len(found) == 1
    a = found[0]
    assert a["day"] == spike_day.isoformat()
    assert a["root_cause"] == {"dimension": "service", "value": "Amazon S3"}
    assert Decimal(100) < a["expected"] < Decimal(140) and a["observed"] - a["expected"] > Decimal(250)
    assert a["severity"] == "critical" and a["status"] == "open"
    assert {c["dimension"] for c in a["contributors"]} == {"provider", "account", "service"}


def test_a_spike_below_the_minimum_impact_pages_no_one():
    leaves = {("AWS", "111", "S"): {D0 + timedelta(days=i): Decimal("0.10") for i in range(40)}}
    leaves[("AWS", "111", "S")][D0 + timedelta(days=35)] = Decimal("5.00")  # 50x, but 4.90 of impact
    assert detect(leaves, DIMS, D0 + timedelta(days=35), currency="USD") == []
    assert detect(leaves, DIMS, D0 + timedelta(days=35), currency="USD", cfg=AnomalyConfig(min_impact=Decimal(1)))


def test_suppressed_root_cause_is_reported_as_expected():
    leaves = three_services(3)
    day = D0 + timedelta(days=40)
    leaves[("AWS", "111", "AWS Lambda")][day] += Decimal(500)
    [a] = detect(leaves, DIMS, day, currency="USD", suppressed={"USD#service=AWS Lambda"})
    assert a["status"] == "expected"


def test_weekday_pattern_is_not_an_anomaly():
    # weekends cost 5x weekdays: a naive trailing median would flag every Saturday
    s = {D0 + timedelta(days=i): Decimal(500 if (D0 + timedelta(days=i)).weekday() >= 5 else 100) for i in range(60)}
    assert not any(check(s, D0 + timedelta(days=i)).anomalous for i in range(28, 60))


def test_false_positive_rate_over_1000_pure_noise_series_is_below_one_percent():
    flagged = 0
    for seed in range(1000):
        rng = random.Random(seed)
        mean = Decimal(rng.randint(50, 5000))
        sd = mean * Decimal(rng.randint(3, 30)) / 100
        weekend = Decimal(rng.randint(40, 100)) / 100
        s = {}
        for i in range(60):
            d = D0 + timedelta(days=i)
            s[d] = max(Decimal(0), gauss(rng, mean * (weekend if d.weekday() >= 5 else 1), sd))
        flagged += any(check(s, D0 + timedelta(days=i)).anomalous for i in range(28, 60))
    # a series counts as a false positive if any of its last 32 days is flagged
    assert flagged < 10, flagged
