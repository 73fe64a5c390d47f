"""The API's operations, independent of Chalice: each takes plain inputs and returns JSON-ready data."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from .. import focus
from ..auth import KeyService, Principal
from ..clock import Clock
from ..config import Settings, settings as load_settings
from ..errors import BadRequest, PayloadTooLarge, Unprocessable
from . import body, openfinops
from .params import check_params

if TYPE_CHECKING:
    from ..store.repository import Store

log = logging.getLogger("cloudtally.api")


class ApiService:
    """The operations over one store, at one clock: ``clock`` (else ``cfg.clock``, which
    ``CLOUDTALLY_NOW`` pins) is "now" for default date ranges, the dashboard views and budgets."""

    def __init__(self, cfg: Settings | None = None, store: Store | None = None, clock: Clock | None = None):
        self.cfg = cfg or load_settings()
        self._store = store
        self.clock = clock or self.cfg.clock
        self._keys: KeyService | None = None
        # the local server runs one service for all its request threads: the store and the key service
        # (whose cache makes a revocation take effect at once in this process) are created once
        self._init_lock = threading.Lock()

    commit_budget_s = 20.0      # seconds one commit call of a period replace may spend (API Gateway allows 29)

    def now(self) -> datetime:
        """The service's clock (a parameter: tests and local stacks pin it)."""
        return self.clock.now()

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
    def parse_batch(self, raw: bytes | str | None, headers: Mapping[str, str]
                    ) -> tuple[list[focus.CostRecord], list[dict[str, Any]]]:
        """A request's records: the valid ones, and ``{"index", "errors"}`` for each invalid one."""
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
        return good, rejected

    def ingest(self, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        good, rejected = self.parse_batch(raw, headers)
        result = self.store.write_records(good) if good else None
        return {"accepted": len(good), "rejected": rejected,
                "days": result.days if result else []}

    def summary(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_params("summary", params)
        return self.store.summary(self._query(params))

    def top_resources(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_params("top_resources", params)
        limit = _int_param(params, "limit", 10)
        return self.store.top_resources(self._query(params), limit=limit,
                                        metric=params.get("metric") or "EffectiveCost")

    def records(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_params("records", params)
        return self.store.list_records(self._query(params, default_days=7), limit=_int_param(params, "limit", 100),
                                       cursor=params.get("cursor") or None)

    def _query(self, params: Mapping[str, Any], default_days: int = 30):
        """The cost query of the parameters; a missing ``to`` is tomorrow by this service's clock."""
        return _pq()(params, default_days=default_days, today=self.clock.today())

    # ---------------------------------------------------------------- dashboard, budgets
    def dashboard(self, view: str, params: Mapping[str, Any]) -> dict[str, Any]:
        from ..dashboard_data import build
        return build(self.store, view, params, now=self.clock.now())

    def budgets(self):
        """Budget and anomaly operations (:class:`cloudtally.budgets.BudgetService`) at this clock."""
        from .budgets import BudgetService
        return BudgetService(self.store, clock=self.clock)

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
        self.store.register_agent(agent_id, info, now=self.now())
        return {"status": "registered", "agent_id": agent_id}

    def telemetry(self, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        """An OpenFinOps agent's payload: records and metric points, and the account of everything else
        (``ignored``, ``not_counted``, ``rejected``). A payload of which nothing could be taken is a 422
        ``nothing_ingested`` listing why, and writes nothing."""
        doc = body.parse_json(body.decode_body(raw, headers, self.cfg.max_body_bytes))
        t = openfinops.translate(doc)
        if not t.data_taken:
            raise Unprocessable(
                "nothing in this telemetry payload became a cost record or a metric point: see details",
                code="nothing_ingested",
                details={"rejected": t.rejected, "ignored": t.ignored, "not_counted": t.not_counted})
        if t.records:
            self.store.write_records(t.records)
        kept = self.store.write_metrics(t.metrics) if t.metrics else 0
        self.store.touch_agent(doc["agent_id"], now=self.now())
        out: dict[str, Any] = {"status": "partial" if t.rejected else "success", "records": len(t.records),
                               "metrics": kept, "cost": t.cost(), "rejected": t.rejected, "ignored": t.ignored,
                               "not_counted": t.not_counted}
        if kept < len(t.metrics):
            out["metrics_past_retention"] = len(t.metrics) - kept
        return out

    def metrics(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_params("metrics", params)
        q = self._query(params, default_days=1)
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
