"""The deployable Cloud Functions source bundle (scripts/build_gcp_functions.py) installs from its lock file
into a clean virtualenv, imports there with the bundle as its only code, and its HTTP entry runs the gcp
collector end to end against the emulated Google APIs and the API over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from tests.gcp_support import ROOT, emulated

pytestmark = pytest.mark.integration

RUN = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import functions_framework
app = functions_framework.create_app("collect_gcp_http", sys.argv[1] + "/main.py", "http")
r = app.test_client().post("/", json={"collector": "gcp", "config": {"billing_export_table": None}})
print(json.dumps({"code": r.status_code, "body": r.get_json()}))
"""


def test_the_bundle_builds_installs_imports_and_runs_in_a_clean_venv(tmp_path, module_live_api):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_gcp_functions.py"), "--zip", "--check",
                        "--out", str(tmp_path / "gcp"), "--keep-venv", str(tmp_path / "venv")],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["check"]["entry_points"] == ["gcp"]
    names = set(zipfile.ZipFile(out["zip"]).namelist())
    assert {"main.py", "requirements.txt", "cloudtally/providers/gcp/collector.py",
            "cloudtally/catalog/data/gcp-2026-12-01.json"} <= names
    py, src = out["check"]["python"], out["source"]
    key = module_live_api["keys"]["ingest"]
    with emulated(export=False) as emu:
        env = {"PATH": "/usr/bin:/bin", "CLOUDTALLY_API_URL": module_live_api["url"], "CLOUDTALLY_API_KEY_ID": key["id"],
               "CLOUDTALLY_API_KEY_SECRET": key["secret"], "CLOUDTALLY_GCP_ENDPOINT": emu.url,
               "CLOUDTALLY_NOW": "2026-12-15T09:30:00Z"}
        run = subprocess.run([py, "-I", "-c", RUN, src], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    res = json.loads(run.stdout.strip().splitlines()[-1])
    assert res["code"] == 200 and res["body"]["status"] == "ok", res
    assert res["body"]["records_sent"] > 0 and res["body"]["api_requests"]["state"] > 0
    assert key["secret"] not in run.stdout + run.stderr
