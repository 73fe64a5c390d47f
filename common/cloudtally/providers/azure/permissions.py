"""The Azure built-in roles the calls of a run need (the session counts calls as ``<service>:<operation>``).

* ARM reads (``arm:*``: subscriptions, VMs, scale sets, disks, AKS, sites, plans, SQL, storage accounts)
  → **Reader**;
* Azure Monitor ``metrics:getBatch`` (``monitor:*``) → **Monitoring Reader** (Reader covers ARM's metrics
  route, not the regional metrics data plane);
* Cost Management ``query`` (``costmanagement:*``) → **Cost Management Reader** (Reader's ``*/read`` does not
  include the query action);
* Blob reads of an export container (``blob:*``) → **Storage Blob Data Reader** (data plane).

The collector contract compares these with the roles a spec declares, and the Azure deployment template
assigns exactly the declared roles to the function's managed identity.
"""

from __future__ import annotations

ROLES = {"arm": "Reader", "monitor": "Monitoring Reader", "costmanagement": "Cost Management Reader",
         "blob": "Storage Blob Data Reader"}


def role(service: str) -> str:
    """The role for a counted service; an unknown service is returned as-is, so the contract reports it."""
    return ROLES.get(service, f"unknown service {service!r}")


def required(api_calls: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    """``{"azure": {role names}}`` for a run summary's ``api_calls`` (``{service: {operation: count}}``)."""
    return {"azure": {role(svc) for svc, ops in api_calls.items() if ops}}
