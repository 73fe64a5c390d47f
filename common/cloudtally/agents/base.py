"""What every OpenFinOps-compatible agent shares: the API client, ``register_agent``,
``send_telemetry_data``, ``run_once``, ``run_continuous`` and ``stop``. A subclass supplies
``collect_telemetry_data()`` and its registration fields; the collection itself is the collector module
run over a fixed window into a :class:`~cloudtally.collectors.runner.ListSink` (no second implementation)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import datetime, timedelta
from typing import Any

from .. import config as ct_config
from ..client import Client, resolve_api_url
from ..clock import Clock, from_env as clock_from_env
from ..errors import CloudTallyError

AGENT_VERSION = "cloudtally-0.1"


class TelemetryAgentBase:
    agent_type = "telemetry"
    cloud_provider = "generic"
    collector = ""                # the registry name the agent runs

    def __init__(self, endpoint: str | None, *, agent_id: str, api_key_id: str | None = None,
                 api_key_secret: str | None = None, spool_dir: str | None = None, clock: Clock | None = None,
                 logger: logging.Logger | None = None):
        # the argument, else CLOUDTALLY_API_URL, else OPENFINOPS_ENDPOINT, else the OpenFinOps default
        self.endpoint = resolve_api_url(endpoint)
        self.hostname = socket.gethostname()
        self.agent_id = agent_id
        self.client = Client(self.endpoint, api_key_id or os.environ.get(ct_config.ENV_API_KEY_ID, ""),
                             api_key_secret or os.environ.get(ct_config.ENV_API_KEY_SECRET, ""), max_attempts=4,
                             spool_dir=spool_dir or os.environ.get(ct_config.ENV_SPOOL_DIR) or None)
        self.clock = clock or clock_from_env()
        self.log = logger or logging.getLogger(f"cloudtally.agents.{self.cloud_provider}")
        self._stop = threading.Event()
        self.last_summary: dict[str, Any] | None = None

    # ------------------------------------------------------------ what subclasses give
    def registration(self) -> dict[str, Any]:
        return {}

    def collect_telemetry_data(self) -> dict[str, Any]:
        raise NotImplementedError

    # ------------------------------------------------------------ the collector, over a fixed window
    def run_collector(self, hours: float, *, config: dict[str, Any], env: dict[str, str], clients: Any = None
                      ) -> tuple[list[Any], list[Any], dict[str, Any], datetime]:
        """(records, metric points, summary, now) of one collection over the last ``hours``."""
        from ..collectors import registry, runner
        from ..collectors.secrets import Secrets

        spec = registry.get(self.collector)
        now = self.clock.now().replace(microsecond=0)
        window = runner.Window(now - timedelta(hours=hours), now)
        sink = runner.ListSink()
        self.last_summary = runner.run(spec, sink=sink, clients=clients, config=config, now=now, window=window,
                                       logger=self.log, secrets=Secrets(spec.all_secrets, env=env))
        return list(sink.records.values()), list(sink.metrics), self.last_summary, now

    # ------------------------------------------------------------ OpenFinOps API
    def register_agent(self) -> bool:
        body = {"agent_id": self.agent_id, "hostname": self.hostname, "cloud_provider": self.cloud_provider,
                "agent_type": self.agent_type, "agent_version": AGENT_VERSION, **self.registration()}
        try:
            self.client.request("POST", "/api/v1/agents/register", body=body)
            return True
        except CloudTallyError as e:
            self.log.error("agent registration failed: %s", e.message)
            return False

    def send_telemetry_data(self, data: dict[str, Any]) -> bool:
        try:
            resp = self.client.post_or_spool("/api/v1/telemetry/ingest", data)
        except CloudTallyError as e:
            self.log.error("telemetry not sent: %s", e.message)
            return False
        if resp is None:
            self.log.warning("server unreachable: telemetry spooled to %s for the next run", self.client.spool_dir)
            return False
        if resp.get("rejected"):
            self.log.warning("server rejected %d telemetry items", len(resp["rejected"]))
        return True

    def run_once(self) -> bool:
        data = self.collect_telemetry_data()
        ok = self.send_telemetry_data(data)
        for f in (self.last_summary or {}).get("failed_scopes") or []:
            self.log.warning("scope %s failed: %s", f["scope"], f["errors"])
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
                    self.log.error("telemetry cycle failed: %s", e.message)
                self._stop.wait(interval_seconds)
        finally:
            for sig, h in previous.items():
                signal.signal(sig, h)
            self.log.info("agent %s stopped", self.agent_id)

