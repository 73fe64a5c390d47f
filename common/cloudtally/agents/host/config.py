"""The host agent's configuration: a YAML file with the TelemetryFlow hierarchy, the ``TELEMETRYFLOW_*``
environment variables over it, typed and validated at start (a bad value names its key).

    telemetryflow: endpoint, protocol (http), tls {enabled, insecure_skip_verify, ca_file},
                   retry {max_attempts, initial_interval, max_interval, multiplier},
                   api_key_id, api_key_secret, environment
    agent:         id, name, tags, time_scale
    heartbeat:     enabled, interval, timeout, path
    collectors:    system {enabled, interval, cpu, memory, disk, network, per_core, host_root},
                   process {enabled}, gpu {enabled}, cloud_metadata {enabled, timeout, endpoints}, logs {enabled}
    exporter:      format (otlp | cloudtally-json), path, compression (gzip | none), flush_interval,
                   batch_size, linger, timeout, headers
    buffer:        path, max_memory_mb, max_disk_mb, durable
    logging:       level, format (text | json), file

Durations are seconds or ``"500ms"``, ``"15s"``, ``"5m"``, ``"1h"``.

>>> cfg = load(None, env={"TELEMETRYFLOW_ENDPOINT": "api.example:8080", "TELEMETRYFLOW_API_KEY_SECRET": "cts_s"})
>>> cfg.telemetryflow.endpoint, cfg.collectors.system.interval, cfg.exporter.flush_interval, cfg.exporter.batch_size
('http://api.example:8080', 15.0, 10.0, 100)
>>> redacted(cfg)["telemetryflow"]["api_key_secret"]
'***'
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ...errors import ConfigError

REDACTED = "***"
DEFAULT_FILE = "/etc/cloudtally/agent.yaml"
ENV = {  # variable -> (section, key): the seed's shared and agent-specific variables
    "TELEMETRYFLOW_API_KEY_ID": ("telemetryflow", "api_key_id"),
    "TELEMETRYFLOW_API_KEY_SECRET": ("telemetryflow", "api_key_secret"),
    "TELEMETRYFLOW_ENDPOINT": ("telemetryflow", "endpoint"),
    "TELEMETRYFLOW_ENVIRONMENT": ("telemetryflow", "environment"),
    "TELEMETRYFLOW_AGENT_ID": ("agent", "id"),
    "TELEMETRYFLOW_AGENT_NAME": ("agent", "name"),
}
# CloudTally's own key variables, used when the TelemetryFlow ones are not set
FALLBACK_ENV = {"CLOUDTALLY_API_KEY_ID": ("telemetryflow", "api_key_id"),
                "CLOUDTALLY_API_KEY_SECRET": ("telemetryflow", "api_key_secret"),
                "CLOUDTALLY_API_URL": ("telemetryflow", "endpoint")}


def _secret() -> Any:
    return field(default="", metadata={"secret": True})


@dataclass
class TLS:
    enabled: bool = False
    insecure_skip_verify: bool = False
    ca_file: str = ""


@dataclass
class Retry:
    max_attempts: int = 5              # attempts of one flush; a batch still failing waits for the next flush
    initial_interval: float = 1.0
    max_interval: float = 60.0
    multiplier: float = 2.0


@dataclass
class TelemetryFlow:
    endpoint: str = "http://localhost:8080"
    protocol: str = "http"
    tls: TLS = field(default_factory=TLS)
    retry: Retry = field(default_factory=Retry)
    api_key_id: str = ""
    api_key_secret: str = _secret()
    environment: str = "production"


@dataclass
class Agent:
    id: str = ""                        # default: a UUID kept in the buffer folder (stable across restarts)
    name: str = ""                      # default: the host name
    tags: dict[str, str] = field(default_factory=dict)
    time_scale: float = 1.0             # > 1 compresses time (tests, demos): intervals shrink, the clock runs faster


@dataclass
class Heartbeat:
    enabled: bool = True
    interval: float = 60.0
    timeout: float = 10.0
    path: str = "/agents/{agentId}/heartbeat"


@dataclass
class SystemCollector:
    enabled: bool = True
    interval: float = 15.0
    cpu: bool = True
    memory: bool = True
    disk: bool = True
    network: bool = True
    per_core: bool = False              # per-core utilisation as metric points (always in systemInfo)
    host_root: str = ""                 # the host's / mounted in a container (a DaemonSet: /host): its /proc, disk


@dataclass
class Toggle:
    enabled: bool = True


@dataclass
class CloudMetadata:
    enabled: bool = True
    timeout: float = 0.3
    endpoints: dict[str, str] = field(default_factory=dict)   # aws / gcp / azure base URLs (tests, proxies)


@dataclass
class Collectors:
    system: SystemCollector = field(default_factory=SystemCollector)
    process: Toggle = field(default_factory=Toggle)
    gpu: Toggle = field(default_factory=Toggle)
    cloud_metadata: CloudMetadata = field(default_factory=CloudMetadata)
    logs: Toggle = field(default_factory=lambda: Toggle(False))


@dataclass
class Exporter:
    format: str = "otlp"                # otlp (OTLP/HTTP protobuf) | cloudtally-json
    path: str = ""                      # default /otlp/v1/metrics (CloudTally); /v1/metrics for an OTel collector
    compression: str = "gzip"
    flush_interval: float = 10.0
    batch_size: int = 100               # collections (each a snapshot of every series) per request
    linger: float = 900.0               # a partial batch waits this long for more collections: a series' points
                                        # then land together, 0.04 WRU a point instead of ~1.5 (README)
    timeout: float = 30.0
    headers: dict[str, str] = field(default_factory=dict, metadata={"secret": True})


@dataclass
class Buffer:
    path: str = "/var/lib/cloudtally-agent"
    max_memory_mb: float = 16.0
    max_disk_mb: float = 256.0
    durable: bool = True                # every collection on disk at once (survives SIGKILL); False: only spills


@dataclass
class Logging:
    level: str = "info"
    format: str = "text"
    file: str = ""


@dataclass
class Config:
    telemetryflow: TelemetryFlow = field(default_factory=TelemetryFlow)
    agent: Agent = field(default_factory=Agent)
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    collectors: Collectors = field(default_factory=Collectors)
    exporter: Exporter = field(default_factory=Exporter)
    buffer: Buffer = field(default_factory=Buffer)
    logging: Logging = field(default_factory=Logging)

    @property
    def export_path(self) -> str:
        return self.exporter.path or ("/otlp/v1/metrics" if self.exporter.format == "otlp"
                                      else "/api/v1/telemetry/ingest")


_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?\s*$")
DURATIONS = {"interval", "timeout", "initial_interval", "max_interval", "flush_interval", "linger"}


def duration(value: Any, where: str) -> float:
    """Seconds from ``15``, ``"15s"``, ``"500ms"``, ``"5m"``, ``"1h"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    m = _DURATION.match(str(value)) if isinstance(value, str) else None
    if not m:
        raise ConfigError(f"{where}: expected a duration such as 15s, 500ms, 5m or 1h, got {str(value)[:40]!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def _coerce(value: Any, typ: Any, where: str, name: str) -> Any:
    if dataclasses.is_dataclass(typ):
        if value is None:
            return typ()
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping")
        return _build(typ, value, where)
    if typ is bool or typ == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{where}: expected true or false, got {str(value)[:40]!r}")
    if typ is float or typ == "float":
        if name in DURATIONS:
            return duration(value, where)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {str(value)[:40]!r}") from None
    if typ is int or typ == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
            raise ConfigError(f"{where}: expected a whole number, got {str(value)[:40]!r}")
        return int(value)
    if typ is str or typ == "str":
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected a string")
        return str(value)
    # dict[str, str]
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{where}: expected a mapping of names to values")
    return {k: "" if v is None else str(v) for k, v in value.items()}


def _build(cls: type, doc: Mapping[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(doc) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(str, unknown))} (known: {', '.join(fields)})")
    kw = {}
    hints = {f.name: f.type for f in dataclasses.fields(cls)}
    for name, value in doc.items():
        typ = hints[name]
        resolved = _TYPES.get(typ, typ) if isinstance(typ, str) else typ
        kw[name] = _coerce(value, resolved, f"{where}.{name}" if where else name, name)
    return cls(**kw)


_TYPES: dict[str, Any] = {"bool": bool, "float": float, "int": int, "str": str, "dict[str, str]": dict,
                          **{c.__name__: c for c in (TLS, Retry, TelemetryFlow, Agent, Heartbeat, SystemCollector,
                                                      Toggle, CloudMetadata, Collectors, Exporter, Buffer, Logging)}}


def _read(path: str | Path) -> dict[str, Any]:
    import yaml
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {str(e)[:200]}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"config file {path} must hold a mapping (telemetryflow:, agent:, ...)")
    return doc


