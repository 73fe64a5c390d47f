"""The observability hubs over HTTP: clusters, services, health with its rule, SLA, LLM training runs and RAG
pipelines with exact summaries and costs, query text never stored unless asked, per-element errors.

The API runs at the pinned ``LIVE_NOW`` (2026-12-15 09:30 UTC); the hubs' timestamps are set from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
import requests

from cloudtally.client import Client
from cloudtally.observability import NotCollected, ObservabilityHub, ServiceMetrics, SystemMetrics
from cloudtally.observability.llm_observability import LLMObservabilityHub, LLMTrainingMetrics, RAGPipelineMetrics
from tests.helpers import key_headers

pytestmark = pytest.mark.integration
Q6 = Decimal("0.000001")


@pytest.fixture(scope="module")
def stack(module_live_api):
    k = module_live_api["keys"]
    admin = Client(module_live_api["url"], k["admin"]["id"], k["admin"]["secret"], base_delay=0.05, max_delay=0.5)
    return {**module_live_api, "client": admin, "ts": module_live_api["now"].timestamp()}


def post(stack, path, body, scope="ingest", **kw):
    return requests.post(stack["url"] + path, data=json.dumps(body), timeout=30,
                         headers=key_headers(stack["keys"][scope], **{"Content-Type": "application/json"}), **kw)


def get(stack, path, scope="read", **params):
    return requests.get(stack["url"] + path, params=params, timeout=60, headers=key_headers(stack["keys"][scope]))


def test_cluster_health_follows_the_stated_rule(stack):
    hub = ObservabilityHub(client=stack["client"])
    now = stack["ts"]
    hub.register_cluster("gpu-a", ["a1", "a2", "a3", "a4"], region="us-west-2")
    hub.register_cluster("gpu-b", ["b1", "b2"])
    hub.register_cluster("gpu-silent", ["s1"])
    # gpu-a: a1, a2 fresh and fine, a3 fresh with a full disk, a4 last seen 2 h ago -> 2 of 4 healthy: degraded
    for node, age, disk in (("a1", 60, 40.0), ("a2", 30, 50.5), ("a3", 10, 97.0), ("a4", 7200, 20.0)):
        hub.collect_system_metrics(SystemMetrics(timestamp=now - age, cpu_usage=80.0, memory_usage=60.0,
                                                 disk_usage=disk, gpu_usage=90.0, cluster_id="gpu-a", node_id=node))
    for node in ("b1", "b2"):
        hub.collect_system_metrics(SystemMetrics(timestamp=now - 5, cpu_usage=10.25, memory_usage=20.0,
                                                 disk_usage=30.0, cluster_id="gpu-b", node_id=node))
    # a cluster nobody registered, seen in the metrics only
    hub.collect_system_metrics(SystemMetrics(timestamp=now - 5, cpu_usage=50.0, memory_usage=99.0, disk_usage=1.0,
                                             gpu_usage=None, cluster_id="adhoc", node_id="x1"))
    assert hub.requests_sent == 0          # nothing sent yet: batched
    health = hub.get_cluster_health_summary()
    assert hub.requests_sent == 1          # one request for all eight metrics
    a, b, s, x = health["gpu-a"], health["gpu-b"], health["gpu-silent"], health["adhoc"]
    assert (a["health_status"], a["total_nodes"], a["healthy_nodes"]) == ("degraded", 4, 2)
    assert a["avg_cpu_usage"] == Decimal("80.0") and a["avg_gpu_usage"] == Decimal("90.0")
    assert a["avg_disk_usage"] == Decimal("62.5")     # a1..a3 (a4 is stale): (40 + 50.5 + 97) / 3 = 62.5
    reasons = {n["node_id"]: n["reason"] for n in a["nodes"]}
    assert "disk at 97" in reasons["a3"] and "more than 15 min ago" in reasons["a4"] and reasons["a1"] is None
    assert "within the last 15 minutes" in a["health_rule"] and "degraded when at least half" in a["health_rule"]
    assert b["health_status"] == "healthy" and b["avg_cpu_usage"] == Decimal("10.2")   # 10.25 half-even to 0.1
    assert isinstance(b["avg_gpu_usage"], NotCollected) and f"{b['avg_gpu_usage']:.1f}" == "not collected"
    assert s["health_status"] == "unknown" and s["healthy_nodes"] == 0 and s["nodes"][0]["reason"] == "never reported"
    assert x["registered"] is False and x["health_status"] == "critical"           # memory 99 % on its one node


def test_sla_per_service_against_targets(stack):
    hub = ObservabilityHub(client=stack["client"])
    now = stack["ts"]
    hub.register_service("checkout", "gpu-a", dependencies=["db"], sla_target=99.0)
    hub.register_service("search", "gpu-a")           # the default target, 99.9 %
    for i, (rate, reqs) in enumerate(((99.5, 1000), (98.0, 1000), (99.9, 2000))):
        hub.collect_service_metrics(ServiceMetrics("checkout", now - 600 * (i + 1), reqs, rate, 40.0 + i, "running"))
    hub.collect_service_metrics(ServiceMetrics("search", now - 60, 500, 99.95, 12.0, "degraded"))
    res = hub.get_service_sla()
    svc = {s["service_name"]: s for s in res["services"]}
    c = svc["checkout"]
    assert (c["intervals"], c["compliant_intervals"], c["sla_target"]) == (3, 2, Decimal("99.0"))
    assert c["sla_compliance"] == Decimal("66.7")
    # request-weighted: (1000×99.5 + 1000×98 + 2000×99.9) / 4000 = 99.325
    assert c["availability"] == Decimal("99.325") and c["meets_target"] is True
    assert svc["search"]["sla_target"] == Decimal("99.9") and svc["search"]["status"] == "degraded"
    assert res["sla_compliance"] == Decimal("75.0")    # 3 of 4 intervals over all services
    assert "share of complying intervals" in res["definition"]


def _training_run(run_id, steps, now, **extra):
    rnd = random.Random(run_id)
    out = []
    for s in range(steps):
        loss = Decimal(rnd.randint(1000, 9000)) / 1000
        out.append(LLMTrainingMetrics(run_id=run_id, model_name="gpt-custom-7b", epoch=s // 1000, step=s,
                                      training_loss=float(loss), validation_loss=None if s % 7 else float(loss + 1),
                                      learning_rate=0.0001, gpu_memory_mb=40000 + s % 5, batch_size=32 + s % 3,
                                      throughput_samples_per_sec=float(Decimal(rnd.randint(1000, 2000)) / 10),
                                      timestamp=now - steps + s, **extra))
    return out


def _expected_training(ms):
    losses = [Decimal(repr(m.training_loss)) for m in ms]
    tps = [Decimal(repr(m.throughput_samples_per_sec)) for m in ms]
    best = min(range(len(ms)), key=lambda i: (losses[i], i))
    return {"total_steps": len(ms), "current_step": ms[-1].step, "current_loss": losses[-1], "best_loss": losses[best],
            "best_loss_step": ms[best].step, "total_samples": Decimal(sum(m.batch_size for m in ms)),
            "avg_throughput_samples_per_sec": (sum(tps) / len(tps)).quantize(Q6, rounding=ROUND_HALF_EVEN)}


def test_training_summary_is_exact_and_costs_the_run_from_its_nodes(stack):
    now = stack["ts"]
    obs = ObservabilityHub(client=stack["client"])
    obs.register_cluster("train-1", ["gpu-node-1", "gpu-node-2"], region="us-east-1")
    # the nodes' hourly cost: 2 nodes × 4.00 USD/h for the hours around the run; an unrelated resource too
    hour0 = stack["now"].replace(minute=0, second=0, microsecond=0)
    recs = []
    for h in range(-3, 1):
        start = hour0 + timedelta(hours=h)
        for node in ("gpu-node-1", "gpu-node-2", "web-1"):
            recs.append({"ProviderName": "AWS", "BillingAccountId": "111111111111", "ServiceName": "Amazon EC2",
                         "ResourceId": node, "ChargePeriodStart": start.isoformat(),
                         "ChargePeriodEnd": (start + timedelta(hours=1)).isoformat(), "BilledCost": "4.00",
                         "BillingCurrency": "USD", "x_CostSource": "estimated"})
    assert stack["client"].send_records(recs).accepted == len(recs)
    llm = LLMObservabilityHub(client=stack["client"], cluster_id="train-1", batch_size=500)
    ms = _training_run("run-exact", 2500, now)
    for m in ms:
        llm.collect_llm_training_metrics(m)
    s = llm.get_training_summary("run-exact")
    exp = _expected_training(ms)
    for k, v in exp.items():
        assert s[k] == v, k
    assert s["model_name"] == "gpt-custom-7b" and s["nodes"] == ["gpu-node-1", "gpu-node-2"]
    assert s["best_validation_loss"] == min(Decimal(repr(m.validation_loss)) for m in ms if m.validation_loss)
    # the run spans 2 499 s: 2 nodes × 4.00/h × 2499/3600 h (split over the hours it touches), exactly
    expected_cost = (Decimal(8) * Decimal(2499) / Decimal(3600)).quantize(Decimal("0.0000000001"))
    assert s["cost_per_run"] == expected_cost and s["currency"] == "USD"
    assert s["cost_per_1000_samples"] == (expected_cost * 1000 / exp["total_samples"]).quantize(Decimal("0.0000000001"))
    assert "share of its charge period" in s["cost_method"]
    # no GPU utilisation on the steps or in the metrics: not collected, with the reason
    assert isinstance(s["avg_gpu_usage"], NotCollected) and "gpu_utilization" in s["avg_gpu_usage"].reason
    assert len(s["loss_curve"]) <= 3 * math.ceil(2500 / 100) and s["loss_curve"][0]["step"] == 0
    # re-sending a batch (a retry after a lost answer) changes nothing
    llm2 = LLMObservabilityHub(client=stack["client"], cluster_id="train-1")
    for m in ms[:700]:
        llm2.collect_llm_training_metrics(m)
    again = llm2.get_training_summary("run-exact")
    assert {k: again[k] for k in exp} == exp and again["cost_per_run"] == expected_cost


def test_training_gpu_from_the_nodes_metrics_and_missing_cost_is_not_a_zero(stack):
    now = stack["ts"]
    obs = ObservabilityHub(client=stack["client"])
    obs.register_cluster("train-2", ["t2-node"])
    for age, gpu in ((1200, 10.0), (300, 80.0), (100, 90.0)):   # 1 200 s before the run: outside the 15 min
        obs.collect_system_metrics(SystemMetrics(now - age, 50.0, 50.0, 50.0, gpu, "train-2", "t2-node"))
    obs.flush()
    llm = LLMObservabilityHub(client=stack["client"])
    for m in _training_run("run-gpu", 50, now, cluster_id="train-2"):
        llm.collect_llm_training_metrics(m)
    s = llm.get_training_summary("run-gpu")
    assert s["avg_gpu_usage"] == Decimal("85.000000") and "metric points" in s["gpu_usage_source"]
    assert isinstance(s["cost_per_run"], NotCollected) and "no cost record" in s["cost_per_run"].reason
    assert isinstance(s["cost_per_1000_samples"], NotCollected)
    assert requests.get(stack["url"] + "/v1/llm/training-runs/nope", timeout=10,
                        headers=key_headers(stack["keys"]["read"])).status_code == 404


def _rag(pipeline, n, now, rnd, **kw):
    return [RAGPipelineMetrics(pipeline_id=pipeline, query=f"question {i % 40} about {pipeline}?",
                               retrieval_time_ms=float(Decimal(rnd.randint(100, 9000)) / 100),
                               generation_time_ms=float(Decimal(rnd.randint(1000, 30000)) / 100),
                               total_time_ms=float(Decimal(rnd.randint(1100, 39000)) / 100),
                               relevance_score=float(Decimal(rnd.randint(0, 100)) / 100),
                               num_retrieved_docs=rnd.randint(1, 10), embedding_tokens=rnd.randint(10, 100),
                               generation_tokens=rnd.randint(50, 500), timestamp=now - n + i, **kw) for i in range(n)]


def test_rag_summary_percentiles_cost_and_no_query_text(stack):
    now, rnd = stack["ts"], random.Random(7)
    llm = LLMObservabilityHub(client=stack["client"], embedding_model="text-embedding-3-small",
                              generation_model="openai/gpt-4o-mini", batch_size=400)
    ms = _rag("prod-rag", 1000, now, rnd, prompt_tokens=200)
    for m in ms:
        llm.collect_rag_pipeline_metrics(m)
    s = llm.get_rag_pipeline_summary("prod-rag")
    assert s["total_queries"] == 1000
    for f in ("retrieval_time_ms", "generation_time_ms", "total_time_ms"):
        vals = sorted(Decimal(repr(getattr(m, f))) for m in ms)
        assert s[f"avg_{f}"] == (sum(vals) / 1000).quantize(Q6)
        assert s[f"p95_{f}"] == vals[949] and s[f"p50_{f}"] == vals[499] and s[f"p99_{f}"] == vals[989]
    emb, gen = sum(m.embedding_tokens for m in ms), sum(m.generation_tokens for m in ms)
    assert (s["total_embedding_tokens"], s["total_generation_tokens"], s["total_prompt_tokens"]) == (emb, gen, 200_000)
    # catalog llm-2026-12-01: embedding 0.02, gpt-4o-mini input 0.15 / output 0.60 USD per 1M tokens
    cost = (Decimal(emb) * Decimal("0.02") + Decimal(gen) * Decimal("0.60") + Decimal(200_000) * Decimal("0.15")) / 10 ** 6
    assert s["cost"] == cost and s["currency"] == "USD" and s["catalog_version"] == "llm-2026-12-01"
    assert s["cost_per_1000_queries"] == (cost * 1000 / 1000).quantize(Decimal("0.0000000001"))
    assert s["cost_per_1000_tokens"] == (cost * 1000 / (emb + gen + 200_000)).quantize(Decimal("0.0000000001"))
    assert all(src["url"].startswith("https://") for src in s["catalog_sources"])
    # the text never reached the table: only its hash and length
    raw = json.dumps([it for it in stack["store"].query({"KeyConditionExpression": "pk = :p",
                                                         "ExpressionAttributeValues": {":p": {"S": "LR#prod-rag"}}})])
    assert "question 1 about" not in raw and hashlib.sha256(ms[1].query.encode()).hexdigest() in raw
    assert s["query_text_stored"] == 0


def test_rag_query_text_is_stored_only_when_asked_and_no_model_means_no_cost(stack):
    now, rnd = stack["ts"], random.Random(8)
    keep = LLMObservabilityHub(client=stack["client"], store_query_text=True)
    for m in _rag("kept-rag", 5, now, rnd):
        keep.collect_rag_pipeline_metrics(m)
    s = keep.get_rag_pipeline_summary("kept-rag")
    assert s["query_text_stored"] == 5
    assert isinstance(s["cost_per_1000_queries"], NotCollected) and "no embedding_model" in s["cost_per_1000_queries"].reason
    # a client that sends the text without asking to keep it: the API hashes it and drops it
    r = post(stack, "/v1/llm/metrics", {"rag": [{"pipeline_id": "raw-rag", "seq": 0, "timestamp": str(now),
                                                 "query": "secret question", "retrieval_time_ms": "1",
                                                 "generation_time_ms": "2", "total_time_ms": "3",
                                                 "embedding_tokens": 1, "generation_tokens": 2}]})
    assert r.status_code == 200 and r.json()["accepted"]["rag"] == 1, r.text
    raw = json.dumps(list(stack["store"].query({"KeyConditionExpression": "pk = :p",
                                                "ExpressionAttributeValues": {":p": {"S": "LR#raw-rag"}}})))
    assert "secret question" not in raw and hashlib.sha256(b"secret question").hexdigest() in raw


def test_bad_elements_are_listed_and_the_rest_is_kept(stack):
    now = stack["ts"]
    good = {"run_id": "run-mixed", "step": 0, "training_loss": "1.5", "timestamp": str(now), "model_name": "m"}
    r = post(stack, "/v1/llm/metrics", {"training": [good, {**good, "step": -1}, {**good, "training_loss": "NaN"},
                                                     {**good, "step": 1, "colour": "red"}, "x"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"]["training"] == 1
    assert [(e["index"], e["errors"][0]["field"]) for e in body["rejected"]] == [
        (1, "step"), (2, "training_loss"), (3, "colour"), (4, "")]
    r = post(stack, "/v1/observability/metrics", {"system": [{"timestamp": now, "cpu_usage": 101, "memory_usage": 1,
                                                              "disk_usage": 1, "cluster_id": "c", "node_id": "n"}]})
    assert r.status_code == 200 and r.json()["rejected"][0]["errors"][0]["field"] == "cpu_usage"
    for path, doc in (("/v1/llm/metrics", {"nothing": []}), ("/v1/observability/metrics", []),
                      ("/v1/observability/clusters", {"cluster_id": "c"})):
        r = post(stack, path, doc)
        assert r.status_code == 400 and r.json()["error"]["details"], (path, r.text)
    r = post(stack, "/v1/llm/metrics", {"training": [good] * 5001})
    assert r.status_code == 413
    assert post(stack, "/v1/llm/metrics", {"training": [good]}, scope="read").status_code == 403
    assert get(stack, "/v1/llm/training-runs", limit="0").status_code == 400


def test_the_hub_answers_not_collected_for_sources_without_data_or_routes(stack):
    hub = ObservabilityHub(client=stack["client"])
    costs = hub.get_costs_by_category("databricks")
    assert isinstance(costs["all_purpose"], NotCollected) and f"{costs['jobs']:.2f}" == "not collected"
    assert list(hub.get_databricks_job_costs(hours_lookback=24)) == []
    assert not hub.get_snowflake_warehouse_costs()
    saas = hub.get_saas_service_costs()
    assert set(saas) == {"mongodb_atlas", "redis_cloud", "github_actions", "datadog"}
    assert all(isinstance(v, NotCollected) for v in saas.values()), saas
    assert "no Datadog cost records" in saas["datadog"].reason


def _api_requests(stack, key_id: str, path: str) -> int:
    """POSTs to ``path`` made with ``key_id``, counted from the API's own request log."""
    n = 0
    for ln in stack["log"].read_text().splitlines():
        if ln.startswith('{"request_id"'):
            r = json.loads(ln)
            n += r["key_id"] == key_id and r["path"] == path and r["method"] == "POST"
    return n


