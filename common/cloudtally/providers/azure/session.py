"""Plain REST to Azure (ARM, Azure Monitor metrics, Cost Management, Blob storage) over ``urllib``.

The only module that talks to Azure. Every HTTP request sent — retries included — is counted at the
transport, into the run (``ctx.count_call(service, operation)``) and into :attr:`AzureHttp.calls`, so
the benchmark's "metrics calls per 1 000 VMs" is what went over the wire. ``azure-identity`` is imported
only when a token is first needed (:class:`DefaultCredential`); tests and the local emulator pass a
:class:`StaticCredential`.

Retries: HTTP 429 waits what the service asked — ``Retry-After`` or any ``x-ms-ratelimit-*-retry-after``
header (Cost Management sends ``x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after``, ``-entity-``,
``-tenant-``; the longest wins) — up to :attr:`AzureHttp.max_wait_s` a time; 5xx and network errors back off
exponentially. What is left after :attr:`AzureHttp.max_attempts` is a :class:`~cloudtally.errors.ProviderError`
(throttled, transient, auth, not found) naming what to fix.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterator

from .errors import from_http

ARM = "https://management.azure.com"
METRICS = "https://{region}.metrics.monitor.azure.com"
# token audiences (".default" scopes) per endpoint family
SCOPE_ARM = "https://management.azure.com/.default"
SCOPE_METRICS = "https://metrics.monitor.azure.com/.default"
SCOPE_STORAGE = "https://storage.azure.com/.default"
USER_AGENT = "cloudtally-azure/0.1"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; numbers with a fraction are exact :class:`~decimal.Decimal` (never float)."""
        return json.loads(self.body or b"null", parse_float=Decimal)


class StaticCredential:
    """A fixed bearer token (tests, the local emulator, a token from ``az account get-access-token``)."""

    def __init__(self, token: str):
        self.token = token

    def get_token(self, *scopes: str) -> Any:
        return _Token(self.token, int(time.time()) + 3600)


@dataclass
class _Token:
    token: str
    expires_on: int


class DefaultCredential:
    """``azure.identity.DefaultAzureCredential`` (managed identity, environment, Azure CLI ...), made on first use."""

    def __init__(self) -> None:
        self._cred: Any = None

    def get_token(self, *scopes: str) -> Any:
        if self._cred is None:
            from azure.identity import DefaultAzureCredential   # the SDK only when a token is needed
            self._cred = DefaultAzureCredential()
        return self._cred.get_token(*scopes)


@dataclass
class AzureHttp:
    """A small HTTP session: bearer tokens per audience, counted requests, 429/5xx retries, paging."""

    credential: Any
    max_attempts: int = 6
    max_wait_s: float = 60.0            # a single Retry-After longer than this fails the scope as throttled
    timeout_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    calls: Counter = field(default_factory=Counter)
    waited_s: float = 0.0
    _ctx: Any = None
    _tokens: dict[str, Any] = field(default_factory=dict)

    def bind(self, ctx: Any) -> None:
        """Count requests into a collector run's context."""
        self._ctx = ctx

    def _count(self, service: str, operation: str) -> None:
        self.calls[f"{service}:{operation}"] += 1
        if self._ctx is not None:
            self._ctx.count_call(service, operation)

    def _bearer(self, scope: str) -> str:
        tok = self._tokens.get(scope)
        if tok is None or tok.expires_on - 300 < time.time():
            tok = self._tokens[scope] = self.credential.get_token(scope)
        return tok.token

    def request(self, method: str, url: str, *, service: str, operation: str, scope: str | None = SCOPE_ARM,
                body: Any = None, headers: dict[str, str] | None = None, raw_body: bytes | None = None,
                sign: Callable[[str, str, dict[str, str], bytes], None] | None = None) -> Response:
        """Send one logical request (retried as the service asks); a non-2xx answer raises a ProviderError."""
        data = raw_body if raw_body is not None else (json.dumps(body, default=str).encode() if body is not None else None)
        attempt = 0
        while True:
            attempt += 1
            hdrs = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
            if body is not None:
                hdrs["Content-Type"] = "application/json"
            if scope is not None:
                hdrs["Authorization"] = f"Bearer {self._bearer(scope)}"
            if sign is not None:
                sign(method, url, hdrs, data or b"")
            self._count(service, operation)
            try:
                resp = self._send(method, url, hdrs, data)
            except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as e:
                if attempt >= self.max_attempts:
                    raise from_http(0, b"", {}, f"{service} {operation}: {getattr(e, 'reason', e)}") from None
                self._wait(min(2 ** attempt * 0.25, 10))
                continue
            if 200 <= resp.status < 300:
                return resp
            wait = retry_after(resp.headers)
            if resp.status == 429 and attempt < self.max_attempts and (wait or 1) <= self.max_wait_s:
                self._wait(wait if wait is not None else min(2 ** attempt, 30))
                continue
            if resp.status >= 500 and attempt < self.max_attempts:
                self._wait(wait if wait is not None else min(2 ** attempt * 0.25, 10))
                continue
            raise from_http(resp.status, resp.body, resp.headers, f"{service} {operation}", retry_after=wait)

    def _wait(self, seconds: float) -> None:
        self.waited_s += seconds
        self.sleep(seconds)

    def _send(self, method: str, url: str, headers: dict[str, str], data: bytes | None) -> Response:
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, {k.lower(): v for k, v in (e.headers or {}).items()}, e.read() or b"")

    # ------------------------------------------------------------ JSON helpers
    def get_json(self, url: str, *, service: str, operation: str, scope: str | None = SCOPE_ARM) -> Any:
        return self.request("GET", url, service=service, operation=operation, scope=scope).json()

    def pages(self, url: str, *, service: str, operation: str, key: str = "value",
              scope: str | None = SCOPE_ARM) -> Iterator[Any]:
        """The items of an ARM list, following ``nextLink`` until it is absent."""
        while url:
            doc = self.get_json(url, service=service, operation=operation, scope=scope) or {}
            yield from doc.get(key) or []
            url = doc.get("nextLink") or ""


# ---------------------------------------------------------------- helpers

def retry_after(headers: dict[str, str]) -> float | None:
    """The longest wait (seconds) the answer asks for: ``Retry-After`` and every ``x-ms-ratelimit-*-retry-after``.

    >>> retry_after({"x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "7",
    ...              "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after": "12", "retry-after": "3"})
    12.0
    """
    waits = []
    for k, v in headers.items():
        k = k.lower()
        if k == "retry-after" or (k.startswith("x-ms-ratelimit-") and k.endswith("retry-after")):
            try:
                waits.append(float(v))
            except (TypeError, ValueError):
                continue     # an HTTP-date Retry-After: the exponential backoff applies instead
    return max(waits) if waits else None


def url(base: str, path: str, **params: Any) -> str:
    """``base`` + ``path`` with query parameters (``None`` values left out)."""
    q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, safe=",:$'/")
    return f"{base.rstrip('/')}{path}" + (f"?{q}" if q else "")
