"""The OpenFinOps docs' CostObservatory example runs unchanged (but for the imports) on the local stack."""

from __future__ import annotations

import builtins
import contextlib
import io
import textwrap
import types
from decimal import Decimal

import pytest

pytestmark = pytest.mark.integration

# seeds/002 ("CostObservatory" section), snippets in order; only the import lines differ
DOCS_EXAMPLE = '''
import time
from cloudtally.hub.cost_observatory import CostObservatory

cost_obs = CostObservatory()

from cloudtally.hub.cost_observatory import CostEntry

entry = CostEntry(
    timestamp=time.time(),
    provider="aws",
    service="ec2",
    resource_id="i-1234567890abcdef0",
    cost_usd=3.50,  # hourly cost
    region="us-west-2",
    tags={"team": "ml-research", "project": "llm-training"}
)

cost_obs.add_cost_entry(entry)

from cloudtally.hub.cost_observatory import Budget

budget = Budget(
    budget_id="monthly-ai-budget",
    name="AI/ML Monthly Budget",
    amount_usd=50000.0,
    period="monthly",
    scope={
        "provider": "aws",
        "tags": {"team": "ml-research"}
    },
    alert_threshold=0.8  # Alert at 80%
)

cost_obs.create_budget(budget)

# Last 24 hours
summary = cost_obs.get_cost_summary(time_range_hours=24)

print(f"Total Cost: ${summary['total_cost']:.2f}")
print(f"By Provider:")
for provider, cost in summary['by_provider'].items():
    print(f"  {provider}: ${cost:.2f}")

print(f"By Service:")
for service, cost in summary['by_service'].items():
    print(f"  {service}: ${cost:.2f}")

print(f"Top Resources:")
for resource in summary['top_resources'][:5]:
    print(f"  {resource['resource_id']}: ${resource['cost']:.2f}")

status = cost_obs.get_budget_status()

for budget_id, info in status.items():
    print(f"{info['name']}:")
    print(f"  Budget: ${info['amount']:.2f}")
    print(f"  Spent: ${info['spent']:.2f}")
    print(f"  Remaining: ${info['remaining']:.2f}")
    print(f"  Percentage: {info['percentage_used']:.1f}%")
    print(f"  Status: {info['status']}")  # ok, warning, exceeded

# seeds/004: the same budget with start_time (create_budget again replaces it)
budget = Budget( budget_id="monthly-ai-budget", name="AI/ML Monthly Budget", amount_usd=50000.0, period="monthly", start_time=time.time(), scope={"provider": "aws", "tags": {"team": "ml-research"}}, alert_threshold=0.8 ) # Alert at 80%
cost_obs.create_budget(budget)
'''


def pinned_imports(now) -> dict:
    """Builtins for the example whose ``import time`` gives a clock pinned at ``now`` (the example's text
    stays the docs' own; only the clock it reads is the test's)."""
    clock = types.SimpleNamespace(time=lambda: now.timestamp())
    real = builtins.__import__

    def imp(name, *args, **kwargs):
        return clock if name == "time" else real(name, *args, **kwargs)

    return {**vars(builtins), "__import__": imp}


def test_docs_cost_observatory_example_runs_against_the_api(live_api, monkeypatch):
    admin = live_api["keys"]["admin"]
    monkeypatch.setenv("CLOUDTALLY_API_URL", live_api["url"])
    monkeypatch.setenv("CLOUDTALLY_API_KEY_ID", admin["id"])
    monkeypatch.setenv("CLOUDTALLY_API_KEY_SECRET", admin["secret"])
    # the example, the observatory and the API all run at the API's pinned clock
    monkeypatch.setenv("CLOUDTALLY_NOW", live_api["now"].isoformat())
    out = io.StringIO()
    ns: dict = {"__builtins__": pinned_imports(live_api["now"])}
    with contextlib.redirect_stdout(out):
        exec(compile(textwrap.dedent(DOCS_EXAMPLE), "openfinops-docs-example", "exec"), ns)
    text = out.getvalue()
    assert "Total Cost: $3.50" in text
    assert "  aws: $3.50" in text and "  ec2: $3.50" in text
    assert "  i-1234567890abcdef0: $3.50" in text
    assert "AI/ML Monthly Budget:\n  Budget: $50000.00\n  Spent: $3.50\n  Remaining: $49996.50\n" in text
    assert "  Percentage: 0.0%\n  Status: ok" in text
    # backed by the API, not by memory: a fresh observatory sees the same data
    fresh = ns["CostObservatory"]()
    st = fresh.get_budget_status()["monthly-ai-budget"]
    assert st["spent"] == Decimal("3.5") and st["thresholds"][0]["percentage"] == "80"
    from cloudtally.store.budgets_repo import BudgetRepo
    stored = BudgetRepo(live_api["store"]).get("monthly-ai-budget")
    assert stored.scope == {"provider": ["AWS"], "tags": {"team": ["ml-research"]}}
    assert stored.start == live_api["now"].date()
