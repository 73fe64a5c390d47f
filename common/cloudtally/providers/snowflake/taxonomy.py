"""Snowflake service types → FOCUS ServiceName / ServiceCategory / ServiceSubcategory, rating types → units.
Data only; the collector, the agent and the API read it.

>>> service("WAREHOUSE_METERING")
('Snowflake Virtual Warehouses', 'Databases', 'Data Warehouses')
>>> unit("storage"), unit("compute")
('TB-Months', 'Credits')
"""

from __future__ import annotations

SERVICES = {
    "WAREHOUSE_METERING": ("Snowflake Virtual Warehouses", "Databases", "Data Warehouses"),
    "WAREHOUSE_METERING_READER": ("Snowflake Virtual Warehouses (Reader Accounts)", "Databases", "Data Warehouses"),
    "CLOUD_SERVICES": ("Snowflake Cloud Services", "Databases", "Data Warehouses"),
    "SERVERLESS_TASK": ("Snowflake Serverless Tasks", "Compute", "Serverless Compute"),
    "PIPE": ("Snowflake Snowpipe", "Analytics", "Data Processing"),
    "SNOWPIPE_STREAMING": ("Snowflake Snowpipe Streaming", "Analytics", "Streaming Analytics"),
    "AUTO_CLUSTERING": ("Snowflake Automatic Clustering", "Databases", "Data Warehouses"),
    "MATERIALIZED_VIEW": ("Snowflake Materialized Views", "Databases", "Data Warehouses"),
    "SEARCH_OPTIMIZATION": ("Snowflake Search Optimization", "Databases", "Data Warehouses"),
    "QUERY_ACCELERATION": ("Snowflake Query Acceleration", "Databases", "Data Warehouses"),
    "REPLICATION": ("Snowflake Replication", "Storage", "Backup Storage"),
    "SNOWPARK_CONTAINER_SERVICES": ("Snowflake Snowpark Container Services", "Compute", "Containers"),
    "AI_SERVICES": ("Snowflake Cortex AI", "AI and Machine Learning", "Generative AI"),
    "STORAGE": ("Snowflake Storage", "Storage", "Other (Storage)"),
    "DATA_TRANSFER": ("Snowflake Data Transfer", "Networking", "Network Connectivity"),
}
OTHER = ("Snowflake Other", "Other", "Other (Other)")

# USAGE_IN_CURRENCY_DAILY.RATING_TYPE → FOCUS unit of USAGE (credits for compute, TB for storage and transfer)
UNITS = {"compute": "Credits", "cloud_services": "Credits", "storage": "TB-Months", "data_transfer": "TB",
         "data transfer": "TB"}
EDITIONS = ("standard", "enterprise", "business_critical")


def service(service_type: str | None, rating_type: str | None = None) -> tuple[str, str, str]:
    st = (service_type or "").upper().replace(" ", "_")
    if st in SERVICES:
        return SERVICES[st]
    rt = (rating_type or "").lower()
    if rt == "storage":
        return SERVICES["STORAGE"]
    if rt.replace(" ", "_") == "data_transfer":
        return SERVICES["DATA_TRANSFER"]
    return OTHER


def unit(rating_type: str | None) -> str:
    return UNITS.get((rating_type or "").lower(), "Credits")
