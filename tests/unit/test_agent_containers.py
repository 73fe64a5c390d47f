"""The agents' containers: one Dockerfile for all agents, the compose file and the Kubernetes Deployments,
parsed and checked against the repository (scripts, extras, flags the agents accept, secrets they read).

A command line is checked with the parser ``cloudtally agent <name>`` really uses; an agent whose module is
not in this CloudTally yet is skipped with the name of that module (its wrapper says the same at run time).
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from agents import _wrapper

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "agents"
K8S = sorted((AGENTS / "k8s").glob("*-deployment.yaml"))


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of agents/Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (AGENTS / "Dockerfile").read_text())
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1].strip()) for ln in text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def check_agent_command(argv: list[str]) -> None:
    """``argv`` = ``python agents/<script>.py ARGS``: the script exists and ``cloudtally agent`` takes ARGS."""
    assert argv[0] == "python" and argv[1].startswith("agents/") and argv[1].endswith(".py"), argv
    script = Path(argv[1]).stem
    assert (ROOT / argv[1]).is_file() and script in _wrapper.AGENTS, argv
    why = _wrapper.missing(script)
    if why:
        pytest.skip(why)
    from cloudtally.cli import build_parser
    args = build_parser().parse_args(["agent", _wrapper.AGENTS[script][2], *_wrapper.argv_with_env(argv[2:], {})])
    assert callable(args.func)
    return args


def test_one_dockerfile_builds_every_agent():
    steps = dockerfile()
    assert steps[0][0] == "FROM" and re.fullmatch(r"python:3\.1[1-9]-slim", steps[0][1])
    copies = [a.split() for i, a in steps if i == "COPY"]
    for src, *_ in (c[:-1] for c in copies):
        assert (ROOT / src).exists(), src
    assert ["agents/", "./agents/"] in copies and ["common/", "./common/"] in copies
    install = next(a for i, a in steps if i == "RUN" and "pip install" in a)
    extras = set(re.search(r'"\.\[([^]]+)\]"', install).group(1).split(","))
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras <= set(declared), extras - set(declared)
    # every cloud and data platform agent's SDK is in the image
    assert {"aws", "azure", "gcp", "databricks", "snowflake"} <= extras
    user = [a for i, a in steps if i == "USER"]
    assert user and user[-1] not in ("root", "0")
    cmd = next(a for i, a in steps if i == "CMD")
    assert (ROOT / eval(cmd)[1]).is_file()  # noqa: S307 (a JSON list literal from our own Dockerfile)


def compose_services() -> dict:
    return yaml.safe_load((AGENTS / "compose.yaml").read_text())["services"]


@pytest.mark.parametrize("name", sorted(compose_services()))
def test_compose_services_run_agents_with_flags_they_accept(name):
    svc = compose_services()[name]
    assert svc["build"]["dockerfile"] == "agents/Dockerfile" and (AGENTS / svc["build"]["context"]).resolve() == ROOT
    assert svc["restart"] == "always"
    env_names = {e.split("=", 1)[0] for e in svc["environment"]}
    assert {"CLOUDTALLY_API_KEY_ID", "CLOUDTALLY_API_KEY_SECRET"} <= env_names
    # secrets come from the environment, never from values written in the file
    assert not [e for e in svc["environment"] if "=" in e and re.search(r"(SECRET|TOKEN|PASSWORD|KEY)=", e)]
    for sec in svc.get("secrets", []):
        assert sec in yaml.safe_load((AGENTS / "compose.yaml").read_text())["secrets"]
    argv = [re.sub(r"\$\{(\w+)(:-([^}]*))?\}", lambda m: m.group(3) or f"<{m.group(1)}>", a) for a in svc["command"]]
    check_agent_command(argv)


def k8s_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def secrets() -> dict[str, set[str]]:
    return {d["metadata"]["name"]: set(d.get("stringData") or d.get("data") or {})
            for d in k8s_docs(AGENTS / "k8s" / "secrets.example.yaml") if d["kind"] == "Secret"}


def test_every_agent_has_a_deployment():
    assert {p.name.split("-")[0] for p in K8S} >= {s.split("_")[0] for s in _wrapper.AGENTS} - {"generic"}


@pytest.mark.parametrize("path", K8S, ids=lambda p: p.name)
def test_kubernetes_deployments_are_valid_and_read_their_secrets(path):
    docs = k8s_docs(path)
    dep = next(d for d in docs if d["kind"] == "Deployment")
    assert dep["apiVersion"] == "apps/v1" and dep["metadata"]["namespace"] == "cloudtally"
    spec = dep["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (c,) = pod["containers"]
    assert not c["image"].endswith(":latest") and ":" in c["image"]
    assert c["resources"]["requests"] and c["resources"]["limits"]
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    have = secrets()
    env = {}
    for e in c["env"]:
        if "valueFrom" in e:
            ref = e["valueFrom"]["secretKeyRef"]
            assert ref["name"] in have and ref["key"] in have[ref["name"]], (e["name"], ref)
            env[e["name"]] = f"<{ref['name']}/{ref['key']}>"
        else:
            env[e["name"]] = e["value"]
    assert {"CLOUDTALLY_API_KEY_ID", "CLOUDTALLY_API_KEY_SECRET", "OPENFINOPS_ENDPOINT", "COLLECTION_INTERVAL"} <= set(env)
    assert env["COLLECTION_INTERVAL"].isdigit()
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        assert volumes[m["name"]]["secret"]["secretName"] in have
    if "serviceAccountName" in pod:
        sa = [d for d in docs if d["kind"] == "ServiceAccount"]
        assert [d["metadata"]["name"] for d in sa] == [pod["serviceAccountName"]]
    # Kubernetes expands $(VAR) in args from the container's env
    argv = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in c["args"]]
    check_agent_command(argv)


def test_the_wrapper_takes_the_interval_from_the_environment():
    assert _wrapper.argv_with_env(["--x"], {"COLLECTION_INTERVAL": "600"}) == ["--x", "--interval", "600"]
    assert _wrapper.argv_with_env(["--interval", "60"], {"COLLECTION_INTERVAL": "600"}) == ["--interval", "60"]
    with pytest.raises(SystemExit):
        _wrapper.argv_with_env([], {"COLLECTION_INTERVAL": "5m"})
    assert shlex.split("python agents/aws_telemetry_agent.py")[1] in {f"agents/{s}.py" for s in _wrapper.AGENTS}
