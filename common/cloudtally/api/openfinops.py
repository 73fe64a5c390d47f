"""The OpenFinOps agents' payloads, turned into cost records and metric points.

Accepted at ``POST /api/v1/telemetry/ingest`` (README, "OpenFinOps agents"). Two envelopes exist:

* the AWS agent (and CloudTally's own :class:`~cloudtally.agents.AWSTelemetryAgent`) sends
  ``{"agent_id", "timestamp", "cloud_provider", "region", "services": {"ec2": {"instances": [...]},
  ...}, "summary": {...}, "metrics": [<metric point>, ...]}``;
* the Azure, GCP, Databricks, Snowflake, SaaS and generic agents send ``{"agent_id", "timestamp",
  "metrics": {<what the agent collected>}, "agent_health": {...}}``, their data one level down
  (``metrics.virtual_machines``, ``metrics.metrics.clusters``, ``metrics.services.redis_cloud``,
  ``metrics.collectors.system_metrics.data``...).

:func:`translate` walks every value of the payload. Each one is used for a cost record, becomes a
metric point, or is listed in ``ignored`` with its reason; cost figures deliberately not made
records (totals of items, attributions, a second unit of the same charge, EKS node groups whose
nodes are listed EC2 instances, Databricks job clusters) are metric points and are listed in
``not_counted`` with their amount and reason. Cost semantics, by the figure's name and place:

* an **hourly** rate (``hourly_cost``, ``estimated_hourly_cost``, ``hourly_cost_usd``...) is the cost
  of the UTC hour the snapshot falls in (rate × 1 h). The record id is the resource and the hour, so
  the twelve snapshots of an hour count it once (the latest wins);
* a **monthly** cost of a resource (S3 ``monthly_cost``, a Snowflake database's or a Redis
  subscription's ``estimated_monthly_cost_usd``) is a rate: per hour it is the monthly cost divided
  by the real hours of that UTC month (672, 696, 720 or 744), rounded half-even to
  :data:`DIVISION_PLACES` places, then placed like an hourly rate;
* a monthly cost of a service listed without resources (GitHub Actions, Datadog), and
  ``current_month_cost`` / ``last_month_cost``, is that UTC calendar month's charge: one record for
  the month, replaced by each later snapshot;
* a cost over the agent's look-back window (Snowflake warehouses' ``estimated_cost_usd`` with
  ``lookback_hours: 24``) is a day's cost: one record for the UTC day of the snapshot (latest wins);
* a **daily** figure (``daily_cost_usd``) of a resource without an hourly rate is that day's cost;
* a run's cost (a Databricks job run's ``estimated_cost_usd`` with its ``start_time``/``end_time``)
  covers the run; a Databricks cluster's ``estimated_cost_usd`` is its cost since ``uptime_hours``
  ago, so its hourly rate is cost ÷ uptime (the whole cost when the run began in the current hour);
* ``total_*`` fields, every ``summary`` and any cost of a section that itemises costs are sums of
  items: metric points, never records (no double counting between an agent's totals and its items).

Money stays exact: JSON numbers arrive as :class:`~decimal.Decimal` (never float) and every amount
that lands equals the figure the agent sent, or the documented quotient of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable

from ..errors import ValidationError
from ..focus import (ONE_HOUR, CostRecord, MetricPoint, day_floor, hour_floor, iso, month_bounds,
                     parse_metric, parse_record, parse_time)
from ..money import CONTEXT, ZERO, MoneyError, fmt, parse_amount
from ..providers import taxonomy as provider_taxonomy

PROVIDERS = {"aws": "AWS", "azure": "Microsoft", "gcp": "Google Cloud", "google": "Google Cloud",
             "databricks": "Databricks", "snowflake": "Snowflake", "mongodb_atlas": "MongoDB Atlas",
             "redis_cloud": "Redis Cloud", "github": "GitHub", "datadog": "Datadog"}
SERVICES = {"ec2": ("Amazon Elastic Compute Cloud", "Compute"), "eks": ("Amazon Elastic Kubernetes Service", "Compute"),
            "lambda": ("AWS Lambda", "Compute"), "rds": ("Amazon Relational Database Service", "Databases"),
            "s3": ("Amazon Simple Storage Service", "Storage")}
# (source, section) -> (ServiceName, ServiceCategory) for the sections the published agents send
SECTION_SERVICES = {
    **{("aws", k): v for k, v in SERVICES.items()},
    ("azure", "virtual_machines"): ("Virtual Machines", "Compute"),
    ("azure", "aks"): ("Azure Kubernetes Service", "Compute"),
    ("azure", "azure_functions"): ("Azure Functions", "Compute"),
    ("azure", "sql_databases"): ("Azure SQL Database", "Databases"),
    ("azure", "storage"): ("Storage Accounts", "Storage"),
    ("gcp", "compute_engine"): ("Compute Engine", "Compute"),
    ("gcp", "gke"): ("Kubernetes Engine", "Compute"),
    ("gcp", "cloud_functions"): ("Cloud Functions", "Compute"),
    ("gcp", "cloud_sql"): ("Cloud SQL", "Databases"),
    ("gcp", "cloud_storage"): ("Cloud Storage", "Storage"),
    ("databricks", "clusters"): ("Databricks Compute", "Compute"),
    ("databricks", "jobs"): ("Databricks Jobs", "Compute"),
    ("databricks", "sql_warehouses"): ("Databricks SQL", "Analytics"),
    ("snowflake", "warehouses"): ("Snowflake Virtual Warehouses", "Compute"),
    ("snowflake", "storage"): ("Snowflake Storage", "Storage"),
    ("saas", "mongodb_atlas"): ("MongoDB Atlas", "Databases"),
    ("saas", "redis_cloud"): ("Redis Cloud", "Databases"),
    ("saas", "github_actions"): ("GitHub Actions", "Developer Tools"),
    ("saas", "datadog"): ("Datadog", "Management and Governance"),
}
# the SaaS agent's sections are one provider each
SAAS_PROVIDERS = {"mongodb_atlas": "mongodb_atlas", "redis_cloud": "redis_cloud", "github_actions": "github",
                  "datadog": "datadog"}
COLLECTOR = "openfinops-agent"
DIVISION_PLACES = 20  # a quotient (monthly ÷ hours, cost ÷ uptime) is rounded half-even to this many places
MAX_DEPTH = 24
MAX_ITEMS = 10000

# An element's id, in order of preference (the first present names the resource).
ID_FIELDS = ("instance_id", "resource_id", "cluster_id", "vm_id", "db_identifier", "db_instance_identifier",
             "warehouse_id", "run_id", "subscription_id", "function_name", "bucket_name", "cluster_name",
             "nodegroup_name", "pool_name", "app_name", "server_name", "database_name", "warehouse_name",
             "instance_name", "vm_name", "account_name", "name", "id", "pid")
# Fields that qualify an element's series without naming a resource (a user's share of a warehouse).
LABEL_FIELDS = ("user_name", "query_type")
NAME_FIELDS = ("name", "cluster_name", "instance_name", "vm_name", "run_name", "warehouse_name", "function_name",
               "bucket_name", "db_identifier", "database_name", "app_name", "server_name", "account_name",
               "nodegroup_name", "pool_name")
TYPE_FIELDS = ("instance_type", "db_instance_class", "instance_class", "vm_size", "machine_type", "instance_size",
               "tier", "cluster_size", "node_type_id", "sku_name", "type")
REGION_FIELDS = ("region", "location")
ZONE_FIELDS = ("availability_zone", "zone")
TIME_FIELDS = ("timestamp", "collection_time")   # the element's own time
EKS_TAGS = ("eks:cluster-name", "eks:nodegroup-name")
_EPOCH_SUFFIX = re.compile(r"^(?P<stem>(?:azure-telemetry|gcp-telemetry|databricks|snowflake|saas-services|"
                           r"generic-telemetry)(?:-.*?)?)-\d{9,11}$")
_AWS_SUFFIX = re.compile(r"^(?P<stem>aws-agent-.+)-[0-9a-f]{8}$")
_TIMEISH = re.compile(r"(^|_)(time|date|created|modified|timestamp|at|started|ended|start|end|registration)(_|$)")

# reasons given back in "ignored" and "not_counted"
R_TEXT = "text with no cost or metric meaning (no FOCUS column or metric takes it)"
R_TEXT_NO_COST = "describes an element that has no cost record"
R_TEXT_UNMAPPED = "descriptive text of a recorded element that no FOCUS column takes"
R_FLAG = "a true/false flag, not a metric"
R_NULL = "empty (null)"
R_TIME = "a time stamp, not a metric"
R_ID = "an identifier, not a metric"
R_TEXT_LIST = "a list of text values"
R_DEPTH = f"nested deeper than {MAX_DEPTH} levels"
R_EVENT = "agent events (errors, notices) are not cost or metric data"
R_ZERO = "a zero service-level amount: nothing to record"
R_TOO_MANY = f"beyond the first {MAX_ITEMS} elements of a list: not read"
R_TOTAL = "a sum of the items it covers, which are counted themselves"
R_ATTRIBUTION = "an attribution of costs counted elsewhere in the payload (attribution splits a total, never adds)"
R_JOB_CLUSTER = "a job cluster: its cost is counted once, from the finished run in jobs[]"
R_DUPLICATE = "the same charge (resource and period) as another element of the payload: counted once"
R_NESTED_COST = "a cost inside a nested object: no rule places it in a charge period, kept as a metric point"


@dataclass
class Translation:
    """What one telemetry payload gave: records, metric points, and the account of everything else."""

    records: list[CostRecord] = field(default_factory=list)
    metrics: list[MetricPoint] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)      # {"path", "errors"}
    ignored: list[dict[str, Any]] = field(default_factory=list)       # {"path", "reason", "count"}
    not_counted: list[dict[str, Any]] = field(default_factory=list)   # {"path", "reason", "count", "amount"}
    taken: dict[str, str] = field(default_factory=dict)               # path pattern -> record | metric | ...
    health_metrics: int = 0                                           # metric points of the agent's own health

    @property
    def data_taken(self) -> bool:
        """Whether anything but the agent's own health became a record or a metric point."""
        return bool(self.records) or len(self.metrics) > self.health_metrics

    def cost(self) -> dict[str, str]:
        """BilledCost of the records per currency (exact)."""
        out: dict[str, Decimal] = {}
        for r in self.records:
            out[r.BillingCurrency] = CONTEXT.add(out.get(r.BillingCurrency, ZERO), r.BilledCost)
        return {k: fmt(v) for k, v in sorted(out.items())}


