"""Ingest/query client for the CloudTally API: batching, gzip, retries with backoff and jitter.

>>> c = Client("http://localhost:8080", "ctk_x", "cts_y")   # doctest: +SKIP
>>> c.send_records(records)                                   # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import (AuthError, CloudTallyError, ConfigError, Conflict, NotFound, PayloadTooLarge, ProviderError,
                     ValidationError)
from .focus import CostRecord
from .money import dumps, loads

log = logging.getLogger("cloudtally.client")
RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass
class SendResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    spooled: int = 0      # records written to the disk spool because the API stayed unreachable
    unspooled: int = 0    # spooled records delivered by this call


class Client:
    def __init__(self, api_url: str, key_id: str, key_secret: str, *, batch_size: int = 1000, timeout: float = 30.0,
                 max_attempts: int = 6, base_delay: float = 0.5, max_delay: float = 20.0, gzip_min_bytes: int = 2048,
                 spool_dir: str | Path | None = None):
        if not api_url:
            raise ValidationError("API URL is required (CLOUDTALLY_API_URL or --api-url)")
        parts = urllib.parse.urlsplit(api_url)
        if parts.username is not None:   # https://ID:SECRET@host: the key travels in the URL (OpenFinOps agents)
            key_id = key_id or urllib.parse.unquote(parts.username)
            key_secret = key_secret or urllib.parse.unquote(parts.password or "")
            host = parts.hostname + (f":{parts.port}" if parts.port else "")
            api_url = urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
        self.api_url = api_url.rstrip("/")
        self.key_id = key_id
        self._secret = key_secret
        self.batch_size = batch_size
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.gzip_min_bytes = gzip_min_bytes
        self.spool_dir = Path(spool_dir) if spool_dir else None
        self.sleep = time.sleep

    def __repr__(self) -> str:  # never the secret
        return f"Client({self.api_url!r}, key_id={self.key_id!r}, key_secret='***')"

    def _headers(self) -> dict[str, str]:
        return {"X-CloudTally-Key-Id": self.key_id, "X-CloudTally-Key-Secret": self._secret,
                "Accept": "application/json", "User-Agent": "cloudtally-client/0.1"}

    def request(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
                raw: bytes | None = None, content_type: str = "application/json") -> tuple[Any, int]:
        """One API call with retries on 429/5xx/timeouts; returns (decoded JSON, retries)."""
        url = self.api_url + path
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v not in (None, "")}, doseq=True)
        headers = self._headers()
        data = raw
        if body is not None:
            data = dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = content_type
            if len(data) >= self.gzip_min_bytes:
                data = gzip.compress(data, 5)
                headers["Content-Encoding"] = "gzip"
        retries = 0
        for attempt in range(self.max_attempts):
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return loads(resp.read() or b"null"), retries
            except urllib.error.HTTPError as e:
                payload = e.read()
                if e.code in RETRY_STATUS and attempt < self.max_attempts - 1:
                    retries += 1
                    self._wait(attempt, e.headers.get("Retry-After"))
                    continue
                err = _error_of(payload)
                if e.code in (401, 403):
                    raise AuthError(err.get("message", "unauthorized"), code=err.get("code")) from None
                if e.code in (404, 409, 413):
                    cls = {404: NotFound, 409: Conflict, 413: PayloadTooLarge}[e.code]
                    raise cls(err.get("message", f"HTTP {e.code}"), code=err.get("code"),
                              details=err.get("details")) from None
                if 400 <= e.code < 500:
                    raise ValidationError(err.get("message", f"HTTP {e.code}"), code=err.get("code"),
                                          details=err.get("details")) from None
                raise ProviderError(f"API answered HTTP {e.code}: {err.get('message', '')}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                if attempt < self.max_attempts - 1:
                    retries += 1
                    self._wait(attempt, None)
                    continue
                raise ProviderError(f"API unreachable at {self.api_url}: {getattr(e, 'reason', e)}") from None
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = random.uniform(0, min(self.max_delay, self.base_delay * 2 ** attempt))
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), self.max_delay))
        self.sleep(delay)

    def send_records(self, records: Iterable[CostRecord | Mapping[str, Any]]) -> SendResult:
        """Post records in batches; record ids are deterministic, so a retried batch never double counts.

        With a ``spool_dir``, a batch the API does not take after every retry (unreachable, 5xx, 429)
        is written to disk instead of raising, and delivered first by the next call: an agent on a
        host keeps its data through an outage. Rejections (4xx) are never spooled.
        """
        out = SendResult()
        self._drain_spool(out)
        batch: list[Any] = []
        offset = 0

        def flush() -> None:
            nonlocal offset
            if not batch:
                return
            try:
                self._post_batch(batch, out, offset)
            except ProviderError:
                if self.spool_dir is None:
                    raise
                self._spool("/v1/records", list(batch))
                out.spooled += len(batch)
            offset += len(batch)
            batch.clear()

        for r in records:
            batch.append(r.to_dict() if isinstance(r, CostRecord) else r)
            if len(batch) >= self.batch_size:
                flush()
        flush()
        return out

    def _post_batch(self, batch: list[Any], out: SendResult, offset: int) -> None:
        resp, retries = self.request("POST", "/v1/records", body=batch)
        out.requests += 1
        out.retries += retries
        out.accepted += resp["accepted"]
        out.rejected.extend({**r, "index": r["index"] + offset} for r in resp["rejected"])

    def post_or_spool(self, path: str, body: Any) -> Any | None:
        """POST ``body``; if the API stays unreachable and a spool is configured, keep it on disk
        (returns None) for the next call to deliver. Without a spool, the error is raised."""
        self._drain_spool(SendResult())
        try:
            return self.request("POST", path, body=body)[0]
        except ProviderError:
            if self.spool_dir is None:
                raise
            self._spool(path, body)
            return None

    def _spool(self, path: str, body: Any) -> Path:
        assert self.spool_dir is not None
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json.gz"
        tmp = self.spool_dir / (name + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            fh.write(dumps({"path": path, "body": body}))
        tmp.rename(self.spool_dir / name)  # atomic: a crash never leaves a half-written spool file
        log.warning("API unreachable: request to %s spooled to %s", path, self.spool_dir / name)
        return self.spool_dir / name

    def spooled_files(self) -> list[Path]:
        return sorted(self.spool_dir.glob("*.json.gz")) if self.spool_dir and self.spool_dir.exists() else []

    def _drain_spool(self, out: SendResult) -> None:
        """Deliver spooled requests oldest first; stop at the first that still fails (kept for later)."""
        for file in self.spooled_files():
            with gzip.open(file, "rt", encoding="utf-8") as fh:
                entry = loads(fh.read())
            try:
                resp, _ = self.request("POST", entry["path"], body=entry["body"])
            except ProviderError:
                return
            if entry["path"] == "/v1/records":
                out.unspooled += resp["accepted"]
                out.rejected.extend({**r, "spooled_file": file.name} for r in resp["rejected"])
            file.unlink()

    def saas_costs(self, **params: Any) -> dict[str, Any]:
        """``GET /v1/costs/saas``: per SaaS vendor (``mongodb_atlas``, ``redis_cloud``, ``github_actions``,
        ``datadog``) its totals per currency and ``status`` (``not_collected`` when it has no records);
        ``from``/``to`` (``from_`` works too) default to the month to date."""
        if "from_" in params:
            params["from"] = params.pop("from_")
        return self.request("GET", "/v1/costs/saas", params=params)[0]

    def summary(self, **params: Any) -> dict[str, Any]:
        return self.request("GET", "/v1/costs/summary", params=params)[0]

    # the OpenFinOps hub's data-platform queries (cloudtally.api.data_platforms)
    def databricks_costs_by_category(self, *, hours_lookback: int | None = None, start: str | None = None,
                                     end: str | None = None, currency: str | None = None) -> dict[str, Any]:
        return self.request("GET", "/v1/platforms/databricks/costs-by-category", params={
            "hours_lookback": hours_lookback, "from": start, "to": end, "currency": currency})[0]

    def databricks_job_costs(self, hours_lookback: int = 24) -> dict[str, Any]:
        return self.request("GET", "/v1/platforms/databricks/job-costs", params={"hours_lookback": hours_lookback})[0]

    def snowflake_warehouse_costs(self, hours_lookback: int = 24) -> dict[str, Any]:
        return self.request("GET", "/v1/platforms/snowflake/warehouse-costs",
                            params={"hours_lookback": hours_lookback})[0]

    def snowflake_storage_metrics(self, *, account: str | None = None, storage_pricing: str | None = None
                                  ) -> dict[str, Any]:
        return self.request("GET", "/v1/platforms/snowflake/storage",
                            params={"account": account, "storage_pricing": storage_pricing})[0]


def _error_of(payload: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(payload)
        return doc.get("error", {}) if isinstance(doc, dict) else {}
    except ValueError:
        return {"message": payload[:200].decode("utf-8", "replace")}


def resolve_api_url(explicit: str | None = None, *, check: bool = True, timeout: float = 3.0) -> str:
    """The API URL: ``explicit``, else ``CLOUDTALLY_API_URL``, else ``OPENFINOPS_ENDPOINT``, else the
    OpenFinOps docs' default ``http://localhost:8080``. When it falls back to that default and
    ``check`` is set, something must answer there (``GET /api/health``), or a :class:`ConfigError`
    names the URL and what to set.
    """
    import os

    from . import config
    if explicit:
        return explicit
    for var in (config.ENV_API_URL, config.ENV_OPENFINOPS_ENDPOINT):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    url = config.DEFAULT_API_URL
    if check:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/api/health", timeout=timeout):
                pass
        except urllib.error.HTTPError:
            pass   # something answers: the requests themselves will say what is wrong
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            raise ConfigError(
                f"nothing answers at {url} (the default API URL, used because neither {config.ENV_API_URL} nor "
                f"{config.ENV_OPENFINOPS_ENDPOINT} is set): start the API there (`make up`, `cloudtally serve`) "
                f"or set {config.ENV_API_URL} to your API's URL ({getattr(e, 'reason', e)})",
                code="api_unreachable", details={"url": url, "variables": [config.ENV_API_URL,
                                                                          config.ENV_OPENFINOPS_ENDPOINT]}) from None
    return url


def from_env() -> Client:
    """A client from the environment: the URL as :func:`resolve_api_url` finds it, the key from
    ``CLOUDTALLY_API_KEY_ID`` / ``CLOUDTALLY_API_KEY_SECRET``."""
    import os

    from . import config
    url = resolve_api_url()
    kid, sec = os.environ.get(config.ENV_API_KEY_ID, ""), os.environ.get(config.ENV_API_KEY_SECRET, "")
    if not kid or not sec:
        raise CloudTallyError(f"set {config.ENV_API_KEY_ID} and {config.ENV_API_KEY_SECRET} (the API at {url} "
                              "needs a key)", code="missing_key")
    return Client(url, kid, sec, spool_dir=os.environ.get(config.ENV_SPOOL_DIR) or None)
