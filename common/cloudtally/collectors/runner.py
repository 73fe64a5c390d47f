"""The collector runner: window, trailing re-pull, cursors, per-scope errors, posting, run summary.

A collector is ``collect(ctx) -> Iterable[CostRecord | MetricPoint]``. It wraps each unit of work
(an account, region, service or page) in ``with ctx.scope(name):``; an error inside a scope is
recorded for that scope (and shown by ``GET /v1/collectors``) while the other scopes still land.

Windows are whole UTC days: a scope's run covers ``[min(cursor, today - trailing_days), now)``, so
billing data that settles late is re-pulled and a missed run is backfilled from the cursor. Record
ids are deterministic, so a re-pulled day replaces itself and totals never change from re-running.

>>> w = Window(datetime(2024, 9, 1, tzinfo=UTC), datetime(2024, 9, 2, 6, tzinfo=UTC))
>>> [d.isoformat() for d in w.days()]
['2024-09-01', '2024-09-02']
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import CloudTallyError
from ..focus import UTC, CostRecord, MetricPoint, day_floor, iso, parse_time
from .registry import CollectorSpec

log = logging.getLogger("cloudtally.collectors")

# what a scope may fail with and still let the rest land; anything else is a bug and propagates
SCOPE_ERRORS = (ClientError, BotoCoreError, CloudTallyError, KeyError, ValueError, TimeoutError, ConnectionError)


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def days(self) -> list[date]:
        out, d = [], self.start.date()
        while datetime(d.year, d.month, d.day, tzinfo=UTC) < self.end:
            out.append(d)
            d += timedelta(days=1)
        return out

    def day_slices(self) -> Iterator[tuple[date, datetime, datetime]]:
        """``(day, from, to)`` for each UTC day, clipped to the window."""
        for d in self.days():
            ds = datetime(d.year, d.month, d.day, tzinfo=UTC)
            yield d, max(ds, self.start), min(ds + timedelta(days=1), self.end)

    @property
    def hours(self) -> Decimal:
        return Decimal(int((self.end - self.start).total_seconds())) / Decimal(3600)

    def to_dict(self) -> dict[str, str]:
        return {"start": iso(self.start), "end": iso(self.end)}


class StatusStore(Protocol):
    def get_collector_status(self, collector: str, scope: str) -> Any: ...
    def set_collector_status(self, collector: str, scope: str, *, status: str, records: int = 0,
                             errors: list[dict] | None = None, cursor: str | None = None,
                             marks: dict[str, str] | None = None) -> None: ...
    # optional: get_state(collector, scope, key) -> bytes | None and put_state(collector, scope, key, blob,
    # expires) keep the day ledgers of incremental delivery (see cloudtally.collectors.delivery)


class Sink(Protocol):
    def send_records(self, records: list[CostRecord]) -> dict[str, Any]: ...
    def send_metrics(self, points: list[MetricPoint]) -> int: ...


@dataclass
class ScopeState:
    name: str
    window: Window
    records: int = 0
    metrics: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "error" if self.errors else "ok"


class _Scope:
    def __init__(self, ctx: CollectorContext, name: str):
        self.ctx, self.name = ctx, name

    def __enter__(self) -> ScopeState:
        self.prev = self.ctx.current
        self.state = self.ctx.scope_state(self.name)
        self.ctx.current = self.state
        return self.state

    def __exit__(self, et, e, tb) -> bool:
        self.ctx.current = self.prev
        if e is None or not isinstance(e, SCOPE_ERRORS):
            return False
        self.state.errors.append(describe_error(e))
        self.ctx.logger.warning("collector %s scope %s failed: %s", self.ctx.collector, self.name,
                                self.state.errors[-1]["message"])
        return True


def describe_error(e: BaseException) -> dict[str, str]:
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        op = getattr(e, "operation_name", "")
        return {"code": err.get("Code", "ClientError"), "message": f"{op}: {err.get('Message', '')}".strip(": ")}
    if isinstance(e, CloudTallyError):
        return {"code": e.code, "message": e.message}
    return {"code": type(e).__name__, "message": str(e)[:500]}


@dataclass
class CollectorContext:
    """What a collector needs: its window(s), injected clients, the catalog, config and a logger."""

    collector: str
    window: Window
    clients: Any
    catalog: Any
    config: dict[str, Any]
    logger: logging.Logger
    now: datetime
    status: StatusStore | None = None
    scopes: dict[str, ScopeState] = field(default_factory=dict)
    current: ScopeState | None = None
    api_calls: Counter = field(default_factory=Counter)
    fixed_window: bool = False   # the agent's "last hour" window: cursors are neither read nor advanced
    marks: dict[str, dict[str, str]] = field(default_factory=dict)      # scope -> marks to commit on success
    _items: dict[str, Any] = field(default_factory=dict)                # scope -> its status item (or None)

    def scope(self, name: str) -> _Scope:
        """``with ctx.scope("123/us-east-1/ec2"):`` — errors inside are recorded for that scope only."""
        return _Scope(self, name)

    def scope_state(self, name: str) -> ScopeState:
        st = self.scopes.get(name)
        if st is None:
            st = self.scopes[name] = ScopeState(name, self.window_for(name))
        return st

    def window_for(self, scope: str) -> Window:
        """The scope's window: from its cursor (backfill) or the trailing window, whichever is earlier."""
        st = self.scopes.get(scope)
        if st is not None:
            return st.window
        if self.fixed_window:
            return self.window
        today = day_floor(self.now)
        trailing = int(self.config.get("trailing_days", 3))
        start = today - timedelta(days=trailing)
        item = self._status_item(scope)
        cursor = getattr(item, "cursor", None) if item is not None else None
        if cursor:
            cur = datetime.fromisoformat(cursor[:10]).replace(tzinfo=UTC)
            start = min(start, cur)
        else:
            start = today - timedelta(days=int(self.config.get("initial_days", trailing)))
        start = max(start, today - timedelta(days=int(self.config.get("max_backfill_days", 35))))
        return Window(start, self.now)

    def _status_item(self, scope: str) -> Any:
        if self.status is None or self.fixed_window:
            return None
        if scope not in self._items:
            self._items[scope] = self.status.get_collector_status(self.collector, scope)
        return self._items[scope]

    def mark(self, scope: str, key: str) -> datetime | None:
        """When ``key`` was last marked done for ``scope`` (see :meth:`set_mark`)."""
        value = self.marks.get(scope, {}).get(key)
        if value is None:
            item = self._status_item(scope)
            value = (getattr(item, "marks", None) or {}).get(key) if item is not None else None
        return parse_time(value) if value else None

    def set_mark(self, scope: str, key: str, when: datetime) -> None:
        """Mark ``key`` done at ``when``; saved with the scope's status only if the scope and run succeed."""
        self.marks.setdefault(scope, {})[key] = iso(when)

    def due(self, scope: str, key: str, every_hours: float) -> bool:
        """Whether an interval-gated pull (e.g. Cost Explorer, billed per request) should run now."""
        last = self.mark(scope, key)
        return last is None or self.now - last >= timedelta(hours=every_hours) - timedelta(minutes=5)

    def note(self, message: str) -> None:
        """Something skipped that is not an error (e.g. a resource the catalog cannot price)."""
        if self.current is not None and message not in self.current.notes and len(self.current.notes) < 50:
            self.current.notes.append(message)

    def count_call(self, service: str, operation: str) -> None:
        self.api_calls[f"{service}:{operation}"] += 1


