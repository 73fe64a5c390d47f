"""Typed settings read from the environment once; a bad value names its variable.

Every environment variable CloudTally reads is a constant here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from .clock import ENV_NOW  # noqa: F401  (CLOUDTALLY_NOW; every variable is a constant here)
from .clock import SYSTEM, Clock, from_env as clock_from_env
from .errors import ConfigError

ENV_TABLE = "CLOUDTALLY_TABLE"
ENV_DYNAMODB_ENDPOINT = "CLOUDTALLY_DYNAMODB_ENDPOINT"
ENV_REGION = "AWS_REGION"
ENV_ROLLUP_TAG_KEYS = "CLOUDTALLY_ROLLUP_TAG_KEYS"
DEFAULT_ROLLUP_TAG_KEYS = "team,project,environment,cost-center"
ENV_CORS_ORIGIN = "CLOUDTALLY_CORS_ORIGIN"
ENV_MAX_BATCH_RECORDS = "CLOUDTALLY_MAX_BATCH_RECORDS"
ENV_MAX_BODY_BYTES = "CLOUDTALLY_MAX_BODY_BYTES"
ENV_KEY_PEPPER = "CLOUDTALLY_KEY_PEPPER"
ENV_AUTH_CACHE_SECONDS = "CLOUDTALLY_AUTH_CACHE_SECONDS"
ENV_METRIC_TTL_DAYS = "CLOUDTALLY_METRIC_TTL_DAYS"
ENV_SNS_TOPIC_ARN = "CLOUDTALLY_SNS_TOPIC_ARN"
ENV_DASHBOARD_URL = "CLOUDTALLY_DASHBOARD_URL"
ENV_API_URL = "CLOUDTALLY_API_URL"
ENV_OPENFINOPS_ENDPOINT = "OPENFINOPS_ENDPOINT"   # the OpenFinOps docs' variable (Kubernetes, systemd examples)
DEFAULT_API_URL = "http://localhost:8080"          # the OpenFinOps docs' default server (and `make up`'s API)
ENV_API_KEY_ID = "CLOUDTALLY_API_KEY_ID"
ENV_API_KEY_SECRET = "CLOUDTALLY_API_KEY_SECRET"
ENV_SPOOL_DIR = "CLOUDTALLY_SPOOL_DIR"


def _int(name: str, default: int, lo: int, hi: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw[:20]!r}") from None
    if not lo <= v <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {v}")
    return v


@dataclass(frozen=True)
class Settings:
    table: str = "cloudtally"
    dynamodb_endpoint: str | None = None
    region: str = "us-east-1"
    rollup_tag_keys: tuple[str, ...] = ("team", "project", "environment", "cost-center")
    cors_origin: str = "*"
    max_batch_records: int = 5000
    max_body_bytes: int = 5 * 1024 * 1024
    key_pepper: str = field(default="", repr=False)
    auth_cache_seconds: int = 30
    metric_ttl_days: int = 30
    sns_topic_arn: str | None = None
    dashboard_url: str | None = None
    clock: Clock = SYSTEM             # CLOUDTALLY_NOW pins it (cloudtally.clock)

    def sanitized(self) -> dict:
        """The settings as printable data, with secrets redacted."""
        d = dict(self.__dict__)
        d["key_pepper"] = "***" if self.key_pepper else ""
        d["clock"] = self.clock.describe() or "system"
        return d


def rollup_tag_keys() -> tuple[str, ...]:
    """The allocation tag keys the rollups keep (``CLOUDTALLY_ROLLUP_TAG_KEYS``, at most 8)."""
    tags = tuple(t.strip() for t in os.environ.get(ENV_ROLLUP_TAG_KEYS, DEFAULT_ROLLUP_TAG_KEYS).split(",")
                 if t.strip())
    if len(tags) > 8:
        raise ConfigError(f"{ENV_ROLLUP_TAG_KEYS} takes at most 8 tag keys")
    return tags


def load_settings() -> Settings:
    env = os.environ
    table = env.get(ENV_TABLE, "cloudtally")
    if not 3 <= len(table) <= 255:
        raise ConfigError(f"{ENV_TABLE} must be a DynamoDB table name")
    tags = rollup_tag_keys()
    return Settings(
        table=table,
        dynamodb_endpoint=env.get(ENV_DYNAMODB_ENDPOINT) or None,
        region=env.get(ENV_REGION) or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        rollup_tag_keys=tags,
        cors_origin=env.get(ENV_CORS_ORIGIN, "*"),
        max_batch_records=_int(ENV_MAX_BATCH_RECORDS, 5000, 1, 100000),
        max_body_bytes=_int(ENV_MAX_BODY_BYTES, 5 * 1024 * 1024, 1024, 6 * 1024 * 1024),
        key_pepper=env.get(ENV_KEY_PEPPER, ""),
        auth_cache_seconds=_int(ENV_AUTH_CACHE_SECONDS, 30, 0, 3600),
        metric_ttl_days=_int(ENV_METRIC_TTL_DAYS, 30, 1, 3650),
        sns_topic_arn=env.get(ENV_SNS_TOPIC_ARN) or None,
        dashboard_url=env.get(ENV_DASHBOARD_URL) or None,
        clock=clock_from_env(env),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()
