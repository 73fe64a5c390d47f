"""The ingest client: retries with backoff on 429/5xx, and the disk spool through an outage."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cloudtally.client import Client
from cloudtally.errors import ProviderError, ValidationError
from tests.helpers import rec


class FlakyApi:
    """A tiny HTTP API that answers 503 while ``down`` and records what it accepted."""

    def __init__(self):
        self.down = False
        self.accepted: list[dict] = []
        self.telemetry: list[dict] = []
        api = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                import gzip
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                if api.down:
                    self.send_response(503)
                    self.send_header("Retry-After", "1")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"code": "store_unavailable", "message": "down"}}')
                    return
                body = json.loads(raw)
                if self.path == "/v1/records":
                    bad = [i for i, r in enumerate(body) if "BilledCost" not in r]
                    api.accepted += [r for i, r in enumerate(body) if i not in bad]
                    out = {"accepted": len(body) - len(bad), "rejected": [{"index": i, "errors": []} for i in bad]}
                else:
                    api.telemetry.append(body)
                    out = {"status": "success"}
                self.send_response(200)
                self.end_headers()
                self.wfile.write(json.dumps(out).encode())

            def log_message(self, *a):
                return

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"


@pytest.fixture
def flaky():
    api = FlakyApi()
    yield api
    api.srv.shutdown()


def _client(url, **kw):
    c = Client(url, "ctk_x", "cts_y", max_attempts=3, base_delay=0.001, **kw)
    c.sleep = lambda s: None
    return c


def test_outage_without_spool_raises_after_retries(flaky):
    flaky.down = True
    with pytest.raises(ProviderError):
        _client(flaky.url).send_records([rec()])


def test_outage_spools_to_disk_and_the_next_call_delivers_first(flaky, tmp_path):
    c = _client(flaky.url, spool_dir=tmp_path / "spool", batch_size=2)
    flaky.down = True
    res = c.send_records([rec(ResourceId=f"r{i}") for i in range(3)])
    assert res.spooled == 3 and res.accepted == 0
    assert len(c.spooled_files()) == 2  # two batches of at most 2
    assert c.post_or_spool("/api/v1/telemetry/ingest", {"agent_id": "a", "timestamp": 1}) is None
    assert len(c.spooled_files()) == 3 and flaky.accepted == []
    flaky.down = False
    res = c.send_records([rec(ResourceId="r9")])
    assert res.unspooled == 3 and res.accepted == 1
    assert [r["ResourceId"] for r in flaky.accepted] == ["r0", "r1", "r2", "r9"]  # oldest first
    assert flaky.telemetry == [{"agent_id": "a", "timestamp": 1}]
    assert c.spooled_files() == []


def test_rejections_are_not_spooled(flaky, tmp_path):
    c = _client(flaky.url, spool_dir=tmp_path)
    res = c.send_records([rec(), {"ProviderName": "AWS"}])
    assert res.accepted == 1 and res.rejected[0]["index"] == 1 and c.spooled_files() == []


def test_repr_never_shows_the_secret():
    assert "cts_y" not in repr(Client("http://x", "ctk_x", "cts_y"))


def test_client_errors_are_validation_errors_not_retried(tmp_path):
    class H(BaseHTTPRequestHandler):
        calls = 0

        def do_POST(self):
            H.calls += 1
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b'{"error": {"code": "bad_request", "message": "no"}}')

        def log_message(self, *a):
            return

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ValidationError):
            _client(f"http://127.0.0.1:{srv.server_address[1]}", spool_dir=tmp_path).send_records([rec()])
        assert H.calls == 1
    finally:
        srv.shutdown()
