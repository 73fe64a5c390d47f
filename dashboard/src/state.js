// Filter state lives in the URL (?from=&to=&provider=&account=&tag=k=v), so a link reproduces a view.
// `to` is exclusive, as in the API; the form shows the last day included. Without a range in the URL
// the page asks the API for its default (the last 30 days by the API's clock, never the browser's)
// and writes the range the API answered into the URL.

const DAY = 86400000;

export function isoDay(t) {
  return new Date(t).toISOString().slice(0, 10);
}

function validDay(s) {
  return typeof s === "string" && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));
}

/** The `days` days ending with `today` (an ISO day, the API's): {from, to} with `to` exclusive. */
export function rangeEndingOn(today, days) {
  const tomorrow = Date.parse(today) + DAY;
  return { from: isoDay(tomorrow - days * DAY), to: isoDay(tomorrow) };
}

export function readFilters(search = window.location.search) {
  const p = new URLSearchParams(search);
  const f = {
    from: validDay(p.get("from")) ? p.get("from") : "",
    to: validDay(p.get("to")) ? p.get("to") : "",
    provider: p.get("provider") || "",
    account: p.get("account") || "",
    tag: p.getAll("tag").filter((t) => t.includes("=")),
  };
  if (f.from && f.to && f.to <= f.from) Object.assign(f, { from: "", to: "" });
  return f;
}

export function toParams(f) {
  const p = new URLSearchParams();
  if (f.from) p.set("from", f.from);
  if (f.to) p.set("to", f.to);
  if (f.provider) p.set("provider", f.provider);
  if (f.account) p.set("account", f.account);
  for (const t of f.tag) p.append("tag", t);
  return p;
}

export function writeUrl(f, push) {
  const url = `${window.location.pathname}?${toParams(f).toString()}`;
  if (url === `${window.location.pathname}${window.location.search}`) return;
  if (push) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}

export function lastDay(f) {
  return f.to ? isoDay(Date.parse(f.to) - DAY) : "";
}

export function toFromLastDay(day) {
  return isoDay(Date.parse(day) + DAY);
}
