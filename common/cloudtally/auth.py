"""API keys: an id and a secret, the secret stored only as a keyed hash; scopes; revocation.

Keys are sent as ``X-CloudTally-Key-Id`` + ``X-CloudTally-Key-Secret`` (TelemetryFlow's
``X-TelemetryFlow-Key-ID``/``-Secret`` and ``X-API-Key-ID``/``-Secret`` are accepted too),
``Authorization: Bearer <id>.<secret>``, or HTTP Basic with the id as user and the secret as password.

Secrets are 256-bit random values, so a single HMAC-SHA256 (keyed with an optional pepper from the
secret store) is the right hash: a slow password hash adds latency without adding security here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Mapping

from .errors import AuthError, BadRequest, ForbiddenError

SCOPES = ("ingest", "read", "admin")
ID_PREFIX = "ctk_"
SECRET_PREFIX = "cts_"


@dataclass(frozen=True)
class Principal:
    key_id: str
    name: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes and "admin" not in self.scopes:
            raise ForbiddenError(f"this key lacks the '{scope}' scope", code="insufficient_scope",
                                 details={"required": scope, "granted": sorted(self.scopes)})


def new_key_material() -> tuple[str, str]:
    return ID_PREFIX + secrets.token_hex(8), SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str, pepper: str = "") -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def credentials_from_headers(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """Extract (key id, secret) from any supported header style; None if none is present."""
    h = {k.lower(): v for k, v in headers.items()}
    for id_h, sec_h in (("x-cloudtally-key-id", "x-cloudtally-key-secret"),
                        ("x-telemetryflow-key-id", "x-telemetryflow-key-secret"),
                        ("x-api-key-id", "x-api-key-secret")):
        if id_h in h or sec_h in h:
            return h.get(id_h, ""), h.get(sec_h, "")
    auth = h.get("authorization", "").strip()
    scheme, _, value = auth.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer":
        kid, _, sec = value.partition(".")
        return kid, sec
    if scheme == "basic":
        try:
            raw = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return "", ""
        kid, _, sec = raw.partition(":")
        return kid, sec
    return None


class KeyService:
    """Create, list, revoke and verify keys against the store, with a short verification cache."""

    def __init__(self, store, pepper: str = "", cache_seconds: int = 30):
        self.store = store
        self.pepper = pepper
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, str, Principal | None]] = {}
        self._lock = threading.Lock()
        # bumped by every revocation: a verification whose store read may predate one is not cached, so a
        # revocation takes effect at once in this process even while other threads verify the same key
        self._revocations = 0

    def create(self, name: str, scopes: list[str] | tuple[str, ...]) -> dict:
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise BadRequest("invalid key", details=[{"field": "name", "message": "1-100 characters"}])
        bad = [s for s in scopes if s not in SCOPES]
        if not scopes or bad or len(scopes) > len(SCOPES):
            raise BadRequest("invalid key", details=[{"field": "scopes", "message": f"one or more of {', '.join(SCOPES)}"}])
        kid, secret = new_key_material()
        item = self.store.put_key(kid, name, set(scopes), hash_secret(secret, self.pepper))
        return {"id": kid, "secret": secret, "name": name, "scopes": sorted(item.scopes),
                "created_at": item.created_at.isoformat()}

    def list(self) -> list[dict]:
        return [{"id": k.sk, "name": k.name, "scopes": sorted(k.scopes), "created_at": k.created_at.isoformat(),
                 "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None} for k in self.store.list_keys()]

    def revoke(self, key_id: str) -> dict:
        item = self.store.revoke_key(key_id)
        with self._lock:
            self._revocations += 1
            self._cache.pop(key_id, None)
        return {"id": key_id, "revoked_at": item.revoked_at.isoformat() if item.revoked_at else None}

    def verify(self, key_id: str, secret: str) -> Principal:
        if not key_id or not secret or len(key_id) > 64 or len(secret) > 256:
            raise AuthError("missing or malformed API key", code="invalid_key")
        digest = hash_secret(secret, self.pepper)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key_id)
            revocations = self._revocations
        if hit and hit[0] > now and hmac.compare_digest(hit[1], digest):
            principal = hit[2]
        else:
            item = self.store.get_key(key_id)
            if item is None or not hmac.compare_digest(item.secret_hash, digest):
                raise AuthError("unknown key id or wrong secret", code="invalid_key")
            principal = None if item.revoked_at else Principal(key_id, item.name, frozenset(item.scopes))
            if self.cache_seconds:
                with self._lock:
                    if self._revocations == revocations:
                        self._cache[key_id] = (now + self.cache_seconds, digest, principal)
        if principal is None:
            raise AuthError("this key has been revoked", code="revoked_key")
        return principal

    def authenticate(self, headers: Mapping[str, str], scope: str) -> Principal:
        creds = credentials_from_headers(headers)
        if creds is None:
            raise AuthError("an API key is required: X-CloudTally-Key-Id + X-CloudTally-Key-Secret, "
                            "Authorization: Bearer <id>.<secret>, or HTTP Basic", code="missing_key")
        p = self.verify(*creds)
        p.require(scope)
        return p
