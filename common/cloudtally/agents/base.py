"""What every OpenFinOps-style agent shares: registration, sending (spooled while the API is down), one
cycle, and the loop that stops cleanly on Ctrl-C / SIGTERM. An agent subclass gives its provider's
``cloud_provider``, ``agent_type``, ``region`` and :meth:`collect_telemetry_data` (the collector's run)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from typing import Any

from .. import config as ct_config
from ..client import Client, resolve_api_url
from ..errors import CloudTallyError

log = logging.getLogger("cloudtally.agents")
AGENT_VERSION = "cloudtally-0.1"


class TelemetryAgent:
    cloud_provider = ""
    agent_type = ""

    def __init__(self, endpoint: str | None, *, api_key_id: str | None = None, api_key_secret: str | None = None,
                 spool_dir: str | None = None):
        # the argument, else CLOUDTALLY_API_URL, else OPENFINOPS_ENDPOINT, else http://localhost:8080 (the
        # OpenFinOps default), which must then answer: a clear ConfigError says what to set
        self.endpoint = resolve_api_url(endpoint)
        self.hostname = socket.gethostname()
        self.client = Client(self.endpoint, api_key_id or os.environ.get(ct_config.ENV_API_KEY_ID, ""),
                             api_key_secret or os.environ.get(ct_config.ENV_API_KEY_SECRET, ""), max_attempts=4,
                             spool_dir=spool_dir or os.environ.get(ct_config.ENV_SPOOL_DIR) or None)
        self._stop = threading.Event()
        self.last_summary: dict[str, Any] | None = None

    # what a subclass provides
    region: str = ""

    def registration_config(self) -> dict[str, Any]:
        return {}

    def collect_telemetry_data(self) -> dict[str, Any]:
        raise NotImplementedError

    # ------------------------------------------------------------ OpenFinOps API
    def register_agent(self) -> bool:
        body = {"agent_id": self.agent_id, "hostname": self.hostname, "cloud_provider": self.cloud_provider,
                "region": self.region, "agent_type": self.agent_type, "agent_version": AGENT_VERSION,
                "config": self.registration_config()}
        try:
            self.client.request("POST", "/api/v1/agents/register", body=body)
            return True
        except CloudTallyError as e:
            log.error("agent registration failed: %s", e.message)
            return False

    def send_telemetry_data(self, data: dict[str, Any]) -> bool:
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
