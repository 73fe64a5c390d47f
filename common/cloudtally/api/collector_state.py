"""Collector state and period replace through the API (ingest scope): what a scheduled function on any
cloud keeps between runs, and how a billing export replaces its periods, without table access.

* ``GET  /v1/collectors/{collector}/status`` — every scope's status, cursor and marks
* ``POST /v1/collectors/{collector}/status`` — a run's scope updates (marks merge, a missing cursor keeps)
* ``GET  /v1/collectors/{collector}/state?scope=&key=…`` — day ledgers with their generations
* ``PUT  /v1/collectors/{collector}/state`` — a ledger (or one part of a large one), conditional on the
  generation the writer read (409 ``state_conflict`` otherwise)
* ``POST /v1/imports``, ``POST /v1/imports/{id}/records``, ``POST /v1/imports/{id}/commit``,
  ``GET``/``DELETE /v1/imports/{id}`` — stage and commit a period replace (:mod:`cloudtally.store.imports`)
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timedelta
from typing import Any, Mapping

from ..collectors.state import ScopeUpdate
from ..errors import BadRequest, PayloadTooLarge
from ..focus import parse_time
from . import body

NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
MAX_SCOPE = 512
MAX_KEY = 128
MAX_KEYS = 100
MAX_UPDATES = 1000
MAX_STATE_CHUNKS = 16          # a ledger of up to 16 × 350 KB (the store's chunk size) = 5.6 MB
MAX_STATUS_BODY = 2 * 1024 * 1024
MAX_SINGLE_STATE = 3_500_000   # a ledger sent in one request (base64 fits the 5 MB body limit)


def _bad(field: str, message: str) -> BadRequest:
    return BadRequest(f"invalid {field}", details=[{"field": field, "message": message}])


def collector_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise _bad("collector", "a collector name: 3-40 of [a-z0-9-], starting with a letter")
    return name


def _text(d: Mapping[str, Any], field: str, limit: int, *, required: bool = True) -> str | None:
    v = d.get(field)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v or len(v) > limit:
        raise _bad(field, f"a string of 1-{limit} characters")
    return v


def _object(raw: bytes | str | None, headers: Mapping[str, str], limit: int) -> dict[str, Any]:
    doc = body.parse_json(body.decode_body(raw, headers, limit))
    if not isinstance(doc, dict):
        raise _bad("", "expected a JSON object")
    return doc


def get_status(svc: Any, collector: str) -> dict[str, Any]:
    st = svc.store.load_status(collector_name(collector))
    return {"collector": collector, "scopes": {k: v.to_dict() for k, v in sorted(st.items())}}


def save_status(svc: Any, collector: str, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
    collector_name(collector)
    doc = _object(raw, headers, MAX_STATUS_BODY)
    updates_raw = doc.get("updates")
    if not isinstance(updates_raw, list) or not 1 <= len(updates_raw) <= MAX_UPDATES:
        raise _bad("updates", f"a list of 1-{MAX_UPDATES} scope updates")
    run_at = _run_at(doc.get("run_at"), svc.now())
    updates, errors = [], []
    for i, u in enumerate(updates_raw):
        try:
            if not isinstance(u, dict):
                raise _bad(f"updates[{i}]", "an object")
            status = u.get("status")
            if status not in ("ok", "error"):
                raise _bad(f"updates[{i}].status", "ok or error")
            marks = u.get("marks") or {}
            if not isinstance(marks, dict) or len(marks) > 50 or not all(
                    isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 64 for k, v in marks.items()):
                raise _bad(f"updates[{i}].marks", "an object of at most 50 short strings")
            errs = u.get("errors") or []
            if not isinstance(errs, list) or len(errs) > 20 or not all(isinstance(e, dict) for e in errs):
                raise _bad(f"updates[{i}].errors", "a list of at most 20 objects")
            records = u.get("records", 0)
            if isinstance(records, bool) or not isinstance(records, int) or records < 0:
                raise _bad(f"updates[{i}].records", "a non-negative integer")
            updates.append(ScopeUpdate(
                scope=_text(u, "scope", MAX_SCOPE), status=status, records=records,
                errors=[{str(k)[:64]: str(v)[:1000] for k, v in e.items()} for e in errs],
                cursor=_text(u, "cursor", 64, required=False), marks=marks))
        except BadRequest as e:
            errors.extend(e.details)
    if errors:
        raise BadRequest("invalid status updates", details=errors)
    svc.store.save_status(collector, updates, run_at)
    return {"collector": collector, "saved": len(updates)}


def _run_at(value: Any, now: datetime) -> datetime:
    """The run's own time (collectors run on a pinned clock in tests and backfills); never in the future."""
    if value is None:
        return now
    try:
        t = parse_time(value)
    except (ValueError, TypeError, OverflowError):
        raise _bad("run_at", "an ISO 8601 time") from None
    if t > now + timedelta(minutes=10):
        raise _bad("run_at", "in the future")
    return t


