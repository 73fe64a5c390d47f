"""Regenerate the GCP catalog from the Cloud Billing Catalog API (and Compute's machine type shapes).

Maintainer tool only (``scripts/refresh_gcp_catalog.py``); never run at collection time.

* ``GET https://cloudbilling.googleapis.com/v1/services`` finds the service ids by display name (Compute
  Engine, Kubernetes Engine, Cloud SQL, Cloud Storage, Cloud Run, Cloud Functions);
* ``GET /v1/{service}/skus?currencyCode=USD`` (pages of up to 5 000) gives each SKU's ``description``,
  ``category`` (resourceFamily / resourceGroup / usageType), ``serviceRegions`` and ``pricingInfo``
  (``pricingExpression.tieredRates[].unitPrice`` = ``units`` + ``nanos`` × 10⁻⁹ per ``usageUnit``);
  https://cloud.google.com/billing/docs/reference/rest/v1/services.skus/list
* ``GET compute/v1/projects/{p}/zones/{zone}/machineTypes`` gives ``guestCpus``, ``memoryMb`` and bundled
  ``accelerators`` of the predefined machine types (one zone per catalog region).

SKUs are matched to catalog keys by :data:`RULES` (the SKU descriptions' own vocabulary). A SKU's price is
its first non-zero tier (free tiers are granted as credits in the bill, not modelled in estimates). The
document keeps the previous file's keys that the API did not answer, listed in ``not_refreshed``.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Iterator

from ..money import CONTEXT, fmt

CATALOG_API = "https://cloud.google.com/billing/docs/reference/rest/v1/services.skus/list"
MACHINE_TYPES_API = "https://cloud.google.com/compute/docs/reference/rest/v1/machineTypes/list"
SERVICES = ("Compute Engine", "Kubernetes Engine", "Cloud SQL", "Cloud Storage", "Cloud Run", "Cloud Functions")
PRICING_PAGES = {
    "compute_vcpu": "https://cloud.google.com/compute/vm-instance-pricing",
    "compute_ram": "https://cloud.google.com/compute/vm-instance-pricing",
    "gpu": "https://cloud.google.com/compute/gpus-pricing",
    "pd": "https://cloud.google.com/compute/disks-image-pricing",
    "gke": "https://cloud.google.com/kubernetes-engine/pricing",
    "cloudsql_vcpu": "https://cloud.google.com/sql/pricing", "cloudsql_ram": "https://cloud.google.com/sql/pricing",
    "cloudsql_storage": "https://cloud.google.com/sql/pricing", "cloudsql_shared": "https://cloud.google.com/sql/pricing",
    "gcs": "https://cloud.google.com/storage/pricing",
    "run_cpu": "https://cloud.google.com/run/pricing", "run_memory": "https://cloud.google.com/run/pricing",
    "run_requests": "https://cloud.google.com/run/pricing",
    "functions_invocations": "https://cloud.google.com/functions/pricing-1stgen",
    "functions_memory": "https://cloud.google.com/functions/pricing-1stgen",
    "functions_cpu": "https://cloud.google.com/functions/pricing-1stgen",
}
UNITS = {"compute_vcpu": "vCPU-Hours", "compute_ram": "GiB-Hours", "gpu": "Hours", "pd": "GiB-Months",
         "gke": "Hours", "cloudsql_vcpu": "vCPU-Hours", "cloudsql_ram": "GiB-Hours", "cloudsql_storage": "GiB-Months",
         "cloudsql_shared": "Hours", "gcs": "GiB-Months", "run_cpu": "vCPU-Seconds", "run_memory": "GiB-Seconds",
         "run_requests": "Requests", "functions_invocations": "Requests", "functions_memory": "GiB-Seconds",
         "functions_cpu": "GHz-Seconds"}
# the Catalog API's usageUnit each catalog service is priced in (a SKU in another unit is refused)
USAGE_UNITS = {"compute_vcpu": "h", "compute_ram": "GiBy.h", "gpu": "h", "pd": "GiBy.mo", "gke": "h",
               "cloudsql_vcpu": "h", "cloudsql_ram": "GiBy.h", "cloudsql_storage": "GiBy.mo", "cloudsql_shared": "h",
               "gcs": "GiBy.mo", "run_cpu": "s", "run_memory": "GiBy.s", "run_requests": "count",
               "functions_invocations": "count", "functions_memory": "GiBy.s", "functions_cpu": "GHz.s"}
GPU_MODELS = {"Tesla T4": "nvidia-tesla-t4", "L4": "nvidia-l4", "Tesla A100": "nvidia-tesla-a100",
              "A100 80GB": "nvidia-a100-80gb", "Tesla V100": "nvidia-tesla-v100", "Tesla P100": "nvidia-tesla-p100"}
PD_TYPES = {"Storage": "pd-standard", "Balanced": "pd-balanced", "SSD backed": "pd-ssd", "Extreme": "pd-extreme"}
# e2 shared-core machine types are billed as a fraction of an E2 vCPU (vm-instance-pricing, "E2 shared-core")
SHARED_CORE_VCPUS = {"e2-micro": "0.25", "e2-small": "0.5", "e2-medium": "1"}
# custom machine types: memory beyond this many GiB per vCPU is billed as extended memory
CUSTOM_MEMORY_MAX = {"n1": "6.5", "n2": "8", "n2d": "8", "e2": "8"}
# Cloud Functions (1st gen): the CPU clock each memory size gets (pricing-1stgen, "Compute time")
FUNCTIONS_GEN1_GHZ = {"128": "0.2", "256": "0.4", "512": "0.8", "1024": "1.4", "2048": "2.4", "4096": "4.8",
                      "8192": "4.8", "16384": "4.8", "32768": "4.8"}

_RULES: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], tuple[str, ...] | None]]] = [
    ("Compute Engine", re.compile(r"^(?P<spot>Spot Preemptible )?(?P<fam>[A-Z]\d+[A-Z]?) (?:Predefined )?"
                                  r"(?P<custom>Custom )?(?P<ext>Extended )?Instance (?P<kind>Core|Ram) running in "),
     lambda m: (("compute_vcpu" if m["kind"] == "Core" else "compute_ram"), m["fam"].lower(),
                "spot" if m["spot"] else "custom_extended" if m["ext"] else "custom" if m["custom"] else "standard")
     if not (m["spot"] and (m["custom"] or m["ext"])) else None),
    ("Compute Engine", re.compile(r"^(?P<spot>Spot Preemptible )?Nvidia (?P<model>.+?) GPU running in "),
     lambda m: ("gpu", GPU_MODELS[m["model"]], "spot" if m["spot"] else "standard") if m["model"] in GPU_MODELS else None),
    ("Compute Engine", re.compile(r"^(?P<regional>Regional )?(?P<kind>Storage|Balanced|SSD backed|Extreme) PD Capacity"),
     lambda m: ("pd", PD_TYPES[m["kind"]], "regional" if m["regional"] else "zonal")),
    ("Kubernetes Engine", re.compile(r"^(?P<mode>Zonal|Regional|Autopilot) Kubernetes Clusters$"),
     lambda m: ("gke", "autopilot" if m["mode"] == "Autopilot" else "standard")),
    ("Cloud SQL", re.compile(r"^Cloud SQL for PostgreSQL: (?P<avail>Zonal|Regional) - (?P<kind>vCPU|RAM)"
                             r"(?P<plus> \(Enterprise Plus\))? in "),
     lambda m: ("cloudsql_vcpu" if m["kind"] == "vCPU" else "cloudsql_ram",
                "ENTERPRISE_PLUS" if m["plus"] else "ENTERPRISE", m["avail"].upper())),
    ("Cloud SQL", re.compile(r"^Cloud SQL for PostgreSQL: (?P<avail>Zonal|Regional) - (?P<kind>Standard|Low cost) storage in "),
     lambda m: ("cloudsql_storage", "PD_SSD" if m["kind"] == "Standard" else "PD_HDD", m["avail"].upper())),
    ("Cloud SQL", re.compile(r"^Cloud SQL for PostgreSQL: (?P<avail>Zonal|Regional) - (?P<tier>Micro|Small) instance in "),
     lambda m: ("cloudsql_shared", "db-f1-micro" if m["tier"] == "Micro" else "db-g1-small", m["avail"].upper())),
    ("Cloud Storage", re.compile(r"^(?P<cls>Standard|Nearline|Coldline|Archive) Storage "),
     lambda m: ("gcs", m["cls"].upper())),
    ("Cloud Run", re.compile(r"^CPU Allocation Time$"), lambda m: ("run_cpu",)),
    ("Cloud Run", re.compile(r"^Memory Allocation Time$"), lambda m: ("run_memory",)),
    ("Cloud Run", re.compile(r"^Requests$"), lambda m: ("run_requests",)),
    ("Cloud Functions", re.compile(r"^Invocations$"), lambda m: ("functions_invocations",)),
    ("Cloud Functions", re.compile(r"^Memory Time$"), lambda m: ("functions_memory",)),
    ("Cloud Functions", re.compile(r"^CPU Time$"), lambda m: ("functions_cpu",)),
]


def unit_price(sku: dict[str, Any]) -> tuple[Decimal, str] | None:
    """(price per usage unit, usageUnit) of a SKU: its latest pricingInfo's first non-zero tier."""
    infos = sku.get("pricingInfo") or []
    if not infos:
        return None
    expr = sorted(infos, key=lambda p: p.get("effectiveTime", ""))[-1].get("pricingExpression") or {}
    for tier in sorted(expr.get("tieredRates") or [], key=lambda t: Decimal(str(t.get("startUsageAmount", 0)))):
        up = tier.get("unitPrice") or {}
        price = CONTEXT.add(Decimal(str(up.get("units") or "0")),
                            CONTEXT.multiply(Decimal(int(up.get("nanos") or 0)), Decimal("1e-9")))
        if price:
            return price.normalize(CONTEXT), str(expr.get("usageUnit") or "")
    return None


