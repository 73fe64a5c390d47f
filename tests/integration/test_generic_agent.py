"""``GenericTelemetryAgent`` against the API over HTTP: the OpenFinOps docs' nvidia-smi example as written (with
``nvidia-smi`` stubbed on the PATH), and ``cloudtally agent generic --config FILE`` with the built-in sources (a
command's output, a Prometheus text endpoint, a CSV of on-premises costs)."""

from __future__ import annotations

import http.server
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import requests
import yaml

from tests.conftest import LIVE_NOW, SHARED
from tests.helpers import key_headers, pinned_env

SEED = SHARED / "seeds" / "000_c51acb098d9bc6a2.txt"
NVIDIA_SMI = """#!/bin/sh
# nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader (two GPUs)
case "$*" in
  *index*) printf '0, 45, 1024\\n1, 67, 2048\\n' ;;
  *) printf '45 %%, 1024 MiB\\n67 %%, 2048 MiB\\n' ;;
esac
"""


def stub_path(tmp_path: Path) -> str:
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    smi = bin_ / "nvidia-smi"
    smi.write_text(NVIDIA_SMI)
    smi.chmod(0o755)
    return f"{bin_}{os.pathsep}{os.environ['PATH']}"


def seed_example() -> str:
    """The docs' two code blocks of the Generic Telemetry Agent: the constructor and the custom collector."""
    text = SEED.read_text()
    section = text[text.index("## Generic Telemetry Agent"):text.index("## Deployment Guide")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2 and "register_metric_collector" in blocks[1]
    return blocks[0] + "\n" + blocks[1]


def _metric(api, name: str, day, **dims) -> list[dict]:
    params = {"name": name, "from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    if dims:
        params["dimension"] = [f"{k}={v}" for k, v in dims.items()]
    r = requests.get(f"{api['url']}/v1/metrics", params=params, headers=key_headers(api["keys"]["read"]), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["points"]


def test_the_docs_nvidia_smi_example_runs_as_written(http_api, tmp_path):
    # the example stamps its data with time.time(): this API runs on the system clock too (not a pinned one),
    # and the test reads "today" from it
    api = http_api
    ingest = api["keys"]["ingest"]
    # only the import path and the server change: the docs' `agents.` package is `cloudtally.agents` here, and
    # the endpoint carries the key (HTTP Basic), as an agent that only takes a URL does
    url = api["url"].replace("http://", f"http://{ingest['id']}:{ingest['secret']}@")
    code = seed_example().replace("from agents.generic_telemetry_agent", "from cloudtally.agents.generic_telemetry_agent")
    code = code.replace('"http://localhost:8080"', repr(url))
    (tmp_path / "telemetry_config.yaml").write_text("# the docs' optional config file: no built-in source\n")
    script = tmp_path / "example.py"
    # the docs' snippet calls time.time() and assumes `import time` above it
    script.write_text("import time\n" + textwrap.dedent(code))
    env = {**os.environ, "PATH": stub_path(tmp_path)}
    env.pop("CLOUDTALLY_NOW", None)
    log = tmp_path / "example.log"
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            cwd=tmp_path)
    now = requests.get(f"{api['url']}/v1/agents", headers=key_headers(api["keys"]["read"]), timeout=30).json()["now"]
    from datetime import date
    day = date.fromisoformat(now[:10]) - timedelta(days=1)      # yesterday and today: a run across midnight too

    def metric(api, name, _day, **dims):
        return [p for d in (day, day + timedelta(days=1)) for p in _metric(api, name, d, **dims)]

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(metric(api, "generic.gpu_cluster.gpu_metrics.gpu_utilization", day)) < 2:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)          # run_continuous stops cleanly
        assert proc.wait(30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    util = metric(api, "generic.gpu_cluster.gpu_metrics.gpu_utilization", day)
    assert sorted((p["dimensions"]["index"], p["value"]) for p in util) == [("0", "45"), ("1", "67")]
    assert util[0]["dimensions"]["source"] == "on-prem-gpu-cluster" and util[0]["dimensions"]["collector"] == "gpu_cluster"
    mem = metric(api, "generic.gpu_cluster.gpu_metrics.memory_used_mb", day, index="1")
    assert [p["value"] for p in mem] == ["2048"]
    assert "Traceback" not in log.read_text()


class Exporter(http.server.BaseHTTPRequestHandler):
    BODY = textwrap.dedent("""\
        # HELP node_load1 1m load average.
        # TYPE node_load1 gauge
        node_load1 0.42
        # TYPE node_filesystem_avail_bytes gauge
        node_filesystem_avail_bytes{device="/dev/sda1",mountpoint="/"} 1.2345e+10
        node_filesystem_avail_bytes{device="/dev/sdb1",mountpoint="/data"} 987654321
        node_network_up{device="eth0"} NaN
        go_goroutines 12
        """)

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(self.BODY.encode())

    def log_message(self, *a):
        pass


def test_cloudtally_agent_generic_with_command_prometheus_and_cost_csv_sources(module_live_api, tmp_path):
    api = module_live_api
    metric = _metric
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Exporter)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    day = (LIVE_NOW - timedelta(days=6)).date()
    costs = tmp_path / "onprem.csv"
    costs.write_text("date,ResourceId,ServiceName,BilledCost,tag:team\n"
                     f"{day},rack-a-01,Colocation,120.50,platform\n"
                     f"{day},rack-a-02,Colocation,80.25,data\n"
                     f"{day},rack-a-03,Colocation,not-a-number,data\n")
    cfg = tmp_path / "generic.yaml"
    cfg.write_text(yaml.safe_dump({
        "agent": {"id": "dc-agent-1", "interval": 60, "environment": "dc-1"},
        "sources": [
            {"name": "gpu", "type": "command", "format": "csv", "key": "gpu",
             "command": ["nvidia-smi", "--query-gpu=index,utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
             "columns": ["gpu", "utilization", "memory_used_mb"]},
            {"name": "node", "type": "prometheus", "url": f"http://127.0.0.1:{srv.server_address[1]}/metrics",
             "include": ["node_*"]},
            {"name": "dc", "type": "csv_costs", "path": str(costs), "provider": "On-Premises",
             "billing_account": "dc-1", "currency": "USD"}]}))
    ingest = api["keys"]["ingest"]
    env = {**os.environ, "PATH": stub_path(tmp_path), "CLOUDTALLY_API_KEY_ID": ingest["id"],
           "CLOUDTALLY_API_KEY_SECRET": ingest["secret"], **pinned_env(LIVE_NOW - timedelta(days=6))}
    try:
        proc = subprocess.run([str(Path(sys.executable).with_name("cloudtally")), "agent", "generic", "--config", str(cfg),
                               "--openfinops-endpoint", api["url"], "--once"], env=env, capture_output=True, text=True,
                              timeout=120)
    finally:
        srv.shutdown()
        srv.server_close()
    # one cost row is not a number: reported, the run fails (exit 1), everything else lands
    assert proc.returncode == 1 and "rows rejected" in proc.stderr and "BilledCost" in proc.stderr, proc.stderr
    assert sorted((p["dimensions"]["index"], p["value"]) for p in metric(api, "gpu.utilization", day)) == [
        ("0", "45"), ("1", "67")]
    assert [p["value"] for p in metric(api, "node.node_load1", day)] == ["0.42"]
    fs = {p["dimensions"]["mountpoint"]: p["value"] for p in metric(api, "node.node_filesystem_avail_bytes", day)}
    assert fs == {"/": "12345000000", "/data": "987654321"}
    assert metric(api, "node.node_network_up", day) == [] and metric(api, "node.go_goroutines", day) == []
    r = requests.get(f"{api['url']}/v1/costs/summary", headers=key_headers(api["keys"]["read"]), timeout=30,
                     params={"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat(),
                             "provider": "On-Premises", "group_by": "tag:team", "granularity": "total"})
    assert r.status_code == 200, r.text
    by_team = {x["group"]["tag:team"]: x["BilledCost"] for x in r.json()["results"]}
    assert by_team == {"platform": "120.5", "data": "80.25"}
    agents = requests.get(f"{api['url']}/v1/agents", headers=key_headers(api["keys"]["read"]), timeout=30).json()
    assert any(a["agent_id"] == "dc-agent-1" and a["agent_type"] == "generic_telemetry" for a in agents["agents"])
