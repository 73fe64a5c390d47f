"""The Databricks clients of one run: the SDK's ``WorkspaceClient`` (built on first use; databricks-sdk is
imported here only), every HTTP request counted into the run, and :meth:`DatabricksClients.query`, which
runs one parameterised statement through the Statement Execution API and reads its whole result, inline
chunks or external links alike.

A statement that ends ``FAILED``/``CANCELED``/``CLOSED`` comes back as HTTP 200: :meth:`query` turns it into a
:class:`~cloudtally.errors.ProviderError` (see :func:`.errors.statement_error`), never an empty result.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Iterator

from ...errors import ConfigError, ProviderError, ProviderTransient
from .errors import PROVIDER, statement_error

# REST path → (service, operation) for the run's api_calls (the bench counts sql:ExecuteStatement)
_OPS: tuple[tuple[str, re.Pattern[str], str, str], ...] = tuple((m, re.compile(p), s, o) for m, p, s, o in (
    ("POST", r"^/api/2\.0/sql/statements/?$", "sql", "ExecuteStatement"),
    ("GET", r"^/api/2\.0/sql/statements/[^/]+/result/chunks/\d+$", "sql", "GetStatementResultChunkN"),
    ("GET", r"^/api/2\.0/sql/statements/[^/]+$", "sql", "GetStatement"),
    ("POST", r"^/api/2\.0/sql/statements/[^/]+/cancel$", "sql", "CancelExecution"),
    ("GET", r"^/api/2\.[01]/clusters/list$", "clusters", "List"),
    ("GET", r"^/api/2\.[012]/jobs/list$", "jobs", "List"),
    ("GET", r"^/api/2\.[012]/jobs/runs/list$", "jobs", "ListRuns"),
    ("GET", r"^/api/2\.0/sql/warehouses/?$", "warehouses", "List"),
    ("GET", r"^/api/2\.0/pipelines/?$", "pipelines", "ListPipelines"),
))
TERMINAL_FAILURES = ("FAILED", "CANCELED", "CLOSED")


def operation(method: str, path: str) -> tuple[str, str]:
    for m, pat, svc, op in _OPS:
        if m == method.upper() and pat.match(path):
            return svc, op
    return "workspace", f"{method.upper()} {path}"


@dataclass
class Result:
    """A statement's columns and rows (JSON_ARRAY: every non-null value is a string)."""

    columns: list[str]
    rows: list[list[str | None]]
    statement_id: str = ""
    chunks: int = 0
    external_links: int = 0

    def dicts(self) -> Iterator[dict[str, str | None]]:
        for r in self.rows:
            yield dict(zip(self.columns, r))


def _param(name: str, value: Any) -> dict[str, str]:
    if isinstance(value, datetime):
        return {"name": name, "value": value.strftime("%Y-%m-%dT%H:%M:%SZ"), "type": "TIMESTAMP"}
    if isinstance(value, date):
        return {"name": name, "value": value.isoformat(), "type": "DATE"}
    return {"name": name, "value": str(value), "type": "STRING"}


