"""Where each collector runs in a deployment: its runtime, schedule and config, from the registry's
defaults overridden by a deployment file.

A deployment file (JSON; ``cloudtally.deploy.json`` at the repository root, ``CLOUDTALLY_DEPLOYMENT``,
or CDK context ``deployment``) may move any collector to another runtime, change its schedule, give it
config or disable it::

    {"collectors": {"databricks": {"runtime": "azure-functions", "schedule": "rate(2 hours)",
                                   "config": {"workspace_url": "https://adb-1.azuredatabricks.net"}},
                    "aws-billing-export": {"enabled": false}}}

Every deploy artifact (CDK, serverless.yml, the Azure Functions app and template, the Cloud Functions
entry points and Terraform) lists the placements of its runtime, so a placement's schedule, secrets and
permissions follow it wherever it goes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import registry
from .registry import RUNTIME_CLOUD, RUNTIMES, CollectorSpec, Schedule, SecretRef

ENV_DEPLOYMENT = "CLOUDTALLY_DEPLOYMENT"
DEFAULT_FILE = "cloudtally.deploy.json"
_KEYS = {"runtime", "schedule", "config", "enabled"}


@dataclass(frozen=True)
class Placement:
    spec: CollectorSpec
    runtime: str
    schedule: Schedule
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def cloud(self) -> str | None:
        """The cloud whose identity the function has."""
        return RUNTIME_CLOUD[self.runtime]

    @property
    def secrets(self) -> tuple[SecretRef, ...]:
        return self.spec.all_secrets

    def permissions(self) -> tuple[str, ...]:
        """What the function's own identity is granted: the collector's permissions in its runtime's cloud."""
        return self.spec.permissions.for_cloud(self.cloud) if self.cloud else ()

    def foreign_permissions(self) -> dict[str, tuple[str, ...]]:
        """Permissions in other clouds, granted to the identity whose credentials the collector is given."""
        return {c: self.spec.permissions.for_cloud(c) for c in ("aws", "azure", "gcp")
                if c != self.cloud and self.spec.permissions.for_cloud(c)}

    def schedule_expression(self) -> str:
        return self.schedule.render(self.runtime)


@dataclass(frozen=True)
class Deployment:
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "registry defaults"

    def placements(self, runtime: str | None = None, specs: list[CollectorSpec] | None = None) -> list[Placement]:
        """Every enabled collector's placement (on ``runtime`` only, when given)."""
        if runtime is not None and runtime not in RUNTIMES:
            raise ConfigError(f"unknown runtime {runtime!r}; one of {', '.join(RUNTIMES)}")
        specs = registry.all_specs() if specs is None else specs
        by_name = {s.name: s for s in specs}
        unknown = sorted(set(self.overrides) - set(by_name))
        if unknown:
            raise ConfigError(f"deployment ({self.source}) names unknown collectors: {', '.join(unknown)}",
                              details=[{"field": f"collectors.{n}", "message": "no such collector"} for n in unknown])
        out = []
        for spec in specs:
            o = self.overrides.get(spec.name, {})
            if o.get("enabled", True) is False:
                continue
            p = Placement(spec=spec, runtime=o.get("runtime", spec.runtime),
                          schedule=Schedule.parse(o["schedule"]) if "schedule" in o else spec.schedule,
                          config=dict(o.get("config") or {}))
            spec.parse_config(p.config)          # the deployment's config must validate, naming the field
            if runtime is None or p.runtime == runtime:
                out.append(p)
        return out


def parse(doc: Any, source: str = "deployment") -> Deployment:
    if not isinstance(doc, dict) or not isinstance(doc.get("collectors", {}), dict):
        raise ConfigError(f"{source}: expected {{\"collectors\": {{name: {{runtime, schedule, config, enabled}}}}}}")
    errors = []
    for name, o in doc.get("collectors", {}).items():
        if not isinstance(o, dict):
            errors.append({"field": f"collectors.{name}", "message": "an object"})
            continue
        for k in set(o) - _KEYS:
            errors.append({"field": f"collectors.{name}.{k}", "message": f"unknown (known: {', '.join(sorted(_KEYS))})"})
        if "runtime" in o and o["runtime"] not in RUNTIMES:
            errors.append({"field": f"collectors.{name}.runtime", "message": f"one of {', '.join(RUNTIMES)}"})
        if "enabled" in o and not isinstance(o["enabled"], bool):
            errors.append({"field": f"collectors.{name}.enabled", "message": "true or false"})
        if "config" in o and not isinstance(o["config"], dict):
            errors.append({"field": f"collectors.{name}.config", "message": "an object"})
        if "schedule" in o:
            try:
                Schedule.parse(o["schedule"])
            except ConfigError as e:
                errors.append({"field": f"collectors.{name}.schedule", "message": e.message})
    if errors:
        raise ConfigError(f"{source}: {errors[0]['field']}: {errors[0]['message']}", details=errors)
    return Deployment(overrides=dict(doc.get("collectors", {})), source=source)


def load(path: str | Path | None = None, *, root: Path | None = None) -> Deployment:
    """The deployment from ``path``, ``CLOUDTALLY_DEPLOYMENT``, or ``<root>/cloudtally.deploy.json``;
    the registry's defaults when there is none."""
    candidate = path or os.environ.get(ENV_DEPLOYMENT)
    if not candidate and root is not None and (root / DEFAULT_FILE).is_file():
        candidate = root / DEFAULT_FILE
    if not candidate:
        return Deployment()
    p = Path(candidate)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"deployment file {p} does not exist") from None
    except ValueError as e:
        raise ConfigError(f"deployment file {p} is not JSON: {e}") from None
    return parse(doc, str(p))
