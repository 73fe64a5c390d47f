"""Local fakes of the SaaS vendors' billing APIs, answering with their documented response shapes.

One standard-library HTTP server on loopback serves four vendors under path prefixes, so a collector is
pointed at it with its ``base_url`` alone:

=============  ==========================  ======================================================
vendor         ``base_url``                what it answers (shapes from the vendors' OpenAPI docs)
=============  ==========================  ======================================================
atlas          ``{url}/atlas``             ``/api/oauth/token``, ``/api/atlas/v2/orgs/{org}/groups``,
                                           ``/groups/{gid}/clusters``, ``/orgs/{org}/invoices[/pending|/{id}]``
                                           (versioned ``Accept`` required; Digest or bearer auth)
redis-cloud    ``{url}/redis/v1``          ``/subscriptions``, ``/subscriptions/{id}/databases|pricing``,
                                           ``POST /cost-report``, ``/tasks/{id}``, ``/cost-report/{id}``
github         ``{url}/github``            ``/organizations/{org}/settings/billing/usage`` (``Link`` paging);
                                           the removed ``/orgs/{org}/settings/billing/*`` answer 410
datadog        ``{url}/datadog``           ``/api/v2/usage/estimated_cost|historical_cost|hourly_usage``
=============  ==========================  ======================================================

State is plain data (:class:`FakeState`, JSON-like, amounts as Decimal, sent as JSON numbers) that a
test may change between runs (revise an invoice, add a day); ``fail(vendor, status, headers)`` queues
answers such as a 429 with ``Retry-After``; ``requests`` records every request. Used by the contract
replays (recorded fixtures as state), the unit tests, ``make up`` (:func:`demo_state`) and
``bench/saas_collectors.py``. Never bound to anything but 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .focus import UTC, iso
from .providers.http import parse_auth_params

_ATLAS_ACCEPT = re.compile(r"application/vnd\.atlas\.\d{4}-\d{2}-\d{2}\+json")
REALM = "MMS Public API"


def _dumps(obj: Any) -> bytes:
    """JSON with Decimals written as JSON numbers (as the vendors send them)."""
    text = json.dumps(obj, default=lambda o: f"__D{o}__" if isinstance(o, Decimal) else str(o))
    return re.sub(r'"__D(-?[0-9.E+-]+)__"', r"\1", text).encode()


def loads(raw: str | bytes) -> Any:
    return json.loads(raw, parse_float=Decimal)


@dataclass
class FakeState:
    atlas: dict[str, Any] = field(default_factory=lambda: {"orgs": {}, "api_keys": {}, "service_accounts": {}})
    redis: dict[str, Any] = field(default_factory=lambda: {"keys": ["", ""], "accountId": 0, "subscriptions": [],
                                                           "databases": {}, "pricing": {}, "cost_report": None})
    github: dict[str, Any] = field(default_factory=lambda: {"token": "", "orgs": {}, "page_size": 100})
    datadog: dict[str, Any] = field(default_factory=lambda: {"keys": ["", ""], "estimated": [], "historical": [],
                                                             "hourly": [], "page_size": 500})


class FakeVendors:
    """The fake vendors' server (``with FakeVendors(state) as fake: fake.url``)."""

    def __init__(self, state: FakeState | None = None, port: int = 0):
        self.state = state or FakeState()
        self.requests: list[dict[str, Any]] = []
        self._fail: dict[str, list[tuple[int, dict[str, str], Any]]] = {}
        self._lock = threading.Lock()
        self._tokens: set[str] = set()
        self._tasks: dict[str, int] = {}
        self._nonce = hashlib.md5(b"cloudtally-fake").hexdigest()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                fake._handle(self, "GET")

            def do_POST(self):  # noqa: N802
                fake._handle(self, "POST")

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "FakeVendors":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "FakeVendors":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def base_url(self, vendor: str) -> str:
        return self.url + {"atlas": "/atlas", "redis-cloud": "/redis/v1", "github": "/github",
                           "datadog": "/datadog"}[vendor]

    def fail(self, vendor: str, status: int, headers: dict[str, str] | None = None, body: Any = None,
             times: int = 1) -> None:
        """Answer the vendor's next ``times`` requests with ``status`` (e.g. 429 + ``Retry-After``)."""
        with self._lock:
            self._fail.setdefault(vendor, []).extend([(status, headers or {}, body)] * times)

    def paths(self, vendor: str | None = None) -> list[str]:
        return [r["path"] for r in self.requests if vendor is None or r["vendor"] == vendor]

    # ------------------------------------------------------------ dispatch
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urllib.parse.urlsplit(h.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        path = url.path
        vendor = next((v for p, v in (("/atlas", "atlas"), ("/redis/v1", "redis-cloud"), ("/github", "github"),
                                      ("/datadog", "datadog")) if path.startswith(p + "/")), "")
        with self._lock:
            self.requests.append({"vendor": vendor, "method": method, "path": path, "query": q,
                                  "headers": {k.lower(): v for k, v in h.headers.items()}})
            queued = self._fail.get(vendor)
            injected = queued.pop(0) if queued else None
        if injected is not None:
            status, headers, body = injected
            return self._send(h, status, body if body is not None else {"error": status, "reason": "injected"}, headers)
        try:
            status, body, headers = {"atlas": self._atlas, "redis-cloud": self._redis, "github": self._github,
                                     "datadog": self._datadog}.get(vendor, self._nowhere)(method, path, q, raw, h)
        except KeyError as e:
            status, body, headers = 404, {"error": 404, "detail": f"not found: {e}"}, {}
        self._send(h, status, body, headers)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str]) -> None:
        data = _dumps(body) if body is not None else b""
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _nowhere(self, method, path, q, raw, h):
        return 404, {"error": "no such vendor prefix"}, {}

    # ------------------------------------------------------------ MongoDB Atlas
    def _atlas_auth(self, method: str, h: BaseHTTPRequestHandler) -> bool:
        auth = h.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            return auth[7:] in self._tokens
        if auth.startswith("Digest "):
            f = parse_auth_params(auth[7:])
            secret = self.state.atlas["api_keys"].get(f.get("username", ""))
            if secret is None or f.get("nonce") != self._nonce:
                return False
            ha1 = hashlib.md5(f"{f['username']}:{REALM}:{secret}".encode()).hexdigest()
            ha2 = hashlib.md5(f"{method}:{f.get('uri')}".encode()).hexdigest()
            want = hashlib.md5(f"{ha1}:{f['nonce']}:{f.get('nc')}:{f.get('cnonce')}:auth:{ha2}".encode()).hexdigest()
            return want == f.get("response") and f.get("uri") == h.path
        return False

    def _atlas(self, method, path, q, raw, h):
        st = self.state.atlas
        p = path[len("/atlas"):]
        if p == "/api/oauth/token" and method == "POST":
            import base64
            basic = (h.headers.get("Authorization") or "").removeprefix("Basic ")
            try:
                cid, _, sec = base64.b64decode(basic).decode().partition(":")
            except ValueError:
                cid, sec = "", ""
            if not cid or st["service_accounts"].get(cid) != sec or b"grant_type=client_credentials" not in raw:
                return 401, {"error": "invalid_client", "error_description": "Invalid client credentials"}, {}
            tok = hashlib.sha256(f"{cid}:{len(self._tokens)}".encode()).hexdigest()
            self._tokens.add(tok)
            return 200, {"access_token": tok, "expires_in": 3600, "token_type": "Bearer"}, {}
        if not self._atlas_auth(method, h):
            return 401, {"detail": "You are not authorized for this resource.", "error": 401,
                         "errorCode": "UNAUTHORIZED", "reason": "Unauthorized"}, {
                "WWW-Authenticate": f'Digest realm="{REALM}", domain="", nonce="{self._nonce}", algorithm=MD5, '
                                    'qop="auth", stale=false'}
        if not _ATLAS_ACCEPT.fullmatch((h.headers.get("Accept") or "").split(",")[0].strip()):
            return 406, {"detail": "Invalid Accept header: a versioned media type application/vnd.atlas.YYYY-MM-DD+json "
                                   "is required", "error": 406, "errorCode": "INVALID_VERSION_DATE",
                         "reason": "Not Acceptable"}, {}
        m = re.fullmatch(r"/api/atlas/v2/orgs/([^/]+)/(groups|invoices)(?:/([^/]+))?", p)
        g = re.fullmatch(r"/api/atlas/v2/groups/([^/]+)/clusters", p)
        if g:
            for org in st["orgs"].values():
                if g.group(1) in org["clusters"]:
                    return 200, _page(org["clusters"][g.group(1)], q, p), {}
            raise KeyError(g.group(1))
        if not m:
            raise KeyError(p)
        org = st["orgs"].get(m.group(1))
        if org is None:
            return 403, {"detail": "The current user is not in the organization", "error": 403,
                         "errorCode": "USER_NOT_IN_ORG", "reason": "Forbidden"}, {}
        if m.group(2) == "groups":
            return 200, _page(org["groups"], q, p), {}
        if m.group(3) == "pending":
            return 200, org["pending"], {}
        if m.group(3):
            inv = next((i for i in org["invoices"] if i["id"] == m.group(3)), None)
            if inv is None:
                raise KeyError(m.group(3))
            return 200, inv, {}
        metas = [{k: v for k, v in i.items() if k != "lineItems"} for i in org["invoices"] + [org["pending"]]]
        return 200, _page(metas, q, p), {}

    # ------------------------------------------------------------ Redis Cloud
    def _redis(self, method, path, q, raw, h):
        st = self.state.redis
        if [h.headers.get("x-api-key"), h.headers.get("x-api-secret-key")] != list(st["keys"]):
            return 401, {"error": {"type": "UNAUTHORIZED", "status": "401 UNAUTHORIZED",
                                   "description": "Authentication failed for this request"}}, {}
        p = path[len("/redis/v1"):]
        if p == "/subscriptions":
            return 200, {"accountId": st["accountId"], "subscriptions": st["subscriptions"]}, {}
        m = re.fullmatch(r"/subscriptions/(\d+)/(databases|pricing)", p)
        if m and m.group(2) == "databases":
            dbs = st["databases"][m.group(1)]
            off, lim = int(q.get("offset", 0)), int(q.get("limit", 100))
            return 200, {"accountId": st["accountId"], "subscription": [
                {"subscriptionId": int(m.group(1)), "numberOfDatabases": len(dbs), "databases": dbs[off:off + lim]}]}, {}
        if m:
            return 200, {"pricing": st["pricing"][m.group(1)]}, {}
        if p == "/cost-report" and method == "POST":
            if st["cost_report"] is None:
                return 403, {"error": {"type": "FEATURE_NOT_ENABLED", "status": "403 FORBIDDEN",
                                       "description": "Cost report is not enabled for this account"}}, {}
            body = loads(raw or b"{}")
            tid = hashlib.md5(f"task{len(self._tasks)}".encode()).hexdigest()
            self._tasks[tid] = 0
            st.setdefault("_requests", {})[tid] = body
            return 202, {"taskId": tid, "commandType": "costReportCreateRequest", "status": "received",
                         "description": "Task request received and is being queued for processing.",
                         "timestamp": "2026-12-01T00:00:00Z"}, {}
        m = re.fullmatch(r"/tasks/([0-9a-f]+)", p)
        if m:
            n = self._tasks[m.group(1)]
            self._tasks[m.group(1)] = n + 1
            if n == 0:
                return 200, {"taskId": m.group(1), "commandType": "costReportCreateRequest",
                             "status": "processing-in-progress"}, {}
            return 200, {"taskId": m.group(1), "commandType": "costReportCreateRequest", "status": "processing-completed",
                         "response": {"resource": {"costReportId": f"cr-{m.group(1)}"}}}, {}
        m = re.fullmatch(r"/cost-report/cr-([0-9a-f]+)", p)
        if m:
            req = st["_requests"][m.group(1)]
            lo, hi = req["startDate"], req["endDate"]
            return 200, [r for r in st["cost_report"] if lo <= r["ChargePeriodStart"][:10] <= hi], {}
        raise KeyError(p)

    # ------------------------------------------------------------ GitHub
    def _github(self, method, path, q, raw, h):
        st = self.state.github
        p = path[len("/github"):]
        if re.fullmatch(r"/orgs/[^/]+/settings/billing/(actions|packages|shared-storage)", p):
            return 410, {"message": "This endpoint has been removed. Use the enhanced billing platform usage API.",
                         "documentation_url": "https://docs.github.com/rest/billing/usage"}, {}
        if h.headers.get("Authorization") != f"Bearer {st['token']}":
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                         "status": "401"}, {}
        if not h.headers.get("X-GitHub-Api-Version"):
            return 400, {"message": "X-GitHub-Api-Version header is required"}, {}
        m = re.fullmatch(r"/(organizations|enterprises)/([^/]+)/settings/billing/usage", p)
        if not m or m.group(2) not in st["orgs"]:
            raise KeyError(p)
        items = [i for i in st["orgs"][m.group(2)]
                 if (not q.get("year") or i["date"][:4] == f"{int(q['year']):04d}")
                 and (not q.get("month") or i["date"][5:7] == f"{int(q['month']):02d}")
                 and (not q.get("day") or i["date"][8:10] == f"{int(q['day']):02d}")]
        size, page = int(st.get("page_size") or 100), int(q.get("page", 1))
        headers = {}
        if page * size < len(items):
            nq = urllib.parse.urlencode({**q, "page": page + 1})
            headers["Link"] = f'<{self.url}{path}?{nq}>; rel="next"'
        return 200, {"usageItems": items[(page - 1) * size:page * size]}, headers

    # ------------------------------------------------------------ Datadog
    def _datadog(self, method, path, q, raw, h):
        st = self.state.datadog
        if [h.headers.get("DD-API-KEY"), h.headers.get("DD-APPLICATION-KEY")] != list(st["keys"]):
            return 403, {"errors": ["Forbidden"]}, {}
        p = path[len("/datadog"):]
        if p == "/api/v2/usage/estimated_cost":
            rows = [a for a in st["estimated"] if q.get("start_date", "") <= a["date"][:10] <= q.get("end_date", "9999")]
            return 200, {"data": [{"id": f"est{i}", "type": "cost_by_org", "attributes": a} for i, a in enumerate(rows)]}, {}
        if p == "/api/v2/usage/historical_cost":
            rows = [a for a in st["historical"] if q.get("start_month", "") <= a["date"][:7] <= q.get("end_month", "9999")]
            return 200, {"data": [{"id": f"hist{i}", "type": "cost_by_org", "attributes": a}
                                  for i, a in enumerate(rows)]}, {}
        if p == "/api/v2/usage/hourly_usage":
            lo, hi = q.get("filter[timestamp][start]", ""), q.get("filter[timestamp][end]", "9999")
            rows = [a for a in st["hourly"] if lo <= a["timestamp"] < hi]
            off = int(q.get("page[next_record_id]") or 0)
            size = min(int(q.get("page[limit]") or 500), int(st.get("page_size") or 500))
            nxt = str(off + size) if off + size < len(rows) else None
            return 200, {"data": [{"id": f"u{off + i}", "type": "usage_timeseries", "attributes": a}
                                  for i, a in enumerate(rows[off:off + size])],
                         "meta": {"pagination": {"next_record_id": nxt}}}, {}
        raise KeyError(p)


