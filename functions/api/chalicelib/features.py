"""Feature route modules beyond the core; each defines ``register(app)``. Add one line per feature."""

import importlib

FEATURES: list[str] = [
    "chalicelib.dashboard",
    "chalicelib.budgets",
    "chalicelib.export",
]


def register_all(app) -> None:
    for name in FEATURES:
        importlib.import_module(name).register(app)
