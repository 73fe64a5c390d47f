"""Google Cloud in FOCUS 1.2 terms: services, units, regions, accounts.

>>> service_categories("BigQuery"), pricing_unit("gibibyte month"), region_name("us-central1")
(('Databases', 'Data Warehouses'), 'GiB-Months', 'Iowa')
"""

from __future__ import annotations

from typing import Any

PROVIDER = "Google Cloud"
BILLING_ACCOUNT_TYPE = "Billing Account"     # the billing export's billing_account_id
SUB_ACCOUNT_TYPE = "Project"                  # project.id

# service.description (lower case) → (ServiceCategory, ServiceSubcategory)
SERVICES = {
    "compute engine": ("Compute", "Virtual Machines"), "kubernetes engine": ("Compute", "Containers"),
    "cloud run": ("Compute", "Serverless Compute"), "cloud functions": ("Compute", "Serverless Compute"),
    "app engine": ("Web", "Application Platforms"), "cloud storage": ("Storage", "Object Storage"),
    "filestore": ("Storage", "File Storage"), "cloud sql": ("Databases", "Relational Databases"),
    "cloud spanner": ("Databases", "Relational Databases"), "firestore": ("Databases", "NoSQL Databases"),
    "bigtable": ("Databases", "NoSQL Databases"), "memorystore for redis": ("Databases", "Caching"),
    "bigquery": ("Databases", "Data Warehouses"), "dataflow": ("Analytics", "Data Processing"),
    "dataproc": ("Analytics", "Data Processing"), "pub/sub": ("Integration", "Messaging"),
    "cloud pub/sub": ("Integration", "Messaging"), "networking": ("Networking", "Network Infrastructure"),
    "cloud dns": ("Networking", "Network Routing"), "cloud cdn": ("Networking", "Content Delivery"),
    "cloud load balancing": ("Networking", "Application Networking"),
    "cloud logging": ("Management and Governance", "Observability"),
    "cloud monitoring": ("Management and Governance", "Observability"),
    "vertex ai": ("AI and Machine Learning", "AI Platforms"), "secret manager": ("Security", "Secret Management"),
    "cloud key management service (kms)": ("Security", "Secret Management"),
    "artifact registry": ("Developer Tools", "Developer Platforms"),
    "cloud build": ("Developer Tools", "Continuous Integration and Deployment"),
}
# region → the location Google names it by (cloud.google.com/about/locations); multi-regions by their scope
REGIONS = {
    "us-central1": "Iowa", "us-east1": "South Carolina", "us-east4": "Northern Virginia", "us-east5": "Columbus",
    "us-west1": "Oregon", "us-west2": "Los Angeles", "us-west3": "Salt Lake City", "us-west4": "Las Vegas",
    "us-south1": "Dallas", "northamerica-northeast1": "Montréal", "northamerica-northeast2": "Toronto",
    "southamerica-east1": "São Paulo", "europe-west1": "Belgium", "europe-west2": "London",
    "europe-west3": "Frankfurt", "europe-west4": "Netherlands", "europe-west6": "Zurich", "europe-west8": "Milan",
    "europe-west9": "Paris", "europe-north1": "Finland", "europe-central2": "Warsaw", "europe-southwest1": "Madrid",
    "asia-east1": "Taiwan", "asia-east2": "Hong Kong", "asia-northeast1": "Tokyo", "asia-northeast2": "Osaka",
    "asia-northeast3": "Seoul", "asia-south1": "Mumbai", "asia-southeast1": "Singapore", "asia-southeast2": "Jakarta",
    "australia-southeast1": "Sydney", "me-west1": "Tel Aviv", "us": "United States (multi-region)",
    "eu": "European Union (multi-region)", "asia": "Asia (multi-region)", "global": "Global",
}
# usage.pricing_unit / usage.unit spellings → the FOCUS unit format
UNITS = {"hour": "Hours", "hours": "Hours", "second": "Seconds", "seconds": "Seconds", "month": "Months",
         "gibibyte": "GiB", "gibibyte hour": "GiB-Hours", "gibibyte month": "GiB-Months",
         "gibibyte second": "GiB-Seconds", "tebibyte": "TiB", "mebibyte": "MiB", "byte": "B",
         "byte-seconds": "B-Seconds", "count": "Count", "request": "Requests", "requests": "Requests"}


def service_categories(name: str | None) -> tuple[str, str] | None:
    return SERVICES.get(name.lower()) if name else None


def region_name(region_id: str | None) -> str | None:
    return REGIONS.get(region_id.lower()) if region_id else None


def pricing_unit(unit: str | None) -> str | None:
    return UNITS.get(unit.lower(), unit) if unit else unit


def complete(v: dict[str, Any]) -> None:
    """Google Cloud knowledge for one record (in place)."""
    cats = service_categories(v.get("ServiceName"))
    if cats is not None:
        v["ServiceCategory"], v["ServiceSubcategory"] = cats
    if v.get("RegionId") and not v.get("RegionName"):
        name = region_name(v["RegionId"])
        if name:
            v["RegionName"] = name
    for k in ("PricingUnit", "ConsumedUnit"):
        if v.get(k):
            v[k] = pricing_unit(v[k])
    if not v.get("BillingAccountType"):
        v["BillingAccountType"] = BILLING_ACCOUNT_TYPE
    if v.get("SubAccountId") and not v.get("SubAccountType"):
        v["SubAccountType"] = SUB_ACCOUNT_TYPE
