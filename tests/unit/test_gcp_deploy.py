"""The cloud-functions runtime's deploy artifacts, generated from the registry: infra/gcp/main.tf (parsed with
python-hcl2: functions, Scheduler jobs, Pub/Sub topics, Secret Manager secrets, a service account per
collector with exactly the registry's roles) and the functions/gcp/main.py entry points; a non-GCP collector
placed on Cloud Functions takes its schedule, secrets and permissions along."""

from __future__ import annotations

import json
from typing import Any

import hcl2
import pytest

from cloudtally.collectors import contract, deployment, registry
from cloudtally.providers.gcp import deploy
from tests.gcp_support import ROOT
from tests.helpers import load_module


def _u(v: Any) -> Any:
    """python-hcl2 keeps HCL's quotes around strings and block labels: strip them."""
    if isinstance(v, dict):
        return {_u(k): _u(x) for k, x in v.items() if k != "__is_block__"}
    if isinstance(v, list):
        return [_u(x) for x in v]
    if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"':
        return json.loads(v)
    return v


def parse(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """{resource type: {name: body}} (and outputs under "output")."""
    doc = _u(hcl2.loads(text))
    out: dict[str, dict[str, Any]] = {}
    for block in doc.get("resource", []):
        for rtype, named in block.items():
            for name, body in named.items():
                out.setdefault(rtype, {})[name] = body
    for block in doc.get("output", []):
        for name, body in block.items():
            out.setdefault("output", {})[name] = body
    out["variable"] = {k: v for b in doc.get("variable", []) for k, v in b.items()}
    return out


def _granted(tf: dict, x: str) -> set[str]:
    """The roles the collector's service account gets on projects / the organization / the billing dataset."""
    member = f"serviceAccount:${{google_service_account.collector_{x}.email}}"
    roles = set()
    for rtype in ("google_project_iam_member", "google_organization_iam_member", "google_bigquery_dataset_iam_member"):
        for body in tf.get(rtype, {}).values():
            if body["member"] == member:
                roles.add(body["role"])
    return roles


def test_the_committed_terraform_is_generated_from_the_registry():
    assert deploy.main(["--check"]) == 0
    assert deploy.TERRAFORM.read_text() == deploy.render_terraform(deploy.placements(deployment.Deployment()))


def test_each_collector_on_cloud_functions_has_function_job_topic_secrets_and_exactly_its_roles():
    tf = parse(deploy.TERRAFORM.read_text())
    spec = registry.get("gcp")
    fn = tf["google_cloudfunctions2_function"]["collector_gcp"]
    (build,) = fn["build_config"]
    assert build["entry_point"] == '${local.pubsub ? "collect_gcp" : "collect_gcp_http"}'
    (svc,) = fn["service_config"]
    assert svc["available_memory"] == f"{spec.memory_mb}M" and svc["timeout_seconds"] == 540
    assert svc["environment_variables"]["CLOUDTALLY_API_URL"] == "${var.api_url}"
    assert {s["key"] for s in svc["secret_environment_variables"]} == {s.env_var for s in spec.all_secrets}
    (trigger,) = fn["dynamic"]
    assert trigger["event_trigger"]["content"][0]["event_type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    job = tf["google_cloud_scheduler_job"]["collector_gcp"]
    assert job["schedule"] == spec.schedule.render("cloud-functions") == "0 * * * *" and job["time_zone"] == "Etc/UTC"
    targets = {k: v for d in job["dynamic"] for k, v in d.items()}
    assert targets["pubsub_target"]["content"][0]["topic_name"] == "${google_pubsub_topic.collector_gcp.id}"
    oidc = targets["http_target"]["content"][0]["oidc_token"][0]
    assert oidc["service_account_email"] == "${google_service_account.invoker.email}"
    assert tf["google_pubsub_topic"]["collector_gcp"]["name"] == "cloudtally-collector-gcp"
    assert {s["secret_id"] for s in tf["google_secret_manager_secret"].values()} == {s.gcp_name for s in spec.all_secrets}
    # exactly the registry's roles, nothing more (the invoker role is the invoker account's, on the function)
    assert _granted(tf, "gcp") == set(spec.permissions.gcp)
    assert tf["google_bigquery_dataset_iam_member"]["collector_gcp_billing_data_viewer"]["role"] == "roles/bigquery.dataViewer"
    assert tf["google_cloud_run_service_iam_member"]["collector_gcp_invoker"]["member"].endswith("google_service_account.invoker.email}")
    readers = [b for b in tf["google_secret_manager_secret_iam_member"].values()
               if b["member"] == "serviceAccount:${google_service_account.collector_gcp.email}"]
    assert {b["role"] for b in readers} == {"roles/secretmanager.secretAccessor"} and len(readers) == len(spec.all_secrets)
    assert set(tf["variable"]) >= {"project_id", "api_url", "monitored_projects", "scheduler_target",
                                   "billing_export_dataset"}


PLACED = {"collectors": {"aws-billing-export": {"runtime": "cloud-functions", "schedule": "cron(30 */4 * * *)",
                                                "config": {"bucket": "exports", "export_name": "focus-daily"}}}}


def test_a_non_gcp_collector_placed_on_cloud_functions_takes_schedule_secrets_and_permissions_along():
    dep = deployment.parse(PLACED)
    pls = deploy.placements(dep)
    assert sorted(p.name for p in pls) == ["aws-billing-export", "gcp"]
    tf = parse(deploy.render_terraform(pls))
    x = "aws_billing_export"
    fn = tf["google_cloudfunctions2_function"][f"collector_{x}"]
    assert fn["build_config"][0]["entry_point"] == \
        '${local.pubsub ? "collect_aws_billing_export" : "collect_aws_billing_export_http"}'
    env = fn["service_config"][0]["environment_variables"]
    assert json.loads(env["CLOUDTALLY_COLLECTOR_CONFIG"]) == {"bucket": "exports", "export_name": "focus-daily"}
    assert [s["key"] for s in fn["service_config"][0]["secret_environment_variables"]] == ["CLOUDTALLY_SECRET_INGEST_API_KEY"]
    assert tf["google_cloud_scheduler_job"][f"collector_{x}"]["schedule"] == "30 */4 * * *"
    assert _granted(tf, x) == set()                                       # no Google role: it reads S3
    assert tf["output"][f"collector_{x}_foreign_permissions"]["value"] == {"aws": ["s3:ListBucket", "s3:GetObject"]}
    # the entry points follow it too, and the contract sees it in both artifacts
    main = load_module(ROOT / "functions" / "gcp" / "main.py", "cloudtally_gcp_main_placed")
    defined = main.define(pls)
    assert set(defined) == {"aws-billing-export", "gcp"}
    assert callable(main.collect_aws_billing_export) and callable(main.collect_aws_billing_export_http)
    spec = registry.get("aws-billing-export")
    assert contract.check(spec, replay=False, placements=[p for p in pls if p.name == spec.name]) == []
    # ... and it left the Lambda deploy
    from cloudtally.infra_render import lambda_placements
    assert "aws-billing-export" not in {p.name for p in lambda_placements(dep)}


def test_the_artifacts_are_registered_and_catch_a_missing_collector(monkeypatch):
    names = [n for n, _ in contract.ARTIFACTS["cloud-functions"]]
    assert names == ["functions/gcp/main.py (Cloud Functions entry points)", "infra/gcp/main.tf (Terraform)"]
    pls = deploy.placements(deployment.Deployment())
    real = deploy.render_terraform
    monkeypatch.setattr(deploy, "render_terraform", lambda p: real([]))
    problems = contract.check(registry.get("gcp"), replay=False)
    assert problems == ["deploy: infra/gcp/main.tf (Terraform) does not carry gcp"], problems
    assert pls


@pytest.mark.parametrize("name, expected", [("gcp", "ct-gcp"), ("aws-billing-export", "ct-aws-billing-export"),
                                            ("a-very-long-collector-name-indeed", "ct-a-very-long-collector-name")])
def test_service_account_ids_fit_googles_limits(name, expected):
    assert deploy.account_id(name) == expected and 6 <= len(expected) <= 30


def test_config_values_are_never_hcl_templates():
    assert deploy.hcl_string('a${b}%{c}"d') == '"a$${b}%%{c}\\"d"'
