"""Injected DynamoDB throttling loses no record and never double counts."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from cloudtally.client import Client
from cloudtally.focus import parse_record
from cloudtally.query import parse_query
from tests.helpers import key_headers, rec


class Faults:
    """Wraps the store's connection: fails the next BatchWriteItem calls in a chosen way."""

    def __init__(self, store):
        self.store = store
        self.real = store.conn.dispatch
        self.mode: str | None = None
        self.remaining = 0
        self.calls = 0
        store.conn.dispatch = self.dispatch

    def dispatch(self, op, kwargs):
        if op != "BatchWriteItem" or self.remaining == 0 or self.mode is None:
            return self.real(op, kwargs)
        self.remaining -= 1
        self.calls += 1
        if self.mode == "unprocessed":
            (table, reqs), = kwargs["RequestItems"].items()
            half = len(reqs) // 2
            resp = self.real(op, {**kwargs, "RequestItems": {table: reqs[:half]}}) if half else {}
            return {**resp, "UnprocessedItems": {table: reqs[half:]}}
        if self.mode == "throttle":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                              "BatchWriteItem")
        if self.mode == "timeout":
            raise ReadTimeoutError(endpoint_url="http://dynamodb")
        raise AssertionError(self.mode)


def _total(store):
    q = parse_query({"from": "2024-09-01", "to": "2024-10-01", "granularity": "total"})
    t = store.summary(q)["totals"]
    return (t["USD"]["BilledCost"], t["USD"]["records"]) if t else (Decimal(0), 0)


def _records(n):
    return [parse_record(rec(ResourceId=f"r-{i}", BilledCost="0.25")) for i in range(n)]


@pytest.mark.parametrize("mode", ["unprocessed", "throttle", "timeout"])
def test_transient_faults_are_retried_and_lose_nothing(store, mode):
    faults = Faults(store)
    faults.mode, faults.remaining = mode, 5
    res = store.write_records(_records(100))
    assert faults.calls == 5 and res.retries >= 1
    assert res.written == 100 and not res.failed
    assert _total(store) == (Decimal("25.00"), 100)


def test_persistent_throttling_is_a_503_with_retry_after_and_the_retry_lands_once(api, keys, store):
    faults = Faults(store)
    faults.mode, faults.remaining = "throttle", 10_000
    batch = json.dumps([rec(ResourceId=f"r-{i}", BilledCost="0.25") for i in range(60)])
    h = key_headers(keys["ingest"], **{"Content-Type": "application/json"})
    r = api.http.post("/v1/records", headers=h, body=batch)
    assert r.status_code == 503
    assert int(r.headers["Retry-After"]) >= 1
    assert json.loads(r.body)["error"]["code"] == "store_unavailable"
    faults.remaining = 0
    for _ in range(2):  # the client's retry, and a duplicate retry
        r = api.http.post("/v1/records", headers=h, body=batch)
        assert r.status_code == 200
    assert _total(store) == (Decimal("15.00"), 60)


@pytest.fixture
def http_app(api):
    """The in-process app behind a real HTTP port, so the real Client (urllib) talks to it."""

    class Handler(BaseHTTPRequestHandler):
        def _do(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            r = getattr(api.http, self.command.lower())(self.path, headers=dict(self.headers), body=body)
            self.send_response(r.status_code)
            for k, v in r.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(r.body)

        do_GET = do_POST = _do

        def log_message(self, *a):
            return

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_client_retries_a_503_and_the_batch_lands_without_double_counting(http_app, keys, store):
    faults = Faults(store)
    # 40 records = 2 parallel BatchWriteItem calls of 8 attempts each: 16 throttles fail the first request
    faults.mode, faults.remaining = "throttle", 16
    waits = []
    client = Client(http_app, keys["ingest"]["id"], keys["ingest"]["secret"], base_delay=0.01)
    client.sleep = waits.append
    res = client.send_records(_records(40))
    assert res.retries >= 1 and waits and waits[0] >= 1  # honoured Retry-After
    assert res.accepted == 40
    assert _total(store) == (Decimal("10.00"), 40)
