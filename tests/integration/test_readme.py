"""The README's quick start works as written: its shell block runs against a fresh API."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from cloudtally import devstack
from cloudtally.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def quickstart_block() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    block = next(b for b in blocks if "stack.py env" in b)
    return block


@pytest.fixture
def fresh_api(ddb_endpoint):
    from cloudtally.api.service import ApiService
    from cloudtally.store import Store
    cfg = Settings(table=f"readme-{uuid.uuid4().hex[:8]}", dynamodb_endpoint=ddb_endpoint, auth_cache_seconds=0)
    store = Store(cfg)
    store.create_table()
    keys = {s: ApiService(cfg, store).keys.create(f"readme-{s}", [s]) for s in ("admin", "ingest", "read")}
    port = devstack.free_port()
    import os
    proc = devstack.start_api(port, {"CLOUDTALLY_TABLE": cfg.table, "CLOUDTALLY_DYNAMODB_ENDPOINT": ddb_endpoint,
                                     "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
                                     "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"]})
    yield f"http://127.0.0.1:{port}", keys
    devstack.stop(proc)
    store.delete_table()


def test_quick_start_block_runs_as_written(fresh_api):
    url, k = fresh_api
    exports = (f"export API={url} CLOUDTALLY_API_URL={url}\n"
               f"export INGEST_ID={k['ingest']['id']} INGEST_SECRET={k['ingest']['secret']}\n"
               f"export READ_ID={k['read']['id']} READ_SECRET={k['read']['secret']}\n"
               f"export CLOUDTALLY_API_KEY_ID={k['read']['id']} CLOUDTALLY_API_KEY_SECRET={k['read']['secret']}\n")
    block = quickstart_block()
    # the block's first line reads .local/stack.json of a running `make up`; here the same exports point at the test API
    script = "set -euo pipefail\n" + "\n".join(exports if "stack.py env" in line else line
                                              for line in block.splitlines())
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    ingest, summary = json.loads(lines[0]), json.loads(lines[1])
    assert ingest == {"accepted": 2, "rejected": [], "days": ["2024-09-01"]}
    assert Decimal(summary["totals"]["USD"]["BilledCost"]) == Decimal("12.3456780001")
    assert summary["totals"]["USD"]["BilledCost"] == "12.3456780001"
    assert {r["group"]["service"] for r in summary["results"]} == {"Amazon EC2", "Amazon S3"}
    assert any("Total USD" in ln and "12.3456780001" in ln for ln in lines[2:]), out.stdout
