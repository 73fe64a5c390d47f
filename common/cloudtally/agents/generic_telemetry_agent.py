"""``GenericTelemetryAgent``: the OpenFinOps generic agent for custom and on-premises sources.

Same constructor (``GenericTelemetryAgent(openfinops_endpoint, config_file=None)``) and methods
(``register_agent``, ``register_metric_collector(name, fn)``, ``collect_telemetry_data``,
``send_telemetry_data``, ``run_once``, ``run_continuous(interval_seconds=60)``) as the OpenFinOps docs.

* **A registered collector** is a function returning a dict (the docs' nvidia-smi example). Every number in
  it becomes a metric point named ``generic.<collector>.<path>`` (``generic.gpu_cluster.gpu_metrics.
  gpu_utilization``); list items get an ``index`` dimension (each GPU its own series), strings beside numbers
  become dimensions (``source``), ``timestamp`` / ``time`` / ``collection_time`` the point's time. A list under
  ``cost_entries`` (or ``costs``) holds cost entries: FOCUS records (``BilledCost`` ...) or OpenFinOps
  ``CostEntry`` objects/dicts; they are posted as records (``x_Collector`` ``generic:<collector>``).
* **Built-in sources** from the YAML config: ``command`` (a command's output: csv, json, prometheus text or one
  value), ``prometheus`` (a Prometheus text endpoint) and ``csv_costs`` (a CSV of on-premises costs, FOCUS
  column names, re-sent only when the file changes).

Points go to ``POST /api/v1/telemetry/ingest`` (the list envelope: no value is reinterpreted), records to
``POST /v1/records``; both are idempotent (a point is its series and time, a record its identity).

    agent:   {id, interval: 60, environment}
    sources: - {name, type: command, command: [...], format: csv|json|prometheus|value, columns: [...], key, timeout}
             - {name, type: prometheus, url, include: [glob...], timeout}
             - {name, type: csv_costs, path, provider, billing_account, currency, cost_source: billed}
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import json
import logging
import math
import os
import re
import socket
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import config as ct_config
from ..client import Client, resolve_api_url
from ..errors import CloudTallyError, ConfigError, ValidationError

log = logging.getLogger("cloudtally.agents.generic")
UTC = timezone.utc
AGENT_VERSION = "cloudtally-0.1"
TIME_KEYS = ("timestamp", "time", "collection_time")
COST_KEYS = ("cost_entries", "costs")
MAX_DEPTH = 8
MAX_POINTS = 5000            # per request (the ingest takes 10 000 list items)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PROM = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?\s*$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass
class Collected:
    """One cycle's output."""

    points: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)       # source -> why it gave nothing
    ignored: dict[str, int] = field(default_factory=dict)       # path -> values not taken (text, NaN, flags)


def _ts(v: Any) -> datetime | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 32503680000:
        return datetime.fromtimestamp(float(v), UTC)
    if isinstance(v, datetime):
        return v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC)
    return None


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _num(v: Any) -> Decimal | None:
    if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
        return None
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return Decimal(int(v)) if abs(v) < 9007199254740992 and v == int(v) else Decimal(repr(v))
    return Decimal(v) if isinstance(v, int) else v


def flatten(data: Any, name: str, dims: dict[str, str], ts: datetime, out: Collected, depth: int = 0) -> None:
    """Every number of ``data`` as a point named by its path; strings beside them as dimensions."""
    if depth > MAX_DEPTH:
        out.ignored[name] = out.ignored.get(name, 0) + 1
        return
    if isinstance(data, Mapping):
        local = dict(dims)
        t = ts
        for k in TIME_KEYS:
            t = _ts(data.get(k)) or t
        for k, v in data.items():
            if isinstance(v, str) and k not in TIME_KEYS and len(v) <= 256 and len(local) < 25:
                local[str(k)[:128]] = v
        for k, v in data.items():
            if k in TIME_KEYS or k in COST_KEYS or (isinstance(v, str) and str(k)[:128] in local):
                continue
            flatten(v, f"{name}.{k}", local, t, out, depth + 1)
        return
    if isinstance(data, (list, tuple)):
        for i, v in enumerate(data[:10000]):
            flatten(v, name, {**dims, "index": str(i)} if "index" not in dims else {**dims, f"index{depth}": str(i)},
                    ts, out, depth + 1)
        return
    n = _num(data)
    if n is None:
        out.ignored[name] = out.ignored.get(name, 0) + 1
        return
    out.points.append({"name": name[:200], "value": n, "timestamp": _iso(ts), "dimensions": dims,
                       "source": "generic"})


