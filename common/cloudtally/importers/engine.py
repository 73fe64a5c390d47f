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
from .columns import DEC, SCALE, Amount, guess_format, text, timestamp
from .formats import MAPPINGS, Built, Cols, check_required, detect

UTC = timezone.utc
SUMMED = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "ConsumedQuantity",
          "CommitmentDiscountQuantity")
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

    def summary(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "rows": self.rows, "records": len(self.records),
                "totals": self.totals, "rejected_count": self.rejected_count, "rejected": self.rejected,
                "warnings": self.warnings}


# ------------------------------------------------------------------ scanning
def scan(path: Path) -> pl.LazyFrame:
    """All columns as text (exactness: nothing is inferred as float). CSV, CSV.gz (decompressed
    by the caller) or Parquet."""
    name = path.name.lower()
    if name.endswith(".parquet"):
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
        return lf.select(exprs)
    return pl.scan_csv(path, infer_schema=False, has_header=True, encoding="utf8", quote_char='"',
                       raise_if_empty=True)


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


def build_query(lf: pl.LazyFrame, fmt: str, built: Built, time_formats: dict[str, str | None]
                ) -> tuple[pl.LazyFrame, pl.LazyFrame, list[str], list[str]]:
    """The lazy queries of one file: (row-level frame, aggregate, string key columns, tag columns)."""
    lf = lf.with_row_index("_row", offset=1)
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
                         f"{name}|x_CostSource|must be 'estimated' or 'billed'"))
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
    am: dict[str, Amount] = dict(built.amounts)
    if "BilledCost" not in am:
        raise ValidationError(f"format {fmt}: no BilledCost")
    for name, a in am.items():
        errs.append((a.bad, f"{name}|{a.source}|not an exact decimal (at most {SCALE} decimal places)"))
    b = am["BilledCost"]
    errs.append((b.value.is_null() & ~b.bad, f"BilledCost|{b.source}|required value missing"))

    def dflt(a: Amount | None, d: Amount) -> Amount:
        if a is None:
            return d
        return Amount(pl.coalesce(a.value, d.value), pl.when(a.value.is_null()).then(d.scale).otherwise(a.scale),
                      a.bad, a.source)

    am["EffectiveCost"] = dflt(am.get("EffectiveCost"), b)
    am["ListCost"] = dflt(am.get("ListCost"), b)
    am["ContractedCost"] = dflt(am.get("ContractedCost"), am["EffectiveCost"])
    for name, col in built.unit_prices.items():
        from .columns import amount as _amount
        errs.append((_amount(col).bad, f"{name}|{col}|not an exact decimal"))

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
        cols += [a.value.cast(DEC).alias(name), a.scale.alias(f"_sc_{name}")]
    q = lf.select(cols).with_columns(pl.col("_err").is_not_null().alias("_bad"))
    keys = key_names + tag_names + ["_cs", "_ce", "_bps", "_bpe", "_bad"]
    aggs: list[pl.Expr] = [pl.len().alias("_n"), pl.col("_row").min().alias("_row"),
                           pl.col("_err").first().alias("_err")]
    for name in SUMMED:
        if name in am:
            aggs += [pl.col(name).sum().alias(name), pl.col(name).is_not_null().any().alias(f"_has_{name}"),
                     pl.col(f"_sc_{name}").max().alias(f"_sc_{name}")]
    return q, q.group_by(keys).agg(aggs), key_names, tag_names


# ------------------------------------------------------------------ records
def _quantize(v: Decimal | None, scale: int | None) -> Decimal | None:
    if v is None:
        return None
    return v.quantize(Decimal(1).scaleb(-(scale or 0)), context=CONTEXT)


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


def _line_key(values: Iterable[Any]) -> str:
    h = hashlib.blake2b(digest_size=10)
    h.update("\x1f".join("" if v is None else str(v) for v in values).encode())
    return h.hexdigest()


