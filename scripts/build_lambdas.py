#!/usr/bin/env python3
"""Build one Lambda artifact per function from lock files: build/lambda/<name>/ (and <name>.zip with --zip).

    .venv/bin/python scripts/build_lambdas.py --lock     # resolve requirements/<name>.lock.txt (needs PyPI)
    .venv/bin/python scripts/build_lambdas.py            # build every artifact from the lock files
    .venv/bin/python scripts/build_lambdas.py --zip --check   # + deterministic zips, import check, sizes
    .venv/bin/python scripts/build_lambdas.py --if-stale      # only what is missing or stale (what `cdk synth` runs)

Artifacts (names shared with infra/ and serverless.yml through cloudtally.infra_render):
  api                 the Chalice app (app.py, chalicelib/, Chalice's runtime) + cloudtally + the base deps; the
                      same tree is vendored into functions/api/vendor/ so `chalice package` ships it too
  alerts              functions/alerts/handler.py + cloudtally + base deps + the "aws" extra
  collector-<name>    functions/aws/handler.py + cloudtally + base deps + the collector's own sdk_extra only
                      (one per AWS-hosted collector in the registry: the AWS collector ships no Azure SDK)

The lock files pin every distribution (closure resolved for the Lambda platform, manylinux x86_64, the
runtime's Python); the build installs them with --no-deps, so the same lock gives the same tree. The check
imports each handler in a fresh virtualenv (no site-packages) holding only the artifact, and fails above
250 MB unzipped (Lambda's limit). Last stdout line: one JSON object with the sizes, and which artifacts were
built and which reused.

Each built artifact records the SHA-256 of its inputs beside it (<name>.build.json): the contents (not the
mtimes) of cloudtally, the function's own sources, Chalice's runtime files for the API, the lock file, the
requirements it declares and this script. --if-stale rebuilds only the artifacts whose inputs changed or
that have no record, and reuses the others without touching the network.
"""

from __future__ import annotations

import argparse
import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))

from cloudtally.infra_render import RUNTIME, collector_artifact, lambda_placements  # noqa: E402

BUILD = ROOT / "build" / "lambda"
LOCKS = ROOT / "requirements"
LIBRARY = ROOT / "common" / "cloudtally"
PY_VERSION = RUNTIME.removeprefix("python")          # "3.14"
PLATFORM = "manylinux2014_x86_64"
LIMIT_BYTES = 250 * 1024 * 1024
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
EXCLUDE = ("__pycache__", "*.pyc", "tests")         # names never copied from a source tree
STAMP = ".build.json"                               # <out>/<name>.build.json: the inputs an artifact was built from


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def artifacts() -> dict[str, dict]:
    """name → {requirements (PEP 508), sources [(src, dest)], handler module, handler attr}."""
    proj = _pyproject()["project"]
    base = list(proj["dependencies"])
    extras = proj["optional-dependencies"]
    out: dict[str, dict] = {
        # the "api" extra minus Chalice itself: its runtime is two injected files, as `chalice package` does
        "api": {"requirements": base + [r for r in extras["api"] if not r.lower().startswith("chalice")],
                "module": "app", "attr": "app",
                # the routes import these lazily (cold start): each must import from the artifact alone
                "probe": ["cloudtally.api.service", "cloudtally.api.openapi", "cloudtally.api.handlers",
                          "cloudtally.api.collector_state", "cloudtally.store", "cloudtally.budgets",
                          "cloudtally.dashboard_data", "cloudtally.importers.export", "cloudtally.alerts",
                          "cloudtally.api.telemetry", "cloudtally.telemetry.otlp"],
                "sources": [(ROOT / "functions" / "api" / "app.py", "app.py"),
                            (ROOT / "functions" / "api" / "chalicelib", "chalicelib")]},
        "alerts": {"requirements": base + extras["aws"], "module": "handler", "attr": "handler",
                   "probe": ["cloudtally.store", "cloudtally.alerts", "cloudtally.anomaly", "cloudtally.forecast"],
                   "sources": [(ROOT / "functions" / "alerts" / "handler.py", "handler.py")]},
    }
    for placement in lambda_placements():
        spec = placement.spec
        if spec.sdk_extra not in extras:
            raise SystemExit(f"collector {spec.name}: sdk_extra {spec.sdk_extra!r} is not an extra in pyproject.toml")
        # the Lambda runtime's own needs (the handler: Powertools, boto3 for Secrets Manager) + the collector's SDK
        reqs = list(dict.fromkeys(base + extras["lambda"] + extras[spec.sdk_extra]))
        out[collector_artifact(spec.name)] = {
            "requirements": reqs, "module": "handler", "attr": "handler", "lock": f"collector-{spec.sdk_extra}",
            "probe": [spec.module, "cloudtally.collectors.function"] + list(spec.runtime_modules),
            "sources": [(ROOT / "functions" / "aws" / "handler.py", "handler.py")]}
    return out


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=True)


