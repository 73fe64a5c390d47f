"""The Azure Functions package builds from its lock file (the Functions Linux runtime's wheels), zips with the
layout the host expects (.python_packages/lib/site-packages) and imports in a clean virtualenv holding only the
package: function_app indexes the manifest's timer functions, the collectors' lazy modules import, no AWS/GCP/
Databricks/Snowflake SDK is pulled in."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_the_package_builds_and_imports_in_a_clean_venv(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_azure_functions.py"), "--zip", "--check",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["import_ok"] and out["import"]["foreign_sdks"] == []
    assert out["import"]["functions"] == ["collect-azure", "collect-azure-billing-export"]
    with zipfile.ZipFile(tmp_path / "azure-functions.zip") as z:
        names = set(z.namelist())
    assert {"function_app.py", "host.json", "collectors.json", "requirements.txt",
            "cloudtally/providers/azure/collector.py", "cloudtally/catalog/data/azure-2026-12-01.json",
            "cloudtally/providers/azure/data/Services.csv"} <= names
    assert any(n.startswith(".python_packages/lib/site-packages/azure/functions/") for n in names)
    assert any(n.startswith(".python_packages/lib/site-packages/polars/") for n in names)   # the export's reader
    assert not any(n.startswith(".python_packages/lib/site-packages/boto3/") for n in names)
    assert out["unzipped_bytes"] < 400 * 1024 * 1024
