"""The deploy artifacts of the ``cloud-functions`` runtime, generated from the registry's placements.

* **Entry points** (``functions/gcp/main.py``): per collector placed on Cloud Functions, a CloudEvent entry
  ``collect_<name>`` (the Pub/Sub message a Cloud Scheduler job publishes, delivered by Eventarc) and an
  HTTP entry ``collect_<name>_http`` (a Scheduler HTTP target with an OIDC token; the function only admits
  callers with ``roles/run.invoker``). Names: :func:`event_entry`, :func:`http_entry`.
* **Terraform** (``infra/gcp/main.tf``, :func:`render_terraform`): per placement a service account granted
  exactly the collector's GCP roles (project-level on ``var.monitored_projects`` — or the organization when
  ``var.organization_id`` is set —, BigQuery Data Viewer on the billing export dataset and Job User on its
  project), a Pub/Sub topic, a Cloud Scheduler job with the placement's unix-cron schedule (Pub/Sub target,
  or HTTP + OIDC with ``var.scheduler_target = "http"``), a Cloud Functions (2nd gen) function with the
  entry point, its config, the API URL and every secret it reads injected from Secret Manager
  (``CLOUDTALLY_SECRET_<NAME>``), and read access to exactly those secrets. Permissions in other clouds
  (an AWS collector placed here) are an output to grant to the credentials it is given.

Both are registered as the runtime's deploy artifacts (:func:`cloudtally.collectors.contract.register_artifact`),
so the contract checks every collector placed on Cloud Functions is in them. ``python -m
cloudtally.providers.gcp.deploy [--check]`` writes (or checks) infra/gcp/main.tf.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

from ...collectors import contract, deployment
from .permissions import BILLING_ROLES

RUNTIME = "cloud-functions"
ROOT = Path(__file__).resolve().parents[4]
MAIN_PY = ROOT / "functions" / "gcp" / "main.py"
TERRAFORM = ROOT / "infra" / "gcp" / "main.tf"
PYTHON_RUNTIME = "python312"
# APIs a deployment uses (enabled by the Terraform)
APIS = ("cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com",
        "artifactregistry.googleapis.com", "eventarc.googleapis.com", "pubsub.googleapis.com",
        "cloudscheduler.googleapis.com", "secretmanager.googleapis.com", "iam.googleapis.com")


def ident(name: str) -> str:
    """A Terraform/Python identifier from a registry name (``aws-billing-export`` → ``aws_billing_export``)."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def event_entry(name: str) -> str:
    return f"collect_{ident(name)}"


def http_entry(name: str) -> str:
    return f"collect_{ident(name)}_http"


def function_name(name: str) -> str:
    return f"cloudtally-collector-{name}"


def account_id(name: str) -> str:
    """A service account id (6-30 of [a-z0-9-]) for a collector."""
    base = f"ct-{name}"[:30].rstrip("-")
    return base if len(base) >= 6 else f"{base}-coll"


def placements(dep: deployment.Deployment | None = None) -> list[deployment.Placement]:
    """The collectors placed on Cloud Functions (the deployment file's, or the registry's defaults)."""
    dep = dep if dep is not None else deployment.load(root=ROOT)
    return dep.placements(RUNTIME)


# ---------------------------------------------------------------------------------------------- HCL
def hcl_string(s: str) -> str:
    """An HCL quoted string (``${`` and ``%{`` escaped, so a value is never a template)."""
    out = json.dumps(s)
    return out.replace("${", "$${").replace("%{", "%%{")


def _kv_block(d: dict[str, str], indent: str) -> str:
    return "{\n" + "".join(f"{indent}  {k} = {v}\n" for k, v in d.items()) + f"{indent}}}"


def _secret_res(secret_name: str) -> str:
    return "secret_" + ident(secret_name)


