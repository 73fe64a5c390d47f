// Building blocks shared by the views: KPI cards, sections, tables, budget meters, collector status.

import { h } from "../dom.js";
import { daysOld, fmtAgo, fmtMoney } from "../format.js";

export function total(data) {
  const t = (data.totals || {})[data.currency];
  return t ? t[data.metric || "EffectiveCost"] : "0";
}

export function hasCost(data) {
  return Object.keys(data.totals || {}).length > 0;
}

export function kpi(id, label, amount, currency, note) {
  return h("div", { class: "kpi", id },
    h("div", { class: "kpi-label" }, label),
    h("div", { class: "kpi-value", "data-amount": amount ?? "", "data-currency": currency || "" },
      typeof amount === "string" || amount === null ? fmtMoney(amount, currency) : amount),
    note ? h("div", { class: "kpi-note" }, note) : null);
}

export function kpiText(id, label, text, note, valueClass = "") {
  return h("div", { class: "kpi", id },
    h("div", { class: "kpi-label" }, label), h("div", { class: `kpi-value ${valueClass}`.trim() }, text),
    note ? h("div", { class: "kpi-note" }, note) : null);
}

export function section(id, title, ...children) {
  return h("section", { class: "card", id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h` }, title), children);
}

export function emptyNote(text) {
  return h("p", { class: "empty" }, text);
}

/** One boolean per label of a pivot: whether that day is still open (the API marks such rows partial). */
export function partialFlags(labels, rows, key = "day") {
  const open = new Set(rows.filter((r) => r.partial).map((r) => r[key]));
  return labels.map((l) => open.has(l));
}

/** cols: [{label, value: (row) => string|Node, num?: bool}] */
export function table(caption, cols, rows, { id, empty = "Nothing to show." } = {}) {
  if (!rows.length) return emptyNote(empty);
  return h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": caption },
    h("table", { id },
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, cols.map((c) => h("td", { class: c.num ? "num" : null }, c.value(r))))))));
}

export function tagsText(tags) {
  return Object.entries(tags || {}).map(([k, v]) => `${k}: ${v}`).join(", ");
}

export function budgetList(budgets, currency) {
  if (!budgets || !budgets.available) {
    return emptyNote("No budgets configured.");
  }
  if (!budgets.items.length) return emptyNote("No budgets configured.");
  return h("ul", { class: "budgets" }, budgets.items.map((b) => {
    const cur = b.currency || currency;
    const pct = String(b.percentage_used ?? "0");
    const fpct = b.forecast_percentage ?? null;
    return h("li", { class: `budget budget-${b.status || "ok"}` },
      h("div", { class: "budget-head" }, h("strong", {}, b.name || b.id || "budget"),
        h("span", {}, `${fmtMoney(b.spent, cur)} of ${fmtMoney(b.amount, cur)} (${pct} %)`)),
      h("meter", { min: "0", max: "100", low: "80", high: "100", optimum: "0", value: String(Math.min(Number(pct) || 0, 100)),
        "aria-label": `${b.name || "budget"}: ${pct} % used` }, `${pct} %`),
      b.forecast !== undefined && b.forecast !== null
        ? h("div", { class: "budget-forecast" }, `Forecast for the period end: ${fmtMoney(b.forecast, cur)}`,
          fpct !== null ? ` (${fpct} %)` : "") : null,
      h("div", { class: "muted" }, `Status: ${b.status || "ok"}`));
  }));
}

/** `now`: ms of the API's clock (its generated_at), so "ago" follows the API, not the browser. */
export function collectorTable(collectors, now = Date.now()) {
  return table("Collector status", [
    { label: "Collector", value: (c) => c.name },
    { label: "Status", value: (c) => h("span", { class: `badge badge-${c.status === "ok" ? "ok" : "bad"}` }, c.status) },
    { label: "Last run", value: (c) => fmtAgo(c.last_run, now) },
    { label: "Last success", value: (c) => fmtAgo(c.last_success, now) },
    { label: "Records", value: (c) => String(c.records), num: true },
    { label: "Errors", value: (c) => {
      const errs = (c.scopes || []).flatMap((s) => (s.errors || []).map((e) => `${s.scope}: ${e.message || e.code || JSON.stringify(e)}`));
      return errs.length ? errs.slice(0, 3).join("; ") : "none";
    } },
  ], collectors || [], { id: "collectors-table", empty: "No collector has reported yet." });
}

/** `today`: the API's current day (ISO), so ages follow the API's clock. */
export function freshnessTable(rows, today = undefined) {
  return table("Data freshness", [
    { label: "Provider", value: (r) => r.provider },
    { label: "Cost source", value: (r) => r.source },
    { label: "Latest day", value: (r) => r.last_day },
    { label: "Age", value: (r) => {
      const d = daysOld(r.last_day, today);
      const stale = d > (r.source === "billed" ? 3 : 1);
      return h("span", { class: `badge badge-${stale ? "warn" : "ok"}` }, `${d} day${d === 1 ? "" : "s"}${stale ? " (stale)" : ""}`);
    } },
  ], rows || [], { id: "freshness-table", empty: "No cost data in this range." });
}
