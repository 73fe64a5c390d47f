"""The host agent (``cloudtally-agent``) against the API over HTTP: its OTLP output accepted by the receiver,
its heartbeat in ``GET /v1/agents``, and the time-compressed outage: the API unreachable for the equivalent
of an hour, the agent killed with SIGKILL and restarted, acknowledgments lost on the way back — every point
collected arrives exactly once, counted server-side."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import yaml

from cloudtally import devstack
from tests.conftest import LIVE_NOW
from tests.helpers import key_headers, pinned_env

AGENT = Path(sys.executable).with_name("cloudtally-agent")
SCALE = 600          # the agent's clock runs 600x faster: a 15 s collection every 25 ms, an hour in 6 s


def write_config(tmp: Path, url: str, key: dict, agent_id: str, **sections) -> Path:
    doc = {"telemetryflow": {"endpoint": url, "api_key_id": key["id"], "api_key_secret": key["secret"],
                             "environment": "test", "retry": {"max_attempts": 3}},
           "agent": {"id": agent_id, "name": f"{agent_id}-name", "tags": {"team": "platform"}, "time_scale": SCALE},
           "collectors": {"cloud_metadata": {"enabled": False}, "gpu": {"enabled": False}},
           "buffer": {"path": str(tmp / "buffer"), "max_memory_mb": 0.02},
           "logging": {"level": "info"}}
    for k, v in sections.items():
        doc.setdefault(k, {}).update(v)
    path = tmp / "agent.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def start(cfg: Path, now: datetime, log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(AGENT), "--config", str(cfg)], stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            env={**os.environ, **pinned_env(now)})


def state(cfg_dir: Path) -> dict:
    try:
        return json.loads((cfg_dir / "buffer" / "state.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def wait_for(cond, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{log.read_text()[-3000:]}" if log else ""))


def get(api, path: str, **params):
    r = requests.get(api["url"] + path, params=params, headers=key_headers(api["keys"]["read"]), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def cpu_points(api, day) -> list[dict]:
    return get(api, "/v1/metrics", name="system.cpu.utilization", dimension="host.name=" + socket.gethostname(),
               **{"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat(), "limit": 5000})["points"]


class Gate:
    """A port in front of the API: closed (connection refused: the API unreachable), forwarding, or forwarding
    OTLP requests and then hanging up before the answer (the acknowledgment lost)."""

    def __init__(self, upstream: str):
        self.upstream = upstream.split("//", 1)[1]
        self.port = devstack.free_port()
        self.server: http.server.ThreadingHTTPServer | None = None
        self.lose_acks = 0          # OTLP answers still to lose
        self.forwarded: list[tuple[str, int, str]] = []

    def open(self) -> None:
        gate = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                conn = http.client.HTTPConnection(gate.upstream, timeout=60)
                conn.request("POST", self.path, body, {k: v for k, v in self.headers.items()
                                                       if k.lower() not in ("host", "connection")})
                resp = conn.getresponse()
                data = resp.read()
                gate.forwarded.append((self.path, resp.status, self.headers.get("Idempotency-Key", "")))
                if self.path.startswith("/otlp/") and gate.lose_acks > 0:
                    gate.lose_acks -= 1
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)   # the API wrote it; the agent never hears back
                    return
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def test_the_agents_own_otlp_output_is_accepted_and_its_heartbeat_listed(module_live_api, tmp_path):
    api = module_live_api
    cfg = write_config(tmp_path, api["url"], api["keys"]["ingest"], "once-agent")
    start_at = LIVE_NOW - timedelta(days=1, hours=1)
    proc = subprocess.run([str(AGENT), "--config", str(cfg), "--once"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **pinned_env(start_at)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    st = state(tmp_path)
    assert st["collected_points"] == st["acked_points"] >= 30 and st["rejected_points"] == 0
    a = get(api, "/v1/agents/once-agent")
    assert a["kind"] == "host" and a["status"] == "online" and a["version"]
    assert a["points_received"] == st["collected_points"] and a["batches_received"] == 1
    # the agent sends every field (100+); the API keeps those with a value (here no cloud, no GPU: absent)
    assert len(a["systemInfo"]) >= 90 and a["systemInfo"]["cpuCores"] >= 1 and "cloudProvider" not in a["systemInfo"]
    assert a["host"]["hostname"] == socket.gethostname() and a["tags"] == {"team": "platform"}
    listed = {x["agent_id"]: x for x in get(api, "/v1/agents")["agents"]}
    assert listed["once-agent"]["status"] == "online"
    assert len(cpu_points(api, start_at.date())) >= 1


def test_outage_sigkill_and_restart_every_point_arrives_exactly_once(module_live_api, tmp_path):
    api = module_live_api
    gate = Gate(api["url"])
    cfg = write_config(tmp_path, f"http://127.0.0.1:{gate.port}", api["keys"]["ingest"], "outage-agent")
    log = tmp_path / "agent.log"
    t0 = LIVE_NOW - timedelta(days=2, hours=3)        # a day of its own: no other test's points

    # GIVEN the API unreachable (nothing listens on the agent's endpoint) for an hour of 15 s collections
    agent = start(cfg, t0, log)
    try:
        wait_for(lambda: state(tmp_path).get("collected_entries", 0) >= 240, 60, "an hour of collections", log)
        # WHEN the agent is killed without a chance to clean up
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
    finally:
        if agent.poll() is None:
            agent.kill()
    before = state(tmp_path)
    assert before["acked_points"] == 0 and before["collected_entries"] >= 240
    assert len(list((tmp_path / "buffer" / "journal").glob("*.json"))) >= 240     # all of it on disk

    # AND the API comes back, losing the acknowledgment of the first two batches it takes
    gate.lose_acks = 2
    gate.open()
    restart_at = datetime.fromtimestamp(before["last_collection_time"] + 15, timezone.utc)
    agent = start(cfg, restart_at, log)
    try:
        wait_for(lambda: (s := state(tmp_path)) and s["collected_entries"] >= before["collected_entries"] + 20
                 and s["acked_points"] > before["collected_points"], 90, "the backlog sent", log)
        agent.send_signal(signal.SIGTERM)                  # a clean stop: the rest is kept on disk
        assert agent.wait(30) == 0
        # a last run sends what the clean stop kept
        last = subprocess.run([str(AGENT), "--config", str(cfg), "--once"], capture_output=True, text=True,
                              timeout=120, env={**os.environ, **pinned_env(
                                  datetime.fromtimestamp(state(tmp_path)["last_collection_time"] + 15, timezone.utc))})
        assert last.returncode == 0, last.stderr[-3000:]
    finally:
        if agent.poll() is None:
            agent.kill()
        gate.close()

    # THEN every point collected was acknowledged, nothing was dropped or refused, and the API counted each once
    final = state(tmp_path)
    assert final["dropped_points"] == 0 and final["rejected_points"] == 0
    assert final["acked_points"] == final["collected_points"]
    a = get(api, "/v1/agents/outage-agent")
    assert a["points_received"] == final["collected_points"], (a, final)
    assert a["duplicate_batches"] >= 2                      # the two re-sent batches were recognised
    otlp = [f for f in gate.forwarded if f[0].startswith("/otlp/")]
    assert len({k for _, _, k in otlp}) == a["batches_received"] < len(otlp)
    # one system.cpu.utilization point per collection: none lost, none doubled
    pts = cpu_points(api, t0.date())
    assert len(pts) == final["collected_entries"]
    assert len({p["timestamp"] for p in pts}) == len(pts)


def test_print_config_redacts_the_secret_and_a_bad_config_exits_2(tmp_path):
    cfg = write_config(tmp_path, "http://127.0.0.1:9", {"id": "ctk_x", "secret": "cts_very_secret"}, "p-agent")
    out = subprocess.run([str(AGENT), "--config", str(cfg), "--print-config"], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "TELEMETRYFLOW_AGENT_NAME": "from-env"})
    assert out.returncode == 0, out.stderr
    assert "cts_very_secret" not in out.stdout
    doc = yaml.safe_load(out.stdout)
    assert doc["telemetryflow"]["api_key_secret"] == "***" and doc["telemetryflow"]["api_key_id"] == "ctk_x"
    assert doc["agent"]["name"] == "from-env" and doc["exporter"]["batch_size"] == 100
    (tmp_path / "bad.yaml").write_text("telemetryflow:\n  protocol: grpc\n")
    bad = subprocess.run([str(AGENT), "--config", str(tmp_path / "bad.yaml")], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "protocol 'grpc' is not supported" in bad.stderr


@pytest.mark.parametrize("fmt", ["cloudtally-json"])
def test_the_json_ingest_alternative(module_live_api, tmp_path, fmt):
    api = module_live_api
    cfg = write_config(tmp_path, api["url"], api["keys"]["ingest"], "json-agent", exporter={"format": fmt})
    start_at = LIVE_NOW - timedelta(days=3, hours=5)
    proc = subprocess.run([str(AGENT), "--config", str(cfg), "--once"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **pinned_env(start_at)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    st = state(tmp_path)
    assert st["acked_points"] == st["collected_points"] > 0
    pts = [p for p in cpu_points(api, start_at.date()) if p["timestamp"].startswith(start_at.strftime("%Y-%m-%dT%H"))]
    assert pts and pts[0]["dimensions"]["service.name"] == "cloudtally-agent"
