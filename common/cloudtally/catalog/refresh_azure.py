"""Build the Azure catalog from the Azure Retail Prices API (``GET https://prices.azure.com/api/retail/prices``).

Maintainer tool only (``scripts/refresh_azure_catalog.py``); never run at collection time. No authentication.
For each region of :data:`WANTED` it runs one ``$filter`` query per service (``serviceName``, ``armRegionName``,
``priceType eq 'Consumption'``, and a ``productName`` where one service holds several products; filter values
are case-sensitive), follows ``NextPageLink`` (at most 1 000 items a page) and picks the pay-as-you-go USD
retail price of each wanted key by the rules below. Prices are normalised to one unit of the FOCUS unit of
their ``unitOfMeasure`` (the FinOps toolkit's PricingUnits table: ``10`` executions are a block of 10, so the
price per execution is ``retailPrice / 10``). A wanted key the API does not answer is listed in
``sources[].missing`` and left out (an estimate for it is then skipped and noted, never guessed).
https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices

Selection rules (the API's own vocabulary):

* ``vm``: ``serviceName 'Virtual Machines'``; ``armSkuName`` = size; Windows when ``productName`` ends in
  ``Windows``; spot when ``meterName`` ends in ``Spot``; ``Low Priority`` meters and ``Cloud Services`` products
  are skipped; ``unitOfMeasure '1 Hour'``.
* ``disk``: the ``Premium SSD`` / ``Standard SSD`` / ``Standard HDD Managed Disks`` products, ``meterName
  '<tier> LRS Disk'``, per disk-month.
* ``aks``: ``serviceName 'Azure Kubernetes Service'``, ``skuName`` Standard / Premium, per cluster-hour.
* ``functions``: ``serviceName 'Functions'``: Consumption = ``skuName 'Standard'`` (``Standard Execution Time``,
  ``Standard Total Executions``), Flex = ``skuName 'Flex Consumption'`` (``On Demand Execution Time``,
  ``On Demand Total Executions``); ``functions_premium`` EP1-EP3 = vCPU + memory of the size (``skuName
  'Premium'``, ``vCPU Duration``, ``Memory Duration``).
* ``app_service``: ``serviceName 'Azure App Service'``, ``armSkuName`` = plan size, Linux when ``productName``
  says so, per instance-hour.
* ``sql_dtu`` (per day, ``meterName '<objective> DTUs'``), ``sql_pool_dtu`` (per day, ``skuName '<n> eDTUs'``),
  ``sql_vcore`` (per vCore-hour, ``meterName 'vCore'`` of the ``... - Compute Gen5`` products), ``sql_storage``
  (``... Data Stored`` of the ``... - Storage`` products): ``serviceName 'SQL Database'``.
* ``storage``: ``productName 'General Block Blob v2'``, ``meterName '<Tier> <Redundancy> Data Stored'``, the
  first usage tier (``tierMinimumUnits 0``).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from decimal import Decimal
from typing import Any, Callable, Iterator

from ..money import CONTEXT, fmt

RETAIL_URL = "https://prices.azure.com/api/retail/prices"
API_VERSION = "2023-01-01-preview"
DOCS = "https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices"

WANTED: dict[str, Any] = {
    "regions": ["eastus", "westeurope", "northeurope"],
    "vm_sizes": ["Standard_B2s", "Standard_D2s_v3", "Standard_D4s_v3", "Standard_D2s_v5", "Standard_D4s_v5",
                 "Standard_D8s_v5", "Standard_E4s_v5", "Standard_F4s_v2"],
    "disk_tiers": {"Premium SSD Managed Disks": ["P4", "P6", "P10", "P15", "P20", "P30"],
                   "Standard SSD Managed Disks": ["E4", "E6", "E10", "E15", "E20", "E30"],
                   "Standard HDD Managed Disks": ["S4", "S6", "S10", "S15", "S20", "S30"]},
    "aks_tiers": ["Standard", "Premium"],
    "app_service": ["B1", "S1", "P1v3", "P2v3"],
    "functions_premium": {"EP1": ("1", "3.5"), "EP2": ("2", "7"), "EP3": ("4", "14")},
    "sql_dtu": ["Basic", "S0", "S1", "S2", "S3", "P1", "P2"],
    "sql_pool_edtu": {"standard": [50, 100, 200], "premium": [125, 250]},
    "sql_vcore_tiers": {"generalpurpose": "General Purpose", "businesscritical": "Business Critical"},
    "storage": {"tiers": ["Hot", "Cool", "Cold", "Archive"], "redundancy": ["LRS", "ZRS", "GRS", "RA-GRS"]},
}
# the unit each service's prices must come in (a different unitOfMeasure means the API changed: refuse it)
UNITS = {"vm": "Hours", "disk": "Units/Month", "aks": "Hours", "app_service": "Hours", "sql_dtu": "Units/Day",
         "sql_pool_dtu": "Units/Day", "sql_vcore": "Hours", "sql_storage": "GB/Month", "storage": "GB/Month"}
KEYS = {"vm": ["vm_size", "os", "priority"], "disk": ["tier"], "aks": ["tier"], "functions": ["plan", "meter"],
        "functions_premium": ["sku"], "app_service": ["sku", "os"], "sql_dtu": ["objective"],
        "sql_pool_dtu": ["edition", "edtu"], "sql_vcore": ["tier", "family"], "sql_storage": ["tier"],
        "storage": ["redundancy", "tier"]}
FUNCTIONS = {("Standard", "Standard Execution Time"): ("consumption", "gb_seconds"),
             ("Standard", "Standard Total Executions"): ("consumption", "executions"),
             ("Flex Consumption", "On Demand Execution Time"): ("flex", "gb_seconds"),
             ("Flex Consumption", "On Demand Total Executions"): ("flex", "executions")}


def queries(region: str) -> list[tuple[str, str]]:
    """(catalog part, ``$filter``) per query for ``region``."""
    base = f"armRegionName eq '{region}' and priceType eq 'Consumption'"
    out = [("vm", f"serviceName eq 'Virtual Machines' and {base}")]
    out += [("disk", f"serviceName eq 'Storage' and {base} and productName eq '{p}'") for p in WANTED["disk_tiers"]]
    out += [("aks", f"serviceName eq 'Azure Kubernetes Service' and {base}"),
            ("functions", f"serviceName eq 'Functions' and {base}"),
            ("app_service", f"serviceName eq 'Azure App Service' and {base}"),
            ("sql", f"serviceName eq 'SQL Database' and {base}"),
            ("storage", f"serviceName eq 'Storage' and {base} and productName eq 'General Block Blob v2'")]
    return out


def query_url(flt: str) -> str:
    return f"{RETAIL_URL}?" + urllib.parse.urlencode({"api-version": API_VERSION, "$filter": flt},
                                                      quote_via=urllib.parse.quote)


def fetch_json(url: str) -> dict[str, Any]:
    """One page of the live API (no authentication)."""
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=60) as r:
        return json.loads(r.read(), parse_float=Decimal)


def items(url: str, fetch: Callable[[str], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    pages = 0
    while url:
        doc = fetch(url)
        pages += 1
        if doc.get("BillingCurrency", "USD") != "USD":
            raise ValueError(f"{url}: prices in {doc.get('BillingCurrency')}, expected USD")
        yield from doc.get("Items") or []
        url = doc.get("NextPageLink") or ""


def unit_price(item: dict[str, Any]) -> tuple[Decimal, str]:
    """(price of one unit, FOCUS unit) of a Retail Prices item."""
    from ..providers.azure.taxonomy import pricing_unit
    hit = pricing_unit(item.get("unitOfMeasure"))
    if hit is None:
        raise ValueError(f"unknown unitOfMeasure {item.get('unitOfMeasure')!r} ({item.get('meterName')})")
    unit, block = hit
    amount = item["retailPrice"]
    amount = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    if block != 1:
        unit = unit.split(" ", 1)[1]
        amount = CONTEXT.divide(amount, Decimal(block))
    return amount, unit


def _consumption(item: dict[str, Any]) -> bool:
    return item.get("type") == "Consumption" and item.get("currencyCode", "USD") == "USD"


def pick(part: str, region: str, found: list[dict[str, Any]], out: dict[str, dict[str, Any]]) -> None:
    """Put the wanted prices of one query's items into ``out[service][region]``."""
    put = _putter(out, region)
    for it in (i for i in found if _consumption(i)):
        sku, meter, product = it.get("armSkuName") or "", it.get("meterName") or "", it.get("productName") or ""
        if part == "vm":
            if sku not in WANTED["vm_sizes"] or "Low Priority" in meter or "Cloud Services" in product:
                continue
            os_ = "windows" if product.endswith("Windows") else "linux"
            put("vm", (sku, os_, "spot" if meter.endswith("Spot") else "regular"), it)
        elif part == "disk":
            tier = meter.removesuffix(" LRS Disk")
            if meter.endswith(" LRS Disk") and tier in WANTED["disk_tiers"].get(product, []):
                put("disk", (tier,), it)
        elif part == "aks":
            if it.get("skuName") in WANTED["aks_tiers"] and it.get("unitOfMeasure") == "1 Hour":
                put("aks", (it["skuName"].lower(),), it)
        elif part == "functions":
            key = FUNCTIONS.get((it.get("skuName"), meter))
            if key is not None:
                put("functions", key, it)
            elif it.get("skuName") == "Premium" and meter in ("vCPU Duration", "Memory Duration"):
                put("functions_premium_parts", ("vcpu" if meter.startswith("vCPU") else "memory",), it)
        elif part == "app_service":
            if sku in WANTED["app_service"] and it.get("unitOfMeasure") == "1 Hour":
                put("app_service", (sku, "linux" if "Linux" in product else "windows"), it)
        elif part == "sql":
            _pick_sql(it, product, meter, put)
        elif part == "storage":
            tier, _, rest = meter.partition(" ")
            red = rest.removesuffix(" Data Stored")
            if (rest.endswith(" Data Stored") and tier in WANTED["storage"]["tiers"]
                    and red in WANTED["storage"]["redundancy"] and Decimal(str(it.get("tierMinimumUnits", 0))) == 0):
                put("storage", (red.lower().replace("-", ""), tier.lower()), it)


