"""The OpenFinOps agents' ``run_continuous``: one cycle every interval until Ctrl-C, SIGTERM or ``stop()``."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Callable

from ..errors import CloudTallyError


def run_continuous(cycle: Callable[[], object], interval_seconds: float, stop: threading.Event,
                   log: logging.Logger, agent_id: str) -> None:
    """Run ``cycle`` every ``interval_seconds`` until ``stop`` is set (SIGINT and SIGTERM set it when called
    from the main thread: a clean stop, no traceback). A cycle failing with a :class:`CloudTallyError` is
    logged; the next cycle retries."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.is_set():
            try:
                cycle()
            except CloudTallyError as e:
                log.error("telemetry cycle failed: %s", e.message)
            stop.wait(interval_seconds)
    finally:
        for sig, h in previous.items():
            signal.signal(sig, h)
        log.info("agent %s stopped", agent_id)
