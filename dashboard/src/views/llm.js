// LLM `/dashboard/llm`: training runs (loss curves, throughput, GPU utilisation, cost per run and per 1 000
// samples) and RAG pipelines (latency percentiles, relevance, tokens, cost per 1 000 queries and tokens).
// A figure the API could not compute is shown as "not collected" with its reason, never as a zero.

import { chart } from "../charts.js";
import { h } from "../dom.js";
import { fmtMoney, fmtUtil } from "../format.js";
import { emptyNote, kpiText, section, table } from "./common.js";

const MAX_CURVES = 6;

export function isEmpty(data) {
  return !data.runs.length && !data.pipelines.length;
}

/** A value, or "not collected" with the API's reason as its tooltip. */
function orWhy(row, key, show) {
  const v = row[key];
  if (v !== null && v !== undefined) return show(v);
  const why = (row.not_collected || {})[key] || "not reported";
  return h("span", { class: "not-collected", title: why, "data-reason": why }, "not collected");
}

function num(v, digits = 4) {
  const s = String(v);
  const [i, f = ""] = s.split(".");
  return f.length > digits ? `${i}.${f.slice(0, digits)}` : s;
}

function ms(v) {
  return `${num(v, 1)} ms`;
}

function money(row, key, cur) {
  return orWhy(row, key, (v) => fmtMoney(v, row.currency || cur, 4));
}

function curves(runs) {
  return runs.filter((r) => (r.loss_curve || []).length > 1).slice(0, MAX_CURVES).map((r) => chart({
    id: `chart-loss-${r.run_id}`, title: `Training loss: ${r.run_id} (${r.model_name || "model"})`, type: "line",
    labels: r.loss_curve.map((p) => String(p.step)), labelHeader: "Step",
    series: [{ label: "Loss", values: r.loss_curve.map((p) => p.loss), format: (v) => num(v) }],
    yFormat: (v) => num(v, 3),
  }));
}

export function render(data) {
  const runs = data.runs;
  const pipes = data.pipelines;
  const totalQueries = pipes.reduce((a, p) => a + p.total_queries, 0);
  const totalSteps = runs.reduce((a, r) => a + r.total_steps, 0);
  return [
    h("div", { class: "kpis" },
      kpiText("run-count", "Training runs", String(runs.length), `${totalSteps} steps recorded`),
      kpiText("pipeline-count", "RAG pipelines", String(pipes.length), `${totalQueries} queries recorded`)),
    section("runs", "Training runs", table("Training runs", [
      { label: "Run", value: (r) => r.run_id },
      { label: "Model", value: (r) => r.model_name || "" },
      { label: "Steps", value: (r) => String(r.total_steps), num: true },
      { label: "Current loss", value: (r) => num(r.current_loss), num: true },
      { label: "Best loss", value: (r) => `${num(r.best_loss)} (step ${r.best_loss_step})`, num: true },
      { label: "Throughput", value: (r) => orWhy(r, "avg_throughput_samples_per_sec", (v) => `${num(v, 1)} samples/s`), num: true },
      { label: "GPU", value: (r) => orWhy(r, "avg_gpu_usage", (v) => fmtUtil(num(v, 1))), num: true },
      { label: "Cost per run", value: (r) => money(r, "cost_per_run", "USD"), num: true },
      { label: "Cost per 1 000 samples", value: (r) => money(r, "cost_per_1000_samples", "USD"), num: true },
    ], runs, { id: "runs-table", empty: "No training run has reported (LLMObservabilityHub.collect_llm_training_metrics)." }),
    runs.length ? h("p", { class: "muted" }, `Cost: ${data.cost_method}.`) : null),
    section("loss-curves", "Loss curves", runs.length ? curves(runs) : emptyNote("No training run has reported."),
      runs.length > MAX_CURVES ? h("p", { class: "muted" }, `The ${MAX_CURVES} most recent runs.`) : null),
    h("div", { class: "grid2" },
      section("throughput", "Throughput", runs.length ? chart({
        id: "chart-throughput", title: "Average throughput per run (samples/s)", horizontal: true, labelHeader: "Run",
        labels: runs.map((r) => r.run_id), yFormat: (v) => String(v),
        series: [{ label: "Samples/s", values: runs.map((r) => r.avg_throughput_samples_per_sec ?? "0"),
          format: (v) => num(v, 1) }] }) : emptyNote("No training run has reported.")),
      section("run-cost", "Cost per run", runs.some((r) => r.cost_per_run !== null) ? chart({
        id: "chart-run-cost", title: "Cost per run", horizontal: true, labelHeader: "Run",
        labels: runs.map((r) => r.run_id), currency: "USD",
        series: [{ label: "Cost", values: runs.map((r) => r.cost_per_run ?? "0") }] })
        : emptyNote("No run has cost records of its nodes yet (register its cluster's nodes; their cost records count)."))),
    section("pipelines", "RAG pipelines", table("RAG pipelines", [
      { label: "Pipeline", value: (p) => p.pipeline_id },
      { label: "Queries", value: (p) => String(p.total_queries), num: true },
      { label: "Total p50 / p95", value: (p) => `${ms(p.p50_total_time_ms)} / ${ms(p.p95_total_time_ms)}`, num: true },
      { label: "Retrieval p95", value: (p) => ms(p.p95_retrieval_time_ms), num: true },
      { label: "Generation p95", value: (p) => ms(p.p95_generation_time_ms), num: true },
      { label: "Relevance", value: (p) => orWhy(p, "avg_relevance_score", (v) => num(v, 3)), num: true },
      { label: "Tokens", value: (p) => String(p.total_embedding_tokens + p.total_generation_tokens + p.total_prompt_tokens), num: true },
      { label: "Cost per 1 000 queries", value: (p) => money(p, "cost_per_1000_queries", "USD"), num: true },
      { label: "Cost per 1 000 tokens", value: (p) => money(p, "cost_per_1000_tokens", "USD"), num: true },
    ], pipes, { id: "pipelines-table", empty: "No RAG pipeline has reported (LLMObservabilityHub.collect_rag_pipeline_metrics)." }),
    pipes.length ? h("p", { class: "muted" }, `Percentiles: ${data.percentile_method}.`) : null),
    section("latency", "Latency percentiles", pipes.length ? chart({
      id: "chart-latency", title: "Total time per query (ms)", labelHeader: "Pipeline",
      labels: pipes.map((p) => p.pipeline_id), yFormat: (v) => `${v} ms`,
      series: ["p50", "p95", "p99"].map((q) => ({ label: q, values: pipes.map((p) => p[`${q}_total_time_ms`] ?? "0"),
        format: ms })) }) : emptyNote("No RAG pipeline has reported.")),
  ];
}
