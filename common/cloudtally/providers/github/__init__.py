"""GitHub: the enhanced billing platform's usage report (Actions, Packages, storage, Copilot) as billed
records. REST API over the standard library's HTTP client; no SDK."""

PROVIDER = "GitHub"