def _pick_sql(it: dict[str, Any], product: str, meter: str, put: Callable) -> None:
    sku = it.get("skuName") or ""
    if product.startswith("SQL Database Single ") and meter.endswith(" DTUs") and sku in WANTED["sql_dtu"]:
        put("sql_dtu", (sku,), it)
        return
    if product.startswith("SQL Database Elastic Pool - ") and sku.endswith(" eDTUs"):
        edition = product.rsplit(" - ", 1)[1].lower()
        n = int(sku.split(" ", 1)[0])
        if n in WANTED["sql_pool_edtu"].get(edition, []):
            put("sql_pool_dtu", (edition, str(n)), it)
        return
    for key, label in WANTED["sql_vcore_tiers"].items():
        if product == f"SQL Database Single/Elastic Pool {label} - Compute Gen5" and meter == "vCore":
            put("sql_vcore", (key, "gen5"), it)
        elif product == f"SQL Database Single/Elastic Pool {label} - Storage" and meter == f"{label} Data Stored":
            put("sql_storage", (key,), it)


def _putter(out: dict[str, dict[str, Any]], region: str) -> Callable:
    def put(service: str, key: tuple[str, ...], item: dict[str, Any]) -> None:
        amount, unit = unit_price(item)
        node = out.setdefault(service, {"units": {}, "regions": {}})
        want = UNITS.get(service)
        if want is not None and unit != want:
            raise ValueError(f"{service} {'/'.join(key)}: priced per {unit} ({item.get('unitOfMeasure')}), expected {want}")
        if service == "functions":
            node["units"][key[-1]] = unit
        node["units"].setdefault("*", unit)
        leaf = node["regions"].setdefault(region, {})
        for k in key[:-1]:
            leaf = leaf.setdefault(k, {})
        prev = leaf.get(key[-1])
        if prev is not None and prev != amount and not item.get("isPrimaryMeterRegion", True):
            return          # a secondary meter region's duplicate: the primary one is kept
        leaf[key[-1]] = amount
    return put


