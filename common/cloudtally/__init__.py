"""CloudTally: serverless FinOps on FOCUS-shaped cost records.

Importing this package imports no cloud SDK; collectors and the store import theirs lazily.
"""

__version__ = "0.1.0"
