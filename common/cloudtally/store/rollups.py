"""Rollups: each day's cubes recomputed from its records (versioned, never incremented), dirty days,
and per-resource month-to-date prefix sums for ranges.

Item kinds (``pk`` / ``sk``):

* ``U#<month>`` / ``<day>#d``: the day's dirty marker (``v``, bumped by every write);
  ``U#<month>`` / ``<day>``: the lite cube, whose ``rv`` is the marker version it was computed at
* ``V#<month>`` / ``<day>``: the full cube; ``T#<month>`` / ``<day>#<chunk>``: the per-resource rollup
* ``Q#<month>`` / ``<day>``: the signature of the day's month-to-date per-resource sums;
  ``P#<month>`` / ``<day>#<chunk>``: those sums (the per-resource rows of every day of the month up to
  ``<day>``, added). A range inside a month is ``MTD(last) − MTD(first − 1)``: two reads whatever its
  length. The sums are computed on first read from the nearest valid earlier day and kept until a day
  they include changes (the signature names each included day's rollup version).
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal
from typing import Iterable, Iterator

from .. import periods
from ..money import CONTEXT
from ..query import Query
from . import cube
from .base import DB_ERRORS, conditional_failed


class RollupsMixin:
    # ------------------------------------------------------------------ day rollups
    def marker_version(self, day: str) -> int:
        it = self.get_item("U#" + day[:7], day + "#d")
        return int((it or {}).get("v", {}).get("N", "0"))

    def refresh_day(self, day: str, *, marker: dict | None = None, locked: bool | None = None) -> bool:
        """Recompute one day's rollups from its records; safe under concurrency (versioned writes).

        A day locked by an import that is committing keeps its previous rollup (returns False): the
        import's period becomes visible all at once (:mod:`.imports`). ``marker``/``locked``: what the
        caller already read of the day's marker and its lock."""
        marker = marker if marker is not None else (self.get_item("U#" + day[:7], day + "#d") or {})
        lock = marker.get("ri", {}).get("S")
        if lock:
            if locked if locked is not None else bool(self.import_locks([lock])):
                return False
            self._unlock(day, lock)
        version = int(marker.get("v", {}).get("N", "0"))
        return self.write_rollups(day, version, self.iter_day_items(day))

    def _unlock(self, day: str, import_id: str) -> None:
        """Drop a finished import's lock from a day's marker (once; a newer lock is left alone)."""
        try:
            self._call("UpdateItem", {"TableName": self.table, "Key": {"pk": {"S": "U#" + day[:7]}, "sk": {"S": day + "#d"}},
                                      "UpdateExpression": "REMOVE ri", "ConditionExpression": "ri = :ri",
                                      "ExpressionAttributeValues": {":ri": {"S": import_id}}}, "write")
        except DB_ERRORS as e:
            if not conditional_failed(e):
                raise

    def write_rollups(self, day: str, version: int, items: Iterable[dict]) -> bool:
        """Write the rollups of ``day`` computed from ``items`` as of marker ``version`` (versioned puts)."""
        month = day[:7]
        tag_keys = self.cfg.rollup_tag_keys
        day_cube, res = cube.build(items, tag_keys)
        parts = cube.chunks(res, tag_keys)
        vals = {":v": {"N": str(version)}}
        newer_or_same = {"ConditionExpression": "attribute_not_exists(rv) OR rv <= :v",
                         "ExpressionAttributeValues": vals}
        try:
            for n, blob in enumerate(parts):
                self._call("PutItem", {"TableName": self.table, "Item": {
                    "pk": {"S": "T#" + month}, "sk": {"S": f"{day}#{n:03d}"}, "rv": {"N": str(version)},
                    "b": {"B": blob}}, **newer_or_same}, "write")
            self._call("PutItem", {"TableName": self.table, "Item": {
                "pk": {"S": "V#" + month}, "sk": {"S": day}, "rv": {"N": str(version)},
                "b": {"B": cube.encode(day_cube, tag_keys)}}, **newer_or_same}, "write")
            # the lite cube goes last: its version is what marks the day clean
            self._call("PutItem", {"TableName": self.table, "Item": {
                "pk": {"S": "U#" + month}, "sk": {"S": day}, "rv": {"N": str(version)},
                "nc": {"N": str(len(parts))}, "b": {"B": cube.encode(cube.lite(day_cube), ())}},
                "ConditionExpression": "attribute_not_exists(rv) OR rv < :v", "ExpressionAttributeValues": vals},
                "write")
        except DB_ERRORS as e:
            if conditional_failed(e):
                return False  # a concurrent refresh already wrote this or a newer version
            raise
        return True

    def dirty_days(self, start: date, end: date) -> list[str]:
        out = []
        for month, items in self._rollup_items(start, end, consistent=True):
            cubes = {i["sk"]["S"]: int(i["rv"]["N"]) for i in items if "#" not in i["sk"]["S"]}
            for i in items:
                sk = i["sk"]["S"]
                if sk.endswith("#d") and int(i["v"]["N"]) > cubes.get(sk[:-2], -1):
                    out.append(sk[:-2])
        return out

    def refresh(self, start: date, end: date) -> int:
        """Recompute every dirty day in [start, end) (the scheduled sweep and ``rollups repair``)."""
        days = self.dirty_days(start, end)
        for d in days:
            self.refresh_day(d)
        return len(days)

    def days_with_data(self, start: date, end: date) -> list[str]:
        """Days in [start, end) that ever had a record written (one query per month, not per day)."""
        days: list[str] = []
        for _, items in self._rollup_items(start, end):
            days += [i["sk"]["S"][:-2] for i in items if i["sk"]["S"].endswith("#d")]
        return sorted(d for d in days if start.isoformat() <= d < end.isoformat())

    def _rollup_items(self, start: date, end: date, *, prefix: str = "U#", consistent: bool = False
                      ) -> Iterator[tuple[str, list[dict]]]:
        """``(month, items)`` of the ``prefix`` partition for each month of [start, end), one query each."""
        last = (end - timedelta(days=1)).isoformat()
        for month in periods.month_keys(start, end):
            yield month, list(self.query({
                "ConsistentRead": consistent, "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
                "ExpressionAttributeValues": {":pk": {"S": prefix + month}, ":a": {"S": start.isoformat()},
                                              ":b": {"S": last + "#~"}}}))

    def _fresh_lite(self, start: date, end: date) -> tuple[dict[str, dict], int]:
        """Each day's lite cube item over [start, end), recomputing dirty days first: (items, refreshed)."""
        lite_items: dict[str, dict] = {}
        refreshed = 0
        for month, items in self._rollup_items(start, end):
            markers = {i["sk"]["S"][:-2]: i for i in items if i["sk"]["S"].endswith("#d")}
            have = {i["sk"]["S"]: i for i in items if "#" not in i["sk"]["S"]}
            locks = {m["ri"]["S"] for m in markers.values() if "ri" in m}
            held = self.import_locks(locks) if locks else set()
            for day, marker in markers.items():
                item = have.get(day)
                if item is not None and int(item["rv"]["N"]) >= int(marker["v"]["N"]):
                    continue
                if marker.get("ri", {}).get("S") in held:
                    continue              # an import is replacing this day: its previous rollup stands
                self.refresh_day(day, marker=marker, locked=False)
                refreshed += 1
                got = self.get_item("U#" + month, day)
                if got is not None:
                    have[day] = got
            lite_items.update(have)
        return lite_items, refreshed

    def _cubes(self, q: Query, *, full: bool = True) -> tuple[dict[str, cube.Cube], int]:
        """Each day's cube for the query, recomputing dirty days first. Returns (cubes, refreshed).

        ``full=False`` returns the lite cubes (one small item per day); ``full=True`` the full ones.
        """
        lite_items, refreshed = self._fresh_lite(q.start, q.end)
        if not full:
            return {day: cube.decode(it["b"]["B"]) for day, it in lite_items.items()}, refreshed
        cubes: dict[str, cube.Cube] = {}
        for _, items in self._rollup_items(q.start, q.end, prefix="V#"):
            for it in items:
                cubes[it["sk"]["S"]] = cube.decode(it["b"]["B"])
        return cubes, refreshed

    # ------------------------------------------------------------------ per-resource range sums
    def resource_sums(self, start: date, end: date) -> list[tuple[cube.Sums, int]]:
        """The per-resource rows over [start, end), as ``(sums, sign)`` blocks to add up.

        A month the range covers to its end is one to-month-end sum (``S`` of its first day in the range), one
        it covers from its start one month-to-date sum (``P`` of its last day), a range strictly inside a month
        ``P(last) − P(day before the first)``: one read per month, two at most. Rows carry their full identity
        (resource, dimensions, source, superseded, tags), so subtraction is exact row by row.
        """
        # sums include days of the month outside the range: their versions are part of the signatures
        lite_items, _ = self._fresh_lite(periods.month_start(start), periods.next_month(end - timedelta(days=1)))
        versions = {day: int(it["rv"]["N"]) for day, it in lite_items.items()}
        out: list[tuple[cube.Sums, int]] = []
        for month in periods.month_keys(start, end):
            m_start, m_end, _ = periods.month_bounds(date.fromisoformat(month + "-01"))
            a, b = max(start, m_start).isoformat(), min(end, m_end).isoformat()
            days = sorted(d for d in versions if d[:7] == month)
            inside = [d for d in days if a <= d < b]
            if not inside:
                continue
            month_versions = [(d, versions[d]) for d in days]
            sigs = {it["sk"]["S"]: it for it in self.query({
                "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "Q#" + month}}})}
            before = [d for d in days if d < a]
            if not before:                                  # the month from its first day with data: one P
                out.append((self._sum(month, "P", inside[-1], month_versions, sigs), 1))
            elif inside[-1] == days[-1]:                    # to the month's last day with data: one S
                out.append((self._sum(month, "S", inside[0], month_versions, sigs), 1))
            else:                                           # strictly inside the month
                out.append((self._sum(month, "P", inside[-1], month_versions, sigs), 1))
                out.append((self._sum(month, "P", before[-1], month_versions, sigs), -1))
        return out

    def _sum(self, month: str, kind: str, day: str, versions: list[tuple[str, int]], sigs: dict[str, dict]
             ) -> cube.Sums:
        """``P``: the month's per-resource sums through ``day``; ``S``: from ``day`` to the month's end. The
        stored ones if still valid, else computed from the nearest valid sum of the same kind plus (or minus)
        the days between — tomorrow's range start is today's minus one day — and stored."""
        tag_keys: tuple[str, ...] = tuple(self.cfg.rollup_tag_keys)

        def covered(x: str) -> list[tuple[str, int]]:
            return [(d, v) for d, v in versions if (d <= x if kind == "P" else d >= x)]

        def valid(x: str) -> bool:
            got = sigs.get(kind + x)
            return got is not None and got["g"]["S"] == _signature(covered(x), kind, tag_keys)

        sig = _signature(covered(day), kind, tag_keys)
        got = sigs.get(kind + day)
        if got is not None and got["g"]["S"] == sig:
            return self._read_sum(month, kind, day, got)
        order = [d for d, _ in versions]
        pos = {d: i for i, d in enumerate(order)}
        here = pos.get(day, len([d for d in order if d < day]))
        bases = sorted((abs(pos[d] - here), d) for d in order if d != day and valid(d))
        base = bases[0][1] if bases and bases[0][0] < len(covered(day)) else None
        acc: dict[tuple, list] = {}
        if base is None:
            between, sign = {d for d, _ in covered(day)}, 1
        else:
            _add_sums(acc, self._read_sum(month, kind, base, sigs[kind + base]), tag_keys)
            lo, hi = sorted((base, day))
            if kind == "P":        # (lo, hi]: added when extending, taken off when shrinking
                between, sign = {d for d in order if lo < d <= hi}, 1 if base < day else -1
            else:                  # [lo, hi)
                between, sign = {d for d in order if lo <= d < hi}, 1 if base > day else -1
        wanted = {d: v for d, v in versions if d in between}
        chunks: dict[str, list[dict]] = {}
        if wanted:
            for it in self.query({"KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
                                  "ExpressionAttributeValues": {":pk": {"S": "T#" + month},
                                                                ":a": {"S": min(wanted)},
                                                                ":b": {"S": max(wanted) + "#~"}}}):
                d = it["sk"]["S"][:10]
                if d in wanted and int(it["rv"]["N"]) == wanted[d]:   # the complete set its lite cube vouches for
                    chunks.setdefault(d, []).append(it)
        for d in sorted(chunks):
            for it in chunks[d]:
                _add_rows(acc, cube.decode_resources(it["b"]["B"]), tag_keys, sign)
        for k in [k for k, a in acc.items() if a[4] == 0]:   # rows whose every day was taken off
            del acc[k]
        parts = cube.sums_chunks(acc, tag_keys)
        gen = sig[:12]
        for n, blob in enumerate(parts):
            self._call("PutItem", {"TableName": self.table, "Item": {
                "pk": {"S": "P#" + month}, "sk": {"S": f"{kind}{day}#{gen}#{n:03d}"}, "b": {"B": blob}}}, "write")
        self._call("PutItem", {"TableName": self.table, "Item": {
            "pk": {"S": "Q#" + month}, "sk": {"S": kind + day}, "g": {"S": sig}, "nc": {"N": str(len(parts))}}},
            "write")
        if got is not None:   # the superseded generation's chunks
            old = got["g"]["S"][:12]
            stale = [{"DeleteRequest": {"Key": {"pk": {"S": "P#" + month},
                                                "sk": {"S": f"{kind}{day}#{old}#{n:03d}"}}}}
                     for n in range(int(got["nc"]["N"]))]
            for i in range(0, len(stale), 25):
                self._batch_requests(stale[i:i + 25])
        sigs[kind + day] = {"g": {"S": sig}, "nc": {"N": str(len(parts))}}
        decoded = [cube.decode_sums(blob) for blob in parts]
        return decoded[0] if len(decoded) == 1 else _concat(decoded)

    def _read_sum(self, month: str, kind: str, day: str, sig_item: dict) -> cube.Sums:
        gen = sig_item["g"]["S"][:12]
        parts = [cube.decode_sums(it["b"]["B"]) for it in self.query({
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": {"S": "P#" + month}, ":p": {"S": f"{kind}{day}#{gen}#"}}})]
        return parts[0] if len(parts) == 1 else _concat(parts)


def _concat(parts: list[cube.Sums]) -> cube.Sums:
    """One block from several chunks (their dimension tables re-indexed into one)."""
    dims: dict[tuple, int] = {}
    rows: list[list] = []
    for p in parts:
        remap = [dims.setdefault(d, len(dims)) for d in p.dims]
        rows.extend(r[:2] + [remap[r[2]]] + r[3:] for r in p.rows)
    return cube.Sums(parts[0].tag_keys if parts else (), list(dims), rows)


def _signature(versions: list[tuple[str, int]], kind: str, tag_keys: tuple[str, ...]) -> str:
    """What a sum was computed from: every included day's rollup version (and the tag keys its rows carry)."""
    text = kind + "|" + ",".join(tag_keys) + "|" + ",".join(f"{d}:{v}" for d, v in versions)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _add_sums(acc: dict[tuple, list], sums: cube.Sums, tag_keys: tuple[str, ...]) -> None:
    """Add a stored sum's rows into ``acc`` (keyed like :func:`cube.build`'s resource rollup)."""
    add = CONTEXT.add
    same = sums.tag_keys == tag_keys
    idx = {k: i for i, k in enumerate(sums.tag_keys)}
    nd = len(cube.SUM_DIMS)
    for r in sums.rows:
        dim = sums.dims[r[2]]
        tvals = dim[nd:] if same else tuple(dim[nd + idx[k]] if k in idx else "" for k in tag_keys)
        key = (r[0], r[0] if r[1] == 0 else r[1]) + dim[:nd] + tuple(tvals)
        amounts = [Decimal(x) for x in sums.amounts(r)]
        a = acc.get(key)
        if a is None:
            acc[key] = amounts + [r[7]]
        else:
            for j in range(4):
                a[j] = add(a[j], amounts[j])
            a[4] += r[7]


def _add_rows(acc: dict[tuple, list], rows: cube.Cube, tag_keys: tuple[str, ...], sign: int = 1) -> None:
    """Add (``sign=-1``: take off) per-resource rows into ``acc`` (keyed like :func:`cube.build`'s resource
    rollup, with the allocation tags of ``tag_keys``, whatever keys the rows were rolled up under)."""
    op = CONTEXT.add if sign > 0 else CONTEXT.subtract
    n = len(cube.RESOURCE_DIMS)
    same = rows.tag_keys == tag_keys
    idx = rows.tag_index()
    for r in rows.rows:
        tvals = tuple(r.tags) if same else tuple(r.tags[idx[k]] if k in idx else "" for k in tag_keys)
        key = tuple(r[:n]) + tvals
        a = acc.get(key)
        if a is None:
            a = acc[key] = [Decimal(0), Decimal(0), Decimal(0), Decimal(0), 0]
        for j in range(4):
            a[j] = op(a[j], Decimal(r.amounts[j]))
        a[4] += sign * r.records
