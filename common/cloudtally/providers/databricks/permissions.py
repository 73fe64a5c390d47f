"""Databricks calls need workspace privileges, not cloud IAM: the token's identity needs CAN USE on the SQL
warehouse, SELECT on ``system.billing.usage`` / ``system.billing.list_prices`` (and the account price table
when configured), and read access to clusters, jobs, warehouses and pipelines. No AWS/Azure/GCP permission
is exercised (the function's own role only reads its secrets, which every deploy grants)."""

from __future__ import annotations

WORKSPACE_PRIVILEGES = ("CAN USE on the SQL warehouse", "SELECT on system.billing.usage",
                        "SELECT on system.billing.list_prices", "CAN VIEW on clusters, jobs, SQL warehouses, pipelines")


def required(api_calls: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    return {"aws": set(), "azure": set(), "gcp": set()}