def render_terraform(pls: list[deployment.Placement]) -> str:
    """The Terraform configuration for ``pls`` (placements on Cloud Functions)."""
    out: list[str] = [
        "# Generated from the collector registry by `python -m cloudtally.providers.gcp.deploy`: do not edit.",
        "# Deploy: scripts/build_gcp_functions.py --zip, then terraform init && terraform apply (README: Google Cloud).",
        "",
        'terraform {\n  required_version = ">= 1.5"\n  required_providers {\n'
        '    google = {\n      source  = "hashicorp/google"\n      version = ">= 6.0"\n    }\n  }\n}',
        "",
        'provider "google" {\n  project = var.project_id\n  region  = var.region\n}',
        "",
    ]
    variables = [
        ("project_id", "string", None, "project the functions, topics, jobs and secrets live in"),
        ("region", "string", '"us-central1"', "region of the functions and Scheduler jobs"),
        ("api_url", "string", None, "the CloudTally API URL the collectors post to"),
        ("source_archive", "string", '"../../build/gcp/source.zip"',
         "the bundle scripts/build_gcp_functions.py --zip writes"),
        ("scheduler_target", "string", '"pubsub"', "pubsub: Scheduler → Pub/Sub → Eventarc; http: Scheduler → HTTPS with OIDC"),
        ("monitored_projects", "list(string)", "[]", "projects the collectors' roles are granted on"),
        ("organization_id", "string", '""', "grant the roles on this organization instead of each project"),
        ("billing_export_project", "string", '""', "project of the BigQuery billing export (Job User there)"),
        ("billing_export_dataset", "string", '""', "dataset of the billing export (Data Viewer on it)"),
        ("python_runtime", "string", f'"{PYTHON_RUNTIME}"', "Cloud Functions runtime"),
    ]
    for name, typ, default, desc in variables:
        body = f'  type        = {typ}\n  description = {hcl_string(desc)}\n'
        if default is not None:
            body += f"  default     = {default}\n"
        if name == "scheduler_target":
            body += ('  validation {\n    condition     = contains(["pubsub", "http"], var.scheduler_target)\n'
                     '    error_message = "scheduler_target is pubsub or http."\n  }\n')
        out += [f'variable "{name}" {{\n{body}}}', ""]
    out += [
        'locals {\n  pubsub = var.scheduler_target == "pubsub"\n  org    = var.organization_id != ""\n}',
        "",
        'resource "google_project_service" "apis" {\n  for_each           = toset([' +
        ", ".join(f'"{a}"' for a in APIS) + '])\n  service            = each.value\n  disable_on_destroy = false\n}',
        "",
        '# invokes the functions: Eventarc triggers (Pub/Sub) and Scheduler HTTP targets (OIDC tokens)\n'
        'resource "google_service_account" "invoker" {\n  account_id   = "cloudtally-invoker"\n'
        '  display_name = "CloudTally: invokes the collector functions"\n}',
        "",
        'resource "google_storage_bucket" "source" {\n  name                        = "${var.project_id}-cloudtally-functions"\n'
        '  location                    = var.region\n  uniform_bucket_level_access = true\n  force_destroy               = true\n}',
        "",
        'resource "google_storage_bucket_object" "source" {\n'
        '  name   = "cloudtally-functions-${filemd5(var.source_archive)}.zip"\n'
        '  bucket = google_storage_bucket.source.name\n  source = var.source_archive\n}',
        "",
    ]
    secrets: dict[str, Any] = {}
    for p in pls:
        for s in p.secrets:
            secrets.setdefault(s.name, s)
    for name, s in sorted(secrets.items()):
        out += [f'resource "google_secret_manager_secret" "{_secret_res(name)}" {{\n'
                f'  secret_id = "{s.gcp_name}"\n  labels    = {{ cloudtally = "collector" }}\n'
                f'  replication {{\n    auto {{}}\n  }}\n  depends_on = [google_project_service.apis]\n}}', ""]
    for p in sorted(pls, key=lambda x: x.name):
        out += _placement(p)
    return "\n".join(out).rstrip() + "\n"


