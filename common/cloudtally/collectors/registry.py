"""The collector registry: the one source of truth for infra/, serverless.yml and the function apps.

Each collector module declares a :class:`CollectorSpec` with :func:`register`. :func:`all_specs`
imports the built-in modules in :data:`MODULES` and every ``cloudtally.collectors`` entry point (the
plug-in interface: a third-party package registers its collector without touching CloudTally's
code), and returns their specs. infra/ (CDK), serverless.yml, functions/azure and functions/gcp and
their templates are generated from, or tested against, this registry (tests/contract/).

A spec's ``runtime`` is where its scheduled function runs by default; a deployment may place any
collector on any runtime (:mod:`cloudtally.collectors.deployment`), and the schedule, secrets and
permissions follow the placement.

>>> Schedule.every(hours=1).render("lambda"), Schedule.every(hours=1).render("azure-functions")
('rate(1 hour)', '0 0 * * * *')
>>> Schedule.cron("15 */6 * * *").render("lambda"), Schedule.cron("15 */6 * * *").render("cloud-functions")
('cron(15 */6 * * ? *)', '15 */6 * * *')
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import ConfigError
from .config import CollectorConfig

log = logging.getLogger("cloudtally.collectors")

RUNTIMES = ("lambda", "azure-functions", "cloud-functions", "agent")
# the cloud whose identity a function on that runtime has (its secrets store, its role grants)
RUNTIME_CLOUD = {"lambda": "aws", "azure-functions": "azure", "cloud-functions": "gcp", "agent": None}
ENTRY_POINT_GROUP = "cloudtally.collectors"

# modules that register built-in collectors (imported lazily: listing the registry imports no SDK)
MODULES: list[str] = [
    "cloudtally.providers.gcp.collector",
    "cloudtally.providers.aws.collector",
    "cloudtally.providers.aws.billing_export",
    "cloudtally.providers.azure.collector",
    "cloudtally.providers.azure.billing_export",
    "cloudtally.providers.atlas.collector",
    "cloudtally.providers.redis_cloud.collector",
    "cloudtally.providers.github.collector",
    "cloudtally.providers.datadog.collector",
    "cloudtally.providers.databricks.collector",
    "cloudtally.providers.snowflake.collector",
]

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")


# ---------------------------------------------------------------------------------------------- schedules
_UNIT = {"minutes": 1, "hours": 60, "days": 1440}


@dataclass(frozen=True)
class Schedule:
    """When a collector runs, in UTC: every N minutes/hours/days (aligned to the hour or day, with an
    offset), or a 5-field cron expression (minute hour day-of-month month day-of-week).

    Rendered per runtime: EventBridge ``rate()``/``cron()`` (Lambda), Azure Functions' 6-field NCRONTAB,
    Cloud Scheduler's unix-cron. An interval must divide the hour or the day so the cron forms fire at
    the same instants as the rate.
    """

    every_minutes: int = 0
    offset_minutes: int = 0          # within the interval (e.g. :15 past each hour)
    expr: str = ""                   # 5-field cron, when not an interval

    @classmethod
    def every(cls, *, minutes: int = 0, hours: int = 0, days: int = 0, offset_minutes: int = 0) -> "Schedule":
        s = cls(every_minutes=minutes + 60 * hours + 1440 * days, offset_minutes=offset_minutes)
        s.validate()
        return s

    @classmethod
    def cron(cls, expr: str) -> "Schedule":
        s = cls(expr=" ".join(expr.split()))
        s.validate()
        return s

    @classmethod
    def parse(cls, value: Any) -> "Schedule":
        """From a deployment file: ``"rate(6 hours)"``, ``"cron(15 * * * *)"`` / ``"15 * * * *"`` or
        ``{"every_minutes": 60, "offset_minutes": 15}``."""
        if isinstance(value, Schedule):
            return value
        if isinstance(value, dict):
            try:
                s = cls(every_minutes=int(value.get("every_minutes", 0)),
                        offset_minutes=int(value.get("offset_minutes", 0)), expr=str(value.get("cron", "")))
            except (TypeError, ValueError):
                raise ConfigError(f"invalid schedule {value!r}") from None
            s.validate()
            return s
        if isinstance(value, str):
            m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", value.strip())
            if m:
                n, unit = int(m.group(1)), m.group(2).rstrip("s") + "s"
                return cls.every(**{unit: n})
            m = re.fullmatch(r"cron\((.*)\)", value.strip())
            return cls.cron(m.group(1) if m else value)
        raise ConfigError(f"invalid schedule {value!r}: a rate(...), a cron expression or an object")

    def validate(self) -> None:
        if self.expr:
            parts = self.expr.split()
            if len(parts) != 5 or not all(re.fullmatch(r"[0-9A-Za-z*/,\-?]+", p) for p in parts):
                raise ConfigError(f"schedule cron {self.expr!r}: expected 5 fields (minute hour day month weekday)")
            if parts[2] not in ("*", "?") and parts[4] not in ("*", "?"):
                raise ConfigError(f"schedule cron {self.expr!r}: set day-of-month or day-of-week, not both "
                                  "(EventBridge cannot express both)")
            return
        n = self.every_minutes
        if n <= 0:
            raise ConfigError("schedule: every_minutes must be positive (or give a cron expression)")
        if not (n < 60 and 60 % n == 0 or n % 60 == 0 and n < 1440 and 1440 % n == 0 or n == 1440):
            raise ConfigError(f"schedule every {n} minutes: the interval must divide an hour or a day "
                              "(1-30 minutes dividing 60, 1-12 hours dividing 24, or 1 day)")
        if not 0 <= self.offset_minutes < min(n, 1440) or (n >= 60 and self.offset_minutes >= 60 and n < 1440):
            raise ConfigError(f"schedule offset {self.offset_minutes} minutes: must be below the interval "
                              "(and below 60 for hourly intervals)")

    # ---------------------------------------------------------------- rendering
    def unix_cron(self) -> str:
        """Cloud Scheduler (unix-cron, 5 fields)."""
        if self.expr:
            return self.expr.replace("?", "*")
        n, off = self.every_minutes, self.offset_minutes
        if n < 60:
            return f"{off}-59/{n} * * * *" if off else f"*/{n} * * * *"
        if n < 1440:
            h = n // 60
            return f"{off} * * * *" if h == 1 else f"{off} */{h} * * *"
        return f"{off % 60} {off // 60} * * *"

    def ncrontab(self) -> str:
        """Azure Functions timer trigger (NCRONTAB, 6 fields: second first)."""
        return "0 " + self.unix_cron()

    def eventbridge(self) -> str:
        """EventBridge ``rate()`` for an unshifted interval, else ``cron(min hour dom month dow year)``."""
        if not self.expr and self.offset_minutes == 0:
            n = self.every_minutes
            value, unit = (n, "minute") if n < 60 else (n // 60, "hour") if n < 1440 else (n // 1440, "day")
            return f"rate({value} {unit}{'s' if value != 1 else ''})"
        m, h, dom, mon, dow = self.unix_cron().split()
        if dow == "*":
            dow = "?"
        else:
            dom = "?" if dom == "*" else dom
            dow = re.sub(r"\d", lambda x: str((int(x.group()) % 7) + 1), dow)   # unix SUN=0, EventBridge SUN=1
        return f"cron({m} {h} {dom} {mon} {dow} *)"

    def render(self, runtime: str) -> str:
        if runtime == "lambda":
            return self.eventbridge()
        if runtime == "azure-functions":
            return self.ncrontab()
        if runtime in ("cloud-functions", "agent"):
            return self.unix_cron()
        raise ConfigError(f"unknown runtime {runtime!r}; one of {', '.join(RUNTIMES)}")

    def interval_seconds(self) -> int | None:
        """Seconds between runs for an interval schedule (agents sleep this long); None for cron."""
        return self.every_minutes * 60 if not self.expr else None

    def __str__(self) -> str:
        return self.eventbridge()


# ---------------------------------------------------------------------------------------------- secrets
@dataclass(frozen=True)
class SecretRef:
    """A secret a collector reads, by logical name. Where it lives follows the runtime the collector is
    placed on: Secrets Manager ``cloudtally/<name>`` (Lambda), a Key Vault secret ``cloudtally-<name>``
    referenced from an app setting (Azure Functions), Secret Manager ``cloudtally-<name>`` exposed as an
    environment variable (Cloud Functions). ``env`` names variables that may hold it directly (local runs,
    agents); ``fields`` the keys of its JSON value."""

    name: str
    description: str = ""
    env: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()

    @property
    def aws_name(self) -> str:
        return f"cloudtally/{self.name}"

    @property
    def keyvault_name(self) -> str:
        return f"cloudtally-{self.name}"

    @property
    def gcp_name(self) -> str:
        return f"cloudtally-{self.name}"

    @property
    def env_var(self) -> str:
        """The app setting / environment variable a platform injects it as: ``CLOUDTALLY_SECRET_<NAME>``."""
        return "CLOUDTALLY_SECRET_" + re.sub(r"[^A-Z0-9]", "_", self.name.upper())

    def location(self, runtime: str) -> str:
        cloud = RUNTIME_CLOUD.get(runtime)
        return {"aws": self.aws_name, "azure": self.keyvault_name, "gcp": self.gcp_name}.get(cloud or "", self.env_var)


# every scheduled function posts with an ingest key; collectors add their own credentials
INGEST_KEY = SecretRef("ingest-api-key", "CloudTally ingest API key: JSON {\"key_id\", \"key_secret\"}",
                       env=("CLOUDTALLY_API_KEY_ID", "CLOUDTALLY_API_KEY_SECRET"), fields=("key_id", "key_secret"))


# ---------------------------------------------------------------------------------------------- permissions
@dataclass(frozen=True)
class Permissions:
    """What a collector's provider calls need, per cloud: exact AWS IAM actions, Azure built-in role
    names, GCP role ids. The deploy of the runtime the collector is placed on grants those of its own
    cloud to the function's identity (and its secrets' read access); the others are rendered as
    documents to grant to the identity whose credentials the collector is given."""

    aws: tuple[str, ...] = ()
    azure: tuple[str, ...] = ()
    gcp: tuple[str, ...] = ()

    def for_cloud(self, cloud: str) -> tuple[str, ...]:
        return getattr(self, cloud, ())

    def validate(self, name: str) -> None:
        for a in self.aws:
            svc, _, op = a.partition(":")
            if not svc or not op or "*" in a:
                raise ConfigError(f"collector {name}: IAM action {a!r} is a wildcard or malformed")
        for r in self.gcp:
            if not r.startswith("roles/") or "*" in r:
                raise ConfigError(f"collector {name}: GCP role {r!r} must be a role id (roles/...)")
        for r in self.azure:
            if not r or "*" in r or r.lower() in ("owner", "contributor"):
                raise ConfigError(f"collector {name}: Azure role {r!r} is not a least-privilege read role")


# ---------------------------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class CollectorSpec:
    name: str                                   # unique, [a-z0-9-]
    provider: str                               # catalog and taxonomy key: aws, azure, gcp, databricks, ...
    module: str                                 # module holding collect(ctx) and make_clients(config)
    schedule: Schedule
    runtime: str = "lambda"                     # default runtime; a deployment may place it elsewhere
    config: type[CollectorConfig] = CollectorConfig
    sdk_extra: str = ""                         # the pyproject extra its function installs
    description: str = ""
    permissions: Permissions = field(default_factory=Permissions)
    secrets: tuple[SecretRef, ...] = ()         # beyond the ingest key every collector has
    prices: tuple[str, ...] = ()                # catalog services it estimates with (empty: billed only)
    fixtures: str = ""                          # recorded responses: tests/fixtures/<this> (or the plug-in's)
    errors: str = ""                            # "module:function" mapping SDK exceptions to ProviderError
    memory_mb: int = 512
    timeout_s: int = 300
    # modules it imports lazily at run time (the artifact builds import them in a clean venv)
    runtime_modules: tuple[str, ...] = ("cloudtally.collectors.delivery", "cloudtally.collectors.api_state")
    plugin: str | None = None                   # distribution name, for entry-point plug-ins

    def load(self) -> Callable[..., Any]:
        return getattr(importlib.import_module(self.module), "collect")

    @property
    def all_secrets(self) -> tuple[SecretRef, ...]:
        return (INGEST_KEY,) + tuple(s for s in self.secrets if s.name != INGEST_KEY.name)

    def default_config(self) -> CollectorConfig:
        return self.config.parse({})

    def parse_config(self, data: dict[str, Any] | None) -> CollectorConfig:
        try:
            return self.config.parse(data)
        except ConfigError as e:
            raise ConfigError(f"collector {self.name}: {e.message}", details=e.details) from None

    def error_mapper(self) -> Callable[[BaseException], Any] | None:
        if not self.errors:
            return None
        mod, _, fn = self.errors.partition(":")
        return getattr(importlib.import_module(mod), fn)

    def validate(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(f"collector name {self.name!r}: 3-40 of [a-z0-9-], starting with a letter")
        if self.runtime not in RUNTIMES:
            raise ConfigError(f"collector {self.name}: runtime must be one of {RUNTIMES}")
        if not isinstance(self.schedule, Schedule):
            raise ConfigError(f"collector {self.name}: schedule must be a Schedule")
        self.schedule.validate()
        if not (isinstance(self.config, type) and issubclass(self.config, CollectorConfig)):
            raise ConfigError(f"collector {self.name}: config must be a CollectorConfig dataclass")
        self.permissions.validate(self.name)

    def show(self) -> dict[str, Any]:
        """Everything about the collector, printable (secrets are references, config redacted)."""
        return {"name": self.name, "provider": self.provider, "runtime": self.runtime,
                "schedule": {r: self.schedule.render(r) for r in RUNTIMES if r != "agent"},
                "module": self.module, "sdk_extra": self.sdk_extra, "description": self.description,
                "config": self.default_config().redacted(), "settings": self.config.describe(),
                "permissions": {"aws": list(self.permissions.aws), "azure": list(self.permissions.azure),
                                "gcp": list(self.permissions.gcp)},
                "secrets": [{"name": s.name, "description": s.description,
                             "locations": {r: s.location(r) for r in RUNTIMES}} for s in self.all_secrets],
                "prices": list(self.prices), "plugin": self.plugin}


_SPECS: dict[str, CollectorSpec] = {}
_LOADED = False


def register(spec: CollectorSpec) -> CollectorSpec:
    spec.validate()
    existing = _SPECS.get(spec.name)
    if existing is not None and existing != spec:
        raise ConfigError(f"collector {spec.name} registered twice with different specs")
    _SPECS[spec.name] = spec
    return spec


def _load_entry_points() -> None:
    from importlib import metadata   # lazy: a collector function's cold start does not scan distributions
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        obj = ep.load()
        spec = getattr(obj, "SPEC", obj)
        if not isinstance(spec, CollectorSpec):
            raise ConfigError(f"entry point {ep.name} = {ep.value} in {ENTRY_POINT_GROUP}: expected a "
                              "CollectorSpec (or a module with SPEC)")
        if spec.plugin is None:
            dist = getattr(ep, "dist", None)
            object.__setattr__(spec, "plugin", dist.name if dist is not None else ep.value)
        register(spec)


def all_specs(*, plugins: bool = True) -> list[CollectorSpec]:
    """Every registered collector: the built-ins and (``plugins=True``) the entry-point plug-ins (scanned once
    per process: the installed distributions do not change under a running function)."""
    global _LOADED
    for m in MODULES:
        importlib.import_module(m)
    if plugins and not _LOADED:
        _load_entry_points()
        _LOADED = True
    specs = _SPECS.values() if plugins else [s for s in _SPECS.values() if s.plugin is None]
    return sorted(specs, key=lambda s: s.name)


def get(name: str) -> CollectorSpec:
    for s in all_specs():
        if s.name == name:
            return s
    raise ConfigError(f"no collector named {name!r}; known: {', '.join(s.name for s in all_specs())}",
                      code="unknown_collector")
