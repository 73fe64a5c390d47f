"""Daily rollups, computed from a day's records (never incremented blindly).

A day's *cube* holds one row per distinct (currency, provider, service, account, sub-account,
region, charge category, cost source, superseded, allocation-tag values) with the four FOCUS
amounts and a record count. The *resource rollup* holds one row per resource. Both are derived
from the records alone, so recomputing after re-sends, concurrent writes or a crash gives the
exact answer.

Supersede rules (superseded rows are kept for estimate-accuracy reporting, excluded from every total):

* when a day has billed records for a (provider, billing account), that pair's estimated and
  provisional records of the day are superseded;
* a collector's ``provisional`` aggregates ("today so far", see :mod:`cloudtally.collectors.delivery`)
  are superseded once the same collector's per-resource ``estimated`` records exist for the same
  provider, account, sub-account, region and service of the day (written at day close).
"""

from __future__ import annotations

import json
import zlib
from decimal import Decimal
from typing import Any, Iterable, NamedTuple

from ..money import CONTEXT, fmt

# cube row layout (on disk a row is a list: these dimensions, the allocation-tag values, the four amounts as
# decimal strings, the record count); in code rows are read through CubeRow / ResourceRow
DIMS = ("currency", "provider", "service", "account", "subaccount", "region", "category", "source", "superseded")
RESOURCE_DIMS = ("resource_id", "resource_name", "provider", "service", "account", "region", "currency", "source",
                 "superseded")
AMOUNTS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
# The small "lite" cube keeps only these dimensions (account/sub-account/region/tags blanked). It answers
# the common dashboard queries (by provider, service, category, source) for a few KB per day.
LITE_DIMS = frozenset({"currency", "provider", "service", "category", "source"})


class CubeRow(NamedTuple):
    """One row of a day's cube: a distinct combination of dimensions, its amounts and record count."""

    currency: str
    provider: str
    service: str
    account: str
    subaccount: str
    region: str
    category: str
    source: str
    superseded: str          # "1" when billed cost (or per-resource detail) supersedes it, else ""
    tags: tuple[str, ...]    # values of the cube's allocation tag keys, in their order ("" = untagged)
    amounts: tuple[str, str, str, str]   # BilledCost, EffectiveCost, ListCost, ContractedCost
    records: int

    def dim(self, name: str) -> str:
        return getattr(self, name)


class ResourceRow(NamedTuple):
    """One row of a day's per-resource rollup."""

    resource_id: str
    resource_name: str
    provider: str
    service: str
    account: str
    region: str
    currency: str
    source: str
    superseded: str
    tags: tuple[str, ...]
    amounts: tuple[str, str, str, str]
    records: int


class Cube(NamedTuple):
    tag_keys: tuple[str, ...]
    rows: list

    def tag_index(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.tag_keys)}


_ADD = CONTEXT.add
_LITE_KEEP = frozenset(i for i, d in enumerate(DIMS) if d in LITE_DIMS or d == "superseded")


def _g(item: dict, short: str, default: str = "") -> str:
    av = item.get(short)
    return av["S"] if av is not None else default


def _detail_key(i: dict) -> tuple[str, ...]:
    return (_g(i, "p"), _g(i, "a"), _g(i, "sa"), _g(i, "rg"), _g(i, "s"), _g(i, "col"))


def superseded_fn(items: Iterable[dict[str, dict[str, Any]]]):
    """For one day's raw record items: a function telling whether an item of them is superseded (the rules
    above), so whatever reads records directly counts exactly what the rollups count."""
    billed_pairs = set()
    detailed = set()
    for i in items:
        src = _g(i, "src", "estimated")
        if src == "billed":
            billed_pairs.add((_g(i, "p"), _g(i, "a")))
        elif src == "estimated":
            detailed.add(_detail_key(i))

    def superseded(i: dict[str, dict[str, Any]]) -> bool:
        src = _g(i, "src", "estimated")
        return src != "billed" and ((_g(i, "p"), _g(i, "a")) in billed_pairs or (
            src == "provisional" and _detail_key(i) in detailed))

    return superseded


