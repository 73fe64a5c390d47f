"""The columnar import engine: one streaming polars query per file maps, validates, aggregates and
sums exactly; Python then builds one :class:`~cloudtally.focus.CostRecord` per aggregated group.

Aggregation: line items whose charge period lies within one UTC day are summed into one record per
day and per distinct set of every other mapped column (resource, SKU, charge category, description,
tags, unit prices, ...). Rows whose period spans more than a day (monthly fees, taxes) keep their
own period. Amounts and quantities are summed exactly (see :mod:`.columns`); nothing else is lost.

Each record gets ``x_CostSource=billed``, ``x_Collector=import:<format>`` and an ``x_LineKey`` that
hashes its group, so ids are deterministic and a re-import replaces instead of adding.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import polars as pl

from .. import focus as F
from ..errors import ValidationError
from ..money import CONTEXT, ISO_CURRENCIES, ZERO
from .columns import (DEC, HI, LO, SCALE, WIDE_INT_DIGITS, WIDE_SCALE, Amount, amount, guess_format, needs_wide,
                      text, timestamp, wide_name, wide_stages)
from .formats import MAPPINGS, Built, Cols, check_required, detect

UTC = timezone.utc
SUMMED = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "ConsumedQuantity",
          "CommitmentDiscountQuantity", "PricingCurrencyEffectiveCost")
TOTALS = F.AMOUNT_COLUMNS
MAX_REJECTED_LISTED = 100
_CANON = {"ChargeCategory": F.CHARGE_CATEGORIES, "ChargeFrequency": F.CHARGE_FREQUENCIES,
          "ChargeClass": F.CHARGE_CLASSES}


@dataclass
class Converted:
    """The outcome of converting one file: records, exact totals, rejected rows."""

    file: str
    format: str
    rows: int = 0
    records: list[F.CostRecord] = field(default_factory=list)
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_count: int = 0
    warnings: list[str] = field(default_factory=list)
    periods: set[tuple[str, str, str, str, datetime]] = field(default_factory=set)  # collector, provider, account, billing period start
    seconds_columnar: float = 0.0
    seconds_records: float = 0.0
    wide: bool = False          # amounts read as two limbs (.columns): a value beyond 14 integer/24 decimal digits

    def summary(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "rows": self.rows, "records": len(self.records),
                "totals": self.totals, "rejected_count": self.rejected_count, "rejected": self.rejected,
                "warnings": self.warnings}


# ------------------------------------------------------------------ scanning
def scan(path: Path, categorical: list[str] | None = None) -> pl.LazyFrame:
    """All columns as text (exactness: nothing is inferred as float). CSV, CSV.gz (decompressed
    by the caller) or Parquet. ``categorical`` columns are read dictionary-encoded (the fast path
    groups by them: grouping by dictionary codes is ~2x cheaper than by strings)."""
    with open(path, "rb") as f:
        is_parquet = f.read(4) == b"PAR1"
    if is_parquet:
        lf = pl.scan_parquet(path)
        schema = lf.collect_schema()
        exprs = []
        for n, dt in schema.items():
            if dt == pl.String:
                exprs.append(pl.col(n))
            elif isinstance(dt, (pl.List, pl.Struct, pl.Array)) or dt == pl.Object:
                exprs.append(pl.col(n).cast(pl.String, strict=False) if not isinstance(dt, pl.List)
                             else _kv_list_json(pl.col(n), dt).alias(n))
            elif isinstance(dt, pl.Datetime):
                c = pl.col(n)
                if dt.time_zone is not None:
                    c = c.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                exprs.append(c.dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ").alias(n))
            elif dt in (pl.Float32, pl.Float64):
                # a float column (CUR 2.0 Parquet stores costs as DOUBLE): its shortest round-trip text is
                # the value AWS wrote; parsed from that text exactly, never used as a float
                exprs.append(pl.col(n).cast(pl.String).alias(n))
            else:
                exprs.append(pl.col(n).cast(pl.String).alias(n))
        lf = lf.select(exprs)
        return lf.with_columns([pl.col(c).cast(pl.Categorical) for c in categorical]) if categorical else lf
    return pl.scan_csv(path, infer_schema=False, has_header=True, encoding="utf8", quote_char='"',
                       raise_if_empty=True, schema_overrides={c: pl.Categorical for c in categorical or ()})


def _kv_list_json(col: pl.Expr, dt: pl.DataType) -> pl.Expr:
    """A Parquet MAP (list of key/value structs) as a JSON object string."""
    inner = dt.inner  # type: ignore[attr-defined]
    if isinstance(inner, pl.Struct) and len(inner.fields) == 2:
        k, v = inner.fields[0].name, inner.fields[1].name
        pair = pl.concat_str([pl.lit('"'), pl.element().struct.field(k).str.replace_all('"', '\\"', literal=True),
                              pl.lit('":"'),
                              pl.element().struct.field(v).cast(pl.String).str.replace_all('"', '\\"', literal=True),
                              pl.lit('"')])
        return pl.concat_str([pl.lit("{"), col.list.eval(pair).list.join(","), pl.lit("}")])
    return col.cast(pl.List(pl.String)).list.join(",")


def header(path: Path) -> list[str]:
    return list(scan(path).collect_schema().names())


def _samples(lf: pl.LazyFrame, names: list[str], n: int = 200) -> dict[str, list[str]]:
    if not names:
        return {}
    df = lf.select([text(pl.col(c)).alias(c) for c in names]).head(n).collect()
    return {c: [v for v in df[c].to_list() if v is not None] for c in names}


# ------------------------------------------------------------------ the query
def _canon_expr(name: str, col: pl.Expr) -> pl.Expr:
    table = {v.lower().replace("-", "").replace(" ", "").replace("_", ""): v for v in _CANON[name]}
    key = col.str.to_lowercase().str.replace_all(r"[-_ ]", "")
    return key.replace_strict(table, default=None, return_dtype=pl.String)


def build_query(lf: pl.LazyFrame, fmt: str, built: Built, time_formats: dict[str, str | None], *,
                group: bool = False, wide: bool = False, lo_built: Built | None = None
                ) -> tuple[pl.LazyFrame, pl.LazyFrame, list[str], list[str]]:
    """The lazy queries of one file: (row-level frame, aggregate, string key columns, tag columns).

    ``group=True`` runs the same mapping and checks over the output of :func:`phase1` (one row per
    group of identical text columns, amounts already summed) instead of over the file's rows.
    ``wide`` (:mod:`.columns`): amounts are limbs; ``built`` maps the integer limbs and, in group mode,
    ``lo_built`` (the same mapping over the fraction limbs) the fractions, summed as ``_lo_<name>``.
    """
    lf = lf.with_columns(pl.lit(None, dtype=pl.UInt32).alias("_row")) if group else lf.with_row_index("_row", offset=1)
    s: dict[str, pl.Expr] = {}
    errs: list[tuple[pl.Expr, str]] = []   # (condition, "FOCUS column|export column|reason")
    src = built.sources

    def where(focus_col: str) -> str:
        return src.get(focus_col, focus_col)

    for name, expr in built.strings.items():
        e = expr.cast(pl.String)
        if name in _CANON:
            raw = e
            e = _canon_expr(name, raw)
            if name == "ChargeClass":
                raw = pl.when(raw.str.to_uppercase() == "NULL").then(None).otherwise(raw)
            errs.append((raw.is_not_null() & e.is_null(),
                         f"{name}|{where(name)}|must be one of {', '.join(_CANON[name])}"))
        elif name == "ServiceCategory":
            table = {v.lower(): v for v in F.SERVICE_CATEGORIES}
            raw = e
            e = raw.str.to_lowercase().replace_strict(table, default=None, return_dtype=pl.String)
            errs.append((raw.is_not_null() & e.is_null(), f"{name}|{where(name)}|not a FOCUS service category"))
        elif name in ("BillingCurrency", "PricingCurrency"):
            e = e.str.to_uppercase()
            errs.append((e.is_not_null() & ~e.is_in(sorted(ISO_CURRENCIES)),
                         f"{name}|{where(name)}|not an ISO 4217 currency"))
        elif name == "x_CostSource":
            errs.append((e.is_not_null() & ~e.is_in(list(F.COST_SOURCES)),
                         f"{name}|x_CostSource|must be 'estimated', 'billed' or 'provisional'"))
        else:
            errs.append((e.str.len_chars() > F.MAX_STRING, f"{name}|{where(name)}|longer than {F.MAX_STRING} characters"))
        s[name] = e
    for req in ("ProviderName", "BillingAccountId", "BillingCurrency"):
        if req in s:
            errs.append((s[req].is_null(), f"{req}|{where(req)}|required value missing"))

    # times
    t: dict[str, pl.Expr] = {}
    for name in ("ChargePeriodStart", "BillingPeriodStart", "ChargePeriodEnd", "BillingPeriodEnd"):
        spec = built.times.get(name)
        if group and name in ("ChargePeriodStart", "ChargePeriodEnd"):
            t[name] = pl.col("_cs" if name == "ChargePeriodStart" else "_ce")
            continue
        if spec is None:
            continue
        if spec.source is not None:
            raw = text(pl.col(spec.source))
            fmt_ = time_formats.get(spec.source)
            val = timestamp(raw, fmt_)
            errs.append((raw.is_not_null() & val.is_null(),
                         f"{name}|{spec.source}|not a timestamp" + (f" like {fmt_}" if fmt_ else "")))
        elif spec.from_column is not None and spec.from_column in t:
            val = t[spec.from_column]
        else:
            continue
        if spec.add_days:
            val = val + pl.duration(days=spec.add_days)
        t[name] = val
    if "ChargePeriodStart" not in t:
        raise ValidationError(f"format {fmt}: no charge period start column")
    cs = t["ChargePeriodStart"]
    ce = t.get("ChargePeriodEnd", cs + pl.duration(days=1))
    errs.append((cs.is_null(), f"ChargePeriodStart|{where('ChargePeriodStart')}|required value missing"))
    errs.append((ce.is_null(), f"ChargePeriodEnd|{where('ChargePeriodEnd')}|required value missing"))
    bps = t.get("BillingPeriodStart")
    bpe = t.get("BillingPeriodEnd")
    month = cs.dt.truncate("1mo")
    bps = month if bps is None else pl.coalesce(bps, month)
    bpe = month.dt.offset_by("1mo") if bpe is None else pl.coalesce(bpe, bps.dt.offset_by("1mo"))

    # amounts: FOCUS defaults (EffectiveCost/ListCost ← BilledCost; ContractedCost ← EffectiveCost)
    if "BilledCost" not in built.amounts:
        raise ValidationError(f"format {fmt}: no BilledCost")
    am = _with_defaults(built.amounts)
    lo_am = _with_defaults(lo_built.amounts) if lo_built is not None else None
    limits = (f"at most {WIDE_INT_DIGITS} integer digits and {WIDE_SCALE} decimal places" if wide
              else f"at most {SCALE} decimal places")
    for name, a in built.amounts.items():
        errs.append((a.bad, f"{name}|{a.source}|not an exact decimal ({limits})"))
    b = am["BilledCost"]
    errs.append((b.value.is_null() & ~b.bad, f"BilledCost|{b.source}|required value missing"))
    for name, col in built.unit_prices.items():
        # unit prices stay text (parsed exactly when the record is built): any decimal of at most 38
        # significant digits (the frame carries their wide_stages columns)
        bad = pl.col(wide_name(col, "b")) | (pl.col(wide_name(col, "d")).str.strip_chars("0").str.len_bytes() > 38)
        errs.append((bad, f"{name}|{col}|not an exact decimal (at most 38 significant digits)"))

    if group:
        errs.append((pl.col("_bad1"), "row|row|a value that does not parse (see the rejected rows)"))
    # one-day bucketing: a charge inside one UTC day becomes that day
    day = cs.dt.truncate("1d")
    daily = ce <= day + pl.duration(days=1)
    err = pl.lit(None, dtype=pl.String)
    for cond, msg in reversed(errs):
        err = pl.when(cond.fill_null(False)).then(pl.lit(msg)).otherwise(err)

    cols: list[pl.Expr] = [pl.col("_row"), err.alias("_err")]
    key_names: list[str] = []
    for name, e in s.items():
        cols.append(e.alias(name))
        key_names.append(name)
    tag_names: list[str] = []
    if built.tags_json is not None:
        cols.append(built.tags_json.alias("_tags"))
        tag_names.append("_tags")
    for i, (k, col) in enumerate(sorted(built.tags_columns.items())):
        cols.append(text(pl.col(col)).alias(f"_tag{i}"))
        tag_names.append(f"_tag{i}")
    for name, col in built.unit_prices.items():
        cols.append(text(pl.col(col)).alias(name))
        key_names.append(name)
    cols += [pl.when(daily).then(day).otherwise(cs).alias("_cs"),
             pl.when(daily).then(day + pl.duration(days=1)).otherwise(ce).alias("_ce"),
             bps.alias("_bps"), bpe.alias("_bpe")]
    for name in SUMMED:
        a = am.get(name)
        if a is None:
            continue
        cols += [a.value.cast(HI if wide else DEC).alias(name), a.scale.alias(f"_sc_{name}")]
        if lo_am is not None:
            cols.append(lo_am[name].value.cast(LO).alias(f"_lo_{name}"))
    if group:
        cols.append(pl.col("_n"))
    q = lf.select(cols).with_columns(pl.col("_err").is_not_null().alias("_bad"))
    keys = key_names + tag_names + ["_cs", "_ce", "_bps", "_bpe", "_bad"]
    aggs: list[pl.Expr] = [(pl.col("_n").sum() if group else pl.len()).alias("_n"), pl.col("_row").min().alias("_row"),
                           pl.col("_err").first().alias("_err")]
    for name in SUMMED:
        if name in am:
            aggs += [pl.col(name).sum().alias(name), pl.col(name).is_not_null().any().alias(f"_has_{name}"),
                     pl.col(f"_sc_{name}").max().alias(f"_sc_{name}")]
            if lo_am is not None:
                aggs.append(pl.col(f"_lo_{name}").sum().alias(f"_lo_{name}"))
    return q, q.group_by(keys).agg(aggs), key_names, tag_names


def _with_defaults(amounts: dict[str, Amount]) -> dict[str, Amount]:
    """FOCUS defaults: EffectiveCost and ListCost ← BilledCost; ContractedCost ← EffectiveCost."""
    am = dict(amounts)

    def dflt(a: Amount | None, d: Amount) -> Amount:
        if a is None:
            return d
        return Amount(pl.coalesce(a.value, d.value), pl.when(a.value.is_null()).then(d.scale).otherwise(a.scale),
                      a.bad, a.source)

    b = am["BilledCost"]
    am["EffectiveCost"] = dflt(am.get("EffectiveCost"), b)
    am["ListCost"] = dflt(am.get("ListCost"), b)
    am["ContractedCost"] = dflt(am.get("ContractedCost"), am["EffectiveCost"])
    return am


def _charge_times(built: Built, time_formats: dict[str, str | None]) -> tuple[pl.Expr, pl.Expr]:
    t: dict[str, pl.Expr] = {}
    for name in ("ChargePeriodStart", "ChargePeriodEnd"):
        spec = built.times.get(name)
        if spec is None:
            continue
        if spec.source is not None:
            val = timestamp(text(pl.col(spec.source)), time_formats.get(spec.source))
        elif spec.from_column in t:
            val = t[spec.from_column]
        else:
            continue
        t[name] = val + pl.duration(days=spec.add_days) if spec.add_days else val
    cs = t["ChargePeriodStart"]
    return cs, t.get("ChargePeriodEnd", cs + pl.duration(days=1))


def phase1_keys(cols: Cols, built: Built) -> tuple[list[str], list[str]]:
    """(text key columns, amount columns) the mapping reads."""
    roots: set[str] = set()
    for e in built.strings.values():
        roots.update(e.meta.root_names())
    for a in built.amounts.values():
        for e in (a.value, a.scale, a.bad):
            roots.update(e.meta.root_names())
    if built.tags_json is not None:
        roots.update(built.tags_json.meta.root_names())
    roots.update(built.tags_columns.values())
    roots.update(built.unit_prices.values())
    for name in ("BillingPeriodStart", "BillingPeriodEnd"):
        spec = built.times.get(name)
        if spec is not None and spec.source:
            roots.add(spec.source)
    amount_cols = sorted(cols.amount_cols)
    return sorted(roots - set(amount_cols)), amount_cols


def phase1(lf: pl.LazyFrame, cols: Cols, built: Built, time_formats: dict[str, str | None], *,
           wide: bool = False) -> pl.LazyFrame:
    """The per-row pass of the fast path: group rows by every text column the mapping reads and
    the day-bucketed charge period, summing each amount column exactly (see :class:`Cols`).

    Intermediate values are materialized stage by stage (``with_columns``): the streaming engine
    does not share common subexpressions, and an amount's value, scale and validity reuse them.
    ``wide``: each amount is summed as its two limbs (:func:`.columns.split`), ``<name>`` and ``_lo_<name>``.
    """
    if wide:
        return _phase1_wide(lf, cols, built, time_formats)
    keys, amount_cols = phase1_keys(cols, built)
    cs, ce = _charge_times(built, time_formats)
    stage1: list[pl.Expr] = [pl.col(k) for k in keys] + [cs.alias("_t0"), ce.alias("_t1")]
    stage2: list[pl.Expr] = [pl.col("_t0").dt.truncate("1d").alias("_day")]
    stage3: list[pl.Expr] = [pl.when(pl.col("_t1") <= pl.col("_day") + pl.duration(days=1)).then(pl.lit(True))
                             .otherwise(pl.lit(False)).alias("_daily")]
    for i, n in enumerate(amount_cols):
        s = pl.col(n).cast(pl.String)
        stage1 += [s.alias(f"_s{i}")]
        stage2 += [pl.col(f"_s{i}").str.to_decimal(scale=SCALE).alias(f"_v{i}"),
                   pl.col(f"_s{i}").str.len_bytes().cast(pl.Int32).alias(f"_n{i}"),
                   pl.col(f"_s{i}").str.find(".", literal=True).cast(pl.Int32).alias(f"_d{i}"),
                   pl.coalesce(pl.col(f"_s{i}").str.find("E", literal=True),
                               pl.col(f"_s{i}").str.find("e", literal=True)).cast(pl.Int32).alias(f"_e{i}")]
        exp = pl.col(f"_s{i}").str.slice(pl.col(f"_e{i}") + 1).cast(pl.Int32, strict=False)
        frac = pl.col(f"_d{i}").is_null().not_() * (pl.coalesce(pl.col(f"_e{i}"), pl.col(f"_n{i}")) - pl.col(f"_d{i}") - 1)
        stage3 += [(frac.fill_null(0) - pl.when(pl.col(f"_e{i}").is_null()).then(0).otherwise(exp)).alias(f"_x{i}")]
    bad = pl.lit(False)
    final: list[pl.Expr] = [pl.col(k) for k in keys]
    final += [pl.when(pl.col("_daily")).then(pl.col("_day")).otherwise(pl.col("_t0")).alias("_cs"),
              pl.when(pl.col("_daily")).then(pl.col("_day") + pl.duration(days=1)).otherwise(pl.col("_t1")).alias("_ce")]
    aggs: list[pl.Expr] = [pl.len().alias("_n")]
    nul_keys = []
    for i, n in enumerate(amount_cols):
        present = pl.col(f"_s{i}").is_not_null() & (pl.col(f"_s{i}") != "NULL")
        bad = bad | (present & (pl.col(f"_v{i}").is_null() | pl.col(f"_x{i}").is_null()
                                | (pl.col(f"_x{i}") > SCALE)))
        final += [pl.col(f"_v{i}").cast(DEC).alias(n),
                  pl.max_horizontal(pl.col(f"_x{i}").fill_null(0), pl.lit(0, dtype=pl.Int32)).alias(f"_sc_{n}"),
                  pl.col(f"_v{i}").is_null().alias(f"_nul_{n}")]
        nul_keys.append(f"_nul_{n}")
        aggs += [pl.col(n).sum(), pl.col(f"_sc_{n}").max()]
    final.append(bad.alias("_bad1"))
    q = lf.select(stage1).with_columns(stage2).with_columns(stage3).select(final)
    return q.group_by(keys + ["_cs", "_ce", "_bad1"] + nul_keys).agg(aggs)


def with_wide_stages(lf: pl.LazyFrame, columns: Iterable[str]) -> pl.LazyFrame:
    """``lf`` with the :func:`.columns.wide_stages` columns of these text columns."""
    for stage in wide_stages(columns):
        if stage:
            lf = lf.with_columns(stage)
    return lf


def _phase1_wide(lf: pl.LazyFrame, cols: Cols, built: Built, time_formats: dict[str, str | None]) -> pl.LazyFrame:
    keys, amount_cols = phase1_keys(cols, built)
    cs, ce = _charge_times(built, time_formats)
    q = lf.select([pl.col(k) for k in keys] + [cs.alias("_t0"), ce.alias("_t1")] + [pl.col(n) for n in amount_cols])
    q = with_wide_stages(q.with_columns(pl.col("_t0").dt.truncate("1d").alias("_day")), amount_cols)
    daily = pl.col("_t1") <= pl.col("_day") + pl.duration(days=1)
    final: list[pl.Expr] = [pl.col(k) for k in keys]
    final += [pl.when(daily).then(pl.col("_day")).otherwise(pl.col("_t0")).alias("_cs"),
              pl.when(daily).then(pl.col("_day") + pl.duration(days=1)).otherwise(pl.col("_t1")).alias("_ce")]
    aggs: list[pl.Expr] = [pl.len().alias("_n")]
    nul_keys = []
    bad = pl.lit(False)
    for n in amount_cols:
        final += [pl.col(wide_name(n, "h")).cast(HI).alias(n), pl.col(wide_name(n, "l")).cast(LO).alias(f"_lo_{n}"),
                  pl.col(wide_name(n, "x")).alias(f"_sc_{n}"), pl.col(wide_name(n, "h")).is_null().alias(f"_nul_{n}")]
        nul_keys.append(f"_nul_{n}")
        aggs += [pl.col(n).sum(), pl.col(f"_lo_{n}").sum(), pl.col(f"_sc_{n}").max()]
        bad = bad | pl.col(wide_name(n, "b"))
    final.append(bad.alias("_bad1"))
    return q.select(final).group_by(keys + ["_cs", "_ce", "_bad1"] + nul_keys).agg(aggs)


# ------------------------------------------------------------------ records
_tags_cache: dict[str, dict[str, str] | None] = {}


def parse_tags(raw: str | None) -> dict[str, str] | None:
    """Tags from a JSON object, Azure's brace-less ``"k": "v","k2": "v2"`` or a GCP labels array.

    Returns None when the text is not any of these.
    """
    if raw is None:
        return {}
    hit = _tags_cache.get(raw)
    if hit is not None or raw in _tags_cache:
        return hit
    out: dict[str, str] | None
    s = raw.strip()
    try:
        if s.startswith("["):
            doc = json.loads(s)
            out = {str(d["key"]): str(d.get("value", "")) for d in doc}
        else:
            doc = json.loads(s if s.startswith("{") else "{" + s + "}")
            out = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in doc.items()} \
                if isinstance(doc, dict) else None
    except (ValueError, TypeError, KeyError):
        out = None
    if len(_tags_cache) > 100_000:
        _tags_cache.clear()
    _tags_cache[raw] = out
    return out


def _limit_tags(tags: dict[str, str], warnings: set[str]) -> dict[str, str]:
    if len(tags) <= F.MAX_TAGS and all(0 < len(k) <= F.MAX_TAG_KEY and len(v) <= F.MAX_TAG_VALUE
                                       for k, v in tags.items()):
        return tags
    out = {}
    for k in sorted(tags)[:F.MAX_TAGS]:
        if 0 < len(k) <= F.MAX_TAG_KEY:
            out[k] = tags[k][:F.MAX_TAG_VALUE]
    warnings.add(f"tags beyond {F.MAX_TAGS} keys, keys over {F.MAX_TAG_KEY} or values over "
                 f"{F.MAX_TAG_VALUE} characters were cut (sorted by key)")
    return out


def _amount_text(name: str, column: str | None = None, scale: int = SCALE) -> pl.Expr:
    """A summed Decimal(38, scale) as text with the group's own scale (exact: no input had more)."""
    txt = pl.col(column or name).cast(pl.String)
    keep = pl.col(f"_sc_{name}").fill_null(0).cast(pl.Int64)
    cut = txt.str.len_chars().cast(pl.Int64) - (scale - keep) - pl.when(keep == 0).then(1).otherwise(0)
    return pl.when(pl.col(f"_has_{name}")).then(txt.str.slice(0, cut)).otherwise(None)


