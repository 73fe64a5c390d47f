"""Names shared by the CDK app, serverless.yml and scripts/build_lambdas.py: they live in the library
(:mod:`cloudtally.infra_render`) so both deploy paths read one definition."""

from __future__ import annotations

from cloudtally.infra_render import (ALERTS_HANDLER, ALERTS_MEMORY_MB, ALERTS_SCHEDULE, ALERTS_TIMEOUT_S,  # noqa: F401
                                     ALERTS_STREAM_BATCH_SIZE, ALERTS_STREAM_FILTER, ALERTS_STREAM_MAX_AGE_S,
                                     ALERTS_STREAM_RETRIES, ALERTS_STREAM_VIEW, ALERTS_STREAM_WINDOW_S,
                                     API_HANDLER, API_MEMORY_MB, API_TIMEOUT_S, COLLECTOR_HANDLER, ENV_COLLECTOR,
                                     ENV_COLLECTOR_CONFIG, ENV_SECRET_ARNS, ROOT, RUNTIME, collector_artifact,
                                     function_actions, lambda_placements, logical)

BUILD_DIR = ROOT / "build" / "lambda"