def test_a_loop_at_1000_steps_per_second_reaches_the_api_in_batches_and_the_summaries_are_exact(stack):
    import time as pacing   # pacing only: no figure of this test depends on how fast it runs
    key = requests.post(stack["url"] + "/v1/keys", json={"name": "loop", "scopes": ["ingest", "read"]}, timeout=30,
                        headers=key_headers(stack["keys"]["admin"])).json()
    llm = LLMObservabilityHub(client=Client(stack["url"], key["id"], key["secret"]))
    now, rnd = stack["ts"], random.Random(11)
    steps = _training_run("run-loop", 3000, now)
    queries = _rag("loop-rag", 3000, now, rnd)
    start = pacing.monotonic()
    for i, (m, q) in enumerate(zip(steps, queries)):
        llm.collect_llm_training_metrics(m)      # what a training loop does every step
        llm.collect_rag_pipeline_metrics(q)
        ahead = start + (i + 1) / 1000 - pacing.monotonic()
        if ahead > 0:
            pacing.sleep(ahead)                 # 1 000 steps (and 1 000 queries) a second
    s = llm.get_training_summary("run-loop")
    r = llm.get_rag_pipeline_summary("loop-rag")
    posts = _api_requests(stack, key["id"], "/v1/llm/metrics")
    # 6 000 elements: batches of at most 1 000 (or whatever 2 s gathered), never a request per step
    assert posts == llm.requests_sent and 6 <= posts <= 12, posts
    exp = _expected_training(steps)
    assert {k: s[k] for k in exp} == exp
    assert r["total_queries"] == 3000
    vals = sorted(Decimal(repr(q.total_time_ms)) for q in queries)
    assert r["p95_total_time_ms"] == vals[2849] and r["avg_total_time_ms"] == (sum(vals) / 3000).quantize(Q6)


