"""``SaaSServicesTelemetryAgent``: the OpenFinOps SaaS agent API on top of the SaaS collectors.

Same constructor (``SaaSServicesTelemetryAgent(openfinops_endpoint, config_file)``), methods
(``register_agent``, ``collect_telemetry_data``, ``send_telemetry_data``, ``run_once``,
``run_continuous(interval_seconds=3600)``), config file keys (``mongodb_atlas``, ``redis_cloud``,
``github_actions``, ``datadog``, each with ``enabled`` and its credentials) and ``agent.collectors``
extension list as the OpenFinOps documentation. Each enabled service runs its CloudTally collector
(``atlas``, ``redis-cloud``, ``github``, ``datadog``) over the collector's trailing window and the agent
posts the resulting FOCUS records to ``POST /v1/records`` (billed where the vendor bills; ids are
deterministic, so every cycle replaces the previous one's figures instead of adding to them) and the
usage metric points to ``/api/v1/telemetry/ingest``. One service failing (a wrong key) is reported for
that service; the others are sent.

Environment variables override the file: ``MONGODB_ATLAS_PUBLIC_KEY``, ``MONGODB_ATLAS_PRIVATE_KEY``,
``MONGODB_ATLAS_CLIENT_ID``, ``MONGODB_ATLAS_CLIENT_SECRET``, ``MONGODB_ATLAS_ORG_ID``,
``MONGODB_ATLAS_PROJECT_ID``, ``REDIS_CLOUD_API_KEY``, ``REDIS_CLOUD_SECRET_KEY``, ``GITHUB_TOKEN``,
``GITHUB_ORG``, ``DATADOG_API_KEY`` (or ``DD_API_KEY``), ``DATADOG_APP_KEY`` (or ``DD_APP_KEY``),
``DATADOG_SITE`` (or ``DD_SITE``). A printed config (``repr``, ``--print-config``, logs) shows secrets as
``***``.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping

from . import saas_structures
from ..client import Client
from ..errors import CloudTallyError, ConfigError
from ..focus import UTC, CostRecord, MetricPoint, day_floor
from ..money import CONTEXT, ZERO
from .base import AGENT_VERSION, TelemetryAgent, agent_parser, run_cli  # noqa: F401 (AGENT_VERSION: re-export)

log = logging.getLogger("cloudtally.agents.saas")
REDACTED = "***"

# OpenFinOps service key -> (collector, {config key: (env vars...)}, secret keys)
SERVICES: dict[str, tuple[str, dict[str, tuple[str, ...]], tuple[str, ...]]] = {
    "mongodb_atlas": ("atlas", {"public_key": ("MONGODB_ATLAS_PUBLIC_KEY",), "private_key": ("MONGODB_ATLAS_PRIVATE_KEY",),
                                "client_id": ("MONGODB_ATLAS_CLIENT_ID",), "client_secret": ("MONGODB_ATLAS_CLIENT_SECRET",),
                                "org_id": ("MONGODB_ATLAS_ORG_ID",), "project_id": ("MONGODB_ATLAS_PROJECT_ID",)},
                      ("private_key", "client_secret")),
    "redis_cloud": ("redis-cloud", {"api_key": ("REDIS_CLOUD_API_KEY",), "secret_key": ("REDIS_CLOUD_SECRET_KEY",),
                                    "account_id": ("REDIS_CLOUD_ACCOUNT_ID",)}, ("api_key", "secret_key")),
    "github_actions": ("github", {"token": ("GITHUB_TOKEN",), "org_name": ("GITHUB_ORG",)}, ("token",)),
    "datadog": ("datadog", {"api_key": ("DATADOG_API_KEY", "DD_API_KEY"), "app_key": ("DATADOG_APP_KEY", "DD_APP_KEY"),
                            "site": ("DATADOG_SITE", "DD_SITE")}, ("api_key", "app_key")),
}

TEMPLATE = """\
// CloudTally SaaS services agent configuration (the OpenFinOps saas_services_telemetry_agent keys).
// Lines starting with // are comments. Environment variables override these values:
//   MONGODB_ATLAS_PUBLIC_KEY / MONGODB_ATLAS_PRIVATE_KEY (or MONGODB_ATLAS_CLIENT_ID / _CLIENT_SECRET),
//   MONGODB_ATLAS_ORG_ID, REDIS_CLOUD_API_KEY / REDIS_CLOUD_SECRET_KEY, GITHUB_TOKEN, GITHUB_ORG,
//   DATADOG_API_KEY / DATADOG_APP_KEY (or DD_API_KEY / DD_APP_KEY), DATADOG_SITE.
// Prefer the variables (or a secret store) to keys in this file; keep the file readable by you only.
{
  // MongoDB Atlas: an organisation's invoices and clusters. A service account (client_id/client_secret,
  // OAuth) is recommended; programmatic API keys (public_key/private_key, HTTP Digest) work too.
  // The key needs Organization Billing Viewer (invoices) and Project Read Only (clusters).
  "mongodb_atlas": {
    "enabled": false,
    "public_key": "your_public_key",
    "private_key": "your_private_key",
    "org_id": "your_24_hex_digit_organization_id",
    "project_id": ""
  },
  // Redis Cloud: account key and user (secret) key; enable the API in the console first.
  "redis_cloud": {
    "enabled": false,
    "api_key": "your_api_key",
    "secret_key": "your_secret_key",
    "account_id": ""
  },
  // GitHub: the enhanced billing usage report of an organisation (Actions, Packages, storage, Copilot).
  // Token: fine-grained with the organisation's "Administration: read", or classic with admin:org.
  "github_actions": {
    "enabled": false,
    "token": "ghp_your_token",
    "org_name": "your_organization"
  },
  // Datadog: usage metering of the parent organisation (application key with usage_read, billing_read);
  // site: datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com ...
  "datadog": {
    "enabled": false,
    "api_key": "your_api_key",
    "app_key": "your_app_key",
    "site": "datadoghq.com"
  }
}
"""


def write_template(path: str | Path) -> Path:
    """``--create-config``: a commented template (refuses to overwrite an existing file)."""
    p = Path(path)
    if p.exists():
        raise ConfigError(f"{p} exists; remove it or choose another name")
    p.write_text(TEMPLATE)
    try:
        p.chmod(0o600)
    except OSError as e:
        log.warning("could not restrict %s to its owner: %s", p, e)
    return p


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def load_config(config_file: str | Path | None, env: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The file's services (JSON; ``//`` comment lines allowed), each overridden by its environment variables."""
    env = os.environ if env is None else env
    doc: dict[str, Any] = {}
    if config_file:
        try:
            doc = json.loads(_strip_comments(Path(config_file).read_text()))
        except FileNotFoundError:
            raise ConfigError(f"config file {config_file} not found (create one with --create-config)") from None
        except ValueError as e:
            raise ConfigError(f"config file {config_file} is not valid JSON: {e}") from None
        if not isinstance(doc, dict):
            raise ConfigError(f"config file {config_file} must hold a JSON object")
    unknown = sorted(set(doc) - set(SERVICES))
    if unknown:
        raise ConfigError(f"config file {config_file}: unknown service(s) {', '.join(unknown)} "
                          f"(known: {', '.join(SERVICES)})")
    out: dict[str, dict[str, Any]] = {}
    for service, (_, keys, _) in SERVICES.items():
        section = dict(doc.get(service) or {})
        if not isinstance(doc.get(service, {}), dict):
            raise ConfigError(f"config file {config_file}: {service} must be an object")
        for key, names in keys.items():
            for n in names:
                if env.get(n):
                    section[key] = env[n]
                    break
        section["enabled"] = bool(section.get("enabled", False))
        out[service] = section
    return out


