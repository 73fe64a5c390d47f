// CFO `/dashboard/cfo`: month-to-date vs budget and month-end forecast, spend by team and project,
// billed vs estimated, month-over-month change, and downloads of the selection (CSV and FOCUS).

import { chart } from "../charts.js";
import { h } from "../dom.js";
import { fmtChange, fmtMoney } from "../format.js";
import { budgetList, emptyNote, hasCost, kpi, kpiText, section, table, total } from "./common.js";

export function isEmpty(data) {
  return !hasCost(data) && !(data.months || []).some((m) => m.amount !== "0");
}

const FOCUS_COLUMNS = ["BillingAccountId", "BillingAccountName", "SubAccountId", "BillingPeriodStart", "BillingPeriodEnd",
  "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "ChargeClass", "ChargeFrequency", "ChargeDescription",
  "ProviderName", "PublisherName", "InvoiceIssuerName", "ServiceName", "ServiceCategory", "RegionId", "RegionName",
  "ResourceId", "ResourceName", "ResourceType", "SkuId", "PricingUnit", "PricingQuantity", "ConsumedQuantity",
  "ConsumedUnit", "BillingCurrency", "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "Tags",
  "x_CostSource", "x_Collector", "x_CatalogVersion"];

/** RFC 4180 cell; text that a spreadsheet would run as a formula is prefixed with a quote. */
function cell(v) {
  let s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function download(name, rows) {
  const text = rows.map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function downloadCsv(ctx, button, note) {
  button.disabled = true;
  note.textContent = "Preparing CSV…";
  try {
    const p = new URLSearchParams(ctx.params);
    p.set("granularity", "day");
    p.set("group_by", "provider,service,account");
    const s = await ctx.apiGet("/v1/costs/summary", p);
    const rows = [["Day", "ProviderName", "ServiceName", "BillingAccountId", "BillingCurrency", "BilledCost",
      "EffectiveCost", "ListCost", "ContractedCost", "Records"]];
    for (const r of s.results) {
      rows.push([r.period, r.group.provider, r.group.service, r.group.account, r.currency, r.BilledCost,
        r.EffectiveCost, r.ListCost, r.ContractedCost, r.records]);
    }
    download(`cloudtally-costs-${ctx.filters.from}-${ctx.filters.to}.csv`, rows);
    note.textContent = `CSV ready: ${s.results.length} rows.`;
  } catch (e) {
    note.textContent = `Download failed: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

async function downloadFocus(ctx, button, note) {
  button.disabled = true;
  const rows = [FOCUS_COLUMNS];
  try {
    let cursor = null;
    do {
      const p = new URLSearchParams(ctx.params);
      p.set("limit", "1000");
      if (cursor) p.set("cursor", cursor);
      note.textContent = `Fetching FOCUS records… ${rows.length - 1}`;
      const page = await ctx.apiGet("/v1/records", p);
      for (const r of page.records) rows.push(FOCUS_COLUMNS.map((c) => r[c]));
      cursor = page.next_cursor;
    } while (cursor);
    download(`cloudtally-focus-${ctx.filters.from}-${ctx.filters.to}.csv`, rows);
    note.textContent = `FOCUS export ready: ${rows.length - 1} records.`;
  } catch (e) {
    note.textContent = `Download failed: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

/** "Dec 1-14 vs Nov 1-14 ($X)": what the month-over-month change compares (closed days only). */
function momNote(m, cur) {
  const c = m.mom;
  if (!c) return `vs ${fmtMoney(m.previous_month_same_days, cur)} over the same days last month`;
  if (!c.days) return "compares closed days only; the month has none yet";
  const span = (a, b) => {
    const last = new Date(Date.parse(b) - 86400000).toISOString().slice(0, 10);
    return a === last ? a : `${a} to ${last}`;
  };
  return `closed days ${span(c.from, c.to)}: ${fmtMoney(c.amount, cur)}, vs ${span(c.previous_from, c.previous_to)}: `
    + `${fmtMoney(c.previous_amount, cur)}`;
}

function mtdNote(data, cur) {
  const m = data.month;
  if (!m.open_day) return `as of ${data.as_of} (closed days)`;
  return `as of ${data.as_of}; includes ${fmtMoney(m.today_so_far, cur)} so far today (${m.open_day}, provisional: `
    + "the day is still open)";
}

export function render(data, ctx) {
  const cur = data.currency;
  const m = data.month;
  const monthly = (data.budgets && data.budgets.items || []).filter((b) => (b.period || "monthly") === "monthly");
  const bve = data.billed_vs_estimated;
  const note = h("p", { class: "muted", id: "download-note", role: "status" });
  const csvBtn = h("button", { type: "button", id: "download-csv" }, "Download CSV");
  const focusBtn = h("button", { type: "button", id: "download-focus" }, "Download FOCUS records");
  csvBtn.addEventListener("click", () => downloadCsv(ctx, csvBtn, note));
  focusBtn.addEventListener("click", () => downloadFocus(ctx, focusBtn, note));
  return [
    h("div", { class: "kpis" },
      kpi("total-spend", "Spend in range (effective cost)", total(data), cur, `${data.from} to ${data.to} (exclusive)`),
      kpi("mtd", `Month to date (${m.month})`, m.month_to_date, cur, mtdNote(data, cur)),
      kpi("forecast", "Month-end forecast", m.forecast, cur, m.method),
      kpiText("mom", "Month over month", fmtChange(m.mom_change_pct, m.mom_reason), momNote(m, cur),
        m.mom_change_pct === null ? "kpi-na" : "")),
    h("div", { class: "kpis", id: "ai-ml" },
      kpi("ai-ml-spend", "AI/ML spend", data.ai_ml.spend, cur, data.ai_ml.definition),
      kpiText("ai-ml-roi", "AI/ML ROI", data.ai_ml.roi === null ? "n/a" : `${data.ai_ml.roi} %`,
        data.ai_ml.roi === null ? data.ai_ml.roi_reason : data.ai_ml.roi_method, data.ai_ml.roi === null ? "kpi-na" : ""),
      kpiText("budget-utilization", "Budget utilisation", data.budget_utilization.budget_utilization === null ? "n/a"
        : `${data.budget_utilization.budget_utilization} %`, data.budget_utilization.budget_utilization === null
        ? data.budget_utilization.reason : data.budget_utilization.definition)),
    h("div", { class: "grid2" },
      section("budget", "Month to date vs budget",
        monthly.length ? budgetList({ available: true, items: monthly }, cur) : budgetList(data.budgets, cur)),
      section("billed", "Billed vs estimated",
        table("Billed vs estimated", [
          { label: "Cost source", value: (r) => r[0] },
          { label: "Spend", value: (r) => fmtMoney(r[1], cur), num: true },
        ], [["Billed (from the providers' bills)", bve.billed], ["Estimated (not billed yet)", bve.estimated],
          ["Today so far (provisional, per-resource detail at day close)", bve.provisional],
          ["Estimates replaced by bills or detail (not counted)", bve.superseded_estimates]], { id: "billed-table" }))),
    section("months", "Month over month",
      chart({ id: "chart-months", title: "Spend per month", labels: data.months.map((x) => x.month),
        series: [{ label: "Spend", values: data.months.map((x) => x.amount) }], currency: cur, labelHeader: "Month",
        partial: data.months.map((x) => x.partial) }),
      table("Monthly change", [
        { label: "Month", value: (x) => x.month + (x.partial ? " (to date)" : "") },
        { label: "Spend", value: (x) => fmtMoney(x.amount, cur), num: true },
        { label: "Change", value: (x) => fmtChange(x.change_pct, x.change_reason), num: true },
      ], data.months, { id: "months-table" })),
    h("div", { class: "grid2" },
      section("teams", "Spend by team",
        data.by_team.length ? chart({ id: "chart-teams", title: "Spend by team (tag team)", labels: data.by_team.map((x) => x.name),
          series: [{ label: "Spend", values: data.by_team.map((x) => x.amount) }], currency: cur, horizontal: true,
          labelHeader: "Team" }) : emptyNote("No cost in this range.")),
      section("projects", "Spend by project",
        data.by_project.length ? chart({ id: "chart-projects", title: "Spend by project (tag project)",
          labels: data.by_project.map((x) => x.name), series: [{ label: "Spend", values: data.by_project.map((x) => x.amount) }],
          currency: cur, horizontal: true, labelHeader: "Project" }) : emptyNote("No cost in this range."))),
    section("downloads", "Download this selection",
      h("p", {}, "The selection is the date range and filters above. CSV: daily cost per provider, service and account. ",
        "FOCUS: every cost record with its FOCUS 1.2 columns."),
      h("div", { class: "buttons" }, csvBtn, focusBtn), note),
  ];
}
