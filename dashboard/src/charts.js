// Charts (Chart.js, bundled) that always come with the same data as a table, for screen readers
// and keyboard users. Amount strings are turned into numbers for bar heights only; every number a
// person reads (tooltips, tables) is formatted from the original decimal string.

import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement,
  PointElement, Tooltip,
} from "chart.js";
import { h } from "./dom.js";
import { fmtMoney, fmtMoneyShort, plotNumber } from "./format.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement,
  Tooltip, Legend);
Chart.defaults.animation = false;
Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
Chart.defaults.color = "#3d4451";

export const PALETTE = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#64748b"];
const live = new Set();

/** Destroy the charts of the previous render (a refresh re-renders the page's sections). */
export function destroyCharts() {
  for (const c of live) c.destroy();
  live.clear();
}

function table(caption, labels, series, currency, labelHeader) {
  return h("details", { class: "chart-table" },
    h("summary", {}, "Show data table"),
    h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": `${caption} data` },
      h("table", {},
        h("caption", {}, caption),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, labelHeader),
          series.map((s) => h("th", { scope: "col" }, s.label)))),
        h("tbody", {}, labels.map((l, i) => h("tr", {},
          h("th", { scope: "row" }, l),
          series.map((s) => h("td", { class: "num" },
            s.format ? s.format(s.values[i]) : fmtMoney(s.values[i], currency)))))))));
}

const PARTIAL = " (partial)";

/** "#2563eb" → "#2563eb66": the same colour, see-through, for a period that is not over yet. */
function faded(color) {
  return /^#[0-9a-f]{6}$/i.test(color) ? `${color}66` : color;
}

/**
 * A bar (optionally stacked) or line chart in a <figure> with its data table.
 * series: [{label, values: [decimal strings], color?, format?}]
 * partial: one boolean per label, true for a period not over yet (today so far): labelled "(partial)",
 * drawn dashed (lines) or faded (bars), so a partial day never reads as a fall in spend.
 */
export function chart({ id, title, labels, series, currency = "USD", stacked = false, type = "bar",
  horizontal = false, labelHeader = "Date", yFormat = null, max = null, partial = null }) {
  const isPartial = (i) => Boolean(partial && partial[i]);
  const shown = labels.map((l, i) => (isPartial(i) ? `${l}${PARTIAL}` : l));
  const partialLabels = labels.filter((l, i) => isPartial(i));
  const canvas = h("canvas", { role: "img", "aria-label": `${title} (chart; the data table follows)` });
  const box = h("div", { class: "chart-box" }, canvas);
  // horizontal bars grow with their categories (CSSOM style: allowed by the CSP, unlike style="")
  if (horizontal) box.style.height = `${Math.max(220, 40 + labels.length * (8 + 10 * series.length))}px`;
  const fig = h("figure", { class: "chart", id, "data-points": String(labels.length),
    "data-partial": partialLabels.length ? partialLabels.join(",") : null },
    h("figcaption", {}, title),
    box,
    table(title, shown, series, currency, labelHeader));
  const fmtTick = yFormat || ((v) => fmtMoneyShort(String(v), currency));
  const valueAxis = {
    stacked, beginAtZero: true, ticks: { callback: (v) => fmtTick(v) }, ...(max !== null ? { max } : {}),
  };
  const c = new Chart(canvas, {
    type,
    data: {
      labels: shown,
      datasets: series.map((s, i) => {
        const color = s.color || PALETTE[i % PALETTE.length];
        return {
          label: s.label,
          data: s.values.map(plotNumber),
          raw: s.values,
          backgroundColor: type === "bar" && partial ? labels.map((_, j) => (isPartial(j) ? faded(color) : color)) : color,
          borderColor: color,
          borderWidth: type === "line" ? 2 : 0,
          // a line into a partial period is dashed and its point drawn: "so far", not a drop
          segment: partial ? { borderDash: (ctx) => (isPartial(ctx.p1DataIndex) ? [6, 4] : undefined) } : undefined,
          pointRadius: partial ? labels.map((_, j) => (isPartial(j) ? 3 : 0)) : 0,
        };
      }),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: horizontal ? "y" : "x",
      interaction: { mode: "index", intersect: false },
      scales: horizontal ? { x: valueAxis, y: { stacked } } : { x: { stacked }, y: valueAxis },
      plugins: {
        legend: { display: series.length > 1, position: "bottom" },
        tooltip: {
          callbacks: {
            label: (ctx) => {
              const s = series[ctx.datasetIndex];
              const raw = s.values[ctx.dataIndex];
              return `${s.label}: ${s.format ? s.format(raw) : fmtMoney(raw, currency)}`;
            },
          },
        },
      },
    },
  });
  live.add(c);
  return fig;
}

/** Pivot rows [{x, series, amount}] into labels and one series per key (missing cells are "0"). */
export function pivot(rows, xKey, seriesKey, valueKey = "amount") {
  const labels = [...new Set(rows.map((r) => r[xKey]))].sort();
  const keys = [...new Set(rows.map((r) => r[seriesKey]))];
  const idx = new Map(labels.map((l, i) => [l, i]));
  const series = keys.map((k) => ({ label: k, values: labels.map(() => "0") }));
  const sIdx = new Map(keys.map((k, i) => [k, i]));
  for (const r of rows) series[sIdx.get(r[seriesKey])].values[idx.get(r[xKey])] = r[valueKey];
  return { labels, series };
}
