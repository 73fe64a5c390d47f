"""Cloud Functions (2nd gen) entry points of the collectors placed on the ``cloud-functions`` runtime.

For each placement (``cloudtally.deploy.json`` beside this file in the bundle, else the registry's
defaults) this module defines, at import:

* ``collect_<name>`` — a CloudEvent function for the Pub/Sub message its Cloud Scheduler job publishes
  (``google.cloud.pubsub.topic.v1.messagePublished``; the message data is base64 JSON
  ``{"collector": "<name>", "config": {...}}``);
* ``collect_<name>_http`` — an HTTP function for a Scheduler HTTP target with an OIDC token (Cloud Run
  checks the token and ``roles/run.invoker`` before the request reaches the handler); JSON body as above.

Handlers stay thin: parse the trigger, :func:`cloudtally.collectors.function.run_collector`, log the summary
(one JSON line: Cloud Logging parses it). The API URL comes from ``CLOUDTALLY_API_URL``; the ingest key and
the collector's secrets from their environment variables — Secret Manager secrets injected as
``CLOUDTALLY_SECRET_<NAME>`` by the deploy — or, failing that, read from Secret Manager
(``cloudtally-<name>`` in ``CLOUDTALLY_GCP_SECRET_PROJECT`` / ``GOOGLE_CLOUD_PROJECT``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import functions_framework

HERE = Path(__file__).resolve().parent
if (HERE / "cloudtally").is_dir():          # the deployed bundle vendors the package beside this file
    sys.path.insert(0, str(HERE))

from cloudtally.collectors import deployment  # noqa: E402
from cloudtally.collectors.function import run_collector  # noqa: E402
from cloudtally.errors import CloudTallyError, CollectorBug, ConfigError  # noqa: E402
from cloudtally.providers.gcp import deploy  # noqa: E402

log = logging.getLogger("cloudtally.functions.gcp")
ENV_SECRET_PROJECT = "CLOUDTALLY_GCP_SECRET_PROJECT"
SUMMARY_KEYS = ("collector", "status", "records_sent", "metrics_sent", "failed_scopes", "api_calls", "api_requests",
                "duration_s", "errors")


def _fetcher(env: Any) -> Callable[[Any], str | None] | None:
    project = env.get(ENV_SECRET_PROJECT) or env.get("GOOGLE_CLOUD_PROJECT")
    if not project:
        return None

    def fetch(ref: Any) -> str | None:
        from cloudtally.providers.gcp.session import read_secret
        return read_secret(project, ref.gcp_name)
    return fetch


def run(name: str, message: dict[str, Any] | None, *, env: Any = None, clients: Any = None, now: Any = None
        ) -> dict[str, Any]:
    """Run collector ``name`` for one trigger message; the run summary (also logged as one JSON line)."""
    env = os.environ if env is None else env
    message = message or {}
    if message.get("collector", name) != name:
        raise ConfigError(f"this function runs collector {name!r}; the message names {message.get('collector')!r}")
    config = message.get("config")
    if config is not None and not isinstance(config, dict):
        raise ConfigError("the message's config must be a JSON object")
    summary = run_collector(name, env=env, event_config=config, fetch_secret=_fetcher(env), clients=clients,
                            logger=log, now=now)
    sys.stdout.write(json.dumps({"severity": "WARNING" if summary["failed_scopes"] else "INFO",
                                 "message": f"collector {name} run {summary['status']}",
                                 "summary": {k: summary.get(k) for k in SUMMARY_KEYS}}, default=str) + "\n")
    return summary


def pubsub_message(cloud_event: Any) -> dict[str, Any]:
    """The JSON object a Scheduler job published, from a Pub/Sub CloudEvent (``data.message.data``, base64)."""
    data = cloud_event.data if hasattr(cloud_event, "data") else cloud_event
    msg = (data or {}).get("message") or {}
    raw = msg.get("data")
    if not raw:
        return {"collector": (msg.get("attributes") or {}).get("collector")} if msg.get("attributes") else {}
    try:
        doc = json.loads(base64.b64decode(raw))
    except (binascii.Error, ValueError):
        raise ConfigError("the Pub/Sub message data is not base64 JSON") from None
    if not isinstance(doc, dict):
        raise ConfigError("the Pub/Sub message must be a JSON object: {\"collector\": ..., \"config\": {...}}")
    return doc


def _event_entry(name: str) -> Callable[[Any], None]:
    def entry(cloud_event: Any) -> None:
        run(name, pubsub_message(cloud_event))
    entry.__name__ = entry.__qualname__ = deploy.event_entry(name)
    return functions_framework.cloud_event(entry)


def _http_entry(name: str) -> Callable[[Any], Any]:
    def entry(request: Any) -> Any:
        body = request.get_json(silent=True) if request.data else {}
        if body is not None and not isinstance(body, dict):
            body = None
        if body is None:
            return ({"error": {"code": "bad_request", "message": "the body must be a JSON object",
                               "details": None}}, 400)
        try:
            summary = run(name, body)
        except CollectorBug as e:
            return {"error": {"code": e.code, "message": e.message, "details": None}}, 500
        except CloudTallyError as e:
            return e.to_dict(), e.status if 400 <= e.status < 500 else 500
        return {k: summary.get(k) for k in SUMMARY_KEYS}, 200
    entry.__name__ = entry.__qualname__ = deploy.http_entry(name)
    return functions_framework.http(entry)


def define(placements: list[Any]) -> dict[str, tuple[Callable[..., Any], Callable[..., Any]]]:
    """Define both entry points of each placement as module attributes; {collector: (event, http)}."""
    out = {}
    for p in placements:
        ev, ht = _event_entry(p.name), _http_entry(p.name)
        globals()[ev.__name__] = ev
        globals()[ht.__name__] = ht
        out[p.name] = (ev, ht)
    return out


ENTRY_POINTS = define(deploy.placements(deployment.load(root=HERE) if (HERE / deployment.DEFAULT_FILE).is_file()
                                        else None))
