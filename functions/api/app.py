"""CloudTally API on API Gateway + Lambda: the route table (cloudtally.api.routes) on one Chalice app.
Every operation lives in cloudtally.api; this file only names the app for Chalice."""

from cloudtally.api.chalice_app import build_app

app = build_app()
