"""Benchmark: conversion of a 1.28 M-row AWS CUR to billed FOCUS records (storage excluded).

The CUR is synthesized from the real sample (shared/data/billing/aws-cur) by repeating it with
varied line item ids, linked accounts and usage times: copy k gets usage account k % 10 and its
hourly rows shifted by (k // 10) % 16 days and (k // 160) % 24 hours (monthly rows such as tax keep
their period), so the file looks like a month of hourly CUR for 10 accounts.

The conversion runs in a child process so its peak RSS is the conversion's alone. Figures:
``rows_per_s`` = input rows / seconds from opening the file to holding every CostRecord (columnar
pass + building the records of the aggregated groups); ``columnar_rows_per_s`` is the columnar pass
alone. ``--engine python`` runs the csv-module + Decimal reference on ``--reference-rows`` rows for
comparison. Totals of the polars engine are checked against the Decimal reference on the same rows.

    .venv/bin/python bench/import.py                # full 1.28 M rows, best of 3
    .venv/bin/python bench/import.py --verify       # ... and check totals against Decimal on every row
    .venv/bin/python bench/import.py --quick        # 128 100 rows, totals verified

The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "billing" / "aws-cur" / "sample-anonymous-aws-export-dataset.csv"
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _variant(header: list[str], rows: list[list[str]], d: int, h: int) -> str:
    """The sample's body with its hourly rows shifted by d days and h hours, as CSV text."""
    s_i, e_i = header.index("lineItem/UsageStartDate"), header.index("lineItem/UsageEndDate")
    ti = header.index("identity/TimeInterval")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    sh = timedelta(days=d, hours=h)
    for r in rows:
        s, e = r[s_i], r[e_i]
        if TS.match(s) and TS.match(e):
            ds = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.000Z")
            de = datetime.strptime(e, "%Y-%m-%dT%H:%M:%S.000Z")
            if de - ds <= timedelta(hours=1):
                r = list(r)
                r[s_i] = (ds + sh).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                r[e_i] = (de + sh).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                day = ds + sh
                r[ti] = f"{day:%Y-%m-%d}T00:00:00Z/{day + timedelta(days=1):%Y-%m-%d}T00:00:00Z"
        w.writerow(r)
    return buf.getvalue()


