"""Snowflake reads need Snowflake grants, not cloud IAM (see :data:`.errors.GRANT_SETTING`): no AWS/Azure/GCP
permission is exercised."""

from __future__ import annotations

GRANTS = ("IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE", "database role SNOWFLAKE.ORGANIZATION_USAGE_VIEWER",
          "USAGE on the warehouse that runs the queries")


def required(api_calls: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    return {"aws": set(), "azure": set(), "gcp": set()}
