"""Collector state through the API: what every scheduled function uses (an ingest key is all it needs).

:class:`ApiStatus` implements :class:`~cloudtally.collectors.state.StatusStore` over the collector-state
routes (:mod:`cloudtally.api.collector_state`): one request reads every scope's status at the start of a
run, one writes them at the end, one reads a scope's day ledgers and one writes each changed ledger
(large ledgers in parts). Generations read are remembered, so a ledger write is conditional on them:
an overlapping run that wrote meanwhile makes this one's write fail with ``state_conflict``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..focus import iso
from .state import ScopeStatus, ScopeUpdate, new_generation

SINGLE_MAX = 3_000_000        # a ledger up to this size goes in one request
PART_SIZE = 350_000           # else in parts of the store's chunk size
KEYS_PER_READ = 100
UPDATES_PER_SAVE = 1000


class ApiStatus:
    keeps_ledgers = True

    def __init__(self, client: Any):
        self.client = client
        self._gens: dict[tuple[str, str, str], str] = {}
        self.requests = 0

    def _call(self, method: str, path: str, *, body: Any = None, params: dict | None = None) -> Any:
        self.requests += 1
        resp, _ = self.client.request(method, path, body=body, params=params)
        return resp

    @staticmethod
    def _base(collector: str) -> str:
        return f"/v1/collectors/{quote(collector, safe='')}"

    def load_status(self, collector: str) -> dict[str, ScopeStatus]:
        resp = self._call("GET", f"{self._base(collector)}/status")
        return {k: ScopeStatus.from_dict(v) for k, v in (resp.get("scopes") or {}).items()}

    def save_status(self, collector: str, updates: list[ScopeUpdate], now: datetime) -> None:
        for i in range(0, len(updates), UPDATES_PER_SAVE):
            self._call("POST", f"{self._base(collector)}/status",
                       body={"updates": [u.to_dict() for u in updates[i:i + UPDATES_PER_SAVE]], "run_at": iso(now)})

    def get_states(self, collector: str, scope: str, keys: list[str], now: datetime) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for i in range(0, len(keys), KEYS_PER_READ):
            resp = self._call("GET", f"{self._base(collector)}/state",
                              params={"scope": scope, "key": keys[i:i + KEYS_PER_READ]})
            for k, v in (resp.get("items") or {}).items():
                self._gens[(collector, scope, k)] = v.get("generation") or ""
                expired = v.get("expires") is not None and int(v["expires"]) <= now.timestamp()
                out[k] = base64.b64decode(v["blob"]) if v.get("blob") is not None and not expired else None
        return out

    def put_state(self, collector: str, scope: str, key: str, blob: bytes, expires: datetime,
                  now: datetime | None = None) -> None:
        path = f"{self._base(collector)}/state"
        expect = self._gens.get((collector, scope, key))
        head: dict[str, Any] = {"scope": scope, "key": key, "expires": iso(expires), "expect_generation": expect}
        if len(blob) <= SINGLE_MAX:
            resp = self._call("PUT", path, body={**head, "blob": base64.b64encode(blob).decode()})
        else:
            parts = [blob[i:i + PART_SIZE] for i in range(0, len(blob), PART_SIZE)]
            gen = new_generation()
            for n in range(1, len(parts)):
                self._call("PUT", path, body={"scope": scope, "key": key, "expires": iso(expires), "generation": gen,
                                              "part": n, "blob": base64.b64encode(parts[n]).decode()})
            resp = self._call("PUT", path, body={**head, "generation": gen, "parts": len(parts),
                                                 "blob": base64.b64encode(parts[0]).decode()})
        self._gens[(collector, scope, key)] = resp["generation"]
