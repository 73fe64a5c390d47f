"""Databricks: the ``databricks`` collector (``system.billing.usage`` × ``system.billing.list_prices`` through
the Statement Execution API; clusters, jobs, SQL warehouses and pipelines through the SDK). databricks-sdk is
imported only when clients are made."""

PROVIDER = "Databricks"
