"""Google API errors → the :class:`~cloudtally.errors.ProviderError` family (the runner knows no SDK).

Google APIs answer ``{"error": {"code": 403, "status": "PERMISSION_DENIED", "message": ...}}``
(https://cloud.google.com/apis/design/errors); :class:`~cloudtally.providers.gcp.session.GoogleApiError`
carries it. The ``setting`` of an auth error names the role the failing method needs, so
``GET /v1/collectors`` tells a user what to grant.
"""

from __future__ import annotations

from ...errors import (ProviderAuthError, ProviderError, ProviderNotFound, ProviderThrottled,
                       ProviderTransient)

THROTTLED = {"RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED"}
AUTH = {"PERMISSION_DENIED", "UNAUTHENTICATED", "FORBIDDEN"}
NOT_FOUND = {"NOT_FOUND"}
TRANSIENT = {"UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED", "BACKEND_ERROR"}


def to_provider_error(e: BaseException) -> ProviderError | None:
    """The ProviderError for a Google API or transport error, or None when ``e`` is not one (a bug propagates)."""
    from .session import GoogleApiError

    if isinstance(e, GoogleApiError):
        status = e.status.upper()
        code = e.http_status
        cls = (ProviderThrottled if status in THROTTLED or code == 429
               else ProviderAuthError if status in AUTH or code in (401, 403)
               else ProviderNotFound if status in NOT_FOUND or code == 404
               else ProviderTransient if status in TRANSIENT or code >= 500
               else ProviderError)
        setting = None
        if cls is ProviderAuthError:
            from .permissions import role_for
            role = role_for(e.service, e.operation)
            setting = (f"grant {role} to the collector's service account" if role
                       else "the collector's service account (Application Default Credentials)")
        return cls(f"{e.service}:{e.operation}: {e.message}"[:500], provider="gcp", provider_code=status,
                   setting=setting, retry_after=e.retry_after)
    try:
        import requests
    except ImportError:   # pragma: no cover - requests ships with the gcp extra
        return None
    if isinstance(e, (requests.ConnectionError, requests.Timeout)):
        return ProviderTransient(f"{type(e).__name__}: {e}"[:500], provider="gcp", provider_code=type(e).__name__)
    try:
        from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError
    except ImportError:
        return None
    if isinstance(e, TransportError):
        return ProviderTransient(str(e)[:500], provider="gcp", provider_code=type(e).__name__)
    if isinstance(e, (RefreshError, GoogleAuthError)):
        return ProviderAuthError(str(e)[:500], provider="gcp", provider_code=type(e).__name__,
                                 setting="Application Default Credentials (the function's service account)")
    return None
