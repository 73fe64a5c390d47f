#!/usr/bin/env python3
"""The local stack: `make up` / `make down` / `make reset`.

up:    DynamoDB Local (Amazon's jar, data in .local/ddb), moto server (SNS, S3, EventBridge, CloudWatch,
       Cost Explorer, EC2, EKS, RDS, Lambda, Secrets Manager), the table, the API on :8080 (cloudtally.devserver),
       admin/ingest/read keys, the demo dataset (through the API), every collector once, the dashboard on
       :8081; writes .local/stack.json and prints URLs and keys. Stays in the foreground: Ctrl-C stops
       everything it started (so does `make down` from another terminal). `--detach` returns instead.
down:  stops the processes recorded in .local/pids.json.
reset: down, then deletes .local/ (data and keys).
env:   prints shell exports of the API URL and keys (eval "$(.venv/bin/python scripts/stack.py env)").

The demo is relative to the clock: the system clock, or CLOUDTALLY_NOW (e.g. 2026-12-01T09:30:00Z), which
pins it for every part of the stack (the demo estate, the API, the collectors' run, the alert evaluator).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))

from cloudtally import devstack  # noqa: E402

LOCAL = ROOT / ".local"
PIDS = LOCAL / "pids.json"
STACK = LOCAL / "stack.json"
PORTS = {"dynamodb": int(os.environ.get("CLOUDTALLY_DDB_PORT", 8765)),
         "moto": int(os.environ.get("CLOUDTALLY_MOTO_PORT", 5055)),
         "api": int(os.environ.get("CLOUDTALLY_API_PORT", 8080)),
         "dashboard": int(os.environ.get("CLOUDTALLY_DASHBOARD_PORT", 8081))}
TABLE = "cloudtally-local"


def log(msg: str) -> None:
    print(f"[stack] {msg}", flush=True)


def _port_busy(port: int) -> bool:
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def down() -> None:
    if not PIDS.exists():
        log("nothing recorded in .local/pids.json")
        return
    pids = json.loads(PIDS.read_text())
    for name, pid in pids.items():
        try:
            os.killpg(pid, signal.SIGTERM)
            log(f"stopped {name} (pid {pid})")
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    for pid in pids.values():
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
                time.sleep(0.2)
            except ProcessLookupError:
                break
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    PIDS.unlink(missing_ok=True)


def up(detach: bool, skip_collectors: bool) -> int:
    LOCAL.mkdir(exist_ok=True)
    if PIDS.exists():
        down()
    for name, port in PORTS.items():
        if _port_busy(port):
            log(f"port {port} ({name}) is in use; stop that process or set CLOUDTALLY_{name.upper()}_PORT")
            return 1
    procs: dict[str, subprocess.Popen] = {}
    logs = LOCAL / "logs"
    logs.mkdir(exist_ok=True)

    def record() -> None:
        PIDS.write_text(json.dumps({k: p.pid for k, p in procs.items()}))

    try:
        log("starting DynamoDB Local (Amazon's jar) ...")
        procs["dynamodb"] = devstack.start_dynamodb_local(PORTS["dynamodb"], data_dir=LOCAL / "ddb",
                                                          log=logs / "dynamodb.log")
        record()
        log("starting moto server ...")
        procs["moto"] = devstack.start_moto(PORTS["moto"], log=logs / "moto.log")
        record()
        ddb = f"http://127.0.0.1:{PORTS['dynamodb']}"
        moto = f"http://127.0.0.1:{PORTS['moto']}"
        env = {**devstack.LOCAL_ENV, "CLOUDTALLY_TABLE": TABLE, "CLOUDTALLY_DYNAMODB_ENDPOINT": ddb,
               "AWS_ENDPOINT_URL": moto, "LOCALSTACK_HOST": f"127.0.0.1:{PORTS['moto']}",
               "CLOUDTALLY_DASHBOARD_URL": f"http://localhost:{PORTS['dashboard']}/"}
        os.environ.update(env)
        from cloudtally.auth import KeyService
        from cloudtally.config import ENV_NOW, load_settings
        from cloudtally.store import Store
        cfg = load_settings()
        now = cfg.clock.now()
        if cfg.clock.pinned_at is not None:
            log(f"clock pinned at {cfg.clock.describe()} ({ENV_NOW}): the demo, API, collectors and alerts use it")
        store = Store(cfg)
        created = store.create_table()
        log(f"table {TABLE}: {'created' if created else 'exists'}")
        state = json.loads(STACK.read_text()) if STACK.exists() and not created else {}
        keys = state.get("keys") or {}
        svc = KeyService(store, cfg.key_pepper, 0)
        for scope in ("admin", "ingest", "read"):
            k = keys.get(scope)
            if not k or store.get_key(k["id"]) is None:
                made = svc.create(f"local-{scope}", [scope])
                keys[scope] = {"id": made["id"], "secret": made["secret"]}
        log("starting the API (cloudtally.devserver) ...")
        procs["api"] = devstack.start_api(PORTS["api"], env, log=logs / "api.log")
        record()
        api_url = f"http://localhost:{PORTS['api']}"
        dashboard_url = f"http://localhost:{PORTS['dashboard']}/"
        state.update({"api_url": api_url, "dashboard_url": dashboard_url, "keys": keys, "table": TABLE,
                      "dynamodb_endpoint": ddb, "moto_endpoint": moto})
        STACK.write_text(json.dumps(state, indent=2))
        if not state.get("demo_loaded"):
            log("loading the demo dataset through the API ...")
            from cloudtally.client import Client
            res = load_demo_data(Client(api_url, keys["ingest"]["id"], keys["ingest"]["secret"]), store, now,
                                 skip_providers=() if skip_collectors else ("Microsoft",))   # the Azure collectors
            log(f"demo at {now:%Y-%m-%d %H:%M} UTC: {res['accepted']} records accepted, {res['rejected']} rejected, "
                f"{res['metrics']} metric points")
            state["demo_loaded"] = True
            STACK.write_text(json.dumps(state, indent=2))
        if not skip_collectors:
            run_collectors(env, keys, api_url, moto)
        if not state.get("budgets_created"):
            create_demo_budgets(api_url, keys)
            state["budgets_created"] = True
            STACK.write_text(json.dumps(state, indent=2))
        evaluate_alerts(env)
        dash = start_dashboard(keys, api_url, env, logs)
        if dash is not None:
            procs["dashboard"] = dash
            record()
        print(f"""
