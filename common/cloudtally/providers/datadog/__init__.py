"""Datadog: v2 usage metering (estimated_cost, historical_cost, hourly_usage) on the configured site.
REST API over the standard library's HTTP client; no SDK."""

PROVIDER = "Datadog"
