"""Cost anomaly detection: each dimension value's daily cost against its own trailing history.

Series: the daily cost of every value of every monitored dimension (provider, account, service and
the configured allocation tag keys), per currency. A day is anomalous for a series when

* ``observed - expected >= threshold × scale`` (robust z-score, default 6),
* ``observed - expected >= min_impact`` (absolute, default 10 currency units: cents page no one),
* ``observed - expected >= min_ratio × expected`` (default +20 %),

where ``expected`` is the median of the same weekday over the trailing ``window`` (28) days (the
median of all 28 days when a weekday has fewer than 2 values) and ``scale`` is 1.4826 × the median
absolute leave-one-out residual of the history (each day against the median of the *other* days of
its weekday: an out-of-sample error, like the one being scored), floored at 1 % of ``expected``.
Only increases are reported (a drop in cost pages no one).

A spike shows up in several series at once (the service, its account, its provider). The series
flagged on one day are grouped (a series joins a group when at least half of its increase lies in
the group's largest series) and each group is one anomaly whose **root cause** is the smallest slice
(lowest expected cost) whose increase still explains ``explain_share`` (80 %) of the group's
largest increase: the dimension value that explains most of the change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Iterable, Mapping

from .money import CONTEXT, ZERO, dsum

MAD_K = Decimal("1.4826")
SPECIFICITY = {"provider": 0, "account": 1, "region": 2, "service": 3}  # tags rank above (most specific)


@dataclass(frozen=True)
class AnomalyConfig:
    window: int = 28
    min_history: int = 14
    threshold: Decimal = Decimal(6)
    min_impact: Decimal = Decimal(10)
    min_ratio: Decimal = Decimal("0.2")
    explain_share: Decimal = Decimal("0.8")


@dataclass(frozen=True)
class Check:
    expected: Decimal
    observed: Decimal
    delta: Decimal
    scale: Decimal
    score: Decimal
    anomalous: bool


def _median(vals: list[Decimal]) -> Decimal:
    s = sorted(vals)
    n = len(s)
    if n == 0:
        return ZERO
    return s[n // 2] if n % 2 else CONTEXT.divide(CONTEXT.add(s[n // 2 - 1], s[n // 2]), Decimal(2))


def history_of(series: Mapping[date, Decimal], day: date, window: int) -> dict[date, Decimal]:
    """The ``window`` days before ``day``; days before the series' first day are missing, not zero."""
    if not series:
        return {}
    first = min(series)
    start = max(first, day - timedelta(days=window))
    return {start + timedelta(days=i): series.get(start + timedelta(days=i), ZERO) for i in range((day - start).days)}


def expected_of(history: Mapping[date, Decimal], day: date) -> tuple[Decimal, dict[int, Decimal]]:
    by_w: dict[int, list[Decimal]] = {}
    for d, v in history.items():
        by_w.setdefault(d.weekday(), []).append(v)
    overall = _median(list(history.values()))
    med = {w: (_median(vs) if len(vs) >= 2 else overall) for w, vs in by_w.items()}
    return med.get(day.weekday(), overall), med


def _loo_residuals(hist: Mapping[date, Decimal]) -> list[Decimal]:
    """|value - median of the other same-weekday values|: an honest (out-of-sample) prediction error.

    Residuals around a median fitted on the value itself would understate the spread (with four
    values per weekday, two residuals are half the middle gap) and page on noise.
    """
    by_w: dict[int, list[Decimal]] = {}
    for d, v in hist.items():
        by_w.setdefault(d.weekday(), []).append(v)
    allv = list(hist.values())
    out = []
    for d, v in hist.items():
        others = list(by_w[d.weekday()])
        others.remove(v)
        if len(others) < 2:
            others = list(allv)
            others.remove(v)
        out.append(abs(v - _median(others)))
    return out


def check(series: Mapping[date, Decimal], day: date, cfg: AnomalyConfig = AnomalyConfig()) -> Check | None:
    """Score ``day`` of one daily series against its trailing history; None without enough history."""
    hist = history_of(series, day, cfg.window)
    if len(hist) < cfg.min_history:
        return None
    expected, _ = expected_of(hist, day)
    resid = _loo_residuals(hist)
    scale = max(CONTEXT.multiply(MAD_K, _median(resid)), CONTEXT.multiply(expected, Decimal("0.01")))
    observed = series.get(day, ZERO)
    delta = observed - expected
    score = CONTEXT.divide(delta, scale) if scale > 0 else (Decimal(999) if delta > 0 else ZERO)
    anomalous = (delta >= cfg.min_impact and score >= cfg.threshold
                 and delta >= CONTEXT.multiply(cfg.min_ratio, expected))
    return Check(expected, observed, delta, scale, score.quantize(Decimal("0.01"), context=CONTEXT), anomalous)


