// Amounts arrive as exact decimal strings. Intl.NumberFormat formats a *string* as an exact decimal
// (ECMA-402 "Intl.NumberFormat v3"), so nothing goes through a binary float before it is shown.

const money = new Map();

function moneyFormat(currency, digits) {
  const key = `${currency}:${digits}`;
  if (!money.has(key)) {
    money.set(key, new Intl.NumberFormat("en-US", {
      style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: digits,
    }));
  }
  return money.get(key);
}

const DECIMAL = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** "1234.5" → "$1,234.50" (rounded half away from zero to the cent, exactly). */
export function fmtMoney(amount, currency = "USD", digits = 2) {
  if (amount === null || amount === undefined || amount === "") return "—";
  const s = String(amount).trim();
  if (!DECIMAL.test(s)) return "—";
  return moneyFormat(currency || "USD", digits).format(s);
}

/** Whole units for axis ticks and compact cards. */
export function fmtMoneyShort(amount, currency = "USD") {
  return fmtMoney(amount, currency, 0);
}

export function fmtPct(value) {
  if (value === null || value === undefined || value === "") return "—";
  const s = String(value);
  return `${s.startsWith("-") ? "" : "+"}${s} %`;
}

/** A change the API could not compute (an empty or open period) is "n/a — <why>", never a -100 %. */
export function fmtChange(value, reason) {
  if (value === null || value === undefined || value === "") return reason ? `n/a — ${reason}` : "n/a";
  return fmtPct(value);
}

export function fmtUtil(value) {
  if (value === null || value === undefined || value === "") return "—";
  return `${value} %`;
}

/** For chart geometry only (pixel heights): never used to compute or display an amount. */
export function plotNumber(amount) {
  const n = Number(amount);
  return Number.isFinite(n) ? n : 0;
}

/** "12 min ago" relative to `now` (ms; the views pass the API's generated_at, so the API's clock). */
export function fmtAgo(iso, now = Date.now()) {
  if (!iso) return "never";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "unknown";
  const s = Math.round((now - t) / 1000);
  if (s < 90) return `${Math.max(s, 0)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** "2026-12-01 09:30:00 UTC" (seconds; the ledger keeps milliseconds). */
export function fmtTime(iso) {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "unknown";
  return `${new Date(t).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** Days between an ISO day and `today` (an ISO day: the API's; or a Date); used for data freshness. */
export function daysOld(day, today = new Date()) {
  const d = Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10));
  const now = typeof today === "string" ? new Date(`${today}T00:00:00Z`) : today;
  const t = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Math.round((t - d) / 86400000);
}
