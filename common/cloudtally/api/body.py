"""Request bodies: size limits (413), gzip, JSON / NDJSON / a wrapper object, exact numbers."""

from __future__ import annotations

import zlib
from typing import Any, Mapping

from ..errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from ..money import MoneyError, loads

JSON_TYPES = ("application/json", "application/x-ndjson", "application/ndjson", "application/jsonl",
              "application/gzip", "application/x-gzip", "text/plain", "application/octet-stream")
MAX_DEPTH = 32


def _header(headers: Mapping[str, str], name: str) -> str:
    for k, v in headers.items():
        if k.lower() == name:
            return v or ""
    return ""


def decode_body(raw: bytes | str | None, headers: Mapping[str, str], max_bytes: int,
                types: tuple[str, ...] = JSON_TYPES) -> bytes:
    """The request body, gunzipped if needed, refusing anything larger than ``max_bytes`` (413) and a
    declared Content-Type outside ``types`` (415)."""
    if raw is None:
        raw = b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {max_bytes}",
                              details={"limit_bytes": max_bytes})
    ctype = _header(headers, "content-type").split(";")[0].strip().lower()
    enc = _header(headers, "content-encoding").strip().lower()
    if enc not in ("", "identity", "gzip"):
        raise UnsupportedMediaType(f"unsupported Content-Encoding {enc[:20]!r}; use gzip or none")
    if enc == "gzip" or ctype in ("application/gzip", "application/x-gzip") or raw[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(raw, max_bytes + 1)
        except zlib.error:
            raise BadRequest("body is not valid gzip", code="bad_gzip") from None
        if len(out) > max_bytes or d.unconsumed_tail:
            raise PayloadTooLarge(f"decompressed body exceeds the limit of {max_bytes} bytes",
                                  details={"limit_bytes": max_bytes})
        raw = out
    if ctype and ctype not in types:
        raise UnsupportedMediaType(f"unsupported Content-Type {ctype[:60]!r}; send application/json or "
                                   "application/x-ndjson (optionally gzip)")
    return raw


def _depth_ok(text: str) -> bool:
    depth = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8", code="bad_encoding") from None
    if not text.strip():
        raise BadRequest("empty body", code="empty_body")
    # Small bodies (keys, budgets, agent registration) carry free-form objects: bound their depth.
    # Large record batches are flat by schema (validation rejects nested values) and the C parser
    # raises RecursionError past ~1000 levels, answered 400 below.
    if len(text) <= 65536 and text.count("[") + text.count("{") > MAX_DEPTH and not _depth_ok(text):
        raise BadRequest(f"JSON nested deeper than {MAX_DEPTH} levels", code="too_deep")
    try:
        return loads(text)
    except MoneyError as e:
        raise BadRequest(str(e), code="invalid_json") from None
    except (ValueError, RecursionError) as e:
        raise BadRequest(f"malformed JSON: {str(e)[:120]}", code="invalid_json") from None


def parse_items(raw: bytes, headers: Mapping[str, str]) -> list[Any]:
    """A batch: a JSON array, ``{"records": [...]}``, one object, or NDJSON (one object a line)."""
    ctype = _header(headers, "content-type").split(";")[0].strip().lower()
    if ctype in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        return _ndjson(raw)
    try:
        doc = parse_json(raw)
    except BadRequest as e:
        if e.code == "invalid_json" and b"\n" in raw.strip():
            return _ndjson(raw)
        raise
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("records"), list):
        return doc["records"]
    if isinstance(doc, dict):
        return [doc]
    raise BadRequest("expected a JSON array of records, {\"records\": [...]}, or NDJSON", code="invalid_body")


def _ndjson(raw: bytes) -> list[Any]:
    out: list[Any] = []
    for n, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            out.append(parse_json(line))
        except BadRequest as e:
            # keep the line as an invalid item so the rest of the batch still lands
            out.append(_Invalid(f"line {n}: {e.message}"))
    return out


class _Invalid:
    """Placeholder for an NDJSON line that is not JSON: reported per index, never raised."""

    def __init__(self, message: str):
        self.message = message


def is_invalid(x: Any) -> bool:
    return isinstance(x, _Invalid)