def build(fetch: Callable[[str], dict[str, Any]] = fetch_json, *, retrieved: str, version: str) -> dict[str, Any]:
    """The catalog document (``provider``, ``version``, ``sources`` with URL and date, ``services``)."""
    out: dict[str, dict[str, Any]] = {}
    sources = []
    for region in WANTED["regions"]:
        for part, flt in queries(region):
            u = query_url(flt)
            found = list(items(u, fetch))
            pick(part, region, found, out)
            sources.append({"service": part, "region": region, "url": u, "items": len(found), "retrieved": retrieved})
    parts = out.pop("functions_premium_parts", {"regions": {}})
    premium = {"units": {"*": "Hours"}, "regions": {}}
    for region, p in parts["regions"].items():
        if "vcpu" in p and "memory" in p:
            premium["regions"][region] = {
                sku: CONTEXT.add(CONTEXT.multiply(p["vcpu"], Decimal(v)), CONTEXT.multiply(p["memory"], Decimal(m)))
                for sku, (v, m) in WANTED["functions_premium"].items()}
    out["functions_premium"] = premium
    services = {}
    for name in KEYS:
        node = out.get(name, {"units": {}, "regions": {}})
        doc: dict[str, Any] = {"unit": node["units"].pop("*", UNITS.get(name, ""))}
        if name == "functions":
            doc = {"units": dict(sorted(node["units"].items()))}
        doc["key"] = KEYS[name]
        doc["regions"] = _fmt(node["regions"])
        services[name] = doc
    missing = _missing(services)
    for s in sources:
        s["missing"] = sorted(m for m in missing if m.startswith(f"{s['region']}/") and _part(m) == s["service"])
    return {"provider": "azure", "version": version, "currency": "USD",
            "notes": ("Pay-as-you-go USD retail prices (first usage tier), one unit of the FOCUS unit of each meter "
                      "(the Retail Prices API's unitOfMeasure through the FinOps toolkit's PricingUnits table). "
                      "Functions free grants are not applied (estimates are an upper bound). Built by "
                      "scripts/refresh_azure_catalog.py; see sources for the queries."),
            "sources": sources, "services": services}


