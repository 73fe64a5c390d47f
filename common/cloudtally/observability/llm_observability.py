"""``LLMObservabilityHub``: the OpenFinOps LLM hub (``openfinops.observability.llm_observability``), backed by the API.

::

    from cloudtally.observability.llm_observability import LLMObservabilityHub, LLMTrainingMetrics

    llm_hub = LLMObservabilityHub(cluster_id="gpu-cluster-1")    # or CLOUDTALLY_LLM_CLUSTER_ID
    for step in range(steps):
        ...
        llm_hub.collect_llm_training_metrics(LLMTrainingMetrics(run_id="run-1", model_name="gpt-custom-7b",
            epoch=0, step=step, training_loss=loss, validation_loss=None, learning_rate=1e-4,
            gpu_memory_mb=42000, batch_size=32, throughput_samples_per_sec=128.5, timestamp=time.time()))
    llm_hub.get_training_summary("run-1")["cost_per_1000_samples"]

Training loops call ``collect_*`` every step: the hub buffers them and sends batches (by default 1 000
elements or every 2 s, whichever comes first) from a background thread, so a step costs no request; a
summary sends what is buffered first. The run's **cost** is the cost of the nodes it ran on (the
registered nodes of its ``cluster_id``, or its ``node_ids``) over its span; a RAG pipeline's cost comes from
the versioned model-price catalog for its ``embedding_model`` / ``generation_model``. A query's text is not
sent: its SHA-256 and length are, unless ``store_query_text=True`` (or ``CLOUDTALLY_LLM_STORE_QUERY_TEXT=true``).
Figures that cannot be computed (no GPU metrics, no cost records, no model price) are
:class:`~cloudtally.observability.markers.NotCollected` with the reason.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from ..client import Client, from_env
from ..errors import ConfigError
from .batching import Batched, Batcher
from .markers import mark
from .observability_hub import decimals, number

ENV_CLUSTER = "CLOUDTALLY_LLM_CLUSTER_ID"
ENV_STORE_TEXT = "CLOUDTALLY_LLM_STORE_QUERY_TEXT"
ENV_EMBEDDING_MODEL = "CLOUDTALLY_LLM_EMBEDDING_MODEL"
ENV_GENERATION_MODEL = "CLOUDTALLY_LLM_GENERATION_MODEL"
TRAINING_DECIMALS = ("current_loss", "best_loss", "current_validation_loss", "best_validation_loss", "learning_rate",
                     "current_epoch", "avg_throughput_samples_per_sec", "total_samples", "avg_gpu_usage",
                     "max_gpu_memory_mb", "first_timestamp", "last_timestamp", "duration_seconds", "cost",
                     "cost_per_run", "cost_per_1000_samples", "span_seconds", "loss")
RAG_DECIMALS = tuple(f"{a}_{t}" for a in ("avg", "p50", "p95", "p99", "max")
                     for t in ("retrieval_time_ms", "generation_time_ms", "total_time_ms")) + (
    "avg_relevance_score", "avg_num_retrieved_docs", "first_timestamp", "last_timestamp", "cost",
    "cost_per_1000_queries", "cost_per_1000_tokens", "per_million_tokens")


@dataclass
class LLMTrainingMetrics:
    run_id: str
    model_name: str
    epoch: int
    step: int
    training_loss: float
    validation_loss: float | None
    learning_rate: float
    gpu_memory_mb: float
    batch_size: int
    throughput_samples_per_sec: float
    timestamp: float
    # CloudTally additions (optional): what ties the run to the GPUs it ran on
    gpu_utilization: float | None = None
    cluster_id: str | None = None
    node_ids: list[str] | None = None


@dataclass
class RAGPipelineMetrics:
    pipeline_id: str
    query: str
    retrieval_time_ms: float
    generation_time_ms: float
    total_time_ms: float
    relevance_score: float
    num_retrieved_docs: int
    embedding_tokens: int
    generation_tokens: int
    timestamp: float
    # CloudTally additions (optional): prompt tokens and the models, for the cost
    prompt_tokens: int | None = None
    embedding_model: str | None = None
    generation_model: str | None = None


def _flag(value: str | None) -> bool:
    v = (value or "").strip().lower()
    if v in ("", "0", "false", "no", "off"):
        return False
    if v in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{ENV_STORE_TEXT}={value!r}: expected true or false")


class LLMObservabilityHub(Batched):
    """Training runs and RAG pipelines over the CloudTally API, sent in batches."""

    def __init__(self, *, client: Client | None = None, cluster_id: str | None = None,
                 store_query_text: bool | None = None, embedding_model: str | None = None,
                 generation_model: str | None = None, batch_size: int = 1000, flush_interval: float = 2.0):
        self.client = client or from_env()
        self.cluster_id = cluster_id or os.environ.get(ENV_CLUSTER) or None
        self.store_query_text = _flag(os.environ.get(ENV_STORE_TEXT)) if store_query_text is None else store_query_text
        self.embedding_model = embedding_model or os.environ.get(ENV_EMBEDDING_MODEL) or None
        self.generation_model = generation_model or os.environ.get(ENV_GENERATION_MODEL) or None
        # a RAG query's identity is (pipeline, session, sequence number): re-sent batches replace, never add
        self.session = uuid.uuid4().hex[:16]
        self._seq = itertools.count()
        self._seq_lock = threading.Lock()
        self.rejected: list[dict[str, Any]] = []
        self._batcher = Batcher(self._send, batch_size=batch_size, flush_interval=flush_interval, name="llm",
                                target=self.client.api_url)

    def __repr__(self) -> str:
        return f"LLMObservabilityHub({self.client.api_url!r}, cluster_id={self.cluster_id!r})"

    # ------------------------------------------------------------ collection (batched)
    def collect_llm_training_metrics(self, metrics: LLMTrainingMetrics) -> None:
        el = {"run_id": metrics.run_id, "model_name": metrics.model_name, "epoch": metrics.epoch,
              "step": metrics.step, "training_loss": number(metrics.training_loss),
              "validation_loss": number(metrics.validation_loss), "learning_rate": number(metrics.learning_rate),
              "gpu_memory_mb": number(metrics.gpu_memory_mb), "batch_size": metrics.batch_size,
              "throughput_samples_per_sec": number(metrics.throughput_samples_per_sec),
              "timestamp": number(metrics.timestamp), "gpu_utilization": number(metrics.gpu_utilization),
              "cluster_id": metrics.cluster_id or self.cluster_id, "node_ids": metrics.node_ids}
        self._batcher.add("training", {k: v for k, v in el.items() if v is not None})

    def collect_rag_pipeline_metrics(self, metrics: RAGPipelineMetrics) -> None:
        with self._seq_lock:
            seq = next(self._seq)
        text = metrics.query if isinstance(metrics.query, str) else str(metrics.query)
        el: dict[str, Any] = {
            "pipeline_id": metrics.pipeline_id, "seq": seq, "timestamp": number(metrics.timestamp),
            "retrieval_time_ms": number(metrics.retrieval_time_ms),
            "generation_time_ms": number(metrics.generation_time_ms), "total_time_ms": number(metrics.total_time_ms),
            "relevance_score": number(metrics.relevance_score), "num_retrieved_docs": metrics.num_retrieved_docs,
            "embedding_tokens": metrics.embedding_tokens, "generation_tokens": metrics.generation_tokens,
            "prompt_tokens": metrics.prompt_tokens,
            "embedding_model": metrics.embedding_model or self.embedding_model,
            "generation_model": metrics.generation_model or self.generation_model}
        if self.store_query_text:
            el.update({"query": text, "keep_query_text": True})
        else:   # the text never leaves this process
            el.update({"query_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "query_length": len(text)})
        self._batcher.add("rag", {k: v for k, v in el.items() if v is not None})

    def _send(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        body: dict[str, Any] = {"session": self.session}
        for kind, el in batch:
            body.setdefault(kind, []).append(el)
        self._rejected(self.client.request("POST", "/v1/llm/metrics", body=body)[0])

    # ------------------------------------------------------------ summaries
    def get_training_summary(self, run_id: str) -> dict[str, Any]:
        """``model_name``, ``total_steps``, ``current_loss``, ``best_loss``, ``avg_gpu_usage``,
        ``avg_throughput_samples_per_sec``, ``cost_per_run``, ``cost_per_1000_samples``, ``loss_curve``, ..."""
        self._flush_before_read()
        res = self.client.request("GET", f"/v1/llm/training-runs/{_path(run_id)}")[0]
        return mark(decimals(res, TRAINING_DECIMALS))

    def get_rag_pipeline_summary(self, pipeline_id: str) -> dict[str, Any]:
        """``total_queries``, ``avg_``/``p50_``/``p95_``/``p99_`` retrieval, generation and total time,
        ``avg_relevance_score``, token totals, ``cost_per_1000_queries``, ``cost_per_1000_tokens``, ..."""
        self._flush_before_read()
        res = self.client.request("GET", f"/v1/llm/rag-pipelines/{_path(pipeline_id)}")[0]
        return mark(decimals(res, RAG_DECIMALS))

    def list_training_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        self._flush_before_read()
        res = self.client.request("GET", "/v1/llm/training-runs", params={"limit": limit})[0]
        return [mark(decimals(r, TRAINING_DECIMALS)) for r in res["runs"]]

    def list_rag_pipelines(self, limit: int = 50) -> list[dict[str, Any]]:
        self._flush_before_read()
        res = self.client.request("GET", "/v1/llm/rag-pipelines", params={"limit": limit})[0]
        return [mark(decimals(p, RAG_DECIMALS)) for p in res["pipelines"]]


def _path(segment: str) -> str:
    from urllib.parse import quote
    return quote(segment, safe="")


__all__ = ["LLMObservabilityHub", "LLMTrainingMetrics", "RAGPipelineMetrics"]
