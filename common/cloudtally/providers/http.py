"""One small JSON-over-HTTPS client for the SaaS vendors' REST APIs (Atlas, Redis Cloud, GitHub, Datadog).

Standard library only (``urllib``), so a collector imports nothing it does not need. Each request is
counted into the run (``ctx.count_call(vendor, operation)``: the contract and the benches read
``summary["api_calls"]``), numbers are parsed as :class:`~decimal.Decimal` (amounts stay exact), and the
vendor's answers map onto the :class:`~cloudtally.errors.ProviderError` family here, once:

* 429 (and 403/503 with ``Retry-After`` or an exhausted rate-limit header) waits what the vendor asked
  (``Retry-After`` seconds or date, ``X-RateLimit-Reset`` / ``x-ratelimit-reset``), capped by the
  collector's ``max_wait_s``, at most ``max_retries`` times, then :class:`ProviderThrottled`;
* 401/403 → :class:`ProviderAuthError` naming the vendor and the setting to fix (``auth_setting``);
* 404 → :class:`ProviderNotFound`; 5xx and network failures → retried, then :class:`ProviderTransient`.

HTTP Digest (Atlas API keys) is computed here (RFC 7616, MD5, ``qop=auth``) so that each round trip is
counted and throttling applies to it like to any request.

>>> parse_retry_after("7", now=0.0), parse_retry_after(None, now=0.0)
(7.0, None)
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Mapping

from ..errors import ProviderAuthError, ProviderError, ProviderNotFound, ProviderThrottled, ProviderTransient

USER_AGENT = "cloudtally-collector/0.1"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def json_loads(raw: bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal (vendors send amounts as JSON numbers)."""
    return json.loads(raw or b"null", parse_float=Decimal) if raw.strip() else None


def _json_default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: Any
    url: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name) if self.headers is not None else None


