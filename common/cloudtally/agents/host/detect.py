"""Container, virtualisation and cloud detection for the systemInfo payload.

* **Container** (Docker, containerd, CRI-O, Podman): ``/.dockerenv``, ``/run/.containerenv``, the cgroup paths
  of ``/proc/self/cgroup`` and the mount sources of ``/proc/self/mountinfo`` (the 64-hex container id).
  The name is the container's host name (Docker's default) or ``POD_NAME``/``CONTAINER_NAME``; the image
  ``CONTAINER_IMAGE`` (the DaemonSet manifest sets it: a container cannot see its own image otherwise).
* **Virtualisation** (KVM, VMware, Xen, Hyper-V, ...): the DMI vendor/product strings, ``/sys/hypervisor/type``
  and the ``hypervisor`` CPU flag.
* **Cloud** (AWS, GCP, Azure): the instance metadata services, IMDSv2 for AWS (a session token first), each
  asked with a short timeout, the likely one first by its DMI vendor; none answering (offline, on-premises)
  leaves the cloud fields absent.

Every reader takes its root (``/proc``, ``/sys``, ``/``) and base URLs as parameters, so tests run it on
recorded files and a local metadata server.
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger("cloudtally.agent.detect")

CLOUD_ENDPOINTS = {"aws": "http://169.254.169.254", "gcp": "http://169.254.169.254",   # = metadata.google.internal, without a DNS wait
                   "azure": "http://169.254.169.254"}
_HEX64 = re.compile(r"([0-9a-f]{64})")
_RUNTIME_HINTS = (("cri-containerd", "containerd"), ("crio", "cri-o"), ("libpod", "podman"), ("docker", "docker"),
                  ("containerd", "containerd"), ("kubepods", "containerd"))


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def container(root: Path = Path("/"), env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``isContainer``, ``containerId``, ``containerRuntime``, ``containerName``, ``containerImage``."""
    env = os.environ if env is None else env
    proc = root / "proc" / "self"
    cgroup = _read(proc / "cgroup")
    mountinfo = _read(proc / "mountinfo")
    runtime = None
    if (root / ".dockerenv").exists():
        runtime = "docker"
    elif (root / "run" / ".containerenv").exists():
        runtime = "podman"
    for hint, name in _RUNTIME_HINTS:
        if runtime is None and hint in cgroup:
            runtime = name
    cid = None
    for text in (cgroup, mountinfo):
        for line in text.splitlines():
            if any(h in line for h in ("docker", "containerd", "crio", "kubepods", "libpod", "/containers/")):
                m = _HEX64.search(line)
                if m:
                    cid = m.group(1)
                    break
        if cid:
            break
    if runtime is None and cid and "/containers/" in mountinfo:
        runtime = "docker"
    if runtime is None and env.get("KUBERNETES_SERVICE_HOST"):
        runtime = "containerd"      # a pod (cgroup v2 hides the path): the kubelet's default runtime
    if runtime is None and env.get("container"):
        runtime = env["container"]  # systemd-nspawn, podman set $container
    if runtime is None:
        return {"isContainer": False, "containerId": None, "containerRuntime": None, "containerName": None,
                "containerImage": None}
    name = env.get("CONTAINER_NAME") or env.get("POD_NAME") or env.get("HOSTNAME") or None
    return {"isContainer": True, "containerId": cid, "containerRuntime": runtime, "containerName": name,
            "containerImage": env.get("CONTAINER_IMAGE") or None}


_VIRT = (("amazon ec2", "kvm"), ("kvm", "kvm"), ("qemu", "kvm"), ("vmware", "vmware"), ("virtualbox", "virtualbox"),
         ("xen", "xen"), ("hvm domu", "xen"), ("google compute engine", "kvm"), ("google", "kvm"),
         ("microsoft corporation", "hyper-v"), ("parallels", "parallels"), ("bochs", "bochs"),
         ("openstack", "kvm"), ("digitalocean", "kvm"))


def dmi(root: Path = Path("/")) -> dict[str, str]:
    base = root / "sys" / "class" / "dmi" / "id"
    return {k: _read(base / k).strip() for k in ("sys_vendor", "product_name", "bios_vendor", "board_vendor",
                                                 "product_uuid", "chassis_asset_tag")}


