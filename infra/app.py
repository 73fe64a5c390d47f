"""CDK entry point (cdk.json runs it with .venv/bin/python): the CloudTally stack with cdk-nag AwsSolutions."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from cloudtally_infra.stack import CloudTallyStack  # noqa: E402
from cloudtally_infra.nag import suppress_framework  # noqa: E402


def build(app: cdk.App | None = None, *, placements=None) -> tuple[cdk.App, CloudTallyStack]:
    """The app and its stack; tests call this with their own App (context) and, if needed, placements."""
    app = app or cdk.App()
    name = app.node.try_get_context("stackName") or "CloudTally"
    stack = CloudTallyStack(app, name, placements=placements, description="CloudTally: serverless FinOps (FOCUS cost records)")
    suppress_framework(stack)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


if __name__ == "__main__":
    build()[0].synth()
