"""Collectors: one module per source, each declared by a :class:`~.registry.CollectorSpec`."""
