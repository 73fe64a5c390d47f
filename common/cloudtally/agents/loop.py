"""What every OpenFinOps-style agent does besides collecting: register, send (or spool), run once, run forever.

An agent subclass sets ``client``, ``agent_id`` and ``_stop`` and implements ``collect_telemetry_data()`` and
``registration()`` (the register body); this class gives the OpenFinOps methods ``register_agent()``,
``send_telemetry_data(data)``, ``run_once()`` and ``run_continuous(interval_seconds=300)``.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from ..errors import CloudTallyError

log = logging.getLogger("cloudtally.agents")


class AgentLoop:
    client: Any
    agent_id: str
    last_summary: dict[str, Any] | None = None

    @staticmethod
    def make_client(endpoint: str, key_id: str | None, key_secret: str | None, spool_dir: str | None) -> Any:
        """The API client of an agent: the key from the arguments or the environment, a spool when configured."""
        import os

        from .. import config as ct_config
        from ..client import Client
        return Client(endpoint, key_id or os.environ.get(ct_config.ENV_API_KEY_ID, ""),
                      key_secret or os.environ.get(ct_config.ENV_API_KEY_SECRET, ""), max_attempts=4,
                      spool_dir=spool_dir or os.environ.get(ct_config.ENV_SPOOL_DIR) or None)

    def registration(self) -> dict[str, Any]:    # pragma: no cover - every agent defines it
        raise NotImplementedError

    def collect_telemetry_data(self) -> dict[str, Any]:    # pragma: no cover - every agent defines it
        raise NotImplementedError

    def register_agent(self) -> bool:
        """``POST /api/v1/agents/register``; False (logged) when the server refuses or is unreachable."""
        try:
            self.client.request("POST", "/api/v1/agents/register", body=self.registration())
            return True
        except CloudTallyError as e:
            log.error("agent registration failed: %s", e.message)
            return False

    def send_telemetry_data(self, data: dict[str, Any]) -> bool:
        """``POST /api/v1/telemetry/ingest``; kept in the spool (False) when the server is unreachable."""
        try:
            resp = self.client.post_or_spool("/api/v1/telemetry/ingest", data)
        except CloudTallyError as e:
            log.error("telemetry not sent: %s", e.message)
            return False
        if resp is None:
            log.warning("server unreachable: telemetry spooled to %s for the next run", self.client.spool_dir)
            return False
        if resp.get("rejected"):
            log.warning("server rejected %d telemetry items", len(resp["rejected"]))
        return True

    def run_once(self) -> bool:
        data = self.collect_telemetry_data()
        ok = self.send_telemetry_data(data)
        for f in (self.last_summary or {}).get("failed_scopes") or []:
            log.warning("scope %s failed: %s", f["scope"], f["errors"])
        return ok

    def stop(self) -> None:
        self._stop.set()

    def run_continuous(self, interval_seconds: int = 300) -> None:
        """Collect and send every ``interval_seconds`` until Ctrl-C or SIGTERM (clean stop, no traceback)."""
        self._stop: threading.Event = getattr(self, "_stop", None) or threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: self._stop.set())
        try:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except CloudTallyError as e:   # one failed cycle is logged; the next cycle retries
                    log.error("telemetry cycle failed: %s", e.message)
                self._stop.wait(interval_seconds)
        finally:
            for sig, h in previous.items():
                signal.signal(sig, h)
            log.info("agent %s stopped", self.agent_id)
