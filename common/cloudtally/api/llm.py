"""LLM training runs and RAG pipelines: ``POST /v1/llm/metrics`` (batches) and their summaries.

A training step is identified by its run and step number and a RAG query by its pipeline, client session
and sequence number, so a re-sent batch replaces what it wrote and every count, sum, minimum and
percentile below is exact. Summaries are computed from what is stored (see :mod:`cloudtally.store.hub_repo`):

* **training run** (``GET /v1/llm/training-runs/{run_id}``): steps recorded, current (highest) step and its
  loss, best (lowest) training loss, mean throughput, samples (the steps' batch sizes summed), mean GPU
  utilisation (the steps' own ``gpu_utilization`` when they carry it, else the ``gpu_utilization`` metric
  points of the run's nodes from :data:`GPU_LOOKBACK` before its first step to its last), and its **cost**:
  the cost records of the run's nodes (its cluster's registered nodes, or the ``node_ids`` it names)
  over the run's span, each record counted for the share of its charge period inside the span (billed
  supersedes estimated as in every total); per run and per 1 000 samples.
* **RAG pipeline** (``GET /v1/llm/rag-pipelines/{pipeline_id}``): queries, mean and nearest-rank p50/p95/p99
  of retrieval, generation and total time, mean relevance, tokens, and the cost of the tokens at the
  versioned model-price catalog (``catalog/data/llm-*.json``, with its sources): per 1 000 queries and per
  1 000 tokens.

A RAG query's text is never stored unless the client sets ``keep_query_text`` (the hub's
``store_query_text`` setting): the API keeps its SHA-256 and its length in characters.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable, Mapping

from ..errors import BadRequest, NotFound, PayloadTooLarge
from ..focus import UTC, iso
from ..money import CONTEXT, ZERO, MoneyError, fmt, parse_amount
from . import body
from .handlers import _no_params
from .routes import Request

CHUNK = 100
AVG_Q = Decimal("0.000001")          # means are rounded to 6 decimals (half even); sums and extremes are exact
COST_Q = Decimal("0.0000000001")     # costs to 1e-10
GPU_LOOKBACK = timedelta(minutes=15)
MAX_ID = 200
MAX_KEPT_TEXT = 2000                 # 100 kept texts stay well inside a 400 KB chunk item
TRAINING_FIELDS = ("epoch", "training_loss", "validation_loss", "learning_rate", "gpu_memory_mb", "batch_size",
                   "throughput_samples_per_sec", "timestamp", "gpu_utilization")
RAG_FIELDS = ("timestamp", "retrieval_time_ms", "generation_time_ms", "total_time_ms", "relevance_score",
              "num_retrieved_docs", "embedding_tokens", "generation_tokens", "prompt_tokens", "query_sha256",
              "query_length")
RAG_TIMES = ("retrieval_time_ms", "generation_time_ms", "total_time_ms")
PERCENTILES = (50, 95, 99)
COST_METHOD = ("the cost records of the run's nodes (its cluster's registered nodes or the node_ids it names, "
               "matched on ResourceId or ResourceName), each counted for the share of its charge period that lies "
               "between the run's first and last step; billed cost supersedes estimates as in every total")
PERCENTILE_METHOD = "nearest rank: the value at rank ceil(p/100 × n) of the sorted values"


# ---------------------------------------------------------------------------------------------- parsing
def _err(errors: list[dict[str, str]], field: str, message: str) -> None:
    errors.append({"field": field, "message": message})


def _num(obj: Mapping[str, Any], name: str, errors: list, *, required: bool = True, integer: bool = False,
         minimum: Decimal | None = ZERO) -> Decimal | None:
    v = obj.get(name)
    if v is None:
        if required:
            _err(errors, name, "required")
        return None
    try:
        d = parse_amount(v)
    except MoneyError as e:
        _err(errors, name, str(e))
        return None
    if integer and d != d.to_integral_value():
        _err(errors, name, "expected an integer")
        return None
    if minimum is not None and d < minimum:
        _err(errors, name, f"must be at least {minimum}")
        return None
    return d


def ident(obj: Mapping[str, Any], name: str, errors: list, *, required: bool = True) -> str | None:
    """A required (or optional) identifier field of ``obj``; a bad one adds its error to ``errors``."""
    v = obj.get(name)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not 0 < len(v) <= MAX_ID or any(ord(c) < 32 for c in v):
        _err(errors, name, f"required string of 1-{MAX_ID} printable characters")
        return None
    return v


def _timestamp(obj: Mapping[str, Any], errors: list) -> Decimal | None:
    """Epoch seconds (exact decimal, microseconds kept) from a number or an ISO 8601 string."""
    v = obj.get("timestamp")
    if isinstance(v, str) and not v.strip().replace(".", "", 1).isdigit():
        from ..focus import parse_time
        try:
            dt = parse_time(v)
        except (ValueError, TypeError, OverflowError):
            _err(errors, "timestamp", "expected epoch seconds or an ISO 8601 time")
            return None
        return to_epoch(dt)
    ts = _num(obj, "timestamp", errors)
    if ts is not None and ts >= Decimal(32503680000):
        _err(errors, "timestamp", "epoch seconds out of range")
        return None
    return ts.quantize(Decimal("0.000001")).normalize() if ts is not None else None


def to_epoch(dt: datetime) -> Decimal:
    delta = dt.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    us = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return (Decimal(us) / Decimal(1_000_000)).normalize()


def to_datetime(ts: Decimal) -> datetime:
    us = int((ts * 1_000_000).to_integral_value())
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def parse_training(obj: Any) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """One training step → (step, errors)."""
    if not isinstance(obj, Mapping):
        return None, [{"field": "", "message": "expected an object"}]
    errors: list[dict[str, str]] = []
    step = {"run_id": ident(obj, "run_id", errors), "model_name": ident(obj, "model_name", errors, required=False),
            "cluster_id": ident(obj, "cluster_id", errors, required=False),
            "step": _num(obj, "step", errors, integer=True),
            "epoch": _num(obj, "epoch", errors, required=False, integer=True),
            "training_loss": _num(obj, "training_loss", errors, minimum=None),
            "validation_loss": _num(obj, "validation_loss", errors, required=False, minimum=None),
            "learning_rate": _num(obj, "learning_rate", errors, required=False),
            "gpu_memory_mb": _num(obj, "gpu_memory_mb", errors, required=False),
            "batch_size": _num(obj, "batch_size", errors, required=False, integer=True),
            "throughput_samples_per_sec": _num(obj, "throughput_samples_per_sec", errors, required=False),
            "gpu_utilization": _num(obj, "gpu_utilization", errors, required=False),
            "timestamp": _timestamp(obj, errors)}
    nodes = obj.get("node_ids")
    if nodes is not None:
        if not isinstance(nodes, list) or len(nodes) > 1000 or not all(
                isinstance(n, str) and 0 < len(n) <= MAX_ID for n in nodes):
            _err(errors, "node_ids", "expected a list of at most 1000 node ids")
        else:
            step["node_ids"] = sorted(set(nodes))
    g = step["gpu_utilization"]
    if g is not None and g > 100:
        _err(errors, "gpu_utilization", "a percentage (0-100)")
    unknown = [k for k in obj if k not in step and k != "node_ids"]
    for k in unknown[:10]:
        _err(errors, str(k)[:64], "unknown field")
    return (None if errors else step), errors


def parse_rag(obj: Any) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """One RAG query → (query, errors); its text becomes a SHA-256 and a length unless kept on purpose."""
    if not isinstance(obj, Mapping):
        return None, [{"field": "", "message": "expected an object"}]
    errors: list[dict[str, str]] = []
    q: dict[str, Any] = {"pipeline_id": ident(obj, "pipeline_id", errors),
                         "seq": _num(obj, "seq", errors, integer=True),
                         "timestamp": _timestamp(obj, errors),
                         "embedding_model": ident(obj, "embedding_model", errors, required=False),
                         "generation_model": ident(obj, "generation_model", errors, required=False)}
    for f in RAG_TIMES:
        q[f] = _num(obj, f, errors)
    q["relevance_score"] = _num(obj, "relevance_score", errors, required=False)
    for f in ("num_retrieved_docs", "embedding_tokens", "generation_tokens", "prompt_tokens"):
        q[f] = _num(obj, f, errors, required=f in ("embedding_tokens", "generation_tokens"), integer=True)
    text, keep = obj.get("query"), obj.get("keep_query_text", False)
    if not isinstance(keep, bool):
        _err(errors, "keep_query_text", "expected true or false")
    if text is not None:
        if not isinstance(text, str) or len(text) > 100_000:
            _err(errors, "query", "expected a string of at most 100 000 characters")
        else:
            q["query_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
            q["query_length"] = Decimal(len(text))
            if keep is True and len(text) > MAX_KEPT_TEXT:
                _err(errors, "query", f"a kept query text is at most {MAX_KEPT_TEXT} characters (send it without "
                                      "keep_query_text to record its hash and length)")
            elif keep is True:
                q["query"] = text
    else:
        sha = obj.get("query_sha256")
        if sha is not None and (not isinstance(sha, str) or len(sha) != 64
                                or any(c not in "0123456789abcdef" for c in sha)):
            _err(errors, "query_sha256", "expected 64 lowercase hex digits")
        q["query_sha256"] = sha
        q["query_length"] = _num(obj, "query_length", errors, required=False, integer=True)
    known = set(q) | {"query", "keep_query_text", "query_sha256", "query_length"}
    for k in [k for k in obj if k not in known][:10]:
        _err(errors, str(k)[:64], "unknown field")
    return (None if errors else q), errors


# ---------------------------------------------------------------------------------------------- encoding
def _enc(v: Any) -> str:
    if v is None:
        return ""
    return fmt(v) if isinstance(v, Decimal) else str(v)


def _dec(s: str) -> Decimal | None:
    return Decimal(s) if s else None


def encode_step(step: Mapping[str, Any]) -> str:
    return "|".join(_enc(step.get(f)) for f in TRAINING_FIELDS)


def decode_step(attr: str, enc: str) -> dict[str, Any]:
    vals = enc.split("|")
    out: dict[str, Any] = {"step": int(attr[1:])}
    for f, v in zip(TRAINING_FIELDS, vals):
        out[f] = _dec(v)
    return out


def encode_query(q: Mapping[str, Any]) -> str:
    parts = [_enc(q.get(f)) for f in RAG_FIELDS]
    if q.get("query") is not None:
        parts.append(q["query"])
    return "|".join(parts)


def decode_query(enc: str) -> dict[str, Any]:
    vals = enc.split("|", len(RAG_FIELDS))
    out: dict[str, Any] = {}
    for f, v in zip(RAG_FIELDS, vals):
        out[f] = v or None if f == "query_sha256" else _dec(v)
    if len(vals) > len(RAG_FIELDS):
        out["query"] = vals[len(RAG_FIELDS)]
    return out


# ---------------------------------------------------------------------------------------------- summaries
def _mean(total: Decimal, n: int) -> Decimal | None:
    return CONTEXT.divide(total, Decimal(n)).quantize(AVG_Q, rounding=ROUND_HALF_EVEN) if n else None


def _s(v: Decimal | None) -> str | None:
    return None if v is None else fmt(v)


def chunk_summary(chunk: Mapping[str, str]) -> dict[str, Any]:
    """The summary of one chunk of steps (what :func:`training_summary` merges): counts, sums and extremes."""
    steps = sorted((decode_step(a, e) for a, e in chunk.items() if a.startswith("s")), key=lambda s: s["step"])
    last = steps[-1]
    best = min(steps, key=lambda s: (s["training_loss"], s["step"]))
    vals = [s["validation_loss"] for s in steps if s["validation_loss"] is not None]
    tp = [s["throughput_samples_per_sec"] for s in steps if s["throughput_samples_per_sec"] is not None]
    bs = [s["batch_size"] for s in steps if s["batch_size"] is not None]
    gpu = [s["gpu_utilization"] for s in steps if s["gpu_utilization"] is not None]
    mem = [s["gpu_memory_mb"] for s in steps if s["gpu_memory_mb"] is not None]
    ts = [s["timestamp"] for s in steps if s["timestamp"] is not None]
    total = lambda xs: _s(sum_exact(xs))  # noqa: E731
    first = steps[0]
    curve = sorted({(first["step"], first["training_loss"]), (best["step"], best["training_loss"]),
                    (last["step"], last["training_loss"])})
    return {"n": len(steps), "fs": steps[0]["step"], "ls": last["step"], "ll": _s(last["training_loss"]),
            "lv": _s(last["validation_loss"]), "lr": _s(last["learning_rate"]), "ep": _s(last["epoch"]),
            "ml": _s(best["training_loss"]), "mls": best["step"], "mv": _s(min(vals)) if vals else None,
            "tp": total(tp), "ntp": len(tp), "sm": total(bs), "nb": len(bs), "g": total(gpu), "ng": len(gpu),
            "gm": _s(max(mem)) if mem else None, "ft": _s(min(ts)) if ts else None, "lt": _s(max(ts)) if ts else None,
            "c": [[s, _s(v)] for s, v in curve]}


def sum_exact(xs: Iterable[Decimal]) -> Decimal:
    t = ZERO
    for x in xs:
        t = CONTEXT.add(t, x)
    return t


def merge_training(parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge chunk summaries into the run's figures (no cost, no system metrics)."""
    if not parts:
        raise ValueError("no steps")
    n = sum(p["n"] for p in parts)
    last = max(parts, key=lambda p: p["ls"])
    best = min(parts, key=lambda p: (Decimal(p["ml"]), p["mls"]))
    vals = [Decimal(p["mv"]) for p in parts if p.get("mv") is not None]
    dsum = lambda k: sum_exact(Decimal(p[k]) for p in parts if p.get(k) is not None)  # noqa: E731
    cnt = lambda k: sum(p[k] for p in parts)  # noqa: E731
    fts = [Decimal(p["ft"]) for p in parts if p.get("ft")]
    lts = [Decimal(p["lt"]) for p in parts if p.get("lt")]
    mems = [Decimal(p["gm"]) for p in parts if p.get("gm")]
    curve = sorted({(s, v) for p in parts for s, v in p["c"]})
    first, lastt = (min(fts) if fts else None), (max(lts) if lts else None)
    return {"total_steps": n, "first_step": min(p["fs"] for p in parts), "current_step": last["ls"],
            "current_epoch": _dec(last["ep"] or ""), "current_loss": Decimal(last["ll"]),
            "current_validation_loss": _dec(last["lv"] or ""), "learning_rate": _dec(last["lr"] or ""),
            "best_loss": Decimal(best["ml"]), "best_loss_step": best["mls"],
            "best_validation_loss": min(vals) if vals else None,
            "avg_throughput_samples_per_sec": _mean(dsum("tp"), cnt("ntp")),
            "total_samples": dsum("sm") if cnt("nb") else None,
            "steps_gpu_utilization": (dsum("g"), cnt("ng")),
            "max_gpu_memory_mb": max(mems) if mems else None,
            "first_timestamp": first, "last_timestamp": lastt,
            "duration_seconds": CONTEXT.subtract(lastt, first) if first is not None and lastt is not None else None,
            "loss_curve": [{"step": s, "loss": Decimal(v)} for s, v in curve]}


