"""The hubs' pure parts: batching (no request per step, nothing lost when the API is down), the not-collected
marker, training and RAG summaries merged from chunks equal the whole, exact costs, parsing errors, the
SaaS agent's docs structures and the dashboard sections' definitions."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cloudtally.api import llm, observability
from cloudtally.errors import ProviderError
from cloudtally.observability.batching import Batcher
from cloudtally.observability.markers import NotCollected, mark

UTC = timezone.utc


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_a_batcher_sends_full_batches_and_flushes_the_rest():
    sent = []
    b = Batcher(lambda batch: sent.append(len(batch)), batch_size=100, flush_interval=3600)
    for i in range(250):
        b.add("training", {"step": i})
    b.flush()
    b.close()
    assert sum(sent) == 250 and max(sent) <= 100 and b.requests == len(sent) <= 4


def test_a_batcher_keeps_what_the_api_did_not_take_and_sends_it_later():
    calls, fail = [], threading.Event()
    fail.set()

    def send(batch):
        if fail.is_set():
            raise ProviderError("API unreachable at http://x")
        calls.append([e["step"] for _, e in batch])

    b = Batcher(send, batch_size=10, flush_interval=3600)
    for i in range(15):
        b.add("training", {"step": i})
    with pytest.raises(ProviderError):
        b.flush()
    assert len(b) == 15 and b.last_error is not None
    fail.clear()
    b.flush()
    b.close()
    assert [s for c in calls for s in c] == list(range(15))      # all of them, once, in order


def test_a_batcher_sends_after_the_interval_from_its_thread():
    clock, got = FakeClock(), threading.Event()
    b = Batcher(lambda batch: got.set(), batch_size=1000, flush_interval=0.05, monotonic=clock)
    b.add("rag", {"seq": 0})
    clock.t = 1.0
    assert got.wait(5)
    b.close()


def test_not_collected_formats_and_marks():
    m = NotCollected("cost", "no cost record")
    assert f"${m:.2f}" == "$not collected" and not m and list(m) == [] and "no cost record" in str(m)
    doc = mark({"cost": None, "other": None, "not_collected": {"cost": "why"}})
    assert isinstance(doc["cost"], NotCollected) and doc["other"] is None


def _steps(n, seed=1):
    rnd = random.Random(seed)
    return [{"step": s, "epoch": Decimal(s // 50), "training_loss": Decimal(rnd.randint(1, 9999)) / 1000,
             "validation_loss": Decimal(rnd.randint(1, 99)) if s % 3 == 0 else None, "learning_rate": Decimal("0.001"),
             "gpu_memory_mb": Decimal(40000 + s), "batch_size": Decimal(8 + s % 4),
             "throughput_samples_per_sec": Decimal(rnd.randint(1, 99999)) / 100, "timestamp": Decimal(1_700_000_000 + s),
             "gpu_utilization": Decimal(rnd.randint(0, 100)) if s % 2 else None} for s in range(n)]


def test_training_chunks_merge_to_the_figures_of_all_steps():
    steps = _steps(437)
    chunks = {}
    for s in steps:
        chunks.setdefault(s["step"] // llm.CHUNK, {})[f"s{s['step']}"] = llm.encode_step(s)
    merged = llm.merge_training([llm.chunk_summary(c) for c in chunks.values()])
    best = min(steps, key=lambda s: (s["training_loss"], s["step"]))
    tps = [s["throughput_samples_per_sec"] for s in steps]
    assert merged["total_steps"] == 437 and merged["current_step"] == 436
    assert merged["current_loss"] == steps[-1]["training_loss"] and merged["best_loss"] == best["training_loss"]
    assert merged["best_loss_step"] == best["step"]
    assert merged["total_samples"] == sum(s["batch_size"] for s in steps)
    assert merged["avg_throughput_samples_per_sec"] == (sum(tps) / len(tps)).quantize(llm.AVG_Q)
    g = [s["gpu_utilization"] for s in steps if s["gpu_utilization"] is not None]
    assert merged["steps_gpu_utilization"] == (sum(g), len(g))
    assert merged["duration_seconds"] == Decimal(436)
    assert merged["best_validation_loss"] == min(s["validation_loss"] for s in steps if s["validation_loss"] is not None)


def test_rag_chunks_merge_to_exact_percentiles():
    rnd = random.Random(3)
    qs = [{"timestamp": Decimal(i), "retrieval_time_ms": Decimal(rnd.randint(1, 10000)) / 100,
           "generation_time_ms": Decimal(rnd.randint(1, 10000)) / 10, "total_time_ms": Decimal(rnd.randint(1, 99999)) / 100,
           "relevance_score": Decimal(rnd.randint(0, 100)) / 100, "num_retrieved_docs": Decimal(5),
           "embedding_tokens": Decimal(10), "generation_tokens": Decimal(20), "prompt_tokens": None,
           "query_sha256": "0" * 64, "query_length": Decimal(3)} for i in range(333)]
    chunks = {}
    for i, q in enumerate(qs):
        chunks.setdefault(i // 100, {})[f"q{i}"] = llm.encode_query(q)
    figs = llm.rag_figures([llm.rag_chunk_summary(c) for c in chunks.values()])
    totals = sorted(q["total_time_ms"] for q in qs)
    assert figs["total_queries"] == 333
    assert figs["p95_total_time_ms"] == totals[316]     # ceil(0.95 × 333) = 317th value
    assert figs["p50_total_time_ms"] == totals[166] and figs["max_total_time_ms"] == totals[-1]
    assert figs["total_embedding_tokens"] == 3330 and figs["total_prompt_tokens"] == 0


def test_rag_cost_uses_the_catalog_and_says_why_when_it_cannot():
    figs = {"total_queries": 2000, "total_embedding_tokens": 1_000_000, "total_generation_tokens": 500_000,
            "total_prompt_tokens": 0}
    c = llm.rag_cost(figs, "text-embedding-3-small", "openai/gpt-4o")
    # 1M × 0.02 + 0.5M × 10.00 per 1M tokens
    assert c["cost"] == Decimal("5.02") and c["cost_per_1000_queries"] == Decimal("2.5100000000")
    assert {p["sku"] for p in c["prices"]} == {"openai/global/text-embedding-3-small/input", "openai/global/gpt-4o/output"}
    assert llm.rag_cost(figs, "text-embedding-3-small", "no-such-model")["cost"] is None
    assert "no model" in llm.rag_cost(figs, "text-embedding-3-small", "no-such-model")["cost_reason"]
    assert llm.rag_cost(figs, None, None)["cost"] is None


def test_bad_steps_and_queries_name_their_fields():
    assert llm.parse_training({"run_id": "r", "step": Decimal("1.5"), "training_loss": "x", "timestamp": "soon"})[1] == [
        {"field": "step", "message": "expected an integer"},
        {"field": "training_loss", "message": "not a decimal number: 'x'"},
        {"field": "timestamp", "message": "expected epoch seconds or an ISO 8601 time"}]
    q, errs = llm.parse_rag({"pipeline_id": "p", "seq": 0, "timestamp": 1, "retrieval_time_ms": 1,
                             "generation_time_ms": 1, "total_time_ms": 1, "embedding_tokens": 1, "generation_tokens": 1,
                             "query": "the text", "keep_query_text": False})
    assert not errs and "query" not in q and q["query_length"] == 8 and len(q["query_sha256"]) == 64


def test_health_rule_on_a_fake_store():
    now = datetime(2026, 12, 15, 12, tzinfo=UTC)

    class Store:
        table = "t"

        def query_metrics(self, name, start, end, limit):
            pts = {"cpu_utilization": [("a", 60, 80), ("b", 3600, 50)], "memory_utilization": [("a", 60, 96)]}
            return [{"timestamp": (now - timedelta(seconds=age)).isoformat(), "value": str(v),
                     "dimensions": {"host": h, "cluster": "c"}} for h, age, v in pts.get(name, [])]

        def list_agents(self):
            return []

        def query(self, kwargs):
            return iter([])

    health = observability.cluster_health(Store(), now)["clusters"]["c"]
    assert (health["health_status"], health["healthy_nodes"], health["total_nodes"]) == ("critical", 0, 2)
    assert health["avg_cpu_usage"] == Decimal("80.0")          # b's reading is stale: not averaged
    assert "memory at 96" in health["nodes"][0]["reason"] and "min ago" in health["nodes"][1]["reason"]


def test_efficiency_and_utilisation_definitions():
    hosts = {"a": {"cpu": Decimal(50), "memory": Decimal(20)}, "b": {"cpu": None, "memory": Decimal(100)},
             "c": {"cpu": Decimal(10), "memory": None, "storage": Decimal(30)}}
    costs = {"a": {"currency": "USD", "EffectiveCost": "10"}, "b": {"currency": "USD", "EffectiveCost": "30"}}
    e = observability.operational_efficiency(hosts, costs, "USD")
    assert e["operational_efficiency"] == Decimal("87.5") and e["nodes"] == 2     # (5 + 30) / 40
    u = observability.resource_utilization(hosts)
    assert u["cpu_percent"] == Decimal("30.0") and u["gpu_percent"] is None and "gpu_percent" in u["not_collected"]


def test_saas_docs_structures_from_records():
    from cloudtally.agents import saas_structures
    from cloudtally.focus import parse_record
    now = datetime(2026, 12, 15, 10, tzinfo=UTC)
    atlas = parse_record({"ProviderName": "MongoDB Atlas", "BillingAccountId": "org", "ResourceId": "c1",
                          "ResourceName": "orders", "ResourceType": "M30", "RegionId": "US_EAST_1",
                          "ChargePeriodStart": "2026-12-15T00:00:00Z", "ChargePeriodEnd": "2026-12-16T00:00:00Z",
                          "BilledCost": "10.80", "BillingCurrency": "USD", "x_CostSource": "estimated",
                          "ConsumedQuantity": "20", "SkuPriceId": "dedicated/AWS:US_EAST_1/M30",
                          "ChargeDescription": "orders: M30, 2 shard(s), 3 node(s) per shard"})
    a = saas_structures.atlas([atlas], now)
    # 20 priced hours = wall hours × 3/3 × 2 shards → 10 h; 10.80 / 10 h
    assert a["total_clusters"] == 1 and a["clusters"][0]["hourly_cost_usd"] == Decimal("1.080000")
    assert (a["clusters"][0]["num_shards"], a["clusters"][0]["replication_factor"], a["clusters"][0]["provider"]) == (2, 3, "AWS")
    gh = [parse_record({"ProviderName": "GitHub", "BillingAccountId": "acme", "ServiceName": "GitHub Actions",
                        "SkuId": sku, "PricingUnit": "Minutes", "PricingQuantity": q, "ConsumedUnit": "Minutes",
                        "ConsumedQuantity": q, "ListUnitPrice": p,
                        "ListCost": gross, "BilledCost": net, "ChargePeriodStart": "2026-12-10T00:00:00Z",
                        "ChargePeriodEnd": "2026-12-11T00:00:00Z", "BillingCurrency": "USD", "x_CostSource": "billed"})
          for sku, q, p, gross, net in (("actions_linux", "1000", "0.008", "8", "0"),
                                        ("actions_macos", "100", "0.08", "8", "8"))]
    g = saas_structures.github_actions(gh, now)
    assert g["total_minutes_used"] == 1100 and g["included_minutes"] == 1000 and g["billable_minutes"] == 100
    assert g["minutes_used_breakdown"] == {"UBUNTU": Decimal(1000), "MACOS": Decimal(100)}
    assert g["estimated_monthly_cost_usd"] == Decimal(8)


def test_a_refused_batch_is_not_sent_again():
    from cloudtally.errors import ValidationError
    calls = []

    def send(batch):
        calls.append(len(batch))
        raise ValidationError("bad batch")

    b = Batcher(send, batch_size=10, flush_interval=3600)
    for i in range(5):
        b.add("training", {"step": i})
    with pytest.raises(ValidationError):
        b.flush()
    b.flush()                       # nothing left: a 4xx is not retried forever
    b.close()
    assert calls == [5] and b.failed == [{"error": "validation_error", "message": "bad batch", "elements": 5}]


def test_a_read_flushes_every_hub_of_the_process_sending_to_the_same_api():
    """A script that replaces its hub (``hub = ObservabilityHub()`` twice) still reads what the first one
    collected: a read flushes every live batcher with the same target, and no other."""
    from cloudtally.observability.batching import Batched

    sent: dict[str, list[int]] = {"a": [], "b": [], "other": []}

    class Hub(Batched):
        def __init__(self, name: str, target: str):
            self.rejected = []
            self._batcher = Batcher(lambda batch: sent[name].append(len(batch)), batch_size=100,
                                    flush_interval=3600, name=name, target=target)

    a, b, other = Hub("a", "http://api"), Hub("b", "http://api"), Hub("other", "http://elsewhere")
    for i in range(3):
        a._batcher.add("system", {"i": i})
        other._batcher.add("system", {"i": i})
    del a                                      # dropped without close(): what it buffered is kept
    b._flush_before_read()
    assert sent == {"a": [3], "b": [], "other": []}
    other.close()
    b.close()
