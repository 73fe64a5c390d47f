"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis).

Runs against the API over HTTP (chalice local + DynamoDB Local), positive and negative cases, and
checks from the server's own request log that at least 1 000 requests were answered with no 5xx
and that the key's secret never reached the logs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_schemathesis_finds_no_server_error(live_api, tmp_path):
    admin = live_api["keys"]["admin"]
    log: Path = live_api["log"]
    before = len(log.read_text().splitlines()) if log.exists() else 0
    st = Path(sys.executable).with_name("schemathesis")
    cmd = [str(st), "run", f"{live_api['url']}/v1/openapi.json",
           "-H", f"X-CloudTally-Key-Id: {admin['id']}", "-H", f"X-CloudTally-Key-Secret: {admin['secret']}",
           "--checks", "not_a_server_error", "--mode", "all", "--max-examples", "10", "--seed", "20261126",
           "--phases", "examples,fuzzing", "--workers", "2", "--max-time", "150",
           "--report", "ndjson", "--report-dir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    lines = log.read_text().splitlines()[before:]
    requests = [json.loads(x) for x in lines if x.startswith('{"request_id"')]
    server_errors = [r for r in requests if r["status"] >= 500]
    # requests the local HTTP server answered itself (not our app) would show in its access log
    access_5xx = [x for x in lines if x.startswith("127.0.0.1") and '" 5' in x]
    assert proc.returncode == 0, proc.stdout[-4000:]
    print(f"schemathesis: {len(requests)} requests, {sum(r['status'] >= 400 for r in requests)} answered 4xx")
    assert len(requests) >= 1000, f"only {len(requests)} requests reached the API"
    assert not server_errors and not access_5xx, (server_errors[:5], access_5xx[:5])
    assert any(r["status"] >= 400 for r in requests), "negative cases must have been generated"
    assert admin["secret"] not in log.read_text()
