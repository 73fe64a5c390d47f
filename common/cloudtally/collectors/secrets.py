"""A collector's secrets, resolved the same way on every runtime, and redacted wherever they could leak.

Resolution order for a :class:`~cloudtally.collectors.registry.SecretRef`:

1. its own environment variables (``SecretRef.env``: ``DATABRICKS_TOKEN``, ``CLOUDTALLY_API_KEY_ID`` ...), for
   local runs and agents;
2. ``CLOUDTALLY_SECRET_<NAME>``: how Azure Functions (a Key Vault reference in an app setting) and Cloud
   Functions (a Secret Manager secret exposed as an environment variable) deliver it;
3. the platform's fetcher (Lambda: Secrets Manager, by the ARN the deploy put in ``CLOUDTALLY_SECRET_ARNS``).

A missing secret is a :class:`~cloudtally.errors.ConfigError` naming where it was looked for. Resolved values
are registered with :func:`redact`, which masks them in any text (logs, error messages, summaries).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Callable, Mapping

from ..errors import ConfigError
from .registry import INGEST_KEY, SecretRef

ENV_SECRET_ARNS = "CLOUDTALLY_SECRET_ARNS"     # JSON {secret name: ARN}, set by the Lambda deploy
KEYVAULT_REFERENCE = "@Microsoft.KeyVault("   # an Azure app setting's Key Vault reference, as written
_KNOWN: set[str] = set()
_LOCK = threading.Lock()


def redact(text: str) -> str:
    """``text`` with every secret value resolved in this process replaced by ``***``."""
    with _LOCK:
        values = sorted(_KNOWN, key=len, reverse=True)
    for v in values:
        if v and v in text:
            text = text.replace(v, "***")
    return text


def _remember(value: str) -> None:
    if len(value) >= 6:      # never mask short, common strings
        with _LOCK:
            _KNOWN.add(value)


class Secrets:
    def __init__(self, refs: tuple[SecretRef, ...] | list[SecretRef], *, env: Mapping[str, str] | None = None,
                 fetch: Callable[[SecretRef], str | None] | None = None):
        self.refs = {r.name: r for r in refs}
        self.env = os.environ if env is None else env
        self.fetch = fetch
        self._cache: dict[str, str] = {}

    def _ref(self, name: str) -> SecretRef:
        ref = self.refs.get(name)
        if ref is None:
            raise ConfigError(f"secret {name!r} is not declared by this collector (declared: "
                              f"{', '.join(sorted(self.refs)) or 'none'})")
        return ref

    def get(self, name: str) -> str:
        """The secret's value (its JSON text for structured secrets)."""
        if name in self._cache:
            return self._cache[name]
        ref = self._ref(name)
        value = None
        if len(ref.env) == 1 and self.env.get(ref.env[0]):
            value = self.env[ref.env[0]]
        unresolved = False
        if value is None and self.env.get(ref.env_var):
            value = self.env[ref.env_var]
            if value.startswith(KEYVAULT_REFERENCE):   # Azure leaves an unresolvable Key Vault reference as its text
                value, unresolved = None, True
        if value is None and self.fetch is not None:
            value = self.fetch(ref)
        if value is None:
            where = " or ".join(list(ref.env[:1] if len(ref.env) == 1 else ()) + [ref.env_var])
            raise ConfigError((f"secret {ref.name}: the Key Vault reference in {ref.env_var} did not resolve (create "
                               f"the secret {ref.keyvault_name} in the vault; the app's identity reads it)")
                              if unresolved else
                              f"secret {ref.name} is not set: set {where}, or store it in the platform's secret "
                              f"store ({ref.aws_name} / Key Vault {ref.keyvault_name} / Secret Manager {ref.gcp_name})",
                              code="missing_secret")
        _remember(value)
        self._cache[name] = value
        return value

    def optional(self, name: str) -> str | None:
        try:
            return self.get(name)
        except ConfigError as e:
            if e.code == "missing_secret":
                return None
            raise

    def fields(self, name: str) -> dict[str, str]:
        """A structured secret: its JSON object, or its ``env`` variables one per field (``fields``)."""
        ref = self._ref(name)
        if ref.fields and len(ref.env) == len(ref.fields) and all(self.env.get(v) for v in ref.env):
            out = {f: self.env[v] for f, v in zip(ref.fields, ref.env)}
            for v in out.values():
                _remember(v)
            return out
        raw = self.get(name)
        try:
            doc = json.loads(raw)
        except ValueError:
            raise ConfigError(f"secret {ref.name} must hold a JSON object with {', '.join(ref.fields)}") from None
        if not isinstance(doc, dict) or any(not doc.get(f) for f in ref.fields):
            raise ConfigError(f"secret {ref.name} must hold a JSON object with {', '.join(ref.fields)}")
        for v in doc.values():
            if isinstance(v, str):
                _remember(v)
        return {str(k): str(v) for k, v in doc.items()}


def ingest_key(secrets: Secrets) -> tuple[str, str]:
    """The ingest API key (``key_id``, ``key_secret``) every scheduled function posts with."""
    f = secrets.fields(INGEST_KEY.name)
    return f["key_id"], f["key_secret"]


def arn_fetcher(env: Mapping[str, str], read: Callable[[str], str]) -> Callable[[SecretRef], str | None]:
    """The Lambda fetcher: ``read(arn)`` for the secrets named in ``CLOUDTALLY_SECRET_ARNS``."""
    raw = env.get(ENV_SECRET_ARNS) or "{}"
    try:
        arns: dict[str, Any] = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{ENV_SECRET_ARNS} must be a JSON object of secret name to ARN") from None

    def fetch(ref: SecretRef) -> str | None:
        arn = arns.get(ref.name) or arns.get(ref.aws_name)
        return read(arn) if arn else None
    return fetch
