"""The collector runner: window, trailing re-pull, cursors, per-scope errors, posting, run summary.

A collector is ``collect(ctx) -> Iterable[CostRecord | MetricPoint]``. It wraps each unit of work
(an account, region, service or page) in ``with ctx.scope(name):``; a provider error inside a scope
is recorded for that scope (and shown by ``GET /v1/collectors``) while the other scopes still land.

Provider errors are the :class:`~cloudtally.errors.ProviderError` family: each provider package maps
its SDK's exceptions onto it (``CollectorSpec.errors``), so this module imports no SDK. Anything else
raised inside a collector (``KeyError``, ``TypeError`` ...) is a bug: the run is recorded as failed,
the traceback goes to the log and :class:`~cloudtally.errors.CollectorBug` is raised — it is never
reported as "scope failed".

Windows are whole UTC days: a scope's run covers ``[min(cursor, today - trailing_days), now)``, so
billing data that settles late is re-pulled and a missed run is backfilled from the cursor. Record
ids are deterministic, so a re-pulled day replaces itself and totals never change from re-running.

>>> w = Window(datetime(2024, 9, 1, tzinfo=UTC), datetime(2024, 9, 2, 6, tzinfo=UTC))
>>> [d.isoformat() for d in w.days()]
['2024-09-01', '2024-09-02']
"""

from __future__ import annotations

import importlib
import logging
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from ..errors import CloudTallyError, CollectorBug, ProviderError, ProviderTransient, ValidationError
from ..focus import UTC, CostRecord, MetricPoint, day_floor, iso, parse_time
from .config import CollectorConfig
from .registry import CollectorSpec
from .state import FileStatus, MemoryStatus, ScopeStatus, ScopeUpdate, StatusStore  # noqa: F401 (re-export)

log = logging.getLogger("cloudtally.collectors")


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
    cursor: str | None = None            # set by the collector (e.g. an export's LastModified); else the run date

    @property
    def status(self) -> str:
        return "error" if self.errors else "ok"


def as_provider_error(e: BaseException, mapper: Callable[[BaseException], Any] | None) -> CloudTallyError | None:
    """The CloudTally error ``e`` stands for, or None when it is a bug.

    CloudTally's own errors are themselves; the provider's mapper translates its SDK's exceptions;
    the standard library's network errors (``ConnectionError``, ``TimeoutError``) are transient.
    """
    if isinstance(e, CloudTallyError):
        return e
    if mapper is not None:
        mapped = mapper(e)
        if mapped is not None:
            return mapped
    if isinstance(e, (ConnectionError, TimeoutError)):
        return ProviderTransient(f"{type(e).__name__}: {e}"[:500], provider_code=type(e).__name__)
    return None


def describe_error(e: CloudTallyError) -> dict[str, str]:
    if isinstance(e, ProviderError):
        return e.describe()
    return {"code": e.code, "message": e.message}


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
        if e is None or not isinstance(e, Exception):
            return False
        err = as_provider_error(e, self.ctx.error_mapper)
        if err is None:
            if not hasattr(e, "_cloudtally_scope"):
                e._cloudtally_scope = self.name   # type: ignore[attr-defined]  # where the bug surfaced
            return False          # a bug: the run fails (see run())
        self.state.errors.append(describe_error(err))
        self.ctx.logger.warning("collector %s scope %s failed: %s", self.ctx.collector, self.name,
                                self.state.errors[-1]["message"])
        return True


