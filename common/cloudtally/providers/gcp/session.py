"""Google Cloud REST calls over one small counting HTTP session (``requests`` + google-auth).

The collector calls the REST APIs directly rather than through the GAPIC clients: the GAPIC clients
default to gRPC (HTTP fakes and recordings do not see it) and pull grpcio/protobuf into the function
bundle. Every call is counted into the run (``ctx.count_call(service, operation)``) under the API's own
method name (``compute:instances.aggregatedList``, ``monitoring:projects.timeSeries.list`` ...), which is
what :mod:`cloudtally.providers.gcp.permissions` maps to roles.

``CLOUDTALLY_GCP_ENDPOINT`` points every API at one base URL (the local emulator of ``make up``, the
tests and the benches): ``https://compute.googleapis.com/compute/v1/...`` becomes
``<endpoint>/compute/compute/v1/...``; no credentials are used then. Otherwise credentials come from
Application Default Credentials (a function's service account, ``GOOGLE_APPLICATION_CREDENTIALS``,
``gcloud auth application-default login``).

Nothing here is imported by another provider's module, and ``google.auth`` / ``requests`` are imported
only when a session is made.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
from decimal import Decimal
from typing import Any, Callable, Iterator, Mapping

from ...errors import ConfigError

ENV_ENDPOINT = "CLOUDTALLY_GCP_ENDPOINT"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)   # BigQuery jobs need more than the read-only scope
# the public API roots (what the Google client libraries have built in); the path carries the version
API_ROOTS = {
    "compute": "https://compute.googleapis.com",
    "cloudasset": "https://cloudasset.googleapis.com",
    "cloudresourcemanager": "https://cloudresourcemanager.googleapis.com",
    "cloudbilling": "https://cloudbilling.googleapis.com",
    "monitoring": "https://monitoring.googleapis.com",
    "bigquery": "https://bigquery.googleapis.com",
    "secretmanager": "https://secretmanager.googleapis.com",
}
RETRY_STATUS = (429, 500, 502, 503, 504)


class GoogleApiError(Exception):
    """A Google API answered with an error (``{"error": {"code", "status", "message"}}``), after retries."""

    def __init__(self, http_status: int, status: str, message: str, *, service: str, operation: str,
                 reason: str | None = None, retry_after: float | None = None):
        super().__init__(f"{service}:{operation}: HTTP {http_status} {status}: {message}")
        self.http_status, self.status, self.message = http_status, status, message
        self.service, self.operation, self.reason, self.retry_after = service, operation, reason, retry_after


def endpoint_url(env: Mapping[str, str] | None = None) -> str | None:
    """The emulator base URL every API is sent to, from ``CLOUDTALLY_GCP_ENDPOINT`` (None: Google's APIs)."""
    url = (env if env is not None else os.environ).get(ENV_ENDPOINT, "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{ENV_ENDPOINT} must be an http(s) URL, got {url!r}")
    return url.rstrip("/") or None


def default_credentials() -> tuple[Any, str | None]:
    """Application Default Credentials and the project they name (the agent's auto-detected project)."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        return google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError as e:
        from ...errors import ProviderAuthError
        raise ProviderAuthError(f"no Google credentials: {e}"[:500], provider="gcp",
                                provider_code="DefaultCredentialsError",
                                setting="Application Default Credentials (the function's service account, "
                                        "GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login)"
                                ) from None


class GcpClients:
    """One HTTP session for every Google API the collector calls; counts calls into the run."""

    def __init__(self, *, session: Any = None, endpoint: str | None = None, credentials: Any = None,
                 max_attempts: int = 5, sleep: Callable[[float], None] = time.sleep, timeout_s: float = 60):
        self.endpoint = endpoint if endpoint is not None else endpoint_url()
        if session is None:
            import requests
            if self.endpoint:
                session = requests.Session()
            else:
                from google.auth.transport.requests import AuthorizedSession
                session = AuthorizedSession(credentials or default_credentials()[0])
        self.session = session
        self.max_attempts, self.sleep, self.timeout_s = max_attempts, sleep, timeout_s
        self._ctx: Any = None
        self.calls: dict[str, int] = {}
        self.bytes_billed = 0            # BigQuery totalBytesBilled of the run's queries

    def bind(self, ctx: Any) -> None:
        """Count calls into a collector run's context (``ctx.count_call``)."""
        self._ctx = ctx

    def url(self, service: str, path: str) -> str:
        root = f"{self.endpoint}/{service}" if self.endpoint else API_ROOTS[service]
        return root + path

    def _count(self, service: str, operation: str) -> None:
        key = f"{service}:{operation}"
        self.calls[key] = self.calls.get(key, 0) + 1
        if self._ctx is not None:
            self._ctx.count_call(service, operation)

    def request(self, method: str, service: str, operation: str, path: str, *,
                params: Mapping[str, Any] | None = None, body: Any = None) -> dict[str, Any]:
        """One API call (retried on 429/5xx with exponential backoff and full jitter, honouring Retry-After);
        the decoded JSON answer, or :class:`GoogleApiError`."""
        self._count(service, operation)
        url = self.url(service, path)
        for attempt in range(1, self.max_attempts + 1):
            resp = self.session.request(method, url, params=params, json=body, timeout=self.timeout_s)
            if resp.status_code < 400:   # numbers parsed exactly (utilisation, byte counts, usage)
                return json.loads(resp.content, parse_float=Decimal) if resp.content else {}
            err = _error(resp, service, operation)
            if resp.status_code not in RETRY_STATUS or attempt == self.max_attempts:
                raise err
            wait = err.retry_after if err.retry_after is not None else random.uniform(0, min(30.0, 0.5 * 2 ** attempt))
            self.sleep(min(wait, 60.0))
        raise AssertionError("unreachable")

    def get(self, service: str, operation: str, path: str, **params: Any) -> dict[str, Any]:
        return self.request("GET", service, operation, path, params={k: v for k, v in params.items() if v is not None})

    def pages(self, service: str, operation: str, path: str, *, params: Mapping[str, Any] | None = None,
              method: str = "GET", body: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every page of a list method (``pageToken`` → ``nextPageToken``)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        while True:
            page = self.request(method, service, operation, path, params=params, body=body)
            yield page
            token = page.get("nextPageToken")
            if not token:
                return
            params = {**params, "pageToken": token}


def _error(resp: Any, service: str, operation: str) -> GoogleApiError:
    try:
        doc = resp.json()
    except ValueError:
        doc = {}
    e = doc.get("error") if isinstance(doc, dict) else None
    e = e if isinstance(e, dict) else {}
    reason = next((x.get("reason") for x in e.get("errors") or [] if isinstance(x, dict) and x.get("reason")), None)
    retry_after = None
    ra = resp.headers.get("Retry-After") if hasattr(resp, "headers") else None
    if ra and ra.strip().isdigit():
        retry_after = float(ra)
    return GoogleApiError(resp.status_code, str(e.get("status") or resp.reason or resp.status_code),
                          str(e.get("message") or resp.text[:300] or "no message"), service=service,
                          operation=operation, reason=reason, retry_after=retry_after)


def read_secret(project: str, name: str, *, clients: GcpClients | None = None) -> str | None:
    """The latest version of a Secret Manager secret, as text (the function's platform fetcher); None when
    the secret does not exist (the caller's error names every place it looked)."""
    from .errors import to_provider_error
    c = clients or GcpClients()
    try:
        doc = c.get("secretmanager", "projects.secrets.versions.access",
                    f"/v1/projects/{project}/secrets/{name}/versions/latest:access")
    except GoogleApiError as e:
        if e.http_status == 404:
            return None
        raise to_provider_error(e) from e
    data = (doc.get("payload") or {}).get("data")
    if not isinstance(data, str):
        raise ConfigError(f"Secret Manager secret {name} in {project} has no payload")
    return base64.b64decode(data).decode()