def _page(items: list[Any], q: dict[str, str], path: str) -> dict[str, Any]:
    per, num = int(q.get("itemsPerPage", 100)), int(q.get("pageNum", 1))
    chunk = items[(num - 1) * per:num * per]
    links = [{"rel": "self", "href": f"{path}?pageNum={num}&itemsPerPage={per}"}]
    if num * per < len(items):
        links.append({"rel": "next", "href": f"{path}?pageNum={num + 1}&itemsPerPage={per}"})
    return {"links": links, "results": chunk, "totalCount": len(items)}


# ---------------------------------------------------------------------------------------------- demo worlds
def _d(x: str) -> Decimal:
    return Decimal(x)


def demo_state(now: datetime, *, size: int = 1) -> FakeState:
    """A plausible account at ``now`` for each vendor, ``size`` × the clusters, databases, repositories and
    child organisations (``make up`` uses size 1; the bench compares two sizes). Relative to the clock: the
    previous month is closed (invoiced / historical), the current month runs to yesterday (today for usage)."""
    st = FakeState()
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    month = today.replace(day=1)
    prev = (month - timedelta(days=1)).replace(day=1)
    days_this = [month + timedelta(days=i) for i in range((today - month).days)]
    days_prev = [prev + timedelta(days=i) for i in range((month - prev).days)]
    # --- Atlas: one org, `size` projects of two clusters (a replica set and a 2-shard cluster)
    org = "5f0a0a0a0a0a0a0a0a0a0a01"
    groups, clusters = [], {}
    for g in range(size):
        gid = f"6a{g:022x}"
        groups.append({"id": gid, "name": f"shop-{g}", "orgId": org, "clusterCount": 2,
                       "created": "2025-01-10T09:00:00Z"})
        clusters[gid] = [atlas_cluster(f"orders-{g}", gid, "M30", shards=1, team="checkout"),
                         atlas_cluster(f"catalog-{g}", gid, "M10", shards=2, team="search")]
    def lines(days):
        out = []
        for d in days:
            for gid, cs in clusters.items():
                for c in cs:
                    cents = 1296 if c["name"].startswith("orders") else 384
                    out.append(atlas_line(d, gid, f"shop-{int(gid[2:], 16)}", c["name"],
                                          f"ATLAS_AWS_INSTANCE_{c['replicationSpecs'][0]['regionConfigs'][0]['electableSpecs']['instanceSize']}",
                                          cents * len(c["replicationSpecs"])))
        return out
    closed = atlas_invoice("6b0000000000000000000001", org, prev, month, "CLOSED", lines(days_prev))
    pending = atlas_invoice("6b0000000000000000000002", org, month, _next_month(month), "PENDING", lines(days_this))
    st.atlas["orgs"][org] = {"groups": groups, "clusters": clusters, "invoices": [closed], "pending": pending}
    st.atlas["api_keys"]["demo-public-key"] = "demo-private-key-0000"
    st.atlas["service_accounts"]["mdb_sa_id_demo"] = "mdb_sa_sk_demo-0000"
    # --- Redis Cloud: `size` subscriptions of two databases; the cost report is on (Beta enabled)
    st.redis.update({"keys": ["demo-account-key", "demo-user-secret-key"], "accountId": 40123})
    rows = []
    for s in range(size):
        sid = 1200 + s
        st.redis["subscriptions"].append({"id": sid, "name": f"cache-{s}", "status": "active",
                                          "paymentMethodType": "credit-card", "memoryStorage": "ram",
                                          "numberOfDatabases": 2, "cloudDetails": [{"provider": "AWS",
                                          "regions": [{"region": "us-east-1"}]}]})
        st.redis["databases"][str(sid)] = [
            {"databaseId": 51 + 10 * s, "name": f"sessions-{s}", "protocol": "redis", "provider": "AWS",
             "region": "us-east-1", "status": "active", "memoryLimitInGb": _d("2.5"), "replication": True},
            {"databaseId": 52 + 10 * s, "name": f"leaderboard-{s}", "protocol": "redis", "provider": "AWS",
             "region": "us-east-1", "status": "active", "memoryLimitInGb": _d("1"), "replication": False}]
        st.redis["pricing"][str(sid)] = [
            {"databaseName": f"sessions-{s}", "type": "Shards", "typeDetails": "high-throughput", "quantity": 2,
             "quantityMeasurement": "shards", "pricePerUnit": _d("0.124"), "priceCurrency": "USD",
             "pricePeriod": "hour", "region": "us-east-1"},
            {"databaseName": f"leaderboard-{s}", "type": "Shards", "typeDetails": "micro", "quantity": 1,
             "quantityMeasurement": "shards", "pricePerUnit": _d("0.027"), "priceCurrency": "USD",
             "pricePeriod": "hour", "region": "us-east-1"},
            {"type": "EBS Volume", "quantity": 71, "quantityMeasurement": "GB", "pricePerUnit": _d("0.00013"),
             "priceCurrency": "USD", "pricePeriod": "hour", "region": "us-east-1"}]
        for d in days_prev + days_this:
            for db, amount in ((51 + 10 * s, _d("5.952")), (52 + 10 * s, _d("0.648"))):
                rows.append(redis_row(d, 40123, sid, db, amount))
    st.redis["cost_report"] = rows
    # --- GitHub: one org, `size` × 3 repositories using Actions, one Copilot seat line per day
    st.github["token"] = "ghp_demo0000000000000000000000000000"
    items = []
    for d in days_prev + days_this + [today]:
        for r in range(3 * size):
            items.append(github_item(d, "acme", f"service-{r}", "actions", "actions_linux", "Minutes",
                                     _d("120"), _d("0.006")))
        items.append(github_item(d, "acme", None, "copilot", "copilot_for_business", "UserMonths",
                                 _d("0.3333"), _d("19")))
    st.github["orgs"]["acme"] = items
    # --- Datadog: a parent with `size` child organisations
    st.datadog["keys"] = ["demo-dd-api-key-000", "demo-dd-app-key-000"]
    orgs = [(f"pub{i:04d}", f"acme-{'prod' if i == 0 else f'team{i}'}") for i in range(size + 1)]
    for pid, name in orgs:
        cum = {"infra_host": _d("0"), "logs_indexed_15day": _d("0")}
        for d in days_this:
            cum = {"infra_host": cum["infra_host"] + _d("18.50"), "logs_indexed_15day": cum["logs_indexed_15day"] + _d("4.25")}
            st.datadog["estimated"].append(datadog_cost(d, pid, name, cum))
        st.datadog["historical"].append(datadog_cost(prev, pid, name, {"infra_host": _d("18.50") * len(days_prev),
                                                                         "logs_indexed_15day": _d("4.25") * len(days_prev)}))
        for d in days_this[-4:]:
            for hour in range(0, 24, 6):
                st.datadog["hourly"].append({"org_name": name, "public_id": pid, "account_public_id": "pub0000",
                                             "product_family": "infra_hosts", "region": "us",
                                             "timestamp": iso(d + timedelta(hours=hour)),
                                             "measurements": [{"usage_type": "infra_host_top99p", "value": 12 + hour}]})
    return st


