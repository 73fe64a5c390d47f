"""The collector registry: the one source of truth for infra/, serverless.yml and the function apps.

Each collector module declares itself with :func:`register`; :func:`all_specs` imports every module
listed in :data:`MODULES` and returns their specs. A collector added here and missing in a deploy path
fails the build (tests/unit/test_registry*.py, infra tests).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

PLATFORMS = ("aws", "azure", "gcp")

# modules that register collectors (imported lazily: no SDK is imported by listing the registry)
MODULES: list[str] = ["cloudtally.collectors.aws", "cloudtally.collectors.aws_billing_export"]


@dataclass(frozen=True)
class CollectorSpec:
    name: str                       # e.g. "aws"; unique, [a-z0-9-]
    platform: str                   # where its scheduled function runs: aws | azure | gcp
    schedule: str                   # EventBridge expression, e.g. "rate(1 hour)" / "cron(15 * * * ? *)"
    module: str                     # module path holding ``collect(ctx)``
    sdk_extra: str                  # the pyproject extra its function installs (aws, azure, gcp, ...)
    description: str = ""
    secrets: tuple[str, ...] = ()   # secret names it reads (Secrets Manager / Key Vault / Secret Manager)
    iam_actions: tuple[str, ...] = ()  # exact actions it calls (least privilege; no "*")
    default_config: dict[str, Any] = field(default_factory=dict)
    memory_mb: int = 512
    timeout_s: int = 300
    # modules it imports lazily at run time (the Lambda artifact build imports them in a clean venv)
    runtime_modules: tuple[str, ...] = ("cloudtally.collectors.delivery", "cloudtally.store")

    def load(self) -> Callable[..., Any]:
        return getattr(importlib.import_module(self.module), "collect")


_SPECS: dict[str, CollectorSpec] = {}


def register(spec: CollectorSpec) -> CollectorSpec:
    if spec.platform not in PLATFORMS:
        raise ValueError(f"collector {spec.name}: platform must be one of {PLATFORMS}")
    if any(a == "*" or a.endswith(":*") for a in spec.iam_actions):
        raise ValueError(f"collector {spec.name}: wildcard IAM actions are not allowed")
    existing = _SPECS.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"collector {spec.name} registered twice with different specs")
    _SPECS[spec.name] = spec
    return spec


def all_specs() -> list[CollectorSpec]:
    for m in MODULES:
        importlib.import_module(m)
    return sorted(_SPECS.values(), key=lambda s: s.name)


def get(name: str) -> CollectorSpec:
    for s in all_specs():
        if s.name == name:
            return s
    raise KeyError(f"no collector named {name!r}; known: {', '.join(s.name for s in all_specs())}")
