"""The Chalice app built from the route table: JSON with exact Decimals, one error mapping, auth, logging.

``functions/api/app.py`` is ``app = build_app()``; the CDK stack builds the same app to generate the API
Gateway definition, so the deployable is never imported by the library or the infrastructure."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any, Callable

from chalice import Chalice, CORSConfig, Response

from ..config import settings
from ..errors import CloudTallyError, StoreError
from ..money import dumps
from .service import ApiService

log = logging.getLogger("cloudtally.api")
_service: ApiService | None = None
_service_lock = threading.Lock()


def service() -> ApiService:
    """The process's one service (the local server's request threads share it, as a warm Lambda's successive requests do)."""
    global _service
    svc = _service
    if svc is None:
        with _service_lock:
            if _service is None:
                _service = ApiService(settings())
            svc = _service
    return svc


def set_service(svc: ApiService | None) -> None:
    """Tests and the benchmark inject a service bound to their own store."""
    global _service
    _service = svc


def cors() -> CORSConfig:
    return CORSConfig(allow_origin=settings().cors_origin,
                      allow_headers=["X-CloudTally-Key-Id", "X-CloudTally-Key-Secret", "Authorization",
                                     "Content-Type", "Content-Encoding", "Idempotency-Key", "X-TelemetryFlow-Key-ID",
                                     "X-TelemetryFlow-Key-Secret", "X-TelemetryFlow-Agent-ID"],
                      expose_headers=["Retry-After", "X-Request-Id"], max_age=600)


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=dumps(body), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def error(status: int, code: str, message: str, details: Any = None, headers: dict | None = None) -> Response:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return ok({"error": err}, status, headers)


def params(app: Chalice) -> dict[str, Any]:
    qp = app.current_request.query_params or {}
    out: dict[str, Any] = {}
    for k in qp:
        vals = qp.getlist(k) if hasattr(qp, "getlist") else [qp[k]]
        out[k] = vals[0] if len(vals) == 1 else vals
    return out


def authed(app: Chalice, scope: str) -> None:
    principal = service().auth(app.current_request.headers, scope)
    app.current_request.context["cloudtally_key_id"] = principal.key_id


def exception_response(exc: Exception, where: str) -> Response:
    """The one mapping of an exception to a response: CloudTallyError to its status (503 with
    Retry-After for the store), anything else to a logged 500 without a traceback in the body."""
    if isinstance(exc, CloudTallyError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, StoreError) else None
        return error(exc.status, exc.code, exc.message, exc.details, headers)
    log.error("unhandled error in %s", where, exc_info=exc)
    return error(500, "internal", "internal error; the request id is in X-Request-Id")


def handle(fn: Callable[..., Response]) -> Callable[..., Response]:
    """Map exceptions in a view (Chalice would turn any of them into its own 500)."""

    def view(*args: Any, **kwargs: Any) -> Response:
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # mapped, never swallowed: see exception_response
            return exception_response(e, fn.__name__)

    view.__name__ = fn.__name__
    view.__doc__ = fn.__doc__
    return view


def register_routes(app: Chalice, table: list) -> None:
    """One Chalice view per route of the table: CORS, auth by scope, the framework-free handler, one error
    mapping."""
    for r in table:
        _register(app, r)


def _register(app: Chalice, r: Any) -> None:
    from .routes import ANY_CONTENT, Request, call

    def view(**path_params: Any) -> Response:
        req = app.current_request
        key_id = None
        if r.scope:
            authed(app, r.scope)
            key_id = req.context.get("cloudtally_key_id")
        reply = call(r, service(), Request(method=req.method, path=r.path, params=path_params, query=params(app),
                                           headers=req.headers, body=req.raw_body, key_id=key_id))
        if reply.raw:
            return Response(body=reply.body, status_code=reply.status, headers=reply.headers)
        return ok(reply.body, reply.status, reply.headers)

    view.__name__ = r.operation_id
    kw: dict[str, Any] = {"content_types": list(ANY_CONTENT)} if r.any_content else {}
    app.route(r.path, methods=[r.method], cors=cors(), name=r.operation_id, **kw)(handle(view))


def install(app: Chalice) -> None:
    """Register the error middleware: every failure becomes ``{"error": {...}}`` with a 4xx (or 503)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    @app.middleware("http")
    def errors_and_logging(event: Any, get_response: Callable) -> Response:
        start = time.perf_counter()
        rid = (event.headers.get("x-request-id") or uuid.uuid4().hex)[:64] if event else uuid.uuid4().hex
        try:
            resp = get_response(event)
        except Exception as e:  # outside a view (middleware, routing): the same mapping
            resp = exception_response(e, f"{event.method if event else '?'} {event.path if event else '?'}")
        resp = _reshape_chalice_error(resp)
        resp.headers["X-Request-Id"] = rid
        # never the headers or body: they carry key secrets
        log.info(json.dumps({"request_id": rid, "method": event.method if event else None,
                             "path": event.path if event else None, "status": resp.status_code,
                             "key_id": (event.context or {}).get("cloudtally_key_id") if event else None,
                             "ms": round((time.perf_counter() - start) * 1000, 1)}))
        return resp


_CHALICE_CODES = {"UnsupportedMediaType": "unsupported_media_type", "MethodNotAllowedError": "method_not_allowed",
                  "BadRequestError": "bad_request", "BadRequest": "bad_request", "NotFoundError": "not_found"}


def _reshape_chalice_error(resp: Response) -> Response:
    if resp.status_code < 400 or not isinstance(resp.body, (dict, str)):
        return resp
    body = resp.body
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return resp
    if isinstance(body, dict) and "Code" in body and "error" not in body:
        return error(resp.status_code, _CHALICE_CODES.get(body["Code"], str(body["Code"]).lower()),
                     str(body.get("Message", "")), headers={k: v for k, v in resp.headers.items()
                                                            if k.lower() != "content-type"})
    return resp


def build_app(name: str = "cloudtally-api") -> Chalice:
    """The API: every route of :data:`cloudtally.api.routes.ROUTES` on one Chalice app."""
    from .routes import BINARY_TYPES, ROUTES
    app = Chalice(app_name=name)
    app.api.binary_types.extend(t for t in BINARY_TYPES if t not in app.api.binary_types)
    install(app)
    register_routes(app, ROUTES)
    return app
