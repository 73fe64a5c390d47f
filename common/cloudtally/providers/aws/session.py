"""boto3 clients per (service, region, account), created on first use and counted per call.

The only module that builds AWS clients: the collectors, the billing-export importer, the agent and
the Lambda handler's secret reader all get theirs from :class:`AwsClients`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

from ...errors import ConfigError

ENV_ENDPOINT = "AWS_ENDPOINT_URL"          # boto3's own variable; also how moto server / LocalStack are reached
ENV_LOCALSTACK_HOST = "LOCALSTACK_HOST"    # localstack-client convention: host:port


def endpoint_url() -> str | None:
    """The endpoint override for every client (moto server, LocalStack), from the environment."""
    url = os.environ.get(ENV_ENDPOINT)
    if url:
        return url
    host = os.environ.get(ENV_LOCALSTACK_HOST)
    if host:
        if ":" not in host:
            raise ConfigError(f"{ENV_LOCALSTACK_HOST} must be host:port, got {host!r}")
        return host if host.startswith("http") else f"http://{host}"
    return None


class AwsClients:
    """boto3 clients per (service, region, account), created on first use, counted per call.

    Member accounts are reached by assuming ``role_arn`` from the config's ``accounts`` list
    (objects with ``account_id``, ``role_arn`` and an optional ``external_id``).
    """

    def __init__(self, accounts: list[Any] | None = None, *, session: Any = None, endpoint: str | None = None):
        import boto3  # the SDK is imported when clients are made, never at module import

        self.accounts = {str(_get(a, "account_id")): a for a in accounts or []}
        self.session = session or boto3.Session()
        self.endpoint = endpoint if endpoint is not None else endpoint_url()
        self._clients: dict[tuple, Any] = {}
        self._sessions: dict[str, Any] = {}
        self._ctx: Any = None
        self.self_account: str | None = None       # the caller's own account, once known
        self.calls: dict[str, int] = defaultdict(int)

    def bind(self, ctx: Any) -> None:
        """Count calls into a collector run's context (``ctx.count_call``)."""
        self._ctx = ctx

    def _count(self, model: Any = None, **kw: Any) -> None:
        svc = model.service_model.endpoint_prefix if model is not None else "unknown"
        op = model.name if model is not None else "unknown"
        self.calls[f"{svc}:{op}"] += 1
        if self._ctx is not None:
            self._ctx.count_call(svc, op)

    def _session_for(self, account: str | None) -> Any:
        if account is None:
            return self.session
        s = self._sessions.get(account)
        if s is not None:
            return s
        acct = self.accounts.get(account)
        if acct is None or not _get(acct, "role_arn"):
            return self.session
        import boto3
        kw = {"RoleArn": _get(acct, "role_arn"), "RoleSessionName": "cloudtally-collector"}
        if _get(acct, "external_id"):
            kw["ExternalId"] = _get(acct, "external_id")
        creds = self.client("sts", None).assume_role(**kw)["Credentials"]
        s = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"])
        self._sessions[account] = s
        return s

    def client(self, service: str, region: str | None, account: str | None = None) -> Any:
        key = (service, region, account)
        c = self._clients.get(key)
        if c is None:
            from botocore.config import Config
            region_name = region or self.session.region_name or "us-east-1"
            kw: dict[str, Any] = {"region_name": region_name,
                                  "config": Config(retries={"mode": "adaptive", "max_attempts": 8},
                                                   connect_timeout=10, read_timeout=60)}
            if self.endpoint:
                kw["endpoint_url"] = self.endpoint
            c = self._session_for(account).client(service, **kw)
            c.meta.events.register("before-call", self._count)
            self._clients[key] = c
        return c


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def read_secret(arn: str, *, clients: AwsClients | None = None) -> str:
    """A Secrets Manager secret's string (the Lambda handler reads the ingest key and collector secrets)."""
    from .errors import to_provider_error
    try:
        return (clients or AwsClients()).client("secretsmanager", None).get_secret_value(SecretId=arn)["SecretString"]
    except Exception as e:
        mapped = to_provider_error(e)
        if mapped is None:
            raise
        raise mapped from e
