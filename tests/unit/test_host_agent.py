"""The host agent's parts: config (YAML hierarchy, env overrides, redaction), buffer (durable journal, batches
with stable keys across crashes, memory spill, bounded disk with a dropped counter), retries, detection of
containers / virtualisation / clouds, GPUs through NVML (faked), the systemInfo fields and the agent's OTLP
output read back by the receiver's decoder."""

from __future__ import annotations

import http.client
import http.server
import io
import json
import threading
import urllib.error
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from cloudtally.agents.host import config as agent_config
from cloudtally.agents.host.buffer import Buffer
from cloudtally.agents.host.export import Sender, encode_otlp
from cloudtally.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 15, 9, 30, tzinfo=timezone.utc)
T = int(NOW.timestamp())


def pts(n: int = 3, v: float = 0.5) -> list:
    return [["system.cpu.utilization", "g", "1", v, None]] + [["system.network.io", "s", "By", 1000 + i,
                                                              {"network.io.direction": f"d{i}"}] for i in range(n - 1)]


# ---------------------------------------------------------------------------------------------- config
def test_yaml_hierarchy_env_overrides_and_redaction(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text(yaml.safe_dump({
        "telemetryflow": {"endpoint": "collector:4318", "api_key_id": "tfk_file", "api_key_secret": "tfs_file",
                          "retry": {"initial_interval": "500ms", "max_interval": "2m"}},
        "agent": {"name": "web", "tags": {"team": "a"}},
        "collectors": {"system": {"interval": "30s", "network": False}},
        "exporter": {"path": "/v1/metrics", "headers": {"X-Scope-OrgID": "tenant-secret"}}}))
    cfg = agent_config.load(f, env={"TELEMETRYFLOW_API_KEY_SECRET": "tfs_env", "TELEMETRYFLOW_AGENT_ID": "a-1",
                                    "TELEMETRYFLOW_ENVIRONMENT": "staging", "CLOUDTALLY_API_KEY_ID": "ignored"})
    assert cfg.telemetryflow.endpoint == "http://collector:4318"
    assert (cfg.telemetryflow.api_key_id, cfg.telemetryflow.api_key_secret) == ("tfk_file", "tfs_env")
    assert (cfg.telemetryflow.environment, cfg.agent.id, cfg.agent.name) == ("staging", "a-1", "web")
    assert (cfg.telemetryflow.retry.initial_interval, cfg.telemetryflow.retry.max_interval) == (0.5, 120.0)
    assert cfg.collectors.system.interval == 30.0 and cfg.collectors.system.network is False
    assert cfg.heartbeat.interval == 60.0 and cfg.exporter.flush_interval == 10.0 and cfg.exporter.batch_size == 100
    assert cfg.export_path == "/v1/metrics"
    red = agent_config.redacted(cfg)
    assert red["telemetryflow"]["api_key_secret"] == "***" and red["exporter"]["headers"] == {"X-Scope-OrgID": "***"}
    assert "tfs_env" not in json.dumps(red) and "tenant-secret" not in json.dumps(red)


@pytest.mark.parametrize("doc,message", [
    ({"telemetryflow": {"protocol": "grpc"}}, "protocol 'grpc' is not supported"),
    ({"telemetryflow": {"endpoint": "ftp://x"}}, "must be an http(s) URL"),
    ({"agent": {"nme": "x"}}, "agent: unknown key(s) nme"),
    ({"collectors": {"system": {"interval": "soon"}}}, "collectors.system.interval: expected a duration"),
    ({"exporter": {"batch_size": "many"}}, "exporter.batch_size: expected a whole number"),
    ({"heartbeat": {"enabled": "maybe"}}, "heartbeat.enabled: expected true or false"),
    ({"collectors": {"logs": {"enabled": True}}}, "collectors.logs is not implemented"),
    ({"exporter": {"format": "prometheus"}}, "exporter.format must be otlp or cloudtally-json"),
    (["not", "a", "mapping"], "must hold a mapping"),
])
def test_a_bad_config_names_the_key(tmp_path, doc, message):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as e:
        agent_config.load(f, env={})
    assert message in e.value.message


def test_the_shipped_configs_validate(tmp_path):
    agent_config.load(ROOT / "deploy" / "agent" / "agent.yaml", env={})
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "agent" / "daemonset.yaml").read_text()))
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    f = tmp_path / "daemonset-agent.yaml"
    f.write_text(cm["data"]["agent.yaml"])
    cfg = agent_config.load(f, env={})
    assert cfg.collectors.system.host_root == "/host" and cfg.buffer.path == "/var/lib/cloudtally-agent"