def parse_prometheus(text: str, include: list[str] | None = None) -> list[tuple[str, dict[str, str], float, int | None]]:
    """Samples of the Prometheus text exposition format: (name, labels, value, timestamp ms or None)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _PROM.match(line)
        if not m:
            continue
        name, labels, raw, ts = m.group(1), m.group(3), m.group(4), m.group(5)
        if include and not any(fnmatch.fnmatch(name, p) for p in include):
            continue
        try:
            value = float(raw)
        except ValueError:
            continue
        lab = {k: v.replace('\\"', '"').replace("\\\\", "\\").replace("\\n", "\n")
               for k, v in _LABEL.findall(labels or "")}
        out.append((name, lab, value, int(ts) if ts else None))
    return out


# ---------------------------------------------------------------------------------------------- sources
def _check_source(i: int, s: Any) -> dict[str, Any]:
    where = f"sources[{i}]"
    if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not s["name"]:
        raise ConfigError(f"{where}: a source needs a name")
    kind = s.get("type")
    allowed = {"command": {"name", "type", "command", "format", "columns", "key", "timeout", "enabled"},
               "prometheus": {"name", "type", "url", "include", "timeout", "enabled"},
               "csv_costs": {"name", "type", "path", "provider", "billing_account", "currency", "cost_source",
                             "enabled"}}
    if kind not in allowed:
        raise ConfigError(f"{where} ({s['name']}): type must be one of {', '.join(allowed)}")
    unknown = sorted(set(s) - allowed[kind])
    if unknown:
        raise ConfigError(f"{where} ({s['name']}): unknown key(s) {', '.join(unknown)}")
    if kind == "command":
        cmd = s.get("command")
        if not (isinstance(cmd, list) and cmd and all(isinstance(c, str) for c in cmd)):
            raise ConfigError(f"{where} ({s['name']}): command must be a list of strings (no shell)")
        if s.get("format", "csv") not in ("csv", "json", "prometheus", "value"):
            raise ConfigError(f"{where} ({s['name']}): format must be csv, json, prometheus or value")
    if kind == "prometheus" and not str(s.get("url", "")).startswith(("http://", "https://")):
        raise ConfigError(f"{where} ({s['name']}): url must be an http(s) URL")
    if kind == "csv_costs":
        for k in ("path", "provider", "billing_account"):
            if not s.get(k):
                raise ConfigError(f"{where} ({s['name']}): {k} is required")
    return s


def load_config(path: str | Path | None) -> dict[str, Any]:
    if not path:
        return {"agent": {}, "sources": []}
    import yaml
    try:
        doc = yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {str(e)[:200]}") from None
    if not isinstance(doc, dict) or set(doc) - {"agent", "sources"}:
        raise ConfigError(f"config file {path}: expected the keys agent and sources")
    agent = doc.get("agent") or {}
    if not isinstance(agent, dict) or set(agent) - {"id", "interval", "environment"}:
        raise ConfigError(f"config file {path}: agent takes id, interval and environment")
    sources = doc.get("sources") or []
    if not isinstance(sources, list):
        raise ConfigError(f"config file {path}: sources must be a list")
    checked = [_check_source(i, s) for i, s in enumerate(sources)]
    names = [s["name"] for s in checked]
    if len(set(names)) != len(names):
        raise ConfigError(f"config file {path}: source names must be unique")
    return {"agent": agent, "sources": checked}


class GenericTelemetryAgent:
    """OpenFinOps ``GenericTelemetryAgent``: registered collector functions and the config's built-in sources."""

    def __init__(self, openfinops_endpoint: str | None = None, config_file: str | None = None, *,
                 agent_id: str | None = None, api_key_id: str | None = None, api_key_secret: str | None = None,
                 client: Client | None = None, clock: Any = None, env: Mapping[str, str] | None = None,
                 server_url: str | None = None):
        self.env = os.environ if env is None else env
        self.config = load_config(config_file)
        self.config_file = config_file
        self.hostname = socket.gethostname()
        a = self.config["agent"]
        self.agent_id = agent_id or a.get("id") or f"generic-telemetry-{self.hostname}-{uuid.uuid4().hex[:8]}"
        self.environment = a.get("environment") or "on-premise"
        self.interval = int(a.get("interval") or 60)
        if client is None:
            self.endpoint = resolve_api_url(openfinops_endpoint or server_url)
            client = Client(self.endpoint, api_key_id or self.env.get(ct_config.ENV_API_KEY_ID, ""),
                            api_key_secret or self.env.get(ct_config.ENV_API_KEY_SECRET, ""), max_attempts=4,
                            spool_dir=self.env.get(ct_config.ENV_SPOOL_DIR) or None)
        else:
            self.endpoint = client.api_url
        self.client = client
        self.clock = clock
        self.collectors: dict[str, Callable[[], Any]] = {}
        self._sent_costs: dict[str, str] = {}       # csv_costs source -> content hash last delivered
        self._stop = threading.Event()
        self.last: Collected | None = None

    def __repr__(self) -> str:
        return f"GenericTelemetryAgent({self.endpoint!r}, agent_id={self.agent_id!r})"

    def _now(self) -> datetime:
        if self.clock is not None:
            return self.clock.now()
        from ..clock import from_env
        return from_env(self.env).now()

    # ------------------------------------------------------------ OpenFinOps API
    def register_metric_collector(self, name: str, fn: Callable[[], Any]) -> None:
        """Add a function returning a dict of metrics (and optionally ``cost_entries``), run every cycle."""
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.:-]{1,64}$", name):
            raise ValidationError("a collector name is 1-64 letters, digits, _ . : -")
        if not callable(fn):
            raise ValidationError(f"collector {name}: expected a function")
        self.collectors[name] = fn

    def register_agent(self) -> bool:
        body = {"agent_id": self.agent_id, "hostname": self.hostname, "cloud_provider": "on-premise",
                "region": self.environment, "agent_type": "generic_telemetry", "agent_version": AGENT_VERSION,
                "config": {"interval": self.interval, "collectors": sorted(self.collectors),
                           "sources": [s["name"] for s in self.config["sources"]]}}
        try:
            self.client.request("POST", "/api/v1/agents/register", body=body)
            return True
        except CloudTallyError as e:
            log.error("agent registration failed: %s", e.message)
            return False

    def collect_telemetry_data(self) -> dict[str, Any]:
        """One cycle: every registered collector and built-in source. A failing one is reported, the rest
        collected."""
        now = self._now().astimezone(UTC)
        out = Collected()
        for name, fn in self.collectors.items():
            try:
                data = fn()
            except Exception as e:    # a user's function: its failure is this collector's error, not the cycle's
                log.error("collector %s failed: %s: %s", name, type(e).__name__, e)
                out.errors[name] = f"{type(e).__name__}: {e}"[:300]
                continue
            self._take(name, data, now, out)
        for s in self.config["sources"]:
            if s.get("enabled", True) is False:
                continue
            try:
                getattr(self, f"_source_{s['type']}")(s, now, out)
            except (OSError, ValueError, subprocess.SubprocessError, urllib.error.URLError, ValidationError) as e:
                log.error("source %s failed: %s", s["name"], e)
                out.errors[s["name"]] = f"{type(e).__name__}: {e}"[:300]
        self.last = out
        return {"agent_id": self.agent_id, "timestamp": now.timestamp(), "hostname": self.hostname,
                "metrics": out.points, "records": out.records, "errors": out.errors, "ignored": out.ignored}

    def _take(self, name: str, data: Any, now: datetime, out: Collected) -> None:
        if isinstance(data, Mapping):
            for k in COST_KEYS:
                for n, entry in enumerate(data.get(k) or []):
                    try:
                        out.records.append(self._cost(name, entry))
                    except (ValidationError, TypeError, ValueError) as e:
                        out.errors[f"{name}.{k}[{n}]"] = str(getattr(e, "details", None) or e)[:300]
        flatten(data, f"generic.{name}", {"agent": self.agent_id, "collector": name}, now, out)

    def _cost(self, collector: str, entry: Any) -> dict[str, Any]:
        from ..focus import parse_record
        from ..hub.cost_observatory import CostEntry
        if isinstance(entry, CostEntry):
            rec = entry.to_record()
        elif isinstance(entry, Mapping) and "BilledCost" in entry:
            rec = dict(entry)
        elif isinstance(entry, Mapping):
            rec = CostEntry(**entry).to_record()
        else:
            raise ValidationError("a cost entry is a FOCUS record, a CostEntry or its fields as a dict")
        rec.setdefault("x_CostSource", "estimated")
        rec["x_Collector"] = f"generic:{collector}"
        return parse_record(rec).to_dict()

    # ------------------------------------------------------------ built-in sources
    def _source_command(self, s: dict[str, Any], now: datetime, out: Collected) -> None:
        proc = subprocess.run(s["command"], capture_output=True, text=True, timeout=float(s.get("timeout", 10)))
        if proc.returncode != 0:
            raise OSError(f"{s['command'][0]} exited with {proc.returncode}: {proc.stderr.strip()[:200]}")
        fmt = s.get("format", "csv")
        base = {"agent": self.agent_id, "source": s["name"]}
        if fmt == "json":
            flatten(json.loads(proc.stdout), s["name"], base, now, out)
        elif fmt == "prometheus":
            self._samples(s["name"], parse_prometheus(proc.stdout), base, now, out)
        elif fmt == "value":
            m = _NUMBER.search(proc.stdout)
            if not m:
                raise ValueError(f"no number in the output of {s['command'][0]}")
            flatten(float(m.group(0)), s["name"], base, now, out)
        else:
            cols = list(s.get("columns") or [])
            key = s.get("key")
            for i, row in enumerate(csv.reader(io.StringIO(proc.stdout.strip()))):
                if not row:
                    continue
                names = cols or [f"column{j}" for j in range(len(row))]
                cells = {names[j] if j < len(names) else f"column{j}": c.strip() for j, c in enumerate(row)}
                dims = {**base, "index": cells.get(key, str(i)) if key else str(i)}
                for col, cell in cells.items():
                    if col == key:
                        continue
                    m = _NUMBER.search(cell)      # "45 %", "1024 MiB": the number, without the unit
                    if m:
                        flatten(float(m.group(0)), f"{s['name']}.{col}", dims, now, out)
                    else:
                        out.ignored[f"{s['name']}.{col}"] = out.ignored.get(f"{s['name']}.{col}", 0) + 1

    def _samples(self, name: str, samples: list, base: dict[str, str], now: datetime, out: Collected) -> None:
        for metric, labels, value, ts_ms in samples:
            t = datetime.fromtimestamp(ts_ms / 1000, UTC) if ts_ms else now
            if not math.isfinite(value):
                out.ignored[f"{name}.{metric}"] = out.ignored.get(f"{name}.{metric}", 0) + 1
                continue
            flatten(value, f"{name}.{metric}", {**base, **labels}, t, out)

    def _source_prometheus(self, s: dict[str, Any], now: datetime, out: Collected) -> None:
        req = urllib.request.Request(s["url"], headers={"Accept": "text/plain; version=0.0.4"})
        with urllib.request.urlopen(req, timeout=float(s.get("timeout", 5))) as r:
            text = r.read(64 * 1024 * 1024).decode("utf-8", "replace")
        self._samples(s["name"], parse_prometheus(text, s.get("include")),
                      {"agent": self.agent_id, "source": s["name"]}, now, out)

    def _source_csv_costs(self, s: dict[str, Any], now: datetime, out: Collected) -> None:
        from ..focus import ValidationError as RecordError, parse_record
        raw = Path(s["path"]).read_bytes()
        digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
        if self._sent_costs.get(s["name"]) == digest:
            return                                     # unchanged since it was delivered: nothing to send
        text = raw.decode("utf-8-sig")
        bad = []
        recs = []
        for n, row in enumerate(csv.DictReader(io.StringIO(text)), 1):
            rec: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
            tags = {k[4:]: rec.pop(k) for k in list(rec) if k.startswith("tag:")}
            if "Tags" in rec:
                tags.update(json.loads(rec.pop("Tags")))
            if tags:
                rec["Tags"] = tags
            day = rec.pop("date", None)
            if day:
                d = datetime.fromisoformat(day).replace(tzinfo=UTC)
                rec.setdefault("ChargePeriodStart", _iso(d))
                rec.setdefault("ChargePeriodEnd", _iso(d + timedelta(days=1)))
            rec.setdefault("ProviderName", s["provider"])
            rec.setdefault("BillingAccountId", s["billing_account"])
            rec.setdefault("BillingCurrency", s.get("currency", "USD"))
            rec.setdefault("x_CostSource", s.get("cost_source", "billed"))
            rec["x_Collector"] = f"generic:{s['name']}"
            try:
                recs.append(parse_record(rec).to_dict())
            except RecordError as e:
                bad.append({"row": n, "errors": e.details})
        out.records.extend(recs)
        if bad:
            out.errors[s["name"]] = json.dumps(bad[:20])[:2000]
            log.error("%s: %d rows rejected: %s", s["path"], len(bad), bad[:5])
        self._pending_costs = getattr(self, "_pending_costs", {})
        self._pending_costs[s["name"]] = digest

    # ------------------------------------------------------------ sending
    def send_telemetry_data(self, data: dict[str, Any]) -> bool:
        """Points to the telemetry ingest (list envelope), records to ``/v1/records``; True when all were taken."""
        ok = True
        try:
            pts = data.get("metrics") or []
            for i in range(0, len(pts), MAX_POINTS):
                resp, _ = self.client.request("POST", "/api/v1/telemetry/ingest", body={
                    "agent_id": self.agent_id, "timestamp": data["timestamp"], "metrics": pts[i:i + MAX_POINTS]})
                if resp.get("rejected"):
                    ok = False
                    log.warning("server rejected %d points: %s", len(resp["rejected"]), resp["rejected"][:3])
            if data.get("records"):
                res = self.client.send_records(data["records"])
                if res.rejected:
                    ok = False
                    log.warning("server rejected %d records: %s", len(res.rejected), res.rejected[:3])
        except CloudTallyError as e:
            log.error("telemetry not sent: %s", e.message)
            return False
        if ok:
            self._sent_costs.update(getattr(self, "_pending_costs", {}))
            self._pending_costs = {}
        return ok

    def run_once(self) -> bool:
        data = self.collect_telemetry_data()
        if not data["metrics"] and not data["records"]:
            log.warning("nothing collected this cycle: %s", data["errors"] or "no collector or source")
            return not data["errors"]
        return self.send_telemetry_data(data) and not data["errors"]

    def stop(self) -> None:
        self._stop.set()

    def run_continuous(self, interval_seconds: int = 60) -> None:
        """Collect and send every ``interval_seconds`` until Ctrl-C or SIGTERM (clean stop, no traceback)."""
        from .loop import run_continuous
        run_continuous(self.run_once, interval_seconds, self._stop, log, self.agent_id)


