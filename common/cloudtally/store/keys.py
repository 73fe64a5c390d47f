"""API keys (partition ``K``): the secret is stored as a keyed hash only."""

from __future__ import annotations

from datetime import datetime

from ..errors import NotFound
from ..focus import UTC
from .models import ApiKeyItem


class KeysMixin:
    def put_key(self, key_id: str, name: str, scopes: set[str], secret_hash: str) -> ApiKeyItem:
        item = self.m.ApiKeyItem(pk="K", sk=key_id, name=name, scopes=set(scopes), secret_hash=secret_hash,
                                 created_at=datetime.now(UTC))
        item.save(condition=self.m.ApiKeyItem.sk.does_not_exist())
        return item

    def get_key(self, key_id: str) -> ApiKeyItem | None:
        if not key_id or len(key_id.encode()) > 256:
            return None  # no key has such an id (and DynamoDB rejects sort keys over 1 KB)
        try:
            return self.m.ApiKeyItem.get("K", key_id, consistent_read=True)
        except self.m.ApiKeyItem.DoesNotExist:
            return None

    def list_keys(self) -> list[ApiKeyItem]:
        return list(self.m.ApiKeyItem.query("K"))

    def revoke_key(self, key_id: str) -> ApiKeyItem:
        item = self.get_key(key_id)
        if item is None:
            raise NotFound(f"no key {key_id}")
        if item.revoked_at is None:
            item.update(actions=[self.m.ApiKeyItem.revoked_at.set(datetime.now(UTC))])
        return item
