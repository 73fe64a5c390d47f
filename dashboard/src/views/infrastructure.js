// Infrastructure `/dashboard/infrastructure`: CPU, memory and storage utilisation per cluster and host
// (from metric points), cost per cluster and node, idle cost, cluster health by the stated rule.

import { chart } from "../charts.js";
import { h } from "../dom.js";
import { fmtMoney, fmtUtil } from "../format.js";
import { emptyNote, hasCost, kpi, kpiText, section, table, total } from "./common.js";
import { hostsKpi, hostsSection } from "./hosts.js";

export function isEmpty(data) {
  return !hasCost(data) && !data.nodes.length && !(data.hosts || []).length
    && !Object.keys((data.cluster_health || {}).clusters || {}).length;
}

const pct = (v) => fmtUtil(v);
const HEALTH = { healthy: "ok", degraded: "warn", critical: "bad", unknown: "warn" };

export function render(data, ctx = {}) {
  const cur = data.currency;
  const w = data.metrics_window;
  const hosts = data.nodes;
  const u = data.utilization;
  return [
    h("div", { class: "kpis" },
      kpi("total-spend", "Spend (effective cost)", total(data), cur, `${data.from} to ${data.to} (exclusive)`),
      kpi("idle-cost", "Idle cost", data.idle_amount, cur, data.idle_method),
      kpiText("host-count", "Hosts reporting", String(hosts.length), `metrics ${w.from} to ${w.to}`),
      hostsKpi(data)),
    h("div", { class: "kpis", id: "utilization" },
      [["cpu_percent", "CPU"], ["memory_percent", "Memory"], ["storage_percent", "Storage"], ["gpu_percent", "GPU"]]
        .map(([k, label]) => kpiText(`util-${k.split("_")[0]}`, `${label} utilisation`,
          u[k] === null ? "n/a" : fmtUtil(u[k]), u[k] === null ? u.not_collected[k] : `${u[`${k}_hosts`]} hosts`))),
    section("cluster-health", "Cluster health", table("Cluster health", [
      { label: "Cluster", value: (c) => c.cluster_id },
      { label: "Status", value: (c) => h("span", { class: `badge badge-${HEALTH[c.health_status] || "warn"}`,
        "data-status": c.health_status }, c.health_status) },
      { label: "Healthy nodes", value: (c) => `${c.healthy_nodes} of ${c.total_nodes}`, num: true },
      { label: "Avg CPU", value: (c) => fmtUtil(c.avg_cpu_usage), num: true },
      { label: "Avg memory", value: (c) => fmtUtil(c.avg_memory_usage), num: true },
      { label: "Avg GPU", value: (c) => fmtUtil(c.avg_gpu_usage), num: true },
      { label: "Unhealthy nodes", value: (c) => c.nodes.filter((n) => !n.healthy).map((n) => `${n.node_id}: ${n.reason}`)
        .join("; ") || "none" },
    ], Object.values(data.cluster_health.clusters), { id: "cluster-health-table",
      empty: "No cluster registered or reporting (ObservabilityHub.register_cluster, collect_system_metrics)." }),
    h("p", { class: "muted", id: "health-rule" }, `Rule: ${data.cluster_health.rule}.`)),
    hostsSection(data, ctx.now),
    section("clusters", "Clusters", table("Clusters", [
      { label: "Cluster", value: (c) => c.cluster },
      { label: "Nodes", value: (c) => String(c.nodes), num: true },
      { label: "CPU", value: (c) => pct(c.cpu), num: true },
      { label: "Memory", value: (c) => pct(c.memory), num: true },
      { label: "Storage", value: (c) => pct(c.storage), num: true },
      { label: "Cost", value: (c) => fmtMoney(c.amount, cur), num: true },
      { label: "Idle cost", value: (c) => fmtMoney(c.idle_amount, cur), num: true },
    ], data.clusters, { id: "clusters-table", empty: "No utilisation metrics in this range." }),
    data.clusters.length ? chart({ id: "chart-cluster-cost", title: "Cost and idle cost per cluster",
      labels: data.clusters.map((c) => c.cluster), horizontal: true, currency: cur, labelHeader: "Cluster",
      series: [{ label: "Cost", values: data.clusters.map((c) => c.amount) },
        { label: "Idle cost", values: data.clusters.map((c) => c.idle_amount) }] }) : null),
    section("utilisation", "Utilisation per host",
      hosts.length ? chart({ id: "chart-utilisation", title: "Average utilisation per host (%)",
        labels: hosts.map((n) => n.host), horizontal: true, labelHeader: "Host", max: 100,
        yFormat: (v) => `${v} %`,
        series: [{ label: "CPU", values: hosts.map((n) => n.cpu ?? "0"), format: pct },
          { label: "Memory", values: hosts.map((n) => n.memory ?? "0"), format: pct },
          { label: "Storage", values: hosts.map((n) => n.storage ?? "0"), format: pct }] })
        : emptyNote("No CPU, memory or storage metric points in the last days of this range.")),
    section("nodes", "Nodes", table("Nodes", [
      { label: "Host", value: (n) => n.host },
      { label: "Cluster", value: (n) => n.cluster || "" },
      { label: "Provider", value: (n) => n.provider || "" },
      { label: "CPU avg / peak", value: (n) => `${pct(n.cpu)} / ${pct(n.cpu_peak)}`, num: true },
      { label: "Memory", value: (n) => pct(n.memory), num: true },
      { label: "Storage", value: (n) => pct(n.storage), num: true },
      { label: "Cost", value: (n) => fmtMoney(n.amount, cur), num: true },
      { label: "Idle cost", value: (n) => fmtMoney(n.idle_amount, cur), num: true },
    ], hosts, { id: "nodes-table", empty: "No hosts reported metrics in this range." })),
  ];
}
