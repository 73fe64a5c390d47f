#!/usr/bin/env python3
"""A Google Cloud estate for the emulator (scripts/gcp_emulator.py): resources in the APIs' own shapes,
Monitoring series, and the billing export rows they would bill.

* :func:`demo_estate` — the ``make up`` demo and the contract replay: projects ``acme-prod`` and
  ``acme-data`` (22 running instances: web/API, Spot batch, custom machine types incl. extended memory, an
  N1 with a T4, a GKE cluster whose two node pools are 5 of the instances — one pool on G2 with L4 GPUs —,
  persistent disks incl. a regional one), a Cloud Run service, a 2nd-gen and a 1st-gen function, two Cloud
  SQL instances and two buckets. ``tests/fixtures/gcp/estate.json`` is this estate recorded at the replay's
  clock.
* :func:`fleet_estate` — ``n`` instances in one project (bench/gcp_collector.py).
* :func:`export_rows` — the standard billing export rows of an estate's instances, disks, clusters, SQL,
  Run and buckets, hourly blocks, with sustained-use discounts, a free-tier credit and a tax line: each
  row's cost is the catalog's price × its usage, so billed and estimated agree to the credits.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[1]
BILLING_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
EXPORT_TABLE = "acme-billing.billing_export.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
DETAILED_TABLE = "acme-billing.billing_export.gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9"
FOCUS_TABLE = "acme-billing.gcp_billing_immutable_01A2B3_C4D5E6_F7A8B9_US.gcp_billing_export_focus_01A2B3_C4D5E6_F7A8B9"
PROJECTS = {"acme-prod": ("415104041262", "Acme Production"), "acme-data": ("283671093551", "Acme Data")}
ZONE = "us-central1-a"
_CREATED = ["2026-09-01T08:00:00.000-07:00"]     # when the estate's resources were created (demo_estate sets it)


def created() -> str:
    return _CREATED[0]


def _ts(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def instance(project: str, name: str, iid: int, machine_type: str, *, zone: str = ZONE, status: str = "RUNNING",
             labels: dict[str, str] | None = None, spot: bool = False, gpus: list[tuple[str, int]] | None = None,
             started: str | None = None) -> dict[str, Any]:
    base = f"https://www.googleapis.com/compute/v1/projects/{project}/zones/{zone}"
    inst: dict[str, Any] = {
        "kind": "compute#instance", "id": str(iid), "creationTimestamp": created(), "name": name,
        "machineType": f"{base}/machineTypes/{machine_type}", "status": status, "zone": base,
        "networkInterfaces": [{"network": f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/default",
                               "networkIP": f"10.128.0.{iid % 250}", "name": "nic0"}],
        "disks": [{"type": "PERSISTENT", "mode": "READ_WRITE", "source": f"{base}/disks/{name}", "deviceName": name,
                   "index": 0, "boot": True, "autoDelete": True, "diskSizeGb": "20"}],
        "scheduling": {"onHostMaintenance": "TERMINATE" if (gpus or spot) else "MIGRATE", "automaticRestart": not spot,
                       "preemptible": False, "provisioningModel": "SPOT" if spot else "STANDARD"},
        "labels": labels or {}, "selfLink": f"{base}/instances/{name}", "cpuPlatform": "Intel Cascade Lake",
        "lastStartTimestamp": started or created(),
    }
    if status != "RUNNING":
        inst["lastStopTimestamp"] = "2026-11-20T10:00:00.000-08:00"
    if gpus:
        inst["guestAccelerators"] = [{"acceleratorType": f"projects/{project}/zones/{zone}/acceleratorTypes/{g}",
                                      "acceleratorCount": n} for g, n in gpus]
    return inst


def disk(project: str, name: str, did: int, size: int, dtype: str = "pd-balanced", *, users: list[str] | None = None,
         region: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    loc = f"regions/{region}" if region else f"zones/{ZONE}"
    base = f"https://www.googleapis.com/compute/v1/projects/{project}/{loc}"
    d: dict[str, Any] = {"kind": "compute#disk", "id": str(did), "creationTimestamp": created(), "name": name,
                         "sizeGb": str(size), "status": "READY", "type": f"{base}/diskTypes/{dtype}",
                         "selfLink": f"{base}/disks/{name}", "labels": labels or {},
                         "users": [f"https://www.googleapis.com/compute/v1/projects/{project}/zones/{ZONE}/instances/{u}"
                                   for u in users or []]}
    if region:
        d["region"] = f"https://www.googleapis.com/compute/v1/projects/{project}/regions/{region}"
        d["replicaZones"] = [f"{base}/zones/us-central1-a", f"{base}/zones/us-central1-b"]
    else:
        d["zone"] = base
    return d


def _asset(project: str, asset_type: str, name: str, location: str, data: dict[str, Any], version: str,
           discovery: str) -> dict[str, Any]:
    num = PROJECTS.get(project, ("0",))[0]
    return {"name": name, "assetType": asset_type, "ancestors": [f"projects/{num}", "organizations/123456789012"],
            "updateTime": "2026-12-01T00:00:00Z",
            "resource": {"version": version, "discoveryName": discovery, "location": location,
                         "parent": f"//cloudresourcemanager.googleapis.com/projects/{num}", "data": data,
                         "discoveryDocumentUri": f"https://{asset_type.split('/')[0]}/$discovery/rest"}}


def gke_cluster(project: str, name: str, pools: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, Any]:
    loc = "us-central1"
    return _asset(project, "container.googleapis.com/Cluster",
                  f"//container.googleapis.com/projects/{project}/locations/{loc}/clusters/{name}", loc, {
                      "name": name, "location": loc, "status": "RUNNING", "createTime": created(),
                      "currentMasterVersion": "1.31.4-gke.1256000", "currentNodeCount": sum(p["count"] for p in pools),
                      "resourceLabels": labels, "autopilot": {},
                      "selfLink": f"https://container.googleapis.com/v1/projects/{project}/locations/{loc}/clusters/{name}",
                      "nodePools": [{"name": p["name"], "status": "RUNNING", "initialNodeCount": p["count"],
                                     "config": {"machineType": p["machine_type"], "diskSizeGb": 100,
                                                "diskType": "pd-balanced", "spot": p.get("spot", False),
                                                **({"accelerators": [{"acceleratorCount": str(n), "acceleratorType": g}
                                                                     for g, n in p["gpus"]]} if p.get("gpus") else {})},
                                     "autoscaling": {"enabled": True, "minNodeCount": p["min"], "maxNodeCount": p["max"]}
                                     if p.get("max") else {},
                                     "instanceGroupUrls": [f"https://www.googleapis.com/compute/v1/projects/{project}/zones/"
                                                           f"{ZONE}/instanceGroupManagers/gke-{name}-{p['name']}-grp"]}
                                    for p in pools]}, "v1", "Cluster")


def run_service(project: str, name: str, cpu: str, memory: str, labels: dict[str, str]) -> dict[str, Any]:
    loc = "us-central1"
    return _asset(project, "run.googleapis.com/Service",
                  f"//run.googleapis.com/projects/{project}/locations/{loc}/services/{name}", loc, {
                      "apiVersion": "serving.knative.dev/v1", "kind": "Service",
                      "metadata": {"name": name, "namespace": PROJECTS[project][0], "labels": {
                          **labels, "cloud.googleapis.com/location": loc},
                          "annotations": {"run.googleapis.com/ingress": "all"},
                          "creationTimestamp": "2026-09-02T10:00:00Z"},
                      "spec": {"template": {"metadata": {"annotations": {"autoscaling.knative.dev/maxScale": "20"}},
                                            "spec": {"containerConcurrency": 80, "timeoutSeconds": 300, "containers": [
                                                {"image": f"us-docker.pkg.dev/{project}/app/{name}:latest",
                                                 "resources": {"limits": {"cpu": cpu, "memory": memory}}}]}}}},
                  "v1", "Service")


def function_gen1(project: str, name: str, memory_mb: int, labels: dict[str, str]) -> dict[str, Any]:
    loc = "us-central1"
    full = f"projects/{project}/locations/{loc}/functions/{name}"
    return _asset(project, "cloudfunctions.googleapis.com/CloudFunction",
                  f"//cloudfunctions.googleapis.com/{full}", loc, {
                      "name": full, "runtime": "python311", "entryPoint": "main", "status": "ACTIVE",
                      "availableMemoryMb": memory_mb, "timeout": "60s", "labels": labels,
                      "eventTrigger": {"eventType": "google.pubsub.topic.publish",
                                       "resource": f"projects/{project}/topics/cleanup"}}, "v1", "CloudFunction")


def sql_instance(project: str, name: str, tier: str, version: str, *, ha: bool, size_gb: int, disk: str,
                 labels: dict[str, str], edition: str = "ENTERPRISE") -> dict[str, Any]:
    return _asset(project, "sqladmin.googleapis.com/Instance",
                  f"//cloudsql.googleapis.com/projects/{project}/instances/{name}", "us-central1", {
                      "kind": "sql#instance", "name": name, "project": project, "databaseVersion": version,
                      "region": "us-central1", "gceZone": "us-central1-c", "state": "RUNNABLE",
                      "createTime": created(), "instanceType": "CLOUD_SQL_INSTANCE",
                      "settings": {"tier": tier, "edition": edition, "availabilityType": "REGIONAL" if ha else "ZONAL",
                                   "dataDiskSizeGb": str(size_gb), "dataDiskType": disk, "activationPolicy": "ALWAYS",
                                   "userLabels": labels, "pricingPlan": "PER_USE",
                                   "backupConfiguration": {"enabled": True}}}, "v1beta4", "DatabaseInstance")


def bucket(project: str, name: str, location: str, storage_class: str, labels: dict[str, str]) -> dict[str, Any]:
    return _asset(project, "storage.googleapis.com/Bucket", f"//storage.googleapis.com/{name}", location.lower(), {
        "kind": "storage#bucket", "id": name, "name": name, "projectNumber": PROJECTS[project][0],
        "location": location, "locationType": "multi-region" if location in ("US", "EU", "ASIA") else "region",
        "storageClass": storage_class, "timeCreated": created(), "labels": labels}, "v1", "Bucket")


def _series(metric: str, resource: str, mlabels: dict[str, str], rlabels: dict[str, str], *, kind: str = "GAUGE",
            value: Any = None, value_type: str = "DOUBLE", distribution: dict[str, Any] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"metric": {"type": metric, "labels": mlabels}, "resource": {"type": resource, "labels": rlabels},
                         "metricKind": kind, "valueType": value_type}
    if distribution is not None:
        s["distribution"] = distribution
    else:
        s["value"] = value
    return s


def instance_series(project: str, inst: dict[str, Any], k: int) -> list[dict[str, Any]]:
    r = {"project_id": project, "instance_id": inst["id"], "zone": inst["zone"].rsplit("/", 1)[-1]}
    out = [
        _series("compute.googleapis.com/instance/cpu/utilization", "gce_instance", {"instance_name": inst["name"]}, r,
                value=round(0.15 + (k * 37 % 70) / 100, 4)),
        _series("compute.googleapis.com/instance/disk/read_bytes_count", "gce_instance",
                {"instance_name": inst["name"], "device_name": inst["name"], "storage_type": "pd-balanced"}, r,
                kind="DELTA", value_type="INT64", value=2_000_000_000 + k * 10_000_000),
        _series("compute.googleapis.com/instance/disk/write_bytes_count", "gce_instance",
                {"instance_name": inst["name"], "device_name": inst["name"], "storage_type": "pd-balanced"}, r,
                kind="DELTA", value_type="INT64", value=900_000_000 + k * 5_000_000),
        _series("compute.googleapis.com/instance/network/sent_bytes_count", "gce_instance",
                {"instance_name": inst["name"], "loadbalanced": "false"}, r, kind="DELTA", value_type="INT64",
                value=5_000_000_000 + k * 1_000_000),
    ]
    if k % 2 == 0:   # the Ops Agent runs on half of them
        out.append(_series("agent.googleapis.com/memory/percent_used", "gce_instance", {"state": "used"}, r,
                           value=round(40 + k % 50, 2)))
        out.append(_series("agent.googleapis.com/memory/percent_used", "gce_instance", {"state": "free"}, r,
                           value=round(60 - k % 50, 2)))
    mtype = inst["machineType"].rsplit("/", 1)[-1]
    if inst.get("guestAccelerators") or mtype.startswith(("g2-", "a2-")):
        out.append(_series("agent.googleapis.com/gpu/utilization", "gce_instance", {"gpu_number": "0", "model": "L4"},
                           r, value=71.5))
    return out


def demo_estate(now: datetime) -> dict[str, Any]:
    """The demo / replay estate (resources in the APIs' shapes and their Monitoring series), created 105 days
    before ``now`` (so it looks the same on any date)."""
    _CREATED[0] = (now - timedelta(days=105)).astimezone(timezone(timedelta(hours=-8))).isoformat(timespec="milliseconds")
    P, D = "acme-prod", "acme-data"
    insts: list[dict[str, Any]] = []
    n = iter(range(4811111111111111000, 4811111111111112000))
    web = {"team": "web", "environment": "prod", "project": "checkout"}
    for i in range(4):
        insts.append(instance(P, f"web-{i + 1}", next(n), "n2-standard-4", labels=web))
    for i in range(2):
        insts.append(instance(P, f"api-{i + 1}", next(n), "e2-standard-2", labels={"team": "platform", "environment": "prod"}))
    for i in range(3):
        insts.append(instance(P, f"batch-spot-{i + 1}", next(n), "n2-standard-8", spot=True,
                              labels={"team": "data", "project": "analytics"}))
    insts.append(instance(P, "custom-etl", next(n), "n2-custom-4-16384", labels={"team": "data"}))
    insts.append(instance(P, "custom-cache", next(n), "n2-custom-2-20480-ext", labels={"team": "platform"}))
    insts.append(instance(P, "legacy-app", next(n), "custom-2-7680", labels={"team": "web"}))
    insts.append(instance(P, "inference-t4", next(n), "n1-standard-4", gpus=[("nvidia-tesla-t4", 1)],
                          labels={"team": "ml", "project": "recsys"}))
    insts.append(instance(P, "old-reporting", next(n), "e2-standard-4", status="TERMINATED", labels={"team": "data"}))
    gke = {"team": "ml", "environment": "prod", "project": "recsys"}
    for i in range(3):
        insts.append(instance(P, f"gke-ml-default-pool-8f1c{i}", next(n), "e2-standard-4",
                              labels={**gke, "goog-k8s-cluster-name": "ml", "goog-k8s-node-pool-name": "default-pool",
                                      "goog-gke-node": ""}))
    for i in range(2):
        insts.append(instance(P, f"gke-ml-gpu-pool-2b7d{i}", next(n), "g2-standard-8",
                              gpus=[("nvidia-l4", 1)],
                              labels={**gke, "goog-k8s-cluster-name": "ml", "goog-k8s-node-pool-name": "gpu-pool",
                                      "goog-gke-node": ""}))
    data_insts = [instance(D, f"warehouse-{i + 1}", next(n), "n2-highmem-8", labels={"team": "data", "project": "analytics"})
                  for i in range(4)]
    disks = [disk(P, i["name"], 7000 + k, 50 if i["name"].startswith("gke") else 20, users=[i["name"]],
                  labels=i["labels"]) for k, i in enumerate(insts)]
    disks.append(disk(P, "orders-ssd-regional", 7900, 200, "pd-ssd", region="us-central1", users=["web-1"],
                      labels={"team": "web"}))
    disks.append(disk(P, "scratch-unattached", 7901, 500, "pd-standard", labels={"team": "data"}))
    data_disks = [disk(D, i["name"], 8000 + k, 100, "pd-ssd", users=[i["name"]], labels=i["labels"])
                  for k, i in enumerate(data_insts)]
    assets = [
        gke_cluster(P, "ml", [{"name": "default-pool", "machine_type": "e2-standard-4", "count": 3, "min": 1, "max": 5},
                              {"name": "gpu-pool", "machine_type": "g2-standard-8", "count": 2, "min": 0, "max": 4,
                               "gpus": [("nvidia-l4", 1)]}], gke),
        run_service(P, "api-gateway", "1", "512Mi", {"team": "platform"}),
        run_service(P, "resize-images", "0.1666", "256Mi", {"team": "web", "goog-managed-by": "cloudfunctions"}),
        function_gen1(P, "cleanup", 256, {"team": "platform"}),
        sql_instance(P, "orders-pg", "db-custom-2-7680", "POSTGRES_15", ha=True, size_gb=100, disk="PD_SSD",
                     labels={"team": "web", "project": "checkout"}),
        sql_instance(P, "reports-mysql", "db-f1-micro", "MYSQL_8_0", ha=False, size_gb=10, disk="PD_HDD",
                     labels={"team": "data"}),
        bucket(P, "acme-prod-assets", "US", "STANDARD", {"team": "web"}),
        bucket(P, "acme-prod-logs", "US-CENTRAL1", "NEARLINE", {"team": "platform"}),
    ]
    series = [s for k, i in enumerate(insts) if i["status"] == "RUNNING" for s in instance_series(P, i, k)]
    rr = {"project_id": P, "location": "us-central1"}
    series += [
        _series("run.googleapis.com/request_count", "cloud_run_revision", {"response_code_class": "2xx"},
                {**rr, "service_name": "api-gateway", "revision_name": "api-gateway-00042-xyz"}, kind="DELTA",
                value_type="INT64", value=1_200_000),
        _series("run.googleapis.com/request_count", "cloud_run_revision", {"response_code_class": "4xx"},
                {**rr, "service_name": "api-gateway", "revision_name": "api-gateway-00042-xyz"}, kind="DELTA",
                value_type="INT64", value=30_000),
        _series("run.googleapis.com/container/billable_instance_time", "cloud_run_revision", {},
                {**rr, "service_name": "api-gateway", "revision_name": "api-gateway-00042-xyz"}, kind="DELTA",
                value=86_400 * 2.5),
        _series("run.googleapis.com/request_count", "cloud_run_revision", {"response_code_class": "2xx"},
                {**rr, "service_name": "resize-images", "revision_name": "resize-images-00007-abc"}, kind="DELTA",
                value_type="INT64", value=250_000),
        _series("run.googleapis.com/container/billable_instance_time", "cloud_run_revision", {},
                {**rr, "service_name": "resize-images", "revision_name": "resize-images-00007-abc"}, kind="DELTA",
                value=18_000),
        _series("cloudfunctions.googleapis.com/function/execution_times", "cloud_function", {"status": "ok"},
                {"project_id": P, "function_name": "cleanup", "region": "us-central1"}, kind="DELTA",
                distribution={"count": 1440, "mean": 850_000_000}),
        _series("storage.googleapis.com/storage/total_bytes", "gcs_bucket", {"storage_class": "STANDARD", "type": "live-object"},
                {"project_id": P, "bucket_name": "acme-prod-assets", "location": "us"}, value=2_500 * 1024 ** 3),
        _series("storage.googleapis.com/storage/total_bytes", "gcs_bucket", {"storage_class": "NEARLINE", "type": "live-object"},
                {"project_id": P, "bucket_name": "acme-prod-logs", "location": "us-central1"}, value=12_000 * 1024 ** 3),
        _series("storage.googleapis.com/storage/total_bytes", "gcs_bucket", {"storage_class": "STANDARD", "type": "live-object"},
                {"project_id": P, "bucket_name": "acme-prod-logs", "location": "us-central1"}, value=800 * 1024 ** 3),
    ]
    data_series = [s for k, i in enumerate(data_insts) for s in instance_series(D, i, k)]
    return {
        "now": _ts(now),
        "projects": [{"projectId": p, "number": num, "displayName": name, "billingAccount": BILLING_ACCOUNT}
                     for p, (num, name) in PROJECTS.items()],
        "compute": {P: {"instances": {f"zones/{ZONE}": insts}, "disks": {f"zones/{ZONE}": disks[:-2] + disks[-1:],
                                                                          "regions/us-central1": [disks[-2]]}},
                    D: {"instances": {f"zones/{ZONE}": data_insts}, "disks": {f"zones/{ZONE}": data_disks}}},
        "assets": {P: assets, D: [bucket(D, "acme-data-lake", "US", "STANDARD", {"team": "data"})]},
        "series": {P: series, D: data_series + [
            _series("storage.googleapis.com/storage/total_bytes", "gcs_bucket",
                    {"storage_class": "STANDARD", "type": "live-object"},
                    {"project_id": D, "bucket_name": "acme-data-lake", "location": "us"}, value=40_000 * 1024 ** 3)]},
    }


def fleet_estate(n: int, *, project: str = "acme-fleet") -> dict[str, Any]:
    """``n`` running instances (and their disks and series) in one project: the bench's fleet."""
    PROJECTS.setdefault(project, ("999000111222", "Acme Fleet"))
    types = ("n2-standard-4", "e2-standard-2", "n2-highmem-8", "e2-standard-4", "c3-standard-8")
    insts = [instance(project, f"vm-{k:05d}", 5_000_000_000_000 + k, types[k % len(types)],
                      labels={"team": ("web", "data", "ml", "platform")[k % 4]}) for k in range(n)]
    return {"projects": [{"projectId": project, "number": PROJECTS[project][0], "displayName": "Acme Fleet",
                          "billingAccount": BILLING_ACCOUNT}],
            "compute": {project: {"instances": {f"zones/{ZONE}": insts},
                                  "disks": {f"zones/{ZONE}": [disk(project, i["name"], 9_000_000 + k, 20, users=[i["name"]])
                                                              for k, i in enumerate(insts)]}}},
            "assets": {project: []},
            "series": {project: [s for k, i in enumerate(insts) for s in instance_series(project, i, k)]}}


# ---------------------------------------------------------------------------------------------- billing export
def _row(day: date, hour: int, hours: int, project: str, service: tuple[str, str], sku: tuple[str, str], *,
         cost: Decimal, usage: Decimal, unit: str, pricing_unit: str, labels: dict[str, str],
         credits: list[dict[str, Any]] | None = None, region: str | None = "us-central1", zone: str | None = None,
         export_lag_h: int = 4, cost_type: str = "regular", list_cost: Decimal | None = None,
         resource: tuple[str, str] | None = None) -> dict[str, Any]:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    end = start + timedelta(hours=hours)
    pid = project
    r = {"billing_account_id": BILLING_ACCOUNT, "service": {"id": service[0], "description": service[1]},
         "sku": {"id": sku[0], "description": sku[1]}, "usage_start_time": _ts(start), "usage_end_time": _ts(end),
         "project": {"id": pid, "number": PROJECTS.get(pid, ("0",))[0], "name": PROJECTS.get(pid, ("", pid))[1]},
         "labels": [{"key": k, "value": v} for k, v in sorted(labels.items())],
         "system_labels": [], "location": {"location": zone or region, "country": "US", "region": region, "zone": zone},
         "export_time": _ts(end + timedelta(hours=export_lag_h)), "cost": float(cost), "currency": "USD",
         "currency_conversion_rate": 1.0,
         "usage": {"amount": float(usage), "unit": unit, "amount_in_pricing_units": float(usage),
                   "pricing_unit": pricing_unit},
         "credits": credits or [], "invoice": {"month": f"{day.year}{day.month:02d}", "publisher_type": "GOOGLE"},
         "cost_type": cost_type, "cost_at_list": float(list_cost if list_cost is not None else cost),
         "transaction_type": "GOOGLE", "seller_name": "Google"}
    if resource:
        r["resource"] = {"name": resource[0], "global_name": resource[1]}
    return r


COMPUTE = ("6F81-5844-456A", "Compute Engine")


def export_rows(estate: dict[str, Any], start: date, end: date, *, catalog: Any, block_hours: int = 6,
                detailed: bool = False) -> list[dict[str, Any]]:
    """The standard export's rows for the estate's running instances and disks over ``[start, end)``,
    plus GKE, Cloud SQL and a daily tax line, in blocks of ``block_hours``."""
    sys.path.insert(0, str(ROOT / "common"))
    from cloudtally.providers.gcp import inventory as inv

    rows: list[dict[str, Any]] = []
    d = start
    blocks = range(0, 24, block_hours)
    while d < end:
        for project, comp in (estate.get("compute") or {}).items():
            for scoped in comp.get("instances", {}).values():
                for i in scoped:
                    if i["status"] != "RUNNING":
                        continue
                    mtype = i["machineType"].rsplit("/", 1)[-1]
                    shape = inv.machine_shape(catalog, mtype)
                    if shape is None:
                        continue
                    model = "spot" if inv.is_spot(i) else "custom" if shape.custom else "standard"
                    fam = shape.family.upper()
                    cpu_p = catalog.price("compute_vcpu", "us-central1", shape.family, model).amount
                    ram_p = catalog.price("compute_ram", "us-central1", shape.family, model).amount
                    res = (i["name"], f"//compute.googleapis.com/projects/{project}/zones/{ZONE}/instances/{i['id']}") \
                        if detailed else None
                    for h in blocks:
                        cpu = shape.vcpus * block_hours
                        ram = (shape.memory_gib + shape.extended_gib) * block_hours
                        c_cost = (cpu * cpu_p).quantize(Decimal("0.000001"))
                        r_cost = (ram * ram_p).quantize(Decimal("0.000001"))
                        sud = [{"name": "Sustained Usage Discount", "amount": -float((c_cost * Decimal("0.2")).quantize(
                            Decimal("0.000001"))), "full_name": "Sustained usage discount",
                            "id": f"sud-{fam}", "type": "SUSTAINED_USAGE_DISCOUNT"}] \
                            if fam in ("N1", "N2") and model != "spot" else []
                        rows.append(_row(d, h, block_hours, project, COMPUTE,
                                         (f"{fam}-CPU-{model}", f"{fam} {'Spot Preemptible ' if model == 'spot' else ''}Instance Core running in Americas"),
                                         cost=c_cost, usage=cpu * 3600, unit="seconds", pricing_unit="hour",
                                         labels=i["labels"], credits=sud, zone=ZONE, resource=res))
                        rows.append(_row(d, h, block_hours, project, COMPUTE,
                                         (f"{fam}-RAM-{model}", f"{fam} Instance Ram running in Americas"),
                                         cost=r_cost, usage=ram * 3600 * 1024 ** 3, unit="byte-seconds",
                                         pricing_unit="gibibyte hour", labels=i["labels"], zone=ZONE, resource=res))
        # the ml cluster's management fee, with its free-tier credit
        rows.append(_row(d, 0, 24, "acme-prod", ("CCD8-9BF1-090E", "Kubernetes Engine"),
                         ("CCD8-REGIONAL", "Regional Kubernetes Clusters"), cost=Decimal("2.4"), usage=Decimal(86400),
                         unit="seconds", pricing_unit="hour", labels={"team": "ml", "environment": "prod", "project": "recsys"},
                         credits=[{"name": "GKE Free Tier", "amount": -2.4, "full_name": "Free Tier", "id": "gke-free",
                                   "type": "FREE_TIER"}]))
        rows.append(_row(d, 0, 24, "acme-prod", ("9662-B51E-5089", "Cloud SQL"),
                         ("9662-PG-VCPU-R", "Cloud SQL for PostgreSQL: Regional - vCPU in Americas"),
                         cost=Decimal("3.9648"), usage=Decimal(2 * 86400), unit="seconds", pricing_unit="hour",
                         labels={"team": "web", "project": "checkout"}, list_cost=Decimal("4.1730")))
        rows.append(_row(d, 0, 24, "acme-prod", ("95FF-2EF5-5EA1", "Cloud Storage"),
                         ("95FF-STD-US", "Standard Storage US Multi-region"), cost=Decimal("2.096774"),
                         usage=Decimal(2500) * 1024 ** 3 * 86400, unit="byte-seconds", pricing_unit="gibibyte month",
                         labels={"team": "web"}, region=None))
        rows.append(_row(d, 0, 24, "acme-prod", ("TAX", "Taxes"), ("TAX-US", "Sales tax"), cost=Decimal("1.25"),
                         usage=Decimal(0), unit="", pricing_unit="", labels={}, cost_type="tax", region=None))
        d += timedelta(days=1)
    return rows


def main() -> int:
    """Write tests/fixtures/gcp/estate.json (the contract replay's recorded estate) at the replay's clock."""
    now = datetime(2026, 12, 15, 9, 30, tzinfo=UTC)
    out = ROOT / "tests" / "fixtures" / "gcp" / "estate.json"
    out.write_text(json.dumps(demo_estate(now), indent=1) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
