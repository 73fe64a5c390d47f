"""Import runs: convert every file, write its records, then replace the billing periods it covers.

Period-scoped replace: an import run covers scopes ``(x_Collector, provider, billing account,
billing period)``. Every file's records are staged; when all converted, the commit replaces those
scopes' records with the run's in one visible step (:mod:`cloudtally.store.imports`: records of the
scopes that the run did not produce are deleted, so a corrected export replaces the period). A run
that fails anywhere (a rejected row, an unreadable part) is aborted and writes nothing, so the earlier
data of the period stays, and the report says which files were not imported. Exports split in several
parts (CUR's ``-00001.csv.gz`` ...) must be imported in one run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from ..errors import CloudTallyError
from ..money import CONTEXT, ZERO
from .engine import TOTALS, Converted, convert_file
from .sources import Source, local_copy
from .targets import ImportTarget, StoreTarget


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


def run_import(sources: list[Source], *, fmt: str = "auto", store: Any = None, target: ImportTarget | None = None,
               dry_run: bool = False, progress: Progress | None = None, s3_client: Any = None,
               tmpdir: str | None = None, label: str = "cloudtally-import") -> RunReport:
    """Convert every file, stage its records and, if every file converted, commit the period replace.

    ``target`` is where records go (:class:`~.targets.StoreTarget` for ``store=``, or
    :class:`~.targets.ApiTarget`); none, or ``dry_run``, writes nothing. All or nothing: a file that fails
    to convert (or a rejected row) aborts the import, and the periods keep their earlier records.
    """
    t0 = time.perf_counter()
    if target is None and store is not None:
        target = StoreTarget(store)
    rep = RunReport(dry_run=dry_run or target is None)
    import_id: str | None = None
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
        if not rep.dry_run and not failed and conv.records:
            try:
                if import_id is None:
                    import_id = target.begin(label, source=src.name)
                target.stage(import_id, conv.records)
            except CloudTallyError as e:
                failed = True
                rep.not_imported.append({"file": src.name, "error": f"store: {e.message}"})
                continue
        if progress:
            progress("done", {"name": src.name, "rows": conv.rows, "records": len(conv.records),
                              "seconds": conv.seconds_columnar + conv.seconds_records})
        conv.records.clear()
    if import_id is not None:
        if failed:
            target.abort(import_id)
            rep.warnings.append("not every file was imported, so nothing was written: the earlier data of these "
                                "billing periods is intact; fix the files and import them again")
        else:
            res = target.commit(import_id)
            rep.written, rep.deleted = int(res["written"]), int(res["deleted"])
            rep.replaced_periods = [{"collector": sc["collector"], "provider": sc["provider"], "account": sc["account"],
                                     "billing_period_start": sc["billing_period_start"],
                                     "billing_period_end": sc["billing_period_end"]} for sc in res["scopes"]]
    rep.seconds = time.perf_counter() - t0
    return rep
