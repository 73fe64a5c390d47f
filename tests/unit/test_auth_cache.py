"""The key verification cache under concurrent requests (the local server runs them in threads of one process).

A revocation takes effect at once in the process that made it: a verification that read the key from the
store before the revocation must not put the stale, still valid key back into the cache afterwards.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from cloudtally.auth import KeyService
from cloudtally.errors import AuthError

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


class PausingStore:
    """A key store whose next ``get_key`` answers what the key was when read, then waits to be released."""

    def __init__(self):
        self.items: dict[str, SimpleNamespace] = {}
        self.pause = False
        self.reading = threading.Event()
        self.release = threading.Event()

    def put_key(self, kid, name, scopes, secret_hash):
        self.items[kid] = SimpleNamespace(name=name, scopes=set(scopes), secret_hash=secret_hash, revoked_at=None,
                                          created_at=NOW)
        return self.items[kid]

    def get_key(self, kid):
        item = self.items.get(kid)
        snapshot = SimpleNamespace(**vars(item)) if item else None
        if self.pause:
            self.pause = False
            self.reading.set()
            assert self.release.wait(10), "the test never released the read"
        return snapshot

    def revoke_key(self, kid):
        self.items[kid].revoked_at = NOW
        return self.items[kid]


def test_a_revocation_during_a_concurrent_verification_is_not_undone_by_the_cache():
    store = PausingStore()
    keys = KeyService(store, cache_seconds=30)
    key = keys.create("agent", ["ingest"])
    store.pause = True
    result: list[object] = []
    # GIVEN a request verifying the key, its store read done but not yet cached
    t = threading.Thread(target=lambda: result.append(keys.verify(key["id"], key["secret"])))
    t.start()
    assert store.reading.wait(10)
    # WHEN another request revokes the key meanwhile
    keys.revoke(key["id"])
    store.release.set()
    t.join(10)
    assert result and result[0].key_id == key["id"]     # that request read the key before the revocation
    # THEN the next request with the key is refused at once, not after the cache's 30 s
    with pytest.raises(AuthError) as e:
        keys.verify(key["id"], key["secret"])
    assert e.value.code == "revoked_key"


def test_verifications_are_cached_when_nothing_was_revoked():
    store = PausingStore()
    keys = KeyService(store, cache_seconds=30)
    key = keys.create("agent", ["ingest"])
    keys.verify(key["id"], key["secret"])
    store.items.clear()       # a cached key is not read again
    assert keys.verify(key["id"], key["secret"]).key_id == key["id"]