@dataclass
class CollectorContext:
    """What a collector needs: its window(s), injected clients, the catalog, typed config and a logger."""

    collector: str
    window: Window
    clients: Any
    catalog: Any
    config: Any                 # the spec's CollectorConfig (typed); plain dicts are accepted in unit tests
    logger: logging.Logger
    now: datetime
    status: StatusStore | None = None
    scopes: dict[str, ScopeState] = field(default_factory=dict)
    current: ScopeState | None = None
    api_calls: Counter = field(default_factory=Counter)
    fixed_window: bool = False   # the agent's "last hour" window: cursors are neither read nor advanced
    marks: dict[str, dict[str, str]] = field(default_factory=dict)      # scope -> marks to commit on success
    error_mapper: Callable[[BaseException], Any] | None = None
    imports: Any = None          # where a period replace goes (the sink's import target: the API's /v1/imports)
    secrets: Any = None          # the collector's secrets (cloudtally.collectors.secrets.Secrets)
    _loaded: dict[str, ScopeStatus] | None = None                         # every scope's status, read once

    def scope(self, name: str) -> _Scope:
        """``with ctx.scope("123/us-east-1/ec2"):`` — provider errors inside are recorded for that scope only."""
        return _Scope(self, name)

    def scope_state(self, name: str) -> ScopeState:
        st = self.scopes.get(name)
        if st is None:
            st = self.scopes[name] = ScopeState(name, self.window_for(name))
        return st

    def _setting(self, name: str, default: Any) -> Any:
        if isinstance(self.config, Mapping):
            return self.config.get(name, default)
        return getattr(self.config, name, default)

    def previous(self, scope: str) -> ScopeStatus | None:
        """The scope's status as the last run left it (one read of the collector's status per run)."""
        if self.status is None or self.fixed_window:
            return None
        if self._loaded is None:
            self._loaded = self.status.load_status(self.collector)
        return self._loaded.get(scope)

    def cursor(self, scope: str) -> str | None:
        prev = self.previous(scope)
        return prev.cursor if prev is not None else None

    def set_cursor(self, scope: str, cursor: str) -> None:
        """Set the scope's cursor (saved only if the scope succeeds); default: the run's date."""
        self.scope_state(scope).cursor = cursor

    def window_for(self, scope: str) -> Window:
        """The scope's window: from its cursor (backfill) or the trailing window, whichever is earlier."""
        st = self.scopes.get(scope)
        if st is not None:
            return st.window
        if self.fixed_window:
            return self.window
        today = day_floor(self.now)
        trailing = int(self._setting("trailing_days", 3))
        start = today - timedelta(days=trailing)
        cursor = self.cursor(scope)
        if cursor and cursor[:4].isdigit() and len(cursor) >= 10:
            cur = datetime.fromisoformat(cursor[:10]).replace(tzinfo=UTC)
            start = min(start, cur)
        elif not cursor:
            start = today - timedelta(days=int(self._setting("initial_days", trailing)))
        start = max(start, today - timedelta(days=int(self._setting("max_backfill_days", 35))))
        return Window(start, self.now)

    def mark(self, scope: str, key: str) -> datetime | None:
        """When ``key`` was last marked done for ``scope`` (see :meth:`set_mark`)."""
        value = self.marks.get(scope, {}).get(key)
        if value is None:
            prev = self.previous(scope)
            value = prev.marks.get(key) if prev is not None else None
        return parse_time(value) if value else None

    def set_mark(self, scope: str, key: str, when: datetime) -> None:
        """Mark ``key`` done at ``when``; saved with the scope's status only if the scope and run succeed."""
        self.marks.setdefault(scope, {})[key] = iso(when)

    def due(self, scope: str, key: str, every_hours: float) -> bool:
        """Whether an interval-gated pull (e.g. Cost Explorer, billed per request) should run now."""
        last = self.mark(scope, key)
        return last is None or self.now - last >= timedelta(hours=every_hours) - timedelta(minutes=5)

    def closed_days_due(self, window: Window, key: str, every_hours: float) -> Window | None:
        """The closed days of ``window`` when a pull of whole days (usage metrics billed or throttled per
        request) is due for the current scope — marked done now — else None; a fixed window is pulled as asked."""
        if self.fixed_window:
            return window
        scope = self.current.name if self.current is not None else ""
        today = day_floor(self.now)
        if window.start >= today or not self.due(scope, key, every_hours):
            return None
        self.set_mark(scope, key, self.now)
        return Window(window.start, today)

    def metric_days_due(self, scope: str, key: str, every_hours: float, backfill_days: int,
                        max_days: int = 14) -> tuple[datetime, datetime] | None:
        """The closed days of metrics to pull for ``scope`` when that interval-gated pull is due: from where the
        last pull ended (``key``'s mark; the first time ``backfill_days`` back, never more than ``max_days``)
        to today's start, or None (not due, or nothing closed since). The caller marks it done at the end
        it pulled to (``set_mark(scope, key, end)``) once the pull is taken."""
        if not self.due(scope, key, every_hours):
            return None
        end = day_floor(self.now)
        last = self.mark(scope, key)
        start = max(last or end - timedelta(days=backfill_days), end - timedelta(days=max_days))
        return (start, end) if start < end else None

    def note(self, message: str) -> None:
        """Something skipped that is not an error (e.g. a resource the catalog cannot price)."""
        if self.current is not None and message not in self.current.notes and len(self.current.notes) < 50:
            self.current.notes.append(message)

    def count_call(self, service: str, operation: str) -> None:
        self.api_calls[f"{service}:{operation}"] += 1


