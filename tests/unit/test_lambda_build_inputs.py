"""What makes a Lambda artifact stale: the digest scripts/build_lambdas.py records with each build.

It covers the contents of what the build copies and installs (cloudtally, the function's sources, the lock
file, the declared requirements, the builder itself), never mtimes, paths or byte-code caches: `cdk synth`
rebuilds exactly when a deployed function would change.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def build(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("build_lambdas_inputs", ROOT / "scripts" / "build_lambdas.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    lib, locks, fn = tmp_path / "common" / "cloudtally", tmp_path / "requirements", tmp_path / "functions" / "alerts"
    for d in (lib / "store", locks, fn):
        d.mkdir(parents=True)
    (lib / "__init__.py").write_text('"""cloudtally"""\n')
    (lib / "store" / "repository.py").write_text("TABLE = 'cloudtally'\n")
    (locks / "alerts.lock.txt").write_text("pynamodb==6.1.0\n")
    (fn / "handler.py").write_text("def handler(event, context):\n    return None\n")
    monkeypatch.setattr(mod, "LIBRARY", lib)
    monkeypatch.setattr(mod, "LOCKS", locks)
    art = {"requirements": ["pynamodb==6.1.0"], "module": "handler", "attr": "handler", "probe": [],
           "sources": [(fn / "handler.py", "handler.py")]}
    return SimpleNamespace(mod=mod, art=art, root=tmp_path, LIBRARY=lib, LOCKS=locks)


def _digest(b) -> str:
    return b.mod.inputs_digest("alerts", b.art)


def test_the_digest_ignores_mtimes_byte_code_and_where_the_checkout_is(build, tmp_path, monkeypatch):
    before = _digest(build)
    assert _digest(build) == before
    for f in build.root.rglob("*.py"):
        os.utime(f, ns=(0, 0))
    cache = build.LIBRARY / "store" / "__pycache__"
    cache.mkdir()
    (cache / "repository.cpython-311.pyc").write_bytes(b"\0" * 16)
    assert _digest(build) == before
    # the same contents in another folder: the same digest (an artifact stays current after a move)
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    shutil.copytree(build.root, moved)
    monkeypatch.setattr(build.mod, "LIBRARY", moved / "common" / "cloudtally")
    monkeypatch.setattr(build.mod, "LOCKS", moved / "requirements")
    build.art["sources"] = [(moved / "functions" / "alerts" / "handler.py", "handler.py")]
    assert _digest(build) == before


@pytest.mark.parametrize("change", ["library file", "new library file", "removed library file", "handler",
                                    "lock file", "requirements", "probe"])
def test_every_input_changes_the_digest(build, change):
    before = _digest(build)
    lib = build.LIBRARY
    if change == "library file":
        (lib / "store" / "repository.py").write_text("TABLE = 'cloudtally2'\n")
    elif change == "new library file":
        (lib / "store" / "keys.py").write_text("")
    elif change == "removed library file":
        (lib / "store" / "repository.py").unlink()
    elif change == "handler":
        build.art["sources"][0][0].write_text("def handler(event, context):\n    return 1\n")
    elif change == "lock file":
        (build.LOCKS / "alerts.lock.txt").write_text("pynamodb==6.1.1\n")
    elif change == "requirements":
        build.art["requirements"].append("aws-xray-sdk==2.15.0")
    elif change == "probe":
        build.art["probe"].append("cloudtally.store")
    assert _digest(build) != before


def test_an_artifact_is_current_only_with_a_record_of_the_same_inputs(build, tmp_path):
    out = tmp_path / "out"
    art = build.art
    assert not build.mod.is_current("alerts", art, out)                       # never built
    (out / "alerts").mkdir(parents=True)
    assert not build.mod.is_current("alerts", art, out)                       # built before records existed
    (out / "alerts.build.json").write_text("{")
    assert not build.mod.is_current("alerts", art, out)                       # an interrupted record
    (out / "alerts.build.json").write_text(json.dumps({"inputs_sha256": _digest(build)}))
    assert build.mod.is_current("alerts", art, out)
    (build.LIBRARY / "__init__.py").write_text('"""cloudtally, changed"""\n')
    assert not build.mod.is_current("alerts", art, out)


def test_the_build_copies_exactly_the_files_the_digest_covers(build, tmp_path):
    (build.LIBRARY / "store" / "__pycache__").mkdir()
    (build.LIBRARY / "store" / "__pycache__" / "x.pyc").write_bytes(b"")
    (build.LIBRARY / "tests").mkdir()
    (build.LIBRARY / "tests" / "test_x.py").write_text("")
    dest = tmp_path / "copy"
    build.mod._copy(build.LIBRARY, dest)
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == sorted(p.relative_to(build.LIBRARY).as_posix() for p in build.mod._source_files(build.LIBRARY))
    assert copied == ["__init__.py", "store/repository.py"]