@dataclass
class Digest:
    """HTTP Digest credentials (Atlas programmatic API keys: public key = user, private key = password)."""

    username: str
    password: str
    _challenge: dict[str, str] | None = None
    _nc: int = 0

    def header(self, method: str, url: str) -> str | None:
        c = self._challenge
        if c is None:
            return None
        self._nc += 1
        uri = urllib.parse.urlsplit(url)
        path = uri.path + (f"?{uri.query}" if uri.query else "")
        nc = f"{self._nc:08x}"
        cnonce = hashlib.md5(f"{self._nc}:{c['nonce']}:{os.urandom(8).hex()}".encode()).hexdigest()[:16]
        ha1 = hashlib.md5(f"{self.username}:{c['realm']}:{self.password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"{method}:{path}".encode()).hexdigest()
        resp = hashlib.md5(f"{ha1}:{c['nonce']}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
        parts = [f'username="{self.username}"', f'realm="{c["realm"]}"', f'nonce="{c["nonce"]}"', f'uri="{path}"',
                 'qop=auth', f"nc={nc}", f'cnonce="{cnonce}"', f'response="{resp}"', 'algorithm=MD5']
        if c.get("opaque"):
            parts.append(f'opaque="{c["opaque"]}"')
        return "Digest " + ", ".join(parts)

    def challenge(self, www_authenticate: str | None) -> bool:
        """Take a ``WWW-Authenticate: Digest ...`` challenge; False if there is none (or the nonce is not stale
        and we already answered one: the credentials are wrong)."""
        if not www_authenticate or not www_authenticate.lower().startswith("digest"):
            return False
        fields = parse_auth_params(www_authenticate[6:])
        if "nonce" not in fields or "realm" not in fields:
            return False
        fresh = self._challenge is None or fields.get("stale", "").lower() == "true"
        self._challenge, self._nc = fields, 0
        return fresh


def parse_auth_params(text: str) -> dict[str, str]:
    """``a="x", b=y`` → ``{"a": "x", "b": "y"}`` (a WWW-Authenticate / Authorization parameter list)."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,":
            i += 1
        j = text.find("=", i)
        if j < 0:
            break
        key = text[i:j].strip().lower()
        i = j + 1
        if i < n and text[i] == '"':
            j = text.find('"', i + 1)
            j = n if j < 0 else j
            out[key] = text[i + 1:j]
            i = j + 1
        else:
            j = text.find(",", i)
            j = n if j < 0 else j
            out[key] = text[i:j].strip()
            i = j
    return out


@dataclass
class HttpClient:
    """A vendor's REST API: base URL, default headers, credentials, back-off within the vendor's limits."""

    vendor: str                                   # "atlas", "redis-cloud", "github", "datadog" (errors, counts)
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    auth_setting: str = ""                        # what to fix on a 401/403 (secret / env var names)
    digest: Digest | None = None
    bearer: Callable[["HttpClient"], str] | None = None     # returns a token (OAuth client credentials)
    max_retries: int = 4
    max_wait_s: float = 60.0                      # never sleep longer than this for one retry
    default_wait_s: float = 1.0                   # a 429 that names no wait
    timeout_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0
    waits: list[float] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)   # every path requested (tests assert on it)
    _ctx: Any = None
    _token: str | None = None

    def bind(self, ctx: Any) -> None:
        self._ctx = ctx

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        url = path if path.startswith(("http://", "https://")) else self.base_url.rstrip("/") + path
        if params:
            q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
            url += ("&" if "?" in url else "?") + q
        return url

    def _count(self, operation: str) -> None:
        self.requests += 1
        if self._ctx is not None:
            self._ctx.count_call(self.vendor, operation)

    def request(self, method: str, path: str, *, operation: str, params: Mapping[str, Any] | None = None,
                body: Any = None, form: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                ok: tuple[int, ...] = (200, 201, 202), auth: bool = True) -> Response:
        """One API operation, retried on throttling and transient failures; raises a ProviderError."""
        url = self.url(path, params)
        data = None
        hdrs = {"User-Agent": USER_AGENT, **self.headers, **(headers or {})}
        if body is not None:
            data = json.dumps(body, default=_json_default).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        attempt = 0
        digest_retry = True
        token_retry = True
        while True:
            h = dict(hdrs)
            if auth and self.bearer is not None:
                if self._token is None:
                    self._token = self.bearer(self)
                h["Authorization"] = f"Bearer {self._token}"
            if auth and self.digest is not None:
                dh = self.digest.header(method, url)
                if dh:
                    h["Authorization"] = dh
            self._count(operation)
            self.paths.append(urllib.parse.urlsplit(url).path)
            status, rh, raw = self._send(method, url, data, h)
            if status in ok:
                return Response(status, rh, json_loads(raw), url)
            if status == 401 and auth and self.digest is not None and digest_retry \
                    and self.digest.challenge(rh.get("WWW-Authenticate")):
                digest_retry = False
                continue
            if status == 401 and auth and self.bearer is not None and token_retry and self._token is not None:
                token_retry, self._token = False, None      # an expired token: fetch a new one once
                continue
            wait = self._throttle_wait(status, rh)
            if wait is not None or status in (500, 502, 503, 504):
                if attempt < self.max_retries:
                    attempt += 1
                    delay = min(self.max_wait_s, wait if wait is not None else self.default_wait_s * 2 ** (attempt - 1))
                    self.waits.append(delay)
                    self.sleep(delay)
                    continue
            raise self.error(status, rh, raw, operation, wait)

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]
              ) -> tuple[int, Mapping[str, str], bytes]:
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as e:
            raise ProviderTransient(f"{self.vendor} API unreachable at {urllib.parse.urlsplit(url).netloc}: "
                                    f"{getattr(e, 'reason', e)}"[:500], provider=self.vendor,
                                    provider_code=type(e).__name__) from None

    @staticmethod
    def _throttle_wait(status: int, headers: Mapping[str, str]) -> float | None:
        """Seconds the vendor asked to wait when this answer is a throttle, else None."""
        retry_after = parse_retry_after(headers.get("Retry-After"))
        remaining = headers.get("X-RateLimit-Remaining") or headers.get("x-ratelimit-remaining")
        reset = headers.get("X-RateLimit-Reset") or headers.get("x-ratelimit-reset")
        if status == 429 or (status in (403, 503) and (retry_after is not None or remaining == "0")):
            if retry_after is not None:
                return retry_after
            if reset:
                try:
                    r = float(reset)
                except ValueError:
                    return 1.0
                # GitHub sends an epoch second; Datadog the seconds until the window resets
                return max(0.0, r - time.time()) if r > 1e9 else r
            return 1.0 if status == 429 else None
        return None

    def error(self, status: int, headers: Mapping[str, str], raw: bytes, operation: str,
              wait: float | None) -> ProviderError:
        detail = _detail(raw)
        msg = f"{self.vendor} {operation}: HTTP {status}" + (f": {detail}" if detail else "")
        kw = {"provider": self.vendor, "provider_code": _code(raw) or str(status)}
        if wait is not None:
            return ProviderThrottled(f"{msg} (still rate limited after {self.max_retries} retries)"[:500],
                                     retry_after=wait, **kw)
        if status in (401, 403):
            return ProviderAuthError(f"{msg}; check {self.auth_setting}"[:500], setting=self.auth_setting, **kw)
        if status == 404:
            return ProviderNotFound(msg[:500], **kw)
        if status >= 500:
            return ProviderTransient(msg[:500], **kw)
        return ProviderError(msg[:500], **kw)

    def pages(self, path: str, *, operation: str, params: Mapping[str, Any] | None = None,
              next_of: Callable[[Response, dict[str, Any]], dict[str, Any] | str | None],
              items_of: Callable[[Any], list[Any]], max_pages: int = 1000, headers: Mapping[str, str] | None = None):
        """Every item of a paged list: ``next_of(response, params)`` gives the next page's params (or URL),
        None at the end."""
        p: dict[str, Any] | str | None = dict(params or {})
        for _ in range(max_pages):
            if isinstance(p, str):
                resp = self.request("GET", p, operation=operation, headers=headers)
            else:
                resp = self.request("GET", path, operation=operation, params=p, headers=headers)
            yield from items_of(resp.body)
            p = next_of(resp, p if isinstance(p, dict) else {})
            if not p:
                return
        raise ProviderError(f"{self.vendor} {operation}: more than {max_pages} pages", provider=self.vendor)


class VendorClients:
    """A SaaS collector's clients: its one :class:`HttpClient` (``clients.http``), bound to the run so every
    request is counted in it."""

    def __init__(self, http: Any):
        self.http = http

    def bind(self, ctx: Any) -> None:
        self.http.bind(ctx)


def _detail(raw: bytes) -> str:
    try:
        doc = json.loads(raw or b"null")
    except ValueError:
        return raw[:200].decode("utf-8", "replace").strip()
    if isinstance(doc, dict):
        for k in ("detail", "message", "error_description", "description"):
            if isinstance(doc.get(k), str):
                return doc[k][:300]
        errs = doc.get("errors")
        if isinstance(errs, list) and errs:
            return "; ".join(str(e.get("detail", e) if isinstance(e, dict) else e) for e in errs[:3])[:300]
        if isinstance(doc.get("error"), str):
            return doc["error"][:300]
    return ""


def _code(raw: bytes) -> str | None:
    try:
        doc = json.loads(raw or b"null")
    except ValueError:
        return None
    if isinstance(doc, dict):
        for k in ("errorCode", "code", "error_code"):
            if isinstance(doc.get(k), str):
                return doc[k][:64]
    return None


def link_next(resp: Response, _params: dict[str, Any]) -> str | None:
    """The ``rel="next"`` URL of an RFC 8288 ``Link`` header (GitHub's pagination)."""
    link = resp.header("Link") or resp.header("link") or ""
    for part in link.split(","):
        if 'rel="next"' in part:
            url = part.split(";", 1)[0].strip()
            return url[1:-1] if url.startswith("<") and url.endswith(">") else url
    return None


def to_provider_error(e: BaseException) -> ProviderError | None:
    """``CollectorSpec.errors`` of the SaaS collectors: the standard library's network failures."""
    if isinstance(e, (urllib.error.URLError, socket.timeout)):
        return ProviderTransient(f"{type(e).__name__}: {getattr(e, 'reason', e)}"[:500], provider_code=type(e).__name__)
    return None


def no_cloud_permissions(api_calls: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    """The SaaS vendors are reached with their own credentials (from the secret store): no cloud IAM."""
    return {"aws": set(), "azure": set(), "gcp": set()}
