// The filter bar: date range (with presets), provider, account and tag. Every change updates the URL.

import { h, replace } from "./dom.js";
import { lastDay, rangeEndingOn, toFromLastDay } from "./state.js";

function select(id, label, value, choices, onChange) {
  const sel = h("select", { id, name: id, onchange: (e) => onChange(e.target.value) },
    h("option", { value: "" }, "All"),
    choices.map((c) => (c.group
      ? h("optgroup", { label: c.group }, c.items.map((i) => h("option", { value: i.value, selected: i.value === value }, i.label)))
      : h("option", { value: c.value, selected: c.value === value }, c.label))));
  // a value in the URL that the range no longer has stays selectable (and visible)
  if (value && ![...sel.options].some((o) => o.value === value)) {
    sel.append(h("option", { value, selected: true }, value));
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), sel);
}

/** `today` is the API's current day (the presets end on it); until the API has answered, presets wait. */
export function renderFilters(form, f, options, onChange, today = null) {
  const opts = options || { providers: [], accounts: [], tags: {} };
  const set = (patch) => onChange({ ...f, ...patch });
  const accounts = opts.accounts.filter((a) => !f.provider || a.provider === f.provider);
  const tagGroups = Object.entries(opts.tags || {}).map(([k, vals]) => ({
    group: k, items: vals.map((v) => ({ value: `${k}=${v}`, label: `${k}: ${v}` })),
  }));
  replace(form,
    h("div", { class: "field" }, h("label", { for: "f-from" }, "From"),
      h("input", { id: "f-from", name: "from", type: "date", value: f.from, max: lastDay(f),
        onchange: (e) => e.target.value && (!f.to || e.target.value < f.to) && set({ from: e.target.value }) })),
    h("div", { class: "field" }, h("label", { for: "f-to" }, "Through"),
      h("input", { id: "f-to", name: "to", type: "date", value: lastDay(f), min: f.from,
        onchange: (e) => e.target.value && (!f.from || e.target.value >= f.from)
          && set({ to: toFromLastDay(e.target.value) }) })),
    h("div", { class: "field presets", role: "group", "aria-label": "Quick ranges" },
      [7, 30, 90].map((d) => h("button", { type: "button", class: "preset", "data-days": String(d),
        disabled: !today, onclick: () => today && set(rangeEndingOn(today, d)) }, `${d} days`))),
    select("f-provider", "Provider", f.provider, opts.providers.map((p) => ({ value: p, label: p })),
      (v) => set({ provider: v, account: "" })),
    select("f-account", "Account", f.account, accounts.map((a) => ({ value: a.id, label: `${a.id} (${a.provider})` })),
      (v) => set({ account: v })),
    select("f-tag", "Tag", f.tag[0] || "", tagGroups, (v) => set({ tag: v ? [v] : [] })));
}
