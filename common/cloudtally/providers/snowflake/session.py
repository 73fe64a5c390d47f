"""The Snowflake connection of one run: key-pair authentication (the private key from the secret store),
password accepted with a warning; every query counted into the run by the view it reads."""

from __future__ import annotations

import logging
from typing import Any

from ...errors import ConfigError

log = logging.getLogger("cloudtally.providers.snowflake")
PASSWORD_WARNING = ("snowflake: authenticating with a password; Snowflake is blocking single-factor password sign-in "
                    "for service users: configure key-pair authentication (secret snowflake-private-key)")


def der_private_key(pem: str, passphrase: str | None = None) -> bytes:
    """A PEM private key (PKCS#8 or PKCS#1, optionally encrypted) as the DER PKCS#8 bytes the connector takes."""
    from cryptography.hazmat.primitives import serialization
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=passphrase.encode() if passphrase else None)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"snowflake: the private key (secret snowflake-private-key) cannot be read: {e}",
                          code="bad_secret") from None
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class SnowflakeClients:
    """One connection, opened on the first query; ``query(view, sql, params)`` returns rows as dicts."""

    def __init__(self, *, account: str, user: str, private_key: bytes | None = None, password: str | None = None,
                 role: str | None = None, warehouse: str | None = None, connect_kwargs: dict[str, Any] | None = None):
        if not account or not user:
            raise ConfigError("snowflake: set account and user (or SNOWFLAKE_ACCOUNT / SNOWFLAKE_USER)",
                              code="missing_setting")
        if private_key is None and not password:
            raise ConfigError("snowflake: no credentials: store the service user's private key in the secret "
                              "snowflake-private-key (SNOWFLAKE_PRIVATE_KEY), or a password in SNOWFLAKE_PASSWORD",
                              code="missing_secret")
        self.account, self.user, self.role, self.warehouse = account, user, role, warehouse
        self._key, self._password = private_key, password
        self.auth = "key-pair" if private_key is not None else "password"
        self.connect_kwargs = dict(connect_kwargs or {})
        self._conn: Any = None
        self._ctx: Any = None
        self.calls: dict[str, int] = {}

    def __repr__(self) -> str:   # never a credential
        return f"SnowflakeClients(account={self.account!r}, user={self.user!r}, auth={self.auth!r})"

    def bind(self, ctx: Any) -> None:
        self._ctx = ctx
        if self.auth == "password":
            ctx.logger.warning(PASSWORD_WARNING)

    def connection(self) -> Any:
        if self._conn is None:
            import snowflake.connector
            kw: dict[str, Any] = {"account": self.account, "user": self.user, "application": "CloudTally",
                                  "session_parameters": {"TIMEZONE": "UTC", "QUERY_TAG": "cloudtally-collector"},
                                  **self.connect_kwargs}
            if self._key is not None:
                kw["private_key"] = self._key
            else:
                kw["password"] = self._password
            if self.role:
                kw["role"] = self.role
            if self.warehouse:
                kw["warehouse"] = self.warehouse
            self._conn = snowflake.connector.connect(**kw)
        return self._conn

    def query(self, view: str, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Run ``sql`` (pyformat ``%(name)s`` parameters, bound by the connector) and return its rows."""
        key = f"snowflake:{view}"
        self.calls[key] = self.calls.get(key, 0) + 1
        if self._ctx is not None:
            self._ctx.count_call("snowflake", view)
        cur = self.connection().cursor()
        try:
            cur.execute(sql, params)
            cols = [d[0].upper() for d in cur.description]
            return [dict(zip(cols, row)) for row in cur.fetchall()]
        finally:
            cur.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
