"""What every scheduled function runs, whatever its cloud: resolve the ingest key and the collector's
secrets, post records and keep state through the API, return the run summary.

The Lambda handler (functions/aws), the Azure Functions timer (functions/azure) and the Cloud Functions
entry points (functions/gcp) are thin wrappers of :func:`run_collector`: they parse their trigger,
supply their platform's secret fetcher, and log the summary. No function needs table access: the API URL
and an ingest key are all.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any, Callable, Mapping

from .. import config as ct_config
from ..errors import ConfigError
from . import registry, runner
from .api_state import ApiStatus
from .registry import SecretRef
from .secrets import Secrets, ingest_key

ENV_COLLECTOR_CONFIG = "CLOUDTALLY_COLLECTOR_CONFIG"     # JSON object of config overrides


def config_overrides(env: Mapping[str, str], event_config: Mapping[str, Any] | None = None, *,
                     setting: str = ENV_COLLECTOR_CONFIG) -> dict[str, Any]:
    """The deployment's config (the ``setting`` variable, ``CLOUDTALLY_COLLECTOR_CONFIG``) overridden by the trigger's."""
    cfg: dict[str, Any] = {}
    raw = env.get(setting)
    if raw:
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise ConfigError(f"{setting} must be a JSON object")
        cfg.update(doc)
    cfg.update(event_config or {})
    return cfg


def run_collector(name: str, *, env: Mapping[str, str] | None = None, event_config: Mapping[str, Any] | None = None,
                  fetch_secret: Callable[[SecretRef], str | None] | None = None, clients: Any = None,
                  logger: Any = None, now: datetime | None = None, client: Any = None) -> dict[str, Any]:
    """Run collector ``name`` once against the API named by ``CLOUDTALLY_API_URL``."""
    from ..client import Client

    env = os.environ if env is None else env
    from .. import clock
    now = now or clock.from_env(env).now()     # CLOUDTALLY_NOW pins it (local stacks, tests); else the system clock
    spec = registry.get(name)
    secrets = Secrets(spec.all_secrets, env=env, fetch=fetch_secret)
    if client is None:
        api_url = env.get(ct_config.ENV_API_URL, "")
        if not api_url:
            raise ConfigError(f"set {ct_config.ENV_API_URL} to the CloudTally API URL")
        kid, sec = ingest_key(secrets)
        client = Client(api_url, kid, sec)
    sink = runner.ClientSink(client, agent_id=f"collector-{spec.name}")
    status = ApiStatus(client)
    summary = runner.run(spec, sink=sink, clients=clients, config=config_overrides(env, event_config), status=status,
                         logger=logger, now=now, secrets=secrets)
    summary["api_requests"] = {"records": summary["requests"], "state": status.requests,
                               "imports": getattr(sink, "import_requests", 0)}
    return summary
