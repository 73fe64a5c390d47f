"""The collector contract: what every spec in the registry (built-in or plug-in) must have.

:func:`check` returns the problems of one spec (empty when it conforms); tests/contract walks the whole
registry with it, and ``cloudtally collectors check`` runs it for a user. A spec must have:

1. a schedule valid for every runtime (a deployment may place it anywhere);
2. config defaults that validate;
3. recorded fixtures: a folder (``tests/fixtures/<spec.fixtures>`` for built-ins, ``<plug-in package>/
   <spec.fixtures>`` for plug-ins) holding the recorded responses and a ``replay.py`` whose
   ``replay()`` runs the collector on them offline and returns the run summary, with no record the
   API would reject (the replay sink parses each record as ingest does);
4. a catalog entry for every service it prices (``spec.prices``);
5. declared permissions equal to what its replay exercised: every call it made is declared, and
   nothing is declared that it never made (the provider's ``permissions`` module maps calls to
   permissions);
6. a README section (the repository's README for built-ins, the plug-in distribution's own README);
7. presence in each deploy artifact of its runtime (:data:`ARTIFACTS`).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from typing import Any, Callable

from ..errors import CloudTallyError
from .registry import RUNTIMES, CollectorSpec

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
README = ROOT / "README.md"


def _lambda_artifacts(placements: list) -> set[str]:
    from ..infra_render import collector_artifact, render
    text = render(placements)
    return {p.name for p in placements if f"\n  {collector_artifact(p.name)}:\n" in text}


# runtime -> (artifact name, function(placements on that runtime) -> collector names the artifact carries)
ARTIFACTS: dict[str, list[tuple[str, Callable[[list], set[str]]]]] = {
    "lambda": [("serverless.yml (and the CDK stack, from the same placements)", _lambda_artifacts)],
}


# modules that register the deploy artifacts of the other runtimes (imported before a check)
ARTIFACT_MODULES: list[str] = [
    "cloudtally.providers.gcp.deploy",          # functions/gcp/main.py entry points, infra/gcp/main.tf
    "cloudtally.providers.azure.deploy",         # functions/azure and infra/azure/cloudtally.json
]


def register_artifact(runtime: str, name: str, fn: Callable[[list], set[str]]) -> None:
    """A deploy artifact of ``runtime`` (the Azure Functions app, the GCP entry points, their templates)."""
    if all(n != name for n, _ in ARTIFACTS.get(runtime, [])):
        ARTIFACTS.setdefault(runtime, []).append((name, fn))


def _load_artifacts() -> None:
    for m in ARTIFACT_MODULES:
        importlib.import_module(m)


def fixtures_dir(spec: CollectorSpec) -> Path | None:
    if not spec.fixtures:
        return None
    if spec.plugin:
        pkg = spec.module.rpartition(".")[0] or spec.module
        try:
            base = Path(importlib.util.find_spec(pkg).origin).parent
        except (ImportError, AttributeError):
            return None
        return base / spec.fixtures
    return FIXTURES / spec.fixtures


def load_replay(spec: CollectorSpec) -> Callable[[], dict[str, Any]] | None:
    d = fixtures_dir(spec)
    if d is None or not (d / "replay.py").is_file():
        return None
    mod_spec = importlib.util.spec_from_file_location(f"cloudtally_replay_{spec.name.replace('-', '_')}",
                                                      d / "replay.py")
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return getattr(mod, "replay", None)


def required_permissions(spec: CollectorSpec, api_calls: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    """Per cloud, the permissions the calls of a run need (the provider package's ``permissions.required``)."""
    pkg = spec.module.rpartition(".")[0] or spec.module
    try:
        mod = importlib.import_module(f"{pkg}.permissions")
    except ModuleNotFoundError as e:
        if e.name != f"{pkg}.permissions":
            raise
        return {"aws": set(), "azure": set(), "gcp": set()} if not api_calls else {}
    return {k: set(v) for k, v in mod.required(api_calls).items()}


def readme_mentions(spec: CollectorSpec) -> bool:
    """A heading naming the collector (or its row in the collectors table): in the repository's README for
    a built-in, in the plug-in distribution's own README (its package description) for a plug-in."""
    if spec.plugin:
        from importlib import metadata
        try:
            md = metadata.metadata(spec.plugin)
        except metadata.PackageNotFoundError:
            return False
        text = md.get_payload() or md.get("Description") or ""
    else:
        text = README.read_text() if README.is_file() else ""
    pattern = re.compile(rf"(^#+ .*`{re.escape(spec.name)}`|^\| `{re.escape(spec.name)}` \|)", re.M)
    return bool(pattern.search(text))


def check(spec: CollectorSpec, *, replay: bool = True, placements: list | None = None) -> list[str]:
    """The contract problems of ``spec`` (empty: it conforms)."""
    problems: list[str] = []
    try:
        spec.validate()
    except CloudTallyError as e:
        problems.append(f"spec: {e.message}")
    for rt in RUNTIMES:
        try:
            spec.schedule.render(rt)
        except CloudTallyError as e:
            problems.append(f"schedule: not valid on {rt}: {e.message}")
    try:
        spec.default_config()
    except CloudTallyError as e:
        problems.append(f"config: defaults do not validate: {e.message}")
    d = fixtures_dir(spec)
    if d is None or not d.is_dir() or not any(p for p in d.iterdir() if p.name != "replay.py"):
        problems.append(f"fixtures: no recorded responses in {d or '(spec.fixtures unset)'}")
    if spec.prices:
        from .. import catalog
        try:
            cat = catalog.load(spec.provider)
            missing = [s for s in spec.prices if s not in cat.services]
            if missing:
                problems.append(f"catalog: {cat.label} has no entry for {', '.join(missing)}")
        except CloudTallyError as e:
            problems.append(f"catalog: {e.message}")
    if not readme_mentions(spec):
        problems.append(f"docs: no README section or collectors-table row for `{spec.name}`")
    if replay:
        fn = load_replay(spec)
        if fn is None:
            problems.append(f"fixtures: no replay.py with replay() in {d}")
        else:
            summary = fn()
            calls = summary.get("api_calls") or {}
            if summary.get("failed_scopes"):
                problems.append(f"replay: scopes failed: {summary['failed_scopes']}")
            if summary.get("records_rejected"):
                problems.append(f"replay: {summary['records_rejected']} records the API would reject, e.g. "
                                f"{summary.get('rejected', [])[:2]}")
            need = required_permissions(spec, calls)
            if not need and calls:
                problems.append(f"permissions: {spec.module.rpartition('.')[0] or spec.module}.permissions maps no calls "
                                f"({', '.join(sorted(calls))})")
            for cloud, needed in need.items():
                declared = set(spec.permissions.for_cloud(cloud))
                if needed - declared:
                    problems.append(f"permissions: {cloud} calls made but not declared: {sorted(needed - declared)}")
                if declared - needed:
                    problems.append(f"permissions: {cloud} declared but never exercised by the replay: "
                                    f"{sorted(declared - needed)}")
    from . import deployment
    _load_artifacts()
    try:
        placements = placements if placements is not None else deployment.Deployment().placements(specs=[spec])
    except CloudTallyError as e:
        problems.append(f"deploy: cannot be placed: {e.message}")
        placements = []
    for p in placements:
        if p.name != spec.name:
            continue
        arts = ARTIFACTS.get(p.runtime)
        if not arts:
            problems.append(f"deploy: no deploy artifact for runtime {p.runtime}")
        for name, fn in arts or []:
            if spec.name not in fn([p]):
                problems.append(f"deploy: {name} does not carry {spec.name}")
    return problems
