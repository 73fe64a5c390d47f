"""Demo host agents for the local stack and the browser tests: heartbeats of five hosts at times relative to
``now`` (three online, one stale, one offline), two of them EC2 instances of the demo estate (so their cost
shows beside them), one a GPU node, one a container on Kubernetes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..clock import parse_instant

GiB = 1 << 30

HOSTS: list[dict[str, Any]] = [
    {"id": "host-web-1", "ago": 20, "info": {
        "hostname": "web-1", "os": "linux", "osVersion": "22.04", "platform": "ubuntu", "kernelVersion": "5.15.0-91",
        "architecture": "amd64", "cpuCores": 8, "cpuModel": "Intel(R) Xeon(R) Platinum 8259CL", "cpuUsage": 42.5,
        "loadAvg1": 2.1, "memoryTotal": 32 * GiB, "memoryUsed": 21 * GiB, "memoryUsage": 65.6, "diskTotal": 200 * GiB,
        "diskUsed": 88 * GiB, "diskUsage": 44.0, "isContainer": False, "isVirtualized": True,
        "virtualizationType": "kvm", "cloudProvider": "aws", "cloudInstanceId": "i-0a1b2c3d-00",
        "cloudInstanceType": "m5.2xlarge", "cloudRegion": "us-east-1", "cloudZone": "us-east-1a", "gpuCount": 0}},
    {"id": "host-web-2", "ago": 45, "info": {
        "hostname": "web-2", "os": "linux", "osVersion": "22.04", "platform": "ubuntu", "kernelVersion": "5.15.0-91",
        "architecture": "amd64", "cpuCores": 8, "cpuUsage": 3.1, "loadAvg1": 0.2, "memoryTotal": 32 * GiB,
        "memoryUsed": 6 * GiB, "memoryUsage": 18.8, "diskTotal": 200 * GiB, "diskUsed": 31 * GiB, "diskUsage": 15.5,
        "isContainer": True, "containerRuntime": "containerd", "containerId": "3f" * 32,
        "containerName": "cloudtally-agent-x7k2p", "containerImage": "cloudtally/agent:0.1.0", "isVirtualized": True,
        "virtualizationType": "kvm", "cloudProvider": "aws", "cloudInstanceId": "i-0a1b2c3d-01",
        "cloudInstanceType": "m5.2xlarge", "cloudRegion": "us-east-1", "cloudZone": "us-east-1b", "gpuCount": 0}},
    {"id": "host-gpu-1", "ago": 10, "info": {
        "hostname": "gpu-node-1", "os": "linux", "osVersion": "12", "platform": "debian", "architecture": "amd64",
        "cpuCores": 64, "cpuUsage": 71.0, "loadAvg1": 40.2, "memoryTotal": 512 * GiB, "memoryUsed": 301 * GiB,
        "memoryUsage": 58.8, "diskTotal": 4000 * GiB, "diskUsed": 2900 * GiB, "diskUsage": 72.5, "isContainer": False,
        "isVirtualized": False, "gpuCount": 2, "gpuDriverVersion": "550.54.15", "gpus": [
            {"index": 0, "name": "NVIDIA A100-SXM4-80GB", "utilization": 93, "memoryTotal": 80 * GiB,
             "memoryUsed": 71 * GiB, "powerWatts": 389.5, "migEnabled": False, "migDevices": []},
            {"index": 1, "name": "NVIDIA A100-SXM4-80GB", "utilization": 88, "memoryTotal": 80 * GiB,
             "memoryUsed": 64 * GiB, "powerWatts": 371.0, "migEnabled": False, "migDevices": []}]}},
    {"id": "host-db-1", "ago": 600, "info": {
        "hostname": "db-1", "os": "linux", "osVersion": "9.3", "platform": "rocky", "architecture": "arm64",
        "cpuCores": 16, "cpuUsage": 12.0, "memoryTotal": 128 * GiB, "memoryUsage": 81.0, "diskTotal": 1000 * GiB,
        "diskUsage": 67.0, "isContainer": False, "isVirtualized": True, "virtualizationType": "vmware", "gpuCount": 0}},
    {"id": "host-build-old", "ago": 2 * 86400, "info": {
        "hostname": "build-old", "os": "linux", "platform": "ubuntu", "osVersion": "20.04", "cpuCores": 4,
        "cpuUsage": 0.5, "memoryTotal": 16 * GiB, "memoryUsage": 12.0, "diskTotal": 100 * GiB, "diskUsage": 91.0,
        "gpuCount": 0}},
]


def write_demo_hosts(store, now: datetime) -> int:
    """Heartbeats of :data:`HOSTS`, each at ``now`` minus its age; returns how many."""
    now = parse_instant(now)
    for h in HOSTS:
        info = {**h["info"], "agentVersion": "0.1.0", "collectionTime": int((now - timedelta(seconds=h["ago"]))
                                                                             .timestamp())}
        facts = {"kind": "host", "hostname": info["hostname"], "agent_version": "0.1.0", "name": info["hostname"],
                 "environment": "demo", "cloud_provider": info.get("cloudProvider"), "region": info.get("cloudRegion"),
                 "heartbeat_interval": 60}
        store.record_heartbeat(h["id"], info, facts, tags={"team": "platform"}, now=now - timedelta(seconds=h["ago"]))
    return len(HOSTS)
