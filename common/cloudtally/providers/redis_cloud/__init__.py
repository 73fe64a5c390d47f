"""Redis Cloud: the FOCUS cost report (billed) when the account has it, else subscription pricing × hours
(estimates). REST API v1 over the standard library's HTTP client; no SDK."""

PROVIDER = "Redis Cloud"
