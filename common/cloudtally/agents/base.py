"""What every OpenFinOps-compatible agent shares: the client, registration, sending, the loop.

An agent subclasses :class:`TelemetryAgent` and supplies :meth:`~TelemetryAgent.collect_telemetry_data`
(running its collector with a fixed window and a :class:`~cloudtally.collectors.runner.ListSink`) and
:meth:`~TelemetryAgent.registration`; ``register_agent``, ``send_telemetry_data``, ``run_once`` and
``run_continuous`` (a clean stop on Ctrl-C / SIGTERM) are the OpenFinOps methods, the same for all.
:func:`run_cli` is the body of every ``cloudtally agent <source>`` command.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import uuid
from datetime import datetime
from typing import Any, Mapping

from .. import config as ct_config
from ..client import Client, resolve_api_url
from ..errors import CloudTallyError

AGENT_VERSION = "cloudtally-0.1"
log = logging.getLogger("cloudtally.agents")


class TelemetryAgent:
    agent_type = "telemetry"
    cloud_provider = "unknown"
    default_interval = 300

    def __init__(self, openfinops_endpoint: str | None = None, *, agent_id: str | None = None,
                 api_key_id: str | None = None, api_key_secret: str | None = None, client: Client | None = None,
                 env: Mapping[str, str] | None = None, clock: Any = None, spool_dir: str | None = None,
                 id_prefix: str | None = None):
        self.env = os.environ if env is None else env
        self.hostname = socket.gethostname()
        self.agent_id = agent_id or f"{id_prefix or self.cloud_provider}-{self.hostname}-{uuid.uuid4().hex[:8]}"
        if client is None:
            # the argument, else CLOUDTALLY_API_URL, else OPENFINOPS_ENDPOINT, else http://localhost:8080 (the
            # OpenFinOps default), which must then answer: a clear ConfigError says what to set
            self.endpoint = resolve_api_url(openfinops_endpoint)
            client = Client(self.endpoint, api_key_id or self.env.get(ct_config.ENV_API_KEY_ID, ""),
                            api_key_secret or self.env.get(ct_config.ENV_API_KEY_SECRET, ""), max_attempts=4,
                            spool_dir=spool_dir or self.env.get(ct_config.ENV_SPOOL_DIR) or None)
        else:
            self.endpoint = client.api_url
        self.client = client
        self.clock = clock
        self._stop = threading.Event()
        self.log = logging.getLogger(f"cloudtally.agents.{self.cloud_provider}")

    def now(self) -> datetime:
        """The agent's clock (``clock``, else ``CLOUDTALLY_NOW``, else the system clock), to the second."""
        if self.clock is not None:
            t = self.clock.now()
        else:
            from ..clock import from_env
            t = from_env(self.env).now()
        return t.replace(microsecond=0)

    # ------------------------------------------------------------ to override
    def registration(self) -> dict[str, Any]:
        """``region`` and ``config`` of the registration payload."""
        return {"region": "global", "config": {}}

    def collect_telemetry_data(self) -> dict[str, Any]:
        raise NotImplementedError

    def failed_scopes(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        """The scopes the last collection failed on (logged by :meth:`run_once`)."""
        return []

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
        """Post an OpenFinOps payload to ``/api/v1/telemetry/ingest`` (spooled to disk if the API is down)."""
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
        failed = self.failed_scopes(data)
        for f in failed:
            self.log.warning("scope %s failed: %s", f.get("scope"), f.get("errors"))
        return ok and not failed

    def stop(self) -> None:
        self._stop.set()

    def run_continuous(self, interval_seconds: int | None = None) -> None:
        """Collect and send every ``interval_seconds`` until Ctrl-C or SIGTERM (clean stop, no traceback)."""
        from .loop import run_continuous
        run_continuous(self.run_once, self.default_interval if interval_seconds is None else interval_seconds,
                       self._stop, self.log, self.agent_id)


def run_cli(agent: TelemetryAgent, *, once: bool, interval: int) -> int:
    """Register, then one cycle (``--once``: exit 0 when it delivered and no scope failed) or the loop."""
    if not agent.register_agent():
        print("error: agent registration failed", file=sys.stderr)
        return 3
    if once:
        return 0 if agent.run_once() else 1
    agent.run_continuous(interval_seconds=interval)
    return 0


def agent_parser(asub: Any, name: str, help: str, *, interval: int = 300, spool: bool = True) -> Any:
    """The ``cloudtally agent <name>`` subcommand with the flags every agent takes (``--openfinops-endpoint``,
    ``--interval``, ``--agent-id``, ``--once``, ``--spool-dir``); the caller adds its own."""
    p = asub.add_parser(name, help=help)
    p.add_argument("--openfinops-endpoint", "--endpoint", dest="endpoint", default=None,
                   help="server URL (CloudTally API or OpenFinOps server; default: CLOUDTALLY_API_URL, then "
                        "OPENFINOPS_ENDPOINT, then http://localhost:8080)")
    p.add_argument("--interval", type=int, default=interval, help=f"seconds between collections (default {interval})")
    p.add_argument("--agent-id", default=None)
    p.add_argument("--once", action="store_true", help="collect and send once, then exit")
    if spool:
        p.add_argument("--spool-dir", default=os.environ.get(ct_config.ENV_SPOOL_DIR),
                       help="keep payloads the API does not take (outage) on disk and send them next time")
    return p
