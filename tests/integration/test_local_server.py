"""The local API server (``make up``'s API, cloudtally.devserver) under concurrent agents and collectors.

``chalice local`` listened with a backlog of 5: with 16 clients it reset connections (4 of 1 800) and
delayed others by a SYN retransmit. GIVEN the server the stack and the tests run, WHEN 32 clients send at
once (one connection per request), THEN no connection fails and every answer is the right one for its own
request: its own records, its own key's scope, its own request id.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlparse

import pytest

from cloudtally.config import Settings
from tests.conftest import _import_root
from tests.helpers import key_headers, rec

pytestmark = pytest.mark.integration
CLIENTS = 32
ROUNDS = 3


def _send(url: str, method: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, dict, dict]:
    """One request on its own connection; (status, JSON body, headers). Connection errors propagate."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), dict(e.headers)


def _code(body: dict) -> str | None:
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


def test_listens_with_an_ordinary_backlog(live_api):
    assert shutil.which("ss"), "ss (iproute2) reads the listen backlog"
    port = urlparse(live_api["url"]).port
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    (line,) = out.splitlines()
    backlog = int(line.split()[2])       # a listening socket's Send-Q is its backlog
    assert backlog >= 128, f"the API listens with a backlog of {backlog}: bursts of clients get reset"


def test_32_concurrent_clients_get_their_own_correct_answers(live_api):
    url, keys = live_api["url"], live_api["keys"]
    account = f"load-{uuid.uuid4().hex[:8]}"     # the table is shared with other tests: filter on it
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def check(cond: bool, what: str) -> None:
        if not cond:
            with lock:
                failures.append(what)

    def client(c: int) -> None:
        for r in range(ROUNDS):
            day = date(2031, 1, 1) + timedelta(days=c * ROUNDS + r)
            end = day + timedelta(days=1)
            batch = [rec(BillingAccountId=account, ResourceId=f"i-{c}-{r}-a", BilledCost=f"{c}.{r}1",
                         ChargePeriodStart=f"{day}T00:00:00Z", ChargePeriodEnd=f"{end}T00:00:00Z"),
                     {"ProviderName": "AWS"},   # invalid: reported at its index, the rest kept
                     rec(BillingAccountId=account, ResourceId=f"i-{c}-{r}-b", BilledCost="0.000000000001",
                         ChargePeriodStart=f"{day}T00:00:00Z", ChargePeriodEnd=f"{end}T00:00:00Z")]
            rid = f"load-{c}-{r}"
            start.wait(timeout=120)          # every client connects at the same moment
            try:
                status, body, headers = _send(f"{url}/v1/records", "POST", key_headers(
                    keys["ingest"], **{"Content-Type": "application/json", "X-Request-Id": rid}),
                    json.dumps(batch).encode())
                check(status == 200 and body.get("accepted") == 2
                      and [e["index"] for e in body.get("rejected", [])] == [1]
                      and body.get("days") == [day.isoformat()], f"{rid} ingest: {status} {body}")
                check(headers.get("X-Request-Id") == rid, f"{rid}: answered with request id {headers.get('X-Request-Id')}")
                status, body, _ = _send(f"{url}/v1/costs/summary?from={day}&to={end}&granularity=total"
                                        f"&account={account}", "GET", key_headers(keys["read"]))
                want = Decimal(f"{c}.{r}1") + Decimal("0.000000000001")
                got = body.get("totals", {}).get("USD", {}).get("BilledCost")
                check(status == 200 and got is not None and Decimal(got) == want,
                      f"{rid} summary: {status} {got} != {want}")
                status, body, _ = _send(f"{url}/v1/records", "POST", key_headers(
                    keys["read"], **{"Content-Type": "application/json"}), json.dumps(batch).encode())
                check(status == 403 and _code(body) == "insufficient_scope", f"{rid} read key: {status} {body}")
                status, body, _ = _send(f"{url}/v1/records", "TRACE", key_headers(keys["ingest"]))
                check(status == 405 and _code(body) == "method_not_allowed", f"{rid} TRACE: {status} {body}")
                status, body, _ = _send(f"{url}/api/health", "GET", {})
                check(status == 200 and body == {"status": "healthy"}, f"{rid} health: {status} {body}")
            except (OSError, ValueError) as e:    # a reset, refused or timed-out connection; a body that is no JSON
                check(False, f"{rid}: {type(e).__name__}: {e}")

    with ThreadPoolExecutor(CLIENTS) as ex:
        list(ex.map(client, range(CLIENTS)))
    assert not failures, f"{len(failures)} of {CLIENTS * ROUNDS * 5} requests failed or got a wrong answer, " \
                         f"e.g. {failures[:5]}"


def test_the_api_service_is_created_once_for_concurrent_first_requests(monkeypatch):
    """The local server's request threads share one service (one store, one key cache): the first requests
    arriving together must not each build their own."""
    from cloudtally.api import chalice_app as http
    from cloudtally.api import service as service_module
    built: list[object] = []

    class SlowService(service_module.ApiService):
        def __init__(self, cfg):
            built.append(self)
            threading.Event().wait(0.05)     # a cold start: every thread arrives before the first is done
            super().__init__(cfg)

    monkeypatch.setattr(http, "ApiService", SlowService)
    cfg = Settings(table="t-once", dynamodb_endpoint="http://127.0.0.1:9")   # never called: nothing connects
    monkeypatch.setattr(http, "settings", lambda: cfg)
    http.set_service(None)
    try:
        start = threading.Barrier(16)

        def first_request(_: int):
            start.wait(timeout=30)
            svc = http.service()
            return svc, svc.keys, svc.store

        with ThreadPoolExecutor(16) as ex:
            got = list(ex.map(first_request, range(16)))
    finally:
        http.set_service(None)
    assert len(built) == 1
    assert len({id(s) for s, _, _ in got}) == len({id(k) for _, k, _ in got}) == len({id(st) for *_, st in got}) == 1
