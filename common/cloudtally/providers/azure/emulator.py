"""A local stand-in for the Azure APIs the ``azure`` collector reads: ARM lists, Azure Monitor
``metrics:getBatch`` and the Cost Management Query API, over HTTP (what moto is for the AWS collector).

Used by the contract replay (recorded responses in ``tests/fixtures/azure/estate.json``), the tests, the
benchmark (a generated fleet) and ``make up`` (:func:`demo_estate`). It answers in the documented shapes —
ARM ``{"value": [...], "nextLink"}`` pages, getBatch ``{"values": [...]}``, Query ``{"properties":
{"columns", "rows", "nextLink"}}`` — and checks what the real services check: a bearer token, one
subscription, region and resource type per metrics batch (at most 50 resources), at most 2 groupings and 31
days per daily cost query. It can throttle (``throttle={"costmanagement": 1}``: HTTP 429 with the
``x-ms-ratelimit-microsoft.costmanagement-*-retry-after`` headers) and deny a subscription (HTTP 403
``AuthorizationFailed``). Metric values are deterministic: from the estate's ``metrics`` map, else from a
hash of the resource and metric.

Endpoints: ARM at ``http://127.0.0.1:<port>``, metrics at ``http://127.0.0.1:<port>/metrics/{region}``.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import threading
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ...focus import UTC, iso
from .taxonomy import arm_type

PAGE_SIZE = 100
_LIST = re.compile(r"^/subscriptions/([^/]+)/providers/([^/]+/[^/]+)$", re.I)
_CHILD = re.compile(r"^(/subscriptions/([^/]+)/resourcegroups/[^/]+/providers/microsoft\.sql/servers/[^/]+)/"
                    r"(databases|elasticpools)$", re.I)
_QUERY = re.compile(r"^/subscriptions/([^/]+)/providers/microsoft\.costmanagement/query$", re.I)
_BATCH = re.compile(r"^/metrics/([^/]+)/subscriptions/([^/]+)/metrics:getbatch$", re.I)
_DURATION = {"PT1M": 60, "PT5M": 300, "PT15M": 900, "PT30M": 1800, "PT1H": 3600, "PT6H": 21600, "PT12H": 43200,
             "P1D": 86400}


def _dec(o: Any) -> Any:
    if isinstance(o, Decimal):
        return float(o) if o != o.to_integral_value() else int(o)
    raise TypeError(type(o).__name__)


@dataclass
class Estate:
    """What the emulated tenant holds.

    ``lists[sub][type]`` are ARM list ``value`` arrays (``Microsoft.Compute/virtualMachines``, and for SQL
    children ``<server id>/databases``); ``costs[sub]`` rows ``{"date", "resourceId", "serviceName",
    "currency", "actual", "amortized"}``; ``metrics[resource id][metric]`` a number (or for BlobCapacity
    ``{tier: bytes}``): the level every point of an average series takes, or a day's total of a total series
    (a point of an hourly series is 1/24 of it)."""

    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    lists: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    costs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> "Estate":
        """An estate from recorded responses: ``{"subscriptions": {"value": [...]}, "lists": {sub: {type:
        {"value": [...]}}}, "costs": {...}, "metrics": {...}}``."""
        doc = json.loads(Path(path).read_text(), parse_float=Decimal)
        return cls(subscriptions=doc["subscriptions"]["value"],
                   lists={s.lower(): {t.lower(): body["value"] for t, body in types.items()}
                          for s, types in doc.get("lists", {}).items()},
                   costs={s.lower(): rows for s, rows in doc.get("costs", {}).items()},
                   metrics={k.lower(): v for k, v in doc.get("metrics", {}).items()})

    def resources(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """resource id (lower case) → (type key, resource) over every list."""
        out = {}
        for sub, types in self.lists.items():
            for t, items in types.items():
                for r in items:
                    out[str(r.get("id", "")).lower()] = (t, r)
        return out


class Emulator:
    """``with Emulator(estate) as emu:`` — serves the estate on a free local port (``emu.url``)."""

    def __init__(self, estate: Estate, *, page_size: int = PAGE_SIZE, throttle: dict[str, int] | None = None,
                 forbidden: set[str] | None = None, port: int = 0):
        self.estate = estate
        self.page_size = page_size
        self.throttle = dict(throttle or {})
        self.forbidden = {s.lower() for s in forbidden or set()}
        self.requests: Counter = Counter()           # "<kind>" → count, what reached the emulator
        self.log: list[tuple[str, str]] = []
        self._index = estate.resources()
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.metrics_url = f"{self.url}/metrics/{{region}}"

    def __enter__(self) -> "Emulator":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> "Emulator":
        return self.__enter__()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------ HTTP
    def _handler(self) -> type:
        emu = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body, default=_dec).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._reply(*emu.handle("GET", self.path, self.headers, b""))

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                self._reply(*emu.handle("POST", self.path, self.headers, self.rfile.read(n)))

        return Handler

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, Any, dict[str, str]]:
        parts = urllib.parse.urlsplit(raw_path)
        path, qs = parts.path, dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        kind = ("metrics" if _BATCH.match(path) else "costmanagement" if _QUERY.match(path) else "arm")
        with self._lock:
            self.requests[kind] += 1
            self.log.append((method, raw_path))
            throttled = self.throttle.get(kind, 0) > 0
            if throttled:
                self.throttle[kind] -= 1
        if not str(headers.get("Authorization") or "").startswith("Bearer "):
            return 401, {"error": {"code": "AuthenticationFailed", "message": "no bearer token"}}, {}
        if throttled:
            hdrs = ({"x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "2",
                     "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after": "3",
                     "x-ms-ratelimit-microsoft.costmanagement-qpu-remaining": "QueryResource=0"}
                    if kind == "costmanagement" else {"Retry-After": "1"})
            return 429, {"error": {"code": "429", "message": "Too many requests. Please retry."}}, hdrs
        sub = _subscription_of(path)
        if sub and sub.lower() in self.forbidden:
            return 403, {"error": {"code": "AuthorizationFailed", "message": (
                f"The client 'cloudtally-collector' does not have authorization to perform action over scope "
                f"'/subscriptions/{sub}' or the scope is invalid.")}}, {}
        try:
            doc = json.loads(body or b"null", parse_float=Decimal)
            if kind == "metrics":
                return self._metrics(path, qs, doc)
            if kind == "costmanagement":
                return self._query(path, qs, doc)
            return self._arm(path, qs)
        except _Bad as e:
            return 400, {"error": {"code": e.code, "message": e.message}}, {}

    # ------------------------------------------------------------ ARM lists
    def _slice(self, items: list[Any], qs: dict[str, str], base: str) -> tuple[list[Any], str | None]:
        """One page of ``items`` and the link to the next (``$skiptoken`` = the offset), or None."""
        skip = int(qs.get("$skiptoken") or 0)
        nxt = None
        if skip + self.page_size < len(items):
            q = {k: v for k, v in qs.items() if k != "$skiptoken"}
            q["$skiptoken"] = str(skip + self.page_size)
            nxt = f"{self.url}{base}?{urllib.parse.urlencode(q)}"
        return items[skip:skip + self.page_size], nxt

    def _page(self, items: list[Any], qs: dict[str, str], base: str) -> dict[str, Any]:
        page, nxt = self._slice(items, qs, base)
        return {"value": page, "nextLink": nxt} if nxt else {"value": page}

    def _arm(self, path: str, qs: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if "api-version" not in qs:
            raise _Bad("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required")
        if path.rstrip("/").lower() == "/subscriptions":
            return 200, self._page(self.estate.subscriptions, qs, path), {}
        m = _LIST.match(path)
        if m:
            items = self.estate.lists.get(m.group(1).lower(), {}).get(m.group(2).lower(), [])
            if m.group(2).lower() == "microsoft.compute/virtualmachines" and qs.get("statusOnly") != "true":
                items = [{**v, "properties": {k: x for k, x in (v.get("properties") or {}).items()
                                              if k != "instanceView"}} for v in items]
            return 200, self._page(items, qs, path), {}
        m = _CHILD.match(path)
        if m:
            items = self.estate.lists.get(m.group(2).lower(), {}).get(f"{m.group(1)}/{m.group(3)}".lower(), [])
            return 200, self._page(items, qs, path), {}
        return 404, {"error": {"code": "ResourceNotFound", "message": f"no route {path}"}}, {}

    # ------------------------------------------------------------ Cost Management
    def _query(self, path: str, qs: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        sub = _QUERY.match(path).group(1).lower()
        if not isinstance(body, dict) or body.get("type") not in ("ActualCost", "AmortizedCost", "Usage"):
            raise _Bad("BadRequest", "type must be ActualCost, AmortizedCost or Usage")
        ds = body.get("dataset") or {}
        grouping = [g.get("name") for g in ds.get("grouping") or []]
        if len(grouping) > 2:
            raise _Bad("BadRequest", "at most 2 groupings")
        tp = body.get("timePeriod") or {}
        first, last = date.fromisoformat(tp["from"][:10]), date.fromisoformat(tp["to"][:10])
        if ds.get("granularity") == "Daily" and (last - first).days + 1 > 31:
            raise _Bad("BadRequest", "Daily granularity: the time period can be at most 31 days")
        groups = None
        flt = (ds.get("filter") or {}).get("dimensions") or {}
        if flt.get("name") == "ResourceGroupName":
            groups = {v.lower() for v in flt.get("values") or []}
        amount_key = "actual" if body["type"] != "AmortizedCost" else "amortized"
        sums: dict[tuple, Decimal] = defaultdict(Decimal)
        for row in self.estate.costs.get(sub, []):
            d = date.fromisoformat(row["date"])
            rg = (row.get("resourceId") or "").lower().split("/resourcegroups/")[-1].split("/")[0]
            if not first <= d <= last or (groups is not None and rg not in groups):
                continue
            amount = Decimal(str(row.get(amount_key, 0)))
            if amount == 0 and amount_key not in row:
                continue
            key = (int(d.strftime("%Y%m%d")),) + tuple(
                {"ResourceId": row.get("resourceId", ""), "ServiceName": row.get("serviceName", ""),
                 "ResourceGroupName": rg}.get(g, "") for g in grouping) + (row.get("currency", "USD"),)
            sums[key] += amount
        rows = [[v, *k] for k, v in sorted(sums.items())]
        cols = ([{"name": "Cost", "type": "Number"}, {"name": "UsageDate", "type": "Number"}]
                + [{"name": g, "type": "String"} for g in grouping] + [{"name": "Currency", "type": "String"}])
        page, nxt = self._slice(rows, qs, path)
        return 200, {"id": f"/subscriptions/{sub}/providers/Microsoft.CostManagement/query/emulated",
                     "name": "emulated", "type": "microsoft.costmanagement/Query",
                     "properties": {"nextLink": nxt, "columns": cols, "rows": page}}, {}

    # ------------------------------------------------------------ metrics:getBatch
    def _metrics(self, path: str, qs: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        m = _BATCH.match(path)
        region, sub = m.group(1).lower(), m.group(2).lower()
        ids = [str(i) for i in (body or {}).get("resourceids") or []]
        if not ids or len(ids) > 50:
            raise _Bad("BadRequest", "resourceids: between 1 and 50 resource ids")
        names = [n for n in (qs.get("metricnames") or "").split(",") if n]
        if not names or len(names) > 20:
            raise _Bad("BadRequest", "metricnames: between 1 and 20 names")
        namespace = (qs.get("metricnamespace") or "").lower()
        step = _DURATION.get(qs.get("interval") or "PT1M")
        if step is None:
            raise _Bad("BadRequest", f"interval {qs.get('interval')} is not supported")
        start, end = _t(qs["starttime"]), _t(qs["endtime"])
        aggs = [a for a in (qs.get("aggregation") or "average").split(",") if a]
        values = []
        for rid in ids:
            base_id = rid.lower().removesuffix("/blobservices/default")
            hit = self._index.get(base_id)
            if hit is None:
                raise _Bad("ResourceNotFound", f"{rid} not found")
            _, res = hit
            if not base_id.startswith(f"/subscriptions/{sub}/"):
                raise _Bad("BadRequest", f"{rid}: every resource of a batch must be in subscription {sub}")
            if (res.get("location") or "").lower().replace(" ", "") != region:
                raise _Bad("BadRequest", f"{rid} is in {res.get('location')}, not {region}")
            if (arm_type(base_id) or "") != namespace.removesuffix("/blobservices"):
                raise _Bad("BadRequest", f"{rid} is not a {qs.get('metricnamespace')}")
            series = []
            for name in names:
                series.append({"id": f"{rid}/providers/Microsoft.Insights/metrics/{name}", "type": "Microsoft.Insights/metrics",
                               "name": {"value": name, "localizedValue": name}, "unit": _unit(name),
                               "errorCode": "Success", "timeseries": self._series(rid.lower(), name, start, end, step, aggs,
                                                                                   qs.get("filter"))})
            values.append({"starttime": iso(start), "endtime": iso(end), "interval": qs.get("interval"),
                           "namespace": qs.get("metricnamespace"), "resourceregion": region, "resourceid": rid,
                           "value": series})
        return 200, {"values": values}, {}

    def _series(self, rid: str, name: str, start: datetime, end: datetime, step: int, aggs: list[str],
                flt: str | None) -> list[dict[str, Any]]:
        given = self.estate.metrics.get(rid, {}).get(name)
        splits: list[tuple[list[dict[str, Any]], Any]]
        if isinstance(given, dict):            # dimension value → number (BlobCapacity by tier)
            splits = [([{"name": {"value": "tier", "localizedValue": "tier"}, "value": k}] if flt else [], v)
                      for k, v in sorted(given.items())]
        else:
            splits = [([], given)]
        out = []
        for meta, value in splits:
            data = []
            t = start
            while t < end:
                v = Decimal(str(value)) if value is not None else _synthetic(rid, name, t)
                point: dict[str, Any] = {"timeStamp": iso(t)}
                for a in aggs:     # a given series value is a day's total (counts) or a level (averages)
                    point[a] = v if a != "total" else (v * step / 86400 if value is not None else v * (step // 3600 or 1))
                data.append(point)
                t += timedelta(seconds=step)
            out.append({"metadatavalues": meta, "data": data})
        return out


class _Bad(Exception):
    def __init__(self, code: str, message: str):
        self.code, self.message = code, message


def _subscription_of(path: str) -> str | None:
    m = re.search(r"/subscriptions/([^/?]+)", path, re.I)
    return m.group(1) if m else None


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def _unit(name: str) -> str:
    n = name.lower()
    return ("Percent" if "percent" in n or "cpu" in n else "Bytes" if "bytes" in n or "capacity" in n or "total" in n
            else "Count")


def _synthetic(rid: str, name: str, t: datetime) -> Decimal:
    """A deterministic, plausible value: percentages 5-85, byte counts in MB-GB, counts in the thousands."""
    h = int(hashlib.blake2b(f"{rid}|{name}|{t.hour}".encode(), digest_size=4).hexdigest(), 16)
    unit = _unit(name)
    if unit == "Percent":
        return Decimal(5 + h % 81) + Decimal(h % 10) / 10
    if name == "Available Memory Bytes":
        return Decimal((1 + h % 6) * 1024 ** 3)
    if unit == "Bytes":
        return Decimal((1 + h % 900) * 1024 ** 2)
    return Decimal(100 + h % 5000)


# ---------------------------------------------------------------- generated estates

def _vm(sub: str, rg: str, name: str, location: str, size: str, *, os_type: str = "Linux", spot: bool = False,
        state: str = "running", created: datetime, tags: dict[str, str] | None = None,
        disk_gb: int = 128) -> dict[str, Any]:
    rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"
    return {"id": rid, "name": name, "type": "Microsoft.Compute/virtualMachines", "location": location,
            "tags": tags or {}, "properties": {
                "vmId": hashlib.md5(rid.encode()).hexdigest(), "timeCreated": iso(created),
                "hardwareProfile": {"vmSize": size}, "priority": "Spot" if spot else "Regular",
                "storageProfile": {"osDisk": {"osType": os_type, "name": f"{name}-osdisk", "diskSizeGB": disk_gb}},
                "provisioningState": "Succeeded",
                "instanceView": {"statuses": [{"code": "ProvisioningState/succeeded", "level": "Info",
                                               "displayStatus": "Provisioning succeeded", "time": iso(created)},
                                              {"code": f"PowerState/{state}", "level": "Info",
                                               "displayStatus": f"VM {state}"}]}}}


def fleet_estate(now: datetime, *, subscription: str = "11111111-2222-3333-4444-555555555555", vms: int = 1000,
                 regions: tuple[str, ...] = ("eastus", "westeurope"), sizes: tuple[str, ...] = (
                     "Standard_D2s_v5", "Standard_D4s_v5", "Standard_B2s", "Standard_E4s_v5")) -> Estate:
    """``vms`` running VMs spread over ``regions`` (the benchmark's fleet), created a week before ``now``."""
    created = now - timedelta(days=7)
    items = [_vm(subscription, f"rg-{i % 10}", f"vm-{i:05d}", regions[i % len(regions)], sizes[i % len(sizes)],
                 created=created, tags={"team": f"team-{i % 7}"}) for i in range(vms)]
    return Estate(subscriptions=[{"id": f"/subscriptions/{subscription}", "subscriptionId": subscription,
                                  "displayName": "bench", "state": "Enabled"}],
                  lists={subscription: {"microsoft.compute/virtualmachines": items}})


DEMO_SUBSCRIPTION = "5f2a9d1c-3b7e-4c8a-9f10-2d6e8b4a7c31"


def demo_estate(now: datetime, *, subscription: str = DEMO_SUBSCRIPTION, settle_days: int = 2) -> Estate:
    """The ``make up`` subscription at ``now``: 20 VMs (Linux/Windows, one spot, one deallocated), an AKS cluster
    with a 3-node user pool and a 2-node system pool (scale sets), disks, Function apps on Consumption, Flex and
    Premium plans, SQL (DTU, vCore, an elastic pool) and two storage accounts; and its bill: Cost Management rows
    for the days more than ``settle_days`` old (what the catalog prices, ±3 %, amortised 8 % lower for VMs)."""
    from ...catalog import load
    s = subscription
    start = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=60)
    cat = load("azure")
    teams = ("web", "data", "ml", "platform")
    vms = []
    for i in range(20):
        region = "westeurope" if i % 4 else "northeurope"
        size = ("Standard_D2s_v5", "Standard_D4s_v5", "Standard_B2s", "Standard_E4s_v5")[i % 4]
        vms.append(_vm(s, f"rg-{teams[i % 4]}", f"vm-{teams[i % 4]}-{i:02d}", region, size,
                       os_type="Windows" if i in (3, 7) else "Linux", spot=i == 11,
                       state="deallocated" if i == 19 else "running", created=start,
                       tags={"team": teams[i % 4], "project": ("checkout", "search", "analytics", "recsys")[i % 4],
                             "environment": "prod" if i % 3 else "staging"}))
    rg_aks = f"/subscriptions/{s}/resourceGroups/rg-aks"
    node_rg = "MC_rg-aks_aks-prod_westeurope"
    cluster = {"id": f"{rg_aks}/providers/Microsoft.ContainerService/managedClusters/aks-prod", "name": "aks-prod",
               "type": "Microsoft.ContainerService/ManagedClusters", "location": "westeurope",
               "sku": {"name": "Base", "tier": "Standard"}, "tags": {"team": "platform"},
               "systemData": {"createdAt": iso(start)},
               "properties": {"kubernetesVersion": "1.31.2", "nodeResourceGroup": node_rg,
                              "powerState": {"code": "Running"}, "provisioningState": "Succeeded",
                              "agentPoolProfiles": [
                                  {"name": "system", "count": 2, "vmSize": "Standard_D2s_v5", "mode": "System",
                                   "osType": "Linux", "enableAutoScaling": False, "type": "VirtualMachineScaleSets"},
                                  {"name": "user", "count": 3, "vmSize": "Standard_D4s_v5", "mode": "User",
                                   "osType": "Linux", "enableAutoScaling": True, "minCount": 1, "maxCount": 5,
                                   "type": "VirtualMachineScaleSets"}]}}
    sets = [{"id": f"/subscriptions/{s}/resourceGroups/{node_rg}/providers/Microsoft.Compute/virtualMachineScaleSets/"
                   f"aks-{p}-12345678-vmss", "name": f"aks-{p}-12345678-vmss", "location": "westeurope",
             "sku": {"name": size, "tier": "Standard", "capacity": n},
             "tags": {"aks-managed-poolName": p, "aks-managed-orchestrator": "Kubernetes:1.31.2", "team": "platform"},
             "properties": {"orchestrationMode": "Uniform", "timeCreated": iso(start),
                            "virtualMachineProfile": {"storageProfile": {"osDisk": {"osType": "Linux"}},
                                                      "priority": "Regular"}}}
            for p, size, n in (("system", "Standard_D2s_v5", 2), ("user", "Standard_D4s_v5", 3))]
    disks = [{"id": f"/subscriptions/{s}/resourceGroups/rg-{teams[i % 4]}/providers/Microsoft.Compute/disks/"
                    f"vm-{teams[i % 4]}-{i:02d}-osdisk", "name": f"vm-{teams[i % 4]}-{i:02d}-osdisk",
              "location": v["location"], "sku": {"name": "Premium_LRS" if i % 2 else "StandardSSD_LRS"},
              "tags": v["tags"], "properties": {"diskSizeGB": 128, "diskState": "Attached", "timeCreated": iso(start)}}
             for i, v in enumerate(vms)]
    rg_fn = f"/subscriptions/{s}/resourceGroups/rg-functions/providers/Microsoft.Web"
    plans = [{"id": f"{rg_fn}/serverfarms/{n}", "name": n, "location": "westeurope", "kind": "functionapp,linux",
              "sku": {"name": sku, "tier": tier, "capacity": cap}, "properties": {"reserved": True},
              "systemData": {"createdAt": iso(start)}}
             for n, sku, tier, cap in (("plan-consumption", "Y1", "Dynamic", 0), ("plan-flex", "FC1", "FlexConsumption", 0),
                                       ("plan-premium", "EP1", "ElasticPremium", 1))]
    sites = [{"id": f"{rg_fn}/sites/{n}", "name": n, "location": "westeurope", "kind": "functionapp,linux",
              "tags": {"team": t}, "properties": {"serverFarmId": f"{rg_fn}/serverfarms/{plan}", "state": "Running"}}
             for n, plan, t in (("fn-thumbnails", "plan-consumption", "web"), ("fn-ingest", "plan-flex", "data"),
                                ("fn-scoring", "plan-premium", "ml"))]
    srv = f"/subscriptions/{s}/resourceGroups/rg-data/providers/Microsoft.Sql/servers/sql-crm"
    server = {"id": srv, "name": "sql-crm", "location": "westeurope", "properties": {"state": "Ready"}}
    dbs = [{"id": f"{srv}/databases/{n}", "name": n, "location": "westeurope", "sku": sku, "tags": {"team": "data"},
            "properties": {"status": "Online", "creationDate": iso(start), "maxSizeBytes": size,
                           **({"elasticPoolId": f"{srv}/elasticPools/pool-tenants"} if pool else {})}}
           for n, sku, size, pool in (
               ("master", {"name": "System", "tier": "System", "capacity": 0}, 32 * 1024 ** 3, False),
               ("crm", {"name": "S2", "tier": "Standard", "capacity": 50}, 250 * 1024 ** 3, False),
               ("orders", {"name": "GP_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 2},
                64 * 1024 ** 3, False),
               ("tenant-a", {"name": "ElasticPool", "tier": "Standard", "capacity": 0}, 50 * 1024 ** 3, True))]
    pools = [{"id": f"{srv}/elasticPools/pool-tenants", "name": "pool-tenants", "location": "westeurope",
              "sku": {"name": "StandardPool", "tier": "Standard", "capacity": 50},
              "properties": {"state": "Ready", "creationDate": iso(start), "maxSizeBytes": 50 * 1024 ** 3}}]
    accounts = [{"id": f"/subscriptions/{s}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/{n}",
                 "name": n, "location": "westeurope", "kind": "StorageV2", "sku": {"name": sku, "tier": "Standard"},
                 "tags": {"team": t}, "properties": {"accessTier": "Hot", "creationTime": iso(start)}}
                for n, sku, t in (("stdatalake01", "Standard_LRS", "data"), ("starchive01", "Standard_GRS", "ml"))]
    metrics: dict[str, dict[str, Any]] = {
        accounts[0]["id"].lower() + "/blobservices/default": {"BlobCapacity": {"Hot": 2048 * 1024 ** 3,
                                                                              "Cool": 6144 * 1024 ** 3}},
        accounts[1]["id"].lower() + "/blobservices/default": {"BlobCapacity": {"Cool": 1024 * 1024 ** 3,
                                                                              "Archive": 20480 * 1024 ** 3}},
        sites[0]["id"].lower(): {"FunctionExecutionCount": 420000, "FunctionExecutionUnits": 52_000_000_000},
        sites[1]["id"].lower(): {"OnDemandFunctionExecutionCount": 180000,
                                 "OnDemandFunctionExecutionUnits": 30_000_000_000}}
    lists = {s: {"microsoft.compute/virtualmachines": vms, "microsoft.compute/virtualmachinescalesets": sets,
                 "microsoft.compute/disks": disks, "microsoft.containerservice/managedclusters": [cluster],
                 "microsoft.web/sites": sites, "microsoft.web/serverfarms": plans, "microsoft.sql/servers": [server],
                 f"{srv}/databases".lower(): dbs, f"{srv}/elasticpools".lower(): pools,
                 "microsoft.storage/storageaccounts": accounts}}
    # the bill: per resource and settled day, what the catalog says, ±3 % (deterministic), VMs amortised lower
    daily = _demo_daily(cat, vms, sets, disks, cluster, plans, dbs, pools, accounts)
    costs = []
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    d = today - timedelta(days=45)
    while d < today - timedelta(days=settle_days):
        for rid, svc, amount, amortised in daily:
            h = int(hashlib.blake2b(f"{rid}|{d.date()}".encode(), digest_size=2).hexdigest(), 16)
            actual = (amount * Decimal(97 + h % 7) / 100).quantize(Decimal("0.0000001"))
            costs.append({"date": d.date().isoformat(), "resourceId": rid.lower(), "serviceName": svc, "currency": "USD",
                          "actual": actual, "amortized": (actual * amortised).quantize(Decimal("0.0000001"))})
        d += timedelta(days=1)
    return Estate(subscriptions=[{"id": f"/subscriptions/{s}", "subscriptionId": s, "displayName": "demo-production",
                                  "state": "Enabled"}], lists=lists, costs={s: costs},
                  metrics={k.lower(): v for k, v in metrics.items()})


def _demo_daily(cat: Any, vms: list, sets: list, disks: list, cluster: dict, plans: list, dbs: list, pools: list,
                accounts: list) -> list[tuple[str, str, Decimal, Decimal]]:
    """(resource id, ServiceName as Cost Management spells it, a day's list cost, amortised/actual ratio)."""
    out = []
    for v in vms:
        p = v["properties"]
        if "deallocated" in p["instanceView"]["statuses"][1]["code"]:
            continue
        prio = "spot" if p["priority"] == "Spot" else "regular"
        price = cat.price("vm", v["location"], p["hardwareProfile"]["vmSize"], p["storageProfile"]["osDisk"]["osType"].lower(), prio)
        out.append((v["id"], "Virtual Machines", price.amount * 24, Decimal("0.92")))
    for ss in sets:
        price = cat.price("vm", ss["location"], ss["sku"]["name"], "linux", "regular")
        out.append((ss["id"], "Virtual Machines", price.amount * 24 * ss["sku"]["capacity"], Decimal("0.92")))
    for dk in disks:
        tier = ("P10" if dk["sku"]["name"] == "Premium_LRS" else "E10")
        out.append((dk["id"], "Storage", cat.price("disk", dk["location"], tier).amount * 12 / 365, Decimal(1)))
    out.append((cluster["id"], "Azure Kubernetes Service", cat.price("aks", "westeurope", "standard").amount * 24, Decimal(1)))
    out.append((plans[2]["id"], "Functions", cat.price("functions_premium", "westeurope", "EP1").amount * 24, Decimal(1)))
    out.append((dbs[1]["id"], "SQL Database", cat.price("sql_dtu", "westeurope", "S2").amount, Decimal(1)))
    out.append((dbs[2]["id"], "SQL Database", cat.price("sql_vcore", "westeurope", "generalpurpose", "gen5").amount * 48,
                Decimal(1)))
    out.append((pools[0]["id"], "SQL Database", cat.price("sql_pool_dtu", "westeurope", "standard", "50").amount,
                Decimal(1)))
    out.append((accounts[0]["id"], "Storage", Decimal("2.10"), Decimal(1)))
    out.append((accounts[1]["id"], "Storage", Decimal("1.35"), Decimal(1)))
    out.append(("", "Bandwidth", Decimal("0.84"), Decimal(1)))
    return out
