"""FOCUS 1.2 CSV export of stored records, streamed day by day.

Every FOCUS column CloudTally keeps is written, mandatory ones first; amounts in plain decimal
notation (never an exponent, never a float), times ISO 8601 UTC, ``Tags`` as a JSON object.
The ``x_`` columns (``x_CostSource``, ``x_Collector``, ``x_LineKey``...) are written too, so an
export imported again (``cloudtally import --format focus``) yields the same record ids: the round
trip changes no total.

An export holds what the totals count: the records the store's supersede rule
(:func:`cloudtally.store.cube.supersede_rule`, the one the rollups and ``summary`` use) leaves in,
so its BilledCost/EffectiveCost sums equal ``GET /v1/costs/summary`` for the same range and filters.
Superseded estimates and provisional aggregates are written only when asked for
(``include_superseded``), marked ``x_Superseded=true``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import IO, Any, Iterator

from .. import focus as F
from ..money import fmt
from ..query import Query
from ..store import codec, cube

COLUMNS: tuple[str, ...] = F.MANDATORY_COLUMNS + tuple(
    c for c in F.ALL_COLUMNS if c not in F.MANDATORY_COLUMNS and not c.startswith("x_") and c != "Tags"
) + ("Tags", "x_CostSource", "x_Collector", "x_CatalogVersion", "x_LineKey", "x_Superseded")
_FMAP = {"provider": "ProviderName", "service": "ServiceName", "account": "BillingAccountId",
         "subaccount": "SubAccountId", "region": "RegionId", "category": "ChargeCategory",
         "source": "x_CostSource", "currency": "BillingCurrency"}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, sort_keys=True) if v else ""
    if hasattr(v, "as_tuple"):
        return fmt(v)
    if hasattr(v, "tzinfo"):
        return F.iso(v)
    return str(v)


_RECORD_COLUMNS = COLUMNS[:-1]


def row(r: F.CostRecord, *, superseded: bool = False) -> list[str]:
    return [_cell(getattr(r, c)) for c in _RECORD_COLUMNS] + ["true" if superseded else "false"]


def matches(r: F.CostRecord, q: Query) -> bool:
    return all(getattr(r, _FMAP[k]) in v for k, v in q.filters.items()) and all(
        r.Tags.get(k) in v for k, v in q.tag_filters.items())


def iter_records(store: Any, q: Query, *, days: list[str] | None = None,
                 include_superseded: bool = False) -> Iterator[tuple[F.CostRecord, bool]]:
    """(record, superseded) of each matching record, day by day; superseded ones only on request.

    A day's items are read whole first: whether an estimate is superseded depends on the day's
    billed records (the rollups' rule, applied to the same items).
    """
    for day in days if days is not None else q.days():
        items = list(store.iter_day_items(day, consistent=False))
        superseded = cube.supersede_rule(items)
        for it in items:
            sup = superseded(it)
            if sup and not include_superseded:
                continue
            r = codec.from_item(it)
            if matches(r, q):
                yield r, sup


def iter_csv(store: Any, q: Query, *, days: list[str] | None = None, header: bool = True,
             chunk_rows: int = 1000, include_superseded: bool = False) -> Iterator[str]:
    """CSV text in chunks of ``chunk_rows`` records (the header first)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(COLUMNS)
    n = 0
    for r, sup in iter_records(store, q, days=days, include_superseded=include_superseded):
        w.writerow(row(r, superseded=sup))
        n += 1
        if n % chunk_rows == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    tail = buf.getvalue()
    if tail:
        yield tail


def write_focus_csv(store: Any, q: Query, out: IO[str], *, include_superseded: bool = False) -> int:
    """Write the FOCUS CSV of the query to ``out``; returns the number of records."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for r, sup in iter_records(store, q, include_superseded=include_superseded):
        w.writerow(row(r, superseded=sup))
        n += 1
    return n


# ------------------------------------------------------------------ the API operation
MAX_RESPONSE_BYTES = 5 * 1024 * 1024     # under Lambda's 6 MB synchronous response limit
NEXT_HEADER = "X-CloudTally-Next-From"


INCLUDE_SUPERSEDED = "include_superseded"


def _params_spec() -> dict[str, Any]:
    from ..api.params import PARAMS
    spec = dict(PARAMS["summary"])
    for k in ("granularity", "group_by"):
        spec.pop(k, None)
    spec[INCLUDE_SUPERSEDED] = {
        "type": "string", "enum": ["true", "false"], "default": "false",
        "description": "also write the estimates (and provisional aggregates) that billed records superseded, "
                       "marked x_Superseded=true; by default the export holds exactly what the totals count"}
    return spec


def export_page(store: Any, params: dict[str, Any], *, max_bytes: int = MAX_RESPONSE_BYTES,
                today: date | None = None) -> tuple[str, dict[str, str]]:
    """One response of ``GET /v1/export/focus``: whole days of CSV up to ``max_bytes``.

    A range larger than one response ends at a day boundary and names the next day in the
    ``X-CloudTally-Next-From`` header; requesting ``from=<that day>`` continues (the header row is
    repeated, so every page is a complete CSV file). Without ``to`` the range ends after ``today``
    (the API passes its clock's day).
    """
    from ..api.params import PARAMS, check_params
    from ..query import parse_query
    PARAMS.setdefault("export_focus", _params_spec())
    check_params("export_focus", params)
    include = params.get(INCLUDE_SUPERSEDED) == "true"
    q = parse_query({k: v for k, v in params.items() if k != INCLUDE_SUPERSEDED}, today=today)
    parts: list[str] = [",".join(COLUMNS) + "\n"]
    size = len(parts[0])
    headers = {"Content-Type": "text/csv; charset=utf-8",
               "Content-Disposition": f'attachment; filename="focus-{q.start}-{q.end}.csv"'}
    days = q.days()
    for i, day in enumerate(days):
        chunk = "".join(iter_csv(store, q, days=[day], header=False, include_superseded=include))
        if size + len(chunk) > max_bytes and i > 0:
            headers[NEXT_HEADER] = day
            break
        parts.append(chunk)
        size += len(chunk)
    return "".join(parts), headers


def openapi_operation() -> dict[str, Any]:
    from ..api.params import PARAMS, openapi_parameters
    PARAMS.setdefault("export_focus", _params_spec())
    err = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {"get": {
        "operationId": "exportFocus", "summary": "FOCUS 1.2 CSV of the records in [from, to) (read)",
        "description": "The records the totals count: BilledCost and EffectiveCost sum to GET /v1/costs/summary for "
                       "the same range and filters. Estimates superseded by billed cost (and superseded provisional "
                       f"aggregates) only with {INCLUDE_SUPERSEDED}=true, marked in the x_Superseded column.",
        "security": [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}],
        "parameters": openapi_parameters("export_focus"),
        "responses": {"200": {"description": f"FOCUS 1.2 CSV; when the range does not fit one response, the "
                                             f"{NEXT_HEADER} header names the day to continue from",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "400": err, "401": err, "403": err}}}