def percentile(sorted_values: list[Decimal], p: int) -> Decimal | None:
    """Nearest-rank percentile.

    >>> percentile([Decimal(x) for x in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)], 95)
    Decimal('10')
    >>> percentile([Decimal(x) for x in (1, 2, 3, 4)], 50)
    Decimal('2')
    """
    if not sorted_values:
        return None
    return sorted_values[max(1, math.ceil(Decimal(p) / 100 * len(sorted_values))) - 1]


RAG_SUMS = ("relevance_score", "num_retrieved_docs", "embedding_tokens", "generation_tokens", "prompt_tokens")


def rag_chunk_summary(chunk: Mapping[str, str]) -> dict[str, Any]:
    """What :func:`rag_figures` needs of one chunk of queries: each time series' values (percentiles are exact
    only over all values), sums and counts, the time span and how many queries kept their text."""
    qs = [decode_query(e) for a, e in chunk.items() if a.startswith("q")]
    out: dict[str, Any] = {"n": len(qs), "kept": sum("query" in q for q in qs)}
    for f in RAG_TIMES:
        out[f] = [fmt(q[f]) for q in qs if q[f] is not None]
    for f in RAG_SUMS:
        vals = [q[f] for q in qs if q[f] is not None]
        out[f] = [fmt(sum_exact(vals)), len(vals)]
    ts = [q["timestamp"] for q in qs if q["timestamp"] is not None]
    out["ft"], out["lt"] = (fmt(min(ts)), fmt(max(ts))) if ts else (None, None)
    return out