def _section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    sec = doc.setdefault(name, {})
    if sec is None:
        sec = doc[name] = {}
    if not isinstance(sec, dict):
        raise ConfigError(f"{name}: expected a mapping")
    return sec


def load(path: str | Path | None, env: Mapping[str, str] | None = None) -> Config:
    """The file (if any), then the environment variables, then validation."""
    env = os.environ if env is None else env
    doc = _read(path) if path else {}
    for var, (section, key) in ENV.items():
        if env.get(var):
            _section(doc, section)[key] = env[var]
    for var, (section, key) in FALLBACK_ENV.items():      # only where neither the file nor TELEMETRYFLOW_* says
        if env.get(var) and not _section(doc, section).get(key):
            _section(doc, section)[key] = env[var]
    cfg = _build(Config, doc, "")
    check(cfg)
    return cfg


def check(cfg: Config) -> None:
    tf = cfg.telemetryflow
    ep = tf.endpoint.strip().rstrip("/")
    if not ep:
        raise ConfigError("telemetryflow.endpoint is required (or TELEMETRYFLOW_ENDPOINT)")
    if "://" not in ep:
        ep = ("https://" if tf.tls.enabled else "http://") + ep
    if not ep.startswith(("http://", "https://")):
        raise ConfigError(f"telemetryflow.endpoint must be an http(s) URL, got {ep[:60]!r}")
    tf.endpoint = ep
    if tf.protocol != "http":
        raise ConfigError(f"telemetryflow.protocol {tf.protocol!r} is not supported by cloudtally-agent: use http "
                          "(OTLP/HTTP); CloudTally's receiver and every OpenTelemetry collector take it")
    if cfg.exporter.format not in ("otlp", "cloudtally-json"):
        raise ConfigError("exporter.format must be otlp or cloudtally-json")
    if cfg.exporter.compression not in ("gzip", "none"):
        raise ConfigError("exporter.compression must be gzip or none")
    if cfg.collectors.logs.enabled:
        raise ConfigError("collectors.logs is not implemented by cloudtally-agent (metrics and heartbeats only): "
                          "set collectors.logs.enabled to false")
    for where, v, lo in (("collectors.system.interval", cfg.collectors.system.interval, 0.001),
                         ("heartbeat.interval", cfg.heartbeat.interval, 0.001),
                         ("exporter.flush_interval", cfg.exporter.flush_interval, 0.001),
                         ("exporter.batch_size", cfg.exporter.batch_size, 1),
                         ("telemetryflow.retry.max_attempts", tf.retry.max_attempts, 1),
                         ("telemetryflow.retry.multiplier", tf.retry.multiplier, 1),
                         ("buffer.max_memory_mb", cfg.buffer.max_memory_mb, 0),
                         ("buffer.max_disk_mb", cfg.buffer.max_disk_mb, 0.001),
                         ("agent.time_scale", cfg.agent.time_scale, 0.001)):
        if v < lo:
            raise ConfigError(f"{where} must be at least {lo}, got {v}")
    if not cfg.heartbeat.path.startswith("/") or "{agentId}" not in cfg.heartbeat.path:
        raise ConfigError("heartbeat.path must start with / and contain {agentId}")
    if cfg.exporter.path and not cfg.exporter.path.startswith("/"):
        raise ConfigError("exporter.path must start with /")
    if cfg.logging.level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError("logging.level must be debug, info, warning or error")
    if cfg.logging.format not in ("text", "json"):
        raise ConfigError("logging.format must be text or json")


def as_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def redacted(cfg: Config) -> dict[str, Any]:
    """The config as data with every secret (``api_key_secret``, exporter headers' values) shown as ``***``."""
    def walk(obj: Any) -> Any:
        out = {}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if dataclasses.is_dataclass(v):
                out[f.name] = walk(v)
            elif f.metadata.get("secret"):
                out[f.name] = ({k: REDACTED for k in v} if isinstance(v, dict) else (REDACTED if v else ""))
            else:
                out[f.name] = dict(v) if isinstance(v, dict) else v
        return out
    return walk(cfg)
