"""Databricks SKUs → FOCUS ServiceName / ServiceCategory / ServiceSubcategory, the OpenFinOps hub's cost
category, and the catalog's SKU family; usage units in the FOCUS unit format. Data only: the collector,
the agent and the API read the same table.

A SKU name is ``<TIER>_<FAMILY>[_(PHOTON)][_<REGION>]`` (``PREMIUM_JOBS_COMPUTE``,
``ENTERPRISE_ALL_PURPOSE_COMPUTE_(PHOTON)``, ``PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST_N_VIRGINIA``).

>>> classify("PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST_N_VIRGINIA").category
'sql'
>>> classify("ENTERPRISE_ALL_PURPOSE_COMPUTE_(PHOTON)").sku_family, classify("ENTERPRISE_ALL_PURPOSE_COMPUTE_(PHOTON)").tier
('ALL_PURPOSE_COMPUTE', 'ENTERPRISE')
>>> classify("PREMIUM_JOBS_SERVERLESS_COMPUTE_EU_IRELAND").service_name
'Databricks Serverless Compute'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TIERS = ("STANDARD", "PREMIUM", "ENTERPRISE")


@dataclass(frozen=True)
class Sku:
    sku: str
    tier: str | None
    sku_family: str          # the catalog key: the SKU without tier, photon and region
    category: str            # the OpenFinOps hub's key: all_purpose, jobs, sql, dlt, model_serving, serverless, ...
    service_name: str
    service_category: str
    service_subcategory: str
    photon: bool


# (pattern on the SKU family, hub category, ServiceName, ServiceCategory, ServiceSubcategory); first match wins
_FAMILIES: tuple[tuple[str, str, str, str, str], ...] = (
    (r"^SERVERLESS_SQL_COMPUTE", "sql", "Databricks SQL Serverless", "Databases", "Data Warehouses"),
    (r"^SQL_PRO_COMPUTE", "sql", "Databricks SQL Pro", "Databases", "Data Warehouses"),
    (r"^SQL_COMPUTE", "sql", "Databricks SQL Classic", "Databases", "Data Warehouses"),
    (r"^(DLT|DELTA_LIVE_TABLES)_", "dlt", "Databricks Declarative Pipelines (Delta Live Tables)", "Analytics",
     "Data Processing"),
    (r"(REAL_TIME_INFERENCE|MODEL_SERVING|FOUNDATION_MODEL|MODEL_TRAINING|VECTOR_SEARCH|_AI_)", "model_serving",
     "Databricks Model Serving", "AI and Machine Learning", "Machine Learning"),
    (r"^(JOBS_SERVERLESS|ALL_PURPOSE_SERVERLESS|INTERACTIVE_SERVERLESS|SERVERLESS)", "serverless",
     "Databricks Serverless Compute", "Compute", "Serverless Compute"),
    (r"^JOBS_", "jobs", "Databricks Jobs Compute", "Analytics", "Data Processing"),
    (r"^ALL_PURPOSE_", "all_purpose", "Databricks All-Purpose Compute", "Analytics", "Data Processing"),
    (r"STORAGE", "storage", "Databricks Storage", "Storage", "Other (Storage)"),
    (r"(NETWORK|CONNECTIVITY|DATA_TRANSFER|EGRESS)", "networking", "Databricks Networking", "Networking",
     "Other (Networking)"),
)
_OTHER = ("other", "Databricks Other", "Other", "Other (Other)")

# The region suffixes of serverless SKUs: anything after the family's own words
_FAMILY_END = re.compile(r"^(.*?_COMPUTE|.*?_INFERENCE|.*?_SERVING|.*?_STORAGE|.*?_TRAINING|.*?_SEARCH)(?:_.*)?$")

# usage_unit → FOCUS PricingUnit / ConsumedUnit
UNITS = {"DBU": "DBU", "DBUS": "DBU", "GB": "GB", "GIB": "GB", "HOUR": "Hours", "HOURS": "Hours",
         "TOKEN": "Tokens", "TOKENS": "Tokens", "GPU_HOUR": "GPU-Hours", "API_CALL": "Requests",
         "REQUEST": "Requests", "BYTE": "Bytes", "GB_MONTH": "GB-Months"}

CLOUD_REGION_NAMES = {"AWS": "Amazon Web Services", "AZURE": "Microsoft Azure", "GCP": "Google Cloud"}


def classify(sku: str) -> Sku:
    """The taxonomy entry of ``sku`` (any string: an unknown family is ``other``, never an error)."""
    s = (sku or "").strip().upper()
    tier = next((t for t in TIERS if s.startswith(t + "_")), None)
    rest = s[len(tier) + 1:] if tier else s
    photon = "_(PHOTON)" in rest
    rest = rest.replace("_(PHOTON)", "")
    m = _FAMILY_END.match(rest)
    family = m.group(1) if m else rest
    for pattern, cat, name, svc_cat, sub in _FAMILIES:
        if re.search(pattern, family):
            return Sku(s, tier, family, cat, name, svc_cat, sub, photon)
    return Sku(s, tier, family, *_OTHER, photon)


def unit(usage_unit: str | None) -> str:
    u = (usage_unit or "").strip()
    return UNITS.get(u.upper(), u or "Units")


def cloud_of_host(host: str) -> str:
    """AWS / AZURE / GCP from a workspace URL (``*.cloud.databricks.com``, ``*.azuredatabricks.net``,
    ``*.gcp.databricks.com``); AWS when it cannot tell (the catalog's own default)."""
    h = (host or "").lower()
    if "azuredatabricks.net" in h:
        return "AZURE"
    if ".gcp.databricks.com" in h:
        return "GCP"
    return "AWS"


# the hub's category keys (``GET /v1/platforms/databricks/costs-by-category``), in display order
CATEGORIES = ("all_purpose", "jobs", "sql", "dlt", "model_serving", "serverless", "storage", "networking", "other")
SERVICE_CATEGORY_KEY = {name: cat for _, cat, name, _, _ in _FAMILIES} | {_OTHER[1]: _OTHER[0]}
