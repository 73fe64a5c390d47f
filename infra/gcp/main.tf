# Generated from the collector registry by `python -m cloudtally.providers.gcp.deploy`: do not edit.
# Deploy: scripts/build_gcp_functions.py --zip, then terraform init && terraform apply (README: Google Cloud).

terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

variable "project_id" {
  type        = string
  description = "project the functions, topics, jobs and secrets live in"
}

variable "region" {
  type        = string
  description = "region of the functions and Scheduler jobs"
  default     = "us-central1"
}

variable "api_url" {
  type        = string
  description = "the CloudTally API URL the collectors post to"
}

variable "source_archive" {
  type        = string
  description = "the bundle scripts/build_gcp_functions.py --zip writes"
  default     = "../../build/gcp/source.zip"
}

variable "scheduler_target" {
  type        = string
  description = "pubsub: Scheduler \u2192 Pub/Sub \u2192 Eventarc; http: Scheduler \u2192 HTTPS with OIDC"
  default     = "pubsub"
  validation {
    condition     = contains(["pubsub", "http"], var.scheduler_target)
    error_message = "scheduler_target is pubsub or http."
  }
}

variable "monitored_projects" {
  type        = list(string)
  description = "projects the collectors' roles are granted on"
  default     = []
}

variable "organization_id" {
  type        = string
  description = "grant the roles on this organization instead of each project"
  default     = ""
}

variable "billing_export_project" {
  type        = string
  description = "project of the BigQuery billing export (Job User there)"
  default     = ""
}

variable "billing_export_dataset" {
  type        = string
  description = "dataset of the billing export (Data Viewer on it)"
  default     = ""
}

variable "python_runtime" {
  type        = string
  description = "Cloud Functions runtime"
  default     = "python312"
}

locals {
  pubsub = var.scheduler_target == "pubsub"
  org    = var.organization_id != ""
}

resource "google_project_service" "apis" {
  for_each           = toset(["cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com", "eventarc.googleapis.com", "pubsub.googleapis.com", "cloudscheduler.googleapis.com", "secretmanager.googleapis.com", "iam.googleapis.com"])
  service            = each.value
  disable_on_destroy = false
}

# invokes the functions: Eventarc triggers (Pub/Sub) and Scheduler HTTP targets (OIDC tokens)
resource "google_service_account" "invoker" {
  account_id   = "cloudtally-invoker"
  display_name = "CloudTally: invokes the collector functions"
}

resource "google_storage_bucket" "source" {
  name                        = "${var.project_id}-cloudtally-functions"
  location                    = var.region
  uniform_bucket_level_access = true
  force_destroy               = true
}

resource "google_storage_bucket_object" "source" {
  name   = "cloudtally-functions-${filemd5(var.source_archive)}.zip"
  bucket = google_storage_bucket.source.name
  source = var.source_archive
}

