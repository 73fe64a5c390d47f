#!/usr/bin/env python3
"""A local emulator of the Google Cloud REST APIs the ``gcp`` collector calls (tests, replays, ``make up``, benches).

Serves, under one base URL (``CLOUDTALLY_GCP_ENDPOINT``: ``<base>/<service>/<the API's own path>``):

* Resource Manager ``projects:search``, Cloud Billing ``projects.getBillingInfo``;
* Compute ``instances|disks.aggregatedList`` and ``machineTypes.list`` (paged by ``maxResults``);
* Cloud Asset ``assets.list`` (``assetTypes`` filter, paged);
* Monitoring ``projects.timeSeries.list`` with real aggregation semantics over the estate's series: the
  filter's metric and resource type, alignment to ``aggregation.alignmentPeriod`` (mean for GAUGE, sum for
  DELTA, distributions merged), ``crossSeriesReducer`` over ``groupByFields``, paging by points;
* BigQuery ``jobs.query`` / ``jobs.getQueryResults`` / ``jobs.get``, **executing the SQL**: the query is
  parsed as GoogleSQL by sqlglot, transpiled to DuckDB (NUMERIC is DECIMAL(38, 9), as BigQuery defines it)
  and run over DuckDB tables created from the export's BigQuery schema; ``totalBytesProcessed`` follows
  BigQuery's data size rules (STRING 2 + UTF-8 bytes, INT64/FLOAT64/TIMESTAMP/DATE 8, NUMERIC 16, BOOL 1,
  NULL 0, repeated fields per element) over the columns the query names, in the partitions its
  ``_PARTITIONTIME`` filters keep, per table reference; ``totalBytesBilled`` rounds each reference up to a
  MiB with BigQuery's 10 MiB minimum; ``maximumBytesBilled`` is enforced;
* Cloud Billing Catalog ``services.list`` / ``services.skus.list`` from recorded response files;
* Secret Manager ``versions.access``.

``deny`` in the estate makes a project's calls of a service answer 403 PERMISSION_DENIED; ``throttle`` makes
the first N calls of a path answer 429. Every request is counted in ``Emulator.calls``.

    python scripts/gcp_emulator.py --port 18601 --estate tests/fixtures/gcp/estate.json
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import math
import re
import threading
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

UTC = timezone.utc
MIB = 1024 * 1024

# ---------------------------------------------------------------------------------------------- BigQuery schema
# The standard usage cost export's schema (detailed adds resource and price); types are BigQuery's.
# https://cloud.google.com/billing/docs/how-to/export-data-bigquery-tables/standard-usage
_KV = [("key", "STRING"), ("value", "STRING")]
STANDARD_SCHEMA: list[tuple[str, Any, str]] = [
    ("billing_account_id", "STRING", "NULLABLE"),
    ("service", [("id", "STRING"), ("description", "STRING")], "NULLABLE"),
    ("sku", [("id", "STRING"), ("description", "STRING")], "NULLABLE"),
    ("usage_start_time", "TIMESTAMP", "NULLABLE"),
    ("usage_end_time", "TIMESTAMP", "NULLABLE"),
    ("project", [("id", "STRING"), ("number", "STRING"), ("name", "STRING"), ("ancestry_numbers", "STRING")], "NULLABLE"),
    ("labels", _KV, "REPEATED"),
    ("system_labels", _KV, "REPEATED"),
    ("location", [("location", "STRING"), ("country", "STRING"), ("region", "STRING"), ("zone", "STRING")], "NULLABLE"),
    ("transaction_type", "STRING", "NULLABLE"),
    ("seller_name", "STRING", "NULLABLE"),
    ("export_time", "TIMESTAMP", "NULLABLE"),
    ("cost", "FLOAT64", "NULLABLE"),
    ("currency", "STRING", "NULLABLE"),
    ("currency_conversion_rate", "FLOAT64", "NULLABLE"),
    ("usage", [("amount", "FLOAT64"), ("unit", "STRING"), ("amount_in_pricing_units", "FLOAT64"),
               ("pricing_unit", "STRING")], "NULLABLE"),
    ("credits", [("name", "STRING"), ("amount", "FLOAT64"), ("full_name", "STRING"), ("id", "STRING"),
                 ("type", "STRING")], "REPEATED"),
    ("invoice", [("month", "STRING"), ("publisher_type", "STRING")], "NULLABLE"),
    ("cost_type", "STRING", "NULLABLE"),
    ("adjustment_info", [("id", "STRING"), ("description", "STRING"), ("mode", "STRING"), ("type", "STRING")], "NULLABLE"),
    ("cost_at_list", "FLOAT64", "NULLABLE"),
]
DETAILED_EXTRA: list[tuple[str, Any, str]] = [
    ("resource", [("name", "STRING"), ("global_name", "STRING")], "NULLABLE"),
    ("price", [("effective_price", "NUMERIC"), ("tier_start_amount", "NUMERIC"), ("unit", "STRING"),
               ("pricing_unit_quantity", "NUMERIC")], "NULLABLE"),
]
# FOCUS export (preview): FOCUS columns; Tags as key/value pairs
FOCUS_SCHEMA: list[tuple[str, Any, str]] = [
    (n, "STRING", "NULLABLE") for n in (
        "BillingAccountId", "BillingAccountName", "SubAccountId", "SubAccountName", "ServiceName", "ServiceCategory",
        "ChargeCategory", "ChargeClass", "RegionId", "RegionName", "ResourceId", "ResourceName", "SkuId",
        "PricingUnit", "ConsumedUnit", "BillingCurrency", "InvoiceId")
] + [(n, "TIMESTAMP", "NULLABLE") for n in ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart",
                                           "BillingPeriodEnd")] + [
    (n, "NUMERIC", "NULLABLE") for n in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
                                         "PricingQuantity", "ConsumedQuantity")
] + [("Tags", _KV, "REPEATED")]
_DUCK = {"STRING": "VARCHAR", "FLOAT64": "DOUBLE", "INT64": "BIGINT", "NUMERIC": "DECIMAL(38, 9)",
         "TIMESTAMP": "TIMESTAMPTZ", "DATE": "DATE", "BOOL": "BOOLEAN"}
_FIXED = {"FLOAT64": 8, "INT64": 8, "TIMESTAMP": 8, "DATE": 8, "NUMERIC": 16, "BOOL": 1}


def schema_for(kind: str) -> list[tuple[str, Any, str]]:
    return {"standard": STANDARD_SCHEMA, "detailed": STANDARD_SCHEMA + DETAILED_EXTRA, "focus": FOCUS_SCHEMA}[kind]


def _duck_type(t: Any, mode: str = "NULLABLE") -> str:
    base = (f"STRUCT({', '.join(f'{n} {_duck_type(ft)}' for n, ft in t)})" if isinstance(t, list) else _DUCK[t])
    return base + "[]" if mode == "REPEATED" else base


def _size_expr(col: str, t: Any, mode: str, keep: set[str]) -> str | None:
    """BigQuery's bytes for one column (the subfields the query names, all when it names none)."""
    def leaf(expr: str, lt: str) -> str:
        return f"(CASE WHEN {expr} IS NULL THEN 0 ELSE 2 + strlen({expr}) END)" if lt == "STRING" else \
            f"(CASE WHEN {expr} IS NULL THEN 0 ELSE {_FIXED[lt]} END)"
    if not isinstance(t, list):
        return leaf(f'"{col}"', t)
    fields = [(n, ft) for n, ft in t if n.lower() in keep] or list(t)
    if mode == "REPEATED":
        parts = " + ".join(leaf(f"x.{n}", ft) for n, ft in fields)
        return f'COALESCE(list_sum(list_transform("{col}", lambda x: {parts})), 0)'
    return " + ".join(leaf(f'"{col}".{n}', ft) for n, ft in fields)


