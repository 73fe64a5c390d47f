"""Core CLI commands: keys, ingest, summary, serve, table, rollups."""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import sys
from pathlib import Path
from typing import Any, Iterator

from .money import dumps, loads


def add_commands(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="create, list and revoke API keys (talks to the table directly)")
    ksub = keys.add_subparsers(dest="keys_cmd", required=True)
    c = ksub.add_parser("create", help="create a key; prints its id and secret once")
    c.add_argument("--name", required=True)
    c.add_argument("--scopes", default="read", help="comma-separated: ingest,read,admin")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=_keys_create)
    ksub.add_parser("list", help="list keys (never secrets)").set_defaults(func=_keys_list)
    r = ksub.add_parser("revoke", help="revoke a key by id")
    r.add_argument("key_id")
    r.set_defaults(func=_keys_revoke)

    ing = sub.add_parser("ingest", help="send records from JSON, NDJSON or FOCUS CSV files to the API")
    ing.add_argument("files", nargs="+", type=Path)
    ing.add_argument("--api-url", default=os.environ.get("CLOUDTALLY_API_URL"))
    ing.add_argument("--batch-size", type=int, default=1000)
    ing.set_defaults(func=_ingest)

    s = sub.add_parser("summary", help="cost summary from the API (or the table with --direct)")
    s.add_argument("--from", dest="from_", metavar="YYYY-MM-DD")
    s.add_argument("--to", metavar="YYYY-MM-DD", help="exclusive end day")
    s.add_argument("--group-by", default="", help="provider,service,account,region,tag:<key>")
    s.add_argument("--granularity", default="total", choices=["day", "month", "total"])
    s.add_argument("--api-url", default=os.environ.get("CLOUDTALLY_API_URL"))
    s.add_argument("--direct", action="store_true", help="query the table instead of the API")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_summary)

    sv = sub.add_parser("serve", help="serve the API locally (the Chalice app, threaded) on --port")
    sv.add_argument("--port", type=int, default=8080)
    sv.set_defaults(func=_serve)

    t = sub.add_parser("table", help="create the DynamoDB table if missing")
    t.set_defaults(func=_table)

    ru = sub.add_parser("rollups", help="recompute dirty daily rollups in a range (the scheduled sweep)")
    ru.add_argument("--from", dest="from_", required=True)
    ru.add_argument("--to", required=True)
    ru.set_defaults(func=_rollups)


def _store():
    from .config import load_settings
    from .store import Store
    return Store(load_settings())


def _keys():
    from .auth import KeyService
    st = _store()
    return KeyService(st, st.cfg.key_pepper, 0)


def _keys_create(a: argparse.Namespace) -> int:
    k = _keys().create(a.name, [s.strip() for s in a.scopes.split(",") if s.strip()])
    if a.json:
        print(dumps(k))
    else:
        print(f"id:     {k['id']}\nsecret: {k['secret']}\nscopes: {','.join(k['scopes'])}\n"
              "(the secret is shown once; store it now)")
    return 0


def _keys_list(a: argparse.Namespace) -> int:
    for k in _keys().list():
        state = f"revoked {k['revoked_at']}" if k["revoked_at"] else "active"
        print(f"{k['id']}  {k['name']:<24} {','.join(k['scopes']):<20} {state}")
    return 0


def _keys_revoke(a: argparse.Namespace) -> int:
    print(dumps(_keys().revoke(a.key_id)))
    return 0


def read_records_file(path: Path) -> Iterator[Any]:
    """Records from JSON (array or {"records"}), NDJSON, or FOCUS CSV (gzip allowed)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))):
            rec: dict[str, Any] = {}
            for k, v in row.items():
                if v in ("", "NULL", None):
                    continue
                if k == "Tags":
                    rec[k] = loads(v)
                else:
                    rec[k] = v
            yield rec
        return
    text = raw.decode("utf-8-sig")
    if name.endswith((".ndjson", ".jsonl")):
        for line in text.splitlines():
            if line.strip():
                yield loads(line)
        return
    doc = loads(text)
    yield from (doc["records"] if isinstance(doc, dict) and "records" in doc else doc if isinstance(doc, list) else [doc])


def _client(api_url: str | None):
    from .client import Client
    from .config import ENV_API_KEY_ID, ENV_API_KEY_SECRET
    return Client(api_url or "", os.environ.get(ENV_API_KEY_ID, ""), os.environ.get(ENV_API_KEY_SECRET, ""))


def _ingest(a: argparse.Namespace) -> int:
    client = _client(a.api_url)
    client.batch_size = a.batch_size
    total_acc, total_rej = 0, 0
    for f in a.files:
        res = client.send_records(read_records_file(f))
        total_acc += res.accepted
        total_rej += len(res.rejected)
        for r in res.rejected[:20]:
            print(f"{f}: record {r['index']}: {dumps(r['errors'])}", file=sys.stderr)
    print(dumps({"accepted": total_acc, "rejected": total_rej}))
    return 0 if total_rej == 0 else 1


def _summary(a: argparse.Namespace) -> int:
    params = {"from": a.from_, "to": a.to, "group_by": a.group_by, "granularity": a.granularity}
    params = {k: v for k, v in params.items() if v}
    if a.direct:
        from .query import parse_query
        store = _store()
        result = store.summary(parse_query(params, today=store.cfg.clock.today()))   # CLOUDTALLY_NOW pins it
    else:
        result = _client(a.api_url).summary(**params)
    if a.json:
        print(dumps(result))
        return 0
    for cur, t in result["totals"].items():
        print(f"Total {cur}: EffectiveCost {t['EffectiveCost']}  BilledCost {t['BilledCost']}  ({t['records']} records)")
    for row in result["results"]:
        grp = " ".join(f"{k}={v}" for k, v in row["group"].items())
        print(f"{row['period']:<10} {row['currency']} {row['EffectiveCost']:>20}  {grp}")
    return 0


def _serve(a: argparse.Namespace) -> int:
    from .devserver import main as serve
    return serve(["--port", str(a.port), "--stage", "local"])


def _table(a: argparse.Namespace) -> int:
    created = _store().create_table()
    print("created" if created else "exists")
    return 0


def _rollups(a: argparse.Namespace) -> int:
    from datetime import date
    n = _store().refresh(date.fromisoformat(a.from_), date.fromisoformat(a.to))
    print(dumps({"refreshed_days": n}))
    return 0
