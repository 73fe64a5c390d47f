"""The host agent: a collection every ``collectors.system.interval`` (15 s) into the buffer, a flush every
``exporter.flush_interval`` (10 s) sending batches of ``exporter.batch_size`` (100) collections, a heartbeat
every ``heartbeat.interval`` (60 s). Three threads: collecting never waits for the network.

A clean stop (SIGINT, SIGTERM, :meth:`HostAgent.stop`) ends the loops, writes what is still only in memory to
disk and saves the counters; the next start sends it (the same batches with the same idempotency keys).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from .buffer import Buffer
from .config import Config
from .export import Sender, accepted_points, compress, encode_json, encode_otlp, resource_attributes
from .system import AGENT_VERSION, SystemCollector, points

log = logging.getLogger("cloudtally.agent")


class AgentClock:
    """Epoch seconds: the system clock, or — with ``CLOUDTALLY_NOW`` and/or a ``time_scale`` above 1 — a clock
    that starts at that instant and runs ``scale`` times faster (time-compressed tests and demos). Waits shrink
    by the same factor."""

    def __init__(self, start: datetime | None = None, scale: float = 1.0):
        self.scale = scale
        self._m0 = time.monotonic()
        self._t0 = start.timestamp() if start is not None else (time.time() if scale != 1 else None)

    @classmethod
    def from_env(cls, env: Mapping[str, str], scale: float = 1.0) -> "AgentClock":
        from ...clock import ENV_NOW, parse_instant
        raw = env.get(ENV_NOW)
        return cls(parse_instant(raw) if raw else None, scale)

    def now(self) -> float:
        if self._t0 is None:
            return time.time()
        return self._t0 + (time.monotonic() - self._m0) * self.scale

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` of this clock's time; True when ``event`` was set meanwhile."""
        return event.wait(max(0.0, seconds) / self.scale)


def agent_id(cfg: Config) -> str:
    """The configured id, else one kept in the buffer folder (created once: restarts keep it)."""
    if cfg.agent.id:
        return cfg.agent.id
    f = Path(cfg.buffer.path) / "agent-id"
    if f.exists():
        return f.read_text().strip()
    aid = str(uuid.uuid4())
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_name("agent-id.tmp")
    tmp.write_text(aid + "\n")
    os.replace(tmp, f)
    return aid


