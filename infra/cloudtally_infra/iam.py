"""Least-privilege statements for a collector: exactly the actions its CollectorSpec declares.

The grouping (and the written reason for every ``*`` resource) lives in :mod:`cloudtally.infra_render` so the
CDK stack and serverless.yml grant the same thing.
"""

from cloudtally.infra_render import WILDCARD_REASONS, Scopes, statements  # noqa: F401
