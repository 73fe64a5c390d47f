"""Collector state in the table: each scope's status (partition ``C``) and the day ledgers (``L``).

This is the backend behind the API's collector-state routes (a scheduled function reaches it only
through the API, :mod:`cloudtally.collectors.api_state`); tests and the CLI may use it directly, as a
:class:`cloudtally.collectors.state.StatusStore`.

Ledgers (blobs) are chunked below DynamoDB's 400 KB item limit. The head item (``…#0``) names its
generation and chunk count; the other chunks are keyed by generation (``…#<gen>#<n>``), so a head always
points at complete chunks and a reader never sees a half-written ledger. A head write is conditional on
the generation its writer read: two overlapping runs of one collector cannot silently overwrite each
other's ledger (the later one gets ``409 state_conflict`` and its next run redoes the day, idempotently).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..collectors.state import ScopeStatus, ScopeUpdate, merge, new_generation
from ..errors import Conflict
from ..focus import UTC, iso
from .base import DB_ERRORS, conditional_failed
from .models import CollectorStatusItem

STATE_CHUNK = 350_000


class CollectorStateMixin:
    keeps_ledgers = True
    STATE_CHUNK = STATE_CHUNK

    # ------------------------------------------------------------------ status
    def set_collector_status(self, collector: str, scope: str, *, status: str, records: int = 0,
                             errors: list[dict] | None = None, cursor: str | None = None,
                             marks: dict[str, str] | None = None, now: datetime | None = None) -> None:
        """Record one scope's run (``marks`` merge into the previous ones; ``cursor=None`` keeps it)."""
        self.save_status(collector, [ScopeUpdate(scope=scope, status=status, records=records, errors=errors or [],
                                                 cursor=cursor, marks=marks or {})], now or datetime.now(UTC))

    def get_collector_status(self, collector: str, scope: str) -> ScopeStatus | None:
        try:
            return _status(self.m.CollectorStatusItem.get("C", f"{collector}#{scope}", consistent_read=True))
        except self.m.CollectorStatusItem.DoesNotExist:
            return None

    def load_status(self, collector: str) -> dict[str, ScopeStatus]:
        """Every scope's status of one collector (one query)."""
        m = self.m.CollectorStatusItem
        return {it.scope: _status(it) for it in m.query("C", m.sk.startswith(f"{collector}#"), consistent_read=True)}

    def save_status(self, collector: str, updates: list[ScopeUpdate], now: datetime) -> None:
        prev = self.load_status(collector) if len(updates) > 1 else {
            u.scope: s for u in updates if (s := self.get_collector_status(collector, u.scope)) is not None}
        for u in updates:
            st = merge(prev.get(u.scope), u, now)
            self.m.CollectorStatusItem(
                pk="C", sk=f"{collector}#{u.scope}", collector=collector, scope=u.scope, status=st.status,
                last_run=datetime.fromisoformat(st.last_run.replace("Z", "+00:00")),
                last_success=datetime.fromisoformat(st.last_success.replace("Z", "+00:00")) if st.last_success else None,
                cursor=st.cursor, records=st.records, errors=st.errors or None, marks=st.marks or None).save()

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

    # ------------------------------------------------------------------ ledgers: explicit generations (the API)
    def read_states(self, collector: str, scope: str, keys: list[str]) -> dict[str, dict[str, Any]]:
        """``{key: {"generation", "blob", "expires"}}``; an absent key has generation ``""`` and no blob.

        Expiry is left to the reader (it compares with its own clock); DynamoDB's TTL deletes later."""
        out: dict[str, dict[str, Any]] = {}
        for key in keys:
            base = f"{collector}#{scope}#{key}"
            it = self.get_item("L", f"{base}#0")
            if not it:
                out[key] = {"generation": "", "blob": None, "expires": None}
                continue
            gen, parts = it["g"]["S"], [it["b"]["B"]]
            for n in range(1, int(it["nc"]["N"])):
                chunk = self.get_item("L", f"{base}#{gen}#{n}")
                if chunk is None:      # expired under us: absent (the caller re-sends, idempotently)
                    parts = None
                    break
                parts.append(chunk["b"]["B"])
            out[key] = {"generation": gen, "blob": b"".join(parts) if parts is not None else None,
                        "expires": int(it["ttl"]["N"]) if "ttl" in it else None}
        return out

    def write_state_chunk(self, collector: str, scope: str, key: str, generation: str, n: int, data: bytes,
                          expires: datetime) -> None:
        """Chunk ``n >= 1`` of a new generation (invisible until its head is written)."""
        self._call("PutItem", {"TableName": self.table, "Item": {
            "pk": {"S": "L"}, "sk": {"S": f"{collector}#{scope}#{key}#{generation}#{n}"}, "b": {"B": data},
            "ttl": {"N": str(int(expires.timestamp()))}}}, "write")

    def write_state_head(self, collector: str, scope: str, key: str, generation: str, first: bytes, chunks: int,
                         expires: datetime, expect: str | None) -> None:
        """Make ``generation`` current. ``expect``: None = unconditional, ``""`` = the key must not exist,
        else the generation it must still have. Raises :class:`Conflict` (``state_conflict``)."""
        head: dict[str, Any] = {"TableName": self.table, "Item": {
            "pk": {"S": "L"}, "sk": {"S": f"{collector}#{scope}#{key}#0"}, "b": {"B": first}, "g": {"S": generation},
            "nc": {"N": str(chunks)}, "ttl": {"N": str(int(expires.timestamp()))}}}
        if expect is not None:
            head.update({"ConditionExpression": "attribute_not_exists(pk)"} if expect == "" else
                        {"ConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": expect}}})
        try:
            self._call("PutItem", head, "write")
        except DB_ERRORS as e:
            if not conditional_failed(e):
                raise
            raise Conflict(f"collector {collector} scope {scope}: {key} was updated by another run meanwhile; "
                           "this run's delivery is retried by the next one", code="state_conflict") from e

    def write_state(self, collector: str, scope: str, key: str, blob: bytes, expires: datetime,
                    expect: str | None) -> str:
        """Write a whole blob as a new generation (chunks, then the conditional head); returns it."""
        size = self.STATE_CHUNK
        chunks = [blob[i:i + size] for i in range(0, len(blob), size)] or [b""]
        gen = new_generation()
        for n in range(1, len(chunks)):
            self.write_state_chunk(collector, scope, key, gen, n, chunks[n], expires)
        self.write_state_head(collector, scope, key, gen, chunks[0], len(chunks), expires, expect)
        return gen

    # ------------------------------------------------------------------ ledgers: StatusStore (generations remembered)
    def get_states(self, collector: str, scope: str, keys: list[str], now: datetime) -> dict[str, bytes | None]:
        got = self.read_states(collector, scope, keys)
        out: dict[str, bytes | None] = {}
        for key, v in got.items():
            self._state_gens[f"{collector}#{scope}#{key}"] = v["generation"]
            out[key] = v["blob"] if v["blob"] is not None and (v["expires"] is None or v["expires"] > now.timestamp()) \
                else None
        return out

    def put_state(self, collector: str, scope: str, key: str, blob: bytes, expires: datetime,
                  now: datetime | None = None) -> None:
        base = f"{collector}#{scope}#{key}"
        self._state_gens[base] = self.write_state(collector, scope, key, blob, expires, self._state_gens.get(base))

    # the generation-less single-key forms (tests)
    def get_state(self, collector: str, scope: str, key: str, now: datetime | None = None) -> bytes | None:
        return self.get_states(collector, scope, [key], now or datetime.now(UTC))[key]


def _status(it: CollectorStatusItem) -> ScopeStatus:
    return ScopeStatus(scope=it.scope, status=it.status, cursor=it.cursor, marks=dict(it.marks or {}),
                       last_run=iso(it.last_run) if it.last_run else None,
                       last_success=iso(it.last_success) if it.last_success else None,
                       records=int(it.records or 0), errors=list(it.errors or []))
