// Overview `/`: spend for the range, daily trend by provider, top services and resources,
// budgets, open anomalies, collector status.

import { chart, pivot } from "../charts.js";
import { h } from "../dom.js";
import { fmtMoney } from "../format.js";
import {
  budgetList, collectorTable, emptyNote, freshnessTable, hasCost, kpi, kpiText, partialFlags, section, table,
  tagsText, total,
} from "./common.js";

export function isEmpty(data) {
  return !hasCost(data);
}

function anomalies(a, currency) {
  if (!a || !a.available) return emptyNote("Anomaly detection is not set up.");
  if (!a.items.length) return emptyNote("No open anomalies.");
  return table("Open anomalies", [
    { label: "Day", value: (x) => x.day || x.date || "" },
    { label: "Root cause", value: (x) => x.root_cause ? `${x.root_cause.dimension || ""} ${x.root_cause.value || ""}`.trim() : (x.dimension || "") },
    { label: "Expected", value: (x) => fmtMoney(x.expected, x.currency || currency), num: true },
    { label: "Observed", value: (x) => fmtMoney(x.observed, x.currency || currency), num: true },
    { label: "Severity", value: (x) => x.severity || "" },
  ], a.items, { id: "anomalies-table" });
}

export function render(data, ctx = {}) {
  const cur = data.currency;
  const t = (data.totals || {})[cur] || {};
  const trend = pivot(data.daily, "day", "provider");
  const others = Object.keys(data.totals || {}).filter((c) => c !== cur);
  return [
    h("div", { class: "kpis" },
      kpi("total-spend", "Spend (effective cost)", total(data), cur, `${data.from} to ${data.to} (exclusive)`),
      kpi("total-billed", "Billed cost", t.BilledCost ?? "0", cur),
      kpiText("total-records", "Cost records", String(t.records ?? 0)),
      others.length ? kpiText("other-currencies", "Other currencies",
        others.map((c) => fmtMoney(data.totals[c].EffectiveCost, c)).join(", ")) : null),
    section("trend", "Daily spend by provider",
      trend.labels.length ? chart({ id: "chart-trend", title: "Daily spend by provider", ...trend, currency: cur, stacked: true,
        partial: partialFlags(trend.labels, data.daily) })
        : emptyNote("No cost data in this range."),
      data.daily.some((d) => d.partial) ? h("p", { class: "muted chart-note" }, `Partial: ${data.partial_note}.`) : null),
    h("div", { class: "grid2" },
      section("services", "Top services",
        data.services.length ? chart({ id: "chart-services", title: "Top services", labels: data.services.map((s) => s.service),
          series: [{ label: "Spend", values: data.services.map((s) => s.amount) }], currency: cur, horizontal: true,
          labelHeader: "Service" }) : emptyNote("No services in this range.")),
      section("budgets", "Budgets", budgetList(data.budgets, cur))),
    section("resources", "Top resources", table("Top resources", [
      { label: "Resource", value: (r) => r.ResourceName && r.ResourceName !== r.ResourceId ? `${r.ResourceName} (${r.ResourceId})` : r.ResourceId },
      { label: "Provider", value: (r) => r.ProviderName },
      { label: "Service", value: (r) => r.ServiceName },
      { label: "Tags", value: (r) => tagsText(r.tags) },
      { label: "Spend", value: (r) => fmtMoney(r.EffectiveCost, r.currency), num: true },
    ], data.top_resources, { id: "resources-table", empty: "No resources in this range." })),
    h("div", { class: "grid2" },
      section("anomalies", "Open anomalies", anomalies(data.anomalies, cur)),
      section("collectors", "Collectors", collectorTable(data.collectors, ctx.now), h("h3", {}, "Data freshness"),
        freshnessTable(data.freshness, ctx.today))),
  ];
}
