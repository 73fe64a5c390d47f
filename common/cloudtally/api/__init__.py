"""Framework-free API logic: the Chalice app (functions/api/app.py) only routes to these calls."""
