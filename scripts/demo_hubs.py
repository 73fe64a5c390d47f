"""``make up``'s observability hubs: a GPU cluster with its nodes' hourly cost, two services with SLA targets,
two LLM training runs and a RAG pipeline, sent at ``now`` through the hubs (the API's routes, batched), so
the LLM page, cluster health and SLA compliance have data in the local dashboard.

:func:`start` reads the API URL and ingest key from the environment (``run_collectors_local`` has them) and
returns no collector event (nothing to schedule).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

CLUSTER, NODES = "gpu-training", ("gpu-node-1", "gpu-node-2")


def start(now: datetime) -> dict[str, dict[str, Any]]:
    from cloudtally.client import from_env
    from cloudtally.observability import ObservabilityHub, ServiceMetrics, SystemMetrics
    from cloudtally.observability.llm_observability import LLMObservabilityHub, LLMTrainingMetrics, RAGPipelineMetrics
    client = from_env()
    ts = now.timestamp()
    hour0 = now.replace(minute=0, second=0, microsecond=0)
    client.send_records([{"ProviderName": "AWS", "BillingAccountId": "123456789012",
                          "ServiceName": "Amazon Elastic Compute Cloud", "ResourceId": node, "ResourceName": node,
                          "ResourceType": "p4d.24xlarge", "RegionId": "us-east-1", "BillingCurrency": "USD",
                          "ChargePeriodStart": (hour0 - timedelta(hours=h)).isoformat(),
                          "ChargePeriodEnd": (hour0 - timedelta(hours=h - 1)).isoformat(), "BilledCost": "32.7726",
                          "Tags": {"team": "ml", "project": "llm"}, "x_CostSource": "estimated"}
                         for node in NODES for h in range(0, 4)])
    hub = ObservabilityHub(client=client)
    hub.register_cluster(CLUSTER, list(NODES), region="us-east-1")
    for i, node in enumerate(NODES):
        for age in range(3300, 0, -300):
            hub.collect_system_metrics(SystemMetrics(ts - age, 62.0 + i, 71.0, 38.0, 91.0 - 3 * i, CLUSTER, node))
    hub.register_service("inference-api", CLUSTER, ["vector-db"], sla_target=99.5)
    hub.register_service("vector-db", CLUSTER)
    for age in range(3300, 0, -300):
        hub.collect_service_metrics(ServiceMetrics("inference-api", ts - age, 1200, 99.7 if age % 900 else 99.1, 84.0,
                                                   "running"))
        hub.collect_service_metrics(ServiceMetrics("vector-db", ts - age, 5000, 99.95, 6.5, "running"))
    hub.close()
    llm = LLMObservabilityHub(client=client, cluster_id=CLUSTER, embedding_model="text-embedding-3-small",
                              generation_model="gpt-4o-mini")
    for run, model, steps in (("finetune-llama-3-8b", "llama-3-8b", 3000), ("finetune-mistral-7b", "mistral-7b", 1200)):
        for s in range(steps):
            llm.collect_llm_training_metrics(LLMTrainingMetrics(
                run_id=run, model_name=model, epoch=s // 1000, step=s, training_loss=2.6 * 0.9995 ** s + 0.4,
                validation_loss=2.7 * 0.9995 ** s + 0.45 if s % 100 == 0 else None, learning_rate=0.0002,
                gpu_memory_mb=61440, batch_size=16, throughput_samples_per_sec=240.0 + s % 11, timestamp=ts - 3200 + s))
    for i in range(600):
        llm.collect_rag_pipeline_metrics(RAGPipelineMetrics(
            pipeline_id="support-rag", query=f"demo question {i % 40}", retrieval_time_ms=18.0 + (i * 7) % 60,
            generation_time_ms=140.0 + (i * 13) % 260, total_time_ms=160.0 + (i * 17) % 320,
            relevance_score=0.55 + (i % 45) / 100, num_retrieved_docs=5, embedding_tokens=24,
            generation_tokens=180 + i % 90, prompt_tokens=900, timestamp=ts - 3000 + 5 * i))
    llm.close()
    print(f"[hubs] cluster {CLUSTER}, 2 services, 2 training runs, 1 RAG pipeline sent in "
          f"{hub.requests_sent + llm.requests_sent} requests")
    return {}