def translate(payload: Any) -> Translation:
    """Records, metric points and the accounting of every other value of one telemetry payload.

    >>> t = translate({"agent_id": "a", "timestamp": 1725148800, "cloud_provider": "aws", "services": {
    ...     "ec2": {"instances": [{"instance_id": "i-1", "hourly_cost": Decimal("0.096")}]}}})
    >>> [(r.ResourceId, r.BilledCost, iso(r.ChargePeriodStart)) for r in t.records]
    [('i-1', Decimal('0.096'), '2024-09-01T00:00:00Z')]
    """
    return _Translator(payload).run()


def stable_agent_key(agent_id: str) -> str:
    """The published agents end ``agent_id`` with their start time (or a random suffix for AWS):
    without it, a restarted agent keys its records like before and replaces instead of adding."""
    for rx in (_EPOCH_SUFFIX, _AWS_SUFFIX):
        m = rx.match(agent_id)
        if m:
            return m.group("stem")
    return agent_id


# ---------------------------------------------------------------- helpers

_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def _pat(path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _number(v: Any, key: str = "") -> Decimal | None:
    """A number as an exact Decimal: JSON numbers (Decimal/int), numeric strings (CloudTally's own agent
    sends amounts as strings) except for version fields, floats of in-process callers via their repr."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, float):
        v = repr(v)
        if not _PLAIN_NUMBER.match(v):
            return None
    elif isinstance(v, str):
        if "version" in key.lower() or not _PLAIN_NUMBER.match(v.strip()):
            return None
    elif not isinstance(v, (int, Decimal)):
        return None
    try:
        return parse_amount(v)
    except MoneyError:
        return None


def _div(a: Decimal, b: Decimal) -> Decimal:
    """``a / b`` rounded half-even to :data:`DIVISION_PLACES` places (trailing zeros dropped)."""
    q = CONTEXT.divide(a, b).quantize(Decimal(1).scaleb(-DIVISION_PLACES), rounding=ROUND_HALF_EVEN, context=CONTEXT)
    if q == 0:
        return ZERO
    n = q.normalize(CONTEXT)
    return n if n.as_tuple().exponent <= 0 else q.quantize(Decimal(1), context=CONTEXT)


def hours_in_month(ts: datetime) -> int:
    """The real hours of the UTC month ``ts`` is in (672, 696, 720 or 744)."""
    start, end = month_bounds(ts)
    return int((end - start).total_seconds()) // 3600


def per_hour_of_month(monthly: Decimal, ts: datetime) -> Decimal:
    """A monthly cost per hour of the UTC month ``ts`` is in, rounded to :data:`DIVISION_PLACES` places.

    >>> per_hour_of_month(Decimal("7.44"), datetime(2026, 10, 5, tzinfo=UTC))
    Decimal('0.01')
    """
    return _div(monthly, Decimal(hours_in_month(ts)))


def cost_kind(key: str) -> str | None:
    """What a figure's name says about its period; None when it is not a cost.

    >>> [cost_kind(k) for k in ("hourly_cost", "monthly_cost", "total_daily_cost_usd", "estimated_cost_usd")]
    ['hourly', 'monthly', 'total', 'period']
    """
    k = key.lower()
    if "cost" not in k:
        return None
    if k.startswith("total_") or k.endswith("_estimate"):
        return "total"
    if k == "current_month_cost":
        return "month_to_date"
    if k == "last_month_cost":
        return "last_month"
    for kind, words in (("hourly", ("hourly", "per_hour")), ("daily", ("daily", "per_day", "_24h")),
                        ("monthly", ("monthly", "per_month")), ("annual", ("annual", "yearly"))):
        if any(w in k for w in words):
            return kind
    return "period"


_ITEM_KIND_ORDER = ("hourly", "daily", "monthly", "period", "annual")
_UNITS = {"hourly": "USD/h", "daily": "USD/d", "monthly": "USD/mo", "annual": "USD/y"}


def _is_items(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _has_costed_items(obj: dict, depth: int = 0) -> bool:
    """Whether a section lists items (at any depth) that carry a cost of their own."""
    if depth > MAX_DEPTH:
        return False
    for v in obj.values():
        if _is_items(v):
            for el in v[:MAX_ITEMS]:
                if any(cost_kind(k) and _number(x, k) is not None for k, x in el.items()) \
                        or _has_costed_items(el, depth + 1):
                    return True
    return False


def _tags(v: Any) -> dict[str, str] | None:
    """Tags as a mapping, or AWS's ``[{"Key", "Value"}]`` list; None for anything else."""
    if isinstance(v, dict):
        return {str(k)[:128]: str(x)[:256] for k, x in list(v.items())[:50] if x is not None and str(k)}
    if _is_items(v) and all("Key" in t or "key" in t for t in v):
        return {str(t.get("Key") or t.get("key"))[:128]: str(t.get("Value") or t.get("value") or "")[:256]
                for t in v[:50] if t.get("Key") or t.get("key")}
    return None


def _scalar_id(v: Any) -> str | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (str, int, Decimal)):
        s = str(v).strip()
        return s[:1024] or None
    return None