def lock_file(name: str, art: dict) -> Path:
    """The artifact's lock file: its own (``api``, ``alerts``), or its collector extra's, shared by every
    collector function that installs the same extra (``collector-<extra>.lock.txt``)."""
    return LOCKS / f"{art.get('lock', name)}.lock.txt"


def lock(name: str, reqs: list[str]) -> Path:
    """Resolve ``reqs`` for the Lambda platform and pin the whole closure into requirements/<name>.lock.txt."""
    LOCKS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        _pip("install", "-q", "--dry-run", "--ignore-installed", "--report", str(report), "--target", tmp,
             "--only-binary=:all:", "--platform", PLATFORM, "--python-version", PY_VERSION, "--implementation",
             "cp", *reqs)
        items = json.loads(report.read_text())["install"]
    pins = sorted(f"{i['metadata']['name'].lower()}=={i['metadata']['version']}" for i in items)
    path = LOCKS / f"{name}.lock.txt"
    path.write_text(f"# {name}: generated by scripts/build_lambdas.py --lock from {', '.join(sorted(reqs))}\n"
                    f"# for {RUNTIME} on {PLATFORM}; do not edit\n" + "\n".join(pins) + "\n")
    return path


def _dist(req: str) -> str:
    """The normalised distribution name of a requirement line (``aws-lambda-powertools[tracer]==3`` → ...)."""
    import re
    return re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~; ]", req.strip(), maxsplit=1)[0]).lower()


