"""Every Lambda artifact builds from its lock file, imports its handler and the modules it loads lazily in a
clean virtualenv holding only the artifact, and stays under Lambda's 250 MB unzipped limit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_artifacts_build_import_and_fit(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_lambdas.py"), "--check", "--out",
                        str(tmp_path / "lambda")], capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["runtime"].startswith("python3")
    arts = out["artifacts"]
    assert {"api", "alerts", "collector-aws", "collector-aws-billing-export"} <= set(arts)
    for name, fig in arts.items():
        assert fig["handler_import"] == "ok", name
        assert 0 < fig["unzipped_bytes"] < 250 * 1024 * 1024, (name, fig)
    # the AWS collector ships no importer engine and no foreign SDK: it stays small
    assert arts["collector-aws"]["unzipped_bytes"] < 60 * 1024 * 1024
    assert not (tmp_path / "lambda" / "collector-aws" / "polars").exists()
    assert (tmp_path / "lambda" / "collector-aws-billing-export" / "polars").is_dir()
