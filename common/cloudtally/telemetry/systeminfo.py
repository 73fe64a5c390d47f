"""The TelemetryFlow ``systemInfo`` payload of a heartbeat: its fields (the seed's names), their types, the
validation the API applies, and the host facts derived from it.

The host agent (:mod:`cloudtally.agents.host.system`) fills exactly these fields; the API checks the known
ones' types and keeps unknown ones as they are (a newer agent's fields are never lost).

>>> sorted(GROUPS)[:3]
['agent', 'cloud', 'container']
>>> len(FIELDS) >= 100
True
>>> info, problems = validate({"hostname": "web-1", "cpuCores": 8, "cpuUsage": "high"})
>>> info, problems
({'hostname': 'web-1', 'cpuCores': 8}, [{'field': 'cpuUsage', 'message': 'expected a number'}])
"""

from __future__ import annotations

import math
from typing import Any, Mapping

S, I, N, B, L, O = "string", "integer", "number", "boolean", "array", "object"

# group -> [(field, type)]: the seed's "Data Fields Reference", in its order; gpu is CloudTally's (NVML)
GROUPS: dict[str, list[tuple[str, str]]] = {
    "host": [("hostname", S), ("os", S), ("osVersion", S), ("platform", S), ("platformFamily", S),
             ("kernelVersion", S), ("architecture", S), ("uptime", I), ("bootTime", I), ("hostId", S),
             ("timezone", S)],
    "cpu": [("cpuCores", I), ("cpuLogicalCores", I), ("cpuPhysicalCores", I), ("cpuModel", S), ("cpuVendor", S),
            ("cpuMhz", N), ("cpuCacheSize", I), ("cpuUsage", N), ("cpuUserPercent", N), ("cpuSystemPercent", N),
            ("cpuIdlePercent", N), ("cpuIowaitPercent", N), ("cpuStealPercent", N), ("loadAvg1", N),
            ("loadAvg5", N), ("loadAvg15", N), ("cpuPerCore", L)],
    "memory": [("memoryTotal", I), ("memoryUsed", I), ("memoryAvailable", I), ("memoryFree", I),
               ("memoryUsage", N), ("memoryCached", I), ("memoryBuffers", I), ("memoryActive", I),
               ("memoryInactive", I), ("memoryWired", I), ("memorySlab", I), ("swapTotal", I), ("swapUsed", I),
               ("swapFree", I), ("swapUsage", N), ("swapIn", I), ("swapOut", I)],
    "disk": [("diskTotal", I), ("diskUsed", I), ("diskAvailable", I), ("diskUsage", N), ("diskInodes", I),
             ("diskReadBytes", I), ("diskWriteBytes", I), ("diskReadOps", I), ("diskWriteOps", I),
             ("diskIOTime", I), ("diskLatencyRead", N), ("diskLatencyWrite", N), ("diskPartitions", L)],
    "network": [("networkBytesSent", I), ("networkBytesRecv", I), ("networkPacketsSent", I),
                ("networkPacketsRecv", I), ("networkErrorsIn", I), ("networkErrorsOut", I), ("networkDropsIn", I),
                ("networkDropsOut", I), ("tcpConnectionsEstablished", I), ("tcpConnectionsTimeWait", I),
                ("tcpConnectionsCloseWait", I), ("tcpConnectionsListen", I), ("networkInterfaces", L)],
    "process": [("processCount", I), ("processRunning", I), ("processSleeping", I), ("processStopped", I),
                ("processZombie", I), ("processBlocked", I), ("threadCount", I), ("contextSwitches", I),
                ("interrupts", I), ("softInterrupts", I)],
    "system": [("openFileDescriptors", I), ("maxFileDescriptors", I), ("fileDescriptorsUsage", N),
               ("entropyAvailable", I)],
    "container": [("isContainer", B), ("containerId", S), ("containerRuntime", S), ("containerName", S),
                  ("containerImage", S)],
    "virtualization": [("isVirtualized", B), ("virtualizationType", S)],
    "cloud": [("cloudProvider", S), ("cloudInstanceId", S), ("cloudInstanceType", S), ("cloudRegion", S),
              ("cloudZone", S)],
    "agent": [("agentVersion", S), ("agentStartTime", I), ("agentUptime", I), ("collectionTime", I),
              ("collectionDuration", N)],
    "gpu": [("gpuCount", I), ("gpuDriverVersion", S), ("gpuStatus", S), ("gpus", L)],
}
FIELDS: dict[str, str] = {name: typ for fields in GROUPS.values() for name, typ in fields}
SEED_FIELDS = tuple(name for g, fields in GROUPS.items() if g != "gpu" for name, _ in fields)
MAX_STRING = 1024
MAX_LIST = 1024
MAX_BYTES = 256 * 1024


def _ok(value: Any, typ: str) -> bool:
    if typ == S:
        return isinstance(value, str) and len(value) <= MAX_STRING
    if typ == B:
        return isinstance(value, bool)
    if typ == I:
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63
    if typ == N:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    if typ == L:
        return isinstance(value, list) and len(value) <= MAX_LIST
    return isinstance(value, dict)


_MESSAGES = {S: f"expected a string of at most {MAX_STRING} characters", I: "expected an integer",
             N: "expected a number", B: "expected true or false", L: f"expected an array of at most {MAX_LIST} items",
             O: "expected an object"}


def validate(info: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The storable systemInfo and the fields refused (``{"field", "message"}``): a known field of the wrong
    type is dropped and reported, null fields are left out (absent: e.g. cloud fields off a cloud), unknown
    fields are kept as sent."""
    out: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    for k, v in info.items():
        if v is None:
            continue
        typ = FIELDS.get(k)
        if typ is None or _ok(v, typ):
            out[k] = v
        else:
            problems.append({"field": str(k)[:64], "message": _MESSAGES[typ]})
    return out, problems


# what GET /v1/agents and the Infrastructure page show of a host (all from the latest systemInfo)
FACTS = ("hostname", "os", "osVersion", "platform", "kernelVersion", "architecture", "uptime", "cpuCores",
         "cpuModel", "cpuUsage", "loadAvg1", "memoryTotal", "memoryUsed", "memoryUsage", "swapUsage", "diskTotal",
         "diskUsed", "diskUsage", "networkBytesSent", "networkBytesRecv", "processCount", "threadCount",
         "isContainer", "containerId", "containerRuntime", "containerName", "containerImage", "isVirtualized",
         "virtualizationType", "cloudProvider", "cloudInstanceId", "cloudInstanceType", "cloudRegion", "cloudZone",
         "gpuCount", "agentVersion", "agentUptime", "collectionTime")


def facts(info: Mapping[str, Any]) -> dict[str, Any]:
    """The host facts of a systemInfo, with the GPUs summarised (count, average utilisation, memory)."""
    out = {k: info[k] for k in FACTS if k in info}
    gpus = [g for g in info.get("gpus") or [] if isinstance(g, dict)]
    if gpus:
        util = [g["utilization"] for g in gpus if isinstance(g.get("utilization"), (int, float))]
        out["gpuUtilization"] = round(sum(util) / len(util), 1) if util else None
        out["gpuMemoryTotal"] = sum(g.get("memoryTotal") or 0 for g in gpus)
        out["gpuMemoryUsed"] = sum(g.get("memoryUsed") or 0 for g in gpus)
        out["gpuNames"] = sorted({str(g.get("name")) for g in gpus if g.get("name")})
    return out