# ---------------------------------------------------------------------------------------------- deploy artifacts
def test_systemd_unit_runs_the_agent_as_a_service_with_a_clean_stop():
    import configparser
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read_string((ROOT / "deploy" / "agent" / "cloudtally-agent.service").read_text())
    svc = unit["Service"]
    assert svc["ExecStart"].split() == ["/usr/local/bin/cloudtally-agent", "--config", "/etc/cloudtally/agent.yaml"]
    assert svc["KillSignal"] == "SIGTERM" and svc["Restart"] == "always" and int(svc["TimeoutStopSec"]) >= 10
    assert svc["StateDirectory"] == "cloudtally-agent"          # /var/lib/cloudtally-agent = buffer.path
    assert svc["User"] != "root" and svc["EnvironmentFile"].startswith("-/etc/cloudtally/")
    assert "/var/lib/cloudtally-agent" in svc["ReadWritePaths"]
    assert unit["Install"]["WantedBy"] == "multi-user.target" and "network-online.target" in unit["Unit"]["After"]
    assert agent_config.load(ROOT / "deploy" / "agent" / "agent.yaml", env={}).buffer.path == "/var/lib/cloudtally-agent"


def test_dockerfile_installs_the_agent_extra_and_runs_it_unprivileged():
    lines, cont = [], ""
    for raw in (ROOT / "deploy" / "agent" / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        cont += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(cont.strip())
            cont = ""
    ins = [(line.split(" ", 1)[0].upper(), line.split(" ", 1)[1]) for line in lines]
    kinds = [k for k, _ in ins]
    assert kinds[0] == "FROM" and ins[0][1].startswith("python:3.")
    for k, arg in ins:
        assert k in {"FROM", "WORKDIR", "COPY", "RUN", "USER", "VOLUME", "ENV", "STOPSIGNAL", "ENTRYPOINT", "CMD"}, k
        if k == "COPY":
            for src in arg.split()[:-1]:
                assert (ROOT / src.rstrip("/")).exists(), f"COPY source {src} missing from the repository"
    run = " ".join(a for k, a in ins if k == "RUN")
    assert '".[agent]"' in run
    assert dict(ins)["USER"] == "10001" and dict(ins)["STOPSIGNAL"] == "SIGTERM"
    assert json.loads(dict(ins)["ENTRYPOINT"]) == ["cloudtally-agent"]
    assert json.loads(dict(ins)["CMD"]) == ["--config", "/etc/cloudtally/agent.yaml"]
    assert "/var/lib/cloudtally-agent" in dict(ins)["VOLUME"]
    import tomllib
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["cloudtally-agent"] == "cloudtally.agents.host.cli:main"


def test_daemonset_manifest_is_valid_and_wires_secret_downward_api_and_host_mounts():
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "agent" / "daemonset.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"ServiceAccount", "ConfigMap", "DaemonSet"}
    for d in docs:
        assert d["apiVersion"] in ("v1", "apps/v1") and d["metadata"]["namespace"] == "cloudtally"
    ds = kinds["DaemonSet"]
    assert ds["apiVersion"] == "apps/v1"
    spec = ds["spec"]["template"]["spec"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items()
    assert spec["hostPID"] is True and spec["hostNetwork"] is True
    assert spec["serviceAccountName"] == kinds["ServiceAccount"]["metadata"]["name"]
    (c,) = spec["containers"]
    env = {e["name"]: e for e in c["env"]}
    for k in ("TELEMETRYFLOW_API_KEY_ID", "TELEMETRYFLOW_API_KEY_SECRET"):
        assert env[k]["valueFrom"]["secretKeyRef"]["key"] == k and "value" not in env[k]
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["CONTAINER_IMAGE"]["value"] == c["image"]
    assert c["args"] == ["--config", "/etc/cloudtally/agent.yaml"]
    assert c["securityContext"]["runAsNonRoot"] and c["securityContext"]["readOnlyRootFilesystem"]
    assert c["resources"]["limits"]["memory"] and c["resources"]["limits"]["cpu"]
    vols = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert set(mounts) <= set(vols)
    assert vols["host"]["hostPath"]["path"] == "/" and mounts["host"]["mountPath"] == "/host" and mounts["host"]["readOnly"]
    assert vols["config"]["configMap"]["name"] == kinds["ConfigMap"]["metadata"]["name"]
    assert mounts["config"]["mountPath"] == "/etc/cloudtally" and "agent.yaml" in kinds["ConfigMap"]["data"]
    assert mounts["buffer"]["mountPath"] == vols["buffer"]["hostPath"]["path"] == "/var/lib/cloudtally-agent"
    assert spec["terminationGracePeriodSeconds"] >= 10


# ---------------------------------------------------------------------------------------------- buffer
def test_a_durable_buffer_survives_a_kill_and_re_sends_a_batch_with_its_key(tmp_path):
    b = Buffer(tmp_path, max_memory_bytes=300)
    for i in range(5):
        b.add(T + 15 * i, pts())
    batch = b.next_batch(3, now=T + 60, linger=0)
    assert batch.seqs == [1, 2, 3] and batch.points == 9
    # killed here: nothing closed; a new process opens the same folder
    b2 = Buffer(tmp_path, max_memory_bytes=300)
    again = b2.next_batch(3, now=T + 60, linger=0)
    assert (again.key, again.seqs) == (batch.key, batch.seqs)            # the same key: counted once by the API
    assert [e["t"] for e in b2.entries(again)] == [T, T + 15, T + 30]
    b2.ack(again)
    nxt = b2.next_batch(3, now=T + 60, linger=0)
    assert nxt.seqs == [4, 5] and nxt.key != batch.key
    b2.ack(nxt)
    s = b2.stats()
    assert (s["collected_points"], s["acked_points"], s["entries"], s["acked_batches"]) == (15, 15, 0, 2)
    assert not list((tmp_path / "journal").iterdir()) and not list((tmp_path / "batches").glob("*.json"))


def test_recovery_counts_a_collection_written_before_its_state_and_skips_an_acknowledged_batch(tmp_path):
    b = Buffer(tmp_path)
    b.add(T, pts())
    batch = b.next_batch(10, now=T, linger=0)
    # acknowledged and counted, then killed before the files were deleted
    b.state["acked_points"] += batch.points
    b.state["acked_keys"].append(batch.key)
    b._save()
    # and a collection reached the journal but not the state
    (tmp_path / "journal" / f"{2:012d}-{T + 15}-4.json").write_text(json.dumps({"seq": 2, "t": T + 15, "p": pts(4)}))
    b2 = Buffer(tmp_path)
    s = b2.stats()
    assert (s["collected_points"], s["acked_points"], s["entries"], s["pending_batches"]) == (7, 3, 1, 0)
    assert b2.add(T + 30, pts()) == 3


def test_linger_and_batch_size_decide_when_a_partial_batch_goes(tmp_path):
    b = Buffer(tmp_path)
    for i in range(3):
        b.add(T + 15 * i, pts())
    assert b.next_batch(5, now=T + 100, linger=300) is None           # 3 < 5 and the oldest waited 100 s
    assert b.next_batch(5, now=T + 300, linger=300).seqs == [1, 2, 3]
    b2 = Buffer(tmp_path / "x")
    for i in range(6):
        b2.add(T + i, pts())
    assert b2.next_batch(5, now=T + 6, linger=300).seqs == [1, 2, 3, 4, 5]   # a full batch goes at once


def test_the_disk_is_bounded_and_every_dropped_point_counted(tmp_path):
    one = len(json.dumps({"seq": 1, "t": T, "p": pts()}, separators=(",", ":")))
    b = Buffer(tmp_path, max_memory_bytes=0, max_disk_bytes=one * 10)
    for i in range(40):
        b.add(T + 15 * i, pts())
    s = b.stats()
    assert s["disk_bytes"] <= one * 10
    assert s["dropped_entries"] >= 28 and s["dropped_points"] == 3 * s["dropped_entries"]
    assert s["collected_points"] == s["dropped_points"] + s["waiting_points"] == 120
    # the newest collections are the ones kept
    kept = sorted(int(f.name.split("-")[0]) for f in (tmp_path / "journal").glob("*.json"))
    assert kept[-1] == 40 and kept == list(range(kept[0], 41))
    # and the counters survive a restart
    assert Buffer(tmp_path, max_memory_bytes=0, max_disk_bytes=one * 10).stats()["dropped_points"] == s["dropped_points"]


def test_a_buffer_that_is_not_durable_spills_past_the_memory_limit_and_on_a_clean_stop(tmp_path):
    one = len(json.dumps({"seq": 1, "t": T, "p": pts()}, separators=(",", ":")))
    b = Buffer(tmp_path, max_memory_bytes=one * 3, durable=False)
    for i in range(5):
        b.add(T + 15 * i, pts())
    on_disk = sorted(f.name for f in (tmp_path / "journal").glob("*.json"))
    assert len(on_disk) == 2 and b.stats()["memory_entries"] == 3        # the two oldest spilled
    b.close()                                                            # SIGTERM: the rest goes to disk
    b2 = Buffer(tmp_path, durable=False)
    assert b2.stats()["entries"] == 5 and b2.stats()["collected_points"] == 15


def test_a_refused_batch_is_counted_not_retried(tmp_path):
    b = Buffer(tmp_path)
    b.add(T, pts())
    batch = b.next_batch(10, now=T, linger=0)
    b.reject(batch, "HTTP 400: bad")
    s = b.stats()
    assert (s["rejected_points"], s["rejected_batches"], s["entries"], s["last_rejection"]) == (3, 1, 0, "HTTP 400: bad")
    assert b.next_batch(10, now=T, linger=0) is None


# ---------------------------------------------------------------------------------------------- retries
class FakeHTTP:
    """The script ``urlopen`` answers from (an int: that HTTP status; a tuple: status and headers; an exception:
    raised) and the requests it saw."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []


class _Resp:
    def __init__(self, status, headers):
        self.status, self.headers = status, headers

    def read(self):
        return b""

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def sender(script, **retry):
    cfg = agent_config.load(None, env={"TELEMETRYFLOW_API_KEY_ID": "tfk_1", "TELEMETRYFLOW_API_KEY_SECRET": "tfs_2"})
    for k, v in retry.items():
        setattr(cfg.telemetryflow.retry, k, v)
    fake = FakeHTTP(script)

    def opener(req, timeout=None, context=None):
        fake.calls.append(req)
        step = fake.script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, headers = step if isinstance(step, tuple) else (step, {})
        msg = http.client.HTTPMessage()
        for k, v in headers.items():
            msg[k] = v
        if status >= 400:
            raise urllib.error.HTTPError(req.full_url, status, "x", msg, io.BytesIO(b'{"error": {}}'))
        return _Resp(status, msg)

    slept = []
    s = Sender(cfg, "agent-1", sleep=lambda d: slept.append(d) and False, opener=opener)
    return s, fake, slept


def test_retryable_statuses_back_off_and_honour_retry_after():
    s, fake, slept = sender([(503, {"Retry-After": "7"}), (429, {}), urllib.error.URLError("refused"), (502, {}),
                             200], max_attempts=5, initial_interval=1.0, max_interval=4.0)
    out = s.post("http://api/otlp/v1/metrics", b"x", {}, timeout=1)
    assert out.ok and len(fake.calls) == 5
    assert slept[0] >= 7                                  # Retry-After wins over a shorter back-off
    assert 0.5 <= slept[1] <= 2.0 and 1.0 <= slept[2] <= 4.0 and 2.0 <= slept[3] <= 4.0   # doubling, capped, jittered
    h = fake.calls[0].headers
    assert (h["X-telemetryflow-key-id"], h["X-telemetryflow-key-secret"], h["X-telemetryflow-agent-id"]) == \
        ("tfk_1", "tfs_2", "agent-1")


@pytest.mark.parametrize("status", [400, 401, 403, 413, 415, 500])
def test_other_statuses_are_not_retried(status):
    s, fake, slept = sender([status, 200])
    out = s.post("http://api/x", b"x", {}, timeout=1)
    assert not out.ok and not out.retryable and len(fake.calls) == 1 and slept == []


def test_a_connection_error_after_every_attempt_is_retryable_later():
    s, fake, _ = sender([urllib.error.URLError("refused")] * 3, max_attempts=3)
    out = s.post("http://api/x", b"x", {}, timeout=1)
    assert not out.ok and out.retryable and len(fake.calls) == 3


# ---------------------------------------------------------------------------------------------- detection
def test_container_runtime_and_id_from_cgroups_and_mounts(tmp_path):
    from cloudtally.agents.host import detect
    cid = "a" * 64
    cases = {
        "docker": (f"0::/system.slice/docker-{cid}.scope\n", {}, True),
        "containerd": (f"12:cpu:/kubepods/burstable/pod1/cri-containerd-{cid}\n", {}, False),
        "cri-o": (f"0::/kubepods.slice/crio-{cid}.scope\n", {}, False),
    }
    for runtime, (cgroup, env, dockerenv) in cases.items():
        root = tmp_path / runtime
        (root / "proc" / "self").mkdir(parents=True)
        (root / "proc" / "self" / "cgroup").write_text(cgroup)
        if dockerenv:
            (root / ".dockerenv").write_text("")
        got = detect.container(root, {"HOSTNAME": "c1", "CONTAINER_IMAGE": "cloudtally/agent:0.1.0", **env})
        assert got == {"isContainer": True, "containerId": cid, "containerRuntime": runtime, "containerName": "c1",
                       "containerImage": "cloudtally/agent:0.1.0"}, runtime
    bare = tmp_path / "bare"
    (bare / "proc" / "self").mkdir(parents=True)
    (bare / "proc" / "self" / "cgroup").write_text("0::/init.scope\n")
    assert detect.container(bare, {})["isContainer"] is False


@pytest.mark.parametrize("vendor,product,kind", [
    ("QEMU", "Standard PC (Q35 + ICH9, 2009)", "kvm"), ("VMware, Inc.", "VMware Virtual Platform", "vmware"),
    ("Xen", "HVM domU", "xen"), ("Microsoft Corporation", "Virtual Machine", "hyper-v"),
    ("Amazon EC2", "m5.large", "kvm"), ("Dell Inc.", "PowerEdge R740", None),
])
def test_virtualisation_from_dmi(tmp_path, vendor, product, kind):
    from cloudtally.agents.host import detect
    got = detect.virtualization(tmp_path, {"sys_vendor": vendor, "product_name": product})
    assert got == {"isVirtualized": kind is not None, "virtualizationType": kind}


class Metadata(http.server.BaseHTTPRequestHandler):
    """The three clouds' metadata services, in the shapes of their documentation."""

    cloud = "aws"

    def _send(self, body: str, status: int = 200):
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def do_PUT(self):
        if self.cloud == "aws" and self.path == "/latest/api/token" and self.headers["X-aws-ec2-metadata-token-ttl-seconds"]:
            return self._send("TOKEN123")
        self._send("", 404)

    def do_GET(self):
        if self.cloud == "aws" and self.path == "/latest/dynamic/instance-identity/document":
            if self.headers.get("X-aws-ec2-metadata-token") != "TOKEN123":
                return self._send("", 401)        # IMDSv2: no token, no answer
            return self._send(json.dumps({"accountId": "123456789012", "availabilityZone": "us-west-2b",
                                          "instanceId": "i-0abc", "instanceType": "m5.large", "region": "us-west-2"}))
        if self.cloud == "gcp" and self.path.startswith("/computeMetadata/v1/instance/") and \
                self.headers.get("Metadata-Flavor") == "Google":
            return self._send(json.dumps({"id": 4520031799277581759, "machineType": "projects/1/machineTypes/e2-medium",
                                          "zone": "projects/1/zones/europe-west1-b"}))
        if self.cloud == "azure" and self.path.startswith("/metadata/instance?") and self.headers.get("Metadata") == "true":
            return self._send(json.dumps({"compute": {"vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
                                                      "vmSize": "Standard_D2s_v3", "location": "westeurope",
                                                      "zone": "1", "subscriptionId": "sub-1"}}))
        self._send("", 404)

    def log_message(self, *a):
        pass


@pytest.mark.parametrize("cloud,expected", [
    ("aws", {"cloudProvider": "aws", "cloudInstanceId": "i-0abc", "cloudInstanceType": "m5.large",
             "cloudRegion": "us-west-2", "cloudZone": "us-west-2b"}),
    ("gcp", {"cloudProvider": "gcp", "cloudInstanceId": "4520031799277581759", "cloudInstanceType": "e2-medium",
             "cloudRegion": "europe-west1", "cloudZone": "europe-west1-b"}),
    ("azure", {"cloudProvider": "azure", "cloudInstanceId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
               "cloudInstanceType": "Standard_D2s_v3", "cloudRegion": "westeurope", "cloudZone": "1"}),
])
def test_cloud_metadata_from_each_provider(cloud, expected):
    from cloudtally.agents.host import detect
    handler = type("H", (Metadata,), {"cloud": cloud})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        got = detect.cloud(1.0, {"aws": base, "gcp": base, "azure": base})
    finally:
        srv.shutdown()
        srv.server_close()
    assert {k: got[k] for k in expected} == expected


def test_offline_the_cloud_fields_are_absent_quickly():
    import socket
    import time

    from cloudtally.agents.host import detect
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"      # bound, not listening: refused
    t0 = time.perf_counter()
    got = detect.cloud(0.3, {"aws": closed, "gcp": closed, "azure": closed})
    assert got == detect.EMPTY_CLOUD and time.perf_counter() - t0 < 1.5


# ---------------------------------------------------------------------------------------------- GPUs
def fake_nvml(gpus: int = 2, init_error: bool = False):
    class NVMLError(Exception):
        pass

    class NotSupported(NVMLError):
        pass

    mem = lambda t, u: SimpleNamespace(total=t, used=u)  # noqa: E731

    def supported_on_0(fn):
        def f(h, *a):
            if h == 1:
                raise NotSupported("Not Supported")
            return fn(h, *a)
        return f

    def mig(h, j):
        if j == 1:
            raise NVMLError("Not Found")          # an empty MIG slot
        return ("mig", h, j)

    def handle_uuid(h):
        return f"MIG-{h[2]}" if isinstance(h, tuple) else f"GPU-{h}"

    def init():
        if init_error:
            raise NVMLError("NVML Shared Library Not Found")

    return SimpleNamespace(
        NVMLError=NVMLError, NVML_TEMPERATURE_GPU=0, nvmlInit=init, nvmlShutdown=lambda: None,
        nvmlSystemGetDriverVersion=lambda: b"550.54.15", nvmlDeviceGetCount=lambda: gpus,
        nvmlDeviceGetHandleByIndex=lambda i: i, nvmlDeviceGetName=lambda h: "NVIDIA A100-SXM4-40GB",
        nvmlDeviceGetUUID=handle_uuid,
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=80 + h, memory=40),
        nvmlDeviceGetMemoryInfo=lambda h: mem(5 << 30, 1 << 30) if isinstance(h, tuple) else mem(40 << 30, 10 << 30),
        nvmlDeviceGetPowerUsage=supported_on_0(lambda h: 250_000),
        nvmlDeviceGetTotalEnergyConsumption=supported_on_0(lambda h: 3_600_000_000),
        nvmlDeviceGetTemperature=lambda h, s: 61,
        nvmlDeviceGetComputeRunningProcesses=lambda h: [SimpleNamespace(pid=4242, usedGpuMemory=2 << 30)],
        nvmlDeviceGetMigMode=lambda h: [1, 1] if h == 0 else [0, 0],
        nvmlDeviceGetMaxMigDeviceCount=lambda h: 3, nvmlDeviceGetMigDeviceHandleByIndex=lambda h, j: mig(h, j))


def test_gpus_through_nvml_with_mig_and_unsupported_fields():
    from cloudtally.agents.host.gpu import GPUs
    from cloudtally.agents.host.system import points
    got = GPUs(fake_nvml()).collect()
    assert got["gpuCount"] == 2 and got["gpuDriverVersion"] == "550.54.15" and got["gpuStatus"] == "ok"
    g0, g1 = got["gpus"]
    assert (g0["utilization"], g0["memoryUsed"], g0["powerWatts"], g0["energyJoules"], g0["temperature"]) == \
        (80, 10 << 30, 250.0, 3_600_000.0, 61)
    assert g0["processes"] == [{"pid": 4242, "usedMemory": 2 << 30}]
    assert g0["migEnabled"] and [m["uuid"] for m in g0["migDevices"]] == ["MIG-0", "MIG-2"]
    assert g1["powerWatts"] is None and g1["energyJoules"] is None and g1["migEnabled"] is False
    names = {(p[0], p[4]["gpu.index"]) for p in points({"gpus": got["gpus"]})}
    assert ("gpu.utilization", "0") in names and ("gpu.power.draw", "0") in names and ("gpu.power.draw", "1") not in names


def test_without_nvml_the_gpu_fields_degrade_cleanly():
    from cloudtally.agents.host.gpu import GPUs
    got = GPUs(fake_nvml(init_error=True)).collect()
    assert got == {"gpuCount": 0, "gpuDriverVersion": None, "gpuStatus": "NVML unavailable: NVML Shared Library Not Found",
                   "gpus": []}


# ---------------------------------------------------------------------------------------------- systemInfo, OTLP
def test_the_collector_fills_every_seed_field_and_its_otlp_is_what_the_receiver_reads():
    from cloudtally.agents.host.export import resource_attributes
    from cloudtally.agents.host.system import SystemCollector, points
    from cloudtally.telemetry import otlp
    from cloudtally.telemetry.systeminfo import SEED_FIELDS

    cfg = agent_config.load(None, env={})
    cfg.collectors.cloud_metadata.enabled = False
    c = SystemCollector(cfg, gpus=__import__("cloudtally.agents.host.gpu", fromlist=["GPUs"]).GPUs(fake_nvml(1)))
    c.collect(T)
    info = c.collect(T + 15)
    assert [f for f in SEED_FIELDS if f not in info] == [] and len(info) >= 100
    assert isinstance(info["cpuPerCore"], list) and isinstance(info["diskPartitions"], list)
    assert info["networkInterfaces"] and info["gpuCount"] == 1
    entries = [{"t": T, "p": points(info)}, {"t": T + 15, "p": points(info)}]
    body = encode_otlp(entries, resource_attributes(info, "agent-1", "web", "prod", {"NODE_NAME": "node-a"}), "0.1")
    got = otlp.decode(body, {"Content-Type": "application/x-protobuf"}, now=NOW)
    assert got.rejected == 0 and got.data_points == len(got.points) == 2 * len(points(info))
    cpu = [p for p in got.points if p.name == "system.cpu.utilization"]
    assert [p.timestamp for p in cpu] == [NOW, datetime.fromtimestamp(T + 15, timezone.utc)]
    assert cpu[0].dimensions == {"host.name": info["hostname"], "service.name": "cloudtally-agent",
                                 "k8s.node.name": "node-a"}


def test_the_readme_generic_agent_config_is_valid(tmp_path):
    import re

    from cloudtally.agents.generic_telemetry_agent import load_config
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### The generic agent"):text.index("## CLI")]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    f = tmp_path / "generic.yaml"
    f.write_text(block)
    cfg = load_config(f)
    assert [s["type"] for s in cfg["sources"]] == ["command", "prometheus", "csv_costs"]
    assert cfg["agent"]["id"] == "dc-agent-1"
