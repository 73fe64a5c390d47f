"""The Azure Functions app (Python v2 programming model): one timer trigger per collector placed on Azure Functions.

The functions are listed in ``collectors.json`` (generated from the registry by ``cloudtally azure render``:
name and 6-field NCRONTAB schedule); each one only parses its trigger, calls the shared runtime
(:func:`cloudtally.collectors.function.run_collector`, the same code as the Lambda handler and
``cloudtally collect``) and logs the run summary. Everything comes from app settings: ``CLOUDTALLY_API_URL``,
the ingest key and the collectors' secrets as ``CLOUDTALLY_SECRET_<NAME>`` (Key Vault references resolved by the
platform), each collector's config as ``CLOUDTALLY_COLLECTOR_CONFIG_<NAME>`` (JSON); Azure credentials from the
managed identity (``AZURE_CLIENT_ID``). No table access: records and state go through the API.

A past-due timer (the app was down or busy at the scheduled time) still runs once: the window starts at each
scope's cursor, so the one run backfills every missed one, and the summary says ``past_due``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping

import azure.functions as func

MANIFEST = Path(__file__).with_name("collectors.json")
log = logging.getLogger("cloudtally.functions.azure")


def run(collector: str, timer: Any, *, config_setting: str | None = None, env: Mapping[str, str] | None = None,
        clients: Any = None, now: Any = None) -> dict[str, Any]:
    """One timer firing: the collector's run summary (also logged)."""
    from cloudtally.collectors.function import config_overrides, run_collector

    env = os.environ if env is None else env
    config = config_overrides(env, setting=config_setting) if config_setting else {}
    past_due = bool(getattr(timer, "past_due", False))
    if past_due:
        log.warning("timer of collector %s is past due: this run backfills the missed runs from the cursors", collector)
    summary = run_collector(collector, env=env, event_config=config, clients=clients, now=now, logger=log)
    summary["past_due"] = past_due
    log.info("collector run finished: %s", json.dumps({k: summary.get(k) for k in (
        "collector", "status", "records_sent", "metrics_sent", "failed_scopes", "api_calls", "api_requests",
        "duration_s", "past_due")}, default=str))
    return summary


def _timer(entry: dict[str, Any]):
    def timer(timer: func.TimerRequest) -> None:
        run(entry["collector"], timer, config_setting=entry.get("config_setting"))
    timer.__name__ = entry["function"].replace("-", "_")
    timer.__qualname__ = timer.__name__
    return timer


def build_app(manifest: dict[str, Any]) -> func.FunctionApp:
    """A FunctionApp with one timer trigger per manifest entry."""
    app = func.FunctionApp()
    for entry in manifest["functions"]:
        app.function_name(name=entry["function"])(
            app.timer_trigger(arg_name="timer", schedule=entry["schedule"], run_on_startup=False,
                              use_monitor=True)(_timer(entry)))
    return app


app = build_app(json.loads(MANIFEST.read_text()))
