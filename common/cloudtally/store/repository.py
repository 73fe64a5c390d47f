"""The store's repository API: idempotent record writes, exact rollups, queries, keys, agents.

All DynamoDB access goes through PynamoDB (models for small items, its connection's ``dispatch``
for the record hot path and rollups). Consumed capacity of every call is added to
:attr:`Store.capacity` so benchmarks and tests can read real WRU/RRU figures.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError as BotoConnectionError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException

from ..query import FILTER_KEYS, GROUP_KEYS, Query, parse_query  # noqa: F401 (re-export)
from ..config import Settings, settings as default_settings
from ..errors import BadRequest, NotFound, StoreError
from ..focus import UTC, CostRecord, MetricPoint, iso
from ..money import CONTEXT, ZERO, fmt
from . import codec, rollup
from .models import AgentItem, ApiKeyItem, CollectorStatusItem, bound_models

log = logging.getLogger("cloudtally.store")

RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
             "InternalServerError", "ServiceUnavailable", "TransactionConflictException"}
_DIM_INDEX = {d: i for i, d in enumerate(rollup.DIMS)}


def _err_code(e: BaseException) -> str | None:
    resp = getattr(e, "response", None)
    if isinstance(resp, dict):
        return resp.get("Error", {}).get("Code")
    cause = getattr(e, "cause", None)
    return _err_code(cause) if cause is not None and cause is not e else None


def _retryable(e: BaseException) -> bool:
    if isinstance(e, (BotoConnectionError, BotoCoreError)) and not isinstance(e, ClientError):
        return True
    code = _err_code(e)
    if code in RETRYABLE:
        return True
    cause = getattr(e, "__cause__", None)
    return bool(cause and cause is not e and _retryable(cause))


@dataclass
class WriteResult:
    written: int = 0
    failed: list[str] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    retries: int = 0


class Store:
    """Repository over the single table. Thread-safe; one per process is enough."""

    def __init__(self, cfg: Settings | None = None, *, connection: Connection | None = None,
                 max_attempts: int = 8, base_delay: float = 0.05, max_delay: float = 2.0, workers: int = 4):
        self.cfg = cfg or default_settings()
        self.m = bound_models(self.cfg)
        self.table = self.cfg.table
        self.conn = connection or Connection(region=self.cfg.region, host=self.cfg.dynamodb_endpoint,
                                             max_retry_attempts=2, connect_timeout_seconds=5,
                                             read_timeout_seconds=10)
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.workers = workers
        self._lock = threading.Lock()
        self._state_gens: dict[str, str] = {}   # ledger key -> generation last read or written ("" = absent)
        self.capacity = {"read": Decimal(0), "write": Decimal(0)}
        self.retries = 0  # throttled/timed-out calls and UnprocessedItems rounds retried, all time
        self.sleep: Callable[[float], None] = time.sleep
        # test hook: called between the record write and the rollup marking (crash injection)
        self.after_records_written: Callable[[list[str]], None] | None = None

    # ------------------------------------------------------------------ low level
    def _count(self, resp: dict, kind: str) -> None:
        cc = resp.get("ConsumedCapacity")
        if not cc:
            return
        total = sum(Decimal(str(c.get("CapacityUnits", 0))) for c in (cc if isinstance(cc, list) else [cc]))
        with self._lock:
            self.capacity[kind] += total

    def _call(self, op: str, kwargs: dict, kind: str) -> dict:
        """One DynamoDB call with retries on throttling/timeouts (exponential backoff, full jitter)."""
        kwargs.setdefault("ReturnConsumedCapacity", "TOTAL")
        for attempt in range(self.max_attempts):
            try:
                resp = self.conn.dispatch(op, dict(kwargs))
                self._count(resp, kind)
                return resp
            except (PynamoDBException, BotoCoreError, ClientError) as e:
                if not _retryable(e) or attempt == self.max_attempts - 1:
                    if _retryable(e):
                        raise StoreError(f"DynamoDB {op} still throttled after {attempt + 1} attempts",
                                         retry_after=2) from e
                    if _err_code(e) == "ConditionalCheckFailedException":
                        raise
                    if _err_code(e) == "ValidationException":  # e.g. a key longer than DynamoDB allows
                        raise BadRequest("the request was rejected by the database as invalid",
                                         code="invalid_request") from e
                    raise StoreError(f"DynamoDB {op} failed: {_err_code(e) or type(e).__name__}") from e
                with self._lock:
                    self.retries += 1
                self._backoff(attempt)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> None:
        self.sleep(random.uniform(0, min(self.max_delay, self.base_delay * (2 ** attempt))))

    # ------------------------------------------------------------------ schema
    def create_table(self, *, wait: bool = True) -> bool:
        """Create the table (on-demand, TTL on ``ttl``); returns False if it already existed."""
        if self.m.TableItem.exists():
            return False
        # PynamoDB enables TTL on the model's TTLAttribute ("ttl") as part of create_table
        self.m.TableItem.create_table(billing_mode="PAY_PER_REQUEST", wait=wait)
        return True

    def delete_table(self) -> None:
        if self.m.TableItem.exists():
            self.m.TableItem.delete_table()

    # ------------------------------------------------------------------ records
    def write_records(self, records: Iterable[CostRecord], *, refresh: bool = False) -> WriteResult:
        """Write records idempotently (same id replaces) and mark their days' rollups dirty.

        Order: mark dirty → write → mark dirty again. A crash anywhere leaves a marker newer than
        the rollup, so the next read or sweep recomputes it from the records: exact, never double.
        Raises :class:`StoreError` (HTTP 503) if items are still unprocessed after retries; nothing
        is half-counted since a retry of the same batch is idempotent.
        """
        by_id: dict[str, CostRecord] = {}
        for r in records:
            by_id[r.id] = r
        res = WriteResult()
        if not by_id:
            return res
        items = [codec.to_item(r) for r in by_id.values()]
        days = sorted({i["pk"]["S"][2:] for i in items})
        res.days = days
        retries_before = self.retries
        self._mark_dirty(days)
        batches = [items[i:i + 25] for i in range(0, len(items), 25)]
        if len(batches) > 1 and self.workers > 1:
            with ThreadPoolExecutor(min(self.workers, len(batches))) as ex:
                outcomes = list(ex.map(self._batch_write, batches))
        else:
            outcomes = [self._batch_write(b) for b in batches]
        for failed, _ in outcomes:
            res.failed.extend(failed)
        res.retries = self.retries - retries_before
        res.written = len(items) - len(res.failed)
        if self.after_records_written:
            self.after_records_written(days)
        self._mark_dirty(days)
        if res.failed:
            raise StoreError(f"{len(res.failed)} of {len(items)} records not written after retries; "
                             "retry the request (writes are idempotent)", retry_after=2,
                             details={"unwritten": len(res.failed)})
        if refresh:
            for d in days:
                self.refresh_day(d)
        return res

    def _batch_write(self, items: list[dict]) -> tuple[list[str], int]:
        """BatchWriteItem with UnprocessedItems re-sent under backoff; returns (ids not written, retries).

        Throttling and timeouts are retried inside :meth:`_call`; if they persist, the batch is
        reported as not written (the API answers 503 and the client's idempotent retry lands it).
        """
        pending = [{"PutRequest": {"Item": it}} for it in items]
        retries = 0
        for attempt in range(self.max_attempts):
            try:
                resp = self._call("BatchWriteItem", {"RequestItems": {self.table: pending}}, "write")
            except StoreError:
                break
            pending = resp.get("UnprocessedItems", {}).get(self.table, [])
            if not pending:
                return [], retries
            retries += 1
            with self._lock:
                self.retries += 1
            self._backoff(attempt)
        return [p["PutRequest"]["Item"]["sk"]["S"] for p in pending], retries

    def delete_records(self, ids_by_day: dict[str, list[str]]) -> int:
        """Delete records by id (used when a corrected export replaces a period)."""
        reqs = [(day, rid) for day, ids in ids_by_day.items() for rid in ids]
        days = sorted(ids_by_day)
        self._mark_dirty(days)
        for i in range(0, len(reqs), 25):
            pending = [{"DeleteRequest": {"Key": {"pk": {"S": codec.record_pk(d)}, "sk": {"S": r}}}}
                       for d, r in reqs[i:i + 25]]
            for attempt in range(self.max_attempts):
                resp = self._call("BatchWriteItem", {"RequestItems": {self.table: pending}}, "write")
                pending = resp.get("UnprocessedItems", {}).get(self.table, [])
                if not pending:
                    break
                self._backoff(attempt)
            if pending:
                raise StoreError("deletes still unprocessed after retries", retry_after=2)
        self._mark_dirty(days)
        return len(reqs)

    def _mark_dirty(self, days: list[str]) -> None:
        for d in days:
            self._call("UpdateItem", {
                "TableName": self.table,
                "Key": {"pk": {"S": "U#" + d[:7]}, "sk": {"S": d + "#d"}},
                "UpdateExpression": "ADD v :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }, "write")

    def iter_day_items(self, day: str, *, consistent: bool = True) -> Iterator[dict]:
        kwargs: dict[str, Any] = {
            "TableName": self.table, "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": codec.record_pk(day)}}, "ConsistentRead": consistent,
        }
        while True:
            resp = self._call("Query", kwargs, "read")
            yield from resp.get("Items", [])
            lek = resp.get("LastEvaluatedKey")
            if not lek:
                return
            kwargs["ExclusiveStartKey"] = lek

    def get_record(self, day: str, rid: str) -> CostRecord:
        resp = self._call("GetItem", {"TableName": self.table, "ConsistentRead": True,
                                      "Key": {"pk": {"S": codec.record_pk(day)}, "sk": {"S": rid}}}, "read")
        if "Item" not in resp:
            raise NotFound(f"no record {rid} on {day}")
        return codec.from_item(resp["Item"])

    # ------------------------------------------------------------------ rollups
    def refresh_day(self, day: str) -> bool:
        """Recompute one day's rollups from its records; safe under concurrency (versioned writes)."""
        month = day[:7]
        m = self._call("GetItem", {"TableName": self.table, "ConsistentRead": True,
                                   "Key": {"pk": {"S": "U#" + month}, "sk": {"S": day + "#d"}}}, "read")
        version = int(m.get("Item", {}).get("v", {}).get("N", "0"))
        return self.write_rollups(day, version, self.iter_day_items(day))

    def write_rollups(self, day: str, version: int, items: Iterable[dict]) -> bool:
        """Write the rollups of ``day`` computed from ``items`` as of marker ``version`` (versioned puts)."""
        month = day[:7]
        tag_keys = self.cfg.rollup_tag_keys
        cube, res = rollup.build(items, tag_keys)
        parts = rollup.chunks(res, tag_keys)
        cond = "attribute_not_exists(rv) OR rv < :v"
        vals = {":v": {"N": str(version)}}
        try:
            for n, blob in enumerate(parts):
                self._call("PutItem", {"TableName": self.table, "Item": {
                    "pk": {"S": "T#" + month}, "sk": {"S": f"{day}#{n:03d}"}, "rv": {"N": str(version)},
                    "b": {"B": blob}}, "ConditionExpression": "attribute_not_exists(rv) OR rv <= :v",
                    "ExpressionAttributeValues": vals}, "write")
            self._call("PutItem", {"TableName": self.table, "Item": {
                "pk": {"S": "V#" + month}, "sk": {"S": day}, "rv": {"N": str(version)},
                "b": {"B": rollup.encode(cube, tag_keys)}},
                "ConditionExpression": "attribute_not_exists(rv) OR rv <= :v", "ExpressionAttributeValues": vals},
                "write")
            # the lite cube goes last: its version is what marks the day clean
            self._call("PutItem", {"TableName": self.table, "Item": {
                "pk": {"S": "U#" + month}, "sk": {"S": day}, "rv": {"N": str(version)},
                "nc": {"N": str(len(parts))}, "b": {"B": rollup.encode(rollup.lite(cube), ())}},
                "ConditionExpression": cond, "ExpressionAttributeValues": vals}, "write")
        except (PynamoDBException, ClientError) as e:
            if _err_code(e) == "ConditionalCheckFailedException":
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

    def _months(self, start: date, end: date) -> list[str]:
        months, d = [], date(start.year, start.month, 1)
        while d < end:
            months.append(d.strftime("%Y-%m"))
            d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return months

    def _rollup_items(self, start: date, end: date, *, prefix: str = "U#", consistent: bool = False):
        last = (end - timedelta(days=1)).isoformat()
        for month in self._months(start, end):
            kwargs: dict[str, Any] = {
                "TableName": self.table, "ConsistentRead": consistent,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
                "ExpressionAttributeValues": {":pk": {"S": prefix + month}, ":a": {"S": start.isoformat()},
                                              ":b": {"S": last + "#~"}},
            }
            items: list[dict] = []
            while True:
                resp = self._call("Query", kwargs, "read")
                items.extend(resp.get("Items", []))
                if not resp.get("LastEvaluatedKey"):
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
            yield month, items

    def _cubes(self, q: Query, *, full: bool = True) -> tuple[dict[str, tuple[tuple[str, ...], list[list]]], int]:
        """Each day's cube rows for the query, recomputing dirty days first. Returns (cubes, refreshed).

        ``full=False`` returns the lite cubes (one small item per day); ``full=True`` the full ones.
        """
        lite: dict[str, dict] = {}
        refreshed = 0
        for month, items in self._rollup_items(q.start, q.end):
            markers = {i["sk"]["S"][:-2]: int(i["v"]["N"]) for i in items if i["sk"]["S"].endswith("#d")}
            have = {i["sk"]["S"]: i for i in items if "#" not in i["sk"]["S"]}
            for day, v in markers.items():
                cube = have.get(day)
                if cube is None or int(cube["rv"]["N"]) < v:
                    self.refresh_day(day)
                    refreshed += 1
                    resp = self._call("GetItem", {"TableName": self.table, "ConsistentRead": True, "Key": {
                        "pk": {"S": "U#" + month}, "sk": {"S": day}}}, "read")
                    if "Item" in resp:
                        have[day] = resp["Item"]
            lite.update(have)
        if not full:
            return {day: rollup.decode(it["b"]["B"]) for day, it in lite.items()}, refreshed
        cubes: dict[str, tuple[tuple[str, ...], list[list]]] = {}
        for month, items in self._rollup_items(q.start, q.end, prefix="V#"):
            for it in items:
                cubes[it["sk"]["S"]] = rollup.decode(it["b"]["B"])
        return cubes, refreshed

    # ------------------------------------------------------------------ queries
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
            cubes, refreshed = self._cubes(q, full=not dims <= rollup.LITE_DIMS)
        else:
            cubes = {}
            for day in self.days_with_data(q.start, q.end):
                cube, _ = rollup.build(self.iter_day_items(day, consistent=False), tag_keys)
                if cube:
                    cubes[day] = (tag_keys, [list(k) + list(v) for k, v in cube.items()])
        groups: dict[tuple, list] = {}
        totals: dict[str, list] = {}
        superseded: dict[str, Decimal] = {}
        add = CONTEXT.add
        n_dims = len(rollup.DIMS)
        for day in sorted(cubes):
            if not q.start.isoformat() <= day < q.end.isoformat():
                continue
            tks, rows = cubes[day]
            tidx = {k: n_dims + i for i, k in enumerate(tks)}
            period = day if q.granularity == "day" else day[:7] if q.granularity == "month" else "total"
            for row in rows:
                if not self._match(row, q, tidx):
                    continue
                amounts = row[-5:-1]
                cur = row[0]
                if row[_DIM_INDEX["superseded"]]:
                    superseded[cur] = add(superseded.get(cur, ZERO), Decimal(amounts[1]))
                    continue
                gkey = (period, cur) + tuple(
                    row[tidx[g[4:]]] if g.startswith("tag:") else row[_DIM_INDEX[g]] for g in q.group_by)
                acc = groups.setdefault(gkey, [ZERO, ZERO, ZERO, ZERO, 0])
                tot = totals.setdefault(cur, [ZERO, ZERO, ZERO, ZERO, 0])
                for j in range(4):
                    a = Decimal(amounts[j])
                    acc[j] = add(acc[j], a)
                    tot[j] = add(tot[j], a)
                acc[4] += row[-1]
                tot[4] += row[-1]
        results = []
        for gkey in sorted(groups, key=lambda k: (k[0], k[1], [str(x) for x in k[2:]])):
            acc = groups[gkey]
            results.append({
                "period": gkey[0], "currency": gkey[1],
                "group": {g: (gkey[2 + i] or None) for i, g in enumerate(q.group_by)},
                **{a: acc[j] for j, a in enumerate(rollup.AMOUNTS)}, "records": acc[4]})
        return {
            "from": q.start.isoformat(), "to": q.end.isoformat(), "granularity": q.granularity,
            "group_by": list(q.group_by), "source": "rollups" if from_rollups else "records",
            "totals": {c: {**{a: t[j] for j, a in enumerate(rollup.AMOUNTS)}, "records": t[4]}
                       for c, t in sorted(totals.items())},
            "superseded_estimates": {c: {"EffectiveCost": v} for c, v in sorted(superseded.items())},
            "results": results, "refreshed_days": refreshed,
        }

    @staticmethod
    def _match(row: list, q: Query, tidx: dict[str, int]) -> bool:
        for k, vals in q.filters.items():
            if row[_DIM_INDEX[k]] not in vals:
                return False
        for k, vals in q.tag_filters.items():
            if row[tidx[k]] not in vals:
                return False
        return True

    def top_resources(self, q: Query, *, limit: int = 10, metric: str = "EffectiveCost") -> dict[str, Any]:
        """The most expensive resources over the range (billed-superseded estimates excluded)."""
        if metric not in rollup.AMOUNTS:
            raise BadRequest("invalid metric", details=[{"field": "metric", "message": "one of " + ", ".join(rollup.AMOUNTS)}])
        if not 1 <= limit <= 1000:
            raise BadRequest("invalid limit", details=[{"field": "limit", "message": "between 1 and 1000"}])
        unknown = [k for k in q.tag_filters if k not in self.cfg.rollup_tag_keys]
        if unknown:
            raise BadRequest("tag filter on a non-rollup key", details=[{"field": "tag", "message": f"top resources filter only on {', '.join(self.cfg.rollup_tag_keys)}"}])
        self._cubes(q, full=False)  # refresh dirty days first
        mi = rollup.AMOUNTS.index(metric)
        acc: dict[tuple, list] = {}
        rdim = {"provider": 2, "service": 3, "account": 4, "region": 5, "currency": 6, "source": 7}
        add = CONTEXT.add
        for month, items in self._rollup_items(q.start, q.end, prefix="T#"):
            latest: dict[str, int] = {}
            for it in items:
                d = it["sk"]["S"][:10]
                latest[d] = max(latest.get(d, -1), int(it["rv"]["N"]))
            for it in items:
                d = it["sk"]["S"][:10]
                if int(it["rv"]["N"]) != latest[d]:
                    continue
                tks, rows = rollup.decode(it["b"]["B"])
                tidx = {k: 9 + i for i, k in enumerate(tks)}
                for row in rows:
                    if row[8]:
                        continue
                    if any(f in rdim and row[rdim[f]] not in v for f, v in q.filters.items()):
                        continue
                    if any(f not in rdim for f in q.filters):
                        continue
                    if any(row[tidx[k]] not in v for k, v in q.tag_filters.items()):
                        continue
                    key = (row[0], row[6])
                    a = acc.get(key)
                    if a is None:
                        acc[key] = a = [row[1], row[2], row[3], row[4], row[5], ZERO, ZERO, ZERO, ZERO,
                                        {k: row[tidx[k]] for k in tks if row[tidx[k]]}]
                    for j in range(4):
                        a[5 + j] = add(a[5 + j], Decimal(row[-5 + j]))
        ranked = sorted(acc.items(), key=lambda kv: kv[1][5 + mi], reverse=True)[:limit]
        return {"from": q.start.isoformat(), "to": q.end.isoformat(), "metric": metric, "resources": [
            {"ResourceId": k[0], "ResourceName": a[0] or None, "ProviderName": a[1], "ServiceName": a[2],
             "BillingAccountId": a[3], "RegionId": a[4] or None, "currency": k[1], "tags": a[9],
             **{m: a[5 + j] for j, m in enumerate(rollup.AMOUNTS)}} for k, a in ranked]}

    def list_records(self, q: Query, *, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """Records in [from, to) matching the filters, oldest day first, paginated by ``cursor``."""
        if not 1 <= limit <= 1000:
            raise BadRequest("invalid limit", details=[{"field": "limit", "message": "between 1 and 1000"}])
        days = self.days_with_data(q.start, q.end)
        start_day, lek = days[0] if days else None, None
        if cursor:
            try:
                c = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"==="))
                start_day, lek = c["d"], c.get("k")
                if start_day not in days or (lek is not None and not isinstance(lek, str)):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                raise BadRequest("invalid cursor", details=[{"field": "cursor", "message": "not a cursor of this query"}]) from None
        out: list[dict] = []
        fmap = {"provider": "ProviderName", "service": "ServiceName", "account": "BillingAccountId",
                "subaccount": "SubAccountId", "region": "RegionId", "category": "ChargeCategory",
                "source": "x_CostSource", "currency": "BillingCurrency"}
        for day in days[days.index(start_day):] if start_day else []:
            kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                                      "ExpressionAttributeValues": {":pk": {"S": codec.record_pk(day)}}}
            if lek:
                kwargs["ExclusiveStartKey"] = {"pk": {"S": codec.record_pk(day)}, "sk": {"S": lek}}
            lek = None
            while True:
                kwargs["Limit"] = limit - len(out)
                resp = self._call("Query", kwargs, "read")
                for it in resp.get("Items", []):
                    r = codec.from_item(it)
                    if all(getattr(r, fmap[k]) in v for k, v in q.filters.items()) and all(
                            r.Tags.get(k) in v for k, v in q.tag_filters.items()):
                        out.append(r.to_dict())
                    if len(out) >= limit:
                        nxt = base64.urlsafe_b64encode(json.dumps({"d": day, "k": it["sk"]["S"]}).encode()).decode().rstrip("=")
                        return {"records": out, "next_cursor": nxt}
                if not resp.get("LastEvaluatedKey"):
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return {"records": out, "next_cursor": None}

    # ------------------------------------------------------------------ keys, agents, collectors
    def put_key(self, key_id: str, name: str, scopes: set[str], secret_hash: str) -> ApiKeyItem:
        item = self.m.ApiKeyItem(pk="K", sk=key_id, name=name, scopes=set(scopes), secret_hash=secret_hash,
                          created_at=datetime.now(UTC))
        item.save(condition=self.m.ApiKeyItem.sk.does_not_exist())
        return item

    def get_key(self, key_id: str) -> ApiKeyItem | None:
        if not key_id or len(key_id.encode()) > 256:
            return None  # no key has such an id (and DynamoDB rejects sort keys over 1 KB)
        try:
            return self.m.ApiKeyItem.get("K", key_id, consistent_read=True)
        except self.m.ApiKeyItem.DoesNotExist:
            return None

    def list_keys(self) -> list[ApiKeyItem]:
        return list(self.m.ApiKeyItem.query("K"))

    def revoke_key(self, key_id: str) -> ApiKeyItem:
        item = self.get_key(key_id)
        if item is None:
            raise NotFound(f"no key {key_id}")
        if item.revoked_at is None:
            item.update(actions=[self.m.ApiKeyItem.revoked_at.set(datetime.now(UTC))])
        return item

    def register_agent(self, agent_id: str, info: dict[str, Any]) -> AgentItem:
        now = datetime.now(UTC)
        item = self.m.AgentItem(pk="A", sk=agent_id, registered_at=now, last_seen=now, **info)
        item.save()
        return item

    def touch_agent(self, agent_id: str) -> None:
        try:
            self.m.AgentItem(pk="A", sk=agent_id).update(actions=[self.m.AgentItem.last_seen.set(datetime.now(UTC))],
                                                        condition=self.m.AgentItem.pk.exists())
        except PynamoDBException as e:
            if _err_code(e) != "ConditionalCheckFailedException":
                raise

    def list_agents(self) -> list[AgentItem]:
        return list(self.m.AgentItem.query("A"))

    def set_collector_status(self, collector: str, scope: str, *, status: str, records: int = 0,
                             errors: list[dict] | None = None, cursor: str | None = None,
                             marks: dict[str, str] | None = None) -> None:
        """Record a scope's run. ``marks`` (e.g. when an interval-gated pull last ran) merge into the previous."""
        now = datetime.now(UTC)
        prev = self.get_collector_status(collector, scope)
        merged = {**((prev.marks if prev else None) or {}), **(marks or {})}
        self.m.CollectorStatusItem(
            pk="C", sk=f"{collector}#{scope}", collector=collector, scope=scope, status=status, last_run=now,
            last_success=now if status == "ok" else (prev.last_success if prev else None),
            cursor=cursor if cursor is not None else (prev.cursor if prev else None),
            records=records, errors=errors or None, marks=merged or None).save()

    # collector state blobs (the runner's day ledgers): partition "L", chunked below the item size limit.
    # The head item (chunk 0) names its generation; later chunks are keyed by generation, so a head always
    # points at complete chunks, and a head write is conditional on the generation this process read: two
    # overlapping runs of one collector cannot silently overwrite each other's ledger.
    STATE_CHUNK = 350_000

    def get_state(self, collector: str, scope: str, key: str) -> bytes | None:
        """A blob saved by :meth:`put_state` (None if absent or expired)."""
        base = f"{collector}#{scope}#{key}"
        resp = self._call("GetItem", {"TableName": self.table, "ConsistentRead": True,
                                      "Key": {"pk": {"S": "L"}, "sk": {"S": f"{base}#0"}}}, "read")
        it = resp.get("Item")
        self._state_gens[base] = it["g"]["S"] if it else ""
        if not it or ("ttl" in it and int(it["ttl"]["N"]) <= time.time()):
            return None
        gen, parts = it["g"]["S"], [it["b"]["B"]]
        for n in range(1, int(it["nc"]["N"])):
            resp = self._call("GetItem", {"TableName": self.table, "ConsistentRead": True,
                                          "Key": {"pk": {"S": "L"}, "sk": {"S": f"{base}#{gen}#{n}"}}}, "read")
            if "Item" not in resp:
                return None    # expired under us: treated as absent (the caller re-sends, idempotently)
            parts.append(resp["Item"]["b"]["B"])
        return b"".join(parts)

    def put_state(self, collector: str, scope: str, key: str, blob: bytes, expires: datetime) -> None:
        base = f"{collector}#{scope}#{key}"
        chunks = [blob[i:i + self.STATE_CHUNK] for i in range(0, len(blob), self.STATE_CHUNK)] or [b""]
        gen = base64.b32encode(random.randbytes(5)).decode()
        ttl = {"N": str(int(expires.timestamp()))}
        for n in range(1, len(chunks)):
            self._call("PutItem", {"TableName": self.table, "Item": {
                "pk": {"S": "L"}, "sk": {"S": f"{base}#{gen}#{n}"}, "b": {"B": chunks[n]}, "ttl": ttl}}, "write")
        head = {"TableName": self.table, "Item": {"pk": {"S": "L"}, "sk": {"S": f"{base}#0"}, "b": {"B": chunks[0]},
                                                  "g": {"S": gen}, "nc": {"N": str(len(chunks))}, "ttl": ttl}}
        read = self._state_gens.get(base)
        if read is not None:
            head.update({"ConditionExpression": "attribute_not_exists(pk)"} if read == "" else
                        {"ConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": read}}})
        try:
            self._call("PutItem", head, "write")
        except (PynamoDBException, BotoCoreError, ClientError) as e:
            if _err_code(e) != "ConditionalCheckFailedException":
                raise
            raise StoreError(f"collector {collector} scope {scope}: {key} was updated by another run meanwhile; "
                             "this run's delivery is retried by the next one", retry_after=60) from e
        self._state_gens[base] = gen

    def get_collector_status(self, collector: str, scope: str) -> CollectorStatusItem | None:
        try:
            return self.m.CollectorStatusItem.get("C", f"{collector}#{scope}", consistent_read=True)
        except self.m.CollectorStatusItem.DoesNotExist:
            return None

    def collectors(self) -> list[dict[str, Any]]:
        """Status of each collector: its scopes, last run and success, records, errors."""
        out: dict[str, dict[str, Any]] = {}
        for it in self.m.CollectorStatusItem.query("C"):
            c = out.setdefault(it.collector, {"name": it.collector, "status": "ok", "last_run": None,
                                              "last_success": None, "records": 0, "scopes": []})
            c["scopes"].append({"scope": it.scope, "status": it.status, "last_run": iso(it.last_run),
                                "last_success": iso(it.last_success) if it.last_success else None,
                                "records": int(it.records or 0), "errors": it.errors or [], "cursor": it.cursor})
            c["records"] += int(it.records or 0)
            if it.status != "ok":
                c["status"] = "failing" if c["status"] == "ok" else c["status"]
            for k, v in (("last_run", it.last_run), ("last_success", it.last_success)):
                if v and (c[k] is None or iso(v) > c[k]):
                    c[k] = iso(v)
        return sorted(out.values(), key=lambda c: c["name"])

    # ------------------------------------------------------------------ metrics
    # Packed layout: one item per (name, UTC day, series, bucket), pk ``M#<name>#<day>``, sk
    # ``<series>|<bucket>``; bucket ``d`` holds the day's on-the-hour points, ``h<HH>`` the sub-hourly
    # points of hour HH; each point is an attribute ``t<HHMMSS>`` (``t<HHMMSS><ffffff>`` below a second).
    # An hourly series-day is one item under 1 KB: 1 WRU instead of 24 when its points arrive together.
    _METRIC_POINTS_PER_UPDATE = 100  # keeps an UpdateExpression near 1.4 KB, far below DynamoDB's 4 KB
    _METRIC_WORKERS = 8

    def write_metrics(self, points: Iterable[MetricPoint]) -> int:
        """Write metric points (idempotent per series and time) with a TTL; returns how many were kept
        (points already past the retention of ``CLOUDTALLY_METRIC_TTL_DAYS`` are dropped).

        Points merge into their series-day item with ``UpdateItem ... SET``: other writers' points stay,
        a re-sent point overwrites its attribute. Raises :class:`StoreError` (HTTP 503) if an update
        still fails after retries; a retry of the same batch is idempotent.
        """
        ttl_s = self.cfg.metric_ttl_days * 86400
        now = self.cfg.clock.timestamp()   # the settings' clock: a stack pinned at a day keeps that day's points
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for p in points:
            ts = p.timestamp
            ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
            if ts.timestamp() + ttl_s <= now:
                continue  # older than the retention: DynamoDB's TTL would delete it on arrival
            day = ts.date()
            on_hour = not (ts.minute or ts.second or ts.microsecond)
            key = (f"M#{p.name}#{day.isoformat()}", f"{p.series}|{'d' if on_hour else f'h{ts.hour:02d}'}")
            it = items.get(key)
            if it is None:
                day_end = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + 86400
                it = items[key] = {"ttl": str(day_end + ttl_s), "pts": {}}
            for attr, val in (("u", p.unit), ("src", p.source)):
                if val:
                    it[attr] = val
            if p.dimensions:
                it["dm"] = json.dumps(p.dimensions, separators=(",", ":"), sort_keys=True)
            attr = f"t{ts.hour:02d}{ts.minute:02d}{ts.second:02d}" + (f"{ts.microsecond:06d}" if ts.microsecond else "")
            it["pts"][attr] = fmt(p.value)
        updates = [u for key, it in items.items() for u in self._metric_updates(key, it)]
        if len(updates) > 4:
            with ThreadPoolExecutor(min(self._METRIC_WORKERS, len(updates))) as ex:
                list(ex.map(self._update_metric_item, updates))  # re-raises the first failure
        else:
            for u in updates:
                self._update_metric_item(u)
        return sum(len(it["pts"]) for it in items.values())

    def _metric_updates(self, key: tuple[str, str], it: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """UpdateItem requests for one packed item, at most ``_METRIC_POINTS_PER_UPDATE`` points each."""
        pts = sorted(it["pts"].items())
        for i in range(0, len(pts), self._METRIC_POINTS_PER_UPDATE):
            names = {"#ttl": "ttl"}
            values: dict[str, dict[str, str]] = {":ttl": {"N": it["ttl"]}}
            for attr in ("u", "dm", "src"):
                if attr in it:
                    names[f"#{attr}"] = attr
                    values[f":{attr}"] = {"S": it[attr]}
            for j, (attr, num) in enumerate(pts[i:i + self._METRIC_POINTS_PER_UPDATE]):
                names[f"#p{j}"] = attr
                values[f":p{j}"] = {"N": num}
            yield {"TableName": self.table, "Key": {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
                   "UpdateExpression": "SET " + ", ".join(f"{n} = :{n[1:]}" for n in names),
                   "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}

    def _update_metric_item(self, kwargs: dict[str, Any]) -> None:
        try:
            self._call("UpdateItem", kwargs, "write")
        except StoreError as e:
            raise StoreError("metric points not written after retries; retry the request (writes are idempotent)",
                             retry_after=max(2, e.retry_after)) from e

    def query_metrics(self, name: str, start: date, end: date, *, dimensions: dict[str, str] | None = None,
                      limit: int = 5000) -> list[dict[str, Any]]:
        """Points of metric ``name`` on UTC days [start, end), at most ``limit``, each
        ``{"name", "timestamp", "value", "unit", "dimensions"}``: day by day, series by series, by time.

        Reads packed items and single-point items of the earlier layout (attribute ``v``, sk
        ``<series>|<ISO time>``) alike; a day stops paging once ``limit`` points of whole series are read.
        """
        out: list[dict[str, Any]] = []
        d = start
        while d < end and len(out) < limit:
            kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                                      "ExpressionAttributeValues": {":pk": {"S": f"M#{name}#{d.isoformat()}"}}}
            prefix = f"{d.isoformat()}T"
            reading: dict[str, dict[str, dict[str, Any]]] = {}  # series → {ISO time: point}, not yet complete
            while True:
                resp = self._call("Query", kwargs, "read")
                for it in resp.get("Items", []):
                    sk = it["sk"]["S"]
                    series, _, bucket = sk.rpartition("|")
                    if reading and series not in reading:
                        self._flush_metric_series(reading, out, sk)
                    dims = json.loads(it["dm"]["S"]) if "dm" in it else {}
                    if dimensions and any(dims.get(k) != v for k, v in dimensions.items()):
                        continue
                    pts = reading.setdefault(series, {})
                    unit = it.get("u", {}).get("S", "")
                    if "v" in it:  # earlier layout: one item per point, its time in the sort key
                        pts[bucket] = {"name": name, "timestamp": bucket, "value": Decimal(it["v"]["N"]),
                                       "unit": unit, "dimensions": dims}
                        continue
                    for attr, val in it.items():
                        if attr[0] == "t" and attr[1:].isdigit():  # t<HHMMSS>[<ffffff>]
                            frac = "." + attr[7:] if len(attr) > 7 else ""
                            ts = f"{prefix}{attr[1:3]}:{attr[3:5]}:{attr[5:7]}{frac}Z"
                            pts[ts] = {"name": name, "timestamp": ts, "value": Decimal(val["N"]), "unit": unit,
                                       "dimensions": dims}
                if not resp.get("LastEvaluatedKey") or len(out) >= limit:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
            self._flush_metric_series(reading, out, None)
            d += timedelta(days=1)
        return out[:limit]

    @staticmethod
    def _flush_metric_series(reading: dict[str, dict[str, dict[str, Any]]], out: list[dict[str, Any]],
                             sk: str | None) -> None:
        """Move the series whose items are all read to ``out``, each by time (``sk=None``: all of them).

        Items arrive in sort-key order and a series' sort keys are ``<series>|`` + a bucket or ISO time
        (digits, ``d``, ``h``), all below ``<series>|~``: once ``sk`` reaches that, the series is complete.
        """
        for series in [s for s in reading if sk is None or s + "|~" <= sk]:
            pts = reading.pop(series)
            out.extend(pts[t] for t in sorted(pts, key=lambda t: t.rstrip("Z")))  # "10:00:00" < "10:00:00.5"