class HostAgent:
    def __init__(self, cfg: Config, *, env: Mapping[str, str] | None = None, clock: AgentClock | None = None,
                 collector: SystemCollector | None = None, sender: Sender | None = None):
        self.cfg = cfg
        self.env = dict(os.environ if env is None else env)
        self.clock = clock or AgentClock.from_env(self.env, cfg.agent.time_scale)
        self._stop = threading.Event()
        self.buffer = Buffer(cfg.buffer.path, max_memory_bytes=int(cfg.buffer.max_memory_mb * 1024 * 1024),
                             max_disk_bytes=int(cfg.buffer.max_disk_mb * 1024 * 1024), durable=cfg.buffer.durable)
        self.agent_id = agent_id(cfg)
        self.name = cfg.agent.name or socket.gethostname()
        self.collector = collector or SystemCollector(cfg, env=self.env, started=self.clock.now())
        self.sender = sender or Sender(cfg, self.agent_id, sleep=lambda s: self.clock.wait(self._stop, s))
        self.latest: dict[str, Any] | None = None
        self._latest_lock = threading.Lock()
        self.heartbeats_sent = 0
        self.heartbeat_failures = 0
        self._resource: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"HostAgent(id={self.agent_id!r}, endpoint={self.cfg.telemetryflow.endpoint!r}, secret='***')"

    # ------------------------------------------------------------ collecting
    def collect_once(self) -> int:
        """One collection into the buffer; returns its number of points."""
        now = int(self.clock.now())
        info = self.collector.collect(now)
        pts = points(info, self.cfg.collectors.system.per_core)
        self.buffer.add(now, pts)
        with self._latest_lock:
            self.latest = info
            if self._resource is None:
                self._resource = resource_attributes(info, self.agent_id, self.name,
                                                     self.cfg.telemetryflow.environment, self.env)
        return len(pts)

    # ------------------------------------------------------------ sending
    def _body(self, entries: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
        resource = self._resource or resource_attributes(self.latest or {"hostname": socket.gethostname()},
                                                         self.agent_id, self.name, self.cfg.telemetryflow.environment,
                                                         self.env)
        if self.cfg.exporter.format == "otlp":
            body, ctype = encode_otlp(entries, resource, AGENT_VERSION), "application/x-protobuf"
        else:
            body, ctype = encode_json(entries, resource, self.agent_id), "application/json"
        body, enc = compress(body, self.cfg.exporter.compression)
        return body, {"Content-Type": ctype, **enc}

    def flush(self, *, force: bool = False, attempts: int | None = None) -> bool:
        """Send every batch that is due (all of them with ``force``); False when the receiver stayed unreachable
        or throttled (the batch waits, durable, for the next flush)."""
        ex = self.cfg.exporter
        url = self.cfg.telemetryflow.endpoint + self.cfg.export_path
        while force or not self._stop.is_set():
            b = self.buffer.next_batch(ex.batch_size, now=int(self.clock.now()), linger=ex.linger, force=force)
            if b is None:
                return True
            body, headers = self._body(self.buffer.entries(b))
            out = self.sender.post(url, body, {**headers, "Idempotency-Key": b.key}, timeout=ex.timeout,
                                   attempts=attempts)
            if out.ok:
                taken, message = accepted_points(out, ex.format, b.points)
                if taken < b.points:
                    log.warning("receiver took %d of %d points: %s", taken, b.points, message[:300])
                self.buffer.ack(b, taken)
            elif out.retryable:
                log.warning("batch %s (%d points) not sent, kept for the next flush: %s", b.key, b.points,
                            out.reason[:300])
                return False
            else:
                self.buffer.reject(b, out.reason)
        return True

    def heartbeat(self) -> bool:
        """``POST /agents/{agentId}/heartbeat`` with the latest systemInfo (and the buffer's counters)."""
        hb = self.cfg.heartbeat
        with self._latest_lock:
            info = dict(self.latest) if self.latest else None
        if info is None:
            info = self.collector.collect(int(self.clock.now()))
        s = self.buffer.stats()
        info.update(agentBufferEntries=s["entries"], agentBufferDiskBytes=s["disk_bytes"],
                    agentCollectedPoints=s["collected_points"], agentSentPoints=s["acked_points"],
                    agentRejectedPoints=s["rejected_points"], agentDroppedPoints=s["dropped_points"])
        import json
        doc = {"systemInfo": info, "heartbeatInterval": max(1, int(round(hb.interval))), "agentName": self.name,
               "environment": self.cfg.telemetryflow.environment, "tags": self.cfg.agent.tags}
        url = self.cfg.telemetryflow.endpoint + hb.path.replace("{agentId}", self.agent_id)
        out = self.sender.post(url, json.dumps(doc, separators=(",", ":")).encode(),
                               {"Content-Type": "application/json"}, timeout=hb.timeout, attempts=2)
        if out.ok:
            self.heartbeats_sent += 1
        else:
            self.heartbeat_failures += 1
            log.warning("heartbeat not acknowledged: %s", out.reason[:300])
        return out.ok

    # ------------------------------------------------------------ loops
    def stop(self) -> None:
        self._stop.set()
        self.sender._stop.set()

    def _loop(self, interval: float, fn, name: str, first: bool = True) -> None:
        nxt = self.clock.now() + (0 if first else interval)
        while not self._stop.is_set():
            wait = nxt - self.clock.now()
            if wait > 0 and self.clock.wait(self._stop, wait):
                return
            try:
                fn()
            except Exception:    # one failed cycle is logged with its traceback; the agent keeps running
                log.exception("%s failed", name)
            nxt += interval
            if nxt < self.clock.now():          # a slow cycle: skip the missed slots instead of bunching
                nxt = self.clock.now() + interval

    def run(self, *, install_signals: bool = True) -> int:
        """Until SIGINT/SIGTERM (or :meth:`stop`); returns 0 after a clean stop."""
        previous = {}
        if install_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: self.stop())
        threads = [threading.Thread(target=self._loop, name="exporter", daemon=True,
                                    args=(self.cfg.exporter.flush_interval, self.flush, "flush", False))]
        if self.cfg.heartbeat.enabled:
            threads.append(threading.Thread(target=self._loop, name="heartbeat", daemon=True,
                                            args=(self.cfg.heartbeat.interval, self.heartbeat, "heartbeat")))
        log.info("cloudtally-agent %s started: id %s, endpoint %s, collecting every %ss", AGENT_VERSION, self.agent_id,
                 self.cfg.telemetryflow.endpoint, self.cfg.collectors.system.interval)
        try:
            if self.cfg.collectors.system.enabled:
                self.collect_once()
            for t in threads:
                t.start()
            if self.cfg.collectors.system.enabled:
                self._loop(self.cfg.collectors.system.interval, self.collect_once, "collection", first=False)
            else:
                self._stop.wait()
        finally:
            self.stop()
            for t in threads:
                if t.is_alive():
                    t.join(timeout=max(5.0, self.cfg.exporter.timeout / max(self.clock.scale, 1)))
            self.buffer.close()
            for sig, h in previous.items():
                signal.signal(sig, h)
            s = self.buffer.stats()
            log.info("cloudtally-agent stopped: %d collections (%d points) kept on disk for the next start; "
                     "sent %d points, dropped %d", s["entries"], s["waiting_points"], s["acked_points"],
                     s["dropped_points"])
        return 0

    def once(self) -> int:
        """``--once``: collect, send a heartbeat, send everything buffered; 0 when all of it was acknowledged."""
        try:
            self.collect_once()
            hb_ok = self.heartbeat() if self.cfg.heartbeat.enabled else True
            sent = self.flush(force=True)
        finally:
            self.buffer.close()
        s = self.buffer.stats()
        log.info("sent %d points, %d waiting, %d rejected", s["acked_points"], s["waiting_points"], s["rejected_points"])
        return 0 if sent and hb_ok and not s["entries"] else 1


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