def synthesize(path: Path, n_rows: int) -> int:
    """Copy k: linked account k % 10, hourly rows shifted by (k // 10) % 16 days and (k // 160) % 24
    hours (the sample spans Nov 1-15, so every shifted row stays in the billing period)."""
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        rd = csv.reader(f)
        header = next(rd)
        rows = list(rd)
    payer = rows[0][header.index("bill/PayerAccountId")]
    written = 0
    cache: dict[tuple[int, int], str] = {}
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(header) + "\n")
        k = 0
        while written < n_rows:
            dh = ((k // 10) % 16, (k // 160) % 24)
            if dh not in cache:
                cache.clear()
                cache[dh] = _variant(header, rows, *dh)
            # linked account k % 10 (the payer stays); unique line item ids per copy
            body = cache[dh].replace(f",{payer},Tax,", f",{payer[:-2]}{k % 10:02d},Tax,").replace(
                f",{payer},Usage,", f",{payer[:-2]}{k % 10:02d},Usage,").replace("abcdabcdabcdabcd", f"{k:016x}")
            lines = body.splitlines(keepends=True)
            take = min(len(lines), n_rows - written)
            out.write("".join(lines[:take]))
            written += take
            k += 1
    return written


def convert_polars(path: Path) -> dict:
    from cloudtally.importers.engine import convert_file
    t0 = time.perf_counter()
    c0 = time.process_time()
    conv = convert_file(path, "aws-cur")
    secs = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {"rows": conv.rows, "records": len(conv.records), "seconds": secs, "cpu_seconds": cpu,
            "columnar_seconds": conv.seconds_columnar, "records_seconds": conv.seconds_records,
            "rejected": conv.rejected_count,
            "totals": {c: {k: str(v) for k, v in t.items()} for c, t in conv.totals.items()}}


def convert_python(path: Path, limit: int) -> dict:
    """The reference: csv module + Decimal, summing per day/account/usage type (no records built)."""
    from cloudtally.money import CONTEXT
    add = CONTEXT.add
    t0 = time.perf_counter()
    groups: dict[tuple, list] = {}
    tot = [Decimal(0), Decimal(0)]
    n = 0
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            if n >= limit:
                break
            n += 1
            b = Decimal(row["lineItem/UnblendedCost"])
            lc = Decimal(row["pricing/publicOnDemandCost"])
            key = (row["lineItem/UsageAccountId"], row["lineItem/UsageStartDate"][:10], row["lineItem/UsageType"],
                   row["lineItem/LineItemType"], row["lineItem/LineItemDescription"])
            g = groups.get(key)
            if g is None:
                groups[key] = [b, lc]
            else:
                g[0] = add(g[0], b)
                g[1] = add(g[1], lc)
            tot[0] = add(tot[0], b)
            tot[1] = add(tot[1], lc)
    secs = time.perf_counter() - t0
    return {"rows": n, "groups": len(groups), "seconds": secs,
            "totals": {"USD": {"BilledCost": str(tot[0]), "ListCost": str(tot[1])}}}


def child(args: argparse.Namespace) -> None:
    path = Path(args.convert)
    res = convert_python(path, args.reference_rows) if args.engine == "python" else convert_polars(path)
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(res))


def run_child(path: Path, engine: str, reference_rows: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--convert", str(path), "--engine", engine,
                          "--reference-rows", str(reference_rows)], check=True, capture_output=True, text=True,
                         cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_280_000)
    ap.add_argument("--quick", action="store_true", help="128 100 rows")
    ap.add_argument("--reference-rows", type=int, default=128_100, help="rows for the Decimal reference")
    ap.add_argument("--engine", choices=["polars", "python"], default="polars")
    ap.add_argument("--repeat", type=int, default=3, help="conversions to run; the fastest is reported "
                    "(the others are printed: a shared machine's load varies)")
    ap.add_argument("--verify", action="store_true", help="run the Decimal reference on every row")
    ap.add_argument("--convert", help=argparse.SUPPRESS)
    ap.add_argument("--keep", help="write the synthesized CUR here and keep it")
    args = ap.parse_args()
    if args.convert:
        child(args)
        return
    n = 128_100 if args.quick else args.rows
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ct-bench-")) / "cur.csv"
    t0 = time.perf_counter()
    if not tmp.exists() or not args.keep:
        synthesize(tmp, n)
    size_mb = tmp.stat().st_size / 1e6
    print(f"synthesized {n} rows, {size_mb:.1f} MB in {time.perf_counter() - t0:.1f}s: {tmp}", file=sys.stderr)
    load = os.getloadavg()[0]
    runs = [run_child(tmp, "polars", 0) for _ in range(max(args.repeat, 1))]
    pol = min(runs, key=lambda r: r["seconds"])
    print("polars runs (s): " + ", ".join(f"{r['seconds']:.2f} (cpu {r['cpu_seconds']:.2f})" for r in runs),
          file=sys.stderr)
    print(f"polars: {pol['rows']} rows -> {pol['records']} records in {pol['seconds']:.2f}s "
          f"(columnar {pol['columnar_seconds']:.2f}s, records {pol['records_seconds']:.2f}s), "
          f"peak RSS {pol['peak_rss_mb']} MB", file=sys.stderr)
    ref_rows = n if args.verify or args.quick else min(args.reference_rows, n)
    ref = run_child(tmp, "python", ref_rows)
    print(f"csv+Decimal reference: {ref['rows']} rows in {ref['seconds']:.2f}s "
          f"({ref['rows'] / ref['seconds']:.0f} rows/s)", file=sys.stderr)
    exact = None
    if ref_rows == n:
        exact = (Decimal(pol["totals"]["USD"]["BilledCost"]) == Decimal(ref["totals"]["USD"]["BilledCost"])
                 and Decimal(pol["totals"]["USD"]["ListCost"]) == Decimal(ref["totals"]["USD"]["ListCost"]))
    if not args.keep:
        tmp.unlink()
        tmp.parent.rmdir()
    result = {
        "bench": "import", "format": "aws-cur", "engine": "polars", "rows": pol["rows"], "records": pol["records"],
        "input_mb": round(size_mb, 1), "seconds": round(pol["seconds"], 3),
        "rows_per_s": round(pol["rows"] / pol["seconds"]),
        "columnar_rows_per_s": round(pol["rows"] / pol["columnar_seconds"]),
        "records_per_s_python": round(pol["records"] / pol["records_seconds"]) if pol["records_seconds"] else None,
        "cpu_seconds": round(pol["cpu_seconds"], 2), "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "runs_seconds": [round(r["seconds"], 3) for r in runs],
        "peak_rss_le_input": max(r["peak_rss_mb"] for r in runs) <= size_mb,
        "reference_csv_decimal_rows_per_s": round(ref["rows"] / ref["seconds"]),
        "totals_equal_decimal_reference": exact, "totals": pol["totals"], "load_avg_1m": round(load, 2),
        "cores": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
