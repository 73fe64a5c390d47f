"""botocore exceptions → the :class:`~cloudtally.errors.ProviderError` family (the runner knows no SDK)."""

from __future__ import annotations

from ...errors import (ProviderAuthError, ProviderError, ProviderNotFound, ProviderThrottled,
                       ProviderTransient)

THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
             "LimitExceededException", "ProvisionedThroughputExceededException", "SlowDown"}
AUTH = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
        "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "AuthFailure", "SignatureDoesNotMatch",
        "OptInRequired", "InvalidAccessKeyId", "UnauthorizedException", "Forbidden", "403"}
NOT_FOUND = {"ResourceNotFoundException", "NoSuchBucket", "NoSuchKey", "NotFound", "404", "NoSuchEntity",
             "DataUnavailableException"}
TRANSIENT = {"InternalError", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException",
             "RequestTimeout", "RequestTimeoutException", "500", "502", "503", "504"}


def to_provider_error(e: BaseException) -> ProviderError | None:
    """The ProviderError for a botocore exception, or None when ``e`` is not one (a bug propagates)."""
    from botocore.exceptions import (BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError,
                                     NoCredentialsError, PartialCredentialsError, ReadTimeoutError)

    if isinstance(e, ClientError):
        err = e.response.get("Error", {}) if isinstance(e.response, dict) else {}
        code = str(err.get("Code") or "ClientError")
        op = getattr(e, "operation_name", "") or ""
        msg = f"{op}: {err.get('Message', '')}".strip(": ") or code
        cls = (ProviderThrottled if code in THROTTLED else ProviderAuthError if code in AUTH
               else ProviderNotFound if code in NOT_FOUND else ProviderTransient if code in TRANSIENT
               else ProviderError)
        setting = "the collector's IAM role (AWS credentials)" if cls is ProviderAuthError else None
        return cls(msg[:500], provider="aws", provider_code=code, setting=setting)
    if isinstance(e, (NoCredentialsError, PartialCredentialsError)):
        return ProviderAuthError(str(e)[:500], provider="aws", provider_code=type(e).__name__,
                                 setting="AWS credentials (role, AWS_PROFILE or AWS_ACCESS_KEY_ID)")
    if isinstance(e, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        return ProviderTransient(str(e)[:500], provider="aws", provider_code=type(e).__name__)
    if isinstance(e, BotoCoreError):
        return ProviderError(str(e)[:500], provider="aws", provider_code=type(e).__name__)
    return None