def run(spec: CollectorSpec, *, sink: Sink, clients: Any = None, catalog: Any = None,
        config: Mapping[str, Any] | None = None, status: StatusStore | None = None, now: datetime | None = None,
        logger: logging.Logger | None = None, window: Window | None = None,
        collect: Callable[[CollectorContext], Iterable[Any]] | None = None, batch_size: int = 1000) -> dict[str, Any]:
    """Run one collector once and return its summary (records sent, scopes failed, API calls)."""
    import importlib

    t0 = time.monotonic()
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    cfg = {**spec.default_config, **(config or {})}
    module = importlib.import_module(spec.module)
    if clients is None:
        clients = module.make_clients(cfg)
    if catalog is None:
        from .. import catalog as catalog_mod
        catalog = catalog_mod.load(spec.platform if spec.platform == "aws" else spec.name)
    ctx = CollectorContext(collector=spec.name, window=window or Window(day_floor(now), now), clients=clients,
                           catalog=catalog, config=cfg, logger=logger or log, now=now, status=status,
                           fixed_window=window is not None)
    if hasattr(clients, "bind"):
        clients.bind(ctx)
    fn = collect or module.collect
    records: list[CostRecord] = []
    points: list[MetricPoint] = []
    sent = {"accepted": 0, "rejected": [], "requests": 0, "spooled": 0}
    metrics_sent = 0
    run_errors: list[dict[str, str]] = []

    def send(batch: list[CostRecord]) -> None:
        for i in range(0, len(batch), batch_size):
            res = sink.send_records(batch[i:i + batch_size])
            for k in ("accepted", "requests", "spooled"):
                sent[k] += int(res.get(k, 0))
            sent["rejected"].extend(res.get("rejected", []))

    # incremental delivery (day ledgers, provisional aggregates, changed-only) needs a status store that
    # keeps state and a scheduled run; the agent's fixed window and plain runs send everything
    deliverer = None
    if status is not None and not ctx.fixed_window and hasattr(status, "get_state"):
        from .delivery import Deliverer
        from ..config import rollup_tag_keys   # provisional aggregates keep the rollups' allocation tags
        deliverer = Deliverer(collector=spec.name, state=status, send=send, now=now,
                              tag_keys=tuple(cfg.get("aggregate_tag_keys") or rollup_tag_keys()))
    pending: dict[str, list[CostRecord]] = {}

    def deliver(scope: str | None = None) -> None:
        for name in [scope] if scope is not None else list(pending):
            recs = pending.pop(name, [])
            st = ctx.scopes.get(name)
            if st is not None and deliverer is not None:
                deliverer.deliver(name, recs, st.window.days())

    def flush_records() -> None:
        if records:
            send(list(records))
            records.clear()

    def flush_points() -> None:
        nonlocal metrics_sent
        if points:
            metrics_sent += sink.send_metrics(list(points))
            points.clear()

    try:
        last_scope = None
        for item in fn(ctx):
            st = ctx.current
            if deliverer is not None and last_scope is not None and (st is None or st.name != last_scope):
                deliver(last_scope)              # the previous scope is finished: deliver it
            last_scope = st.name if st is not None else None
            if isinstance(item, CostRecord):
                if st is not None:
                    st.records += 1
                if deliverer is not None and st is not None:
                    pending.setdefault(st.name, []).append(item)
                    continue
                records.append(item)
                if len(records) >= batch_size:
                    flush_records()
            elif isinstance(item, MetricPoint):
                points.append(item)
                if st is not None:
                    st.metrics += 1
                if len(points) >= batch_size:
                    flush_points()
            else:
                raise TypeError(f"collector {spec.name} yielded {type(item).__name__}")
        if deliverer is not None:
            for name in ctx.scopes:           # every scope, so a day whose resources vanished still closes
                pending.setdefault(name, [])
            deliver()
        flush_records()
        flush_points()
    except CloudTallyError as e:   # posting failed after retries: nothing of this run is marked done
        run_errors.append(describe_error(e))
        for st in ctx.scopes.values():
            if not st.errors:
                st.errors.append({"code": e.code, "message": f"not delivered: {e.message}"})
    # cursors and status: a scope's cursor moves only when it succeeded and was delivered
    if status is not None and not ctx.fixed_window:
        for st in ctx.scopes.values():
            ok = st.status == "ok"
            status.set_collector_status(spec.name, st.name, status=st.status, records=st.records,
                                        errors=st.errors[:20] or None,
                                        cursor=now.date().isoformat() if ok else None,
                                        marks=ctx.marks.get(st.name) if ok else None)
    by_service: dict[str, dict[str, int]] = defaultdict(dict)
    for k, n in sorted(ctx.api_calls.items()):
        svc, op = k.split(":", 1)
        by_service[svc][op] = n
    summary = {
        "collector": spec.name, "now": iso(now),
        "window": {"start": iso(min((s.window.start for s in ctx.scopes.values()), default=ctx.window.start)),
                   "end": iso(now)},
        "records_sent": sent["accepted"], "records_rejected": len(sent["rejected"]),
        "rejected": sent["rejected"][:20], "records_spooled": sent["spooled"], "metrics_sent": metrics_sent,
        "requests": sent["requests"],
        **({"delivery": deliverer.stats} if deliverer is not None else {}),
        "scopes": {s.name: {"status": s.status, "records": s.records, "metrics": s.metrics,
                            "window": s.window.to_dict(), **({"errors": s.errors} if s.errors else {}),
                            **({"notes": s.notes} if s.notes else {})} for s in ctx.scopes.values()},
        "failed_scopes": [{"scope": s.name, "errors": s.errors} for s in ctx.scopes.values() if s.errors],
        "errors": run_errors,
        "api_calls": dict(by_service),
        "duration_s": round(time.monotonic() - t0, 3),
    }
    (logger or log).info("collector run", extra={"summary": {k: summary[k] for k in (
        "collector", "records_sent", "metrics_sent", "failed_scopes", "api_calls")}})
    return summary


