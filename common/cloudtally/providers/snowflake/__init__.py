"""Snowflake: the ``snowflake`` collector (ORGANIZATION_USAGE / ACCOUNT_USAGE views: billed credits or
currency, storage, per-warehouse and per-query attribution). snowflake-connector-python is imported only
when a connection is made."""

PROVIDER = "Snowflake"
