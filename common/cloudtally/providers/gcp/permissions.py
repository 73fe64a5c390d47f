"""The predefined IAM roles each Google API method the collector calls needs.

Keys are ``<service>:<method>`` as :class:`~cloudtally.providers.gcp.session.GcpClients` counts them. The
roles are the narrowest predefined ones holding the method's permission
(https://cloud.google.com/iam/docs/understanding-roles):

* ``projects.search`` (Resource Manager v3) needs ``resourcemanager.projects.get`` and
  ``cloudbilling.projects.getBillingInfo`` is authorised by the same permission: Browser;
* ``instances.aggregatedList`` / ``disks.aggregatedList`` need ``compute.instances.list`` /
  ``compute.disks.list``: Compute Viewer;
* Cloud Asset ``assets.list`` (GKE clusters, Cloud Run services and functions, Cloud SQL, buckets) needs
  ``cloudasset.assets.listResource``: Cloud Asset Viewer;
* ``projects.timeSeries.list`` needs ``monitoring.timeSeries.list``: Monitoring Viewer;
* BigQuery ``jobs.query`` creates a job (``bigquery.jobs.create``: Job User, on the billing project) that
  reads the export table (``bigquery.tables.getData``: Data Viewer, on the billing dataset);
  ``jobs.getQueryResults`` / ``jobs.get`` read the caller's own job (Job User).

The contract compares these with the spec's declared roles: everything used declared, nothing unused.
"""

from __future__ import annotations

ROLES: dict[str, tuple[str, ...]] = {
    "cloudresourcemanager:projects.search": ("roles/browser",),
    "cloudbilling:projects.getBillingInfo": ("roles/browser",),
    "compute:instances.aggregatedList": ("roles/compute.viewer",),
    "compute:disks.aggregatedList": ("roles/compute.viewer",),
    "cloudasset:assets.list": ("roles/cloudasset.viewer",),
    "monitoring:projects.timeSeries.list": ("roles/monitoring.viewer",),
    "bigquery:jobs.query": ("roles/bigquery.jobUser", "roles/bigquery.dataViewer"),
    "bigquery:jobs.getQueryResults": ("roles/bigquery.jobUser",),
    "bigquery:jobs.get": ("roles/bigquery.jobUser",),
    # the function's own secret reads (the platform fetcher, not a collector call)
    "secretmanager:projects.secrets.versions.access": ("roles/secretmanager.secretAccessor",),
}
# roles granted on the billing export's dataset / project rather than on each inventoried project
BILLING_ROLES = ("roles/bigquery.dataViewer", "roles/bigquery.jobUser")


def role_for(service: str, operation: str) -> str | None:
    """The role(s) a method needs, as one text (for error messages)."""
    roles = ROLES.get(f"{service}:{operation}")
    return " and ".join(roles) if roles else None


def required(api_calls: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    """``{"gcp": {roles}}`` for a run summary's ``api_calls`` (``{service: {method: count}}``).

    A method without a known role is a bug in the collector (a call nobody granted), so it fails loudly."""
    out: set[str] = set()
    for svc, ops in api_calls.items():
        for op in ops:
            roles = ROLES.get(f"{svc}:{op}")
            if roles is None:
                raise KeyError(f"no role known for Google API method {svc}:{op}: add it to {__name__}.ROLES")
            out.update(roles)
    return {"aws": set(), "azure": set(), "gcp": out}
