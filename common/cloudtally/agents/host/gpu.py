"""GPUs through NVML (``nvidia-ml-py``, extra ``agent-gpu``): utilisation, memory, power, energy, temperature,
the processes using each GPU and its MIG devices. Degrades cleanly: without the package, the driver's
library or a GPU, ``gpuCount`` is 0, ``gpus`` empty and ``gpuStatus`` says why; a query a GPU does not
support (``NVMLError_NotSupported``) leaves that one field null.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger("cloudtally.agent.gpu")


class GPUs:
    """NVML opened once (``nvmlInit``) and read at each collection; ``module`` replaces ``pynvml`` in tests."""

    def __init__(self, module: Any = None):
        self.nvml = module
        self.status = "not initialised"
        self.ok = False
        self.driver: str | None = None
        try:
            if self.nvml is None:
                import pynvml  # nvidia-ml-py
                self.nvml = pynvml
        except ImportError:
            self.status = "nvidia-ml-py not installed (pip install 'cloudtally[agent-gpu]')"
            return
        try:
            self.nvml.nvmlInit()
        except self.nvml.NVMLError as e:          # no driver library, no GPU, driver/library mismatch
            self.status = f"NVML unavailable: {e}"
            return
        self.ok = True
        self.status = "ok"
        self.driver = self._get(self.nvml.nvmlSystemGetDriverVersion)

    def close(self) -> None:
        if self.ok:
            try:
                self.nvml.nvmlShutdown()
            except self.nvml.NVMLError as e:
                log.debug("nvmlShutdown: %s", e)
            self.ok = False

    def _get(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            v = fn(*args)
        except self.nvml.NVMLError as e:          # not supported on this GPU / driver: that field is null
            log.debug("%s: %s", getattr(fn, "__name__", fn), e)
            return None
        return v.decode() if isinstance(v, bytes) else v

    def _device(self, i: int, h: Any) -> dict[str, Any]:
        n = self.nvml
        util = self._get(n.nvmlDeviceGetUtilizationRates, h)
        mem = self._get(n.nvmlDeviceGetMemoryInfo, h)
        power = self._get(n.nvmlDeviceGetPowerUsage, h)                 # mW
        energy = self._get(n.nvmlDeviceGetTotalEnergyConsumption, h)    # mJ since the driver loaded
        procs = self._get(n.nvmlDeviceGetComputeRunningProcesses, h) or []
        mig = self._get(n.nvmlDeviceGetMigMode, h)
        mig_on = bool(mig and mig[0])
        out = {"index": i, "name": self._get(n.nvmlDeviceGetName, h), "uuid": self._get(n.nvmlDeviceGetUUID, h),
               "utilization": util.gpu if util is not None else None,
               "memoryUtilization": util.memory if util is not None else None,
               "memoryTotal": mem.total if mem is not None else None,
               "memoryUsed": mem.used if mem is not None else None,
               "powerWatts": round(power / 1000, 3) if power is not None else None,
               "energyJoules": round(energy / 1000, 3) if energy is not None else None,
               "temperature": self._get(n.nvmlDeviceGetTemperature, h, getattr(n, "NVML_TEMPERATURE_GPU", 0)),
               "processes": [{"pid": p.pid, "usedMemory": getattr(p, "usedGpuMemory", None)} for p in procs[:64]],
               "migEnabled": mig_on, "migDevices": []}
        if mig_on:
            count = self._get(n.nvmlDeviceGetMaxMigDeviceCount, h) or 0
            for j in range(count):
                mh = self._get(n.nvmlDeviceGetMigDeviceHandleByIndex, h, j)
                if mh is None:
                    continue               # an empty MIG slot
                mm = self._get(n.nvmlDeviceGetMemoryInfo, mh)
                out["migDevices"].append({"index": j, "uuid": self._get(n.nvmlDeviceGetUUID, mh),
                                          "memoryTotal": mm.total if mm is not None else None,
                                          "memoryUsed": mm.used if mm is not None else None})
        return out

    def collect(self) -> dict[str, Any]:
        """``gpuCount``, ``gpuDriverVersion``, ``gpuStatus``, ``gpus``."""
        if not self.ok:
            return {"gpuCount": 0, "gpuDriverVersion": None, "gpuStatus": self.status, "gpus": []}
        count = self._get(self.nvml.nvmlDeviceGetCount) or 0
        gpus = []
        for i in range(count):
            h = self._get(self.nvml.nvmlDeviceGetHandleByIndex, i)
            if h is not None:
                gpus.append(self._device(i, h))
        return {"gpuCount": len(gpus), "gpuDriverVersion": self.driver, "gpuStatus": self.status, "gpus": gpus}
