"""Oracle Cloud (OCI) in FOCUS 1.2 terms: services, regions, accounts.

>>> service_categories("BLOCK_STORAGE"), region_name("us-sanjose-1")
(('Storage', 'Block Storage'), 'US West (San Jose)')
"""

from __future__ import annotations

from typing import Any

PROVIDER = "Oracle"
BILLING_ACCOUNT_TYPE = "Tenancy"          # lineItem/tenantId
SUB_ACCOUNT_TYPE = "Compartment"          # product/compartmentId

SERVICES = {
    "compute": ("Compute", "Virtual Machines"), "block_storage": ("Storage", "Block Storage"),
    "object_storage": ("Storage", "Object Storage"), "file_storage": ("Storage", "File Storage"),
    "network": ("Networking", "Network Infrastructure"), "database": ("Databases", "Relational Databases"),
    "autonomous_database": ("Databases", "Relational Databases"), "oke": ("Compute", "Containers"),
    "functions": ("Compute", "Serverless Compute"), "logging": ("Management and Governance", "Observability"),
    "monitoring": ("Management and Governance", "Observability"),
}
# OCI region identifiers → their names (docs.oracle.com, "Regions and Availability Domains")
REGIONS = {
    "us-ashburn-1": "US East (Ashburn)", "us-phoenix-1": "US West (Phoenix)", "us-sanjose-1": "US West (San Jose)",
    "us-chicago-1": "US Midwest (Chicago)", "ca-toronto-1": "Canada Southeast (Toronto)",
    "ca-montreal-1": "Canada Southeast (Montreal)", "eu-frankfurt-1": "Germany Central (Frankfurt)",
    "eu-amsterdam-1": "Netherlands Northwest (Amsterdam)", "uk-london-1": "UK South (London)",
    "eu-zurich-1": "Switzerland North (Zurich)", "eu-paris-1": "France Central (Paris)",
    "ap-tokyo-1": "Japan East (Tokyo)", "ap-osaka-1": "Japan Central (Osaka)", "ap-sydney-1": "Australia East (Sydney)",
    "ap-mumbai-1": "India West (Mumbai)", "ap-singapore-1": "Singapore (Singapore)", "sa-saopaulo-1": "Brazil East (Sao Paulo)",
}


def service_categories(name: str | None) -> tuple[str, str] | None:
    return SERVICES.get(name.lower()) if name else None


def region_name(region_id: str | None) -> str | None:
    return REGIONS.get(region_id.lower()) if region_id else None


def complete(v: dict[str, Any]) -> None:
    """OCI knowledge for one record (in place): :func:`cloudtally.providers.fill`. A region identifier
    found in RegionName (as some FOCUS files write it) is the record's RegionId."""
    from .. import fill
    if not v.get("RegionId") and region_name(v.get("RegionName")):
        v["RegionId"] = v["RegionName"]
        v["RegionName"] = region_name(v["RegionId"])
    fill(v, billing_account_type=BILLING_ACCOUNT_TYPE, sub_account_type=SUB_ACCOUNT_TYPE,
         categories=service_categories, region_name=region_name)
