"""The system collector: the TelemetryFlow ``systemInfo`` fields (host, CPU with per-core and load averages,
memory and swap, disk with partitions, I/O and latency, network with interfaces and TCP states, processes and
threads, file descriptors, entropy, container / virtualisation / cloud, GPUs, the agent itself) and the metric
points derived from them, named after the OpenTelemetry semantic conventions for system metrics.

Counters (bytes, operations, packets, context switches) are cumulative sums as the kernel reports them;
rates and latencies are computed between two collections. Linux files under ``/proc`` are read directly where
psutil would walk every process (TCP states, process states, threads); psutil is used for the rest, and on
other systems.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import time
from pathlib import Path
from typing import Any

from ... import __version__
from . import detect
from .gpu import GPUs

log = logging.getLogger("cloudtally.agent.system")
AGENT_VERSION = __version__
_TCP_STATES = {"01": "established", "06": "time_wait", "08": "close_wait", "0A": "listen"}
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "386", "i386": "386",
         "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}
SLOW_EVERY = 60.0      # seconds between two reads of the TCP socket table and of every process's state
_SKIP_FS = {"squashfs", "tmpfs", "devtmpfs", "overlay", "proc", "sysfs", "cgroup", "cgroup2", "nsfs", "autofs",
            "devpts", "mqueue", "tracefs", "debugfs", "securityfs", "pstore", "bpf", "fusectl", "configfs", "ramfs"}

# (systemInfo field, metric name, unit, kind g=gauge s=cumulative sum, scale, attributes)
POINTS: list[tuple[str, str, str, str, float, dict[str, str] | None]] = [
    ("cpuUsage", "system.cpu.utilization", "1", "g", 0.01, None),
    ("loadAvg1", "system.cpu.load_average.1m", "{thread}", "g", 1, None),
    ("loadAvg5", "system.cpu.load_average.5m", "{thread}", "g", 1, None),
    ("loadAvg15", "system.cpu.load_average.15m", "{thread}", "g", 1, None),
    ("memoryUsage", "system.memory.utilization", "1", "g", 0.01, None),
    ("memoryUsed", "system.memory.usage", "By", "g", 1, {"system.memory.state": "used"}),
    ("memoryAvailable", "system.memory.usage", "By", "g", 1, {"system.memory.state": "available"}),
    ("swapUsage", "system.paging.utilization", "1", "g", 0.01, None),
    ("diskUsage", "system.filesystem.utilization", "1", "g", 0.01, {"system.filesystem.mountpoint": "/"}),
    ("diskReadBytes", "system.disk.io", "By", "s", 1, {"disk.io.direction": "read"}),
    ("diskWriteBytes", "system.disk.io", "By", "s", 1, {"disk.io.direction": "write"}),
    ("diskReadOps", "system.disk.operations", "{operation}", "s", 1, {"disk.io.direction": "read"}),
    ("diskWriteOps", "system.disk.operations", "{operation}", "s", 1, {"disk.io.direction": "write"}),
    ("diskIOTime", "system.disk.io_time", "s", "s", 0.001, None),
    ("diskLatencyRead", "system.disk.latency", "ms", "g", 1, {"disk.io.direction": "read"}),
    ("diskLatencyWrite", "system.disk.latency", "ms", "g", 1, {"disk.io.direction": "write"}),
    ("networkBytesSent", "system.network.io", "By", "s", 1, {"network.io.direction": "transmit"}),
    ("networkBytesRecv", "system.network.io", "By", "s", 1, {"network.io.direction": "receive"}),
    ("networkPacketsSent", "system.network.packets", "{packet}", "s", 1, {"network.io.direction": "transmit"}),
    ("networkPacketsRecv", "system.network.packets", "{packet}", "s", 1, {"network.io.direction": "receive"}),
    ("networkErrorsOut", "system.network.errors", "{error}", "s", 1, {"network.io.direction": "transmit"}),
    ("networkErrorsIn", "system.network.errors", "{error}", "s", 1, {"network.io.direction": "receive"}),
    ("networkDropsOut", "system.network.dropped", "{packet}", "s", 1, {"network.io.direction": "transmit"}),
    ("networkDropsIn", "system.network.dropped", "{packet}", "s", 1, {"network.io.direction": "receive"}),
    ("tcpConnectionsEstablished", "system.network.connections", "{connection}", "g", 1,
     {"network.transport": "tcp", "network.connection.state": "established"}),
    ("tcpConnectionsTimeWait", "system.network.connections", "{connection}", "g", 1,
     {"network.transport": "tcp", "network.connection.state": "time_wait"}),
    ("tcpConnectionsCloseWait", "system.network.connections", "{connection}", "g", 1,
     {"network.transport": "tcp", "network.connection.state": "close_wait"}),
    ("tcpConnectionsListen", "system.network.connections", "{connection}", "g", 1,
     {"network.transport": "tcp", "network.connection.state": "listen"}),
    ("processRunning", "system.process.count", "{process}", "g", 1, {"process.state": "running"}),
    ("processSleeping", "system.process.count", "{process}", "g", 1, {"process.state": "sleeping"}),
    ("processStopped", "system.process.count", "{process}", "g", 1, {"process.state": "stopped"}),
    ("processZombie", "system.process.count", "{process}", "g", 1, {"process.state": "defunct"}),
    ("processBlocked", "system.process.count", "{process}", "g", 1, {"process.state": "blocked"}),
    ("threadCount", "system.thread.count", "{thread}", "g", 1, None),
    ("contextSwitches", "system.cpu.context_switches", "{switch}", "s", 1, None),
    ("openFileDescriptors", "system.file_descriptor.count", "{file_descriptor}", "g", 1, None),
    ("fileDescriptorsUsage", "system.file_descriptor.utilization", "1", "g", 0.01, None),
    ("entropyAvailable", "system.entropy.available", "bit", "g", 1, None),
    ("uptime", "system.uptime", "s", "g", 1, None),
]


def _round(v: float | None, n: int = 2) -> float | None:
    return None if v is None else round(float(v), n)


class SystemCollector:
    """Collects a systemInfo at each call; keeps the previous I/O counters for latencies and the static facts
    (host, CPU model, cloud) read once."""

    def __init__(self, cfg: Any = None, *, proc: Path = Path("/proc"), root: Path = Path("/"), gpus: GPUs | None = None,
                 env: dict[str, str] | None = None, started: float | None = None):
        import psutil
        self.ps = psutil
        self.cfg = cfg
        self.proc = proc
        self.root = root
        self.env = dict(os.environ if env is None else env)
        self.started = started if started is not None else time.time()
        sc = getattr(getattr(cfg, "collectors", None), "system", None)
        host_root = getattr(sc, "host_root", "") or ""
        if host_root:                                     # a container watching its host (DaemonSet)
            root, proc = Path(host_root), Path(host_root) / "proc"
            psutil.PROCFS_PATH = str(proc)
            self.root, self.proc = root, proc
        self.disk_root = host_root or "/"
        self.enabled = {g: getattr(sc, g, True) for g in ("cpu", "memory", "disk", "network")}
        self.per_core = bool(getattr(sc, "per_core", False))
        col = getattr(cfg, "collectors", None)
        self.processes = getattr(getattr(col, "process", None), "enabled", True)
        gpu_on = getattr(getattr(col, "gpu", None), "enabled", True)
        self.gpus = gpus if gpus is not None else (GPUs() if gpu_on else None)
        cm = getattr(col, "cloud_metadata", None)
        self.cloud_enabled = getattr(cm, "enabled", True)
        self.cloud_timeout = getattr(cm, "timeout", 0.3)
        self.cloud_endpoints = dict(getattr(cm, "endpoints", None) or {})
        self._prev_disk: Any = None
        self._slow: dict[str, tuple[float, dict[str, Any]]] = {}   # name -> (when read, values)
        self._static: dict[str, Any] | None = None
        self._cloud: dict[str, Any] | None = None
        self._cloud_at = 0.0
        psutil.cpu_times_percent(interval=None)          # primes the deltas of the first collection
        psutil.cpu_percent(interval=None, percpu=True)

    # ------------------------------------------------------------ static facts (read once)
    def static(self) -> dict[str, Any]:
        if self._static is None:
            self._static = {**self._host(), **self._cpu_info(), **detect.container(self.root, self.env),
                            **detect.virtualization(self.root, detect.dmi(self.root))}
        return self._static

    def cloud(self, now: float) -> dict[str, Any]:
        """Cloud metadata, asked at start and every 6 hours (an instance's type can change across a stop)."""
        if not self.cloud_enabled:
            return dict(detect.EMPTY_CLOUD)
        if self._cloud is None or now - self._cloud_at > 6 * 3600:
            self._cloud = detect.cloud(self.cloud_timeout, self.cloud_endpoints, detect.dmi(self.root))
            self._cloud_at = now
        return self._cloud

    def _os_release(self) -> dict[str, str]:
        out = {}
        for line in _read(self.root / "etc" / "os-release").splitlines():
            k, sep, v = line.partition("=")
            if sep:
                out[k.strip()] = v.strip().strip('"')
        return out

    def _host(self) -> dict[str, Any]:
        rel = self._os_release()
        host_id = (_read(self.root / "etc" / "machine-id").strip() or _read(self.root / "var" / "lib" / "dbus" /
                                                                          "machine-id").strip() or None)
        tz = _read(self.root / "etc" / "timezone").strip() or (time.tzname[0] if time.tzname else None)
        system = platform.system().lower()
        return {"hostname": socket.gethostname(), "os": system, "osVersion": rel.get("VERSION_ID") or platform.release(),
                "platform": rel.get("ID") or system, "platformFamily": (rel.get("ID_LIKE") or rel.get("ID") or system
                                                                       ).split()[0],
                "kernelVersion": platform.release(), "architecture": _ARCH.get(platform.machine(), platform.machine()),
                "hostId": host_id, "timezone": tz}

    def _cpu_info(self) -> dict[str, Any]:
        info: dict[str, str] = {}
        for line in _read(self.proc / "cpuinfo").splitlines():
            k, sep, v = line.partition(":")
            if sep and k.strip() not in info:
                info[k.strip()] = v.strip()
        cache = info.get("cache size", "").split()
        return {"cpuCores": self.ps.cpu_count(logical=True), "cpuLogicalCores": self.ps.cpu_count(logical=True),
                "cpuPhysicalCores": self.ps.cpu_count(logical=False),
                "cpuModel": info.get("model name") or platform.processor() or None,
                "cpuVendor": info.get("vendor_id") or None,
                "cpuCacheSize": int(cache[0]) if cache and cache[0].isdigit() else None}

    # ------------------------------------------------------------ one collection
    def collect(self, now: float | None = None) -> dict[str, Any]:
        """A full systemInfo (the seed's field names; absent facts are null)."""
        t0 = time.perf_counter()
        now = time.time() if now is None else now
        self._now = now
        info: dict[str, Any] = dict(self.static())
        boot = self.ps.boot_time()
        info["bootTime"] = int(boot)
        info["uptime"] = int(time.time() - boot)
        if self.enabled["cpu"]:
            info.update(self._cpu())
        if self.enabled["memory"]:
            info.update(self._memory())
        if self.enabled["disk"]:
            info.update(self._disk())
        if self.enabled["network"]:
            info.update(self._network())
        if self.processes:
            info.update(self._processes())
            info.update(self._cached("states", now, self._process_states))
        info.update(self._system())
        info.update(self.cloud(now))
        if self.gpus is not None:
            info.update(self.gpus.collect())
        info.update({"agentVersion": AGENT_VERSION, "agentStartTime": int(self.started),
                     "agentUptime": int(now - self.started), "collectionTime": int(now),
                     "collectionDuration": round((time.perf_counter() - t0) * 1000, 3)})
        return info

    def _cpu(self) -> dict[str, Any]:
        ct = self.ps.cpu_times_percent(interval=None)
        idle, iowait = getattr(ct, "idle", 0.0), getattr(ct, "iowait", 0.0)
        freq = None
        try:
            f = self.ps.cpu_freq()
            freq = f.current if f else None
        except (OSError, NotImplementedError, AttributeError):
            freq = None
        if not freq:
            for line in _read(self.proc / "cpuinfo").splitlines():
                if line.startswith("cpu MHz"):
                    freq = float(line.partition(":")[2] or 0)
                    break
        load = os.getloadavg() if hasattr(os, "getloadavg") else (None, None, None)
        return {"cpuMhz": _round(freq), "cpuUsage": _round(max(0.0, 100.0 - idle - iowait)),
                "cpuUserPercent": _round(ct.user), "cpuSystemPercent": _round(ct.system), "cpuIdlePercent": _round(idle),
                "cpuIowaitPercent": _round(iowait), "cpuStealPercent": _round(getattr(ct, "steal", None)),
                "loadAvg1": _round(load[0]), "loadAvg5": _round(load[1]), "loadAvg15": _round(load[2]),
                "cpuPerCore": [_round(x) for x in self.ps.cpu_percent(interval=None, percpu=True)]}

    def _memory(self) -> dict[str, Any]:
        vm, sw = self.ps.virtual_memory(), self.ps.swap_memory()
        g = lambda o, k: getattr(o, k, None)  # noqa: E731 (fields vary by OS)
        return {"memoryTotal": vm.total, "memoryUsed": vm.used, "memoryAvailable": vm.available, "memoryFree": vm.free,
                "memoryUsage": _round(vm.percent), "memoryCached": g(vm, "cached"), "memoryBuffers": g(vm, "buffers"),
                "memoryActive": g(vm, "active"), "memoryInactive": g(vm, "inactive"), "memoryWired": g(vm, "wired"),
                "memorySlab": g(vm, "slab"), "swapTotal": sw.total, "swapUsed": sw.used, "swapFree": sw.free,
                "swapUsage": _round(sw.percent), "swapIn": g(sw, "sin"), "swapOut": g(sw, "sout")}

    def _disk(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            u = self.ps.disk_usage(self.disk_root)
            out.update(diskTotal=u.total, diskUsed=u.used, diskAvailable=u.free, diskUsage=_round(u.percent))
        except OSError as e:
            log.debug("disk usage of %s: %s", self.disk_root, e)
        try:
            out["diskInodes"] = os.statvfs(self.disk_root).f_files
        except (OSError, AttributeError):
            out["diskInodes"] = None
        parts = []
        seen = set()
        for p in self.ps.disk_partitions(all=False):
            if p.fstype in _SKIP_FS or p.mountpoint in seen or len(parts) >= 64:
                continue
            seen.add(p.mountpoint)
            try:
                u = self.ps.disk_usage(p.mountpoint)
            except OSError:
                continue
            parts.append({"device": p.device, "mountpoint": p.mountpoint, "fstype": p.fstype, "total": u.total,
                          "used": u.used, "free": u.free, "usage": _round(u.percent)})
        out["diskPartitions"] = parts
        io = None
        try:
            io = self.ps.disk_io_counters(perdisk=False)
        except (OSError, RuntimeError) as e:
            log.debug("disk I/O counters: %s", e)
        if io is not None:
            prev, self._prev_disk = self._prev_disk, io
            out.update(diskReadBytes=io.read_bytes, diskWriteBytes=io.write_bytes, diskReadOps=io.read_count,
                       diskWriteOps=io.write_count, diskIOTime=getattr(io, "busy_time", None))
            if prev is not None:
                dr, dw = io.read_count - prev.read_count, io.write_count - prev.write_count
                out["diskLatencyRead"] = _round((io.read_time - prev.read_time) / dr, 3) if dr > 0 else 0.0
                out["diskLatencyWrite"] = _round((io.write_time - prev.write_time) / dw, 3) if dw > 0 else 0.0
        return out

    def _network(self) -> dict[str, Any]:
        pernic = self.ps.net_io_counters(pernic=True) or {}
        tot = {k: 0 for k in ("bytes_sent", "bytes_recv", "packets_sent", "packets_recv", "errin", "errout", "dropin",
                              "dropout")}
        for name, c in pernic.items():
            if name == "lo":
                continue
            for k in tot:
                tot[k] += getattr(c, k, 0)
        stats = self.ps.net_if_stats()
        addrs = self.ps.net_if_addrs()
        ifaces = []
        for name in sorted(set(stats) | set(pernic))[:64]:
            st, c = stats.get(name), pernic.get(name)
            ifaces.append({"name": name, "isUp": bool(st.isup) if st else None, "mtu": st.mtu if st else None,
                           "speed": st.speed if st else None,
                           "addresses": [a.address for a in addrs.get(name, []) if a.family in (socket.AF_INET,
                                                                                              socket.AF_INET6)][:16],
                           "bytesSent": c.bytes_sent if c else None, "bytesRecv": c.bytes_recv if c else None})
        out = {"networkBytesSent": tot["bytes_sent"], "networkBytesRecv": tot["bytes_recv"],
               "networkPacketsSent": tot["packets_sent"], "networkPacketsRecv": tot["packets_recv"],
               "networkErrorsIn": tot["errin"], "networkErrorsOut": tot["errout"], "networkDropsIn": tot["dropin"],
               "networkDropsOut": tot["dropout"], "networkInterfaces": ifaces}
        out.update(self._cached("tcp", self._now, self._tcp_states))
        return out

    def _cached(self, name: str, now: float, fn) -> dict[str, Any]:
        """Values that cost a walk of the kernel's tables (TCP sockets, every process's state): read at most
        once per ``SLOW_EVERY`` seconds (the kernel's /proc/net/tcp takes ~30 ms for 1 000 sockets)."""
        hit = self._slow.get(name)
        if hit is None or now - hit[0] >= SLOW_EVERY or now < hit[0]:
            hit = self._slow[name] = (now, fn())
        return hit[1]

    def _tcp_states(self) -> dict[str, Any]:
        counts = dict.fromkeys(_TCP_STATES.values(), 0)
        found = False
        for f in ("tcp", "tcp6"):
            text = _read(self.proc / "net" / f)
            for line in text.splitlines()[1:]:
                parts = line.split()
                if len(parts) > 3:
                    found = True
                    state = _TCP_STATES.get(parts[3])
                    if state:
                        counts[state] += 1
        if not found:
            try:
                for c in self.ps.net_connections(kind="tcp"):
                    key = {"ESTABLISHED": "established", "TIME_WAIT": "time_wait", "CLOSE_WAIT": "close_wait",
                           "LISTEN": "listen"}.get(c.status)
                    if key:
                        counts[key] += 1
            except (self.ps.AccessDenied, OSError) as e:
                log.debug("TCP connections: %s", e)
                return {k: None for k in ("tcpConnectionsEstablished", "tcpConnectionsTimeWait",
                                          "tcpConnectionsCloseWait", "tcpConnectionsListen")}
        return {"tcpConnectionsEstablished": counts["established"], "tcpConnectionsTimeWait": counts["time_wait"],
                "tcpConnectionsCloseWait": counts["close_wait"], "tcpConnectionsListen": counts["listen"]}

    def _process_states(self) -> dict[str, Any]:
        """Processes by state (a read of every /proc/<pid>/stat)."""
        states = {"S": 0, "T": 0, "Z": 0}
        n = 0
        if (self.proc / "stat").exists():
            for entry in os.scandir(self.proc):
                if not entry.name.isdigit():
                    continue
                raw = _read(Path(entry.path) / "stat")
                if not raw:
                    continue           # exited meanwhile
                n += 1
                st = raw[raw.rfind(")") + 2:raw.rfind(")") + 3]
                key = {"I": "S", "t": "T", "X": "Z"}.get(st, st)
                if key in states:
                    states[key] += 1
            return {"processCount": n, "processSleeping": states["S"], "processStopped": states["T"],
                    "processZombie": states["Z"]}
        sleeping = stopped = zombie = 0
        for p in self.ps.process_iter(["status"]):
            n += 1
            s = p.info.get("status")
            sleeping += s in (self.ps.STATUS_SLEEPING, self.ps.STATUS_IDLE)
            stopped += s == self.ps.STATUS_STOPPED
            zombie += s == self.ps.STATUS_ZOMBIE
        return {"processCount": n, "processSleeping": sleeping, "processStopped": stopped, "processZombie": zombie}

    def _processes(self) -> dict[str, Any]:
        """Running and blocked processes, threads, context switches and interrupts (/proc/stat, /proc/loadavg)."""
        if (self.proc / "stat").exists():
            stat = {}
            for line in _read(self.proc / "stat").splitlines():
                k, _, v = line.partition(" ")
                stat[k] = v.split()
            threads = None
            la = _read(self.proc / "loadavg").split()
            if len(la) >= 4 and "/" in la[3]:
                threads = int(la[3].split("/")[1])
            first = lambda k: int(stat[k][0]) if stat.get(k) else None  # noqa: E731
            return {"processRunning": first("procs_running"), "processBlocked": first("procs_blocked"),
                    "threadCount": threads, "contextSwitches": first("ctxt"), "interrupts": first("intr"),
                    "softInterrupts": first("softirq")}
        running = threads = 0
        for p in self.ps.process_iter(["status", "num_threads"]):
            running += p.info.get("status") == self.ps.STATUS_RUNNING
            threads += p.info.get("num_threads") or 0
        cs = self.ps.cpu_stats()
        return {"processRunning": running, "processBlocked": None, "threadCount": threads,
                "contextSwitches": cs.ctx_switches, "interrupts": cs.interrupts, "softInterrupts": cs.soft_interrupts}

    def _system(self) -> dict[str, Any]:
        fd = _read(self.proc / "sys" / "fs" / "file-nr").split()
        opened = maxfd = usage = None
        if len(fd) >= 3:
            opened, maxfd = int(fd[0]) - int(fd[1]), int(fd[2])
            usage = _round(100.0 * opened / maxfd, 6) if maxfd else None
        ent = _read(self.proc / "sys" / "kernel" / "random" / "entropy_avail").strip()
        return {"openFileDescriptors": opened, "maxFileDescriptors": maxfd, "fileDescriptorsUsage": usage,
                "entropyAvailable": int(ent) if ent.isdigit() else None}


def _read(path: Path) -> str:
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def points(info: dict[str, Any], per_core: bool = False) -> list[list[Any]]:
    """The metric points of one systemInfo: ``[name, kind, unit, value, attributes]`` (kind ``g`` gauge, ``s``
    cumulative monotonic sum), only for fields that have a value."""
    out: list[list[Any]] = []
    for fld, name, unit, kind, scale, attrs in POINTS:
        v = info.get(fld)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append([name, kind, unit, round(v * scale, 6) if scale != 1 else v, attrs])
    for p in info.get("diskPartitions") or []:
        if p.get("mountpoint") != "/" and isinstance(p.get("usage"), (int, float)):
            out.append(["system.filesystem.utilization", "g", "1", round(p["usage"] / 100, 6),
                        {"system.filesystem.mountpoint": p["mountpoint"], "system.device": p.get("device") or ""}])
    if per_core:
        for i, v in enumerate(info.get("cpuPerCore") or []):
            if isinstance(v, (int, float)):
                out.append(["system.cpu.utilization", "g", "1", round(v / 100, 6), {"cpu.logical_number": str(i)}])
    for g in info.get("gpus") or []:
        attrs = {"gpu.index": str(g.get("index")), "gpu.uuid": g.get("uuid") or "", "gpu.name": g.get("name") or ""}
        for fld, name, unit, kind, scale in (("utilization", "gpu.utilization", "1", "g", 0.01),
                                             ("memoryUsed", "gpu.memory.usage", "By", "g", 1),
                                             ("powerWatts", "gpu.power.draw", "W", "g", 1),
                                             ("energyJoules", "gpu.energy.consumption", "J", "s", 1),
                                             ("temperature", "gpu.temperature", "Cel", "g", 1)):
            v = g.get(fld)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append([name, kind, unit, round(v * scale, 6) if scale != 1 else v, attrs])
    return out
