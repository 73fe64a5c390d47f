"""``cloudtally import`` and ``cloudtally export focus``.

``import`` converts billing exports to billed FOCUS records and writes them to the table (or only
reports with ``--dry-run``). A progress bar goes to stderr; with ``--json`` the last stdout line is
one JSON object: rows, records, totals per currency, rejected rows with reasons, files not imported.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..money import dumps
from .formats import FORMATS


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import billing exports (FOCUS, AWS CUR/CUR 2.0, Azure EA/MCA, GCP, OCI) "
                                      "as billed records")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or s3://bucket/prefix")
    p.add_argument("--format", default="auto", choices=("auto",) + FORMATS)
    p.add_argument("--dry-run", action="store_true", help="convert and report; write nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=_import)

    ex = sub.add_parser("export", help="export records as FOCUS 1.2 CSV")
    exs = ex.add_subparsers(dest="export_cmd", required=True)
    f = exs.add_parser("focus", help="FOCUS 1.2 CSV of the records in [--from, --to)")
    f.add_argument("--from", dest="from_", required=True, metavar="YYYY-MM-DD")
    f.add_argument("--to", required=True, metavar="YYYY-MM-DD", help="exclusive end day")
    for k in ("provider", "service", "account", "subaccount", "region", "category", "source", "currency"):
        f.add_argument(f"--{k}", help=f"comma-separated {k} values to keep")
    f.add_argument("--tag", action="append", help="key=value[,value]; repeatable")
    f.add_argument("--include-superseded", action="store_true",
                   help="also write the estimates billed cost superseded (marked x_Superseded=true); by default "
                        "the file holds exactly what the totals count")
    f.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    f.set_defaults(func=_export_focus)


class Bar:
    """A progress bar on stderr: bytes of files done, the current file, elapsed time."""

    def __init__(self, total_bytes: int, enabled: bool):
        self.total = max(total_bytes, 1)
        self.done = 0
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.current = ""
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if event == "file":
            self.current = info["name"]
            self.size = info["size"]
            self._draw(f"[{info['index'] + 1}/{info['count']}] {Path(info['name']).name}")
            if self.tty and self._thread is None:
                self._thread = threading.Thread(target=self._tick, daemon=True)
                self._thread.start()
        elif event == "done":
            self.done += self.size
            self._draw(f"{Path(info['name']).name}: {info['rows']} rows -> {info['records']} records", end=True)
        elif event == "failed":
            self.done += self.size
            self._draw(f"{Path(info['name']).name}: NOT imported: {info['error']}", end=True)

    def _draw(self, label: str, end: bool = False) -> None:
        frac = self.done / self.total
        bar = "#" * int(frac * 30)
        line = f"[{bar:<30}] {frac * 100:5.1f}% {time.monotonic() - self.t0:6.1f}s {label}"
        if self.tty:
            sys.stderr.write("\r\x1b[K" + line[:160] + ("\n" if end else ""))
        elif end:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._draw(f"{Path(self.current).name} ...")

    def close(self) -> None:
        self._stop.set()


def _import(a: argparse.Namespace) -> int:
    from .apply import run_import
    from .sources import expand
    from ..errors import CloudTallyError

    try:
        sources = expand(a.paths)
    except CloudTallyError as e:
        return _fail(a, e)
    store = None
    if not a.dry_run:
        from ..store import Store
        store = Store()
    bar = Bar(sum(s.size for s in sources), enabled=not a.no_progress)
    try:
        rep = run_import(sources, fmt=a.format, store=store, dry_run=a.dry_run, progress=bar)
    finally:
        bar.close()
    for n in rep.not_imported:
        print(f"error: {n['file']}: {n['error']}", file=sys.stderr)
        for d in (n.get("details") or [])[:10]:
            if isinstance(d, dict):
                print(f"  {d.get('file', n['file'])}: row {d.get('row')}, column {d.get('column')}: "
                      f"{d.get('message')}" + (f" (value {d['value']!r})" if d.get("value") is not None else ""),
                      file=sys.stderr)
    for w in rep.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if a.json:
        print(dumps(rep.to_dict()))
    else:
        for cur, t in rep.totals.items():
            print(f"{cur}: " + "  ".join(f"{k} {v}" for k, v in t.items()))
        print(f"{rep.rows} rows -> {rep.records} records" + (" (dry run: nothing written)" if rep.dry_run else
              f"; {rep.written} written, {rep.deleted} stale removed"))
    return 0 if rep.ok else 2


def _fail(a: argparse.Namespace, e: Any) -> int:
    print(f"error: {e.message}", file=sys.stderr)
    if a.json:
        print(dumps({"ok": False, "rows": 0, "records": 0, "totals": {}, "rejected_count": 0, "rejected": [],
                     "not_imported": [{"file": None, "error": e.message, "details": e.details}]}))
    return e.exit_code


def _export_focus(a: argparse.Namespace) -> int:
    from ..query import parse_query
    from ..store import Store
    from .export import write_focus_csv

    params: dict[str, Any] = {"from": a.from_, "to": a.to}
    for k in ("provider", "service", "account", "subaccount", "region", "category", "source", "currency"):
        v = getattr(a, k)
        if v:
            params[k] = v
    if a.tag:
        params["tag"] = a.tag
    q = parse_query(params)
    store = Store()
    if a.output == "-":
        n = write_focus_csv(store, q, sys.stdout, include_superseded=a.include_superseded)
    else:
        with open(a.output, "w", encoding="utf-8", newline="") as f:
            n = write_focus_csv(store, q, f, include_superseded=a.include_superseded)
    print(f"{n} records exported", file=sys.stderr)
    return 0
