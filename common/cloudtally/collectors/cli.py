"""``cloudtally collect <name> --once`` and ``cloudtally agent aws ...``: the same code as the functions."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from .. import config as ct_config
from ..errors import ConfigError

ENV_STATUS_FILE = "CLOUDTALLY_COLLECTOR_STATUS_FILE"


def add_commands(sub: Any) -> None:
    c = sub.add_parser("collectors", help="the collector registry: list, show one (redacted), check the contract")
    csub = c.add_subparsers(dest="collectors_cmd", required=True)
    csub.add_parser("list", help="every registered collector (built-in and plug-in)").set_defaults(func=_list)
    sh = csub.add_parser("show", help="one collector: runtime, schedule per runtime, settings, permissions, "
                                      "secrets (config printed with secrets redacted)")
    sh.add_argument("name")
    sh.add_argument("--config", help="JSON file with config overrides to validate and show (redacted)")
    sh.set_defaults(func=_show)
    ck = csub.add_parser("check", help="the collector contract (fixtures, replay, permissions, docs, deploy)")
    ck.add_argument("name", nargs="?")
    ck.set_defaults(func=_check)

    p = sub.add_parser("collect", help="run a collector once (the scheduled function runs the same code)")
    p.add_argument("collector", help="collector name from the registry, e.g. aws")
    p.add_argument("--once", action="store_true", required=True, help="run one collection and exit")
    p.add_argument("--region", action="append", dest="regions", help="region to inventory (repeatable)")
    p.add_argument("--config", help="JSON file with collector config (overrides the registry defaults)")
    p.add_argument("--api-url", default=os.environ.get(ct_config.ENV_API_URL), help="CloudTally API URL")
    p.add_argument("--status", choices=("api", "file", "store"), default=None,
                   help="where status, cursors and day ledgers live: the API (default when an API URL is set, as "
                        "every scheduled function does), a local file, or the table directly (store)")
    p.add_argument("--status-file", default=os.environ.get(ENV_STATUS_FILE) or
                   os.path.join(os.path.expanduser("~"), ".cloudtally", "collector-status.json"))
    p.set_defaults(func=_collect)

    a = sub.add_parser("agent", help="OpenFinOps-compatible telemetry agents")
    asub = a.add_subparsers(dest="agent", metavar="PROVIDER", required=True)
    from ..agents.gcp_telemetry_agent import add_agent_command as add_gcp_agent
    add_gcp_agent(asub)
    from ..agents.base import agent_parser
    aws = agent_parser(asub, "aws", "AWSTelemetryAgent: EC2, EKS, Lambda, RDS, S3 hourly cost")
    aws.add_argument("--aws-region", "--region", dest="region", default=os.environ.get("AWS_REGION", "us-east-1"))
    aws.set_defaults(func=_agent_aws)
    from ..agents.saas_services_telemetry_agent import add_agent_command as add_saas_agent
    add_saas_agent(asub)
    from ..agents.databricks_telemetry_agent import add_agent_command as add_databricks_agent
    from ..agents.snowflake_telemetry_agent import add_agent_command as add_snowflake_agent
    add_databricks_agent(asub)
    add_snowflake_agent(asub)
    from ..agents.azure_telemetry_agent import add_agent_command as add_azure_agent
    add_azure_agent(asub)
    from ..agents.generic_telemetry_agent import add_agent_command as add_generic_agent
    add_generic_agent(asub)


def _collect(args: argparse.Namespace) -> int:
    from ..client import Client
    from ..errors import CollectorBug
    from ..money import dumps
    from . import registry, runner
    from .api_state import ApiStatus

    spec = registry.get(args.collector)
    cfg: dict[str, Any] = {}
    if args.config:
        with open(args.config) as f:
            cfg = json.load(f)
        if not isinstance(cfg, dict):
            raise ConfigError(f"{args.config} must hold a JSON object")
    if args.regions:
        cfg["regions"] = args.regions
    kid, sec = os.environ.get(ct_config.ENV_API_KEY_ID, ""), os.environ.get(ct_config.ENV_API_KEY_SECRET, "")
    if not kid or not sec:
        raise ConfigError(f"set {ct_config.ENV_API_KEY_ID} and {ct_config.ENV_API_KEY_SECRET}")
    client = Client(args.api_url or "", kid, sec)
    mode = args.status or ("api" if args.api_url else "file")
    if mode == "api":
        status: Any = ApiStatus(client)
    elif mode == "store":
        from ..store import Store
        status = Store(ct_config.load_settings())
    else:
        status = runner.FileStatus(args.status_file)
    sink = runner.ClientSink(client, agent_id=f"collector-{spec.name}")
    try:
        summary = runner.run(spec, sink=sink, config=cfg, status=status)
    except CollectorBug as e:
        print(dumps(e.summary, indent=1))
        raise
    print(dumps(summary, indent=1))
    return 1 if summary["failed_scopes"] or summary["errors"] else 0


def _agent_aws(args: argparse.Namespace) -> int:
    from ..agents import AWSTelemetryAgent
    from ..agents.base import run_cli

    agent = AWSTelemetryAgent(openfinops_endpoint=args.endpoint, aws_region=args.region, agent_id=args.agent_id,
                              spool_dir=args.spool_dir)
    return run_cli(agent, once=args.once, interval=args.interval)


def _list(args: argparse.Namespace) -> int:
    from . import registry
    for s in registry.all_specs():
        print(f"{s.name:24s} {s.provider:12s} {s.runtime:16s} {s.schedule.render(s.runtime):24s} "
              f"{s.plugin or 'built-in'}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from ..money import dumps
    from . import registry
    spec = registry.get(args.name)
    out = spec.show()
    if args.config:
        with open(args.config) as f:
            doc = json.load(f)
        out["config"] = spec.parse_config(doc).redacted()
    print(dumps(out, indent=1))
    return 0


def _check(args: argparse.Namespace) -> int:
    from . import contract, registry
    specs = [registry.get(args.name)] if args.name else registry.all_specs()
    bad = 0
    for spec in specs:
        problems = contract.check(spec)
        bad += bool(problems)
        print(f"{spec.name}: {'ok' if not problems else 'FAILS'}")
        for p in problems:
            print(f"  - {p}")
    return 1 if bad else 0
