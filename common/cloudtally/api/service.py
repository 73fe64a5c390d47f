"""The API's operations, independent of Chalice: each takes plain inputs and returns JSON-ready data."""

from __future__ import annotations

import logging
import threading
from typing import Any, Mapping

from .. import focus
from ..auth import KeyService, Principal
from ..config import Settings, settings as load_settings
from ..errors import BadRequest, PayloadTooLarge
from . import body, openfinops
from .params import check_params

log = logging.getLogger("cloudtally.api")


class ApiService:
    def __init__(self, cfg: Settings | None = None, store: Store | None = None):
        self.cfg = cfg or load_settings()
        self._store = store
        self._keys: KeyService | None = None
        # the local server runs one service for all its request threads: the store and the key service
        # (whose cache makes a revocation take effect at once in this process) are created once
        self._init_lock = threading.Lock()

    @property
    def store(self):
        if self._store is None:
            with self._init_lock:
                if self._store is None:
                    from ..store import Store  # lazy: keeps the API's cold import small
                    self._store = Store(self.cfg)
        return self._store

    @property
    def keys(self) -> KeyService:
        if self._keys is None:
            store = self.store
            with self._init_lock:
                if self._keys is None:
                    self._keys = KeyService(store, self.cfg.key_pepper, self.cfg.auth_cache_seconds)
        return self._keys

    def auth(self, headers: Mapping[str, str], scope: str) -> Principal:
        return self.keys.authenticate(headers, scope)

    # ---------------------------------------------------------------- records
    def ingest(self, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        data = body.decode_body(raw, headers, self.cfg.max_body_bytes)
        items = body.parse_items(data, headers)
        if len(items) > self.cfg.max_batch_records:
            raise PayloadTooLarge(f"{len(items)} records in one request; the limit is {self.cfg.max_batch_records}",
                                  details={"limit_records": self.cfg.max_batch_records})
        good: list[focus.CostRecord] = []
        rejected: list[dict[str, Any]] = []
        for i, obj in enumerate(items):
            if body.is_invalid(obj):
                rejected.append({"index": i, "errors": [{"field": "", "message": obj.message}]})
                continue
            try:
                good.append(focus.parse_record(obj))
            except focus.ValidationError as e:
                rejected.append({"index": i, "errors": e.details})
        result = self.store.write_records(good) if good else None
        return {"accepted": len(good), "rejected": rejected,
                "days": result.days if result else []}

    def summary(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_params("summary", params)
        return self.store.summary(_pq()(params))

    def top_resources(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_params("top_resources", params)
        limit = _int_param(params, "limit", 10)
        return self.store.top_resources(_pq()(params), limit=limit,
                                        metric=params.get("metric") or "EffectiveCost")

    def records(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_params("records", params)
        return self.store.list_records(_pq()(params, default_days=7), limit=_int_param(params, "limit", 100),
                                       cursor=params.get("cursor") or None)

    def collectors(self) -> dict[str, Any]:
        return {"collectors": self.store.collectors()}

    # ---------------------------------------------------------------- keys
    def create_key(self, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        doc = body.parse_json(body.decode_body(raw, headers, 64 * 1024))
        if not isinstance(doc, dict):
            raise BadRequest("expected {\"name\", \"scopes\"}", details=[{"field": "", "message": "not an object"}])
        scopes = doc.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise BadRequest("invalid key", details=[{"field": "scopes", "message": "list of scopes"}])
        return self.keys.create(doc.get("name"), scopes)

    # ---------------------------------------------------------------- OpenFinOps agents
    def register_agent(self, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        doc = body.parse_json(body.decode_body(raw, headers, 256 * 1024))
        agent_id, info = openfinops.agent_info(doc)
        self.store.register_agent(agent_id, info)
        return {"status": "registered", "agent_id": agent_id}

    def telemetry(self, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        doc = body.parse_json(body.decode_body(raw, headers, self.cfg.max_body_bytes))
        records, metrics, errors = openfinops.translate(doc)
        if records:
            self.store.write_records(records)
        if metrics:
            self.store.write_metrics(metrics)
        self.store.touch_agent(doc["agent_id"])
        return {"status": "success", "records": len(records), "metrics": len(metrics), "rejected": errors}

    def metrics(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_params("metrics", params)
        q = _pq()(params, default_days=1)
        name = params.get("name")
        if not name:
            raise BadRequest("name is required", details=[{"field": "name", "message": "required"}])
        dims = {}
        for d in ([params["dimension"]] if isinstance(params.get("dimension"), str) else params.get("dimension") or []):
            k, sep, v = d.partition("=")
            if not sep:
                raise BadRequest("invalid dimension", details=[{"field": "dimension", "message": "key=value"}])
            dims[k] = v
        return {"name": name, "points": self.store.query_metrics(name, q.start, q.end, dimensions=dims,
                                                                 limit=_int_param(params, "limit", 1000))}


def _int_param(params: Mapping[str, Any], name: str, default: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(str(raw))
    except ValueError:
        raise BadRequest(f"invalid {name}", details=[{"field": name, "message": "expected an integer"}]) from None


def _pq():
    from ..query import parse_query
    return parse_query