def add_agent_command(asub: Any) -> None:
    """``cloudtally agent generic ...`` (registered by :mod:`cloudtally.collectors.cli`)."""
    p = asub.add_parser("generic", help="GenericTelemetryAgent: commands, Prometheus endpoints, on-premises cost CSVs")
    p.add_argument("--openfinops-endpoint", "--endpoint", dest="endpoint",
                   default=os.environ.get("OPENFINOPS_ENDPOINT") or os.environ.get(ct_config.ENV_API_URL))
    p.add_argument("--config", required=True, help="YAML config: agent {id, interval}, sources [...]")
    p.add_argument("--interval", type=int, default=None, help="seconds between cycles (default: the config's, or 60)")
    p.add_argument("--agent-id", default=None)
    p.add_argument("--once", action="store_true", help="collect and send once, then exit")
    p.add_argument("--print-config", action="store_true", help="print the validated config and exit")
    p.set_defaults(func=_cli)


def _cli(args: Any) -> int:
    import sys
    if args.print_config:
        print(json.dumps(load_config(args.config), indent=2))
        return 0
    if not args.endpoint:
        raise ConfigError("pass --openfinops-endpoint URL (or set OPENFINOPS_ENDPOINT)")
    agent = GenericTelemetryAgent(args.endpoint, args.config, agent_id=args.agent_id)
    if not agent.config["sources"]:
        raise ConfigError(f"{args.config} has no sources: nothing to collect")
    if not agent.register_agent():
        print("error: agent registration failed", file=sys.stderr)
        return 3
    if args.once:
        return 0 if agent.run_once() else 1
    agent.run_continuous(interval_seconds=args.interval or agent.interval)
    return 0
