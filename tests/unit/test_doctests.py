"""The docstring examples of the library are tested (skipped ones say so with ``# doctest: +SKIP``)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["cloudtally.periods", "cloudtally.clock", "cloudtally.money", "cloudtally.focus",
           "cloudtally.collectors.config", "cloudtally.collectors.registry", "cloudtally.collectors.runner",
           "cloudtally.catalog", "cloudtally.infra_render", "cloudtally.api.inprocess", "cloudtally.client",
           "cloudtally.telemetry.otlp", "cloudtally.telemetry.systeminfo", "cloudtally.telemetry.hosts",
           "cloudtally.agents.host.config"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0
