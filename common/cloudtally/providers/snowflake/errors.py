"""snowflake-connector-python exceptions → the :class:`~cloudtally.errors.ProviderError` family."""

from __future__ import annotations

from ...errors import (ProviderAuthError, ProviderError, ProviderNotFound, ProviderThrottled,
                       ProviderTransient)

PROVIDER = "snowflake"
GRANT_SETTING = ("the collector's role: GRANT IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE (ACCOUNT_USAGE), and "
                 "the ORGANIZATION_USAGE_VIEWER database role for USAGE_IN_CURRENCY_DAILY")
AUTH_SETTING = "SNOWFLAKE_USER and the key pair (secret snowflake-private-key) or SNOWFLAKE_PASSWORD"
# errno: 2003 object does not exist or not authorized; 390100/390144 auth; 250001 can't connect
_MISSING = {2003, 2043}
_AUTH = {390100, 390144, 390101, 390102, 390318, 394304, 250001}


def to_provider_error(e: BaseException) -> ProviderError | None:
    from snowflake.connector import errors as sfe

    if not isinstance(e, sfe.Error):
        return None
    errno = getattr(e, "errno", None) or 0
    code = f"{errno:06d}" if isinstance(errno, int) and errno > 0 else type(e).__name__
    msg = (getattr(e, "msg", None) or str(e))[:500]
    if errno in _MISSING:
        # Snowflake answers a view the role may not read exactly as one that does not exist
        return ProviderAuthError(f"{msg} (a missing grant reads as 'does not exist or not authorized')",
                                 provider=PROVIDER, provider_code=code, setting=GRANT_SETTING)
    if errno in _AUTH or isinstance(e, sfe.ForbiddenError):
        return ProviderAuthError(msg, provider=PROVIDER, provider_code=code, setting=AUTH_SETTING)
    if isinstance(e, sfe.ServiceUnavailableError) or isinstance(e, sfe.OperationalError):
        return ProviderTransient(msg, provider=PROVIDER, provider_code=code)
    if "429" in msg or "throttl" in msg.lower():
        return ProviderThrottled(msg, provider=PROVIDER, provider_code=code)
    if isinstance(e, sfe.ProgrammingError) and "not found" in msg.lower():
        return ProviderNotFound(msg, provider=PROVIDER, provider_code=code)
    return ProviderError(msg, provider=PROVIDER, provider_code=code)