def _time_of(v: Any) -> datetime | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        if isinstance(v, float):
            v = Decimal(repr(v))
        return parse_time(v)
    except (ValueError, TypeError, OverflowError, ArithmeticError):
        return None


def _first_str(el: dict, fields: tuple[str, ...]) -> tuple[str, str] | None:
    for f in fields:
        v = el.get(f)
        if isinstance(v, str) and v.strip():
            return f, v
    return None


@dataclass
class _Scope:
    """Where an element sits: its source, section, service, and inherited time and dimensions."""

    source: str                    # aws, azure, gcp, databricks, snowflake, saas, generic, agent
    provider: str | None           # ProviderName of its records; None when no record can be made here
    section: str
    service: tuple[str, str]
    ts: datetime
    name: list[str]                # metric name parts below the source
    parent_id: str | None = None
    dims: dict[str, str] = field(default_factory=dict)
    attribution: bool = False
    lookback_hours: Decimal | None = None
    level: int = 0                 # nesting depth, bounded by MAX_DEPTH

    def but(self, **kw: Any) -> "_Scope":
        return _Scope(**{**self.__dict__, **kw})


ENVELOPE_KEYS = ("agent_health", "events", "hostname", "uptime_seconds")


class _Translator:
    def __init__(self, payload: Any):
        if not isinstance(payload, dict):
            raise ValidationError("telemetry payload must be a JSON object",
                                  details=[{"field": "", "message": "not an object"}])
        agent_id = payload.get("agent_id")
        if not isinstance(agent_id, str) or not 0 < len(agent_id) <= 128:
            raise ValidationError("invalid telemetry payload",
                                  details=[{"field": "agent_id", "message": "required string of 1-128 characters"}])
        ts = _time_of(payload.get("timestamp"))
        if ts is None:
            raise ValidationError("invalid telemetry payload",
                                  details=[{"field": "timestamp", "message": "epoch seconds or ISO 8601"}])
        self.p = payload
        self.agent_id = agent_id
        self.ts = ts
        self.t = Translation()
        self.used: set[str] = set()      # concrete paths consumed by context, times and ids
        self._ignored: dict[tuple[str, str], int] = {}
        self._not_counted: dict[tuple[str, str], list] = {}
        self._records: dict[str, CostRecord] = {}
        self._metrics: dict[str, MetricPoint] = {}
        self.eks_nodes: dict[tuple[str, str], list[str]] = {}

    # ------------------------------------------------------------ ledgers
    def take(self, path: str, kind: str) -> None:
        self.t.taken.setdefault(_pat(path), kind)

    def use(self, path: str, kind: str) -> None:
        self.used.add(path)
        self.take(path, kind)

    def ignore(self, path: str, reason: str, count: int = 1) -> None:
        key = (_pat(path), reason)
        self._ignored[key] = self._ignored.get(key, 0) + count

    def reject(self, path: str, errors: list[dict[str, Any]]) -> None:
        self.t.rejected.append({"path": path, "errors": errors})

    def not_counted(self, path: str, amount: Decimal, reason: str) -> None:
        entry = self._not_counted.setdefault((_pat(path), reason), [0, ZERO])
        entry[0] += 1
        entry[1] = CONTEXT.add(entry[1], amount)

    def metric(self, path: str, scope: _Scope, names: list[str], value: Decimal, *, ts: datetime | None = None,
               unit: str = "", dims: dict[str, str] | None = None, health: bool = False) -> None:
        full = ".".join([scope.source] + [str(n) for n in scope.name + names if n != ""])
        if len(full) > 200:
            self.ignore(path, "a metric name longer than 200 characters")
            return
        d = {"agent": self.agent_id, **scope.dims, **(dims or {})}
        d = {str(k)[:128]: str(v)[:256] for k, v in list(d.items())[:30]}
        p = MetricPoint(name=full, value=value, timestamp=ts or scope.ts, unit=unit, dimensions=d, source=COLLECTOR)
        if health and p.id not in self._metrics:
            self.t.health_metrics += 1
        self._metrics[p.id] = p
        self.take(path, "metric")

    def cost_metric(self, path: str, scope: _Scope, key: str, kind: str | None, amount: Decimal, reason: str) -> None:
        """A cost figure another element (or the items it sums) already counts: a metric point only."""
        self.metric(path, scope, [key], amount, unit=_UNITS.get(kind or "", "USD"))
        self.not_counted(path, amount, reason)

    # ------------------------------------------------------------ run
    def run(self) -> Translation:
        p = self.p
        nested = isinstance(p.get("metrics"), dict)
        body, base = (p["metrics"], "metrics") if nested else (p, "")
        self.use("agent_id", "identity")
        self.use("timestamp", "time")
        self._context(body, base)
        root = _Scope(source=self.source, provider=self.provider, section="", service=("Unknown", "Other"),
                      ts=self.body_ts, name=[])
        self._eks_pre_pass(body)
        if nested:
            self.use("metrics", "container")
            for key, v in p.items():
                if key not in self.used:
                    self._envelope(key, v, key, root)
            self._body(body, base, root)
        else:
            if isinstance(p.get("metrics"), list):
                self.use("metrics", "container")
                self._metric_list(p["metrics"], "metrics")
            self._body(p, "", root)
        return self._finish()

    def _context(self, body: dict, base: str) -> None:
        """Source, provider, account, region and time from the envelope and the agent's body."""
        p = self.p
        cp = p.get("cloud_provider") if isinstance(p.get("cloud_provider"), str) else body.get("cloud_provider")
        src = cp.strip().lower()[:64] if isinstance(cp, str) and cp.strip() else None
        services = body.get("services") if isinstance(body.get("services"), dict) else {}
        if src is None:
            if "subscription_id" in body:
                src = "azure"
            elif "workspace_host" in body or "workspace_name" in body:
                src = "databricks"
            elif "account_name" in body and "edition" in body:
                src = "snowflake"
            elif "project_id" in body or "compute_engine" in body:
                src = "gcp"
            elif services and set(services) & set(SAAS_PROVIDERS):
                src = "saas"
            elif services and set(services) <= set(SERVICES):
                src = "aws"
            elif isinstance(body.get("collectors"), dict):
                src = "generic"
        self.source = src or "agent"
        self.provider = None if self.source in ("saas", "generic", "agent") else PROVIDERS.get(
            self.source, cp.strip()[:64] if isinstance(cp, str) else self.source)
        for where, holder in (("", p), (base, body)) if base else (("", p),):
            for k in ("cloud_provider", "region"):
                if isinstance(holder.get(k), str):
                    self.use(_join(where, k), "identity")
        self.account = None
        for where, holder in (("", p), (base, body)) if base else (("", p),):
            for k in ("account_id", "subscription_id", "project_id", "workspace_host", "account_name"):
                v = _scalar_id(holder.get(k))
                if v and self.account is None:
                    self.account = re.sub(r"^https?://", "", v).rstrip("/")[:128]
                    self.use(_join(where, k), "identity")
        if self.account is None:
            self.account = f"agent:{stable_agent_key(self.agent_id)}"[:128]
        region = p.get("region") if isinstance(p.get("region"), str) else body.get("region")
        self.region = region.strip()[:64] if isinstance(region, str) and region.strip() else None
        self.body_ts = self.ts
        if base:
            bts = _time_of(body.get("timestamp"))
            if bts is not None:
                self.body_ts = bts
                self.use(_join(base, "timestamp"), "time")
            if body.get("agent_id") == self.agent_id:
                self.use(_join(base, "agent_id"), "identity")

    def _eks_pre_pass(self, body: dict) -> None:
        """EKS managed node groups tag their EC2 instances: those nodes are counted as the instances."""
        services = body.get("services")
        ec2 = services.get("ec2") if isinstance(services, dict) else None
        if self.source != "aws" or not isinstance(ec2, dict) or not isinstance(ec2.get("instances"), list):
            return
        for el in ec2["instances"][:MAX_ITEMS]:
            if not isinstance(el, dict):
                continue
            tags = _tags(el.get("tags")) or {}
            iid = _scalar_id(el.get("instance_id"))
            if iid and all(tags.get(t) for t in EKS_TAGS):
                self.eks_nodes.setdefault((tags[EKS_TAGS[0]], tags[EKS_TAGS[1]]), []).append(iid)

    def _metric_list(self, items: list, path: str) -> None:
        for n, m in enumerate(items[:MAX_ITEMS]):
            try:
                p = parse_metric(m)
            except ValidationError as e:
                self.reject(f"{path}[{n}]", e.details or [{"field": "", "message": e.message}])
                continue
            self._metrics[p.id] = p
            self.take(f"{path}[{n}]", "metric")
        if len(items) > MAX_ITEMS:
            self.ignore(f"{path}[{MAX_ITEMS}]", R_TOO_MANY, len(items) - MAX_ITEMS)

    # ------------------------------------------------------------ envelope and body
    def _envelope(self, key: str, v: Any, path: str, root: _Scope) -> None:
        """The agent's own values around its data: health, events, host, uptime."""
        agent = root.but(source="agent", name=[])
        if key == "agent_health" and isinstance(v, dict):
            for k, x in v.items():
                self._value(k, x, _join(path, k), agent, ["health", k], health=True)
        elif key == "events":
            if isinstance(v, list):
                for n, _ in enumerate(v[:MAX_ITEMS]):
                    self.ignore(f"{path}[{n}]", R_EVENT)
            elif v is not None:
                self.ignore(path, R_EVENT)
        elif key == "hostname":
            self.ignore(path, "the agent's host name (not a resource)")
        elif key == "uptime_seconds" and _number(v, key) is not None:
            self.metric(path, agent, [key], _number(v, key), health=True)
        else:
            self._value(key, v, path, root, [key])

    def _body(self, body: dict, base: str, root: _Scope) -> None:
        for key, v in body.items():
            path = _join(base, key)
            if path in self.used:
                continue
            if key in ENVELOPE_KEYS:
                self._envelope(key, v, path, root)
            elif key in ("services", "metrics") and isinstance(v, dict):
                self.use(path, "container")
                for sk, sv in v.items():
                    self._section(str(sk), sv, _join(path, str(sk)), root)
            elif key == "collectors" and isinstance(v, dict):
                self.use(path, "container")
                for name, c in v.items():
                    self._generic_collector(str(name), c, _join(path, str(name)), root)
            elif key == "summary" and isinstance(v, dict):
                self._summary(v, path, root)
            elif key in ("agent_id", "timestamp"):
                self.ignore(path, "the agent's id, repeated" if key == "agent_id" else R_TIME)
            elif isinstance(v, dict):
                self._section(key, v, path, root)
            elif key in ("workspace_name", "resource_group", "environment", "edition", "account_name",
                         "workspace_host", "project_id", "subscription_id"):
                self.ignore(path, R_NULL if v is None else "describes the agent's scope (not a resource or metric)")
            else:
                self._value(key, v, path, root, [key])

    def _summary(self, v: dict, path: str, root: _Scope) -> None:
        agent = root.but(source="agent", name=[])
        for k, x in v.items():
            kp = _join(path, k)
            n = _number(x, k)
            kind = cost_kind(k)
            if n is not None and kind:
                self.cost_metric(kp, agent, k, kind, n, R_TOTAL)
            else:
                self._value(k, x, kp, agent, [k])

    def _generic_collector(self, name: str, c: Any, path: str, root: _Scope) -> None:
        if not isinstance(c, dict):
            self._value(name, c, path, root, [name])
            return
        ts = _time_of(c.get("collection_time"))
        scope = root.but(ts=ts or root.ts)
        if ts is not None:
            self.use(_join(path, "collection_time"), "time")
        for k, x in c.items():
            kp = _join(path, k)
            if kp in self.used:
                continue
            if k == "data" and isinstance(x, dict):
                self.use(kp, "container")
                self._section(name, x, kp, scope)
            else:
                self._value(k, x, kp, scope, [name, k])

    # ------------------------------------------------------------ sections
    def _section(self, key: str, sec: Any, path: str, root: _Scope) -> None:
        if not isinstance(sec, dict):
            self._value(key, sec, path, root, [key])
            return
        provider = root.provider
        if root.source == "saas":
            provider = PROVIDERS.get(SAAS_PROVIDERS.get(key, ""))
        service = SECTION_SERVICES.get((root.source, key.lower()), (key[:128], "Other"))
        ts = root.ts
        for tk in TIME_FIELDS:
            t = _time_of(sec.get(tk))
            if t is not None:
                ts = t
                self.use(_join(path, tk), "time")
                break
        scope = _Scope(source=root.source, provider=provider, section=key, service=service, ts=ts, name=[key],
                       attribution="attribution" in key.lower(), level=root.level + 1)
        lb = _number(sec.get("lookback_hours"), "lookback_hours")
        if lb is not None:
            scope.lookback_hours = lb
            self.use(_join(path, "lookback_hours"), "context")
        if isinstance(sec.get("service"), str):
            self.use(_join(path, "service"), "identity")
        itemised = _has_costed_items(sec)
        # costs first: a monthly service charge claims its period_start before it is read as a time
        for k in sorted(sec, key=lambda k: cost_kind(str(k)) is None):
            v, kp = sec[k], _join(path, str(k))
            if kp in self.used:
                continue
            kind = cost_kind(str(k))
            n = _number(v, str(k))
            if _is_items(v):
                self._items(str(k), v, kp, scope)
            elif kind and n is not None:
                self._section_cost(str(k), kind, n, kp, scope, sec, itemised)
            else:
                self._value(str(k), v, kp, scope, [str(k)], depth=scope.level)

    def _section_cost(self, key: str, kind: str, amount: Decimal, path: str, scope: _Scope, sec: dict,
                      itemised: bool) -> None:
        if scope.attribution:
            self.cost_metric(path, scope, key, kind, amount, R_ATTRIBUTION)
            return
        if kind == "total" or itemised:
            self.cost_metric(path, scope, key, kind, amount, R_TOTAL)
            return
        if amount == 0:
            self.ignore(path, R_ZERO)
            return
        if scope.provider is None:
            self.reject(path, [{"field": key, "message": "a cost from an unknown provider (no cloud_provider)"}])
            return
        ts = scope.ts
        if kind in ("monthly", "month_to_date", "last_month"):
            ps_path = path.rsplit(".", 1)[0] + ".period_start" if "." in path else "period_start"
            ps = _time_of(sec.get("period_start"))
            if kind == "monthly" and ps is not None:
                ts = ps
                self.use(ps_path, "record")
            start, end = month_bounds(ts)
            if kind == "last_month":
                start, end = month_bounds(start - timedelta(days=1))
            what = {"monthly": "the month's cost", "month_to_date": "the month's cost so far",
                    "last_month": "last month's cost"}[kind]
            self._record(path, scope, None, {}, start, end, amount, "Recurring", f"{what} ({key})")
        elif kind == "daily":
            start = day_floor(ts)
            self._record(path, scope, None, {}, start, start + timedelta(days=1), amount, "Usage-Based",
                         f"the day's cost ({key})")
        elif kind == "hourly":
            start = hour_floor(ts)
            self._record(path, scope, None, {}, start, start + ONE_HOUR, amount, "Usage-Based",
                         f"hourly rate ({key})")
        else:
            self.reject(path, [{"field": key, "message": "a service-level cost without a period (hourly, daily or "
                                                          "monthly): not placed in any charge period"}])

    # ------------------------------------------------------------ items
    def _items(self, key: str, items: list, path: str, scope: _Scope) -> None:
        if scope.level >= MAX_DEPTH:
            self.ignore(path, R_DEPTH)
            return
        ids = [self._id_of(el) for el in items[:MAX_ITEMS]]
        unique = all(ids) and len({i[1] for i in ids if i}) == len(ids)
        for n, el in enumerate(items[:MAX_ITEMS]):
            self._item(key, el, f"{path}[{n}]", scope, unique)
        if len(items) > MAX_ITEMS:
            self.ignore(f"{path}[{MAX_ITEMS}]", R_TOO_MANY, len(items) - MAX_ITEMS)

    @staticmethod
    def _id_of(el: dict) -> tuple[str, str] | None:
        for f in ID_FIELDS:
            v = _scalar_id(el.get(f))
            if v:
                return f, v
        return None

    def _item(self, list_key: str, el: dict, path: str, scope: _Scope, unique: bool) -> None:
        own = self._id_of(el)
        rid = f"{scope.parent_id}/{own[1]}" if own and scope.parent_id else own[1] if own else None
        ts = scope.ts
        for tk in TIME_FIELDS + ("date",):
            t = _time_of(el.get(tk))
            if t is not None:
                ts = t
                self.use(_join(path, tk), "time")
                break
        dims = dict(scope.dims)
        if own and unique:
            dims["resource"] = rid
            self.use(_join(path, own[0]), "identity")
        for k, v in el.items():   # without a unique id, its labels tell its series apart
            if isinstance(v, str) and v.strip() and (k in LABEL_FIELDS or not (own and unique) and (
                    k in ID_FIELDS or k.endswith("_name") or k.endswith("_type"))):
                dims[k] = v
                self.use(_join(path, k), "identity")
        iscope = _Scope(source=scope.source, provider=scope.provider, section=scope.section, service=scope.service,
                        ts=ts, name=scope.name + [list_key], parent_id=rid or scope.parent_id, dims=dims,
                        attribution=scope.attribution or "attribution" in list_key.lower(),
                        lookback_hours=scope.lookback_hours, level=scope.level + 1)
        costs = []
        for k, v in el.items():
            kind = cost_kind(k)
            if not kind or isinstance(v, (dict, list)):
                continue
            n = _number(v, k)
            if n is None and v is not None:  # an unreadable cost rejects its element: nothing is guessed
                self.reject(path, [{"field": k, "message": "not a decimal number"}])
                return
            if n is not None:
                costs.append((k, kind, n))
        main = next((c for kind in _ITEM_KIND_ORDER for c in costs if c[1] == kind), None)
        used: set[str] = set()
        recorded = False
        if main:
            used, recorded = self._item_cost(el, path, iscope, list_key, rid, main)
            for k, kind, n in costs:
                if k != main[0]:
                    self.cost_metric(_join(path, k), iscope, k, kind, n, f"the same charge as {main[0]}, in other units")
                    used.add(k)
        for k, v in el.items():
            kp = _join(path, k)
            if k in used or kp in self.used:
                continue
            if _is_items(v) and _tags(v) is None:
                self._items(k, v, kp, iscope)
            else:
                self._value(k, v, kp, iscope, [k], depth=iscope.level,
                            in_item=R_TEXT_UNMAPPED if recorded else R_TEXT_NO_COST)

    def _item_cost(self, el: dict, path: str, scope: _Scope, list_key: str, rid: str | None,
                   main: tuple[str, str, Decimal]) -> tuple[set[str], bool]:
        """Turn an element's cost into its record(s), or a metric point when another element counts it;
        returns the keys it used and whether records were made."""
        key, kind, amount = main
        kp = _join(path, key)
        used = {key}
        if scope.attribution:
            self.cost_metric(kp, scope, key, kind, amount, R_ATTRIBUTION)
            return used, False
        covered = self._covered(scope, el)
        if covered is not None:
            self.cost_metric(kp, scope, key, kind, amount, covered)
            return used, False
        if scope.provider is None:
            self.reject(path, [{"field": key, "message": "a cost from an unknown provider (no cloud_provider)"}])
            return used, False
        if rid is None:
            self.reject(path, [{"field": key, "message": "an element with a cost needs an id (one of "
                                                          + ", ".join(ID_FIELDS[:12]) + ", ...)"}])
            return used, False
        ts = scope.ts
        if kind == "hourly":
            start = hour_floor(ts)
            spans = [(start, start + ONE_HOUR, amount, f"hourly rate ({key})")]
        elif kind == "monthly":
            start = hour_floor(ts)
            spans = [(start, start + ONE_HOUR, per_hour_of_month(amount, ts),
                      f"monthly cost {fmt(amount)} ({key}) per hour of a {hours_in_month(ts)}-hour month")]
        elif kind == "daily":
            start = day_floor(ts)
            spans = [(start, start + timedelta(days=1), amount, f"the day's cost ({key})")]
        elif kind == "period":
            spans, extra = self._period_spans(el, path, scope, key, amount)
            used |= extra
            if spans is None:
                return used, False
        else:
            self.reject(path, [{"field": key, "message": f"an {kind} cost of a resource: no charge period for it"}])
            return used, False
        for start, end, value, desc in spans:
            if not self._record(kp, scope, rid, el, start, end, value, "Usage-Based", desc, list_key=list_key):
                return used | set(el), False   # rejected as a whole
        return used | self._record_fields(el), True

    def _period_spans(self, el: dict, path: str, scope: _Scope, key: str, amount: Decimal):
        """The period of a cost named without one: a cluster's uptime, a run's times, a look-back window."""
        ts = scope.ts
        up = _number(el.get("uptime_hours"), "uptime_hours")
        if up is not None:
            up_path = _join(path, "uptime_hours")
            self.take(up_path, "record")
            if up <= 0:
                if amount == 0:
                    self.ignore(_join(path, key), "zero cost and no uptime (not running): nothing to record")
                    return None, {"uptime_hours"}
                self.reject(path, [{"field": "uptime_hours", "message": "a cost since start needs a positive uptime"}])
                return None, {"uptime_hours"}
            start = hour_floor(ts)
            began = ts - timedelta(microseconds=int(CONTEXT.multiply(up, Decimal(3600 * 10 ** 6))))
            if began >= start:   # the run began within this hour: its whole cost so far is this hour's
                return [(start, start + ONE_HOUR, amount, f"cost since start ({key}), the run began this hour")], \
                    {"uptime_hours"}
            return [(start, start + ONE_HOUR, _div(amount, up),
                     f"hourly rate = {key} {fmt(amount)} / uptime_hours {fmt(up)}")], {"uptime_hours"}
        t0, t1 = _time_of(el.get("start_time")), _time_of(el.get("end_time"))
        rt = _number(el.get("runtime_seconds"), "runtime_seconds")
        if t0 is not None or rt is not None:
            if t0 is None:
                t0 = ts - timedelta(seconds=float(rt or 0))
            if t1 is None:
                t1 = t0 + timedelta(seconds=float(rt or 0))
            if t1 <= t0:
                t1 = t0 + timedelta(seconds=1)
            extra = {k for k in ("start_time", "end_time") if _time_of(el.get(k)) is not None}
            for k in extra:
                self.take(_join(path, k), "record")
            return [(t0, t1, amount, f"the run's cost ({key})")], extra
        lb = scope.lookback_hours
        if lb is not None and lb in (1, 24):
            start = day_floor(ts) if lb == 24 else hour_floor(ts)
            return [(start, start + timedelta(hours=int(lb)), amount,
                     f"cost of the last {int(lb)} hour{'s' if lb == 24 else ''} ({key})"
                     + (": the day's cost" if lb == 24 else ""))], set()
        why = (f"a cost over {fmt(lb)} hours: only 1- and 24-hour windows map to a charge period" if lb is not None
               else "a cost without a period (hourly, daily, monthly, a run's times, an uptime or a look-back window)")
        self.reject(path, [{"field": key, "message": why}])
        return None, set()

    def _covered(self, scope: _Scope, el: dict) -> str | None:
        """Why another element of the payload already counts this one's cost (None: none does)."""
        if scope.source == "aws" and scope.section == "eks":
            ng = _scalar_id(el.get("nodegroup_name"))
            cluster = (scope.parent_id or "").split("/")[0]
            nodes = self.eks_nodes.get((cluster, ng or ""))
            if nodes:
                shown = ", ".join(nodes[:5]) + (", ..." if len(nodes) > 5 else "")
                return (f"its nodes are the EC2 instances {shown} of services.ec2, counted there "
                        "(EKS nodes are EC2 instances: counted once)")
        if scope.source == "databricks" and scope.section == "clusters" and el.get("cluster_source") == "JOB":
            return R_JOB_CLUSTER
        return None

    @staticmethod
    def _record_fields(el: dict) -> set[str]:
        used = {f[0] for f in (_first_str(el, g) for g in (NAME_FIELDS, TYPE_FIELDS, REGION_FIELDS, ZONE_FIELDS)) if f}
        if _tags(el.get("tags")) is not None:
            used.add("tags")
        return used

    def _record(self, path: str, scope: _Scope, rid: str | None, el: dict, start: datetime, end: datetime,
                amount: Decimal, frequency: str, description: str, *, list_key: str = "") -> bool:
        """The one place a record is built from an agent's figure (FOCUS columns are filled here)."""
        name, rtype, region, zone = (_first_str(el, g) for g in (NAME_FIELDS, TYPE_FIELDS, REGION_FIELDS, ZONE_FIELDS))
        tags = _tags(el.get("tags")) or {}
        service, category = scope.service
        if scope.source == "aws" and scope.section == "eks" and list_key == "nodegroups":
            service, category = SERVICES["ec2"]   # node group nodes are EC2 instances, billed as such
            cluster = (scope.parent_id or "").split("/")[0]
            tags = {EKS_TAGS[0]: cluster, EKS_TAGS[1]: str(el.get("nodegroup_name") or rid), **tags}
        doc = {
            "ProviderName": scope.provider, "BillingAccountId": self.account, "ServiceName": service,
            "ServiceCategory": category, "ResourceId": rid,
            "ResourceName": (name[1] if name else rid) if rid else None,
            "ResourceType": (rtype[1] if rtype else list_key or None) if rid else None,
            "RegionId": region[1][:64] if region else self.region, "AvailabilityZone": zone[1] if zone else None,
            "ChargePeriodStart": iso(start), "ChargePeriodEnd": iso(end),
            "BilledCost": amount, "BillingCurrency": "USD", "ChargeCategory": "Usage", "ChargeFrequency": frequency,
            "ChargeDescription": f"{service}: {description}, reported by an OpenFinOps agent"[:1024],
            "Tags": tags, "x_CostSource": "estimated", "x_Collector": COLLECTOR,
        }
        if end - start == ONE_HOUR:
            doc.update({"ListUnitPrice": amount, "PricingQuantity": "1", "PricingUnit": "Hours",
                        "ConsumedQuantity": "1", "ConsumedUnit": "Hours"})
        try:
            r = parse_record({k: v for k, v in doc.items() if v is not None and v != ""},
                             provider_taxonomy(scope.provider))
        except ValidationError as e:
            self.reject(path.rsplit(".", 1)[0] if rid and "." in path else path, e.details or [])
            return False
        if r.id in self._records:
            self.not_counted(path, amount, R_DUPLICATE)
            self.take(path, "not_counted")
            return True
        self._records[r.id] = r
        self.take(path, "record")
        if rid:
            item = path.rsplit(".", 1)[0]
            for k in self._record_fields(el):
                self.take(_join(item, k), "record")
        return True

    # ------------------------------------------------------------ everything else
    def _value(self, key: str, v: Any, path: str, scope: _Scope, names: list[str], *, depth: int = 0,
               in_item: str | None = None, health: bool = False) -> None:
        """A value no rule above claimed: numbers become metric points, anything else is listed as ignored."""
        k = str(key).lower()
        if depth > MAX_DEPTH:
            self.ignore(path, R_DEPTH)
            return
        n = _number(v, k)
        if v is None:
            self.ignore(path, R_NULL)
        elif isinstance(v, bool):
            self.ignore(path, R_FLAG)
        elif n is not None:
            kind = cost_kind(k)
            if k in ID_FIELDS or k.endswith("_id") or k == "id":
                self.ignore(path, R_ID)
            elif "version" in k:
                self.ignore(path, "a version number, not a metric")
            elif not kind and (_TIMEISH.search(k) or k == "last_collection") and abs(n) >= 10 ** 9:
                self.ignore(path, R_TIME)   # epoch seconds or milliseconds, not a duration
            elif kind:   # a cost inside a nested object: no rule places it in a period
                self.cost_metric(path, scope, ".".join(names), kind, n, R_NESTED_COST)
            else:
                self.metric(path, scope, names, n, health=health)
        elif isinstance(v, str):
            if k == "error":
                self.ignore(path, f"the agent reported an error here: {v[:200]}")
            elif k == "note":
                self.ignore(path, f"a note from the agent: {v[:200]}")
            elif cost_kind(k):
                self.reject(path, [{"field": str(key)[:64], "message": "not a decimal number"}])
            elif _TIMEISH.search(k):
                self.ignore(path, R_TIME)
            elif k in ID_FIELDS or k.endswith("_id"):
                self.ignore(path, R_ID)
            else:
                self.ignore(path, in_item or R_TEXT)
        elif isinstance(v, dict):
            if k == "tags" and v:
                self.ignore(path, "tags of an element that has no cost record")
                return
            for sk, sv in v.items():
                self._value(str(sk), sv, _join(path, str(sk)), scope, names + [str(sk)], depth=depth + 1,
                            in_item=in_item, health=health)
        elif isinstance(v, list):
            if _is_items(v) and _tags(v) is None:
                self._items(str(key), v, path, scope.but(name=scope.name + names[:-1], level=depth + 1))
            elif v and all(_number(x, k) is not None for x in v):
                for i, x in enumerate(v[:MAX_ITEMS]):
                    self.metric(f"{path}[{i}]", scope, names, _number(x, k), dims={"index": str(i)}, health=health)
            else:
                for i, x in enumerate(v[:MAX_ITEMS]):
                    if isinstance(x, (dict, list)):
                        self._value(str(key), x, f"{path}[{i}]", scope, names, depth=depth + 1, in_item=in_item,
                                    health=health)
                    elif k == "tags":
                        self.ignore(f"{path}[{i}]", "network tags (labels without values), not cost allocation tags")
                    else:
                        self.ignore(f"{path}[{i}]", R_NULL if x is None else R_TEXT_LIST)
        else:
            self.ignore(path, R_TEXT)

    # ------------------------------------------------------------ result
    def _finish(self) -> Translation:
        t = self.t
        t.records = list(self._records.values())
        t.metrics = list(self._metrics.values())
        t.ignored = [{"path": p, "reason": r, "count": c} for (p, r), c in self._ignored.items()]
        t.not_counted = [{"path": p, "reason": r, "count": c, "amount": fmt(a)}
                         for (p, r), (c, a) in self._not_counted.items()]
        return t