def _next_month(m: datetime) -> datetime:
    return (m + timedelta(days=32)).replace(day=1)


def atlas_cluster(name: str, gid: str, tier: str, *, shards: int = 1, nodes: int = 3, team: str = "",
                  region: str = "US_EAST_1", created: str = "2025-02-01T08:00:00Z") -> dict[str, Any]:
    """A cluster in the Admin API v2 (2024-08-05) shape: one replicationSpec per shard."""
    spec = lambda i: {"id": f"{gid[:20]}{i:04d}", "zoneName": "Zone 1", "regionConfigs": [{
        "providerName": "AWS", "regionName": region, "priority": 7,
        "electableSpecs": {"instanceSize": tier, "nodeCount": nodes, "diskSizeGB": _d("40"), "diskIOPS": 3000},
        "readOnlySpecs": {"instanceSize": tier, "nodeCount": 0}, "analyticsSpecs": {"instanceSize": tier, "nodeCount": 0}}]}
    return {"id": hashlib.md5(f"{gid}/{name}".encode()).hexdigest()[:24], "name": name, "groupId": gid,
            "clusterType": "SHARDED" if shards > 1 else "REPLICASET", "stateName": "IDLE", "paused": False,
            "createDate": created, "mongoDBVersion": "8.0.4", "backupEnabled": True,
            "replicationSpecs": [spec(i) for i in range(shards)],
            "tags": [{"key": "team", "value": team}] if team else []}