def _source_files(src: Path) -> list[Path]:
    """The files of ``src`` (a file or a tree) that a build copies, sorted: EXCLUDE'd names left out."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        return []
    return sorted(f for f in src.rglob("*") if f.is_file() and not any(
        fnmatch.fnmatch(part, pat) for part in f.relative_to(src).parts for pat in EXCLUDE))


def _copy(src: Path, dest: Path) -> None:
    for f in _source_files(src):
        target = dest / f.relative_to(src) if src.is_dir() else dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)


def _inputs(name: str, art: dict) -> list[tuple[Path, str]]:
    """(source, destination in the artifact) of everything copied into ``name`` besides the locked wheels."""
    out = [(LIBRARY, "cloudtally"), *art["sources"]]
    if name == "api":
        import chalice   # Chalice's runtime is two files; `chalice package` injects the same ones
        pkg = Path(chalice.__file__).parent
        out += [(pkg / f, f"chalice/{f}") for f in ("__init__.py", "app.py")]
    return out


def inputs_digest(name: str, art: dict) -> str:
    """SHA-256 over the contents an artifact is built from (paths relative to the artifact, never mtimes):
    its definition and declared requirements, the lock file, this script and every copied source file."""
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    definition = {"requirements": sorted(art["requirements"]), "module": art["module"], "attr": art["attr"],
                  "probe": art.get("probe", []), "runtime": RUNTIME, "platform": PLATFORM}
    add("definition", json.dumps(definition, sort_keys=True).encode())
    lockfile = lock_file(name, art)
    add("lock", lockfile.read_bytes() if lockfile.is_file() else b"missing")
    add("script", Path(__file__).read_bytes())
    for src, dest in _inputs(name, art):
        files = _source_files(src)
        add(f"source {dest}", str(len(files)).encode())   # a missing or emptied source changes the digest too
        for f in files:
            add(f"{dest}/{f.relative_to(src).as_posix()}" if src.is_dir() else dest, f.read_bytes())
    return h.hexdigest()


def _stamp(root: Path, name: str) -> Path:
    return root / f"{name}{STAMP}"


def is_current(name: str, art: dict, root: Path = BUILD) -> bool:
    """Whether ``root/name`` was built from exactly the inputs there are now."""
    stamp = _stamp(root, name)
    if not (root / name).is_dir() or not stamp.is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text()).get("inputs_sha256")
    except ValueError:         # a truncated record: rebuilt
        return False
    return recorded == inputs_digest(name, art)


def _vendor(out: Path) -> None:
    """functions/api/vendor: what `chalice package` bundles (the API artifact without the app and Chalice)."""
    vendor = ROOT / "functions" / "api" / "vendor"
    shutil.rmtree(vendor, ignore_errors=True)
    shutil.copytree(out, vendor, ignore=shutil.ignore_patterns("app.py", "chalicelib", "chalice", *EXCLUDE))


def build(name: str, art: dict, root: Path = BUILD) -> Path:
    lockfile = lock_file(name, art)
    if not lockfile.is_file():
        raise SystemExit(f"{lockfile} missing: run scripts/build_lambdas.py --lock")
    pinned = {_dist(line) for line in lockfile.read_text().splitlines() if line and not line.startswith("#")}
    stale = sorted(r for r in art["requirements"] if _dist(r) not in pinned)
    if stale:
        raise SystemExit(f"{lockfile.relative_to(ROOT)} does not pin {', '.join(stale)} (pyproject.toml changed): "
                         f"run scripts/build_lambdas.py --lock --only {name}")
    out = root / name
    digest = inputs_digest(name, art)       # of the inputs as they are when the build starts
    _stamp(root, name).unlink(missing_ok=True)
    out.with_suffix(".zip").unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    _pip("install", "-q", "--no-deps", "--no-compile", "--target", str(out), "--only-binary=:all:", "--platform",
         PLATFORM, "--python-version", PY_VERSION, "--implementation", "cp", "-r", str(lockfile))
    for src, dest in _inputs(name, art):
        if not src.exists():
            raise SystemExit(f"{name}: {src} is missing")
        _copy(src, out / dest)
    if name == "api" and root == BUILD:
        _vendor(out)
    for junk in out.rglob("__pycache__"):
        shutil.rmtree(junk, ignore_errors=True)
    # recorded last: an interrupted build has no record, so the next --if-stale builds it again
    tmp = _stamp(root, name).with_suffix(".tmp")
    tmp.write_text(json.dumps({"artifact": name, "inputs_sha256": digest, "runtime": RUNTIME, "platform": PLATFORM},
                              indent=1) + "\n")
    tmp.replace(_stamp(root, name))
    return out


def make_zip(d: Path) -> Path:
    """A deterministic zip: sorted entries, fixed timestamps and modes (same lock → same bytes)."""
    path = d.with_suffix(".zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for f in sorted(p for p in d.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f.relative_to(d).as_posix(), ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, f.read_bytes())
    return path


def size(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def check(name: str, art: dict, d: Path, venv_root: Path) -> None:
    """Import the handler in a fresh virtualenv whose only code is the artifact (no site-packages)."""
    venv = venv_root / name
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # the handler imports; every declared requirement is installed (handlers import some lazily, e.g. the
    # billing-export collector's polars); the modules the function runs import too; no foreign cloud SDK
    dists = sorted({_dist(r) for r in art["requirements"]})
    probe = ("import importlib, importlib.metadata as md, json, sys; sys.path.insert(0, sys.argv[1]); "
             f"m = importlib.import_module({art['module']!r}); assert callable(getattr(m, {art['attr']!r})); "
             "missing = [d for d in json.loads(sys.argv[2]) if not list(md.distributions(name=d, path=[sys.argv[1]]))]; "
             "assert not missing, f'requirements missing from the artifact: {missing}'; "
             "[importlib.import_module(x) for x in json.loads(sys.argv[3])]; "
             "bad = [p for p in sys.modules if p.split('.')[0] in ('azure', 'snowflake', 'google', 'databricks')]; "
             "assert not bad, bad")
    env = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "CLOUDTALLY_TABLE": "cloudtally-check", "POWERTOOLS_TRACE_DISABLED": "true"}
    r = subprocess.run([str(venv / "bin" / "python"), "-I", "-c", probe, str(d), json.dumps(dists),
                        json.dumps(art.get("probe", []))], capture_output=True, text=True, env=env, cwd=venv_root)
    if r.returncode != 0:
        raise RuntimeError(f"{name}: handler import failed in a clean virtualenv:\n{r.stderr[-1500:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lock", action="store_true", help="re-resolve requirements/<name>.lock.txt (needs PyPI)")
    ap.add_argument("--zip", action="store_true", help="also write build/lambda/<name>.zip")
    ap.add_argument("--check", action="store_true", help="import each handler in a clean venv; enforce 250 MB")
    ap.add_argument("--only", action="append", help="build only these artifacts")
    ap.add_argument("--out", type=Path, default=BUILD,
                    help="build here instead of build/lambda (then functions/api/vendor is left alone)")
    ap.add_argument("--if-stale", action="store_true",
                    help="rebuild only artifacts that are missing or whose inputs changed since they were built")
    a = ap.parse_args(argv)
    known = artifacts()
    unknown = sorted(set(a.only or ()) - set(known))
    if unknown:
        raise SystemExit(f"unknown artifact(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    arts = {k: v for k, v in known.items() if not a.only or k in a.only}
    out_root = a.out.resolve()
    if a.lock:
        done: set[str] = set()
        for name, art in arts.items():
            if art.get("lock", name) not in done:
                done.add(art.get("lock", name))
                print(f"locked {lock(art.get('lock', name), art['requirements']).relative_to(ROOT)}")
    figures: dict[str, dict] = {}
    failures: list[str] = []
    built: list[str] = []
    reused: list[str] = []
    out_root.mkdir(parents=True, exist_ok=True)
    # one build at a time per folder (two synths, `cdk watch` and a hand-run build): the second waits, then
    # finds the first one's artifacts current
    with open(out_root / ".build.lock", "w") as held, tempfile.TemporaryDirectory() as venvs:
        fcntl.flock(held, fcntl.LOCK_EX)
        for name, art in arts.items():
            if a.if_stale and is_current(name, art, out_root):
                d = out_root / name
                reused.append(name)
                if name == "api" and out_root == BUILD and not (ROOT / "functions" / "api" / "vendor").is_dir():
                    _vendor(d)
            else:
                d = build(name, art, out_root)
                built.append(name)
            fig = {"unzipped_bytes": size(d), "built": name in built}
            if a.zip:
                z = d.with_suffix(".zip")
                fig["zip_bytes"] = (z if name in reused and z.is_file() else make_zip(d)).stat().st_size
            if a.check:
                try:
                    check(name, art, d, Path(venvs))
                    fig["handler_import"] = "ok"
                except RuntimeError as e:
                    fig["handler_import"] = "failed"
                    failures.append(str(e))
                if fig["unzipped_bytes"] >= LIMIT_BYTES:
                    failures.append(f"{name}: {fig['unzipped_bytes']} bytes unzipped, Lambda's limit is 250 MB")
            figures[name] = fig
            print(f"{name:28s} {fig['unzipped_bytes'] / 1e6:8.1f} MB unzipped"
                  + (f" {fig['zip_bytes'] / 1e6:7.1f} MB zipped" if "zip_bytes" in fig else "")
                  + (f" import {fig['handler_import']}" if a.check else "")
                  + ("" if name in built else "  (up to date: reused)"), flush=True)
    for f in failures:
        print(f, file=sys.stderr)
    print(json.dumps({"artifacts": figures, "built": built, "reused": reused, "runtime": RUNTIME,
                      "limit_bytes": LIMIT_BYTES, "ok": not failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