def _placement(p: deployment.Placement) -> list[str]:
    x = ident(p.name)
    spec = p.spec
    roles = list(p.permissions())
    project_roles = [r for r in roles if r not in BILLING_ROLES]
    env = {"CLOUDTALLY_API_URL": "var.api_url", "CLOUDTALLY_COLLECTOR": hcl_string(p.name),
           "CLOUDTALLY_COLLECTOR_CONFIG": hcl_string(json.dumps(p.config, sort_keys=True, separators=(",", ":"))),
           "CLOUDTALLY_GCP_SECRET_PROJECT": "var.project_id"}
    message = f'base64encode(jsonencode({{ collector = "{p.name}" }}))'
    lines = [
        f"# ---- collector {p.name}: {spec.description[:90]}",
        f'resource "google_service_account" "collector_{x}" {{\n  account_id   = "{account_id(p.name)}"\n'
        f'  display_name = {hcl_string(f"CloudTally collector {p.name}")}\n}}',
        "",
        f'resource "google_pubsub_topic" "collector_{x}" {{\n  name       = "{function_name(p.name)}"\n'
        f'  depends_on = [google_project_service.apis]\n}}',
        "",
    ]
    for s in p.secrets:
        lines += [f'resource "google_secret_manager_secret_iam_member" "{_secret_res(s.name)}_{x}" {{\n'
                  f'  secret_id = google_secret_manager_secret.{_secret_res(s.name)}.id\n'
                  f'  role      = "roles/secretmanager.secretAccessor"\n'
                  f'  member    = "serviceAccount:${{google_service_account.collector_{x}.email}}"\n}}', ""]
    for role in project_roles:
        r = ident(role.removeprefix("roles/"))
        lines += [
            f'resource "google_project_iam_member" "collector_{x}_{r}" {{\n'
            f'  for_each = local.org ? toset([]) : toset(var.monitored_projects)\n  project  = each.value\n'
            f'  role     = "{role}"\n  member   = "serviceAccount:${{google_service_account.collector_{x}.email}}"\n}}',
            "",
            f'resource "google_organization_iam_member" "collector_{x}_{r}" {{\n'
            f'  count  = local.org ? 1 : 0\n  org_id = var.organization_id\n  role   = "{role}"\n'
            f'  member = "serviceAccount:${{google_service_account.collector_{x}.email}}"\n}}',
            "",
        ]
    if "roles/bigquery.dataViewer" in roles:
        lines += [f'resource "google_bigquery_dataset_iam_member" "collector_{x}_billing_data_viewer" {{\n'
                  f'  count      = var.billing_export_dataset != "" ? 1 : 0\n'
                  f'  project    = var.billing_export_project\n  dataset_id = var.billing_export_dataset\n'
                  f'  role       = "roles/bigquery.dataViewer"\n'
                  f'  member     = "serviceAccount:${{google_service_account.collector_{x}.email}}"\n}}', ""]
    if "roles/bigquery.jobUser" in roles:
        lines += [f'resource "google_project_iam_member" "collector_{x}_billing_job_user" {{\n'
                  f'  count   = var.billing_export_project != "" ? 1 : 0\n  project = var.billing_export_project\n'
                  f'  role    = "roles/bigquery.jobUser"\n'
                  f'  member  = "serviceAccount:${{google_service_account.collector_{x}.email}}"\n}}', ""]
    secret_env = "".join(
        f'    secret_environment_variables {{\n      key        = "{s.env_var}"\n      project_id = var.project_id\n'
        f'      secret     = google_secret_manager_secret.{_secret_res(s.name)}.secret_id\n      version    = "latest"\n    }}\n'
        for s in p.secrets)
    lines += [
        f'resource "google_cloudfunctions2_function" "collector_{x}" {{\n'
        f'  name     = "{function_name(p.name)}"\n  location = var.region\n'
        f'  build_config {{\n    runtime     = var.python_runtime\n'
        f'    entry_point = local.pubsub ? "{event_entry(p.name)}" : "{http_entry(p.name)}"\n'
        f'    source {{\n      storage_source {{\n        bucket = google_storage_bucket.source.name\n'
        f'        object = google_storage_bucket_object.source.name\n      }}\n    }}\n  }}\n'
        f'  service_config {{\n    available_memory      = "{spec.memory_mb}M"\n'
        f'    timeout_seconds       = {min(spec.timeout_s, 540)}\n    max_instance_count    = 1\n'
        f'    service_account_email = google_service_account.collector_{x}.email\n'
        f'    environment_variables = {_kv_block(env, "    ")}\n{secret_env}  }}\n'
        f'  dynamic "event_trigger" {{\n    for_each = local.pubsub ? [1] : []\n    content {{\n'
        f'      trigger_region        = var.region\n'
        f'      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"\n'
        f'      pubsub_topic          = google_pubsub_topic.collector_{x}.id\n'
        f'      retry_policy          = "RETRY_POLICY_DO_NOT_RETRY"\n'
        f'      service_account_email = google_service_account.invoker.email\n    }}\n  }}\n'
        f'  depends_on = [google_project_service.apis]\n}}',
        "",
        f'resource "google_cloud_run_service_iam_member" "collector_{x}_invoker" {{\n'
        f'  location = var.region\n  service  = google_cloudfunctions2_function.collector_{x}.service_config[0].service\n'
        f'  role     = "roles/run.invoker"\n  member   = "serviceAccount:${{google_service_account.invoker.email}}"\n}}',
        "",
        f'resource "google_cloud_scheduler_job" "collector_{x}" {{\n'
        f'  name      = "{function_name(p.name)}"\n  region    = var.region\n'
        f'  schedule  = "{p.schedule_expression()}"\n  time_zone = "Etc/UTC"\n'
        f'  dynamic "pubsub_target" {{\n    for_each = local.pubsub ? [1] : []\n    content {{\n'
        f'      topic_name = google_pubsub_topic.collector_{x}.id\n      data       = {message}\n'
        f'      attributes = {{ collector = "{p.name}" }}\n    }}\n  }}\n'
        f'  dynamic "http_target" {{\n    for_each = local.pubsub ? [] : [1]\n    content {{\n'
        f'      uri         = google_cloudfunctions2_function.collector_{x}.service_config[0].uri\n'
        f'      http_method = "POST"\n      body        = {message}\n'
        f'      headers     = {{ "Content-Type" = "application/json" }}\n'
        f'      oidc_token {{\n        service_account_email = google_service_account.invoker.email\n'
        f'        audience              = google_cloudfunctions2_function.collector_{x}.service_config[0].uri\n'
        f'      }}\n    }}\n  }}\n  depends_on = [google_project_service.apis]\n}}',
        "",
    ]
    foreign = p.foreign_permissions()
    if foreign:
        body = ", ".join(f"{c} = [{', '.join(hcl_string(a) for a in acts)}]" for c, acts in sorted(foreign.items()))
        lines += [f'output "collector_{x}_foreign_permissions" {{\n'
                  f'  description = {hcl_string(f"grant these to the credentials {p.name} is given (its provider is not Google Cloud)")}\n'
                  f'  value       = {{ {body} }}\n}}', ""]
    return lines