def test_the_readme_example_runs_as_written(stack, monkeypatch):
    import contextlib
    import io
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "run-42" in b)
    hour0 = stack["now"].replace(minute=0, second=0, microsecond=0)
    assert stack["client"].send_records([
        {"ProviderName": "AWS", "BillingAccountId": "111111111111", "ServiceName": "Amazon EC2", "ResourceId": node,
         "ChargePeriodStart": (hour0 + timedelta(hours=h)).isoformat(), "BilledCost": "4.00", "BillingCurrency": "USD",
         "ChargePeriodEnd": (hour0 + timedelta(hours=h + 1)).isoformat(), "x_CostSource": "estimated"}
        for node in ("gpu-node-1", "gpu-node-2") for h in (-1, 0)]).accepted == 4
    k = stack["keys"]["admin"]
    for name, value in (("CLOUDTALLY_API_URL", stack["url"]), ("CLOUDTALLY_API_KEY_ID", k["id"]),
                        ("CLOUDTALLY_API_KEY_SECRET", k["secret"])):
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {"now": stack["ts"]})
    assert out.getvalue().splitlines() == ["degraded 1 of 2", "3000 1.0003 93.0 3", "6.66"]


def test_the_local_demo_fills_the_llm_page_cluster_health_and_sla(stack, monkeypatch):
    from pathlib import Path

    from tests.helpers import load_module
    k = stack["keys"]["ingest"]
    for name, value in (("CLOUDTALLY_API_URL", stack["url"]), ("CLOUDTALLY_API_KEY_ID", k["id"]),
                        ("CLOUDTALLY_API_KEY_SECRET", k["secret"])):
        monkeypatch.setenv(name, value)
    demo = load_module(Path(__file__).resolve().parents[2] / "scripts" / "demo_hubs.py", "demo_hubs_under_test")
    assert demo.start(stack["now"]) == {}
    view = get(stack, "/v1/dashboard/llm").json()
    runs = {r["run_id"]: r for r in view["runs"]}
    assert runs["finetune-llama-3-8b"]["total_steps"] == 3000 and runs["finetune-llama-3-8b"]["cost_per_run"]
    assert runs["finetune-llama-3-8b"]["avg_gpu_usage"] == "89.500000"
    rag = {p["pipeline_id"]: p for p in view["pipelines"]}["support-rag"]
    assert rag["total_queries"] == 600 and rag["cost_per_1000_queries"]
    health = get(stack, "/v1/observability/clusters").json()["clusters"]["gpu-training"]
    assert health["health_status"] == "healthy" and health["healthy_nodes"] == 2
    sla = {s["service_name"]: s for s in get(stack, "/v1/observability/services").json()["services"]}
    assert sla["inference-api"]["intervals"] == 11 and sla["inference-api"]["compliant_intervals"] == 8


def test_a_hub_keeps_the_elements_the_api_rejected_and_stores_the_rest(stack):
    llm = LLMObservabilityHub(client=stack["client"])
    ms = _training_run("run-partly-bad", 20, stack["ts"])
    ms[3].gpu_utilization = 150.0          # not a percentage
    for m in ms:
        llm.collect_llm_training_metrics(m)
    s = llm.get_training_summary("run-partly-bad")
    assert s["total_steps"] == 19
    assert [(r["index"], r["errors"][0]["field"]) for r in llm.rejected] == [(3, "gpu_utilization")]