resource "google_secret_manager_secret" "secret_ingest_api_key" {
  secret_id = "cloudtally-ingest-api-key"
  labels    = { cloudtally = "collector" }
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

# ---- collector gcp: Compute Engine (machine types incl. custom, GPUs, Spot, disks), GKE, Cloud Run and Cloud F
resource "google_service_account" "collector_gcp" {
  account_id   = "ct-gcp"
  display_name = "CloudTally collector gcp"
}

resource "google_pubsub_topic" "collector_gcp" {
  name       = "cloudtally-collector-gcp"
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "secret_ingest_api_key_gcp" {
  secret_id = google_secret_manager_secret.secret_ingest_api_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_project_iam_member" "collector_gcp_browser" {
  for_each = local.org ? toset([]) : toset(var.monitored_projects)
  project  = each.value
  role     = "roles/browser"
  member   = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_organization_iam_member" "collector_gcp_browser" {
  count  = local.org ? 1 : 0
  org_id = var.organization_id
  role   = "roles/browser"
  member = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_project_iam_member" "collector_gcp_compute_viewer" {
  for_each = local.org ? toset([]) : toset(var.monitored_projects)
  project  = each.value
  role     = "roles/compute.viewer"
  member   = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_organization_iam_member" "collector_gcp_compute_viewer" {
  count  = local.org ? 1 : 0
  org_id = var.organization_id
  role   = "roles/compute.viewer"
  member = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_project_iam_member" "collector_gcp_cloudasset_viewer" {
  for_each = local.org ? toset([]) : toset(var.monitored_projects)
  project  = each.value
  role     = "roles/cloudasset.viewer"
  member   = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_organization_iam_member" "collector_gcp_cloudasset_viewer" {
  count  = local.org ? 1 : 0
  org_id = var.organization_id
  role   = "roles/cloudasset.viewer"
  member = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_project_iam_member" "collector_gcp_monitoring_viewer" {
  for_each = local.org ? toset([]) : toset(var.monitored_projects)
  project  = each.value
  role     = "roles/monitoring.viewer"
  member   = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_organization_iam_member" "collector_gcp_monitoring_viewer" {
  count  = local.org ? 1 : 0
  org_id = var.organization_id
  role   = "roles/monitoring.viewer"
  member = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_bigquery_dataset_iam_member" "collector_gcp_billing_data_viewer" {
  count      = var.billing_export_dataset != "" ? 1 : 0
  project    = var.billing_export_project
  dataset_id = var.billing_export_dataset
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_project_iam_member" "collector_gcp_billing_job_user" {
  count   = var.billing_export_project != "" ? 1 : 0
  project = var.billing_export_project
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.collector_gcp.email}"
}

resource "google_cloudfunctions2_function" "collector_gcp" {
  name     = "cloudtally-collector-gcp"
  location = var.region
  build_config {
    runtime     = var.python_runtime
    entry_point = local.pubsub ? "collect_gcp" : "collect_gcp_http"
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }
  service_config {
    available_memory      = "1024M"
    timeout_seconds       = 540
    max_instance_count    = 1
    service_account_email = google_service_account.collector_gcp.email
    environment_variables = {
      CLOUDTALLY_API_URL = var.api_url
      CLOUDTALLY_COLLECTOR = "gcp"
      CLOUDTALLY_COLLECTOR_CONFIG = "{}"
      CLOUDTALLY_GCP_SECRET_PROJECT = var.project_id
    }
    secret_environment_variables {
      key        = "CLOUDTALLY_SECRET_INGEST_API_KEY"
      project_id = var.project_id
      secret     = google_secret_manager_secret.secret_ingest_api_key.secret_id
      version    = "latest"
    }
  }
  dynamic "event_trigger" {
    for_each = local.pubsub ? [1] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = google_pubsub_topic.collector_gcp.id
      retry_policy          = "RETRY_POLICY_DO_NOT_RETRY"
      service_account_email = google_service_account.invoker.email
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_cloud_run_service_iam_member" "collector_gcp_invoker" {
  location = var.region
  service  = google_cloudfunctions2_function.collector_gcp.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

resource "google_cloud_scheduler_job" "collector_gcp" {
  name      = "cloudtally-collector-gcp"
  region    = var.region
  schedule  = "0 * * * *"
  time_zone = "Etc/UTC"
  dynamic "pubsub_target" {
    for_each = local.pubsub ? [1] : []
    content {
      topic_name = google_pubsub_topic.collector_gcp.id
      data       = base64encode(jsonencode({ collector = "gcp" }))
      attributes = { collector = "gcp" }
    }
  }
  dynamic "http_target" {
    for_each = local.pubsub ? [] : [1]
    content {
      uri         = google_cloudfunctions2_function.collector_gcp.service_config[0].uri
      http_method = "POST"
      body        = base64encode(jsonencode({ collector = "gcp" }))
      headers     = { "Content-Type" = "application/json" }
      oidc_token {
        service_account_email = google_service_account.invoker.email
        audience              = google_cloudfunctions2_function.collector_gcp.service_config[0].uri
      }
    }
  }
  depends_on = [google_project_service.apis]
}
