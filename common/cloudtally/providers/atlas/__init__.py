"""MongoDB Atlas: invoices and the pending invoice's line items (billed), cluster inventory × catalog
(today's estimate). Admin API v2 over the standard library's HTTP client; no SDK."""

PROVIDER = "MongoDB Atlas"