class BigQuery:
    """The billing export tables in DuckDB, and GoogleSQL run against them."""

    def __init__(self) -> None:
        import duckdb
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.tables: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.queries: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self.con.close()

    def create(self, table: str, kind: str, rows: list[dict[str, Any]] | None = None) -> None:
        """A table named ``project.dataset.table`` of the export ``kind`` (standard, detailed, focus)."""
        schema = schema_for(kind)
        local = "t_" + re.sub(r"[^A-Za-z0-9]", "_", table)
        cols = ", ".join(f'"{n}" {_duck_type(t, m)}' for n, t, m in schema)
        part = ', "_PARTITIONTIME" TIMESTAMPTZ' if kind != "focus" else ""
        with self.lock:
            self.con.execute(f'CREATE OR REPLACE TABLE {local} ({cols}{part})')
        self.tables[table] = {"local": local, "kind": kind, "schema": schema,
                              "partition": "_PARTITIONTIME" if kind != "focus" else "ChargePeriodStart"}
        if rows:
            self.insert(table, rows)

    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Append export rows (JSON-like: timestamps as ISO text); ``_PARTITIONTIME`` is the export_time's day."""
        import os
        import tempfile
        meta = self.tables[table]
        columns = {n: _duck_type(t, m) for n, t, m in meta["schema"]}
        if meta["kind"] != "focus":
            columns["_PARTITIONTIME"] = "TIMESTAMPTZ"
        fd, path = tempfile.mkstemp(suffix=".ndjson")
        try:
            with os.fdopen(fd, "w") as f:
                for r in rows:
                    d = {n: r.get(n) for n in columns if n != "_PARTITIONTIME"}
                    if meta["kind"] != "focus":
                        et = str(r.get("export_time") or r.get("usage_end_time"))
                        d["_PARTITIONTIME"] = et[:10] + "T00:00:00Z"
                    f.write(json.dumps(d, default=str) + "\n")
            spec = "{" + ", ".join(f"'{n}': '{t}'" for n, t in columns.items()) + "}"
            with self.lock:
                self.con.execute(f"INSERT INTO {meta['local']} SELECT * FROM read_json(?, format = 'newline_delimited', "
                                 f"columns = {spec})", [path])
        finally:
            os.unlink(path)

    # ------------------------------------------------------------------ query
    def _transpile(self, sql: str) -> tuple[str, list[tuple[str, list[str]]], set[str]]:
        """DuckDB SQL, [(table, partition predicates in DuckDB SQL)] per table reference, named identifiers."""
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, read="bigquery")
        idents = {i.name.lower() for i in tree.find_all(exp.Identifier)}
        refs: list[tuple[str, list[str]]] = []
        for t in list(tree.find_all(exp.Table)):
            full = ".".join(p for p in (t.catalog, t.db, t.name) if p)
            if full not in self.tables:
                continue
            meta = self.tables[full]
            select = t.find_ancestor(exp.Select)
            preds: list[str] = []
            where = select.args.get("where") if select is not None else None
            if where is not None:
                for cond in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
                    cols = {c.name for c in cond.find_all(exp.Column)}
                    if cols == {meta["partition"]}:
                        c2 = cond.copy()
                        for c in c2.find_all(exp.Column):
                            c.set("table", None)
                        preds.append(c2.sql(dialect="duckdb"))
            refs.append((full, preds))
            t.set("catalog", None)
            t.set("db", None)
            t.set("this", exp.to_identifier(meta["local"]))
        for dt in tree.find_all(exp.DataType):
            if dt.this in (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL) and not dt.expressions:
                dt.set("this", exp.DataType.Type.DECIMAL)          # BigQuery NUMERIC is DECIMAL(38, 9)
                dt.set("expressions", [exp.DataTypeParam(this=exp.Literal.number(38)),
                                       exp.DataTypeParam(this=exp.Literal.number(9))])
        return tree.sql(dialect="duckdb"), refs, idents

    def _bytes(self, refs: list[tuple[str, list[str]]], idents: set[str], params: dict[str, Any]) -> tuple[int, int]:
        """(bytes processed, bytes billed): each table reference reads its columns of the partitions it keeps;
        billed rounds up to a MiB, with at least 10 MiB per table the query references."""
        processed = 0
        for table, preds in refs:
            meta = self.tables[table]
            exprs = [e for n, t, m in meta["schema"] if n.lower() in idents
                     for e in [_size_expr(n, t, m, idents)] if e]
            if not exprs:
                continue
            where = f"WHERE {' AND '.join(preds)}" if preds else ""
            used = {k: v for k, v in params.items() if f"${k}" in where}
            processed += int(self._run(f"SELECT COALESCE(SUM({' + '.join(exprs)}), 0) FROM {meta['local']} {where}",
                                       used)[1][0][0])
        tables = len({t for t, _ in refs})
        return processed, max(10 * MIB * tables, math.ceil(processed / MIB) * MIB) if tables else 0

    def _run(self, sql: str, params: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple]]:
        """One statement on a cursor of its own (DuckDB connections are not shared across threads)."""
        with self.lock:
            cur = self.con.cursor()
            try:
                cur.execute(sql, params)
                desc = [(d[0], str(d[1])) for d in cur.description]
                return desc, cur.fetchall()
            finally:
                cur.close()

    def query(self, project: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sql = body["query"]
        params = {}
        for p in body.get("queryParameters") or []:
            t = p["parameterType"]["type"]
            v = p["parameterValue"]
            params[p["name"]] = [x["value"] for x in v.get("arrayValues") or []] if t == "ARRAY" else v["value"]
        duck, refs, idents = self._transpile(sql)
        processed, billed = self._bytes(refs, idents, params)
        limit = body.get("maximumBytesBilled")
        if limit is not None and billed > int(limit):
            return 400, _err(400, "INVALID_ARGUMENT", f"Query exceeded limit for bytes billed: {limit}. {billed} or "
                                                      "higher required.", reason="bytesBilledLimitExceeded")
        desc, rows = self._run(duck, {k: v for k, v in params.items() if f"${k}" in duck})
        names, types = [d[0] for d in desc], [d[1] for d in desc]
        job_id = f"job_{uuid.uuid4().hex[:16]}"
        fields = [{"name": n, "type": _bq_type(t), "mode": "NULLABLE"} for n, t in zip(names, types)]
        enc = [{"f": [{"v": _bq_value(v)} for v in r]} for r in rows]
        self.jobs[job_id] = {"project": project, "schema": {"fields": fields}, "rows": enc, "processed": processed,
                             "billed": billed, "polls_left": int(body.get("_polls") or 0)}
        self.queries.append({"sql": sql, "duckdb": duck, "params": params, "bytes_processed": processed,
                             "bytes_billed": billed, "rows": len(enc)})
        return 200, self._page(job_id, int(body.get("maxResults") or 10000), 0, first=True)

    def _page(self, job_id: str, size: int, offset: int, first: bool = False) -> dict[str, Any]:
        job = self.jobs[job_id]
        ref = {"projectId": job["project"], "jobId": job_id, "location": "US"}
        if job["polls_left"] > 0:
            job["polls_left"] -= 1
            return {"kind": "bigquery#queryResponse", "jobReference": ref, "jobComplete": False}
        rows = job["rows"][offset:offset + size]
        out = {"kind": "bigquery#queryResponse" if first else "bigquery#getQueryResultsResponse",
               "schema": job["schema"], "jobReference": ref, "totalRows": str(len(job["rows"])), "rows": rows,
               "totalBytesProcessed": str(job["processed"]), "jobComplete": True, "cacheHit": False}
        if first:
            out["totalBytesBilled"] = str(job["billed"])
        if offset + size < len(job["rows"]):
            out["pageToken"] = f"{job_id}:{offset + size}"
        return out

    def results(self, job_id: str, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if job_id not in self.jobs:
            return 404, _err(404, "NOT_FOUND", f"Not found: Job {job_id}")
        tok = q.get("pageToken")
        offset = int(tok.split(":")[1]) if tok else 0
        return 200, self._page(job_id, int(q.get("maxResults") or 10000), offset)

    def job(self, job_id: str) -> tuple[int, dict[str, Any]]:
        job = self.jobs.get(job_id)
        if job is None:
            return 404, _err(404, "NOT_FOUND", f"Not found: Job {job_id}")
        return 200, {"kind": "bigquery#job", "jobReference": {"projectId": job["project"], "jobId": job_id},
                     "status": {"state": "DONE"}, "statistics": {"query": {
                         "totalBytesProcessed": str(job["processed"]), "totalBytesBilled": str(job["billed"])}}}


def _bq_type(duck: str) -> str:
    d = duck.upper()
    return ("NUMERIC" if d.startswith("DECIMAL") else "INTEGER" if d in ("BIGINT", "INTEGER", "HUGEINT") else
            "FLOAT" if d in ("DOUBLE", "FLOAT") else "TIMESTAMP" if d.startswith("TIMESTAMP") else
            "DATE" if d == "DATE" else "BOOLEAN" if d == "BOOLEAN" else "STRING")


def _bq_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, Decimal):
        s = format(v.normalize(), "f")
        return s if s != "-0" else "0"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return str(int(v.timestamp() * 1_000_000))
    return str(v)


def _err(code: int, status: str, message: str, reason: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"code": code, "status": status, "message": message}
    if reason:
        e["errors"] = [{"reason": reason, "message": message}]
    return {"error": e}


# ---------------------------------------------------------------------------------------------- monitoring
def _t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def _iso(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_FILTER = re.compile(r'(metric\.type|resource\.type|metric\.label\.(\w+)|resource\.label\.(\w+))\s*=\s*"([^"]*)"')


def time_series(series: list[dict[str, Any]], q: dict[str, list[str]]) -> list[dict[str, Any]]:
    """``timeSeries.list`` over the estate's series (each: metric, resource, metricKind, and a ``daily``
    value map or a constant ``value`` / ``distribution``)."""
    f = q.get("filter", [""])[0]
    want = {}
    for m in _FILTER.finditer(f):
        want[m.group(1)] = m.group(4)
    start, end = _t(q["interval.startTime"][0]), _t(q["interval.endTime"][0])
    period = int(q.get("aggregation.alignmentPeriod", ["60s"])[0].rstrip("s"))
    reducer = q.get("aggregation.crossSeriesReducer", ["REDUCE_NONE"])[0]
    group_by = q.get("aggregation.groupByFields", [])

    def matches(s: dict[str, Any]) -> bool:
        for k, v in want.items():
            if k == "metric.type" and s["metric"]["type"] != v:
                return False
            if k == "resource.type" and s["resource"]["type"] != v:
                return False
            if k.startswith("metric.label.") and s["metric"].get("labels", {}).get(k.split(".", 2)[2]) != v:
                return False
            if k.startswith("resource.label.") and s["resource"].get("labels", {}).get(k.split(".", 2)[2]) != v:
                return False
        return True

    def aligned(s: dict[str, Any]) -> list[tuple[datetime, datetime, Any]]:
        out = []
        t = start
        while t + timedelta(seconds=period) <= end:
            e = t + timedelta(seconds=period)
            day = t.date().isoformat()
            frac = Decimal(period) / Decimal(86400)
            if "distribution" in s:
                dd = s.get("daily_distribution", {}).get(day) or s["distribution"]
                out.append((t, e, {"count": Decimal(str(dd["count"])) * frac, "mean": Decimal(str(dd["mean"]))}))
            else:
                v = s.get("daily", {}).get(day, s.get("value"))
                if v is not None:
                    v = Decimal(str(v))
                    out.append((t, e, v * frac if s.get("metricKind") == "DELTA" else v))
            t = e
        return out

    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for s in series:
        if matches(s):
            key = tuple(_label(s, g) for g in group_by) if reducer != "REDUCE_NONE" else (id(s),)
            groups[key].append(s)
    out = []
    for key, members in groups.items():
        by_t: dict[tuple, list[Any]] = defaultdict(list)
        for s in members:
            for a, b, v in aligned(s):
                by_t[(a, b)].append(v)
        pts = []
        for (a, b), vals in sorted(by_t.items(), reverse=True):     # newest first, as Monitoring answers
            if isinstance(vals[0], dict):
                n = sum(v["count"] for v in vals)
                mean = (sum(v["count"] * v["mean"] for v in vals) / n) if n else Decimal(0)
                value = {"distributionValue": {"count": str(int(n)), "mean": float(mean)}}
                interval = {"startTime": _iso(a), "endTime": _iso(b)}
            else:
                agg = sum(vals) / len(vals) if reducer == "REDUCE_MEAN" else sum(vals)
                kind = members[0].get("metricKind", "GAUGE")
                value = {"int64Value": str(int(agg))} if members[0].get("valueType") == "INT64" and kind == "DELTA" \
                    else {"doubleValue": float(agg)}
                interval = {"startTime": _iso(a), "endTime": _iso(b)} if kind == "DELTA" else {"endTime": _iso(b)}
            pts.append({"interval": interval, "value": value})
        m0 = members[0]
        res_labels = {g.split(".", 2)[2]: _label(m0, g) for g in group_by if g.startswith("resource.label.")}
        met_labels = {g.split(".", 2)[2]: _label(m0, g) for g in group_by if g.startswith("metric.label.")}
        if reducer == "REDUCE_NONE":
            res_labels, met_labels = m0["resource"].get("labels", {}), m0["metric"].get("labels", {})
        out.append({"metric": {"type": m0["metric"]["type"], "labels": met_labels},
                    "resource": {"type": m0["resource"]["type"], "labels": res_labels},
                    "metricKind": m0.get("metricKind", "GAUGE"), "valueType": "DISTRIBUTION" if "distribution" in m0
                    else m0.get("valueType", "DOUBLE"), "points": pts})
    return out


def _label(s: dict[str, Any], field: str) -> str:
    scope, _, name = field.split(".", 2)
    return str((s[scope].get("labels") or {}).get(name, ""))


# ---------------------------------------------------------------------------------------------- the server
class Emulator:
    """The estate (projects, resources, series, export tables) and the HTTP server answering for it."""

    def __init__(self, estate: dict[str, Any] | None = None, *, catalog_dir: Path | None = None):
        self.estate = estate or {}
        self.catalog_dir = catalog_dir
        self.calls: Counter = Counter()
        self.log: list[tuple[str, str]] = []
        self.bq = BigQuery()
        self._throttled: Counter = Counter()
        self.server: http.server.ThreadingHTTPServer | None = None

    # -------------------------------------------------------------- lifecycle
    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        emu = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"     # one request per connection: no handler thread outlives stop()

            def _send(self, code: int, doc: Any) -> None:
                body = json.dumps(doc, default=str).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if code == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                    code, doc = emu.handle(method, self.path, body)
                except Exception as e:  # the emulator answers 500 like a real backend failure, and says why
                    code, doc = 500, _err(500, "INTERNAL", f"emulator: {type(e).__name__}: {e}")
                self._send(code, doc)

            def do_GET(self):  # noqa: N802
                self._handle("GET")

            def do_POST(self):  # noqa: N802
                self._handle("POST")

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://{host}:{self.server.server_port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        self.bq.close()

    # -------------------------------------------------------------- routing
    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        u = urlparse(path)
        q = parse_qs(u.query)
        q1 = {k: v[0] for k, v in q.items()}
        service, _, rest = u.path.lstrip("/").partition("/")
        rest = "/" + rest
        op = f"{method} {service}{re.sub(r'/projects/[^/]+', '/projects/P', rest)}"
        self.calls[op] += 1
        self.log.append((method, path))
        for pattern, n in (self.estate.get("throttle") or {}).items():
            if re.search(pattern, path) and self._throttled[pattern] < n:
                self._throttled[pattern] += 1
                return 429, _err(429, "RESOURCE_EXHAUSTED", "Quota exceeded (emulated)")
        m = re.match(r"^/(?:v\d+(?:beta\d*)?|compute/v1|bigquery/v2)/projects/([^/:]+)", rest)
        project = m.group(1) if m else None
        if project and service in (self.estate.get("deny") or {}).get(project, []):
            return 403, _err(403, "PERMISSION_DENIED", f"Permission denied on resource project {project} (emulated: "
                                                       f"the caller lacks the {service} role)", reason="forbidden")
        fn = getattr(self, f"_{service}", None)
        if fn is None:
            return 404, _err(404, "NOT_FOUND", f"emulator: no service {service}")
        return fn(method, rest, q, q1, body)

    @staticmethod
    def _paged(items: list[Any], q1: dict[str, str], key: str, size_param: str = "pageSize",
               default: int = 500) -> dict[str, Any]:
        size = int(q1.get(size_param) or default)
        off = int(q1.get("pageToken") or 0)
        out: dict[str, Any] = {key: items[off:off + size]}
        if off + size < len(items):
            out["nextPageToken"] = str(off + size)
        return out

    def _cloudresourcemanager(self, method, rest, q, q1, body):
        if rest == "/v3/projects:search":
            projects = [{"name": f"projects/{p.get('number', '0')}", "projectId": p["projectId"],
                         "state": p.get("state", "ACTIVE"), "displayName": p.get("displayName", p["projectId"]),
                         "parent": "organizations/123456789012", "createTime": "2024-01-15T10:00:00.000Z",
                         "labels": p.get("labels", {})} for p in self.estate.get("projects", [])]
            return 200, self._paged(projects, q1, "projects")
        return 404, _err(404, "NOT_FOUND", rest)

    def _cloudbilling(self, method, rest, q, q1, body):
        m = re.match(r"^/v1/projects/([^/]+)/billingInfo$", rest)
        if m:
            p = next((x for x in self.estate.get("projects", []) if x["projectId"] == m.group(1)), None)
            if p is None:
                return 404, _err(404, "NOT_FOUND", f"project {m.group(1)}")
            enabled = p.get("billingEnabled", True)
            return 200, {"name": f"projects/{p['projectId']}/billingInfo", "projectId": p["projectId"],
                         "billingAccountName": f"billingAccounts/{p['billingAccount']}" if enabled else "",
                         "billingEnabled": enabled}
        if self.catalog_dir is None:
            return 404, _err(404, "NOT_FOUND", "emulator: no recorded catalog")
        if rest == "/v1/services":
            return 200, json.loads((self.catalog_dir / "services.json").read_text())
        m = re.match(r"^/v1/services/([^/]+)/skus$", rest)
        if m:
            page = int((q1.get("pageToken") or "x-page-1").rsplit("-", 1)[1])
            f = self.catalog_dir / f"skus-{m.group(1)}-{page}.json"
            return (200, json.loads(f.read_text())) if f.exists() else (200, {"skus": []})
        return 404, _err(404, "NOT_FOUND", rest)

    def _compute(self, method, rest, q, q1, body):
        m = re.match(r"^/compute/v1/projects/([^/]+)/aggregated/(instances|disks)$", rest)
        if m:
            project, kind = m.groups()
            scoped = ((self.estate.get("compute") or {}).get(project) or {}).get(kind) or {}
            flat = [(where, item) for where, items in sorted(scoped.items()) for item in items]
            size = int(q1.get("maxResults") or 500)
            off = int(q1.get("pageToken") or 0)
            items: dict[str, Any] = {}
            for where, item in flat[off:off + size]:
                items.setdefault(where, {kind: []})[kind].append(item)
            for where in scoped:
                items.setdefault(where, {"warning": {"code": "NO_RESULTS_ON_PAGE",
                                                     "message": "There are no results for scope on this page."}})
            out: dict[str, Any] = {"kind": f"compute#{kind[:-1]}AggregatedList", "items": items}
            if off + size < len(flat):
                out["nextPageToken"] = str(off + size)
            return 200, out
        m = re.match(r"^/compute/v1/projects/([^/]+)/zones/([^/]+)/machineTypes$", rest)
        if m and self.catalog_dir is not None:
            page = int((q1.get("pageToken") or "mt-page-1").rsplit("-", 1)[1])
            return 200, json.loads((self.catalog_dir / f"machine-types-{m.group(2)}-{page}.json").read_text())
        return 404, _err(404, "NOT_FOUND", rest)

    def _cloudasset(self, method, rest, q, q1, body):
        m = re.match(r"^/v1/projects/([^/]+)/assets$", rest)
        if not m:
            return 404, _err(404, "NOT_FOUND", rest)
        types = set(q.get("assetTypes", []))
        assets = [a for a in (self.estate.get("assets") or {}).get(m.group(1), []) if not types or a["assetType"] in types]
        out = self._paged(assets, q1, "assets", default=100)
        out["readTime"] = self.estate.get("now", "2026-12-15T09:00:00Z")
        return 200, out

    def _monitoring(self, method, rest, q, q1, body):
        m = re.match(r"^/v3/projects/([^/]+)/timeSeries$", rest)
        if not m:
            return 404, _err(404, "NOT_FOUND", rest)
        series = time_series((self.estate.get("series") or {}).get(m.group(1), []), q)
        size = int(q1.get("pageSize") or 100000)
        off = int(q1.get("pageToken") or 0)
        page, n, i = [], 0, off
        while i < len(series) and (not page or n + len(series[i]["points"]) <= size):
            page.append(series[i])
            n += len(series[i]["points"])
            i += 1
        out: dict[str, Any] = {"timeSeries": page, "unit": ""}
        if i < len(series):
            out["nextPageToken"] = str(i)
        return 200, out

    def _bigquery(self, method, rest, q, q1, body):
        m = re.match(r"^/bigquery/v2/projects/([^/]+)/queries$", rest)
        if m and method == "POST":
            try:
                return self.bq.query(m.group(1), body or {})
            except Exception as e:   # a bad query is the client's 400, as BigQuery answers it
                return 400, _err(400, "INVALID_ARGUMENT", f"{type(e).__name__}: {e}"[:2000], reason="invalidQuery")
        m = re.match(r"^/bigquery/v2/projects/([^/]+)/queries/([^/]+)$", rest)
        if m:
            return self.bq.results(m.group(2), q1)
        m = re.match(r"^/bigquery/v2/projects/([^/]+)/jobs/([^/]+)$", rest)
        if m:
            return self.bq.job(m.group(2))
        return 404, _err(404, "NOT_FOUND", rest)

    def _secretmanager(self, method, rest, q, q1, body):
        m = re.match(r"^/v1/projects/([^/]+)/secrets/([^/]+)/versions/latest:access$", rest)
        secrets = self.estate.get("secrets") or {}
        if m and f"{m.group(1)}/{m.group(2)}" in secrets:
            data = base64.b64encode(secrets[f"{m.group(1)}/{m.group(2)}"].encode()).decode()
            return 200, {"name": f"projects/{m.group(1)}/secrets/{m.group(2)}/versions/1", "payload": {"data": data}}
        return 404, _err(404, "NOT_FOUND", f"Secret [{rest}] not found or has no versions.")

    def monitoring_calls(self, project: str) -> int:
        """timeSeries.list calls (pages included) made for ``project``."""
        return sum(1 for _, p in self.log if p.startswith(f"/monitoring/v3/projects/{project}/timeSeries"))


def load_estate(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=18601)
    ap.add_argument("--estate", type=Path, required=True)
    ap.add_argument("--catalog-dir", type=Path)
    a = ap.parse_args(argv)
    emu = Emulator(load_estate(a.estate), catalog_dir=a.catalog_dir)
    url = emu.start(a.port)
    print(f"gcp emulator on {url}", flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