def rag_figures(parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts, means, nearest-rank percentiles and token totals of a pipeline from its chunk summaries."""
    out: dict[str, Any] = {"total_queries": sum(p["n"] for p in parts)}
    for f in RAG_TIMES:
        vals = sorted(Decimal(v) for p in parts for v in p[f])
        out[f"avg_{f}"] = _mean(sum_exact(vals), len(vals))
        for pc in PERCENTILES:
            out[f"p{pc}_{f}"] = percentile(vals, pc)
        out[f"max_{f}"] = vals[-1] if vals else None
    sums = {f: (sum_exact(Decimal(p[f][0]) for p in parts), sum(p[f][1] for p in parts)) for f in RAG_SUMS}
    out["avg_relevance_score"] = _mean(*sums["relevance_score"])
    out["avg_num_retrieved_docs"] = _mean(*sums["num_retrieved_docs"])
    for f in ("embedding_tokens", "generation_tokens", "prompt_tokens"):
        out[f"total_{f}"] = int(sums[f][0])
    fts = [Decimal(p["ft"]) for p in parts if p.get("ft")]
    lts = [Decimal(p["lt"]) for p in parts if p.get("lt")]
    out["first_timestamp"] = min(fts) if fts else None
    out["last_timestamp"] = max(lts) if lts else None
    out["query_text_stored"] = sum(p["kept"] for p in parts)
    out["percentile_method"] = PERCENTILE_METHOD
    return out


# ---------------------------------------------------------------------------------------------- model prices
def model_price(model: str, direction: str) -> Any:
    """The catalog's price per 1 000 000 tokens of ``model`` (``vendor/model`` or a model name the catalog
    knows once) for ``input`` or ``output`` tokens. Raises :class:`cloudtally.catalog.PriceNotFound`."""
    from .. import catalog
    cat = catalog.load("llm")
    vendor, sep, name = model.partition("/")
    if not sep:
        name = model
        found = [v for v, svc in cat.services.items() if name in svc.get("regions", {}).get("global", {})]
        if len(found) != 1:
            raise catalog.PriceNotFound(f"catalog {cat.label} has no model {model!r}" if not found else
                                        f"model {model!r} is sold by {', '.join(found)}: name it vendor/model")
        vendor = found[0]
    return cat.price(vendor, "global", name, direction)


def rag_cost(figures: Mapping[str, Any], embedding_model: str | None, generation_model: str | None
             ) -> dict[str, Any]:
    """The cost of a pipeline's tokens at the catalog's prices, or ``None`` with the reason."""
    from .. import catalog
    if not embedding_model and not generation_model:
        return {"cost": None, "cost_reason": "no embedding_model or generation_model is set for this pipeline "
                                             "(RAGPipelineMetrics fields or LLMObservabilityHub(...) settings)"}
    parts: list[tuple[str, int, Any]] = []
    try:
        if figures["total_embedding_tokens"]:
            if not embedding_model:
                raise catalog.PriceNotFound("embedding tokens were recorded but no embedding_model is set")
            parts.append(("embedding", figures["total_embedding_tokens"], model_price(embedding_model, "input")))
        if figures["total_generation_tokens"] or figures["total_prompt_tokens"]:
            if not generation_model:
                raise catalog.PriceNotFound("generation tokens were recorded but no generation_model is set")
            parts.append(("generation", figures["total_generation_tokens"], model_price(generation_model, "output")))
            if figures["total_prompt_tokens"]:
                parts.append(("prompt", figures["total_prompt_tokens"], model_price(generation_model, "input")))
    except catalog.PriceNotFound as e:
        return {"cost": None, "cost_reason": e.message}
    million = Decimal(1_000_000)
    cost = sum_exact(CONTEXT.divide(p.cost(Decimal(tokens)), million) for _, tokens, p in parts)
    currencies = {p.currency for _, _, p in parts}
    tokens = figures["total_embedding_tokens"] + figures["total_generation_tokens"] + figures["total_prompt_tokens"]
    n = figures["total_queries"]
    cat = catalog.load("llm")
    return {"cost": cost, "currency": currencies.pop() if len(currencies) == 1 else "USD",
            "cost_per_1000_queries": CONTEXT.divide(cost * 1000, Decimal(n)).quantize(COST_Q) if n else None,
            "cost_per_1000_tokens": CONTEXT.divide(cost * 1000, Decimal(tokens)).quantize(COST_Q) if tokens else None,
            "cost_method": "tokens × the catalog price per 1 000 000 tokens: embedding tokens at the embedding model's "
                           "input price, generation tokens at the generation model's output price, prompt tokens "
                           "(when recorded) at its input price",
            "prices": [{"part": part, "tokens": tokens_, "sku": p.sku, "per_million_tokens": p.amount,
                        "currency": p.currency} for part, tokens_, p in parts],
            "catalog_version": cat.label, "catalog_sources": cat.doc.get("sources", [])}


# ---------------------------------------------------------------------------------------------- run cost
def _days(t0: datetime, t1: datetime) -> list[date]:
    d, out = t0.date(), []
    while d <= t1.date():
        out.append(d)
        d += timedelta(days=1)
    return out


def run_cost(store: Any, nodes: Iterable[str], t0: datetime, t1: datetime,
             day_items: dict[str, list] | None = None, *, exclude_services: Iterable[str] = ()) -> dict[str, Any]:
    """The cost of ``nodes`` between ``t0`` and ``t1``: each counted (not superseded) cost record whose
    ResourceId or ResourceName is a node, times the share of its charge period inside [t0, t1]."""
    from ..store import codec
    from ..store.cube import supersede_rule
    nodes, exclude = set(nodes), set(exclude_services)
    if not nodes:
        return {"cost": None, "cost_reason": "the run names no cluster with registered nodes and no node_ids "
                                             "(set cluster_id on the metrics or LLMObservabilityHub(cluster_id=...))"}
    if t1 <= t0:
        return {"cost": None, "cost_reason": "the run spans 0 s (one step or one timestamp): there is no time to "
                                             "apportion its nodes' cost to"}
    per: dict[str, Decimal] = {}
    records = 0
    span_us = (t1 - t0) // timedelta(microseconds=1)
    for d in _days(t0, t1):
        key = d.isoformat()
        if day_items is not None and key in day_items:
            items = day_items[key]
        else:
            items = list(store.iter_day_items(key, consistent=False))
            if day_items is not None:
                day_items[key] = items
        superseded = supersede_rule(items)
        for it in items:
            rid, rname = it.get("r", {}).get("S"), it.get("rn", {}).get("S")
            if (rid not in nodes and rname not in nodes) or it.get("s", {}).get("S") in exclude:
                continue
            if superseded(it):
                continue
            r = codec.from_item(it)
            start, end = max(r.ChargePeriodStart, t0), min(r.ChargePeriodEnd, t1)
            if end <= start:
                continue
            period = (r.ChargePeriodEnd - r.ChargePeriodStart) // timedelta(microseconds=1)
            share = CONTEXT.divide(Decimal((end - start) // timedelta(microseconds=1)), Decimal(period))
            per[r.BillingCurrency] = CONTEXT.add(per.get(r.BillingCurrency, ZERO),
                                                 CONTEXT.multiply(r.EffectiveCost, share))
            records += 1
    if not per:
        return {"cost": None, "cost_reason": f"no cost record of the run's nodes ({', '.join(sorted(nodes)[:10])}) "
                                             f"overlaps {iso(t0)} – {iso(t1)}"}
    cur = max(per, key=lambda c: per[c])
    return {"cost": per[cur].quantize(COST_Q), "currency": cur, "cost_by_currency": {c: v.quantize(COST_Q)
                                                                                    for c, v in per.items()},
            "cost_records": records, "cost_method": COST_METHOD, "span_seconds": Decimal(span_us) / 1_000_000}


def run_nodes(repo: Any, info: Mapping[str, Any], clusters: dict[str, Any] | None = None) -> list[str]:
    nodes = set(info.get("node_ids") or [])
    cid = info.get("cluster_id")
    if cid:
        cl = (clusters if clusters is not None else {c["cluster_id"]: c for c in repo.clusters()}).get(cid)
        nodes |= set((cl or {}).get("nodes") or [])
    return sorted(nodes)


def training_summary(svc_store: Any, run_id: str, *, clusters: dict | None = None,
                     day_items: dict | None = None, curve: bool = True) -> dict[str, Any]:
    from ..store.hub_repo import HubRepo
    repo = HubRepo(svc_store)
    info = repo.run_info("T", run_id)
    parts = repo.chunk_docs(f"LT#{run_id}", "s#")
    if info is None or not parts:
        raise NotFound(f"no training run {run_id[:80]!r}", details=[{"field": "run_id", "message": "no steps recorded"}])
    figs = merge_training(parts)
    gsum, gn = figs.pop("steps_gpu_utilization")
    nodes = run_nodes(repo, info, clusters)
    out: dict[str, Any] = {"run_id": run_id, "model_name": info.get("model_name"), "cluster_id": info.get("cluster_id"),
                           "nodes": nodes, **figs}
    reasons: dict[str, str] = {}
    if gn:
        out["avg_gpu_usage"], out["gpu_usage_source"] = _mean(gsum, gn), "the steps' gpu_utilization"
    else:
        out["avg_gpu_usage"], out["gpu_usage_source"] = None, None
        if not nodes:
            reasons["avg_gpu_usage"] = ("no gpu_utilization on the steps and the run names no cluster or nodes whose "
                                        "gpu_utilization metric points could be used")
        elif figs["first_timestamp"] is None:
            reasons["avg_gpu_usage"] = "the steps carry no timestamps"
        else:
            t0 = to_datetime(figs["first_timestamp"]) - GPU_LOOKBACK
            t1 = to_datetime(figs["last_timestamp"])
            vals = []
            for d in _days(t0, t1):
                for p in svc_store.query_metrics("gpu_utilization", d, d + timedelta(days=1), limit=100_000):
                    dims = p["dimensions"]
                    host = dims.get("host") or dims.get("resource") or dims.get("hostname")
                    ts = _point_time(p["timestamp"])
                    if host in nodes and t0 <= ts <= t1:
                        vals.append(Decimal(p["value"]))
            if vals:
                out["avg_gpu_usage"] = _mean(sum_exact(vals), len(vals))
                out["gpu_usage_source"] = (f"gpu_utilization metric points of the run's nodes from "
                                           f"{int(GPU_LOOKBACK.total_seconds() // 60)} min before its first step to its last")
            else:
                reasons["avg_gpu_usage"] = (f"no gpu_utilization metric point of the nodes {', '.join(nodes[:10])} "
                                            f"between {iso(t0)} and {iso(t1)}")
    if figs["first_timestamp"] is not None:
        cost = run_cost(svc_store, nodes, to_datetime(figs["first_timestamp"]), to_datetime(figs["last_timestamp"]),
                        day_items)
    else:
        cost = {"cost": None, "cost_reason": "the steps carry no timestamps"}
    if cost.get("cost_reason"):
        reasons["cost"] = cost.pop("cost_reason")
    out.update(cost)
    out["cost_per_run"] = cost.get("cost")
    samples = figs["total_samples"]
    if cost.get("cost") is not None and samples:
        out["cost_per_1000_samples"] = CONTEXT.divide(cost["cost"] * 1000, samples).quantize(COST_Q)
    else:
        out["cost_per_1000_samples"] = None
        reasons["cost_per_1000_samples"] = reasons.get("cost") or "no step carries a batch_size"
    if "cost" in reasons:
        reasons["cost_per_run"] = reasons["cost"]
    for k, v in list(out.items()):
        if isinstance(v, Decimal) and k.endswith("timestamp"):
            out[k.replace("timestamp", "time")] = iso(to_datetime(v))
    out["not_collected"] = reasons
    if not curve:
        out.pop("loss_curve")
    return out


def _point_time(s: str) -> datetime:
    from ..focus import parse_time
    return parse_time(s)


def rag_summary(svc_store: Any, pipeline_id: str) -> dict[str, Any]:
    from ..store.hub_repo import HubRepo
    repo = HubRepo(svc_store)
    info = repo.run_info("R", pipeline_id)
    parts = repo.chunk_docs(f"LR#{pipeline_id}", "s#")
    if info is None or not parts:
        raise NotFound(f"no RAG pipeline {pipeline_id[:80]!r}",
                       details=[{"field": "pipeline_id", "message": "no queries recorded"}])
    figs = rag_figures(parts)
    out: dict[str, Any] = {"pipeline_id": pipeline_id, "embedding_model": info.get("embedding_model"),
                           "generation_model": info.get("generation_model"), **figs}
    cost = rag_cost(figs, info.get("embedding_model"), info.get("generation_model"))
    reasons = {}
    if cost.get("cost_reason"):
        reasons["cost"] = reasons["cost_per_1000_queries"] = reasons["cost_per_1000_tokens"] = cost.pop("cost_reason")
        cost.update({"cost_per_1000_queries": None, "cost_per_1000_tokens": None})
    out.update(cost)
    for k in ("first_timestamp", "last_timestamp"):
        if out.get(k) is not None:
            out[k.replace("timestamp", "time")] = iso(to_datetime(out[k]))
    out["not_collected"] = reasons
    return out


# ---------------------------------------------------------------------------------------------- write
def ingest(svc: Any, raw: bytes | str | None, headers: Mapping[str, str]) -> dict[str, Any]:
    """``{"session", "training": [...], "rag": [...]}`` → chunk writes; per-element errors, the rest kept."""
    from ..store.hub_repo import HubRepo
    doc = body.parse_json(body.decode_body(raw, headers, svc.cfg.max_body_bytes))
    if not isinstance(doc, dict) or not ({"training", "rag"} & set(doc)):
        raise BadRequest("expected {\"training\": [...], \"rag\": [...]} (either or both)",
                         details=[{"field": "", "message": "an object with training and/or rag lists"}])
    unknown = [k for k in doc if k not in ("training", "rag", "session")]
    if unknown:
        raise BadRequest("unknown fields", details=[{"field": str(k)[:64], "message": "unknown field"} for k in unknown])
    training, rag = doc.get("training") or [], doc.get("rag") or []
    if not isinstance(training, list) or not isinstance(rag, list):
        raise BadRequest("training and rag must be lists", details=[{"field": "training", "message": "a list"}])
    if len(training) + len(rag) > svc.cfg.max_batch_records:
        raise PayloadTooLarge(f"{len(training) + len(rag)} elements in one request; the limit is "
                              f"{svc.cfg.max_batch_records}", details={"limit_elements": svc.cfg.max_batch_records})
    session = doc.get("session", "default")
    if not isinstance(session, str) or not 0 < len(session) <= 64 or not session.replace("-", "").isalnum():
        raise BadRequest("invalid session", details=[{"field": "session", "message": "1-64 letters, digits or -"}])
    rejected: list[dict[str, Any]] = []
    steps: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    runs: dict[str, dict[str, Any]] = {}
    for i, obj in enumerate(training):
        s, errs = parse_training(obj)
        if s is None:
            rejected.append({"kind": "training", "index": i, "errors": errs})
            continue
        step = int(s["step"])
        steps[(s["run_id"], step // CHUNK)][f"s{step}"] = encode_step(s)
        info = runs.setdefault(s["run_id"], {})
        for k in ("model_name", "cluster_id", "node_ids"):
            if s.get(k) is not None:
                info[k] = s[k]
        if s["timestamp"] is not None:
            info["last_ts"] = max(info.get("last_ts", s["timestamp"]), s["timestamp"])
    queries: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    pipes: dict[str, dict[str, Any]] = {}
    for i, obj in enumerate(rag):
        q, errs = parse_rag(obj)
        if q is None:
            rejected.append({"kind": "rag", "index": i, "errors": errs})
            continue
        seq = int(q["seq"])
        queries[(q["pipeline_id"], seq // CHUNK)][f"q{seq}"] = encode_query(q)
        info = pipes.setdefault(q["pipeline_id"], {})
        for k in ("embedding_model", "generation_model"):
            if q.get(k):
                info[k] = q[k]
        if q["timestamp"] is not None:
            info["last_ts"] = max(info.get("last_ts", q["timestamp"]), q["timestamp"])
    repo = HubRepo(svc.store)
    now = iso(svc.clock.now())
    for (run, chunk), entries in sorted(steps.items()):
        repo.write_chunk(f"LT#{run}", f"c#{chunk:010d}", entries, chunk_summary, f"s#{chunk:010d}")
    for run, info in runs.items():
        repo.put_run_info("T", run, {**{k: (fmt(v) if isinstance(v, Decimal) else v) for k, v in info.items()},
                                     "updated_at": now})
    for (pipe, chunk), entries in sorted(queries.items()):
        repo.write_chunk(f"LR#{pipe}", f"c#{session}#{chunk:08d}", entries, rag_chunk_summary,
                         f"s#{session}#{chunk:08d}")
    for pipe, info in pipes.items():
        repo.put_run_info("R", pipe, {**{k: (fmt(v) if isinstance(v, Decimal) else v) for k, v in info.items()},
                                      "updated_at": now})
    return {"accepted": {"training": sum(len(e) for e in steps.values()), "rag": sum(len(e) for e in queries.values())},
            "rejected": rejected, "runs": sorted(runs), "pipelines": sorted(pipes)}


# ---------------------------------------------------------------------------------------------- handlers
def post_metrics(svc: Any, req: Request) -> Any:
    return ingest(svc, req.body, req.headers)


def get_training_run(svc: Any, req: Request) -> Any:
    _no_params(req)
    return training_summary(svc.store, req.params["run_id"])


def get_rag_pipeline(svc: Any, req: Request) -> Any:
    _no_params(req)
    return rag_summary(svc.store, req.params["pipeline_id"])


def _limit(p: Mapping[str, Any]) -> int:
    raw = p.get("limit", "50")
    if not isinstance(raw, str) or not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise BadRequest("invalid limit", details=[{"field": "limit", "message": "an integer between 1 and 200"}])
    return int(raw)


def list_training_runs(svc: Any, req: Request) -> Any:
    p = _no_params(req, ("limit",))
    return {"runs": training_summaries(svc.store, limit=_limit(p))}


def list_rag_pipelines(svc: Any, req: Request) -> Any:
    p = _no_params(req, ("limit",))
    return {"pipelines": rag_summaries(svc.store, limit=_limit(p))}


def _recent(infos: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    return sorted(infos, key=lambda i: (i.get("updated_at") or "", i["key"]), reverse=True)[:limit]


def _active_since(infos: list[dict[str, Any]], since: Decimal | None) -> list[dict[str, Any]]:
    """The runs (pipelines) whose last element is at ``since`` or later (epoch seconds; None: all)."""
    if since is None:
        return infos
    return [i for i in infos if i.get("last_ts") is None or Decimal(i["last_ts"]) >= since]


def training_summaries(store: Any, *, limit: int = 50, curve: bool = False,
                       since: Decimal | None = None) -> list[dict[str, Any]]:
    from ..store.hub_repo import HubRepo
    repo = HubRepo(store)
    clusters = {c["cluster_id"]: c for c in repo.clusters()}
    day_items: dict[str, list] = {}
    return [training_summary(store, i["key"], clusters=clusters, day_items=day_items, curve=curve)
            for i in _recent(_active_since(repo.run_infos("T"), since), limit)]


def rag_summaries(store: Any, *, limit: int = 50, since: Decimal | None = None) -> list[dict[str, Any]]:
    from ..store.hub_repo import HubRepo
    return [rag_summary(store, i["key"]) for i in _recent(_active_since(HubRepo(store).run_infos("R"), since), limit)]


def dashboard_view(store: Any, q: Any, now: datetime) -> dict[str, Any]:
    """``GET /v1/dashboard/llm``: the training runs and RAG pipelines active since the range's first day (the 50
    most recently updated of each), with loss curves, throughput, GPU, latency percentiles and costs."""
    since = to_epoch(datetime(q.start.year, q.start.month, q.start.day, tzinfo=UTC))
    runs = [r for r in training_summaries(store, limit=50, curve=True, since=since)
            if r["first_timestamp"] is None or to_datetime(r["first_timestamp"]).date() < q.end]
    pipes = rag_summaries(store, limit=50, since=since)
    return {"view": "llm", "from": q.start.isoformat(), "to": q.end.isoformat(), "filters": {}, "tags": {},
            "runs": runs, "pipelines": pipes, "totals": {}, "options": {"providers": [], "accounts": [], "tags": {}},
            "percentile_method": PERCENTILE_METHOD, "cost_method": COST_METHOD}


# ---------------------------------------------------------------------------------------------- OpenAPI
def openapi() -> dict[str, dict[str, Any]]:
    sec = {"security": [{"keyId": [], "keySecret": []}, {"bearer": []}, {"basic": []}]}
    err = {str(c): {"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
           for c, d in ((400, "invalid input; details name each field"), (401, "missing or unknown key"),
                        (403, "key lacks the scope"), (404, "not found"), (413, "too many elements or body too large"),
                        (415, "unsupported content type"))}
    num = {"oneOf": [{"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$", "maxLength": 64},
                     {"type": "number"}]}
    ident = {"type": "string", "minLength": 1, "maxLength": MAX_ID}
    step = {"type": "object", "required": ["run_id", "step", "training_loss", "timestamp"], "properties": {
        "run_id": ident, "model_name": ident, "cluster_id": ident, "step": {"type": "integer", "minimum": 0},
        "epoch": {"type": "integer", "minimum": 0}, "training_loss": num, "validation_loss": num,
        "learning_rate": num, "gpu_memory_mb": num, "batch_size": {"type": "integer", "minimum": 0},
        "throughput_samples_per_sec": num, "gpu_utilization": num, "timestamp": num,
        "node_ids": {"type": "array", "items": ident, "maxItems": 1000}}}
    query = {"type": "object", "required": ["pipeline_id", "seq", "timestamp", "retrieval_time_ms",
                                            "generation_time_ms", "total_time_ms", "embedding_tokens",
                                            "generation_tokens"], "properties": {
        "pipeline_id": ident, "seq": {"type": "integer", "minimum": 0}, "timestamp": num,
        **{f: num for f in RAG_TIMES}, "relevance_score": num,
        **{f: {"type": "integer", "minimum": 0} for f in ("num_retrieved_docs", "embedding_tokens",
                                                          "generation_tokens", "prompt_tokens", "query_length")},
        "query_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "query": {"type": "string", "maxLength": 100000,
                  "description": "hashed and measured; stored only with keep_query_text"},
        "keep_query_text": {"type": "boolean"}, "embedding_model": ident, "generation_model": ident}}
    obj = {"content": {"application/json": {"schema": {"type": "object"}}}}
    path_id = lambda n: [{"name": n, "in": "path", "required": True, "schema": {"type": "string", "maxLength": MAX_ID}}]  # noqa: E731
    limit = [{"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 200}}]
    return {
        "postLlmMetrics": {"summary": "LLM training steps and RAG queries in one batch (ingest); per-element errors",
                           **sec, "requestBody": {"required": True, "content": {"application/json": {"schema": {
                               "type": "object", "properties": {
                                   "session": {"type": "string", "pattern": "^[A-Za-z0-9-]{1,64}$"},
                                   "training": {"type": "array", "items": step, "maxItems": 5000},
                                   "rag": {"type": "array", "items": query, "maxItems": 5000}}}}}},
                           "responses": {"200": {"description": "accepted and rejected elements", **obj},
                                         **{k: err[k] for k in ("400", "401", "403", "413", "415")}}},
        "listTrainingRuns": {"summary": "The most recently updated training runs with their summaries (read)", **sec,
                             "parameters": limit, "responses": {"200": {"description": "runs", **obj},
                                                                **{k: err[k] for k in ("400", "401", "403")}}},
        "getTrainingRun": {"summary": "A training run's summary: steps, losses, throughput, GPU, cost per run and per "
                                      "1 000 samples (read)", **sec, "parameters": path_id("run_id"),
                           "responses": {"200": {"description": "summary", **obj},
                                         **{k: err[k] for k in ("400", "401", "403", "404")}}},
        "listRagPipelines": {"summary": "The most recently updated RAG pipelines with their summaries (read)", **sec,
                             "parameters": limit, "responses": {"200": {"description": "pipelines", **obj},
                                                                **{k: err[k] for k in ("400", "401", "403")}}},
        "getRagPipeline": {"summary": "A RAG pipeline's summary: latency percentiles, relevance, tokens, cost per "
                                      "1 000 queries and tokens (read)", **sec, "parameters": path_id("pipeline_id"),
                           "responses": {"200": {"description": "summary", **obj},
                                         **{k: err[k] for k in ("400", "401", "403", "404")}}},
    }


__all__ = ["ingest", "training_summary", "rag_summary", "openapi"]