def _config(spec: CollectorSpec, config: Any) -> Any:
    if isinstance(config, CollectorConfig):
        return config
    return spec.parse_config(dict(config or {}))


def run(spec: CollectorSpec, *, sink: Sink, clients: Any = None, catalog: Any = None,
        config: Mapping[str, Any] | CollectorConfig | None = None, status: StatusStore | None = None,
        now: datetime | None = None, logger: logging.Logger | Any = None, window: Window | None = None,
        collect: Callable[[CollectorContext], Iterable[Any]] | None = None, batch_size: int = 1000,
        secrets: Any = None) -> dict[str, Any]:
    """Run one collector once and return its summary (records sent, scopes failed, API calls).

    Raises :class:`~cloudtally.errors.CollectorBug` (after recording the run) when the collector
    itself fails with something other than a CloudTally or provider error.
    """
    t0 = time.monotonic()
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    cfg = _config(spec, config)
    logger = logger or log
    module = importlib.import_module(spec.module)
    if secrets is None:
        from .secrets import Secrets
        secrets = Secrets(spec.all_secrets)
    if clients is None:
        clients = module.make_clients(cfg, secrets)
    if catalog is None:
        from .. import catalog as catalog_mod
        catalog = catalog_mod.load(spec.provider) if spec.prices else None
    ctx = CollectorContext(collector=spec.name, window=window or Window(day_floor(now), now), clients=clients,
                           catalog=catalog, config=cfg, logger=logger, now=now, status=status,
                           fixed_window=window is not None, error_mapper=spec.error_mapper(),
                           imports=sink.import_target() if hasattr(sink, "import_target") else None,
                           secrets=secrets)
    if hasattr(clients, "bind"):
        clients.bind(ctx)
    fn = collect or module.collect
    records: list[CostRecord] = []
    points: list[MetricPoint] = []
    sent = {"accepted": 0, "rejected": [], "requests": 0, "spooled": 0}
    metrics_sent = 0
    run_errors: list[dict[str, str]] = []
    bug: BaseException | None = None

    def send(batch: list[CostRecord]) -> None:
        for i in range(0, len(batch), batch_size):
            res = sink.send_records(batch[i:i + batch_size])
            for k in ("accepted", "requests", "spooled"):
                sent[k] += int(res.get(k, 0))
            sent["rejected"].extend(res.get("rejected", []))

    # incremental delivery (day ledgers, provisional aggregates, changed-only) needs a status store that
    # keeps state and a scheduled run; the agent's fixed window and plain runs send everything
    deliverer = None
    if status is not None and not ctx.fixed_window and getattr(status, "keeps_ledgers", False):
        from .delivery import Deliverer
        from ..config import rollup_tag_keys   # provisional aggregates keep the rollups' allocation tags
        tag_keys = ctx._setting("aggregate_tag_keys", None) or rollup_tag_keys()
        deliverer = Deliverer(collector=spec.name, state=status, send=send, now=now, tag_keys=tuple(tag_keys))
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
    except CloudTallyError as e:   # posting or state failed after retries: nothing of this run is marked done
        run_errors.append(describe_error(e))
        for st in ctx.scopes.values():
            if not st.errors:
                st.errors.append({"code": e.code, "message": f"not delivered: {e.message}"})
    except Exception as e:   # a bug in the collector: recorded as a failed run, re-raised below
        bug = e
        where = getattr(e, "_cloudtally_scope", None) or (ctx.current.name if ctx.current else None)
        logger.error("collector %s failed with a bug%s: %s", spec.name, f" in scope {where}" if where else "",
                     f"{type(e).__name__}: {e}", exc_info=e)
        err = {"code": "collector_bug", "message": f"{type(e).__name__}: {e}"[:500]}
        run_errors.append(err)
        for st in ctx.scopes.values():
            if not st.errors:
                st.errors.append(err if st.name == where else {"code": "collector_bug",
                                                               "message": "not delivered: the run failed"})
    # cursors and status: a scope's cursor moves only when it succeeded and was delivered
    if status is not None and not ctx.fixed_window and ctx.scopes:
        updates = [ScopeUpdate(scope=st.name, status=st.status, records=st.records, errors=st.errors[:20],
                               cursor=(st.cursor or now.date().isoformat()) if st.status == "ok" else None,
                               marks=ctx.marks.get(st.name, {}) if st.status == "ok" else {})
                   for st in ctx.scopes.values()]
        try:
            status.save_status(spec.name, updates, now)
        except CloudTallyError as e:
            run_errors.append({"code": e.code, "message": f"status not saved: {e.message}"})
    by_service: dict[str, dict[str, int]] = defaultdict(dict)
    for k, n in sorted(ctx.api_calls.items()):
        svc, op = k.split(":", 1)
        by_service[svc][op] = n
    summary = {
        "collector": spec.name, "now": iso(now), "status": "failed" if bug is not None or run_errors else (
            "partial" if any(s.errors for s in ctx.scopes.values()) else "ok"),
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
    logger.info("collector run", extra={"summary": {k: summary[k] for k in (
        "collector", "status", "records_sent", "metrics_sent", "failed_scopes", "api_calls")}})
    if bug is not None:
        raise CollectorBug(f"collector {spec.name} failed: {type(bug).__name__}: {bug}",
                           summary={**summary, "traceback": "".join(traceback.format_exception(bug))[-4000:]}) from bug
    return summary


# ---------------------------------------------------------------- sinks

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

    def import_target(self) -> Any:
        from ..importers.targets import ApiTarget
        self._imports = ApiTarget(self.client)
        return self._imports

    @property
    def import_requests(self) -> int:
        return getattr(getattr(self, "_imports", None), "requests", 0)

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
    """Writes straight to a :class:`~cloudtally.store.Store` (tests and benchmarks of the store itself)."""

    def __init__(self, store: Any):
        self.store = store

    def send_records(self, records: list[CostRecord]) -> dict[str, Any]:
        res = self.store.write_records(records)
        return {"accepted": res.written, "rejected": [{"id": i} for i in res.failed], "requests": 1}

    def send_metrics(self, points: list[MetricPoint]) -> int:
        return self.store.write_metrics(points)

    def import_target(self) -> Any:
        from ..importers.targets import StoreTarget
        return StoreTarget(self.store)


class ListSink:
    """Keeps what was sent (tests, the agent, contract replays); imports replace by scope in memory."""

    def __init__(self) -> None:
        self.records: dict[str, CostRecord] = {}
        self.metrics: list[MetricPoint] = []
        from ..importers.targets import MemoryTarget
        self.imports = MemoryTarget()

    def import_target(self) -> Any:
        return self.imports

    def send_records(self, records: list[CostRecord]) -> dict[str, Any]:
        """Keeps each record the API would take and rejects the rest as the API would (each record's JSON
        goes through the ingest parser), so a replay shows a record the server would refuse."""
        from ..focus import parse_record

        rejected = []
        for i, r in enumerate(records):
            try:
                parse_record(r.to_dict())
            except ValidationError as e:
                rejected.append({"index": i, "id": r.id, "errors": e.details})
                continue
            self.records[r.id] = r
        return {"accepted": len(records) - len(rejected), "rejected": rejected, "requests": 1}

    def send_metrics(self, points: list[MetricPoint]) -> int:
        self.metrics.extend(points)
        return len(points)
