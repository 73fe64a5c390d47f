"""Column building blocks for the source mappings: exact decimals, timestamps and text, as polars
expressions over the raw (all-string) columns of an export.

Exactness: an amount is parsed from its text into ``Decimal(38, SCALE)`` (an Int128 scaled by
10**SCALE) and summed as integers, so sums are exact. polars rounds digits beyond the scale
silently, so every amount also carries its own *scale* (its count of fractional digits, after the
exponent: ``9.24E-6`` → 8), and a sum is given back with the largest scale of its inputs (what
``decimal`` gives).

That one column holds 14 integer and 24 fractional digits. A file with a value it cannot hold
(Azure's .NET decimals carry 28 fractional digits: ``0.0000000072922557592391990000``) is read in
*wide* mode instead: every amount is split, from its text, into two exact limbs, its integer part
(``Decimal(38, 0)``: up to 38 digits) and its fraction (``Decimal(38, WIDE_SCALE)``: up to
``WIDE_SCALE`` = 30 decimals), each summed on its own and added back exactly in Python. Every
mapping over amounts is linear (choose by a text condition, add, negate), so it runs on each limb
alike. A value beyond that (more decimals or integer digits, not a number) rejects its row instead
of being rounded; a sum beyond a limb (10^38, or 10^8 rows of fractions) stops the file with an
error, never a wrong total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import polars as pl

SCALE = 24                      # fractional digits kept exactly (Int128: 38 digits → 14 integer digits)
DEC = pl.Decimal(38, SCALE)
NARROW_INT_DIGITS = 38 - SCALE
WIDE_SCALE = 30                 # wide mode: decimals of the fraction limb (.NET decimals have at most 28)
WIDE_INT_DIGITS = 38            # wide mode: digits of the integer limb
HI = pl.Decimal(38, 0)
LO = pl.Decimal(38, WIDE_SCALE)
UTC = "UTC"
_ZEROS = "0" * (WIDE_INT_DIGITS + WIDE_SCALE + 2)


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


def amount(name: str | None, *, source: str | None = None, wide: bool = False) -> Amount:
    """Exact decimal from a text column (plain or scientific notation); a missing column is null.

    ``wide``: the integer limb, scale and validity of the column, read from the columns
    :func:`wide_stages` added to the frame (the value is only used for its null-ness there).
    """
    if name is None:
        return Amount(pl.lit(None, dtype=DEC), pl.lit(0, dtype=pl.Int32), pl.lit(False), source or "")
    if wide:
        return Amount(pl.col(wide_name(name, "h")), pl.col(wide_name(name, "x")), pl.col(wide_name(name, "b")),
                      source or name)
    return amount_expr(text(pl.col(name)), source or name)


def wide_name(column: str, part: str) -> str:
    """The column :func:`wide_stages` writes ``part`` of ``column`` to: h (integer limb), l (fraction
    limb), x (scale), b (bad)."""
    return f"_w{part}_{column}"


def wide_stages(columns: Iterable[str]) -> list[list[pl.Expr]]:
    """``with_columns`` stages splitting each text column into its two exact limbs, scale and validity.

    The text is rewritten in plain notation (digits and the point moved by the exponent), then cut
    at the point: ``-12.5E-3`` → integer limb 0, fraction limb -0.0125, scale 4. ``bad`` where the
    text is present but not a decimal, or beyond the limbs (more than 38 integer digits or
    ``WIDE_SCALE`` decimals). Nothing is rounded: a limb receives at most the digits it holds.
    Each stage computes what the next reuses (the streaming engine shares no subexpressions).
    """
    cols = list(dict.fromkeys(columns))
    i32 = pl.Int32
    zero = pl.lit(0, dtype=i32)

    def c(col: str, part: str) -> pl.Expr:
        return pl.col(f"_w{part}_{col}")

    def stage(f) -> list[pl.Expr]:
        return [e for col in cols for e in f(col)]

    return [
        stage(lambda k: [text(pl.col(k).cast(pl.String)).alias(f"_ws_{k}")]),
        stage(lambda k: [c(k, "s").str.starts_with("-").alias(f"_wn_{k}"),
                         c(k, "s").str.strip_prefix("-").str.strip_prefix("+").alias(f"_wy_{k}")]),
        stage(lambda k: [pl.coalesce(c(k, "y").str.find("E", literal=True),
                                     c(k, "y").str.find("e", literal=True)).cast(i32).alias(f"_we_{k}")]),
        stage(lambda k: [
            pl.when(c(k, "e").is_null()).then(c(k, "y")).otherwise(c(k, "y").str.slice(0, c(k, "e"))).alias(f"_wm_{k}"),
            pl.when(c(k, "e").is_null()).then(zero).otherwise(
                c(k, "y").str.slice(c(k, "e") + 1).cast(i32, strict=False)).alias(f"_wp_{k}")]),
        stage(lambda k: [
            c(k, "m").str.replace(".", "", literal=True).alias(f"_wd_{k}"),
            (pl.coalesce(c(k, "m").str.find(".", literal=True).cast(i32), c(k, "m").str.len_bytes().cast(i32))
             + c(k, "p")).alias(f"_wt_{k}")]),
        stage(lambda k: [
            pl.max_horizontal(c(k, "d").str.len_bytes().cast(i32) - c(k, "t"), zero).cast(i32).alias(f"_wx_{k}"),
            pl.when(c(k, "t") <= 0).then(pl.lit("0")).otherwise(pl.concat_str(
                [c(k, "d").str.slice(0, c(k, "t")),
                 pl.lit(_ZEROS).str.slice(0, pl.max_horizontal(c(k, "t") - c(k, "d").str.len_bytes().cast(i32), zero))])
            ).alias(f"_wi_{k}"),
            pl.when(c(k, "t") <= 0).then(pl.concat_str([pl.lit(_ZEROS).str.slice(0, -c(k, "t")), c(k, "d")]))
            .otherwise(c(k, "d").str.slice(pl.max_horizontal(c(k, "t"), zero))).alias(f"_wf_{k}")]),
        stage(lambda k: [((c(k, "t") <= WIDE_INT_DIGITS) & (c(k, "x") <= WIDE_SCALE)).alias(f"_wk_{k}"),
                         pl.when(c(k, "n")).then(pl.lit("-")).otherwise(pl.lit("")).alias(f"_wg_{k}")]),
        stage(lambda k: [
            pl.when(c(k, "k")).then(pl.concat_str([c(k, "g"), c(k, "i")]).str.to_decimal(scale=0)).alias(f"_wh_{k}"),
            # a trailing "0" keeps "0." valid when there is no fraction; it adds no digit beyond the scale
            pl.when(c(k, "k")).then(pl.concat_str([c(k, "g"), pl.lit("0."), c(k, "f"), pl.lit("0")])
                                    .str.to_decimal(scale=WIDE_SCALE)).alias(f"_wl_{k}")]),
        stage(lambda k: [
            (c(k, "s").is_not_null() & (c(k, "p").is_null() | (c(k, "d").str.len_bytes() == 0) | ~c(k, "k")
                                       | c(k, "h").is_null() | c(k, "l").is_null()
                                       | ~c(k, "d").str.contains(r"^[0-9]+$"))).alias(f"_wb_{k}"),
            pl.when(c(k, "s").is_null()).then(zero).otherwise(c(k, "x")).alias(f"_wx_{k}")]),
    ]


def needs_wide(samples: Iterable[str]) -> bool:
    """Whether any of these decimal texts is beyond the narrow column (14 integer, 24 fractional digits)."""
    from decimal import Decimal, InvalidOperation
    for v in samples:
        try:
            d = Decimal(v)
        except (InvalidOperation, ValueError):
            continue
        if not d.is_finite():
            continue
        t = d.as_tuple()
        if -t.exponent > SCALE or d.adjusted() >= NARROW_INT_DIGITS:
            return True
    return False


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
