// Filter state lives in the URL (?from=&to=&provider=&account=&tag=k=v), so a link reproduces a view.
// `to` is exclusive, as in the API; the form shows the last day included.

const DAY = 86400000;

export function isoDay(t) {
  return new Date(t).toISOString().slice(0, 10);
}

function validDay(s) {
  return typeof s === "string" && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));
}

export function defaultRange(days = 30, now = Date.now()) {
  const tomorrow = Date.parse(isoDay(now)) + DAY;
  return { from: isoDay(tomorrow - days * DAY), to: isoDay(tomorrow) };
}

export function readFilters(search = window.location.search) {
  const p = new URLSearchParams(search);
  const def = defaultRange();
  const f = {
    from: validDay(p.get("from")) ? p.get("from") : def.from,
    to: validDay(p.get("to")) ? p.get("to") : def.to,
    provider: p.get("provider") || "",
    account: p.get("account") || "",
    tag: p.getAll("tag").filter((t) => t.includes("=")),
  };
  if (f.to <= f.from) Object.assign(f, def);
  return f;
}

export function toParams(f) {
  const p = new URLSearchParams();
  p.set("from", f.from);
  p.set("to", f.to);
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
  return isoDay(Date.parse(f.to) - DAY);
}

export function toFromLastDay(day) {
  return isoDay(Date.parse(day) + DAY);
}

export function rangeDays(days) {
  return defaultRange(days);
}
