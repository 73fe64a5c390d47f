"""What the OpenFinOps agent scripts of this folder share: each is a thin wrapper of a CloudTally agent.

``from agents.aws_telemetry_agent import AWSTelemetryAgent`` gives :class:`cloudtally.agents.AWSTelemetryAgent`
(imported on first use, so importing one script never imports another cloud's SDK), and
``python agents/aws_telemetry_agent.py --openfinops-endpoint URL --interval 300`` runs
``cloudtally agent aws --openfinops-endpoint URL --interval 300``. The environment of the docs' containers
works too: ``OPENFINOPS_ENDPOINT`` (the server URL) and ``COLLECTION_INTERVAL`` (seconds, when no
``--interval`` is given); the API key comes from ``CLOUDTALLY_API_KEY_ID`` / ``CLOUDTALLY_API_KEY_SECRET``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, Callable, Sequence

# script name -> (CloudTally module, class, `cloudtally agent` subcommand, what provides it)
AGENTS: dict[str, tuple[str, str, str, str]] = {
    "aws_telemetry_agent": ("cloudtally.agents.aws_telemetry_agent", "AWSTelemetryAgent", "aws", "the AWS agent"),
    "azure_telemetry_agent": ("cloudtally.agents.azure_telemetry_agent", "AzureTelemetryAgent", "azure",
                              "the Azure agent (issue 14)"),
    "gcp_telemetry_agent": ("cloudtally.agents.gcp_telemetry_agent", "GCPTelemetryAgent", "gcp",
                            "the GCP agent (issue 15)"),
    "databricks_telemetry_agent": ("cloudtally.agents.databricks_telemetry_agent", "DatabricksTelemetryAgent",
                                   "databricks", "the Databricks agent (issue 16)"),
    "snowflake_telemetry_agent": ("cloudtally.agents.snowflake_telemetry_agent", "SnowflakeTelemetryAgent",
                                  "snowflake", "the Snowflake agent (issue 16)"),
    "saas_services_telemetry_agent": ("cloudtally.agents.saas_services_telemetry_agent", "SaaSServicesTelemetryAgent",
                                      "saas", "the SaaS services agent"),
    "generic_telemetry_agent": ("cloudtally.agents.generic_telemetry_agent", "GenericTelemetryAgent", "generic",
                                "the generic agent (issue 18)"),
}
ENV_INTERVAL = "COLLECTION_INTERVAL"


class AgentNotInstalled(ImportError):
    """The CloudTally in use has no module for this agent (an older or partial installation)."""


def missing(script: str) -> str | None:
    """Why ``script``'s agent cannot be used here (the module that is missing), or None when it can."""
    module, cls, _, what = AGENTS[script]
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if found:
        return None
    return (f"{module} is not in the installed CloudTally ({what}; agents/{script}.py wraps its {cls}): "
            "install a CloudTally that has it")


def load(script: str) -> type:
    module, cls, _, _ = AGENTS[script]
    why = missing(script)
    if why:
        raise AgentNotInstalled(why, name=module)
    return getattr(importlib.import_module(module), cls)


def lazy(script: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving the agent class (and the CloudTally module's other names) on first use."""
    module, cls, _, _ = AGENTS[script]

    def __getattr__(name: str) -> Any:
        if name == cls:
            return load(script)
        if name.startswith("__"):
            raise AttributeError(name)
        load(script)
        try:
            return getattr(importlib.import_module(module), name)
        except AttributeError:
            raise AttributeError(f"module 'agents.{script}' has no attribute {name!r}") from None

    return __getattr__


def argv_with_env(argv: Sequence[str], env: dict[str, str] | None = None) -> list[str]:
    """``argv`` plus ``--interval $COLLECTION_INTERVAL`` when the environment sets it and argv does not."""
    env = os.environ if env is None else env
    args = list(argv)
    interval = (env.get(ENV_INTERVAL) or "").strip()
    if interval and not any(a == "--interval" or a.startswith("--interval=") for a in args):
        if not interval.isdigit():
            raise SystemExit(f"error: {ENV_INTERVAL}={interval!r}: expected whole seconds")
        args += ["--interval", interval]
    return args


def main(script: str, argv: Sequence[str] | None = None) -> int:
    """``python agents/<script>.py ARGS`` = ``cloudtally agent <subcommand> ARGS``."""
    why = missing(script)
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 2
    from cloudtally import cli
    sub = AGENTS[script][2]
    args = argv_with_env(sys.argv[1:] if argv is None else argv)
    return cli.main(["agent", sub, *args])
