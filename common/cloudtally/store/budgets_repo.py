"""Budgets, the alert ledger, anomalies and their suppressions in the single table.

Item kinds (documented with the others in :mod:`.models`):

* ``B`` / ``<budget id>``: a budget (``doc``: its JSON, amounts as strings)
* ``L#<ledger key>`` / ``L``: an alert claim; ``st`` = ``pending`` | ``sent``, ``lu`` = lease end, ``ca`` =
  first claimed, ``lc`` = last claimed, ``sa`` = sent (SNS acknowledged) (times in epoch ms)
* ``N#<month>`` / ``<day>#<anomaly id>``: a detected anomaly (``doc``), ``st`` = ``open`` | ``expected``
* ``S`` / ``<currency>#<dimension>=<value>``: an anomaly suppression (marked expected) until ``until``

The ledger makes each alert publish once: :meth:`AlertLedger.claim` is a conditional write that only
one evaluator wins; the winner publishes and marks the claim ``sent``. A claim whose publish failed
is released (lease set to 0) and a claim whose evaluator died expires with its lease; either way the
next evaluation claims it again. A ``sent`` claim is never claimed again.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterator

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException

from ..budgets import Budget, parse_budget
from ..errors import Conflict, NotFound
from ..money import dumps, loads
from .repository import Store, _err_code

LEDGER_TTL_DAYS = 400
UTC = timezone.utc


def _ccf(e: BaseException) -> bool:
    return _err_code(e) == "ConditionalCheckFailedException"


class BudgetRepo:
    """Budget CRUD over :class:`Store` (low-level calls, so consumed capacity is counted)."""

    def __init__(self, store: Store):
        self.store = store
        self.table = store.table

    def _put(self, b: Budget, cond: str) -> None:
        self.store._call("PutItem", {"TableName": self.table, "Item": {
            "pk": {"S": "B"}, "sk": {"S": b.id}, "doc": {"S": dumps(b.to_dict())}},
            "ConditionExpression": cond}, "write")

    def create(self, b: Budget) -> Budget:
        try:
            self._put(b, "attribute_not_exists(pk)")
        except (PynamoDBException, ClientError) as e:
            if _ccf(e):
                raise Conflict(f"budget {b.id} already exists", details=[{"field": "id", "message": "already exists"}]) from None
            raise
        return b

    def update(self, b: Budget) -> Budget:
        try:
            self._put(b, "attribute_exists(pk)")
        except (PynamoDBException, ClientError) as e:
            if _ccf(e):
                raise NotFound(f"no budget {b.id}") from None
            raise
        return b

    def get(self, budget_id: str) -> Budget:
        resp = self.store._call("GetItem", {"TableName": self.table, "ConsistentRead": True,
                                            "Key": {"pk": {"S": "B"}, "sk": {"S": budget_id}}}, "read")
        if "Item" not in resp:
            raise NotFound(f"no budget {budget_id}")
        return _budget(resp["Item"])

    def list(self) -> list[Budget]:
        return [_budget(i) for i in _query(self.store, {":pk": {"S": "B"}}, "pk = :pk", consistent=True)]

    def delete(self, budget_id: str) -> None:
        try:
            self.store._call("DeleteItem", {"TableName": self.table, "Key": {"pk": {"S": "B"}, "sk": {"S": budget_id}},
                                            "ConditionExpression": "attribute_exists(pk)"}, "write")
        except (PynamoDBException, ClientError) as e:
            if _ccf(e):
                raise NotFound(f"no budget {budget_id}") from None
            raise


_ANOMALY_AMOUNTS = ("expected", "observed", "impact", "impact_percentage", "score")


def _anomaly(item: dict) -> dict[str, Any]:
    """A stored anomaly with its amounts back as Decimals (JSON keeps them as strings)."""
    a = loads(item["doc"]["S"])
    for k in _ANOMALY_AMOUNTS:
        if a.get(k) is not None:
            a[k] = Decimal(a[k])
    for c in a.get("contributors", []):
        for k in ("expected", "observed", "impact"):
            c[k] = Decimal(c[k])
    a["status"] = item["st"]["S"]
    return a


def _budget(item: dict) -> Budget:
    return parse_budget(loads(item["doc"]["S"]))


def _query(store: Store, values: dict, cond: str, *, consistent: bool = False) -> Iterator[dict]:
    return store.query({"KeyConditionExpression": cond, "ExpressionAttributeValues": values,
                        "ConsistentRead": consistent})


def _ms_iso(av: dict | None) -> str | None:
    """An epoch-milliseconds attribute as ISO 8601 UTC (``2026-12-01T09:30:00.250Z``), None if absent."""
    if not av:
        return None
    ms = int(av["N"])
    t = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=(ms % 1000) * 1000)
    return t.isoformat(timespec="milliseconds" if ms % 1000 else "seconds").replace("+00:00", "Z")


class AlertLedger:
    """Conditional-write claims: ``claim`` → publish → ``mark_sent`` (or ``release`` on failure)."""

    def __init__(self, store: Store, *, lease_seconds: int = 300, clock=time.time):
        self.store = store
        self.table = store.table
        self.lease_ms = lease_seconds * 1000
        self.clock = clock

    def _key(self, key: str) -> dict:
        return {"pk": {"S": "L#" + key}, "sk": {"S": "L"}}

    def claim(self, key: str, dedup_id: str) -> bool:
        """True if this caller now owns the (unsent) alert ``key`` and must publish it."""
        now = int(self.clock() * 1000)
        item = {**self._key(key), "st": {"S": "pending"}, "lu": {"N": str(now + self.lease_ms)},
                "n": {"N": "1"}, "did": {"S": dedup_id}, "ca": {"N": str(now)}, "lc": {"N": str(now)},
                "ttl": {"N": str(int(self.clock()) + LEDGER_TTL_DAYS * 86400)}}
        try:
            self.store._call("PutItem", {"TableName": self.table, "Item": item,
                                         "ConditionExpression": "attribute_not_exists(pk)"}, "write")
            return True
        except (PynamoDBException, ClientError) as e:
            if not _ccf(e):
                raise
        try:  # an earlier claim that failed to publish (released) or whose owner died (lease over)
            self.store._call("UpdateItem", {
                "TableName": self.table, "Key": self._key(key),
                "UpdateExpression": "SET lu = :lu, lc = :now, ca = if_not_exists(ca, :now) ADD n :one",
                "ConditionExpression": "st = :pending AND lu < :now",
                "ExpressionAttributeValues": {":lu": {"N": str(now + self.lease_ms)}, ":one": {"N": "1"},
                                              ":pending": {"S": "pending"}, ":now": {"N": str(now)}}}, "write")
            return True
        except (PynamoDBException, ClientError) as e:
            if _ccf(e):
                return False
            raise

    def mark_sent(self, key: str, message_id: str) -> None:
        self.store._call("UpdateItem", {
            "TableName": self.table, "Key": self._key(key),
            "UpdateExpression": "SET st = :sent, mid = :mid, sa = :now",
            "ExpressionAttributeValues": {":sent": {"S": "sent"}, ":mid": {"S": message_id or "-"},
                                          ":now": {"N": str(int(self.clock() * 1000))}}}, "write")

    def release(self, key: str, error: str) -> None:
        """Give a failed publish back so the next evaluation retries it at once."""
        try:
            self.store._call("UpdateItem", {
                "TableName": self.table, "Key": self._key(key),
                "UpdateExpression": "SET lu = :zero, err = :err",
                "ConditionExpression": "st = :pending",
                "ExpressionAttributeValues": {":zero": {"N": "0"}, ":err": {"S": error[:500] or "-"},
                                              ":pending": {"S": "pending"}}}, "write")
        except (PynamoDBException, ClientError) as e:
            if not _ccf(e):
                raise

    def get(self, key: str) -> dict[str, Any] | None:
        resp = self.store._call("GetItem", {"TableName": self.table, "ConsistentRead": True, "Key": self._key(key)},
                                "read")
        it = resp.get("Item")
        if not it:
            return None
        return {"state": it["st"]["S"], "attempts": int(it["n"]["N"]), "dedup_id": it["did"]["S"],
                "message_id": it.get("mid", {}).get("S"), "error": it.get("err", {}).get("S"),
                # claims written before these were recorded have none: None, never a made-up time
                "claimed_at": _ms_iso(it.get("ca")), "last_claimed_at": _ms_iso(it.get("lc")),
                "sent_at": _ms_iso(it.get("sa"))}


class AnomalyRepo:
    """Detected anomalies (idempotent by id; a re-detection never resets a status) and suppressions."""

    def __init__(self, store: Store):
        self.store = store
        self.table = store.table

    def put(self, anomaly: dict[str, Any]) -> dict[str, Any]:
        """Store an anomaly unless already stored; returns the stored version (with its status)."""
        day = anomaly["day"]
        key = {"pk": {"S": "N#" + day[:7]}, "sk": {"S": f"{day}#{anomaly['id']}"}}
        try:
            self.store._call("PutItem", {"TableName": self.table, "Item": {
                **key, "doc": {"S": dumps(anomaly)}, "st": {"S": anomaly.get("status", "open")}},
                "ConditionExpression": "attribute_not_exists(pk)"}, "write")
            return anomaly
        except (PynamoDBException, ClientError) as e:
            if not _ccf(e):
                raise
        return self.get(anomaly["id"])

    def _item(self, anomaly_id: str) -> dict:
        day = anomaly_id[:10]
        try:
            date.fromisoformat(day)
        except ValueError:
            raise NotFound(f"no anomaly {anomaly_id[:80]}") from None
        resp = self.store._call("GetItem", {"TableName": self.table, "ConsistentRead": True, "Key": {
            "pk": {"S": "N#" + day[:7]}, "sk": {"S": f"{day}#{anomaly_id}"}}}, "read")
        if "Item" not in resp:
            raise NotFound(f"no anomaly {anomaly_id[:80]}")
        return resp["Item"]

    def get(self, anomaly_id: str) -> dict[str, Any]:
        return _anomaly(self._item(anomaly_id))

    def list(self, start: date, end: date, *, status: str | None = None) -> list[dict[str, Any]]:
        out = []
        months = sorted({(start + timedelta(days=i)).strftime("%Y-%m") for i in range((end - start).days)})
        for m in months:
            for it in _query(self.store, {":pk": {"S": "N#" + m}, ":a": {"S": start.isoformat()},
                                          ":b": {"S": (end - timedelta(days=1)).isoformat() + "#~"}},
                             "pk = :pk AND sk BETWEEN :a AND :b"):
                a = _anomaly(it)
                if status is None or a["status"] == status:
                    out.append(a)
        return sorted(out, key=lambda a: (a["day"], a["id"]), reverse=True)

    def mark_expected(self, anomaly_id: str, *, until_days: int = 28) -> dict[str, Any]:
        """Mark an anomaly expected and suppress repeats of its root cause for ``until_days``."""
        a = self.get(anomaly_id)
        day = date.fromisoformat(a["day"])
        self.store._call("UpdateItem", {
            "TableName": self.table, "Key": {"pk": {"S": "N#" + a["day"][:7]}, "sk": {"S": f"{a['day']}#{anomaly_id}"}},
            "UpdateExpression": "SET st = :e", "ExpressionAttributeValues": {":e": {"S": "expected"}}}, "write")
        rc = a["root_cause"]
        self.store._call("PutItem", {"TableName": self.table, "Item": {
            "pk": {"S": "S"}, "sk": {"S": f"{a['currency']}#{rc['dimension']}={rc['value']}"},
            "until": {"S": (day + timedelta(days=until_days)).isoformat()}, "by": {"S": anomaly_id}}}, "write")
        return {**a, "status": "expected"}

    def suppressions(self, day: date) -> set[str]:
        """Keys ``<currency>#<dimension>=<value>`` suppressed on ``day``."""
        return {it["sk"]["S"] for it in _query(self.store, {":pk": {"S": "S"}}, "pk = :pk", consistent=True)
                if it["until"]["S"] >= day.isoformat()}
