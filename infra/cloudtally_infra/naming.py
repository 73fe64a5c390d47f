"""Names shared by the CDK app, serverless.yml and scripts/build_lambdas.py (one place, no drift)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "build" / "lambda"
RUNTIME = "python3.13"           # Lambda runtime; artifacts are built for it (scripts/build_lambdas.py)
COLLECTOR_HANDLER = "handler.handler"    # functions/aws/handler.py, the event names the collector
ALERTS_HANDLER = "handler.handler"       # functions/alerts/handler.py
API_HANDLER = "app.app"                  # the Chalice app
ALERTS_SCHEDULE = "rate(1 hour)"
ALERTS_MEMORY_MB = 512
ALERTS_TIMEOUT_S = 300
API_MEMORY_MB = 512
API_TIMEOUT_S = 29               # API Gateway's integration timeout


def collector_artifact(name: str) -> str:
    """Artifact (and function) name of a collector: ``collector-<name>``."""
    return f"collector-{name}"


def logical(name: str) -> str:
    """A CloudFormation-safe PascalCase id from a registry name (``aws-billing-export`` → ``AwsBillingExport``)."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name) if p)


def aws_specs():
    """The registry's collectors whose scheduled function runs on AWS Lambda."""
    from cloudtally.collectors.registry import all_specs
    return [s for s in all_specs() if s.platform == "aws"]
