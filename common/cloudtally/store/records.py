"""Records: idempotent writes (same id replaces), deletes, day reads and the paginated record list."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from ..errors import BadRequest, NotFound, StoreError
from ..focus import CostRecord
from ..query import Query
from . import codec


@dataclass
class WriteResult:
    written: int = 0
    failed: list[str] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    retries: int = 0


class RecordsMixin:
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
        """BatchWriteItem of puts; returns (ids not written, retries). See :meth:`_batch_requests`."""
        failed, retries = self._batch_requests([{"PutRequest": {"Item": it}} for it in items])
        return [p["PutRequest"]["Item"]["sk"]["S"] for p in failed], retries

    def _batch_requests(self, pending: list[dict]) -> tuple[list[dict], int]:
        """One BatchWriteItem (≤ 25 put/delete requests) with UnprocessedItems re-sent under backoff;
        returns (requests still unprocessed, retries).

        Throttling and timeouts are retried inside :meth:`_call`; if they persist, the requests are
        reported as not done (the API answers 503 and the client's idempotent retry lands them).
        """
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
        return pending, retries

    def delete_records(self, ids_by_day: dict[str, list[str]]) -> int:
        """Delete records by id (a corrected export replacing a period); marks their days dirty."""
        reqs = [(day, rid) for day, ids in ids_by_day.items() for rid in ids]
        days = sorted(ids_by_day)
        self._mark_dirty(days)
        for i in range(0, len(reqs), 25):
            left, _ = self._batch_requests([{"DeleteRequest": {"Key": {"pk": {"S": codec.record_pk(d)}, "sk": {"S": r}}}}
                                            for d, r in reqs[i:i + 25]])
            if left:
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
        return self.query({"KeyConditionExpression": "pk = :pk", "ConsistentRead": consistent,
                           "ExpressionAttributeValues": {":pk": {"S": codec.record_pk(day)}}})

    def get_record(self, day: str, rid: str) -> CostRecord:
        item = self.get_item(codec.record_pk(day), rid)
        if item is None:
            raise NotFound(f"no record {rid} on {day}")
        return codec.from_item(item)

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
            kwargs: dict[str, Any] = {"KeyConditionExpression": "pk = :pk",
                                      "ExpressionAttributeValues": {":pk": {"S": codec.record_pk(day)}}}
            if lek:
                kwargs["ExclusiveStartKey"] = {"pk": {"S": codec.record_pk(day)}, "sk": {"S": lek}}
            lek = None
            for resp in self.pages(kwargs, limit=lambda: limit - len(out)):
                for it in resp.get("Items", []):
                    r = codec.from_item(it)
                    if all(getattr(r, fmap[k]) in v for k, v in q.filters.items()) and all(
                            r.Tags.get(k) in v for k, v in q.tag_filters.items()):
                        out.append(r.to_dict())
                    if len(out) >= limit:
                        nxt = base64.urlsafe_b64encode(json.dumps({"d": day, "k": it["sk"]["S"]}).encode()).decode().rstrip("=")
                        return {"records": out, "next_cursor": nxt}
        return {"records": out, "next_cursor": None}
