"""The Lambda artifacts: `cdk synth` builds them on a clean checkout (and rebuilds only what is stale); each
builds from its lock file, imports its handler and the modules it loads lazily in a clean virtualenv holding
only the artifact, and stays under Lambda's 250 MB unzipped limit.

GIVEN a checkout without build/, WHEN the CDK app is synthesized, THEN scripts/build_lambdas.py builds every
artifact the stack deploys and each function's asset is its artifact; a second synth reuses them (same asset
hashes, nothing rebuilt, no network); a changed source rebuilds the artifacts built from it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cloudtally.infra_render import collector_artifact, lambda_placements
from tests.helpers import load_infra_app

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_lambdas.py"
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
pytestmark = pytest.mark.integration
NAMES = {"api", "alerts", *(collector_artifact(p.name) for p in lambda_placements())}


def _synth(out: Path, build: Path):
    import aws_cdk as cdk
    app, stack = load_infra_app().build(cdk.App(outdir=str(out), context={"artifactsDir": str(build)}))
    app.synth()
    return stack, json.loads((out / f"{stack.stack_name}.template.json").read_text())


def _functions(template: dict) -> dict[str, dict]:
    """Our Lambda functions (not CDK's bucket-deployment provider): logical id -> properties."""
    return {k: v["Properties"] for k, v in template["Resources"].items()
            if v["Type"] == "AWS::Lambda::Function" and "CDKBucketDeployment" not in k}


def _run(*args: str | Path, script: Path = SCRIPT) -> dict:
    r = subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    checkout = tmp_path_factory.mktemp("checkout")
    build = checkout / "build" / "lambda"                  # as on a clean checkout: no build/ at all
    out = tmp_path_factory.mktemp("cdk.out")
    stack, template = _synth(out, build)
    return {"stack": stack, "template": template, "out": out, "build": build}


def test_synth_on_a_clean_checkout_builds_every_artifact_into_its_asset(synthesized):
    report = synthesized["stack"].artifact_build
    assert set(report["built"]) == NAMES and report["reused"] == [] and report["ok"]
    stack, out = synthesized["stack"], synthesized["out"]
    assets = json.loads((out / f"{stack.stack_name}.assets.json").read_text())["files"]
    fns = _functions(synthesized["template"])
    assert len(fns) == len(NAMES)
    for fid, p in fns.items():
        asset = assets[p["Code"]["S3Key"].removesuffix(".zip")]
        assert asset["source"]["packaging"] == "zip", fid
        tree = out / asset["source"]["path"]
        module = p["Handler"].split(".")[0]
        # the artifact, not the bare function folder: the handler, cloudtally and the locked dependencies
        assert (tree / f"{module}.py").is_file() and (tree / "cloudtally" / "__init__.py").is_file(), fid
        assert (tree / "pynamodb").is_dir() and list(tree.glob("pynamodb-*.dist-info")), fid
        assert not list(tree.rglob("__pycache__")), fid
    for name in NAMES:
        assert json.loads((synthesized["build"] / f"{name}.build.json").read_text())["artifact"] == name


def test_a_second_synth_reuses_the_artifacts_and_their_asset_hashes(synthesized, tmp_path):
    installed = synthesized["build"] / "api" / "pynamodb" / "__init__.py"    # pip rewrites it on a rebuild
    before = installed.stat().st_mtime_ns
    stack, template = _synth(tmp_path / "cdk.out", synthesized["build"])
    assert stack.artifact_build["built"] == [] and set(stack.artifact_build["reused"]) == NAMES
    assert installed.stat().st_mtime_ns == before
    # unchanged assets: `cdk deploy` uploads nothing and leaves the functions as they are
    codes = {k: p["Code"]["S3Key"] for k, p in _functions(template).items()}
    assert codes == {k: p["Code"]["S3Key"] for k, p in _functions(synthesized["template"]).items()}


def test_artifacts_import_and_fit(synthesized):
    build = synthesized["build"]
    out = _run("--check", "--if-stale", "--out", build)
    assert out["ok"] and out["runtime"].startswith("python3")
    assert out["built"] == [] and set(out["reused"]) == NAMES      # what the synth built, checked as it is
    arts = out["artifacts"]
    assert {"api", "alerts", "collector-aws", "collector-aws-billing-export"} <= set(arts)
    for name, fig in arts.items():
        assert fig["handler_import"] == "ok", name
        assert 0 < fig["unzipped_bytes"] < 250 * 1024 * 1024, (name, fig)
    # the AWS collector ships no importer engine and no foreign SDK: it stays small
    assert arts["collector-aws"]["unzipped_bytes"] < 60 * 1024 * 1024
    assert not (build / "collector-aws" / "polars").exists()
    assert (build / "collector-aws-billing-export" / "polars").is_dir()


def test_a_changed_source_rebuilds_its_artifact_and_an_unchanged_one_is_reused(synthesized, tmp_path):
    # a copy of the build's inputs: the recorded digest is of contents, not paths, so the artifact the synth
    # built is current for the copy too, and the copy's sources can change without touching the checkout
    tree = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "vendor")
    for part in ("common/cloudtally", "functions", "requirements"):
        shutil.copytree(ROOT / part, tree / part, ignore=ignore)
    for part in ("scripts/build_lambdas.py", "pyproject.toml"):
        (tree / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / part, tree / part)
    script = tree / "scripts" / "build_lambdas.py"
    build = tmp_path / "lambda"
    shutil.copytree(synthesized["build"] / "alerts", build / "alerts")
    shutil.copy2(synthesized["build"] / "alerts.build.json", build / "alerts.build.json")
    source = tree / "common" / "cloudtally" / "forecast.py"

    os.utime(source, ns=(0, 0))                                    # a new mtime is no change
    assert _run("--if-stale", "--only", "alerts", "--out", build, script=script)["reused"] == ["alerts"]

    source.write_text(source.read_text() + "\n# changed\n")        # a new content is
    rebuilt = _run("--if-stale", "--only", "alerts", "--out", build, script=script)
    assert rebuilt["built"] == ["alerts"] and rebuilt["reused"] == []
    assert (build / "alerts" / "cloudtally" / "forecast.py").read_text().endswith("# changed\n")

    assert _run("--if-stale", "--only", "alerts", "--out", build, script=script)["reused"] == ["alerts"]
