"""Each Lambda artifact's lock file pins every requirement its function declares (pyproject extras + base).

A lock that drifted from pyproject.toml built an artifact without polars for the billing-export collector:
its handler imported (polars is imported lazily) and the function would have failed on its first import."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_lambdas", ROOT / "scripts" / "build_lambdas.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_declared_requirement_is_pinned(build):
    arts = build.artifacts()
    assert {"api", "alerts", "collector-aws", "collector-aws-billing-export"} <= set(arts)
    for name, art in arts.items():
        lock = build.lock_file(name, art).read_text().splitlines()
        pinned = {build._dist(line) for line in lock if line and not line.startswith("#")}
        missing = sorted(r for r in art["requirements"] if build._dist(r) not in pinned)
        assert not missing, f"{name}: {missing} not in its lock: run scripts/build_lambdas.py --lock --only {name}"


def test_requirement_names_normalise(build):
    assert build._dist("aws-lambda-powertools[tracer]==3.37.0") == "aws-lambda-powertools"
    assert build._dist("typing_extensions==4.16.0") == "typing-extensions"
    assert build._dist("boto3>=1.34") == "boto3"


def test_the_billing_export_artifact_probes_its_importer(build):
    art = build.artifacts()["collector-aws-billing-export"]
    assert "polars" in art["probe"] and "cloudtally.importers.engine" in art["probe"]
