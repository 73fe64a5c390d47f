"""The API client's interface answered in-process: the route table's handlers over one :class:`ApiService`.

Benchmarks (and tests that count requests) run a collector exactly as a function does — ``ClientSink``,
``ApiStatus``, the import target — with each request authenticated and handled by the same code as on
API Gateway, without a server. Every request is counted, with the time spent answering it.

>>> client = InProcessClient(svc, key)                       # doctest: +SKIP
>>> client.request("GET", "/v1/collectors/aws/status")       # doctest: +SKIP
({'collector': 'aws', 'scopes': {}}, 0)
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any, Mapping

from ..client import Client
from ..errors import NotFound
from ..money import dumps, loads
from .routes import ROUTES, Request, Route, call


def _pattern(path: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")


_TABLE = [(r, _pattern(r.path)) for r in ROUTES]


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    for r, pat in _TABLE:
        m = pat.match(path)
        if m and r.method == method:
            return r, m.groupdict()
    raise NotFound(f"no route {method} {path}")


class InProcessClient(Client):
    """:class:`~cloudtally.client.Client` whose requests the route table's handlers answer in-process (its
    batching, spooling and error mapping are the client's own)."""

    def __init__(self, svc: Any, key: Mapping[str, str], *, batch_size: int = 1000):
        super().__init__("inprocess://api", key["id"], key["secret"], batch_size=batch_size)
        self.svc = svc
        self.requests: Counter = Counter()      # operation id -> requests
        self.seconds = 0.0                      # time spent answering them

    def request(self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None,
                raw: bytes | None = None, content_type: str = "application/json") -> tuple[Any, int]:
        from urllib.parse import unquote
        route, path_params = match(method, path)
        headers = {**self._headers(), "Content-Type": content_type}
        t0 = time.perf_counter()
        try:
            if route.scope:
                self.svc.auth(headers, route.scope)
            data = raw if raw is not None else (dumps(body).encode() if body is not None else None)
            query = {k: (v if isinstance(v, list) else str(v)) for k, v in (params or {}).items() if v not in (None, "")}
            reply = call(route, self.svc, Request(method=method, path=route.path,
                                                  params={k: unquote(v) for k, v in path_params.items()},
                                                  query=query, headers=headers, body=data))
        finally:
            self.seconds += time.perf_counter() - t0
            self.requests[route.operation_id] += 1
        # the wire round trip: what a client would decode (Decimals as strings, exact)
        return (reply.body if reply.raw else loads(dumps(reply.body))), 0