def _fast_id(v: dict[str, Any], cs_iso: str, ce_iso: str) -> str:
    """:func:`cloudtally.focus.record_id` from ISO strings already at hand (tested equal on every
    sample record: tests/unit/test_import_samples.py)."""
    key = "\x1f".join((
        v["ProviderName"], v["BillingAccountId"], v.get("SubAccountId") or "", v.get("ResourceId") or "",
        v.get("SkuId") or "", v.get("SkuPriceId") or "", v["ServiceName"], v.get("RegionId") or "", cs_iso,
        ce_iso, v["ChargeCategory"], v.get("ChargeClass") or "", v.get("PricingUnit") or "",
        v["x_CostSource"], v.get("x_Collector") or "", v.get("x_LineKey") or "", v.get("CommitmentDiscountId") or "",
    ))
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def to_records(df: pl.DataFrame, fmt: str, key_names: list[str], tag_names: list[str],
               built: Built, out: Converted, *, wide: bool = False) -> None:
    """One CostRecord per good group; totals per currency.

    The per-group work that can be columnar is (amount text at its scale, ISO times, the line-key
    text); Python parses tags, builds the record and its id.
    """
    warnings: set[str] = set()
    collector = f"import:{fmt}"
    provider = MAPPINGS[fmt].provider or "Unknown"
    tag_keys = sorted(built.tags_columns)
    rec_fields = set(F._FIELD_NAMES)
    str_names = [n for n in key_names if n in rec_fields and n not in F.PRICE_COLUMNS]
    good0 = df.filter(~pl.col("_bad"))
    # text columns with one value in the whole file (the provider, the payer, the account types...) are
    # read once, not on every group
    constant: dict[str, Any] = {}
    if good0.height:
        uniq = good0.select([pl.col(n).n_unique().alias(n) for n in str_names]).row(0, named=True)
        for n in str_names:
            if uniq[n] == 1:
                constant[n] = good0[n][0]
    str_names = [n for n in str_names if n not in constant]
    constant = {k: v for k, v in constant.items() if v is not None}
    price_names = [n for n in key_names if n in F.PRICE_COLUMNS]
    summed = [n for n in SUMMED if n in df.columns]
    good = good0
    line_src = pl.concat_str([pl.col(k).cast(pl.String).fill_null("") for k in key_names + tag_names]
                             + [pl.col("_cs").cast(pl.String), pl.col("_ce").cast(pl.String)], separator="\x1f")
    if wide:   # integer limb (plain integer text) and fraction limb (at the group's scale), added below
        amounts_sel = [e for n in summed for e in (pl.when(pl.col(f"_has_{n}")).then(pl.col(n).cast(pl.String))
                                                   .alias(n), _amount_text(n, f"_lo_{n}", WIDE_SCALE).alias(f"_lo_{n}"))]
    else:
        amounts_sel = [_amount_text(n).alias(n) for n in summed]
    sel = ([pl.col(n) for n in str_names] + [pl.col(n) for n in price_names] + amounts_sel
           + [pl.col(t) for t in tag_names]
           + [pl.col(c).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f").alias(c + "_t")
              for c in ("_cs", "_ce", "_bps", "_bpe")]
           + [line_src.alias("_lk"), pl.col("_row")])
    frame = good.select(sel)
    n_str, n_price, n_sum, n_tag = len(str_names), len(price_names), len(summed), len(tag_names)
    has_json = "_tags" in tag_names
    add = CONTEXT.add
    mul = CONTEXT.multiply
    complete = F.complete
    products = tuple(built.products.items())
    totals: dict[str, list[Decimal]] = {}
    bad_tags: list[int] = []
    dec_cache: dict[str, Decimal] = {}
    blake = hashlib.blake2b
    D = Decimal
    records = out.records
    periods = out.periods

    iso_cache: dict[str, tuple[datetime, str]] = {}

    def utc(text_: str) -> tuple[datetime, str]:
        """(aware datetime, its focus.iso text) for polars' ``%Y-%m-%dT%H:%M:%S%.6f`` text, cached."""
        hit = iso_cache.get(text_)
        if hit is None:
            dt = datetime.fromisoformat(text_).replace(tzinfo=UTC)
            hit = iso_cache[text_] = (dt, F.iso(dt))
        return hit

    for row in frame.iter_rows():
        vals: dict[str, Any] = dict(constant)
        i = 0
        for n in str_names:
            v = row[i]
            if v is not None:
                vals[n] = v
            i += 1
        for n in price_names:
            v = row[i]
            if v is not None:
                d = dec_cache.get(v)
                if d is None:
                    d = dec_cache[v] = F.parse_amount(v)
                vals[n] = d
            i += 1
        if wide:
            for n in summed:
                v = row[i]
                if v is not None:
                    vals[n] = add(D(v), D(row[i + 1]))   # exact: CONTEXT's precision exceeds both limbs
                i += 2
        else:
            for n in summed:
                v = row[i]
                if v is not None:
                    vals[n] = D(v)
                i += 1
        tags: dict[str, str] = {}
        j = i
        if has_json:
            parsed = parse_tags(row[j])
            j += 1
            if parsed is None:
                bad_tags.append(row[j - 1])
                continue
            tags.update(parsed)
        for k in tag_keys:
            v = row[j]
            if v is not None:
                tags[k] = v
            j += 1
        i += n_tag
        cs, cs_iso = utc(row[i])
        ce, ce_iso = utc(row[i + 1])
        bps = utc(row[i + 2])[0]
        bpe = utc(row[i + 3])[0]
        lk_src = row[i + 4]
        if tags:
            vals["Tags"] = _limit_tags(tags, warnings)
        if ce <= cs:  # a point-in-time charge (refund, credit at an instant): its day
            ce = cs.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            if ce <= cs:
                ce = cs + timedelta(days=1)
            ce_iso = F.iso(ce)
        if bpe <= bps:
            bpe = F.month_bounds(bps)[1]
        vals["ChargePeriodStart"], vals["ChargePeriodEnd"] = cs, ce
        vals["BillingPeriodStart"], vals["BillingPeriodEnd"] = bps, bpe
        vals.setdefault("x_CostSource", "billed")
        vals.setdefault("x_Collector", collector)
        if not vals.get("x_LineKey"):
            vals["x_LineKey"] = blake(lk_src.encode(), digest_size=10).hexdigest()
        vals.setdefault("ProviderName", provider)
        p = vals["ProviderName"]
        vals.setdefault("PublisherName", p)
        vals.setdefault("InvoiceIssuerName", p)
        vals.setdefault("ChargeCategory", "Usage")
        vals.setdefault("ServiceName", "Unknown")
        vals.setdefault("ServiceCategory", "Other")
        b = vals["BilledCost"]
        e = vals.setdefault("EffectiveCost", b)
        vals.setdefault("ListCost", b)
        vals.setdefault("ContractedCost", e)
        if products:
            q = vals.get("PricingQuantity")
            if q is not None:
                for cost, price in products:
                    pv = vals.get(price)
                    if pv is not None:
                        vals[cost] = mul(pv, q)
        complete(vals)
        rid = _fast_id(vals, cs_iso, ce_iso)
        rec = F.CostRecord(**vals, id=rid)
        records.append(rec)
        cur = rec.BillingCurrency
        tot = totals.get(cur)
        if tot is None:
            tot = totals[cur] = [ZERO, ZERO, ZERO, ZERO]
        tot[0] = add(tot[0], rec.BilledCost)
        tot[1] = add(tot[1], rec.EffectiveCost)
        tot[2] = add(tot[2], rec.ListCost)
        tot[3] = add(tot[3], rec.ContractedCost)
        periods.add((rec.x_Collector, p, rec.BillingAccountId, bps))
    out.totals = {c: dict(zip(TOTALS, v)) for c, v in sorted(totals.items())}
    out.warnings.extend(sorted(warnings))
    if bad_tags:
        out.warnings.append(f"{len(bad_tags)} group(s) with unparsable tags")
        out.bad_tag_rows = bad_tags  # type: ignore[attr-defined]


