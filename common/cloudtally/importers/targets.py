"""Where an import run's records go: the store directly (``cloudtally import`` with table access) or
the API (scheduled functions: an ingest key is all they have). Both run the same period replace
(:mod:`cloudtally.store.imports`): stage every file's records, then commit them in one visible step."""

from __future__ import annotations

from typing import Any, Protocol

from ..errors import StoreError
from ..focus import CostRecord

COMMIT_ROUNDS = 500      # commit calls before giving up (each commits as many days as fit its time budget)


class ImportTarget(Protocol):
    def begin(self, label: str, source: str | None = None) -> str: ...
    def stage(self, import_id: str, records: list[CostRecord]) -> int: ...
    def commit(self, import_id: str) -> dict[str, Any]: ...
    def abort(self, import_id: str) -> None: ...


class StoreTarget:
    def __init__(self, store: Any):
        self.store = store

    def begin(self, label: str, source: str | None = None) -> str:
        return self.store.create_import(label, source=source)["import_id"]

    def stage(self, import_id: str, records: list[CostRecord]) -> int:
        return self.store.stage_records(import_id, records)

    def commit(self, import_id: str) -> dict[str, Any]:
        for _ in range(COMMIT_ROUNDS):
            res = self.store.commit_import(import_id)
            if res["state"] == "committed":
                return res
        raise StoreError(f"import {import_id} did not finish committing; commit it again", retry_after=5)

    def abort(self, import_id: str) -> None:
        self.store.abort_import(import_id)


class ApiTarget:
    """The API's ``/v1/imports`` routes (ingest scope), through :class:`cloudtally.client.Client`."""

    def __init__(self, client: Any, *, batch_size: int = 2000):
        self.client = client
        self.batch_size = batch_size
        self.requests = 0

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        self.requests += 1
        resp, _ = self.client.request(method, path, body=body)
        return resp

    def begin(self, label: str, source: str | None = None) -> str:
        return self._call("POST", "/v1/imports", {"collector": label, **({"source": source} if source else {})})["import_id"]

    def stage(self, import_id: str, records: list[CostRecord]) -> int:
        n = 0
        for i in range(0, len(records), self.batch_size):
            res = self._call("POST", f"/v1/imports/{import_id}/records",
                             [r.to_dict() for r in records[i:i + self.batch_size]])
            if res.get("rejected"):
                from ..errors import ValidationError
                raise ValidationError(f"import {import_id}: the API rejected {len(res['rejected'])} record(s)",
                                      details=res["rejected"][:20])
            n += int(res.get("staged", 0))
        return n

    def commit(self, import_id: str) -> dict[str, Any]:
        for _ in range(COMMIT_ROUNDS):
            res = self._call("POST", f"/v1/imports/{import_id}/commit")
            if res["state"] == "committed":
                return res
        raise StoreError(f"import {import_id} did not finish committing; commit it again", retry_after=5)

    def abort(self, import_id: str) -> None:
        self._call("DELETE", f"/v1/imports/{import_id}")


class MemoryTarget:
    """Imports kept in memory (unit tests, contract replays): the same all-or-nothing, replace-by-scope
    rule as the store, over a dict of records."""

    def __init__(self) -> None:
        self.records: dict[str, CostRecord] = {}
        self._staged: dict[str, list[CostRecord]] = {}
        self.commits = 0

    def begin(self, label: str, source: str | None = None) -> str:
        iid = f"imp_mem{len(self._staged)}"
        self._staged[iid] = []
        return iid

    def stage(self, import_id: str, records: list[CostRecord]) -> int:
        self._staged[import_id].extend(records)
        return len(records)

    def commit(self, import_id: str) -> dict[str, Any]:
        staged = self._staged.pop(import_id)
        scopes = {(r.x_Collector, r.ProviderName, r.BillingAccountId, r.BillingPeriodStart, r.BillingPeriodEnd,
                   r.x_CostSource) for r in staged}
        keys = {s[:4] + s[5:] for s in scopes}
        stale = [i for i, r in self.records.items()
                 if (r.x_Collector, r.ProviderName, r.BillingAccountId, r.BillingPeriodStart, r.x_CostSource) in keys]
        new = {r.id: r for r in staged}
        deleted = sum(1 for i in stale if i not in new)
        for i in stale:
            self.records.pop(i)
        self.records.update(new)
        self.commits += 1
        return {"state": "committed", "written": len(new), "deleted": deleted, "scopes": [
            {"collector": c, "provider": p, "account": a, "billing_period_start": s.isoformat(),
             "billing_period_end": e.isoformat(), "cost_source": src} for c, p, a, s, e, src in sorted(scopes, key=str)]}

    def abort(self, import_id: str) -> None:
        self._staged.pop(import_id, None)
