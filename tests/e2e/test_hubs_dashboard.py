"""The hubs on the dashboard, in headless Chromium: the LLM page (training runs, loss curves, GPU, cost per run;
RAG latency percentiles, relevance, tokens, cost per 1 000 queries), cluster health on the Infrastructure page,
SLA compliance per service on the COO page, and the CFO/COO/Infrastructure classes showing the pages' numbers.

Data goes in as a user's code sends it: the hubs (batched) and cost records for the GPU nodes, at the stack's
pinned clock (``E2E_NOW``).
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from tests.e2e.conftest import screenshot
from tests.e2e.test_dashboard import wait_ready

pytestmark = pytest.mark.e2e
RUNS = {"llm-e2e-a": ("llama-3-8b-ft", 1500), "llm-e2e-b": ("mistral-7b-ft", 400)}


@pytest.fixture(scope="module")
def hub_data(demo_stack):
    from cloudtally.client import Client
    from cloudtally.observability import ObservabilityHub, ServiceMetrics, SystemMetrics
    from cloudtally.observability.llm_observability import LLMObservabilityHub, LLMTrainingMetrics, RAGPipelineMetrics
    k = demo_stack["keys"]["ingest"]
    client = Client(demo_stack["url"], k["id"], k["secret"], base_delay=0.05, max_delay=0.5)
    now = demo_stack["now"]
    ts = now.timestamp()
    obs = ObservabilityHub(client=client)
    obs.register_cluster("e2e-gpu", ["e2e-gpu-1", "e2e-gpu-2"], region="us-east-1")
    obs.register_cluster("e2e-down", ["e2e-down-1"])
    for node, gpu in (("e2e-gpu-1", 91.0), ("e2e-gpu-2", 87.0)):
        for age in (1700, 1500, 60):      # two points inside both runs, the latest one for health
            obs.collect_system_metrics(SystemMetrics(ts - age, 70.0, 55.0, 40.0, gpu, "e2e-gpu", node))
    obs.collect_system_metrics(SystemMetrics(ts - 7200, 20.0, 20.0, 20.0, None, "e2e-down", "e2e-down-1"))
    obs.register_service("e2e-checkout", "e2e-gpu", sla_target=99.0)
    obs.register_service("e2e-search", "e2e-gpu")
    for i, rate in enumerate((99.5, 98.5, 99.95)):
        obs.collect_service_metrics(ServiceMetrics("e2e-checkout", ts - 300 * (i + 1), 1000, rate, 42.0, "running"))
    obs.collect_service_metrics(ServiceMetrics("e2e-search", ts - 120, 400, 99.95, 12.0, "running"))
    obs.flush()
    hour0 = now.replace(minute=0, second=0, microsecond=0)
    client.send_records([{"ProviderName": "AWS", "BillingAccountId": "123456789012", "ServiceName": "Amazon EC2",
                          "ResourceId": node, "ChargePeriodStart": (hour0 + timedelta(hours=h)).isoformat(),
                          "ChargePeriodEnd": (hour0 + timedelta(hours=h + 1)).isoformat(), "BilledCost": "32.77",
                          "BillingCurrency": "USD", "x_CostSource": "estimated"}
                         for node in ("e2e-gpu-1", "e2e-gpu-2") for h in (-1, 0)])
    llm = LLMObservabilityHub(client=client, cluster_id="e2e-gpu", embedding_model="text-embedding-3-small",
                              generation_model="gpt-4o-mini")
    for run, (model, steps) in RUNS.items():
        for s in range(steps):
            llm.collect_llm_training_metrics(LLMTrainingMetrics(
                run_id=run, model_name=model, epoch=0, step=s, training_loss=2.5 - s / (steps * 1.25),
                validation_loss=None, learning_rate=0.0002, gpu_memory_mb=60000, batch_size=16,
                throughput_samples_per_sec=250.0 + s % 7, timestamp=ts - 1800 + s))
    for i in range(300):
        llm.collect_rag_pipeline_metrics(RAGPipelineMetrics(
            pipeline_id="e2e-rag", query=f"how do I {i % 17}?", retrieval_time_ms=20.0 + i % 50,
            generation_time_ms=100.0 + i % 90, total_time_ms=120.0 + i % 140, relevance_score=0.5 + (i % 50) / 100,
            num_retrieved_docs=4, embedding_tokens=30, generation_tokens=120, timestamp=ts - 900 + i))
    llm.flush()
    assert llm.requests_sent <= 4, llm.requests_sent     # 2 200 elements in batches of 1 000
    r = demo_stack["keys"]["read"]
    return {"client": Client(demo_stack["url"], r["id"], r["secret"])}


def api(stack, path, **params):
    k = stack["keys"]["read"]
    r = requests.get(stack["url"] + path, params=params, timeout=60,
                     headers={"X-CloudTally-Key-Id": k["id"], "X-CloudTally-Key-Secret": k["secret"]})
    assert r.status_code == 200, r.text
    return r.json()


def usd4(amount: str) -> str:
    return f"${Decimal(amount).quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):,.4f}"


def test_llm_page_shows_runs_curves_gpu_cost_and_rag(page, dashboard, demo_stack, hub_data):
    api_calls = []
    page.on("request", lambda r: r.url.startswith(demo_stack["url"]) and r.method != "OPTIONS" and api_calls.append(r.url))
    t0 = time.perf_counter()
    page.goto(dashboard["url"] + "/dashboard/llm")
    wait_ready(page)
    usable = (time.perf_counter() - t0) * 1000
    assert page.get_attribute("#status", "data-state") == "ready", page.text_content("#status")
    assert page.locator("nav.pages a[data-view='llm']").get_attribute("aria-current") == "page"
    view = api(demo_stack, "/v1/dashboard/llm")
    runs = {r["run_id"]: r for r in view["runs"]}
    assert set(RUNS) <= set(runs)
    rows = page.locator("#runs-table tbody tr")
    texts = {rows.nth(i).locator("td").nth(0).text_content(): rows.nth(i) for i in range(rows.count())}
    for run in RUNS:
        r, row = runs[run], texts[run]
        cells = [row.locator("td").nth(j).text_content() for j in range(9)]
        assert cells[1] == RUNS[run][0] and cells[2] == str(RUNS[run][1])
        assert cells[6] == "89.0 %"              # the nodes' GPU metric points over the run (91, 87)
        assert cells[7] == usd4(r["cost_per_run"]) and r["cost_per_run"] is not None
        assert cells[8] == usd4(r["cost_per_1000_samples"])
        assert page.locator(f"[id='chart-loss-{run}']").count() == 1
    assert int(page.get_attribute("[id='chart-loss-llm-e2e-a']", "data-points")) == len(runs["llm-e2e-a"]["loss_curve"])
    pipe = {p["pipeline_id"]: p for p in view["pipelines"]}["e2e-rag"]
    prow = page.locator("#pipelines-table tbody tr", has_text="e2e-rag")
    pcells = [prow.locator("td").nth(j).text_content() for j in range(9)]
    assert pcells[1] == "300" and pcells[7] == usd4(pipe["cost_per_1000_queries"])
    assert pcells[2] == f"{pipe['p50_total_time_ms']} ms / {pipe['p95_total_time_ms']} ms".replace(".0 ms", ".0 ms")
    assert page.locator("#chart-latency").count() == 1
    screenshot(page, "llm")
    assert page.console_errors == [] and len(api_calls) <= 3, (page.console_errors, api_calls)
    print(f"llm: usable {usable:.0f} ms with {len(api_calls)} API call(s)")


def test_infrastructure_page_shows_cluster_health_by_the_rule(page, dashboard, demo_stack, hub_data):
    page.goto(dashboard["url"] + "/dashboard/infrastructure")
    wait_ready(page)
    health = api(demo_stack, "/v1/observability/clusters")["clusters"]
    for cid, status in (("e2e-gpu", "healthy"), ("e2e-down", "critical")):
        assert health[cid]["health_status"] == status
        row = page.locator("#cluster-health-table tbody tr", has_text=cid).first
        assert row.locator("[data-status]").text_content() == status
    assert "1 of 1" not in page.locator("#cluster-health-table tbody tr", has_text="e2e-down").first.text_content()
    assert "within the last 15 minutes" in page.text_content("#health-rule")
    from cloudtally.dashboard import InfrastructureLeaderDashboard
    util = InfrastructureLeaderDashboard(hub_data["client"]).get_resource_utilization()
    assert page.text_content("#util-gpu .kpi-value") == f"{util.gpu_percent} %"
    assert page.text_content("#util-cpu .kpi-value") == f"{util.cpu_percent} %"
    assert page.console_errors == []


def test_coo_page_shows_sla_compliance_per_service(page, dashboard, demo_stack, hub_data):
    page.goto(dashboard["url"] + "/dashboard/coo")
    wait_ready(page)
    from cloudtally.dashboard import COODashboard
    m = COODashboard(hub_data["client"]).get_operational_metrics()
    svc = {s["service_name"]: s for s in m.services}
    assert svc["e2e-checkout"]["sla_compliance"] == Decimal("66.7")     # 2 of 3 intervals at ≥ 99 %
    row = page.locator("#sla-table tbody tr", has_text="e2e-checkout")
    assert "66.7 %" in row.text_content() and "2 of 3" in row.text_content()
    assert page.text_content("#sla-compliance .kpi-value") == f"{m.sla_compliance} %"
    assert "share of complying intervals" in page.text_content("#sla-definition")
    assert page.console_errors == []


def test_cfo_page_and_class_show_the_same_figures(page, dashboard, demo_stack, hub_data):
    from cloudtally.dashboard import CFODashboard
    report = CFODashboard(hub_data["client"]).generate_financial_report()
    page.goto(dashboard["url"] + f"/dashboard/cfo?from={report.start}&to={report.end}")
    wait_ready(page)
    assert page.get_attribute("#total-spend .kpi-value", "data-amount") == str(report.total_spend)
    assert page.get_attribute("#ai-ml-spend .kpi-value", "data-amount") == str(report.ai_ml_spend)
    assert page.text_content("#ai-ml-roi .kpi-value") == "n/a" and report.ai_ml_roi is None
    assert page.text_content("#budget-utilization .kpi-value") == f"{report.budget_utilization} %"
    assert report.ai_ml_spend > 0       # the training runs' GPU nodes
    assert page.console_errors == []
