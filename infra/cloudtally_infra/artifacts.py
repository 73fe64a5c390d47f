"""The Lambda artifacts a synth packages, brought up to date by scripts/build_lambdas.py (the one builder).

``cdk synth`` / ``cdk deploy`` run the builder with ``--if-stale``: an artifact that is missing, or whose
inputs (cloudtally, the function's sources, its lock file, the builder) changed since its recorded build,
is built (pip fetches the locked manylinux wheels from PyPI); the others are reused as they are, offline,
so their asset hashes, and the deployed functions, do not change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import naming

BUILD_SCRIPT = naming.ROOT / "scripts" / "build_lambdas.py"


class ArtifactBuildError(RuntimeError):
    """scripts/build_lambdas.py failed: the synth stops (a function without its artifact is not deployable)."""


def ensure(out: Path, names: list[str], *, script: Path = BUILD_SCRIPT) -> dict[str, Any]:
    """Build the artifacts ``names`` under ``out`` that are missing or stale; returns the builder's report
    (``{"built": [...], "reused": [...], "artifacts": {name: {"unzipped_bytes", "built"}}, ...}``).

    The builder's progress goes to stderr: ``cdk synth`` prints the template on stdout."""
    cmd = [sys.executable, str(script), "--if-stale", "--out", str(out)]
    for name in names:
        cmd += ["--only", name]
    proc = subprocess.Popen(cmd, cwd=naming.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    for line in proc.stdout or ():
        lines.append(line)
        sys.stderr.write(line)
    rc = proc.wait()
    if rc != 0:
        raise ArtifactBuildError(
            f"building the Lambda artifacts failed ({script.relative_to(naming.ROOT)} exited with {rc}; its "
            "output is above). A build (the first, or one after a source or lock file changed) installs the "
            "locked manylinux wheels from PyPI, which must be reachable.")
    report = _report(lines)
    if report is None:
        raise ArtifactBuildError(f"{script.name} printed no report (a JSON object as its last line)")
    missing = sorted(set(names) - set(report["built"]) - set(report["reused"]))
    if missing:
        raise ArtifactBuildError(f"{script.name} built none of {', '.join(missing)}")
    return report


def _report(lines: list[str]) -> dict[str, Any] | None:
    for line in reversed(lines):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None
