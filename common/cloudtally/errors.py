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
    """A provider's API failed. Each provider package maps its SDK's errors onto this family
    (``cloudtally.providers.<source>.errors``), so nothing outside that package knows the SDK.

    ``provider`` names the source (``aws``, ``azure``, ``github`` ...), ``provider_code`` the provider's
    own error code (``AccessDenied``, ``AuthorizationFailed``, ``PERMISSION_DENIED``, HTTP status ...),
    ``setting`` the configuration a user should look at (a credential's variable, a role), and
    ``retry_after`` the seconds the provider asked to wait, when it said.
    """

    status = 502
    code = "provider_error"
    exit_code = 7
    kind = "error"

    def __init__(self, message: str, *, provider: str = "", provider_code: str | None = None,
                 setting: str | None = None, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.provider = provider
        self.provider_code = provider_code
        self.setting = setting
        self.retry_after = retry_after

    def describe(self) -> dict[str, str]:
        """What a collector's scope status shows: ``{"code", "message"}`` (+ ``provider``, ``setting``)."""
        out = {"code": self.provider_code or self.code, "message": self.message, "kind": self.kind}
        if self.provider:
            out["provider"] = self.provider
        if self.setting:
            out["setting"] = self.setting
        return out


class ProviderThrottled(ProviderError):
    """Rate limited (HTTP 429, ``Throttling``, ``RESOURCE_EXHAUSTED``) after the client's own retries."""

    code = "provider_throttled"
    kind = "throttled"


class ProviderAuthError(ProviderError):
    """Missing, expired or wrong credentials, or a permission the identity lacks."""

    code = "provider_auth"
    kind = "auth"


class ProviderNotFound(ProviderError):
    """The account, subscription, project, resource or endpoint does not exist (or is not visible)."""

    code = "provider_not_found"
    kind = "not_found"


class ProviderTransient(ProviderError):
    """A timeout, a connection failure or a 5xx: the next run is expected to succeed."""

    code = "provider_transient"
    kind = "transient"


class CollectorBug(CloudTallyError):
    """A programming error inside a collector (``KeyError``, ``TypeError`` ...): a failed run, not a
    failed scope. Carries the run summary; the traceback is in the log."""

    code = "collector_bug"
    exit_code = 8

    def __init__(self, message: str, *, summary: dict | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.summary = summary or {}