def redacted(config: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The config with every credential shown as ``***``."""
    out = {}
    for service, section in config.items():
        secret = set(SERVICES.get(service, ("", {}, ()))[2]) | {"private_key", "client_secret", "secret_key", "token",
                                                                  "api_key", "app_key"}
        out[service] = {k: (REDACTED if k in secret and v else v) for k, v in section.items()}
    return out


def collector_setup(service: str, section: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    """(collector name, its config, its secrets' environment) for one OpenFinOps service section."""
    name = SERVICES[service][0]
    cfg: dict[str, Any] = {}
    env: dict[str, str] = {}
    if section.get("base_url"):
        cfg["base_url"] = section["base_url"]
    if service == "mongodb_atlas":
        org = section.get("org_id") or ""
        if not org:
            raise ConfigError("mongodb_atlas needs org_id (or MONGODB_ATLAS_ORG_ID): invoices are per organisation")
        cfg["org_ids"] = [o.strip() for o in str(org).split(",") if o.strip()]
        if section.get("project_id"):
            cfg["project_ids"] = [section["project_id"]]
        if section.get("client_id") and section.get("client_secret"):
            env.update(MONGODB_ATLAS_CLIENT_ID=section["client_id"], MONGODB_ATLAS_CLIENT_SECRET=section["client_secret"])
            cfg["auth"] = "service-account"
        else:
            env.update(MONGODB_ATLAS_PUBLIC_KEY=section.get("public_key") or "",
                       MONGODB_ATLAS_PRIVATE_KEY=section.get("private_key") or "")
            cfg["auth"] = "digest"
    elif service == "redis_cloud":
        env.update(REDIS_CLOUD_API_KEY=section.get("api_key") or "", REDIS_CLOUD_SECRET_KEY=section.get("secret_key") or "")
    elif service == "github_actions":
        if not section.get("org_name"):
            raise ConfigError("github_actions needs org_name (or GITHUB_ORG)")
        cfg["organizations"] = [section["org_name"]]
        env["GITHUB_TOKEN"] = section.get("token") or ""
    elif service == "datadog":
        env.update(DD_API_KEY=section.get("api_key") or "", DD_APP_KEY=section.get("app_key") or "")
        if section.get("site"):
            cfg["site"] = section["site"]
    return name, cfg, {k: v for k, v in env.items() if v}


class SaaSServicesTelemetryAgent(TelemetryAgent):
    """OpenFinOps ``SaaSServicesTelemetryAgent``, backed by the SaaS collectors."""

    agent_type = "saas_services_telemetry"
    cloud_provider = "saas"
    default_interval = 3600

    def __init__(self, openfinops_endpoint: str | None = None, config_file: str | None = None, *,
                 agent_id: str | None = None, api_key_id: str | None = None, api_key_secret: str | None = None,
                 env: Mapping[str, str] | None = None, client: Client | None = None, clock: Any = None,
                 spool_dir: str | None = None):
        super().__init__(openfinops_endpoint, agent_id=agent_id, api_key_id=api_key_id, api_key_secret=api_key_secret,
                         client=client, env=env, clock=clock, spool_dir=spool_dir)
        self.config = load_config(config_file, self.env)
        self.config_file = config_file
        # the docs' extension point: agent.collectors.append(("custom", CustomServiceCollector(...)))
        self.collectors: list[tuple[str, Any]] = []
        self.last_summaries: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"SaaSServicesTelemetryAgent({self.endpoint!r}, config={redacted(self.config)!r})"

    def enabled(self) -> list[str]:
        return [s for s, sec in self.config.items() if sec.get("enabled")]

    def registration(self) -> dict[str, Any]:
        return {"region": "global", "config": {"services": self.enabled()}}

    # ------------------------------------------------------------ OpenFinOps API
    def collect_telemetry_data(self) -> dict[str, Any]:
        """Run every enabled service's collector over its trailing window: records, points, per-service totals."""
        from ..collectors import registry, runner
        from ..collectors.secrets import Secrets

        now = self.now().astimezone(UTC)
        records: list[CostRecord] = []
        metrics: list[MetricPoint] = []
        services: dict[str, Any] = {}
        for service in self.enabled():
            try:
                name, cfg, env = collector_setup(service, self.config[service])
                spec = registry.get(name)
                parsed = spec.parse_config(cfg)
                window = runner.Window(day_floor(now) - timedelta(days=parsed.trailing_days), now)
                sink = runner.ListSink()
                summary = runner.run(spec, sink=sink, config=parsed, now=now, window=window, logger=log,
                                     secrets=Secrets(spec.all_secrets, env=env))
            except CloudTallyError as e:     # a misconfigured service is reported; the others still run
                services[service] = {"service": service, "status": "failed", "error": e.message}
                log.error("%s not collected: %s", service, e.message)
                continue
            self.last_summaries[service] = summary
            recs = list(sink.records.values()) + list(sink.imports.records.values())
            records.extend(recs)
            metrics.extend(sink.metrics)
            totals: dict[str, Any] = {}
            for r in recs:
                k = f"{r.x_CostSource}:{r.BillingCurrency}"
                totals[k] = CONTEXT.add(totals.get(k, ZERO), r.BilledCost)
            services[service] = {"service": service, "status": summary["status"], "records": len(recs),
                                 "total_cost": sum((r.BilledCost for r in recs if r.x_CostSource != "provisional"), ZERO),
                                 "totals": totals, "window": summary["window"],
                                 "failed_scopes": summary["failed_scopes"],
                                 **saas_structures.structure(service, recs, now)}   # the docs' per-service fields
        for name, custom in self.collectors:
            try:
                data = custom.collect_metrics()
            except Exception as e:  # a third party's collector: its failure is logged, the cycle goes on
                log.error("custom collector %s failed: %s: %s", name, type(e).__name__, e)
                services[name] = {"service": name, "status": "failed", "error": f"{type(e).__name__}: {e}"[:300]}
                continue
            services[name] = {"status": "ok", **data}
        return {"agent_id": self.agent_id, "timestamp": int(now.timestamp()), "hostname": self.hostname,
                "cloud_provider": "saas", "services": services, "records": records, "metrics": metrics}

    def send_telemetry_data(self, data: dict[str, Any]) -> bool:
        try:
            res = self.client.send_records(data.get("records") or [])
            points = data.get("metrics") or []
            custom = {k: v for k, v in data.get("services", {}).items() if k not in SERVICES}
            if points or custom:
                self.client.request("POST", "/api/v1/telemetry/ingest", body={
                    "agent_id": self.agent_id, "timestamp": data["timestamp"], "services": {},
                    "metrics": [p.to_dict() for p in points]
                    + [{"name": f"saas.{k}.total_cost", "value": str(v.get("total_cost")), "timestamp": data["timestamp"],
                        "dimensions": {"service": k}} for k, v in custom.items() if v.get("total_cost") is not None]})
        except CloudTallyError as e:
            log.error("telemetry not sent: %s", e.message)
            return False
        if res.rejected:
            log.warning("server rejected %d records: %s", len(res.rejected), res.rejected[:3])
        return not res.rejected

    def failed_scopes(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for service, info in data["services"].items():
            if info.get("status") == "failed":
                out.append({"scope": service, "errors": [info.get("error")]})
            out.extend({**f, "scope": f"{service}:{f['scope']}"} for f in info.get("failed_scopes") or [])
        return out


def add_agent_command(asub: Any) -> None:
    """``cloudtally agent saas ...`` (registered by :mod:`cloudtally.collectors.cli`)."""
    p = agent_parser(asub, "saas", "SaaSServicesTelemetryAgent: MongoDB Atlas, Redis Cloud, GitHub, Datadog",
                     interval=3600)
    p.add_argument("--config", help="JSON config file (the OpenFinOps keys; // comment lines allowed)")
    p.add_argument("--create-config", metavar="FILE", help="write a commented template to FILE and exit")
    p.add_argument("--print-config", action="store_true", help="print the effective config (secrets redacted) and exit")
    p.set_defaults(func=_cli)


def _cli(args: Any) -> int:
    if args.create_config:
        path = write_template(args.create_config)
        print(f"wrote {path}: edit it (or set the environment variables), then run "
              f"cloudtally agent saas --openfinops-endpoint URL --config {path}")
        return 0
    if args.print_config:
        print(json.dumps(redacted(load_config(args.config)), indent=2))
        return 0
    agent = SaaSServicesTelemetryAgent(args.endpoint, args.config, agent_id=args.agent_id, spool_dir=args.spool_dir)
    if not agent.enabled():
        raise ConfigError(f"no service enabled in {args.config or 'the environment'}: set \"enabled\": true")
    return run_cli(agent, once=args.once, interval=args.interval)