def to_records(df: pl.DataFrame, fmt: str, key_names: list[str], tag_names: list[str],
               built: Built, out: Converted) -> None:
    """One CostRecord per good group; totals per currency; rejected groups counted."""
    warnings: set[str] = set()
    collector = f"import:{fmt}"
    tag_keys = sorted(built.tags_columns)
    names = df.columns
    idx = {n: i for i, n in enumerate(names)}
    key_idx = [idx[n] for n in key_names + tag_names + ["_cs", "_ce"]]
    summed = [n for n in SUMMED if n in idx]
    add = CONTEXT.add
    totals: dict[str, list[Decimal]] = {}
    rec_fields = set(F._FIELD_NAMES)
    str_fields = [(n, idx[n]) for n in key_names if n in rec_fields and n not in F.PRICE_COLUMNS]
    price_fields = [(n, idx[n]) for n in key_names if n in F.PRICE_COLUMNS]
    bad_tags: list[int] = []
    for row in df.iter_rows():
        if row[idx["_bad"]]:
            continue
        vals: dict[str, Any] = {n: row[i] for n, i in str_fields if row[i] is not None}
        for n, i in price_fields:
            if row[i] is not None:
                vals[n] = F.parse_amount(row[i])
        for n in summed:
            v = row[idx[n]]
            if v is not None and row[idx[f"_has_{n}"]]:
                vals[n] = _quantize(v, row[idx[f"_sc_{n}"]])
        tags: dict[str, str] = {}
        if "_tags" in idx:
            parsed = parse_tags(row[idx["_tags"]])
            if parsed is None:
                bad_tags.append(row[idx["_row"]])
                continue
            tags.update(parsed)
        for i, k in enumerate(tag_keys):
            v = row[idx[f"_tag{i}"]]
            if v is not None:
                tags[k] = v
        if tags:
            vals["Tags"] = _limit_tags(tags, warnings)
        cs, ce = row[idx["_cs"]], row[idx["_ce"]]
        if ce <= cs:  # a point-in-time charge (refund, credit at an instant): its day
            ce = cs.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            if ce <= cs:
                ce = cs + timedelta(days=1)
        vals["ChargePeriodStart"], vals["ChargePeriodEnd"] = cs, ce
        bps, bpe = row[idx["_bps"]], row[idx["_bpe"]]
        if bpe <= bps:
            bpe = F.month_bounds(bps)[1]
        vals["BillingPeriodStart"], vals["BillingPeriodEnd"] = bps, bpe
        vals.setdefault("x_CostSource", "billed")
        vals.setdefault("x_Collector", collector)
        if not vals.get("x_LineKey"):
            vals["x_LineKey"] = _line_key(row[i] for i in key_idx)
        vals.setdefault("ProviderName", MAPPINGS[fmt].provider or "Unknown")
        vals.setdefault("PublisherName", vals["ProviderName"])
        vals.setdefault("InvoiceIssuerName", vals["ProviderName"])
        vals.setdefault("ChargeCategory", "Usage")
        vals.setdefault("ServiceName", "Unknown")
        vals.setdefault("ServiceCategory", "Other")
        rec = F.CostRecord(**vals)
        out.records.append(rec)
        tot = totals.get(rec.BillingCurrency)
        if tot is None:
            tot = totals[rec.BillingCurrency] = [ZERO, ZERO, ZERO, ZERO]
        tot[0] = add(tot[0], rec.BilledCost)
        tot[1] = add(tot[1], rec.EffectiveCost)
        tot[2] = add(tot[2], rec.ListCost)
        tot[3] = add(tot[3], rec.ContractedCost)
        out.periods.add((rec.x_Collector, rec.ProviderName, rec.BillingAccountId, rec.BillingPeriodStart))
    out.totals = {c: dict(zip(TOTALS, v)) for c, v in sorted(totals.items())}
    out.warnings.extend(sorted(warnings))
    if bad_tags:
        out.warnings.append(f"{len(bad_tags)} group(s) with unparsable tags (first row {min(bad_tags)})")
        out.bad_tag_rows = bad_tags  # type: ignore[attr-defined]


def _to_utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


# ------------------------------------------------------------------ one file
def convert_file(path: Path, fmt: str = "auto", *, display_name: str | None = None,
                 build_records: bool = True) -> Converted:
    """Convert one local file (CSV or Parquet; gzip already decompressed) to records and totals.

    Raises :class:`ValidationError` naming the file (and row 0, the header) for an unknown format
    or a missing required column. Rows with unparsable values are returned in ``rejected`` (file,
    row, column, reason); the caller decides whether that fails the import.
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
    built = MAPPINGS[fmt].build(Cols(names))
    time_cols = [s.source for s in built.times.values() if s.source]
    try:
        samples = _samples(lf, time_cols)
    except pl.exceptions.PolarsError as e:
        raise ValidationError(f"{name}: cannot read: {str(e).splitlines()[0][:300]}",
                              details=[{"file": name, "row": 0, "column": "", "message": "unreadable file"}]) from None
    formats = {c: guess_format(samples.get(c, [])) for c in time_cols}
    out = Converted(file=name, format=fmt)
    rows_lf, agg_lf, key_names, tag_names = build_query(lf, fmt, built, formats)
    t0 = time.perf_counter()
    try:
        df = agg_lf.collect(engine="streaming")
    except pl.exceptions.PolarsError as e:
        raise ValidationError(f"{name}: cannot read: {str(e).splitlines()[0][:300]}",
                              details=[{"file": name, "row": None, "column": "", "message": str(e)[:300]}]) from None
    out.seconds_columnar = time.perf_counter() - t0
    out.rows = int(df["_n"].sum()) if df.height else 0
    bad = df.filter(pl.col("_bad"))
    if bad.height:
        out.rejected_count = int(bad["_n"].sum())
        sample = rows_lf.filter(pl.col("_bad")).select("_row", "_err").head(MAX_REJECTED_LISTED).collect()
        for r, e in sample.iter_rows():
            focus_col, column, reason = e.split("|", 2)
            value = _value_at(lf, column, r)
            out.rejected.append({"file": name, "row": r, "column": column, "focus_column": focus_col,
                                 "value": value, "message": reason})
    if build_records:
        t1 = time.perf_counter()
        to_records(df, fmt, key_names, tag_names, built, out)
        out.seconds_records = time.perf_counter() - t1
        for r in getattr(out, "bad_tag_rows", [])[:MAX_REJECTED_LISTED]:
            out.rejected_count += 1
            out.rejected.append({"file": name, "row": r, "column": "Tags", "focus_column": "Tags",
                                 "value": _value_at(lf, "Tags", r), "message": "tags are not a JSON object"})
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
