"""Everything one cost source knows, one package per source, and the only place its SDK is imported.

``providers/<source>/`` holds the source's client session, error mapping (SDK exception →
:class:`cloudtally.errors.ProviderError`), service taxonomy, inventory, billed-cost reader, export
format mapping and its collectors' specs. Importing a provider package imports no SDK; clients are
made when a collector runs.
"""