def virtualization(root: Path = Path("/"), dmi_info: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``isVirtualized``, ``virtualizationType``."""
    d = dmi(root) if dmi_info is None else dmi_info
    text = " ".join(d.get(k, "") for k in ("sys_vendor", "product_name", "bios_vendor", "board_vendor")).lower()
    for hint, kind in _VIRT:
        if hint in text:
            if kind == "hyper-v" and "virtual" not in text:
                continue          # Microsoft hardware that is not a VM (a Surface)
            return {"isVirtualized": True, "virtualizationType": kind}
    hyp = _read(root / "sys" / "hypervisor" / "type").strip()
    if hyp:
        return {"isVirtualized": True, "virtualizationType": hyp}
    if re.search(r"^flags\s*:.*\bhypervisor\b", _read(root / "proc" / "cpuinfo"), re.M):
        return {"isVirtualized": True, "virtualizationType": "unknown"}
    return {"isVirtualized": False, "virtualizationType": None}


def _http(url: str, timeout: float, headers: dict[str, str], method: str = "GET") -> str | None:
    req = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read(65536).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as e:
        log.debug("metadata %s not answered: %s", url, e)
        return None


def _aws(base: str, timeout: float) -> dict[str, Any] | None:
    token = _http(f"{base}/latest/api/token", timeout, {"X-aws-ec2-metadata-token-ttl-seconds": "300"}, "PUT")
    if not token:
        return None
    doc = _http(f"{base}/latest/dynamic/instance-identity/document", timeout, {"X-aws-ec2-metadata-token": token})
    try:
        d = json.loads(doc or "")
    except ValueError:
        return None
    if not isinstance(d, dict) or not d.get("instanceId"):
        return None
    return {"cloudProvider": "aws", "cloudInstanceId": d.get("instanceId"), "cloudInstanceType": d.get("instanceType"),
            "cloudRegion": d.get("region"), "cloudZone": d.get("availabilityZone"), "cloudAccountId": d.get("accountId")}


def _gcp(base: str, timeout: float) -> dict[str, Any] | None:
    doc = _http(f"{base}/computeMetadata/v1/instance/?recursive=true", timeout, {"Metadata-Flavor": "Google"})
    try:
        d = json.loads(doc or "")
    except ValueError:
        return None
    if not isinstance(d, dict) or "id" not in d:
        return None
    zone = str(d.get("zone") or "").rsplit("/", 1)[-1] or None         # projects/123/zones/us-central1-a
    return {"cloudProvider": "gcp", "cloudInstanceId": str(d["id"]),
            "cloudInstanceType": str(d.get("machineType") or "").rsplit("/", 1)[-1] or None,
            "cloudRegion": zone.rsplit("-", 1)[0] if zone else None, "cloudZone": zone}


def _azure(base: str, timeout: float) -> dict[str, Any] | None:
    doc = _http(f"{base}/metadata/instance?api-version=2021-02-01", timeout, {"Metadata": "true"})
    try:
        d = json.loads(doc or "")
    except ValueError:
        return None
    c = d.get("compute") if isinstance(d, dict) else None
    if not isinstance(c, dict) or not c.get("vmId"):
        return None
    return {"cloudProvider": "azure", "cloudInstanceId": c.get("vmId"), "cloudInstanceType": c.get("vmSize"),
            "cloudRegion": c.get("location"), "cloudZone": c.get("zone") or None,
            "cloudAccountId": c.get("subscriptionId")}


PROBES = {"aws": _aws, "gcp": _gcp, "azure": _azure}
EMPTY_CLOUD = {"cloudProvider": None, "cloudInstanceId": None, "cloudInstanceType": None, "cloudRegion": None,
               "cloudZone": None}


def cloud(timeout: float = 0.3, endpoints: Mapping[str, str] | None = None,
          dmi_info: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The cloud fields from the first metadata service that answers (the DMI vendor's first), else absent."""
    urls = {**CLOUD_ENDPOINTS, **(endpoints or {})}
    vendor = " ".join((dmi_info or {}).get(k, "") for k in ("sys_vendor", "bios_vendor", "product_name")).lower()
    order = ["aws", "gcp", "azure"]
    if "google" in vendor:
        order = ["gcp", "aws", "azure"]
    elif "microsoft" in vendor:
        order = ["azure", "aws", "gcp"]
    for name in order:
        found = PROBES[name](urls[name].rstrip("/"), timeout)
        if found:
            return found
    return dict(EMPTY_CLOUD)
