"""Import runs: convert every file, write its records, then replace the billing periods it covers.

Period-scoped replace: an import run covers scopes ``(x_Collector, provider, billing account,
billing period)``. After every file of the run is converted and written, records of those scopes
that the run did not produce are deleted (a corrected export replaces the period). Write first,
delete last: a run that fails anywhere (a rejected row, an unreadable part, a store error) deletes
nothing, so the earlier data of the period stays, and the report says which files were not imported.
Exports split in several parts (CUR's ``-00001.csv.gz`` ...) must be imported in one run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

from ..errors import CloudTallyError
from ..focus import UTC, iso, month_bounds
from ..money import CONTEXT, ZERO
from .engine import TOTALS, Converted, convert_file
from .sources import Source, local_copy


@dataclass
class RunReport:
    rows: int = 0
    records: int = 0
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_count: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    not_imported: list[dict[str, Any]] = field(default_factory=list)
    written: int = 0
    deleted: int = 0
    dry_run: bool = False
    replaced_periods: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.not_imported

    def add(self, conv: Converted) -> None:
        self.rows += conv.rows
        self.records += len(conv.records)
        add = CONTEXT.add
        for cur, t in conv.totals.items():
            acc = self.totals.setdefault(cur, {k: ZERO for k in TOTALS})
            for k in TOTALS:
                acc[k] = add(acc[k], t[k])

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "dry_run": self.dry_run, "rows": self.rows, "records": self.records,
                "totals": {c: self.totals[c] for c in sorted(self.totals)},
                "rejected_count": self.rejected_count, "rejected": self.rejected[:100],
                "not_imported": self.not_imported, "written": self.written, "deleted": self.deleted,
                "replaced_periods": self.replaced_periods, "files": self.files, "warnings": self.warnings,
                "seconds": round(self.seconds, 3)}


Progress = Callable[[str, dict[str, Any]], None]


def run_import(sources: list[Source], *, fmt: str = "auto", store: Any = None, dry_run: bool = False,
               progress: Progress | None = None, s3_client: Any = None, tmpdir: str | None = None) -> RunReport:
    """Convert, write and period-replace. ``store=None`` or ``dry_run`` writes nothing."""
    t0 = time.perf_counter()
    rep = RunReport(dry_run=dry_run or store is None)
    scopes: dict[tuple, tuple[datetime, datetime]] = {}   # (collector, provider, account, bp start) -> bp
    new_ids: dict[str, set[str]] = {}                       # day -> ids written by this run
    failed = False
    for i, src in enumerate(sources):
        if progress:
            progress("file", {"index": i, "count": len(sources), "name": src.name, "size": src.size})
        try:
            with local_copy(src, s3_client=s3_client, tmpdir=tmpdir) as path:
                conv = convert_file(path, fmt, display_name=src.name)
        except CloudTallyError as e:
            failed = True
            rep.not_imported.append({"file": src.name, "error": e.message, "details": e.details})
            if progress:
                progress("failed", {"name": src.name, "error": e.message})
            continue
        rep.files.append({k: v for k, v in conv.summary().items() if k not in ("rejected",)})
        rep.warnings.extend(f"{src.name}: {w}" for w in conv.warnings)
        if conv.rejected_count:
            failed = True
            rep.rejected_count += conv.rejected_count
            rep.rejected.extend(conv.rejected)
            rep.not_imported.append({"file": src.name, "error": f"{conv.rejected_count} row(s) rejected; "
                                     "nothing of this file was imported", "details": conv.rejected[:20]})
            if progress:
                progress("failed", {"name": src.name, "error": f"{conv.rejected_count} rows rejected"})
            continue
        rep.add(conv)
        for r in conv.records:
            scopes[(r.x_Collector, r.ProviderName, r.BillingAccountId, r.BillingPeriodStart)] = (
                r.BillingPeriodStart, r.BillingPeriodEnd)
        if not rep.dry_run:
            try:
                res = store.write_records(conv.records)
            except CloudTallyError as e:
                failed = True
                rep.not_imported.append({"file": src.name, "error": f"store: {e.message}; rows of this file "
                                         "may be partly written (re-run the import: writes are idempotent)"})
                continue
            rep.written += res.written
            for r in conv.records:
                new_ids.setdefault(r.day, set()).add(r.id)
        if progress:
            progress("done", {"name": src.name, "rows": conv.rows, "records": len(conv.records),
                              "seconds": conv.seconds_columnar + conv.seconds_records})
        conv.records.clear()
    if not rep.dry_run and scopes:
        if failed:
            rep.warnings.append("not every file was imported, so no earlier rows were removed: the earlier data "
                                "of these billing periods is intact; fix the files and import them again")
        else:
            rep.deleted = replace_stale(store, scopes, new_ids)
            rep.replaced_periods = [{"collector": k[0], "provider": k[1], "account": k[2],
                                     "billing_period_start": iso(v[0]), "billing_period_end": iso(v[1])}
                                    for k, v in sorted(scopes.items(), key=lambda kv: [str(x) for x in kv[0]])]
    rep.seconds = time.perf_counter() - t0
    return rep


def replace_stale(store: Any, scopes: dict[tuple, tuple[datetime, datetime]], new_ids: dict[str, set[str]]) -> int:
    """Delete records of the run's scopes that the run did not write; returns how many."""
    days: set[str] = set(new_ids)
    for start, end in scopes.values():
        d = start
        while d < end and len(days) < 800:
            days.add(d.strftime("%Y-%m-%d"))
            d += timedelta(days=1)
    keys = {(k[0], k[1], k[2], iso(k[3])) for k in scopes}
    stale: dict[str, list[str]] = {}
    for day in sorted(days):
        keep = new_ids.get(day, set())
        for it in store.iter_day_items(day):
            sk = it["sk"]["S"]
            if sk in keep:
                continue
            col = it.get("col", {}).get("S")
            if col is None:
                continue
            bs = it.get("bs", {}).get("S")
            if bs is None:
                cs = datetime.fromisoformat(it["cs"]["S"].replace("Z", "+00:00")).astimezone(UTC)
                bs = iso(month_bounds(cs)[0])
            if (col, it.get("p", {}).get("S"), it.get("a", {}).get("S"), bs) in keys:
                stale.setdefault(day, []).append(sk)
    return store.delete_records(stale) if stale else 0