def get_state(svc: Any, collector: str, params: Mapping[str, Any]) -> dict[str, Any]:
    collector_name(collector)
    unknown = [k for k in params if k not in ("scope", "key")]
    if unknown:
        raise BadRequest("invalid query parameters", details=[{"field": k[:64], "message": "unknown parameter"}
                                                               for k in unknown])
    scope = params.get("scope")
    if not isinstance(scope, str) or not 0 < len(scope) <= MAX_SCOPE:
        raise _bad("scope", f"required, 1-{MAX_SCOPE} characters")
    keys = params.get("key")
    keys = [keys] if isinstance(keys, str) else keys or []
    if not 1 <= len(keys) <= MAX_KEYS or not all(isinstance(k, str) and 0 < len(k) <= MAX_KEY for k in keys):
        raise _bad("key", f"1-{MAX_KEYS} keys of 1-{MAX_KEY} characters")
    got = svc.store.read_states(collector, scope, list(dict.fromkeys(keys)))
    return {"collector": collector, "scope": scope, "items": {
        k: {"generation": v["generation"], "expires": v["expires"],
            "blob": base64.b64encode(v["blob"]).decode() if v["blob"] is not None else None} for k, v in got.items()}}


def put_state(svc: Any, collector: str, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
    """One ledger, or one part of it: parts ``1..n-1`` carry the new ``generation`` and are invisible until
    part 0 (sent last, with ``parts`` = n and ``expect_generation``) makes it current."""
    collector_name(collector)
    doc = _object(raw, headers, svc.cfg.max_body_bytes)
    scope, key = _text(doc, "scope", MAX_SCOPE), _text(doc, "key", MAX_KEY)
    try:
        blob = base64.b64decode(doc.get("blob") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise _bad("blob", "base64") from None
    try:
        expires = parse_time(doc.get("expires"))
    except (ValueError, TypeError, OverflowError):
        raise _bad("expires", "an ISO 8601 time") from None
    if expires > svc.now() + timedelta(days=400):
        raise _bad("expires", "at most 400 days ahead")
    from ..store.collector_state import STATE_CHUNK
    part = doc.get("part", 0)
    single = part == 0 and doc.get("generation") is None and doc.get("parts", 1) == 1
    limit = MAX_SINGLE_STATE if single else STATE_CHUNK
    if len(blob) > limit:
        raise PayloadTooLarge(f"a state write holds at most {limit} bytes (a part of a multi-part write at most "
                              f"{STATE_CHUNK}); send parts", details={"limit_bytes": limit})
    if isinstance(part, bool) or not isinstance(part, int) or not 0 <= part < MAX_STATE_CHUNKS:
        raise _bad("part", f"an integer 0-{MAX_STATE_CHUNKS - 1}")
    generation = doc.get("generation")
    if part or generation is not None:
        if not isinstance(generation, str) or not re.fullmatch(r"[A-Z2-7]{8,16}", generation):
            raise _bad("generation", "the new generation's id (8-16 of A-Z2-7)")
    if part:
        svc.store.write_state_chunk(collector, scope, key, generation, part, blob, expires)
        return {"collector": collector, "scope": scope, "key": key, "generation": generation, "part": part}
    parts = doc.get("parts", 1)
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= MAX_STATE_CHUNKS:
        raise _bad("parts", f"an integer 1-{MAX_STATE_CHUNKS}")
    expect = doc.get("expect_generation")
    if expect is not None and (not isinstance(expect, str) or len(expect) > 16):
        raise _bad("expect_generation", "the generation read (\"\" when the key did not exist), or null")
    if parts == 1 and generation is None:
        generation = svc.store.write_state(collector, scope, key, blob, expires, expect)
    else:
        svc.store.write_state_head(collector, scope, key, generation, blob, parts, expires, expect)
    return {"collector": collector, "scope": scope, "key": key, "generation": generation}


# ---------------------------------------------------------------------------------------------- imports
def create_import(svc: Any, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
    doc = _object(raw, headers, 64 * 1024)
    return svc.store.create_import(_text(doc, "collector", 64), now=svc.now(),
                                   source=_text(doc, "source", 1024, required=False))


def stage_records(svc: Any, import_id: str, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
    """Records as ``POST /v1/records`` takes them; the valid ones are staged, the others listed."""
    good, rejected = svc.parse_batch(raw, headers)
    staged = svc.store.stage_records(import_id, good) if good else 0
    return {"import_id": import_id, "staged": staged, "rejected": rejected}


def commit_import(svc: Any, import_id: str) -> dict[str, Any]:
    return svc.store.commit_import(import_id, budget_s=svc.commit_budget_s, now=svc.now())