# ---------------------------------------------------------------- sinks and status stores

class ClientSink:
    """Posts through :class:`cloudtally.client.Client`: records to ``/v1/records``, metric points to
    the telemetry endpoint (``/api/v1/telemetry/ingest`` accepts a ``metrics`` list)."""

    def __init__(self, client: Any, *, agent_id: str = "collector", metrics_batch: int = 2000):
        self.client = client
        self.agent_id = agent_id
        self.metrics_batch = metrics_batch

    def send_records(self, records: list[CostRecord]) -> dict[str, Any]:
        res = self.client.send_records(records)
        return {"accepted": res.accepted, "rejected": res.rejected, "requests": res.requests,
                "spooled": getattr(res, "spooled", 0)}

    def send_metrics(self, points: list[MetricPoint]) -> int:
        n = 0
        for i in range(0, len(points), self.metrics_batch):
            chunk = points[i:i + self.metrics_batch]
            body = {"agent_id": self.agent_id, "timestamp": iso(max(p.timestamp for p in chunk)),
                    "services": {}, "metrics": [p.to_dict() for p in chunk]}
            resp, _ = self.client.request("POST", "/api/v1/telemetry/ingest", body=body)
            n += int(resp.get("metrics", 0))
        return n


class StoreSink:
    """Writes straight to a :class:`~cloudtally.store.Store` (tests, or a collector inside the API's account)."""

    def __init__(self, store: Any):
        self.store = store

    def send_records(self, records: list[CostRecord]) -> dict[str, Any]:
        res = self.store.write_records(records)
        return {"accepted": res.written, "rejected": [{"id": i} for i in res.failed], "requests": 1}

    def send_metrics(self, points: list[MetricPoint]) -> int:
        return self.store.write_metrics(points)


