// Boot: read config.json, pick the page from <body data-page>, load its one aggregate API call,
// render, and refresh every `refresh_seconds` without reloading the page.

import { ApiError, apiGet, currentKey, forgetKey, keySource, loadConfig, saveKey, storedKey } from "./api.js";
import { destroyCharts } from "./charts.js";
import { h, replace } from "./dom.js";
import { renderFilters } from "./filters.js";
import { readFilters, toParams, writeUrl } from "./state.js";
import * as overview from "./views/overview.js";
import * as cfo from "./views/cfo.js";
import * as coo from "./views/coo.js";
import * as infrastructure from "./views/infrastructure.js";
import * as llm from "./views/llm.js";

const VIEWS = { overview, cfo, coo, infrastructure, llm };
const page = document.body.dataset.page in VIEWS ? document.body.dataset.page : "overview";
const view = VIEWS[page];
const $ = (id) => document.getElementById(id);

let filters = readFilters();
let loadSeq = 0;
let timer = null;
let lastData = null;
let apiToday = null; // the API's current day: presets and "partial day" labels follow the API's clock

function setStatus(kind, ...children) {
  const el = $("status");
  el.className = `status status-${kind}`;
  el.dataset.state = kind;
  replace(el, ...children);
}

function updateNav() {
  const qs = toParams(filters).toString();
  for (const a of document.querySelectorAll("nav.pages a")) {
    a.setAttribute("href", `${a.dataset.path}?${qs}`);
    if (a.dataset.view === page) a.setAttribute("aria-current", "page");
  }
}

function keyDialog(reason) {
  const dlg = $("key-dialog");
  const saved = storedKey();
  const id = h("input", { id: "key-id", name: "key-id", autocomplete: "username", required: true,
    value: saved ? saved.id : "" });
  const secret = h("input", { id: "key-secret", name: "key-secret", type: "password", autocomplete: "current-password",
    required: true });
  const form = h("form", { method: "dialog", class: "key-form" },
    h("h2", {}, "API key"),
    reason ? h("p", { class: "key-reason", role: "alert" }, reason) : null,
    h("p", {}, "Enter a read-scoped CloudTally API key (create one with ",
      h("code", {}, "cloudtally keys create --scope read"),
      "). It is kept in this browser only (localStorage) and sent to the API as request headers."),
    h("div", { class: "field" }, h("label", { for: "key-id" }, "Key id"), id),
    h("div", { class: "field" }, h("label", { for: "key-secret" }, "Secret"), secret),
    h("p", { class: "muted" }, `Key in use: ${keySource()}.`),
    h("div", { class: "buttons" },
      h("button", { type: "submit", class: "primary", id: "key-save" }, "Save key"),
      h("button", { type: "button", id: "key-forget", disabled: !saved,
        onclick: () => { forgetKey(); dlg.close(); load(); } }, "Forget saved key"),
      h("button", { type: "button", id: "key-cancel", onclick: () => dlg.close() }, "Cancel")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!id.value.trim() || !secret.value.trim()) return;
    saveKey(id.value, secret.value);
    dlg.close();
    load();
  });
  replace(dlg, form);
  if (!dlg.open) dlg.showModal();
  id.focus();
}

function onFilters(next) {
  filters = next;
  writeUrl(filters, true);
  updateNav();
  load();
}

function renderError(err) {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
    const why = err.status === 401
      ? (currentKey() ? `The API refused the key: ${err.message}` : "No API key yet.")
      : `This key cannot read costs: ${err.message}`;
    setStatus("auth", h("span", {}, why), " ",
      h("button", { type: "button", class: "primary", onclick: () => keyDialog(why) }, "Enter a key"));
    replace($("content"));
    keyDialog(why);
    return;
  }
  const detail = err instanceof ApiError && Array.isArray(err.details)
    ? err.details.map((d) => `${d.field}: ${d.message}`).join("; ") : "";
  setStatus("error", h("span", {}, `Could not load the ${page} view: ${err.message}`),
    detail ? h("span", { class: "muted" }, ` (${detail})`) : null, " ",
    h("button", { type: "button", onclick: () => load() }, "Retry"));
  if (!lastData) replace($("content"));
}

async function load({ quiet = false } = {}) {
  const seq = ++loadSeq;
  const content = $("content");
  content.setAttribute("aria-busy", "true");
  if (!quiet) setStatus("loading", "Loading…");
  try {
    const data = await apiGet(`/v1/dashboard/${page}`, toParams(filters));
    if (seq !== loadSeq) return; // a newer load (filter change) superseded this one
    lastData = data;
    apiToday = data.today || apiToday;
    if (!filters.from || !filters.to) {
      // no range in the URL: the API chose its default; the URL now says which, so a link reproduces it
      filters = { ...filters, from: filters.from || data.from, to: filters.to || data.to };
      writeUrl(filters, false);
      updateNav();
    }
    renderFilters($("filters"), filters, data.options, onFilters, apiToday);
    destroyCharts();
    const empty = view.isEmpty(data);
    const now = Date.parse(data.generated_at);
    replace(content, ...view.render(data, { filters, params: toParams(filters), apiGet,
      now: Number.isNaN(now) ? Date.now() : now, today: data.today }));
    const at = data.generated_at ? `${data.generated_at.slice(11, 19)} UTC`
      : new Date().toLocaleTimeString("en-GB", { hour12: false });
    setStatus(empty ? "empty" : "ready",
      empty ? "No cost data for this selection. Widen the date range or clear a filter. " : "",
      h("span", { class: "muted" }, `Updated ${at}; refreshes every ${(await loadConfig()).refreshSeconds} s.`));
    if (!performance.getEntriesByName("cloudtally-usable").length) performance.mark("cloudtally-usable");
  } catch (err) {
    if (seq !== loadSeq) return;
    renderError(err);
  } finally {
    if (seq === loadSeq) content.setAttribute("aria-busy", "false");
  }
}

async function boot() {
  const cfg = await loadConfig();
  writeUrl(filters, false);
  updateNav();
  renderFilters($("filters"), filters, null, onFilters, apiToday);
  $("key-button").addEventListener("click", () => keyDialog(""));
  window.addEventListener("popstate", () => { filters = readFilters(); updateNav(); load(); });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) load({ quiet: true }); });
  await load();
  timer = window.setInterval(() => { if (!document.hidden) load({ quiet: true }); }, cfg.refreshSeconds * 1000);
}

boot().catch((err) => setStatus("error", `The dashboard could not start: ${err.message}`));
export { timer };
