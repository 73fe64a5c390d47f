"""Queries over the rollups: the cost summary and the most expensive resources."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import BadRequest
from ..money import CONTEXT, ZERO
from ..query import Query
from . import cube

# top resources filter on these dimensions of the per-resource rollup (query name -> row field)
RESOURCE_FILTERS = {"provider": "provider", "service": "service", "account": "account", "region": "region",
                    "currency": "currency", "source": "source"}


class QueriesMixin:
    def summary(self, q: Query) -> dict[str, Any]:
        """Totals over [from, to) by period and group, per currency; exact Decimals.

        Served from the daily rollups; a tag key that is not a rollup allocation key is answered
        from the records themselves (exact, costlier) and says so in ``source``.
        """
        tag_keys = q.tag_keys()
        from_rollups = all(k in self.cfg.rollup_tag_keys for k in tag_keys)
        refreshed = 0
        if from_rollups:
            dims = {g for g in q.group_by} | set(q.filters) | {f"tag:{k}" for k in q.tag_filters}
            cubes, refreshed = self._cubes(q, full=not dims <= cube.LITE_DIMS)
        else:
            cubes = {}
            for day in self.days_with_data(q.start, q.end):
                day_cube, _ = cube.build(self.iter_day_items(day, consistent=False), tag_keys)
                if day_cube:
                    cubes[day] = cube.Cube(tag_keys, [cube.CubeRow._make(
                        list(k[:len(cube.DIMS)]) + [tuple(k[len(cube.DIMS):]), tuple(str(a) for a in v[:4]), v[4]])
                        for k, v in day_cube.items()])
        groups: dict[tuple, list] = {}
        totals: dict[str, list] = {}
        superseded: dict[str, Decimal] = {}
        add = CONTEXT.add
        first, stop = q.start.isoformat(), q.end.isoformat()
        for day in sorted(cubes):
            if not first <= day < stop:
                continue
            c = cubes[day]
            tidx = c.tag_index()
            period = day if q.granularity == "day" else day[:7] if q.granularity == "month" else "total"
            for row in c.rows:
                if not _match(row, q, tidx):
                    continue
                if row.superseded:
                    superseded[row.currency] = add(superseded.get(row.currency, ZERO), Decimal(row.amounts[1]))
                    continue
                gkey = (period, row.currency) + tuple(
                    row.tags[tidx[g[4:]]] if g.startswith("tag:") else row.dim(g) for g in q.group_by)
                acc = groups.setdefault(gkey, [ZERO, ZERO, ZERO, ZERO, 0])
                tot = totals.setdefault(row.currency, [ZERO, ZERO, ZERO, ZERO, 0])
                for j in range(4):
                    a = Decimal(row.amounts[j])
                    acc[j] = add(acc[j], a)
                    tot[j] = add(tot[j], a)
                acc[4] += row.records
                tot[4] += row.records
        results = []
        for gkey in sorted(groups, key=lambda k: (k[0], k[1], [str(x) for x in k[2:]])):
            acc = groups[gkey]
            results.append({
                "period": gkey[0], "currency": gkey[1],
                "group": {g: (gkey[2 + i] or None) for i, g in enumerate(q.group_by)},
                **{a: acc[j] for j, a in enumerate(cube.AMOUNTS)}, "records": acc[4]})
        return {
            "from": first, "to": stop, "granularity": q.granularity,
            "group_by": list(q.group_by), "source": "rollups" if from_rollups else "records",
            "totals": {c: {**{a: t[j] for j, a in enumerate(cube.AMOUNTS)}, "records": t[4]}
                       for c, t in sorted(totals.items())},
            "superseded_estimates": {c: {"EffectiveCost": v} for c, v in sorted(superseded.items())},
            "results": results, "refreshed_days": refreshed,
        }

    def top_resources(self, q: Query, *, limit: int = 10, metric: str = "EffectiveCost") -> dict[str, Any]:
        """The most expensive resources over the range (billed-superseded estimates excluded).

        Served from per-resource month-to-date prefix sums (:meth:`resource_sums`): a range costs at most
        two prefix reads per month, whatever its length.
        """
        if metric not in cube.AMOUNTS:
            raise BadRequest("invalid metric", details=[{"field": "metric", "message": "one of " + ", ".join(cube.AMOUNTS)}])
        if not 1 <= limit <= 1000:
            raise BadRequest("invalid limit", details=[{"field": "limit", "message": "between 1 and 1000"}])
        unknown = [k for k in q.tag_filters if k not in self.cfg.rollup_tag_keys]
        if unknown:
            raise BadRequest("tag filter on a non-rollup key", details=[{"field": "tag", "message": f"top resources filter only on {', '.join(self.cfg.rollup_tag_keys)}"}])
        mi = cube.AMOUNTS.index(metric)
        tag_keys = tuple(self.cfg.rollup_tag_keys)
        if any(f not in RESOURCE_FILTERS for f in q.filters):
            return {"from": q.start.isoformat(), "to": q.end.isoformat(), "metric": metric, "resources": []}
        nd = len(cube.SUM_DIMS)
        didx = {d: i for i, d in enumerate(cube.SUM_DIMS)}
        # per resource and currency: the chosen metric summed (ranking), the rows kept for the other amounts
        acc: dict[tuple, list] = {}
        add, sub = CONTEXT.add, CONTEXT.subtract
        for sums, sign in self.resource_sums(q.start, q.end):
            tidx = {k: nd + i for i, k in enumerate(sums.tag_keys)}
            keep = []
            for dim in sums.dims:   # the filters decided once per distinct dimension, not per row
                ok = not dim[didx["superseded"]] and all(dim[didx[RESOURCE_FILTERS[f]]] in v
                                                         for f, v in q.filters.items()) \
                    and all(k in tidx and dim[tidx[k]] in v for k, v in q.tag_filters.items())
                keep.append(ok)
            op = add if sign > 0 else sub
            for r in sums.rows:
                if not keep[r[2]]:
                    continue
                dim = sums.dims[r[2]]
                key = (r[0], dim[didx["currency"]])
                a = acc.get(key)
                if a is None:
                    a = acc[key] = [ZERO, 0, []]
                a[0] = op(a[0], Decimal(sums.amounts(r)[mi]))
                a[1] += sign * r[7]
                a[2].append((sums, r, sign))
        live = [(k, a) for k, a in acc.items() if a[1] > 0]   # rows whose days all fell before the range cancel out
        ranked = sorted(live, key=lambda kv: (kv[1][0], kv[0]), reverse=True)[:limit]
        out = []
        for (rid, cur), a in ranked:
            totals = [ZERO, ZERO, ZERO, ZERO]
            name, dim, sums0 = None, None, None
            for sums, r, sign in a[2]:
                op = add if sign > 0 else sub
                for j, x in enumerate(sums.amounts(r)):
                    totals[j] = op(totals[j], Decimal(x))
                if sign > 0 or name is None:
                    name, dim, sums0 = (r[0] if r[1] == 0 else r[1]), sums.dims[r[2]], sums
            tags = {k: dim[nd + i] for i, k in enumerate(sums0.tag_keys) if k in tag_keys and dim[nd + i]}
            out.append({"ResourceId": rid, "ResourceName": name or None, "ProviderName": dim[didx["provider"]],
                        "ServiceName": dim[didx["service"]], "BillingAccountId": dim[didx["account"]],
                        "RegionId": dim[didx["region"]] or None, "currency": cur, "tags": tags,
                        **{m: totals[j] for j, m in enumerate(cube.AMOUNTS)}})
        return {"from": q.start.isoformat(), "to": q.end.isoformat(), "metric": metric, "resources": out}


def _match(row: cube.CubeRow, q: Query, tidx: dict[str, int]) -> bool:
    for k, vals in q.filters.items():
        if row.dim(k) not in vals:
            return False
    for k, vals in q.tag_filters.items():
        if row.tags[tidx[k]] not in vals:
            return False
    return True
