"""Batched sending for the hubs: a training loop calls ``collect_*`` every step; requests go out in batches.

:class:`Batcher` buffers elements and a background thread posts them when ``batch_size`` are waiting or
``flush_interval`` seconds after the first one, whichever comes first; ``flush()`` sends everything now
(summaries call it first, so they see what was collected). ``collect`` never waits for the network: it
only blocks when ``max_pending`` elements are waiting (the API is down), which is back-pressure, not loss.
A batch the API does not take after the client's retries (unreachable, 5xx) stays at the front of the buffer
and is retried at the next interval; ``flush()`` raises that error. A batch the API refuses (4xx) is not
re-sent: it is listed in ``failed`` with the reason and ``flush()`` raises it. Elements the API rejects one by
one (a bad field) are logged with the API's reasons and kept in the hub's ``rejected``; the rest is stored.
Elements carry their own identity (run and step, or session and sequence number), so a batch re-sent after a
lost answer is counted once.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from typing import Any, Callable

from ..errors import CloudTallyError, ProviderError

log = logging.getLogger("cloudtally.observability")


class Batcher:
    def __init__(self, send: Callable[[list[tuple[str, dict[str, Any]]]], None], *, batch_size: int = 1000,
                 flush_interval: float = 2.0, max_pending: int = 200_000,
                 monotonic: Callable[[], float] = time.monotonic, name: str = "hub", target: str = ""):
        if batch_size < 1 or flush_interval <= 0:
            raise ValueError("batch_size must be >= 1 and flush_interval > 0")
        self._send = send
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_pending = max(max_pending, batch_size)
        self._monotonic = monotonic
        self._buf: list[tuple[str, dict[str, Any]]] = []
        self._first_at: float | None = None
        self._cv = threading.Condition()
        self._send_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.name = name
        self.target = target       # the API it sends to: a read there first flushes every batcher sending to it
        self.requests = 0          # batches posted
        self.sent = 0              # elements the API answered for
        self.last_error: CloudTallyError | None = None
        self.failed: list[dict[str, Any]] = []     # batches the API refused (never re-sent), with the reason
        _LIVE.add(self)

    def __len__(self) -> int:
        return len(self._buf)

    def add(self, kind: str, element: dict[str, Any]) -> None:
        with self._cv:
            while len(self._buf) >= self.max_pending and not self._closed:
                self._cv.wait(0.5)
            if self._first_at is None:
                self._first_at = self._monotonic()
            self._buf.append((kind, element))
            if len(self._buf) >= self.batch_size:
                self._cv.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"cloudtally-{self.name}-sender", daemon=True)
                self._thread.start()

    def _take(self) -> list[tuple[str, dict[str, Any]]]:
        batch, self._buf = self._buf[:self.batch_size], self._buf[self.batch_size:]
        self._first_at = self._monotonic() if self._buf else None
        self._cv.notify_all()
        return batch

    def _post(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        try:
            self._send(batch)
        except ProviderError as e:              # unreachable or failing after the client's retries: try again
            with self._cv:
                self._buf[:0] = batch           # keep them, first in line, for the next attempt
                self._first_at = self._monotonic()
            self.last_error = e
            raise
        except CloudTallyError as e:            # refused (4xx): sending it again would be refused again
            self.failed.append({"error": e.code, "message": e.message, "elements": len(batch)})
            self.last_error = e
            raise
        self.requests += 1
        self.sent += len(batch)
        self.last_error = None

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._closed:
                    if len(self._buf) >= self.batch_size:
                        break
                    if self._first_at is not None:
                        wait = self._first_at + self.flush_interval - self._monotonic()
                        if wait <= 0:
                            break
                    else:
                        wait = None
                    self._cv.wait(wait)
                if self._closed:
                    return
            with self._send_lock:
                with self._cv:
                    batch = self._take()
                if not batch:
                    continue
                try:
                    self._post(batch)
                except ProviderError as e:
                    log.warning("%s: %d elements not sent yet (%s); retrying in %.1f s", self.name, len(batch),
                                e.message, self.flush_interval)
                except CloudTallyError as e:
                    log.error("%s: the API refused %d elements: %s", self.name, len(batch), e.message)

    def flush(self) -> None:
        """Send everything buffered now; raises the API's error if a batch is still not taken."""
        with self._send_lock:
            while True:
                with self._cv:
                    batch = self._take()
                if not batch:
                    return
                self._post(batch)

    def close(self) -> None:
        """Flush, then stop the sender thread."""
        try:
            self.flush()
        finally:
            with self._cv:
                self._closed = True
                self._cv.notify_all()
            _LIVE.discard(self)


class Batched:
    """What a hub that sends through ``self._batcher`` offers its callers."""

    _batcher: Batcher
    rejected: list[dict[str, Any]]

    def _rejected(self, resp: dict[str, Any]) -> None:
        """Elements the API rejected one by one: logged with its reasons and kept (the rest was stored)."""
        if resp.get("rejected"):
            self.rejected.extend(resp["rejected"])
            log.warning("%s: the API rejected %d elements: %s", self._batcher.name, len(resp["rejected"]),
                        resp["rejected"][:3])

    def flush(self) -> None:
        """Send what was collected so far (the hub's queries call it first)."""
        self._batcher.flush()

    def _flush_before_read(self) -> None:
        """Read your writes within the process: this hub's buffer, then every other live hub's that sends to
        the same API (a script that replaced its hub, or another hub kind, still sees what it collected)."""
        self._batcher.flush()
        for b in list(_LIVE):
            if b is self._batcher or b._closed or not len(b) or b.target != self._batcher.target:
                continue
            try:
                b.flush()
            except CloudTallyError as e:      # that hub's own error: logged here, raised by its own flush
                log.error("%s: %d elements not sent before a read: %s", b.name, len(b), e.message)

    def close(self) -> None:
        """Flush, then stop the background sender."""
        self._batcher.close()

    @property
    def requests_sent(self) -> int:
        """Batches posted so far (a collected element is not a request)."""
        return self._batcher.requests


# strong references: a hub dropped without close() keeps its batcher (and what it buffered) until exit
_LIVE: set[Batcher] = set()


@atexit.register
def _flush_at_exit() -> None:   # a script that ends without close() still delivers its last steps
    for b in list(_LIVE):
        if b._closed or not len(b):
            continue
        try:
            b.flush()
        except CloudTallyError as e:
            log.error("%s: %d elements could not be sent before exit: %s", b.name, len(b), e.message)