def agent_info(payload: Any) -> tuple[str, dict[str, Any]]:
    """Validate a registration payload: ``{"agent_id", "hostname", "cloud_provider", "region",
    "agent_type", "agent_version", "config"}``."""
    if not isinstance(payload, dict):
        raise ValidationError("registration must be a JSON object", details=[{"field": "", "message": "not an object"}])
    errors = []
    agent_id = payload.get("agent_id")
    if not isinstance(agent_id, str) or not 0 < len(agent_id) <= 128:
        errors.append({"field": "agent_id", "message": "required string of 1-128 characters"})
    info: dict[str, Any] = {}
    for f in ("hostname", "cloud_provider", "region", "agent_type", "agent_version"):
        v = payload.get(f)
        if v is None:
            continue
        if not isinstance(v, str) or len(v) > 256:
            errors.append({"field": f, "message": "expected a string of at most 256 characters"})
        else:
            info[f] = v
    cfg = payload.get("config")
    if cfg is not None:
        if not isinstance(cfg, dict):
            errors.append({"field": "config", "message": "expected an object"})
        else:
            info["config"] = _plain(cfg)
    if errors:
        raise ValidationError("invalid agent registration", details=errors)
    return agent_id, info


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def iter_leaves(obj: Any, path: str = "") -> Iterable[str]:
    """Every leaf value's path pattern (``[]`` for list indices): what :func:`translate` accounts for."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from iter_leaves(v, _join(path, str(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from iter_leaves(v, f"{path}[{i}]")
    else:
        yield _pat(path)

