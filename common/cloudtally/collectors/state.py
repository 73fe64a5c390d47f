"""Collector state: each scope's status, cursor and interval marks, and the day ledgers.

A scheduled function keeps its state **through the API** (:class:`cloudtally.collectors.api_state.ApiStatus`:
an ingest key is all it needs); the DynamoDB backend (:class:`cloudtally.store.Store`) serves the API and
tests, :class:`FileStatus` the CLI away from any API, :class:`MemoryStatus` unit tests. All four keep the
same guarantees:

* ``save_status`` merges ``marks`` into the previous ones and keeps the previous cursor when none is given;
* ``get_states`` treats a ledger past its expiry at the *run's* ``now`` as absent (the clock is a parameter);
* ``put_state`` is conditional on the generation this process last read (or wrote) for that key: two
  overlapping runs cannot silently overwrite each other's ledger — the later writer gets a
  :class:`~cloudtally.errors.Conflict` (``state_conflict``), and its next run redoes the day, idempotently.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..errors import Conflict
from ..focus import iso


@dataclass
class ScopeStatus:
    """One scope's last run, as ``GET /v1/collectors`` shows it and the runner reads it back."""

    scope: str
    status: str = "ok"
    cursor: str | None = None
    marks: dict[str, str] = field(default_factory=dict)
    last_run: str | None = None
    last_success: str | None = None
    records: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ScopeStatus":
        return cls(scope=str(d["scope"]), status=str(d.get("status") or "ok"), cursor=d.get("cursor"),
                   marks=dict(d.get("marks") or {}), last_run=d.get("last_run"),
                   last_success=d.get("last_success"), records=int(d.get("records") or 0),
                   errors=list(d.get("errors") or []))


@dataclass
class ScopeUpdate:
    """What a run reports for one scope: ``cursor=None`` keeps the previous cursor, ``marks`` merge."""

    scope: str
    status: str
    records: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    cursor: str | None = None
    marks: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def merge(prev: ScopeStatus | None, u: ScopeUpdate, now: datetime) -> ScopeStatus:
    """The status after ``u`` (the one rule every backend applies)."""
    ok = u.status == "ok"
    return ScopeStatus(
        scope=u.scope, status=u.status,
        cursor=u.cursor if u.cursor is not None else (prev.cursor if prev else None),
        marks={**(prev.marks if prev else {}), **(u.marks or {})},
        last_run=iso(now), last_success=iso(now) if ok else (prev.last_success if prev else None),
        records=int(u.records), errors=list(u.errors or [])[:20])


class StatusStore(Protocol):
    keeps_ledgers: bool        # False: status only; the runner then sends every record (no day ledgers)

    def load_status(self, collector: str) -> dict[str, ScopeStatus]: ...
    def save_status(self, collector: str, updates: list[ScopeUpdate], now: datetime) -> None: ...
    def get_states(self, collector: str, scope: str, keys: list[str], now: datetime) -> dict[str, bytes | None]: ...
    def put_state(self, collector: str, scope: str, key: str, blob: bytes, expires: datetime,
                  now: datetime | None = None) -> None: ...


def new_generation() -> str:
    return base64.b32encode(random.randbytes(5)).decode()