# ---------------------------------------------------------------------------------------------- artifacts
def load_main() -> Any:
    """functions/gcp/main.py as a module (the entry points it defines at import)."""
    spec = importlib.util.spec_from_file_location("cloudtally_gcp_functions_main", MAIN_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _main_artifact(pls: list[deployment.Placement]) -> set[str]:
    """The collectors functions/gcp/main.py defines both entry points for, given these placements."""
    mod = load_main()
    defined = mod.define(pls)
    return {n for n in defined if callable(getattr(mod, event_entry(n), None)) and callable(getattr(mod, http_entry(n), None))}


def _terraform_artifact(pls: list[deployment.Placement]) -> set[str]:
    """The collectors whose function, scheduler job and topic the rendered Terraform declares."""
    text = render_terraform(pls)
    return {p.name for p in pls
            if all(f'"{kind}" "collector_{ident(p.name)}"' in text for kind in
                   ("google_cloudfunctions2_function", "google_cloud_scheduler_job", "google_pubsub_topic"))}


contract.register_artifact(RUNTIME, "functions/gcp/main.py (Cloud Functions entry points)", _main_artifact)
contract.register_artifact(RUNTIME, "infra/gcp/main.tf (Terraform)", _terraform_artifact)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="write (or --check) infra/gcp/main.tf from the collector registry")
    ap.add_argument("--check", action="store_true", help="fail when the committed file differs from the registry")
    ap.add_argument("--out", type=Path, default=TERRAFORM)
    ap.add_argument("--deployment", help="a deployment file (default: cloudtally.deploy.json or the registry)")
    a = ap.parse_args(argv)
    text = render_terraform(placements(deployment.load(a.deployment, root=ROOT)))
    if a.check:
        current = a.out.read_text() if a.out.exists() else ""
        if current != text:
            sys.stderr.write(f"{a.out} differs from the registry: run python -m cloudtally.providers.gcp.deploy\n")
            return 1
        return 0
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    sys.stdout.write(f"{a.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
