"""Period replace: a billing export's records replace, in one visible step, what its periods held.

An *import* stages records (compressed, invisible to every query), then commits: for each day of the
staged billing periods it writes the staged records and deletes the records of the same scopes
``(x_Collector, provider, billing account, billing period, cost source)`` that the import did not bring
(a corrected export replaces the period; rows it dropped go; the collector's estimates of the period are
not in a billed import's scope and stay, superseded, for estimate-accuracy reporting). Readers see the old totals until the
commit completes and the new ones after, never a mix:

* before writing a day, the commit locks it: the day's rollup marker gets the import id (``ri``) and
  is bumped, and every reader (summaries, top resources, the sweep, alerts) keeps serving the day's
  previous rollup while the import that holds the lock is ``committing``;
* when every day is written, one conditional write flips the import to ``committed``: from then on
  each locked day is dirty and is recomputed from its records on its next read.

Commits are resumable and idempotent (a crashed commit is redone by the next ``commit`` call: writes
replace by id, deletes of absent items are no-ops) and run under a lease so two callers never commit
one import at once. A commit that nobody resumes stops holding its locks once its lease has been
expired for :data:`ABANDONED_S`, so readers are never stuck on old totals.

Item kinds: ``I#<import id>`` / ``#meta`` (state, collector, scopes, lease, days done) and
``I#<import id>`` / ``<day>#<n>`` (a compressed batch of one day's staged record items). Both expire
with a TTL (:data:`IMPORT_TTL_DAYS`).
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from datetime import datetime, timedelta
from typing import Iterable

from .. import periods
from ..errors import BadRequest, Conflict, NotFound
from ..focus import UTC, CostRecord, iso, month_bounds
from . import codec
from .base import DB_ERRORS, conditional_failed

IMPORT_TTL_DAYS = 3
LEASE_S = 90                 # a commit call holds the import this long, renewed per day
ABANDONED_S = 900            # a committing import whose lease expired this long ago no longer locks its days
STAGE_CHUNK_RECORDS = 400    # records per staged item (~40-60 KB compressed: a fraction of a WRU per record)


def _scope_key(r: CostRecord) -> str:
    return json.dumps([r.x_Collector or "", r.ProviderName, r.BillingAccountId, iso(r.BillingPeriodStart),
                       iso(r.BillingPeriodEnd), r.x_CostSource], separators=(",", ":"))


def _item_key(item: dict) -> tuple[str, str, str, str, str]:
    """(collector, provider, account, billing period start, cost source) of a stored record item."""
    bs = item.get("bs", {}).get("S")
    if bs is None:
        cs = datetime.fromisoformat(item["cs"]["S"].replace("Z", "+00:00")).astimezone(UTC)
        bs = iso(month_bounds(cs)[0])
    return (item.get("col", {}).get("S", ""), item.get("p", {}).get("S", ""), item.get("a", {}).get("S", ""), bs,
            item.get("src", {}).get("S", "estimated"))


class ImportsMixin:
    # ------------------------------------------------------------------ lifecycle
    def create_import(self, collector: str, *, now: datetime | None = None, source: str | None = None) -> dict:
        """A new import (state ``staging``); ``collector`` names who imports (``aws-billing-export``, the CLI)."""
        if not collector or len(collector) > 64:
            raise BadRequest("invalid import", details=[{"field": "collector", "message": "1-64 characters"}])
        now = now or datetime.now(UTC)
        iid = "imp_" + uuid.uuid4().hex[:20]
        item = {"pk": {"S": f"I#{iid}"}, "sk": {"S": "#meta"}, "st": {"S": "staging"}, "co": {"S": collector},
                "ca": {"S": iso(now)}, "n": {"N": "0"}, "ttl": {"N": str(int((now + timedelta(days=IMPORT_TTL_DAYS)).timestamp()))}}
        if source:
            item["src"] = {"S": source[:1024]}
        self._call("PutItem", {"TableName": self.table, "Item": item}, "write")
        return self._import_doc(item)

    def get_import(self, import_id: str) -> dict:
        return self._import_doc(self._meta(import_id))

    def _meta(self, import_id: str) -> dict:
        if not import_id.startswith("imp_") or len(import_id) > 64:
            raise NotFound(f"no import {import_id[:64]}")
        it = self.get_item(f"I#{import_id}", "#meta")
        if it is None:
            raise NotFound(f"no import {import_id}")
        return it

    @staticmethod
    def _import_doc(it: dict) -> dict:
        return {"import_id": it["pk"]["S"][2:], "state": it["st"]["S"], "collector": it["co"]["S"],
                "created_at": it["ca"]["S"], "staged": int(it.get("n", {}).get("N", "0")),
                "scopes": [dict(zip(("collector", "provider", "account", "billing_period_start",
                                     "billing_period_end", "cost_source"), json.loads(s)))
                           for s in sorted(it.get("sc", {}).get("SS", []))],
                "days_done": len(it.get("dd", {}).get("SS", [])), "written": int(it.get("w", {}).get("N", "0")),
                "deleted": int(it.get("dl", {}).get("N", "0"))}

    def stage_records(self, import_id: str, records: Iterable[CostRecord]) -> int:
        """Stage records (invisible until commit); their scopes are the periods the commit replaces."""
        meta = self._meta(import_id)
        if meta["st"]["S"] != "staging":
            raise Conflict(f"import {import_id} is {meta['st']['S']}: no more records can be staged",
                           code="import_not_staging")
        by_day: dict[str, list[dict]] = {}
        scopes: set[str] = set()
        n = 0
        for r in records:
            item = codec.to_item(r)
            by_day.setdefault(r.day, []).append(item)
            scopes.add(_scope_key(r))
            n += 1
        if not n:
            return 0
        ttl = meta["ttl"]
        batch = uuid.uuid4().hex[:10]
        for day, items in by_day.items():
            for i in range(0, len(items), STAGE_CHUNK_RECORDS):
                blob = zlib.compress(json.dumps(items[i:i + STAGE_CHUNK_RECORDS], separators=(",", ":")).encode(), 6)
                self._call("PutItem", {"TableName": self.table, "Item": {
                    "pk": {"S": f"I#{import_id}"}, "sk": {"S": f"{day}#{batch}#{i // STAGE_CHUNK_RECORDS}"},
                    "b": {"B": blob}, "ttl": ttl}}, "write")
        try:   # scopes and count; conditional so a commit that started meanwhile is not given new scopes
            self._call("UpdateItem", {"TableName": self.table, "Key": {"pk": {"S": f"I#{import_id}"}, "sk": {"S": "#meta"}},
                                      "UpdateExpression": "ADD sc :sc, n :n, sd :sd",
                                      "ConditionExpression": "st = :staging",
                                      "ExpressionAttributeValues": {":sc": {"SS": sorted(scopes)}, ":n": {"N": str(n)},
                                                                    ":sd": {"SS": sorted(by_day)},
                                                                    ":staging": {"S": "staging"}}}, "write")
        except DB_ERRORS as e:
            if conditional_failed(e):
                raise Conflict(f"import {import_id} is no longer staging", code="import_not_staging") from e
            raise
        return n

    def abort_import(self, import_id: str) -> dict:
        """Drop a staging import (a commit in progress cannot be aborted: it is completed instead)."""
        try:
            self._call("UpdateItem", {"TableName": self.table, "Key": {"pk": {"S": f"I#{import_id}"}, "sk": {"S": "#meta"}},
                                      "UpdateExpression": "SET st = :ab", "ConditionExpression": "st = :staging",
                                      "ExpressionAttributeValues": {":ab": {"S": "aborted"}, ":staging": {"S": "staging"}}},
                       "write")
        except DB_ERRORS as e:
            if conditional_failed(e):
                self._meta(import_id)   # 404 if absent
                raise Conflict(f"import {import_id} is committing or done; it cannot be aborted",
                               code="import_not_staging") from e
            raise
        return self.get_import(import_id)

    # ------------------------------------------------------------------ commit
    def commit_import(self, import_id: str, *, budget_s: float = 20.0, now: datetime | None = None) -> dict:
        """Commit as many days as fit in ``budget_s``; call again while ``state`` is ``committing``."""
        t0 = time.monotonic()
        meta = self._meta(import_id)
        state = meta["st"]["S"]
        if state in ("committed", "aborted"):
            return {**self._import_doc(meta), "days_left": 0}
        lease = f"{uuid.uuid4().hex[:12]}"
        self._take_lease(import_id, lease, staging=state == "staging")
        meta = self._meta(import_id)
        scopes = [json.loads(s) for s in meta.get("sc", {}).get("SS", [])]
        keys = {(c, p, a, bs, src) for c, p, a, bs, _, src in scopes}
        days = set(meta.get("sd", {}).get("SS", []))
        for _, _, _, bs, be, _ in scopes:
            s = datetime.fromisoformat(bs.replace("Z", "+00:00")).date()
            e = datetime.fromisoformat(be.replace("Z", "+00:00")).date()
            days.update(d.isoformat() for d in periods.days(s, min(e, s + timedelta(days=800))))
        done = set(meta.get("dd", {}).get("SS", []))
        todo = sorted(days - done)
        if todo:   # lock every day first: readers keep the old totals of the whole period until the flip
            self._lock_days(import_id, todo)
        for day in todo:
            written, deleted = self._commit_day(import_id, day, keys)
            self._call("UpdateItem", {"TableName": self.table, "Key": {"pk": {"S": f"I#{import_id}"}, "sk": {"S": "#meta"}},
                                      "UpdateExpression": "ADD dd :d, w :w, dl :dl SET lu = :lu",
                                      "ConditionExpression": "lk = :lk",
                                      "ExpressionAttributeValues": {":d": {"SS": [day]}, ":w": {"N": str(written)},
                                                                    ":dl": {"N": str(deleted)}, ":lk": {"S": lease},
                                                                    ":lu": {"N": str(int(time.time()) + LEASE_S)}}},
                       "write")
            if time.monotonic() - t0 > budget_s:
                # out of time: release the lease (the next call resumes at once); the locks stay held
                self._call("UpdateItem", {"TableName": self.table,
                                          "Key": {"pk": {"S": f"I#{import_id}"}, "sk": {"S": "#meta"}},
                                          "UpdateExpression": "SET lu = :released",
                                          "ConditionExpression": "lk = :lk",
                                          "ExpressionAttributeValues": {":lk": {"S": lease},
                                                                        ":released": {"N": str(int(time.time()))}}},
                           "write")
                meta = self._meta(import_id)
                return {**self._import_doc(meta), "days_left": len(days - set(meta.get("dd", {}).get("SS", [])))}
        # the flip: one write makes the whole import visible
        self._call("UpdateItem", {"TableName": self.table, "Key": {"pk": {"S": f"I#{import_id}"}, "sk": {"S": "#meta"}},
                                  "UpdateExpression": "SET st = :c, cd = :cd REMOVE lk, lu",
                                  "ConditionExpression": "lk = :lk",
                                  "ExpressionAttributeValues": {":c": {"S": "committed"}, ":lk": {"S": lease},
                                                                ":cd": {"S": iso(now or datetime.now(UTC))}}}, "write")
        return {**self.get_import(import_id), "days_left": 0}

    def _take_lease(self, import_id: str, lease: str, *, staging: bool) -> None:
        now_s = int(time.time())
        try:
            self._call("UpdateItem", {"TableName": self.table, "Key": {"pk": {"S": f"I#{import_id}"}, "sk": {"S": "#meta"}},
                                      "UpdateExpression": "SET st = :committing, lk = :lk, lu = :lu",
                                      "ConditionExpression": "(st = :staging OR st = :committing) AND "
                                                             "(attribute_not_exists(lu) OR lu <= :now)",
                                      "ExpressionAttributeValues": {":committing": {"S": "committing"},
                                                                    ":staging": {"S": "staging"},
                                                                    ":lk": {"S": lease}, ":lu": {"N": str(now_s + LEASE_S)},
                                                                    ":now": {"N": str(now_s)}}}, "write")
        except DB_ERRORS as e:
            if conditional_failed(e):
                raise Conflict(f"import {import_id} is being committed by another call; retry later",
                               code="import_busy") from e
            raise

    def _lock_days(self, import_id: str, days: list[str]) -> None:
        for d in days:
            self._call("UpdateItem", {"TableName": self.table, "Key": {"pk": {"S": "U#" + d[:7]}, "sk": {"S": d + "#d"}},
                                      "UpdateExpression": "SET ri = :ri ADD v :one",
                                      "ExpressionAttributeValues": {":ri": {"S": import_id}, ":one": {"N": "1"}}},
                       "write")

    def _commit_day(self, import_id: str, day: str, keys: set[tuple]) -> tuple[int, int]:
        staged: list[dict] = []
        for it in self.query({"KeyConditionExpression": "pk = :pk AND begins_with(sk, :d)", "ConsistentRead": True,
                              "ExpressionAttributeValues": {":pk": {"S": f"I#{import_id}"}, ":d": {"S": day + "#"}}}):
            staged.extend(json.loads(zlib.decompress(it["b"]["B"])))
        ids = set()
        for item in staged:
            ids.add(item["sk"]["S"])
        written = 0
        for i in range(0, len(staged), 25):
            left, _ = self._batch_requests([{"PutRequest": {"Item": it}} for it in staged[i:i + 25]])
            if left:
                from ..errors import StoreError
                raise StoreError(f"import {import_id}: {len(left)} records of {day} not written; commit again",
                                 retry_after=2)
            written += min(25, len(staged) - i)
        stale = [it["sk"]["S"] for it in self.iter_day_items(day)
                 if it["sk"]["S"] not in ids and "col" in it and _item_key(it) in keys]
        for i in range(0, len(stale), 25):
            left, _ = self._batch_requests([{"DeleteRequest": {"Key": {"pk": {"S": codec.record_pk(day)}, "sk": {"S": s}}}}
                                            for s in stale[i:i + 25]])
            if left:
                from ..errors import StoreError
                raise StoreError(f"import {import_id}: stale records of {day} not deleted; commit again", retry_after=2)
        return written, len(stale)

    # ------------------------------------------------------------------ readers
    def import_locks(self, import_ids: Iterable[str]) -> set[str]:
        """Which of these imports still hold their days' locks (committing, lease alive or recent)."""
        held = set()
        now_s = time.time()
        for iid in set(import_ids):
            it = self.get_item(f"I#{iid}", "#meta", consistent=True)
            if it is None or it["st"]["S"] not in ("committing", "staging"):
                continue
            lu = int(it.get("lu", {}).get("N", "0"))
            if it["st"]["S"] == "committing" and lu + ABANDONED_S > now_s:
                held.add(iid)
        return held