def severity(delta: Decimal, expected: Decimal, cfg: AnomalyConfig) -> str:
    ratio = CONTEXT.divide(delta, expected) if expected > 0 else Decimal(999)
    if delta >= 10 * cfg.min_impact and ratio >= 1:
        return "critical"
    if ratio >= Decimal("0.5"):
        return "high"
    if ratio >= Decimal("0.2"):
        return "medium"
    return "low"


def anomaly_id(day: date, currency: str, dim: str, value: str) -> str:
    h = hashlib.blake2b(f"{currency}\x1f{dim}\x1f{value}".encode(), digest_size=6).hexdigest()
    return f"{day.isoformat()}-{h}"


def _rank(dim: str) -> int:
    return SPECIFICITY.get(dim, 10)


def detect(leaves: Mapping[tuple[str, ...], Mapping[date, Decimal]], dims: tuple[str, ...], day: date, *,
           currency: str, cfg: AnomalyConfig = AnomalyConfig(),
           suppressed: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Anomalies on ``day`` from leaf series keyed by one value per dimension in ``dims``.

    An empty value (e.g. an untagged resource for a tag dimension) forms no series of its own.
    Anomalies whose root cause is in ``suppressed`` (``<currency>#<dim>=<value>``) get the status
    ``expected``.
    """
    series: dict[tuple[str, str], dict[date, list[Decimal]]] = {}
    members: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for key, s in leaves.items():
        for i, dim in enumerate(dims):
            if not key[i]:
                continue
            members.setdefault((dim, key[i]), []).append(key)
            acc = series.setdefault((dim, key[i]), {})
            for d, v in s.items():
                acc.setdefault(d, []).append(v)
    flagged: list[tuple[tuple[str, str], Check]] = []
    for sk, acc in series.items():
        c = check({d: dsum(v) for d, v in acc.items()}, day, cfg)
        if c and c.anomalous:
            flagged.append((sk, c))
    if not flagged:
        return []

    def overlap_delta(a: tuple[str, str], b: tuple[str, str]) -> Decimal:
        common = set(members[a]) & set(members[b])
        if not common:
            return ZERO
        acc: dict[date, list[Decimal]] = {}
        for k in common:
            for d, v in leaves[k].items():
                acc.setdefault(d, []).append(v)
        c = check({d: dsum(v) for d, v in acc.items()}, day, cfg)
        return c.delta if c else ZERO

    flagged.sort(key=lambda x: (-x[1].delta, _rank(x[0][0]), x[0][1]))
    out: list[dict[str, Any]] = []
    supp = set(suppressed)
    remaining = list(flagged)
    while remaining:
        (top, tc), rest = remaining[0], remaining[1:]
        group = [(top, tc)]
        keep = []
        for sk, c in rest:
            (group if overlap_delta(sk, top) * 2 >= c.delta else keep).append((sk, c))
        remaining = keep
        explaining = [(sk, c) for sk, c in group if c.delta >= CONTEXT.multiply(cfg.explain_share, tc.delta)]
        root, rc = min(explaining, key=lambda x: (x[1].expected, -_rank(x[0][0]), x[0][1]))
        aid = anomaly_id(day, currency, root[0], root[1])
        out.append({
            "id": aid, "day": day.isoformat(), "currency": currency,
            "root_cause": {"dimension": root[0], "value": root[1]},
            "expected": rc.expected, "observed": rc.observed, "impact": rc.delta,
            "impact_percentage": (CONTEXT.divide(rc.delta * 100, rc.expected).quantize(Decimal("0.1"), context=CONTEXT)
                                  if rc.expected > 0 else None),
            "score": rc.score, "severity": severity(rc.delta, rc.expected, cfg),
            "contributors": [{"dimension": sk[0], "value": sk[1], "expected": c.expected, "observed": c.observed,
                              "impact": c.delta} for sk, c in group],
            "method": f"same-weekday median over {cfg.window} days, robust z >= {cfg.threshold} "
                      f"(1.4826 x median absolute leave-one-out residual), impact >= {cfg.min_impact} {currency} "
                      f"and >= {int(cfg.min_ratio * 100)} %",
            "status": "expected" if f"{currency}#{root[0]}={root[1]}" in supp else "open",
        })
    return out


def leaves_from_summary(results: Iterable[Mapping[str, Any]], dims: tuple[str, ...], metric: str = "EffectiveCost"
                        ) -> dict[str, dict[tuple[str, ...], dict[date, Decimal]]]:
    """Per currency, leaf series from :meth:`Store.summary` results grouped by ``dims`` at day granularity."""
    out: dict[str, dict[tuple[str, ...], dict[date, Decimal]]] = {}
    for row in results:
        key = tuple((row["group"].get(d) or "") for d in dims)
        d = date.fromisoformat(row["period"])
        s = out.setdefault(row["currency"], {}).setdefault(key, {})
        s[d] = CONTEXT.add(s.get(d, ZERO), row[metric])
    return out
