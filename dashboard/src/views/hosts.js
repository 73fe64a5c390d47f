// Hosts from the host agents' heartbeats (cloudtally-agent, TelemetryFlow): status by heartbeat age at the API's
// clock, CPU / memory / disk, GPUs, container and cloud facts, and the host's cost where a cost record names it.

import { h } from "../dom.js";
import { fmtAgo, fmtMoney, fmtUtil } from "../format.js";
import { kpiText, section, table } from "./common.js";

const BADGE = { online: "ok", stale: "warn", offline: "bad" };

export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

function gpuText(r) {
  if (!r.gpu_count) return "none";
  const util = r.gpu_utilization === null || r.gpu_utilization === undefined ? "" : `, ${r.gpu_utilization} %`;
  return `${r.gpu_count} × ${r.gpu_names.join(", ") || "GPU"}${util}`;
}

function placeText(r) {
  const parts = [];
  if (r.cloud) parts.push([r.cloud.provider, r.cloud.instance_type, r.cloud.region].filter(Boolean).join(" "));
  if (r.container) parts.push(`container: ${[r.container.runtime, r.container.name].filter(Boolean).join(" ")}`);
  if (!r.cloud && r.virtualization) parts.push(`VM (${r.virtualization})`);
  return parts.join("; ") || "on-premises / bare metal";
}

export function hostsKpi(data) {
  const hosts = data.hosts || [];
  const online = hosts.filter((r) => r.status === "online").length;
  return kpiText("hosts-online", "Hosts online", `${online} / ${hosts.length}`, "host agents' heartbeats");
}

export function hostsSection(data, now) {
  const cur = data.currency;
  return section("hosts", "Hosts (agent heartbeats)", table("Hosts", [
    { label: "Host", value: (r) => r.host },
    { label: "Status", value: (r) => h("span", { class: `badge badge-${BADGE[r.status] || "bad"}` }, r.status) },
    { label: "Last heartbeat", value: (r) => fmtAgo(r.last_seen, now) },
    { label: "CPU", value: (r) => fmtUtil(r.cpu), num: true },
    { label: "Memory", value: (r) => `${fmtUtil(r.memory)} of ${fmtBytes(r.memory_total)}`, num: true },
    { label: "Disk", value: (r) => `${fmtUtil(r.disk)} of ${fmtBytes(r.disk_total)}`, num: true },
    { label: "GPU", value: gpuText },
    { label: "Where", value: placeText },
    { label: "Agent", value: (r) => r.version || "" },
    { label: "Cost", value: (r) => (r.amount === null || r.amount === undefined ? "—" : fmtMoney(r.amount, cur)),
      num: true },
  ], data.hosts || [], { id: "hosts-table", empty: "No host agent has sent a heartbeat (run cloudtally-agent)." }),
  h("p", { class: "muted" }, data.hosts_rule || ""));
}