CloudTally is up.
  API:        {api_url}        (OpenAPI: {api_url}/v1/openapi.json)
  Dashboard:  {dashboard_url}
  Keys (also in .local/stack.json):
    admin   {keys['admin']['id']}  {keys['admin']['secret']}
    ingest  {keys['ingest']['id']}  {keys['ingest']['secret']}
    read    {keys['read']['id']}  {keys['read']['secret']}
  Try:
    curl -s -H "X-CloudTally-Key-Id: {keys['read']['id']}" -H "X-CloudTally-Key-Secret: {keys['read']['secret']}" \\
      "{api_url}/v1/costs/summary?granularity=month&group_by=provider"
""", flush=True)
        if detach:
            return 0
        log("Ctrl-C (or `make down`) stops everything")
        def interrupt(signum, frame):
            raise KeyboardInterrupt

        # explicit: a shell that starts us in the background ignores SIGINT, and `make down`/kill sends SIGTERM
        signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, interrupt)
        while all(p.poll() is None for p in procs.values()):
            time.sleep(1)
        dead = [k for k, p in procs.items() if p.poll() is not None]
        log(f"{', '.join(dead)} exited; stopping the rest (logs in .local/logs/)")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if not detach:
            for p in procs.values():
                devstack.stop(p)
            PIDS.unlink(missing_ok=True)
            log("stopped")


def load_demo_data(client, store, now, skip_providers=()) -> dict[str, int]:
    """The demo estate at ``now`` (cloudtally.demo): records through the API, metric points to the store; the
    providers in ``skip_providers`` come from their collectors instead."""
    from cloudtally.demo import demo_metrics, demo_records
    res = client.send_records(demo_records(now, skip_providers=tuple(skip_providers)))
    from cloudtally.telemetry.demo import write_demo_hosts
    return {"accepted": res.accepted, "rejected": len(res.rejected),
            "metrics": store.write_metrics(demo_metrics(now)), "hosts": write_demo_hosts(store, now)}


def run_collectors(env: dict, keys: dict, api_url: str, moto: str) -> None:
    """Run every registered collector once, against moto for the AWS ones."""
    script = ROOT / "scripts" / "run_collectors_local.py"
    if not script.exists():
        log("no collectors registered yet")
        return
    r = subprocess.run([sys.executable, str(script)], env={**os.environ, **env,
                       "CLOUDTALLY_API_URL": api_url, "CLOUDTALLY_API_KEY_ID": keys["ingest"]["id"],
                       "CLOUDTALLY_API_KEY_SECRET": keys["ingest"]["secret"]}, cwd=ROOT)
    if r.returncode != 0:
        log(f"a collector run failed (exit {r.returncode}); see its output above and GET /v1/collectors")


DEMO_BUDGETS = [
    {"id": "company-monthly", "name": "Company cloud spend", "amount": "16000.00", "currency": "USD",
     "period": "monthly"},
    {"id": "aws-monthly", "name": "AWS", "amount": "7000.00", "currency": "USD", "period": "monthly",
     "scope": {"provider": "AWS"}},
    {"id": "team-ml", "name": "Team ML", "amount": "3500.00", "currency": "USD", "period": "monthly",
     "scope": {"tags": {"team": "ml"}}},
    {"id": "data-quarterly", "name": "Data platform (quarter)", "amount": "20000.00", "currency": "USD",
     "period": "quarterly", "scope": {"tags": {"team": "data"}}},
]


def create_demo_budgets(api_url: str, keys: dict) -> None:
    from cloudtally.client import Client
    from cloudtally.errors import CloudTallyError
    admin = Client(api_url, keys["admin"]["id"], keys["admin"]["secret"])
    for b in DEMO_BUDGETS:
        try:
            admin.request("POST", "/v1/budgets", body=b)
        except CloudTallyError as e:
            log(f"budget {b['id']}: {e.message}")
    log(f"{len(DEMO_BUDGETS)} demo budgets")


def evaluate_alerts(env: dict) -> int:
    """Create the alerts topic in moto and run the evaluator once (budgets + anomaly detection); its exit code."""
    import boto3
    sns = boto3.client("sns", region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"])
    arn = sns.create_topic(Name="cloudtally-alerts")["TopicArn"]
    r = subprocess.run([sys.executable, "-m", "cloudtally.cli", "alerts", "evaluate", "--sns-endpoint",
                        env["AWS_ENDPOINT_URL"]], env={**os.environ, **env, "CLOUDTALLY_SNS_TOPIC_ARN": arn},
                       cwd=ROOT, capture_output=True, text=True)
    lines = (r.stdout or r.stderr).strip().splitlines()
    log(f"alerts evaluated (exit {r.returncode}): {lines[-1][:200] if lines else ''}")
    return r.returncode


def start_dashboard(keys: dict, api_url: str, env: dict, logs: Path) -> subprocess.Popen | None:
    server = ROOT / "scripts" / "serve_dashboard.py"
    if not server.exists():
        log("dashboard not built yet")
        return None
    proc = subprocess.Popen([sys.executable, str(server), "--port", str(PORTS["dashboard"]), "--api-url", api_url,
                             "--demo-key-id", keys["read"]["id"], "--demo-key-secret", keys["read"]["secret"]],
                            cwd=ROOT, env={**os.environ, **env}, stdout=open(logs / "dashboard.log", "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    devstack.wait_port(PORTS["dashboard"], 120, proc)
    return proc


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["up", "down", "reset", "env"])
    p.add_argument("--detach", action="store_true", help="leave the stack running and return (make down stops it)")
    p.add_argument("--skip-collectors", action="store_true")
    a = p.parse_args()
    if a.action == "up":
        return up(a.detach, a.skip_collectors)
    if a.action == "env":  # eval "$(.venv/bin/python scripts/stack.py env)" in a shell
        st = json.loads(STACK.read_text())
        k = st["keys"]
        print(f"export API={st['api_url']} CLOUDTALLY_API_URL={st['api_url']}\n"
              f"export INGEST_ID={k['ingest']['id']} INGEST_SECRET={k['ingest']['secret']}\n"
              f"export READ_ID={k['read']['id']} READ_SECRET={k['read']['secret']}\n"
              f"export CLOUDTALLY_API_KEY_ID={k['read']['id']} CLOUDTALLY_API_KEY_SECRET={k['read']['secret']}\n"
              f"export ADMIN_ID={k['admin']['id']} ADMIN_SECRET={k['admin']['secret']}")
        return 0
    down()
    if a.action == "reset":
        shutil.rmtree(LOCAL, ignore_errors=True)
        log("removed .local/ (data and keys)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
