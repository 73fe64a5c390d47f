"""Column building blocks for the source mappings: exact decimals, timestamps and text, as polars
expressions over the raw (all-string) columns of an export.

Exactness: an amount is parsed from its text into ``Decimal(38, SCALE)`` (an Int128 scaled by
10**SCALE) and summed as integers, so sums are exact. polars truncates digits beyond the scale
silently, so every amount also carries its own *scale* (its count of fractional digits, after the
exponent: ``9.24E-6`` → 8); a value with more than ``SCALE`` fractional digits is rejected instead of
being rounded, and a sum is given back with the largest scale of its inputs (what ``decimal`` gives).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import polars as pl

SCALE = 24                      # fractional digits kept exactly (Int128: 38 digits → 14 integer digits)
DEC = pl.Decimal(38, SCALE)
UTC = "UTC"


@dataclass(frozen=True)
class Amount:
    """A decimal amount: its value, its scale (fractional digits) and a validity flag.

    ``bad`` is true where the text was present but is not an exact decimal we can hold.
    ``source`` names the export column(s) it came from, for error messages.
    """

    value: pl.Expr
    scale: pl.Expr
    bad: pl.Expr
    source: str

    def __add__(self, other: "Amount") -> "Amount":
        return Amount(self.value.fill_null(0) + other.value.fill_null(0),
                      pl.max_horizontal(self.scale, other.scale), self.bad | other.bad,
                      f"{self.source}+{other.source}")

    def neg(self) -> "Amount":
        return Amount(-self.value, self.scale, self.bad, self.source)


def text(col: pl.Expr) -> pl.Expr:
    """Trimmed text with empty strings and the literal ``NULL`` as null."""
    s = col.cast(pl.String).str.strip_chars()
    return pl.when(s.is_in(["", "NULL", "null"])).then(None).otherwise(s)


def amount(name: str | None, *, source: str | None = None) -> Amount:
    """Exact decimal from a text column (plain or scientific notation); a missing column is null."""
    if name is None:
        return Amount(pl.lit(None, dtype=DEC), pl.lit(0, dtype=pl.Int32), pl.lit(False), source or "")
    return amount_expr(text(pl.col(name)), source or name)


def amount_expr(s: pl.Expr, source: str) -> Amount:
    value = s.str.to_decimal(scale=SCALE)
    n = s.str.len_bytes().cast(pl.Int32)
    e_up = s.str.find("E", literal=True)
    e_lo = s.str.find("e", literal=True)
    epos = pl.coalesce(e_up, e_lo).cast(pl.Int32)
    mant_end = pl.coalesce(epos, n)
    dot = s.str.find(".", literal=True).cast(pl.Int32)
    frac = pl.when(dot.is_null()).then(0).otherwise(mant_end - dot - 1)
    exp = pl.when(epos.is_null()).then(0).otherwise(
        s.str.slice(epos + 1).cast(pl.Int32, strict=False))
    scale = pl.max_horizontal(frac - exp.fill_null(0), pl.lit(0, dtype=pl.Int32)).cast(pl.Int32)
    bad = s.is_not_null() & (value.is_null() | exp.is_null() | (scale > SCALE)
                             | s.str.contains("(?i)nan|inf"))
    return Amount(value, pl.when(s.is_null()).then(0).otherwise(scale).cast(pl.Int32), bad, source)


def pick(cases: Iterable[tuple[pl.Expr, Amount]], default: Amount) -> Amount:
    """CASE WHEN cond THEN amount ... ELSE default, for value, scale and validity together."""
    cases = list(cases)
    value, scale, bad = pl.when(cases[0][0]), pl.when(cases[0][0]), pl.when(cases[0][0])
    v = value.then(cases[0][1].value)
    sc = scale.then(cases[0][1].scale)
    b = bad.then(cases[0][1].bad)
    for cond, a in cases[1:]:
        v = v.when(cond).then(a.value)
        sc = sc.when(cond).then(a.scale)
        b = b.when(cond).then(a.bad)
    srcs = sorted({a.source for _, a in cases} | {default.source})
    return Amount(v.otherwise(default.value), sc.otherwise(default.scale), b.otherwise(default.bad), "|".join(srcs))


# ------------------------------------------------------------------ timestamps
# Formats seen in real exports. The format of each time column is chosen from the file's first
# rows (exports are consistent within a file); a row in another format is rejected, naming it.
DATETIME_FORMATS = (
    ("%Y-%m-%dT%H:%M:%S%.fZ", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"),
    ("%Y-%m-%dT%H:%MZ", r"^\d{4}-\d\d-\d\dT\d\d:\d\dZ$"),
    ("%Y-%m-%dT%H:%M:%S%.f%:z", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$"),
    ("%Y-%m-%dT%H:%M:%S%.f", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$"),
    ("%Y-%m-%d %H:%M:%S%.f", r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$"),
    ("%Y-%m-%d %H:%M:%S%.f UTC", r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? UTC$"),
    ("%Y-%m-%d %H:%M:%S%.f%:z", r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$"),
    ("%Y-%m-%d", r"^\d{4}-\d\d-\d\d$"),
    ("%m/%d/%Y", r"^\d{1,2}/\d{1,2}/\d{4}$"),          # Azure EA/MCA: US month/day/year
    ("%m/%d/%Y %H:%M:%S", r"^\d{1,2}/\d{1,2}/\d{4} \d\d?:\d\d:\d\d$"),
)


def guess_format(samples: Iterable[str]) -> str | None:
    """The first format every sample matches (timestamps without a zone are UTC)."""
    import re
    vals = [s.strip() for s in samples if s and s.strip() and s.strip().upper() != "NULL"]
    if not vals:
        return None
    for fmt, rx in DATETIME_FORMATS:
        r = re.compile(rx)
        if all(r.match(v) for v in vals):
            return fmt
    return None


def timestamp(s: pl.Expr, fmt: str | None) -> pl.Expr:
    """Parse text to a UTC datetime (µs) with the given format; null where it does not parse."""
    if fmt is None:
        return pl.lit(None, dtype=pl.Datetime("us", UTC))
    if fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        return s.str.to_date(fmt, strict=False).cast(pl.Datetime("us")).dt.replace_time_zone(UTC)
    if fmt.endswith("z") and "%:z" in fmt or fmt.endswith("%:z"):
        return s.str.to_datetime(fmt, strict=False, time_unit="us", time_zone=UTC)
    if fmt.endswith(" UTC"):
        return s.str.strip_suffix(" UTC").str.to_datetime(fmt[:-4], strict=False, time_unit="us").dt.replace_time_zone(UTC)
    if fmt.endswith("Z"):
        return s.str.strip_suffix("Z").str.to_datetime(fmt[:-1], strict=False, time_unit="us").dt.replace_time_zone(UTC)
    return s.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone(UTC)
