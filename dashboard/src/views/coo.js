// COO `/dashboard/coo`: collector health and data freshness, idle and under-used resources with
// their cost, cost per service trend, alerts sent.

import { chart, pivot } from "../charts.js";
import { h } from "../dom.js";
import { fmtAgo, fmtMoney, fmtTime, fmtUtil } from "../format.js";
import {
  collectorTable, emptyNote, freshnessTable, hasCost, kpi, kpiText, partialFlags, section, table, total,
} from "./common.js";

export function isEmpty(data) {
  return !hasCost(data) && !(data.collectors || []).length;
}

/** When the evaluator claimed an alert in the ledger (absolute UTC, and how long ago by the API's clock). */
function claimed(a, now) {
  if (!a.claimed_at) return "not recorded";
  const retried = a.attempts > 1 && a.last_claimed_at ? `; ${a.attempts} attempts, last ${fmtTime(a.last_claimed_at)}` : "";
  return `${fmtTime(a.claimed_at)} (${fmtAgo(a.claimed_at, now)}${retried})`;
}

/** When SNS acknowledged the publish; a pending claim has not been acknowledged (it is retried). */
function sent(a, now) {
  if (a.sent_at) return `${fmtTime(a.sent_at)} (${fmtAgo(a.sent_at, now)})`;
  if (a.status === "sent") return "acknowledged (time not recorded)";
  return "not yet: SNS has not acknowledged it; the next evaluation retries";
}

export function render(data, ctx = {}) {
  const now = ctx.now ?? Date.now();
  const cur = data.currency;
  const trend = pivot(data.service_trend, "day", "service");
  const failing = (data.collectors || []).filter((c) => c.status !== "ok").length;
  const th = data.idle_thresholds;
  return [
    h("div", { class: "kpis" },
      kpi("total-spend", "Spend (effective cost)", total(data), cur, `${data.from} to ${data.to} (exclusive)`),
      kpiText("collectors-ok", "Collectors healthy",
        `${(data.collectors || []).length - failing} of ${(data.collectors || []).length}`, !(data.collectors || []).length ? "none has reported yet" : failing ? `${failing} failing` : "all ok"),
      kpiText("idle-count", "Idle or under-used resources", String(data.idle_resources.length),
        `average ${th.metric} under ${th.underused_cpu_pct} % over the last ${th.window_days} days`),
      kpiText("sla-compliance", "SLA compliance", data.sla.sla_compliance === null ? "n/a" : fmtUtil(data.sla.sla_compliance),
        data.sla.sla_compliance === null ? data.sla.sla_compliance_reason : `${data.sla.services.length} services`),
      kpiText("efficiency", "Operational efficiency",
        data.efficiency.operational_efficiency === null ? "n/a" : fmtUtil(data.efficiency.operational_efficiency),
        data.efficiency.operational_efficiency === null ? data.efficiency.reason : data.efficiency.definition)),
    section("sla", "SLA compliance per service", table("SLA compliance per service", [
      { label: "Service", value: (x) => x.service_name },
      { label: "Cluster", value: (x) => x.cluster_id || "" },
      { label: "Status", value: (x) => (x.status ? h("span", { class: `badge badge-${x.status === "running" ? "ok" : "warn"}` }, x.status) : "") },
      { label: "Target", value: (x) => fmtUtil(x.sla_target), num: true },
      { label: "Availability", value: (x) => fmtUtil(x.availability), num: true },
      { label: "Compliant intervals", value: (x) => `${x.compliant_intervals} of ${x.intervals}`, num: true },
      { label: "SLA compliance", value: (x) => (x.sla_compliance === null ? "n/a" : h("span", {
        class: `badge badge-${x.meets_target ? "ok" : "bad"}` }, fmtUtil(x.sla_compliance))), num: true },
      { label: "Avg response", value: (x) => (x.avg_response_time_ms === null ? "" : `${x.avg_response_time_ms} ms`), num: true },
    ], data.sla.services, { id: "sla-table", empty: "No service has reported (ObservabilityHub.collect_service_metrics)." }),
    h("p", { class: "muted", id: "sla-definition" }, data.sla.definition)),
    h("div", { class: "grid2" },
      section("collectors", "Collector health", collectorTable(data.collectors, now)),
      section("freshness", "Data freshness", freshnessTable(data.freshness, ctx.today))),
    section("idle", "Idle and under-used resources", table("Idle and under-used resources", [
      { label: "Resource", value: (r) => r.resource },
      { label: "Provider", value: (r) => r.provider || "" },
      { label: "Service", value: (r) => r.service || "" },
      { label: "State", value: (r) => h("span", { class: `badge badge-${r.state === "idle" ? "bad" : "warn"}` }, r.state) },
      { label: "Avg CPU", value: (r) => fmtUtil(r.cpu), num: true },
      { label: "Avg memory", value: (r) => fmtUtil(r.memory), num: true },
      { label: "Spend in range", value: (r) => fmtMoney(r.amount, cur), num: true },
    ], data.idle_resources, { id: "idle-table", empty: "No idle or under-used resources (or no utilisation metrics yet)." })),
    section("service-trend", "Cost per service",
      trend.labels.length ? chart({ id: "chart-service-trend", title: "Daily cost per service", ...trend, currency: cur, type: "line",
        partial: partialFlags(trend.labels, data.service_trend) })
        : emptyNote("No cost data in this range."),
      data.service_trend.some((r) => r.partial)
        ? h("p", { class: "muted chart-note", id: "service-trend-partial" }, `Dashed: ${data.partial_note}.`) : null),
    section("alerts", "Alerts sent",
      !data.alerts.available ? emptyNote("Budget alerts are not set up.")
        : table("Alerts sent", [
          { label: "Alert", value: (a) => a.subject || a.kind || "" },
          { label: "Budget", value: (a) => a.budget || a.budget_name || "" },
          { label: "Threshold", value: (a) => (a.threshold ? String(a.threshold) : "") },
          { label: "Status", value: (a) => h("span", { class: `badge badge-${a.status === "sent" ? "ok" : "warn"}` }, a.status || "") },
          { label: "Claimed", value: (a) => claimed(a, now) },
          { label: "Sent (SNS acknowledged)", value: (a) => sent(a, now) },
        ], data.alerts.items, { id: "alerts-table", empty: "No alerts sent." })),
  ];
}