class MemoryStatus:
    """In-process state (unit tests); the same merge and generation rules as the other backends.
    ``ledgers=False``: status only, so the runner sends everything (no incremental delivery)."""

    keeps_ledgers = True

    def __init__(self, *, ledgers: bool = True) -> None:
        self.keeps_ledgers = ledgers
        self.status: dict[tuple[str, str], ScopeStatus] = {}
        self.blobs: dict[tuple[str, str, str], tuple[str, bytes, datetime]] = {}
        self._gens: dict[tuple[str, str, str], str] = {}   # generation last read or written ("" = absent)
        self.calls: dict[str, int] = {"load": 0, "save": 0, "get": 0, "put": 0}

    def load_status(self, collector: str) -> dict[str, ScopeStatus]:
        self.calls["load"] += 1
        return {s: st for (c, s), st in self.status.items() if c == collector}

    def get_collector_status(self, collector: str, scope: str) -> ScopeStatus | None:
        return self.status.get((collector, scope))

    def save_status(self, collector: str, updates: list[ScopeUpdate], now: datetime) -> None:
        self.calls["save"] += 1
        for u in updates:
            self.status[(collector, u.scope)] = merge(self.status.get((collector, u.scope)), u, now)

    def get_states(self, collector: str, scope: str, keys: list[str], now: datetime) -> dict[str, bytes | None]:
        self.calls["get"] += 1
        out: dict[str, bytes | None] = {}
        for k in keys:
            got = self.blobs.get((collector, scope, k))
            self._gens[(collector, scope, k)] = got[0] if got else ""
            out[k] = got[1] if got and got[2] > now else None
        return out

    def put_state(self, collector: str, scope: str, key: str, blob: bytes, expires: datetime,
                  now: datetime | None = None) -> None:
        self.calls["put"] += 1
        k = (collector, scope, key)
        current = self.blobs.get(k)
        read = self._gens.get(k)
        if read is not None and (current[0] if current else "") != read:
            raise Conflict(f"collector {collector} scope {scope}: {key} was updated by another run meanwhile; "
                           "this run's delivery is retried by the next one", code="state_conflict")
        gen = new_generation()
        self.blobs[k] = (gen, blob, expires)
        self._gens[k] = gen


class FileStatus:
    """Cursors, status and day ledgers in local files, for ``cloudtally collect`` run away from any API."""

    keeps_ledgers = True

    def __init__(self, path: str):
        self.path = path
        self.data: dict[str, dict] = {}
        self._gens: dict[str, str] = {}
        if os.path.exists(path):
            with open(path) as f:
                self.data = json.load(f)

    def load_status(self, collector: str) -> dict[str, ScopeStatus]:
        prefix = f"{collector}#"
        return {k[len(prefix):]: ScopeStatus.from_dict({**d, "scope": k[len(prefix):]})
                for k, d in self.data.items() if k.startswith(prefix)}

    def get_collector_status(self, collector: str, scope: str) -> ScopeStatus | None:
        return self.load_status(collector).get(scope)

    def save_status(self, collector: str, updates: list[ScopeUpdate], now: datetime) -> None:
        for u in updates:
            key = f"{collector}#{u.scope}"
            prev = ScopeStatus.from_dict({**self.data[key], "scope": u.scope}) if key in self.data else None
            self.data[key] = {k: v for k, v in merge(prev, u, now).to_dict().items() if k != "scope"}
        _write(self.path, json.dumps(self.data, indent=1, sort_keys=True).encode())

    def _state_path(self, collector: str, scope: str, key: str) -> str:
        h = hashlib.blake2b(f"{collector}#{scope}#{key}".encode(), digest_size=12).hexdigest()
        return os.path.join(self.path + ".state", h)

    def get_states(self, collector: str, scope: str, keys: list[str], now: datetime) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for k in keys:
            path = self._state_path(collector, scope, k)
            try:
                with open(path, "rb") as f:
                    data = f.read()
                self._gens[path] = str(os.stat(path).st_ino)
                out[k] = data if os.path.getmtime(path) > now.timestamp() else None
            except FileNotFoundError:
                self._gens[path] = ""
                out[k] = None
        return out

    def put_state(self, collector: str, scope: str, key: str, blob: bytes, expires: datetime,
                  now: datetime | None = None) -> None:
        """Writes ``blob``; files expired at ``now`` are removed (a file has no TTL of its own)."""
        path = self._state_path(collector, scope, key)
        read = self._gens.get(path)
        current = str(os.stat(path).st_ino) if os.path.exists(path) else ""
        if read is not None and read != current:
            raise Conflict(f"collector {collector} scope {scope}: {key} was updated by another run meanwhile",
                           code="state_conflict")
        _write(path, blob)
        os.utime(path, (expires.timestamp(), expires.timestamp()))   # a file's mtime is its expiry
        self._gens[path] = str(os.stat(path).st_ino)
        if now is None:
            return
        folder = os.path.dirname(path)
        for name in os.listdir(folder):   # expired ledgers go (the table has TTL; files do not)
            full = os.path.join(folder, name)
            if not name.endswith(".tmp") and os.path.getmtime(full) < now.timestamp():
                os.remove(full)


def _write(path: str, data: bytes) -> None:
    """Atomic replace (a new inode each time: the file backend's generation)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
