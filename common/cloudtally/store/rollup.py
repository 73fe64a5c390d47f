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
from typing import Any, Callable, Iterable

from ..money import CONTEXT, fmt
from .codec import parse_number

# cube row layout
DIMS = ("currency", "provider", "service", "account", "subaccount", "region", "category", "source", "superseded")
AMOUNTS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
# The small "lite" cube keeps only these dimensions (account/sub-account/region/tags blanked). It answers
# the common dashboard queries (by provider, service, category, source) for a few KB per day.
LITE_DIMS = frozenset({"currency", "provider", "service", "category", "source"})
_ADD = CONTEXT.add


def _g(item: dict, short: str, default: str = "") -> str:
    av = item.get(short)
    return av["S"] if av is not None else default


def _detail_key(i: dict) -> tuple[str, ...]:
    return (_g(i, "p"), _g(i, "a"), _g(i, "sa"), _g(i, "rg"), _g(i, "s"), _g(i, "col"))


def supersede_rule(items: Iterable[dict[str, dict[str, Any]]]) -> Callable[[dict[str, dict[str, Any]]], bool]:
    """The supersede rule of one day (module docstring), as a predicate over that day's raw record items.

    Every total (the rollups, hence ``summary``) and the FOCUS export ask this one predicate, so a
    view never counts what the totals leave out.
    """
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
    superseded = supersede_rule(items)
    cube: dict[tuple, list] = {}
    res: dict[tuple, list] = {}
    for i in items:
        src = _g(i, "src", "estimated")
        prov, acct = _g(i, "p"), _g(i, "a")
        sup = "1" if superseded(i) else ""
        bc = parse_number(i["bc"])
        ec = parse_number(i["ec"]) if "ec" in i else bc
        lc = parse_number(i["lc"]) if "lc" in i else bc
        cc = parse_number(i["cc"]) if "cc" in i else ec
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


def lite(cube: dict[tuple, list]) -> dict[tuple, list]:
    """Collapse a cube onto :data:`LITE_DIMS` (same row layout; dropped dimensions are empty)."""
    out: dict[tuple, list] = {}
    for k, v in cube.items():
        key = (k[0], k[1], k[2], "", "", "", k[6], k[7], k[8])
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


def decode(blob: bytes) -> tuple[tuple[str, ...], list[list]]:
    data = json.loads(zlib.decompress(blob))
    return tuple(data["t"]), data["r"]


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