def _part(missing: str) -> str:
    svc = missing.split("/")[1]
    return {"sql_dtu": "sql", "sql_pool_dtu": "sql", "sql_vcore": "sql", "sql_storage": "sql",
            "functions_premium": "functions"}.get(svc, svc)


def _fmt(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _fmt(v) for k, v in sorted(tree.items())}
    return fmt(tree)


def _missing(services: dict[str, Any]) -> list[str]:
    """``region/service/key...`` of every wanted price the answers lacked."""
    want: dict[str, list[tuple[str, ...]]] = {
        "vm": [(s, o, p) for s in WANTED["vm_sizes"] for o in ("linux", "windows") for p in ("regular", "spot")],
        "disk": [(t,) for ts in WANTED["disk_tiers"].values() for t in ts],
        "aks": [(t.lower(),) for t in WANTED["aks_tiers"]],
        "functions": [(p, m) for p in ("consumption", "flex") for m in ("executions", "gb_seconds")],
        "functions_premium": [(s,) for s in WANTED["functions_premium"]],
        "app_service": [(s, o) for s in WANTED["app_service"] for o in ("linux", "windows")],
        "sql_dtu": [(o,) for o in WANTED["sql_dtu"]],
        "sql_pool_dtu": [(e, str(n)) for e, ns in WANTED["sql_pool_edtu"].items() for n in ns],
        "sql_vcore": [(t, "gen5") for t in WANTED["sql_vcore_tiers"]],
        "sql_storage": [(t,) for t in WANTED["sql_vcore_tiers"]],
        "storage": [(r.lower().replace("-", ""), t.lower()) for r in WANTED["storage"]["redundancy"]
                    for t in WANTED["storage"]["tiers"]]}
    out = []
    for region in WANTED["regions"]:
        for svc, keys in want.items():
            for key in keys:
                node: Any = services[svc]["regions"].get(region, {})
                for k in key:
                    node = node.get(k) if isinstance(node, dict) else None
                if node is None:
                    out.append(f"{region}/{svc}/{'/'.join(key)}")
    return out