def atlas_line(day: datetime, gid: str, gname: str, cluster: str | None, sku: str, cents: int,
               discount: int = 0, unit: str = "server hours", quantity: str = "72") -> dict[str, Any]:
    e = day + timedelta(days=1)
    line = {"clusterName": cluster, "created": iso(e), "endDate": iso(e), "groupId": gid, "groupName": gname,
            "quantity": _d(quantity), "sku": sku, "startDate": iso(day), "totalPriceCents": cents, "unit": unit,
            "unitPriceDollars": Decimal(cents) / 100 / _d(quantity)}
    if discount:
        line["discountCents"] = discount
    return {k: v for k, v in line.items() if v is not None}


def atlas_invoice(iid: str, org: str, start: datetime, end: datetime, status: str,
                  lines: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(l["totalPriceCents"] - l.get("discountCents", 0) for l in lines)
    return {"id": iid, "orgId": org, "startDate": iso(start), "endDate": iso(end), "statusName": status,
            "amountBilledCents": total, "amountPaidCents": total if status == "PAID" else 0, "creditsCents": 0,
            "salesTaxCents": 0, "subtotalCents": total, "created": iso(start), "updated": iso(end),
            "lineItems": lines, "links": []}


def redis_row(day: datetime, account: int, sub: int, db: int, amount: Decimal) -> dict[str, Any]:
    """A FOCUS row of the Redis Cloud cost report (JSON format)."""
    return {"BillingAccountId": str(account), "BillingCurrency": "USD", "BilledCost": amount, "EffectiveCost": amount,
            "ListCost": amount, "ChargeCategory": "Usage", "ChargePeriodStart": iso(day),
            "ChargePeriodEnd": iso(day + timedelta(days=1)), "ServiceName": "Redis Cloud Pro",
            "ServiceCategory": "Databases", "ResourceId": f"{sub}/{db}", "ResourceName": f"db-{db}",
            "SubAccountId": str(sub), "RegionId": "us-east-1", "PricingUnit": "Shard-Hours",
            "PricingQuantity": _d("48") if amount > 1 else _d("24"), "SkuId": "shards"}


def github_item(day: datetime, org: str, repo: str | None, product: str, sku: str, unit: str, qty: Decimal,
                price: Decimal, discount: Decimal = Decimal(0)) -> dict[str, Any]:
    gross = qty * price
    return {"date": iso(day), "product": product, "sku": sku, "quantity": qty, "unitType": unit,
            "pricePerUnit": price, "grossAmount": gross, "discountAmount": discount, "netAmount": gross - discount,
            "organizationName": org, "repositoryName": repo or ""}


def datadog_cost(day: datetime | date, pid: str, name: str, costs: dict[str, Decimal]) -> dict[str, Any]:
    charges = []
    for product, v in costs.items():
        charges += [{"charge_type": "on_demand", "cost": v, "product_name": product},
                    {"charge_type": "total", "cost": v, "product_name": product}]
    return {"account_name": "Acme", "account_public_id": "pub0000", "charges": charges,
            "date": iso(day) if isinstance(day, datetime) else f"{day.isoformat()}T00:00:00Z", "org_name": name,
            "public_id": pid, "region": "us", "total_cost": sum(costs.values(), Decimal(0))}


def vendor_env(state: FakeState) -> dict[str, str]:
    """The collectors' secret variables for ``state``'s credentials."""
    pub, priv = next(iter(state.atlas["api_keys"].items()), ("", ""))
    cid, csec = next(iter(state.atlas["service_accounts"].items()), ("", ""))
    env = {"REDIS_CLOUD_API_KEY": state.redis["keys"][0], "REDIS_CLOUD_SECRET_KEY": state.redis["keys"][1],
           "GITHUB_TOKEN": state.github["token"], "DD_API_KEY": state.datadog["keys"][0],
           "DD_APP_KEY": state.datadog["keys"][1]}
    if cid:
        env.update({"MONGODB_ATLAS_CLIENT_ID": cid, "MONGODB_ATLAS_CLIENT_SECRET": csec})
    if pub:
        env.update({"MONGODB_ATLAS_PUBLIC_KEY": pub, "MONGODB_ATLAS_PRIVATE_KEY": priv})
    return {k: v for k, v in env.items() if v}


def vendor_config(fake: FakeVendors, state: FakeState) -> dict[str, dict[str, Any]]:
    """Each collector's config for ``state`` served by ``fake``."""
    return {"atlas": {"base_url": fake.base_url("atlas"), "org_ids": sorted(state.atlas["orgs"])},
            "redis-cloud": {"base_url": fake.base_url("redis-cloud")},
            "github": {"base_url": fake.base_url("github"), "organizations": sorted(state.github["orgs"])},
            "datadog": {"base_url": fake.base_url("datadog")}}


# ---------------------------------------------------------------------------------------------- replays
STATE_FIELD = {"atlas": "atlas", "redis-cloud": "redis", "github": "github", "datadog": "datadog"}
REPLAY_NOW = datetime(2026, 12, 15, 10, 30, tzinfo=UTC)


def load_recorded(folder: Any, vendor: str) -> FakeState:
    """A fake state holding the recorded responses of ``folder/recorded.json`` for ``vendor``."""
    from pathlib import Path
    st = FakeState()
    setattr(st, STATE_FIELD[vendor], loads((Path(folder) / "recorded.json").read_text()))
    return st


def replay(vendor: str, folder: Any, *, now: datetime = REPLAY_NOW) -> dict[str, Any]:
    """The contract replay of a SaaS collector: its recorded responses served by the fake, run offline."""
    from .collectors import registry, runner
    from .collectors.secrets import Secrets
    st = load_recorded(folder, vendor)
    spec = registry.get(vendor)
    with FakeVendors(st) as fake:
        sink = runner.ListSink()
        return runner.run(spec, sink=sink, status=runner.MemoryStatus(), now=now,
                          config=vendor_config(fake, st)[vendor],
                          secrets=Secrets(spec.all_secrets, env=vendor_env(st)))