class ListSink:
    """Keeps what was sent (tests, the agent)."""

    def __init__(self) -> None:
        self.records: dict[str, CostRecord] = {}
        self.metrics: list[MetricPoint] = []

    def send_records(self, records: list[CostRecord]) -> dict[str, Any]:
        for r in records:
            self.records[r.id] = r
        return {"accepted": len(records), "rejected": [], "requests": 1}

    def send_metrics(self, points: list[MetricPoint]) -> int:
        self.metrics.extend(points)
        return len(points)


@dataclass
class _FileStatusItem:
    cursor: str | None
    status: str
    records: int
    errors: list | None
    marks: dict | None = None


class FileStatus:
    """Cursors, status and day ledgers in local files, for ``cloudtally collect`` run away from the table."""

    def __init__(self, path: str):
        import json
        import os
        self.path = path
        self._json = json
        self.data: dict[str, dict] = {}
        if os.path.exists(path):
            with open(path) as f:
                self.data = json.load(f)

    def get_collector_status(self, collector: str, scope: str) -> _FileStatusItem | None:
        d = self.data.get(f"{collector}#{scope}")
        return _FileStatusItem(d.get("cursor"), d["status"], d.get("records", 0), d.get("errors"),
                               d.get("marks")) if d else None

    def set_collector_status(self, collector: str, scope: str, *, status: str, records: int = 0,
                             errors: list[dict] | None = None, cursor: str | None = None,
                             marks: dict[str, str] | None = None) -> None:
        key = f"{collector}#{scope}"
        prev = self.data.get(key, {})
        self.data[key] = {"status": status, "records": records, "errors": errors,
                          "cursor": cursor if cursor is not None else prev.get("cursor"),
                          "marks": {**(prev.get("marks") or {}), **(marks or {})} or None,
                          "last_run": iso(datetime.now(UTC))}
        self._write(self.path, self._json.dumps(self.data, indent=1, sort_keys=True).encode())

    def _state_path(self, collector: str, scope: str, key: str) -> str:
        import hashlib
        import os
        h = hashlib.blake2b(f"{collector}#{scope}#{key}".encode(), digest_size=12).hexdigest()
        return os.path.join(self.path + ".state", h)

    def get_state(self, collector: str, scope: str, key: str) -> bytes | None:
        try:
            with open(self._state_path(collector, scope, key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def put_state(self, collector: str, scope: str, key: str, blob: bytes, expires: datetime) -> None:
        import os
        path = self._state_path(collector, scope, key)
        self._write(path, blob)
        os.utime(path, (expires.timestamp(), expires.timestamp()))   # a file's mtime is its expiry
        for name in os.listdir(os.path.dirname(path)):   # expired ledgers go (the table has TTL; files do not)
            full = os.path.join(os.path.dirname(path), name)
            if os.path.getmtime(full) < time.time():
                os.remove(full)

    @staticmethod
    def _write(path: str, data: bytes) -> None:
        import os
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
