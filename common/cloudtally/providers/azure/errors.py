"""Azure answers and credential failures → the :class:`~cloudtally.errors.ProviderError` family.

:func:`from_http` turns a non-2xx answer (ARM / Monitor / Cost Management JSON ``{"error": {"code",
"message"}}``, Blob storage XML ``<Error><Code>``) into the matching error, naming the role a user should
grant; :func:`to_provider_error` is the spec's ``errors`` mapper for what the session does not raise
itself (``azure-identity``'s credential errors), without importing the SDK.
"""

from __future__ import annotations

import json
import re

from ...errors import (ProviderAuthError, ProviderError, ProviderNotFound, ProviderThrottled,
                       ProviderTransient)

# the role each service's calls need (what an auth error tells the user to grant)
ROLE_HINT = {"arm": "the collector identity's Reader role on the subscription",
             "monitor": "the collector identity's Monitoring Reader role on the subscription",
             "costmanagement": "the collector identity's Cost Management Reader role on the scope",
             "blob": "Storage Blob Data Reader on the export's storage account (or its account key / SAS secret)"}
AUTH_CODES = {"AuthorizationFailed", "AuthenticationFailed", "InvalidAuthenticationToken", "ExpiredAuthenticationToken",
              "InvalidAuthenticationTokenTenant", "AuthorizationPermissionMismatch", "AuthorizationFailure",
              "LinkedAuthorizationFailed", "RBACAccessDenied", "SubscriptionNotRegistered", "NoAuthenticationInformation",
              "InsufficientAccountPermissions", "AccountIsDisabled", "DisallowedProvider"}
NOT_FOUND_CODES = {"ResourceNotFound", "ResourceGroupNotFound", "SubscriptionNotFound", "ContainerNotFound",
                   "BlobNotFound", "NotFound", "ParentResourceNotFound"}


def _code_message(body: bytes) -> tuple[str | None, str]:
    text = (body or b"").decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        err = doc.get("error") if isinstance(doc.get("error"), dict) else doc
        return (str(err.get("code")) if err.get("code") else None), str(err.get("message") or "")[:400]
    m = re.search(r"<Code>([^<]+)</Code>", text)
    msg = re.search(r"<Message>([^<]+)</Message>", text)
    return (m.group(1) if m else None), (msg.group(1).strip().splitlines()[0] if msg else text[:200])


def from_http(status: int, body: bytes, headers: dict[str, str], what: str, *,
              retry_after: float | None = None) -> ProviderError:
    """The error for an answer with HTTP ``status`` (0: no answer) to ``what`` (``"<service> <operation>"``)."""
    code, message = _code_message(body)
    service = what.split(" ", 1)[0]
    provider_code = code or (str(status) if status else "ConnectionError")
    msg = f"{what}: HTTP {status} {provider_code}: {message}".strip(": ") if status else f"{what} unreachable"
    if status == 429:
        return ProviderThrottled(msg[:500], provider="azure", provider_code=provider_code, retry_after=retry_after)
    if status in (401, 403) or code in AUTH_CODES:
        return ProviderAuthError(msg[:500], provider="azure", provider_code=provider_code,
                                 setting=ROLE_HINT.get(service, "the collector identity's Azure role assignments"))
    if status == 404 or code in NOT_FOUND_CODES:
        return ProviderNotFound(msg[:500], provider="azure", provider_code=provider_code)
    if status == 0 or status >= 500:
        return ProviderTransient(msg[:500], provider="azure", provider_code=provider_code, retry_after=retry_after)
    return ProviderError(msg[:500], provider="azure", provider_code=provider_code)


def to_provider_error(e: BaseException) -> ProviderError | None:
    """``azure-identity`` / ``azure-core`` exceptions (found by name: the SDK is not imported here), or None."""
    mod = type(e).__module__ or ""
    if not mod.startswith("azure."):
        return None
    name = type(e).__name__
    if name in ("ClientAuthenticationError", "CredentialUnavailableError", "AuthenticationRequiredError"):
        return ProviderAuthError(str(e).splitlines()[0][:500] if str(e) else name, provider="azure",
                                 provider_code=name,
                                 setting="Azure credentials: the function's managed identity (AZURE_CLIENT_ID), "
                                         "AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, or `az login`")
    if name in ("ServiceRequestError", "ServiceResponseError", "ServiceRequestTimeoutError"):
        return ProviderTransient(str(e)[:500], provider="azure", provider_code=name)
    if name == "HttpResponseError" or name.endswith("Error"):
        return ProviderError(str(e)[:500], provider="azure", provider_code=name)
    return None