def build(items: Iterable[dict[str, dict[str, Any]]], tag_keys: tuple[str, ...]) -> tuple[dict, dict]:
    """Cube and resource rollup of one day from its raw record items."""
    items = list(items)
    is_superseded = superseded_fn(items)
    cube: dict[tuple, list] = {}
    res: dict[tuple, list] = {}
    for i in items:
        src = _g(i, "src", "estimated")
        prov, acct = _g(i, "p"), _g(i, "a")
        sup = "1" if is_superseded(i) else ""
        bc = Decimal(i["bc"]["N"])
        ec = Decimal(i["ec"]["N"]) if "ec" in i else bc
        lc = Decimal(i["lc"]["N"]) if "lc" in i else bc
        cc = Decimal(i["cc"]["N"]) if "cc" in i else ec
        tags = i.get("tg", {}).get("M", {})
        tvals = tuple(tags[k]["S"] if k in tags else "" for k in tag_keys)
        cur, svc, region = _g(i, "cur"), _g(i, "s"), _g(i, "rg")
        key = (cur, prov, svc, acct, _g(i, "sa"), region, _g(i, "cat", "Usage"), src, sup) + tvals
        _accumulate(cube, key, bc, ec, lc, cc)
        rid = _g(i, "r")
        if rid:
            _accumulate(res, (rid, _g(i, "rn"), prov, svc, acct, region, cur, src, sup) + tvals, bc, ec, lc, cc)
    return cube, res


def _accumulate(rows: dict[tuple, list], key: tuple, bc: Decimal, ec: Decimal, lc: Decimal, cc: Decimal) -> None:
    row = rows.get(key)
    if row is None:
        rows[key] = [bc, ec, lc, cc, 1]
    else:
        row[0] = _ADD(row[0], bc); row[1] = _ADD(row[1], ec)
        row[2] = _ADD(row[2], lc); row[3] = _ADD(row[3], cc); row[4] += 1


def lite(day_cube: dict[tuple, list]) -> dict[tuple, list]:
    """Collapse a cube onto :data:`LITE_DIMS` (same row layout; dropped dimensions are empty)."""
    out: dict[tuple, list] = {}
    n = len(DIMS)
    for k, v in day_cube.items():
        key = tuple(k[i] if i in _LITE_KEEP else "" for i in range(n))
        row = out.get(key)
        if row is None:
            out[key] = list(v)
        else:
            for j in range(4):
                row[j] = _ADD(row[j], v[j])
            row[4] += v[4]
    return out


def encode(rows: dict[tuple, list], tag_keys: tuple[str, ...]) -> bytes:
    data = {"t": list(tag_keys),
            "r": [list(k) + [fmt(v[0]), fmt(v[1]), fmt(v[2]), fmt(v[3]), v[4]] for k, v in rows.items()]}
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 6)


def _rows(data: dict, row_type: type, n_dims: int) -> Cube:
    tks = tuple(data["t"])
    nt = len(tks)
    make = row_type._make
    return Cube(tks, [make(r[:n_dims] + [tuple(r[n_dims:n_dims + nt]), tuple(r[n_dims + nt:n_dims + nt + 4]),
                                         r[-1]]) for r in data["r"]])


def decode(blob: bytes) -> Cube:
    """A cube item's rows as :class:`CubeRow`."""
    return _rows(json.loads(zlib.decompress(blob)), CubeRow, len(DIMS))


def decode_resources(blob: bytes) -> Cube:
    """A per-resource rollup item's rows as :class:`ResourceRow`."""
    return _rows(json.loads(zlib.decompress(blob)), ResourceRow, len(RESOURCE_DIMS))


def chunks(rows: dict[tuple, list], tag_keys: tuple[str, ...], max_bytes: int = 300_000) -> list[bytes]:
    """Split a resource rollup into items below DynamoDB's 400 KB item limit."""
    out: list[bytes] = []
    items = list(rows.items())
    if not items:
        return [encode({}, tag_keys)]
    n = 1
    while True:
        size = -(-len(items) // n)
        parts = [encode(dict(items[j:j + size]), tag_keys) for j in range(0, len(items), size)]
        if max(len(p) for p in parts) <= max_bytes:
            return parts
        n *= 2
