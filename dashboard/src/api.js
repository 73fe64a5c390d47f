// config.json (api_url, refresh_seconds, optional demo_key) and the read key kept in localStorage.

const KEY_STORE = "cloudtally.readKey";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let config = null;

export async function loadConfig() {
  if (config) return config;
  let raw = {};
  const r = await fetch("/config.json", { cache: "no-store" });
  if (r.ok) raw = await r.json();
  const refresh = Number.parseInt(raw.refresh_seconds, 10);
  config = {
    apiUrl: String(raw.api_url || "").replace(/\/+$/, ""),
    refreshSeconds: Number.isFinite(refresh) && refresh >= 5 ? refresh : 60,
    demoKey: raw.demo_key && raw.demo_key.id && raw.demo_key.secret
      ? { id: String(raw.demo_key.id), secret: String(raw.demo_key.secret) } : null,
  };
  return config;
}

export function storedKey() {
  try {
    const k = JSON.parse(localStorage.getItem(KEY_STORE) || "null");
    return k && k.id && k.secret ? k : null;
  } catch {
    return null;
  }
}

/** The key in use: the one the user entered, else the local stack's demo key from config.json. */
export function currentKey() {
  return storedKey() || (config && config.demoKey) || null;
}

export function keySource() {
  if (storedKey()) return "saved in this browser";
  if (config && config.demoKey) return "demo key from config.json";
  return "none";
}

export function saveKey(id, secret) {
  localStorage.setItem(KEY_STORE, JSON.stringify({ id: id.trim(), secret: secret.trim() }));
}

export function forgetKey() {
  localStorage.removeItem(KEY_STORE);
}

export async function apiGet(path, params) {
  const cfg = await loadConfig();
  const key = currentKey();
  if (!key) throw new ApiError(401, "no_key", "Enter a read-scoped API key to see costs.");
  const qs = params ? params.toString() : "";
  let resp;
  try {
    resp = await fetch(`${cfg.apiUrl}${path}${qs ? `?${qs}` : ""}`, {
      headers: { "X-CloudTally-Key-Id": key.id, "X-CloudTally-Key-Secret": key.secret },
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, "network", `Cannot reach the API at ${cfg.apiUrl || "this site"}: ${e.message}`);
  }
  let body = null;
  try {
    body = await resp.json();
  } catch {
    body = null;
  }
  if (!resp.ok) {
    const err = (body && body.error) || {};
    throw new ApiError(resp.status, err.code || `http_${resp.status}`,
      err.message || `The API answered ${resp.status}`, err.details);
  }
  return body;
}