# ------------------------------------------------------------------ one file
def convert_file(path: Path, fmt: str = "auto", *, display_name: str | None = None,
                 build_records: bool = True, wide: bool | None = None) -> Converted:
    """Convert one local file (CSV or Parquet; gzip already decompressed) to records and totals.

    Raises :class:`ValidationError` naming the file (and row 0, the header) for an unknown format
    or a missing required column. Rows with unparsable values are returned in ``rejected`` (file,
    row, column, reason); the caller decides whether that fails the import.

    The fast path is :func:`phase1` (one streaming pass over the rows) and the mapping over its
    groups (:func:`build_query` with ``group=True``). Only when a group fails a check does the slow
    path map and check every row on its own, to name each rejected row.

    ``wide``: read the amounts as two limbs (:mod:`.columns`); by default only when the file needs it.
    """
    import time
    name = display_name or str(path)
    try:
        lf = scan(path)
        names = list(lf.collect_schema().names())
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as e:
        raise ValidationError(f"{name}: cannot read as CSV or Parquet: {str(e).splitlines()[0][:300]}",
                              details=[{"file": name, "row": 0, "column": "", "message": "unreadable file"}]) from None
    detected = detect(names)
    if fmt == "auto":
        if detected is None:
            raise ValidationError(
                f"{name}: unknown billing export format (header matches none of {', '.join(MAPPINGS)}); "
                "pass --format", details=[{"file": name, "row": 0, "column": "", "message": "unknown format"}])
        fmt = detected
    elif fmt not in MAPPINGS:
        raise ValidationError(f"unknown format {fmt!r}; one of auto, {', '.join(MAPPINGS)}",
                              details=[{"file": name, "row": 0, "column": "", "message": "unknown format"}])
    check_required(fmt, names, name)
    cols = Cols(names)
    built = MAPPINGS[fmt].build(cols)
    time_cols = [s.source for s in built.times.values() if s.source]
    amount_cols = sorted(cols.amount_cols - set(time_cols))
    try:
        samples = _samples(lf, time_cols + amount_cols)
    except pl.exceptions.PolarsError as e:
        raise ValidationError(f"{name}: cannot read: {str(e).splitlines()[0][:300]}",
                              details=[{"file": name, "row": 0, "column": "", "message": "unreadable file"}]) from None
    formats = {c: guess_format(samples.get(c, [])) for c in time_cols}
    # wide mode (.columns) when the first rows already show a value the narrow column cannot hold
    auto = wide is None
    if auto:
        wide = needs_wide(v for c in amount_cols for v in samples.get(c, []))
    out = Converted(file=name, format=fmt)
    t0 = time.perf_counter()
    try:
        keys, _ = phase1_keys(cols, built)
        lf_cat = scan(path, categorical=keys)
        grouped = phase1(lf_cat, cols, built, formats, wide=wide).collect(engine="streaming")
        if auto and not wide and grouped["_bad1"].any():
            # a value the narrow column cannot hold further down (or one that is not a number): read the
            # file again in wide mode, whose limits are the only ones a row is rejected for
            wide = True
            grouped = phase1(lf_cat, cols, built, formats, wide=True).collect(engine="streaming")
        grouped = grouped.with_columns(pl.col(pl.Categorical).cast(pl.String))
        built_g = MAPPINGS[fmt].build(Cols(names, group=True, wide=wide))
        lo_g = MAPPINGS[fmt].build(Cols(names, group=True, wide=True, limb="lo")) if wide else None
        prices = list(built.unit_prices.values())
        _, agg_lf, key_names, tag_names = build_query(with_wide_stages(grouped.lazy(), prices), fmt, built_g, formats,
                                                      group=True, wide=wide, lo_built=lo_g)
        df = agg_lf.collect()
    except pl.exceptions.PolarsError as e:
        raise ValidationError(f"{name}: cannot read: {str(e).splitlines()[0][:300]}",
                              details=[{"file": name, "row": None, "column": "", "message": str(e)[:300]}]) from None
    out.wide = wide
    out.seconds_columnar = time.perf_counter() - t0
    out.rows = int(df["_n"].sum()) if df.height else 0
    bad = df.filter(pl.col("_bad"))
    if bad.height:
        # the slow path, only on failure: every row mapped and checked on its own, to name each one
        cols_r = Cols(names, wide=wide)
        built_r = MAPPINGS[fmt].build(cols_r)
        staged = with_wide_stages(lf, (sorted(cols_r.amount_cols) if wide else []) + list(built_r.unit_prices.values()))
        rows_lf, _, _, _ = build_query(staged, fmt, built_r, formats, wide=wide)
        out.rejected_count = int(rows_lf.filter(pl.col("_bad")).select(pl.len()).collect().item())
        sample = rows_lf.filter(pl.col("_bad")).select("_row", "_err").head(MAX_REJECTED_LISTED).collect()
        for r, e in sample.iter_rows():
            focus_col, column, reason = e.split("|", 2)
            out.rejected.append({"file": name, "row": r, "column": column, "focus_column": focus_col,
                                 "value": _value_at(lf, column, r), "message": reason})
    if build_records:
        t1 = time.perf_counter()
        to_records(df, fmt, key_names, tag_names, built, out, wide=wide)
        out.seconds_records = time.perf_counter() - t1
        bad_tags = getattr(out, "bad_tag_rows", [])
        if bad_tags and built.tags_json is not None:
            # groups whose tags do not parse: name their rows (their records were not built)
            col = built.tags_json.meta.root_names()[0]
            rows = (lf.with_row_index("_row", offset=1).filter(text(pl.col(col)).is_in(sorted(set(bad_tags))))
                    .select("_row", col).collect())
            out.rejected_count += rows.height
            for r, v in rows.head(MAX_REJECTED_LISTED).iter_rows():
                out.rejected.append({"file": name, "row": r, "column": col, "focus_column": "Tags",
                                     "value": (v or "")[:200], "message": "tags are not a JSON object"})
            out.warnings = [w for w in out.warnings if "unparsable tags" not in w]
    return out


def _value_at(lf: pl.LazyFrame, column: str, row: int) -> str | None:
    """The raw text of one cell (for error messages); None if the column is derived."""
    names = lf.collect_schema().names()
    cols = [c for c in column.replace("+", "|").split("|") if c in names]
    if not cols:
        return None
    df = lf.select(cols).slice(row - 1, 1).collect()
    vals = [df[c][0] for c in cols] if df.height else []
    v = " | ".join("" if x is None else str(x) for x in vals)
    return v[:200]
