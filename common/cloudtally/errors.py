"""One exception hierarchy, each mapped once to an HTTP status and a CLI exit code."""

from __future__ import annotations

from typing import Any


class CloudTallyError(Exception):
    """Base of every error CloudTally raises on purpose."""

    status = 500
    code = "internal"
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def to_dict(self) -> dict:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class ConfigError(CloudTallyError):
    status = 500
    code = "config_error"
    exit_code = 2


class ValidationError(CloudTallyError):
    """Bad input. ``details`` is a list of ``{"field", "message"}`` covering every problem found."""

    status = 400
    code = "validation_error"
    exit_code = 2


class BadRequest(ValidationError):
    code = "bad_request"


class UnsupportedMediaType(ValidationError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(ValidationError):
    """Well-formed input of which nothing could be used (``details`` says why, element by element)."""

    status = 422
    code = "unprocessable"


class PayloadTooLarge(ValidationError):
    status = 413
    code = "payload_too_large"


class AuthError(CloudTallyError):
    status = 401
    code = "unauthorized"
    exit_code = 3


class ForbiddenError(CloudTallyError):
    status = 403
    code = "forbidden"
    exit_code = 3


class NotFound(CloudTallyError):
    status = 404
    code = "not_found"
    exit_code = 4


class Conflict(CloudTallyError):
    status = 409
    code = "conflict"
    exit_code = 5


class StoreError(CloudTallyError):
    """The database failed or throttled after retries; the caller may retry the same request."""

    status = 503
    code = "store_unavailable"
    exit_code = 6

    def __init__(self, message: str, *, retry_after: int = 1, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ProviderError(CloudTallyError):
    status = 502
    code = "provider_error"
    exit_code = 7