def match(service: str, sku: dict[str, Any]) -> tuple[str, ...] | None:
    """The catalog key (service, key...) of a SKU, or None when the catalog does not price it."""
    desc = str(sku.get("description") or "")
    for svc, pat, fn in _RULES:
        if svc == service:
            m = pat.match(desc)
            if m:
                return fn(m)
    return None


def _set(tree: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    for k in path[:-1]:
        tree = tree.setdefault(k, {})
    tree[path[-1]] = value


def _leaves(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for k, v in tree.items():
        if isinstance(v, dict):
            yield from _leaves(v, prefix + (k,))
        else:
            yield prefix + (k,)


def fetch_services(client: Any) -> dict[str, str]:
    """display name → ``services/<id>`` of the services the catalog prices."""
    out = {}
    for page in client.pages("cloudbilling", "services.list", "/v1/services", params={"pageSize": 5000}):
        for s in page.get("services") or []:
            if s.get("displayName") in SERVICES:
                out[s["displayName"]] = s["name"]
    return out


def fetch_skus(client: Any, service_name: str) -> Iterator[dict[str, Any]]:
    for page in client.pages("cloudbilling", "services.skus.list", f"/v1/{service_name}/skus",
                             params={"currencyCode": "USD", "pageSize": 5000}):
        yield from page.get("skus") or []


def fetch_machine_types(client: Any, project: str, zone: str) -> Iterator[dict[str, Any]]:
    for page in client.pages("compute", "machineTypes.list", f"/compute/v1/projects/{project}/zones/{zone}/machineTypes",
                             params={"maxResults": 500}):
        yield from page.get("items") or []


def refresh_gcp(previous: dict[str, Any] | None, client: Any, *, project: str, zones: dict[str, str],
                today: date) -> dict[str, Any]:
    """A new catalog document for the regions of ``zones`` ({region: zone read for machine types})."""
    regions = set(zones)
    services: dict[str, dict[str, Any]] = {k: {"unit": UNITS[k], "regions": {}} for k in UNITS}
    skus_used: dict[str, int] = {}
    found = fetch_services(client)
    missing_services = [s for s in SERVICES if s not in found]
    for display, name in sorted(found.items()):
        for sku in fetch_skus(client, name):
            key = match(display, sku)
            if key is None:
                continue
            priced = unit_price(sku)
            if priced is None:
                continue
            price, unit = priced
            if unit != USAGE_UNITS[key[0]]:
                raise ValueError(f"SKU {sku.get('skuId')} ({sku.get('description')}): priced per {unit}, "
                                 f"the catalog's {key[0]} is per {USAGE_UNITS[key[0]]}")
            for region in sku.get("serviceRegions") or []:
                if region in regions or (key[0] == "gcs" and region in ("us", "eu", "asia")):
                    _set(services[key[0]]["regions"], (region,) + key[1:], fmt(price))
                    skus_used[key[0]] = skus_used.get(key[0], 0) + 1
    shapes: dict[str, dict[str, Any]] = {}
    for region, zone in sorted(zones.items()):
        for mt in fetch_machine_types(client, project, zone):
            name = mt["name"]
            vcpus = SHARED_CORE_VCPUS.get(name) if mt.get("isSharedCpu") else str(mt["guestCpus"])
            if vcpus is None:
                continue       # f1-micro / g1-small: their own SKUs, not priced by the catalog
            shape: dict[str, Any] = {"vcpus": vcpus,
                                     "memory_gib": fmt(CONTEXT.divide(Decimal(int(mt["memoryMb"])), Decimal(1024)))}
            gpus = {a["guestAcceleratorType"]: int(a["guestAcceleratorCount"]) for a in mt.get("accelerators") or []}
            if gpus:
                shape["gpus"] = gpus
            shapes[name] = shape
    not_refreshed: dict[str, list[str]] = {}
    for svc, node in ((previous or {}).get("services") or {}).items():
        fresh = services.setdefault(svc, {"unit": node.get("unit"), "regions": {}})
        for path in _leaves(node.get("regions") or {}):
            cur: Any = fresh["regions"]
            for k in path:
                cur = cur.get(k) if isinstance(cur, dict) else None
            if cur is None:
                old: Any = node["regions"]
                for k in path:
                    old = old[k]
                _set(fresh["regions"], path, old)
                not_refreshed.setdefault(svc, []).append("/".join(path))
    sources = []
    for svc in sorted(services):
        src: dict[str, Any] = {"service": svc, "url": PRICING_PAGES.get(svc, CATALOG_API), "api": CATALOG_API,
                               "retrieved": today.isoformat(), "method": "Cloud Billing Catalog API services.skus.list",
                               "skus": skus_used.get(svc, 0)}
        if not_refreshed.get(svc):
            src["not_refreshed"] = sorted(not_refreshed[svc])
        sources.append(src)
    sources.append({"service": "machine_types", "url": MACHINE_TYPES_API, "retrieved": today.isoformat(),
                    "method": f"Compute Engine machineTypes.list in {', '.join(sorted(zones.values()))}"})
    return {
        "provider": "gcp", "version": today.isoformat(), "currency": "USD",
        "notes": "On-demand (and Spot) list prices in USD from the Cloud Billing Catalog API: first non-zero tier per "
                 "SKU (free tiers and committed-use discounts are credits in the bill, not estimates); Cloud SQL from "
                 "the PostgreSQL SKUs (MySQL has the same rates; SQL Server adds licences, not modelled). "
                 "Regenerate with scripts/refresh_gcp_catalog.py.",
        "sources": sources + ([{"service": "missing", "services": missing_services}] if missing_services else []),
        "machine_types": dict(sorted(shapes.items())),
        "custom_memory_max_gib_per_vcpu": CUSTOM_MEMORY_MAX,
        "functions_gen1_ghz": FUNCTIONS_GEN1_GHZ,
        "services": {k: services[k] for k in sorted(services)},
    }


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=False) + "\n"