class DatabricksClients:
    """The workspace client (lazy), counted per request, and the statement runner."""

    def __init__(self, host: str, token: str, *, warehouse_id: str = "", workspace: Any = None,
                 disposition: str = "EXTERNAL_LINKS", wait_timeout_s: int = 30, statement_timeout_s: int = 600,
                 retry_timeout_s: int = 120, sleep: Callable[[float], None] = time.sleep,
                 fetch: Callable[..., bytes] | None = None):
        if not host:
            raise ConfigError("databricks: set the workspace URL (config host or DATABRICKS_HOST)", code="missing_setting")
        self.host = host.rstrip("/")
        self._token = token
        self.warehouse_id = warehouse_id
        self._workspace = workspace
        self.disposition = disposition
        self.wait_timeout_s = wait_timeout_s
        self.statement_timeout_s = statement_timeout_s
        self.retry_timeout_s = retry_timeout_s
        self.sleep = sleep
        self._fetch = fetch or _download
        self._ctx: Any = None
        self.calls: dict[str, int] = {}

    def __repr__(self) -> str:   # never the token
        return f"DatabricksClients({self.host!r}, warehouse_id={self.warehouse_id!r})"

    def bind(self, ctx: Any) -> None:
        self._ctx = ctx

    def count(self, service: str, op: str) -> None:
        key = f"{service}:{op}"
        self.calls[key] = self.calls.get(key, 0) + 1
        if self._ctx is not None:
            self._ctx.count_call(service, op)

    @property
    def workspace(self) -> Any:
        """``databricks.sdk.WorkspaceClient`` for the host and token (PAT auth), built on first use."""
        if self._workspace is None:
            from databricks.sdk import WorkspaceClient
            from databricks.sdk.config import Config
            self._workspace = WorkspaceClient(config=Config(host=self.host, token=self._token, auth_type="pat",
                                                            retry_timeout_seconds=self.retry_timeout_s))
            self._hook(self._workspace)
        return self._workspace

    def _hook(self, w: Any) -> None:
        """Count every HTTP request the SDK makes (pages of list calls included) into the run."""
        session = getattr(getattr(getattr(w, "api_client", None), "_api_client", None), "_session", None)
        if session is None:
            raise ConfigError("databricks-sdk's HTTP session was not found: this SDK version is not supported "
                              "(pin databricks-sdk as pyproject.toml does)")

        def on_response(resp: Any, *a: Any, **kw: Any) -> Any:
            from urllib.parse import urlsplit
            self.count(*operation(resp.request.method, urlsplit(resp.request.url).path))
            return resp

        session.hooks["response"].append(on_response)

    # ------------------------------------------------------------ statements
    def query(self, sql: str, params: dict[str, Any], *, what: str = "statement") -> Result:
        """Run ``sql`` with named ``:parameters`` on the configured warehouse; every row of the result."""
        from databricks.sdk.service.sql import (Disposition, ExecuteStatementRequestOnWaitTimeout, Format,
                                                StatementParameterListItem, StatementState)
        if not self.warehouse_id:
            raise ConfigError("databricks: set warehouse_id (or DATABRICKS_WAREHOUSE_ID): the SQL warehouse that "
                              "reads the system billing tables", code="missing_setting")
        api = self.workspace.statement_execution
        resp = api.execute_statement(
            statement=sql, warehouse_id=self.warehouse_id, wait_timeout=f"{self.wait_timeout_s}s",
            on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CONTINUE,
            disposition=Disposition(self.disposition), format=Format.JSON_ARRAY,
            parameters=[StatementParameterListItem(**_param(k, v)) for k, v in params.items()])
        waited = 0.0
        delay = 1.0
        while resp.status is not None and resp.status.state in (StatementState.PENDING, StatementState.RUNNING):
            if waited >= self.statement_timeout_s:
                api.cancel_execution(resp.statement_id)
                raise ProviderTransient(f"{what} still {resp.status.state.value} after {self.statement_timeout_s} s: "
                                        "cancelled; the next run retries", provider=PROVIDER, provider_code="TIMEOUT")
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, 10.0)
            resp = api.get_statement(resp.statement_id)
        state = resp.status.state.value if resp.status and resp.status.state else "UNKNOWN"
        if state != "SUCCEEDED":
            err = resp.status.error if resp.status else None
            raise statement_error(state, err.error_code.value if err and err.error_code else None,
                                  err.message if err else None, getattr(resp.status, "sql_state", None), what=what)
        manifest = resp.manifest
        columns = [c.name for c in (manifest.schema.columns or [])] if manifest and manifest.schema else []
        out = Result(columns, [], statement_id=resp.statement_id or "")
        chunk = resp.result
        while chunk is not None:
            out.chunks += 1
            if chunk.data_array:
                out.rows.extend(chunk.data_array)
            nxt = chunk.next_chunk_index
            for link in chunk.external_links or []:
                out.external_links += 1
                out.rows.extend(self._link_rows(link, what))
                nxt = link.next_chunk_index if link.next_chunk_index is not None else nxt
            if nxt is None:
                break
            chunk = api.get_statement_result_chunk_n(resp.statement_id, nxt)
        total = manifest.total_row_count if manifest else None
        if total is not None and total != len(out.rows):
            raise ProviderError(f"{what}: read {len(out.rows)} rows of {total}", provider=PROVIDER,
                                provider_code="INCOMPLETE_RESULT")
        if manifest is not None and manifest.truncated:
            raise ProviderError(f"{what}: the result was truncated by the warehouse", provider=PROVIDER,
                                provider_code="TRUNCATED")
        return out

    def _link_rows(self, link: Any, what: str) -> list[list[str | None]]:
        """One external link's chunk: fetched without the workspace token (a presigned URL), with the headers
        the link names."""
        self.count("storage", "GetResultChunk")
        body = self._fetch(link.external_link, dict(link.http_headers or {}))
        try:
            rows = json.loads(body)
        except ValueError:
            raise ProviderError(f"{what}: an external result chunk is not a JSON array", provider=PROVIDER,
                                provider_code="BAD_CHUNK") from None
        if not isinstance(rows, list):
            raise ProviderError(f"{what}: an external result chunk is not a JSON array", provider=PROVIDER,
                                provider_code="BAD_CHUNK")
        return rows


def _download(url: str, headers: dict[str, str], timeout: float = 60.0) -> bytes:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()
    except urllib.error.HTTPError as e:
        cls = ProviderTransient if e.code >= 500 or e.code in (403, 404) else ProviderError
        # a 403/404 here is an expired presigned link (<= 15 minutes): the next run reads a fresh one
        raise cls(f"external result chunk: HTTP {e.code}", provider=PROVIDER, provider_code=str(e.code)) from None
    except urllib.error.URLError as e:
        raise ProviderTransient(f"external result chunk unreachable: {e.reason}", provider=PROVIDER) from None
