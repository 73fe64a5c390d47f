"""databricks-sdk exceptions (and a statement that ended ``FAILED``) → the
:class:`~cloudtally.errors.ProviderError` family; the runner knows no SDK."""

from __future__ import annotations

from ...errors import (ProviderAuthError, ProviderError, ProviderNotFound, ProviderThrottled,
                       ProviderTransient)

PROVIDER = "databricks"
TOKEN_SETTING = "DATABRICKS_TOKEN (secret databricks-token) and the workspace URL (host / DATABRICKS_HOST)"
GRANT_SETTING = ("the token's identity: CAN USE on the SQL warehouse (warehouse_id) and SELECT on "
                 "system.billing.usage and system.billing.list_prices (USE CATALOG system, USE SCHEMA system.billing)")
# Statement Execution error_code (and the SQL error class in its message) → family
_STATEMENT = {"UNAUTHENTICATED": ProviderAuthError, "PERMISSION_DENIED": ProviderAuthError,
              "NOT_FOUND": ProviderNotFound, "RESOURCE_EXHAUSTED": ProviderThrottled,
              "TEMPORARILY_UNAVAILABLE": ProviderTransient, "SERVICE_UNDER_MAINTENANCE": ProviderTransient,
              "WORKSPACE_TEMPORARILY_UNAVAILABLE": ProviderTransient, "DEADLINE_EXCEEDED": ProviderTransient,
              "INTERNAL_ERROR": ProviderTransient, "IO_ERROR": ProviderTransient, "ABORTED": ProviderTransient}
_AUTH_MARKERS = ("INSUFFICIENT_PERMISSIONS", "PERMISSION_DENIED", "does not have", "not authorized")
_MISSING_MARKERS = ("TABLE_OR_VIEW_NOT_FOUND", "SCHEMA_NOT_FOUND", "CATALOG_NOT_FOUND")


def statement_error(state: str, error_code: str | None, message: str | None, sql_state: str | None = None,
                    what: str = "statement") -> ProviderError:
    """The error for a statement that ended ``FAILED``/``CANCELED``/``CLOSED`` (HTTP 200 all the same)."""
    msg = f"{what} {state}: {message or error_code or 'no message'}"[:500]
    text = f"{error_code or ''} {message or ''}"
    if any(m in text for m in _AUTH_MARKERS):
        return ProviderAuthError(msg, provider=PROVIDER, provider_code=error_code or "PERMISSION_DENIED",
                                 setting=GRANT_SETTING)
    if any(m in text for m in _MISSING_MARKERS):
        return ProviderNotFound(msg, provider=PROVIDER, provider_code=error_code or "NOT_FOUND", setting=GRANT_SETTING)
    cls = _STATEMENT.get(error_code or "", ProviderError)
    return cls(msg, provider=PROVIDER, provider_code=error_code or state,
               setting=GRANT_SETTING if cls is ProviderAuthError else None)


def to_provider_error(e: BaseException) -> ProviderError | None:
    """The ProviderError for a databricks-sdk exception, or None (a bug propagates)."""
    from databricks.sdk import errors as dbe

    if not isinstance(e, dbe.DatabricksError):
        return None
    code = getattr(e, "error_code", None) or type(e).__name__
    msg = str(e)[:500] or code
    retry_after = getattr(e, "retry_after_secs", None)
    if isinstance(e, (dbe.Unauthenticated, dbe.PermissionDenied)):
        return ProviderAuthError(msg, provider=PROVIDER, provider_code=code,
                                 setting=TOKEN_SETTING if isinstance(e, dbe.Unauthenticated) else GRANT_SETTING)
    if isinstance(e, (dbe.TooManyRequests, dbe.ResourceExhausted)):
        return ProviderThrottled(msg, provider=PROVIDER, provider_code=code, retry_after=retry_after)
    if isinstance(e, (dbe.NotFound, dbe.ResourceDoesNotExist)):
        return ProviderNotFound(msg, provider=PROVIDER, provider_code=code)
    if isinstance(e, (dbe.TemporarilyUnavailable, dbe.InternalError, dbe.DeadlineExceeded)):
        return ProviderTransient(msg, provider=PROVIDER, provider_code=code, retry_after=retry_after)
    return ProviderError(msg, provider=PROVIDER, provider_code=code)
