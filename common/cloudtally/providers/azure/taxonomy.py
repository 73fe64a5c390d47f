"""Azure in FOCUS 1.2 terms, from the FinOps toolkit's open data (``data/``, MIT, see PROVENANCE.md).

Data only (the same tables and function names as the importers' taxonomy of branch h12-focus, so the two
merge into one module):

* services: (ConsumedService, ResourceType) → ServiceName, ServiceCategory, ServiceSubcategory
  (``Services.csv``, the table Microsoft's own FOCUS export follows);
* units: UnitOfMeasure → the FOCUS unit and its block size (``PricingUnits.csv``);
* regions: any Azure location spelling → RegionId and RegionName (``Regions.csv``);
* resource types: an ARM resource id's type → its display name (``ResourceTypes.csv``).

>>> service("Microsoft.Storage", "microsoft.storage/storageaccounts")
('Storage Accounts', 'Storage', 'Storage Platforms')
>>> region("WestEurope"), pricing_unit("1 Hour"), pricing_unit("10")
(('westeurope', 'West Europe'), ('Hours', 1), ('10 Units', 10))
>>> arm_type("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/a/databases/b")
'microsoft.sql/servers/databases'
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

PROVIDER = "Microsoft"
DATA = Path(__file__).with_name("data")
SUB_ACCOUNT_TYPE = "Subscription"
DEFAULT_BILLING_ACCOUNT_TYPE = "Billing Account"
# MeterCategory → ServiceCategory for services Services.csv does not name (subcategory: "Other (<category>)")
METER_CATEGORIES = {
    "virtual machines": "Compute", "virtual machines licenses": "Compute", "container instances": "Compute",
    "azure kubernetes service": "Compute", "functions": "Compute", "azure app service": "Web", "cloud services": "Compute",
    "storage": "Storage", "azure netapp files": "Storage", "backup": "Storage",
    "sql database": "Databases", "azure cosmos db": "Databases", "redis cache": "Databases",
    "azure database for postgresql": "Databases", "azure database for mysql": "Databases", "sql managed instance": "Databases",
    "virtual network": "Networking", "bandwidth": "Networking", "load balancer": "Networking",
    "application gateway": "Networking", "vpn gateway": "Networking", "azure dns": "Networking",
    "content delivery network": "Networking", "azure front door service": "Networking", "network watcher": "Networking",
    "azure firewall": "Security", "key vault": "Security", "microsoft defender for cloud": "Security", "sentinel": "Security",
    "advanced threat protection": "Security", "advanced data security": "Security",
    "log analytics": "Management and Governance", "azure monitor": "Management and Governance",
    "insight and analytics": "Management and Governance", "automation": "Management and Governance",
    "event hubs": "Integration", "service bus": "Integration", "logic apps": "Integration", "event grid": "Integration",
    "azure data factory v2": "Analytics", "azure synapse analytics": "Analytics", "azure databricks": "Analytics",
    "hdinsight": "Analytics", "cognitive services": "AI and Machine Learning",
    "azure machine learning": "AI and Machine Learning", "azure openai": "AI and Machine Learning",
    "iot hub": "Internet of Things", "azure devops": "Developer Tools", "visual studio subscription": "Developer Tools",
}
_ARM_TYPE = re.compile(r"/providers/([^/]+)/(.+)$", re.IGNORECASE)


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=1)
def services() -> tuple[dict[tuple[str, str], tuple[str, str, str]], dict[str, tuple[str, str]]]:
    """((consumed service, resource type) → (name, category, subcategory), service name → (category, subcategory))."""
    pairs: dict[tuple[str, str], tuple[str, str, str]] = {}
    names: dict[str, Counter] = {}
    for r in _rows("Services.csv"):
        v = (r["ServiceName"], r["ServiceCategory"], r["ServiceSubcategory"])
        pairs.setdefault((r["ConsumedService"].lower(), r["ResourceType"].lower()), v)
        names.setdefault(v[0].lower(), Counter())[v[1:]] += 1
    return pairs, {n: c.most_common(1)[0][0] for n, c in names.items()}


def service(consumed_service: str | None, resource_type: str | None,
            meter_category: str | None = None) -> tuple[str, str, str] | None:
    """(ServiceName, ServiceCategory, ServiceSubcategory) of a charge, or None when nothing is known."""
    pairs, _ = services()
    cs, rt = (consumed_service or "").lower(), (resource_type or "").lower()
    hit = (pairs.get((cs, rt)) or pairs.get(("", rt))) if rt else None
    if hit is None and cs:
        hit = pairs.get((cs, ""))
    return hit if hit is not None else by_name(meter_category)


def by_name(name: str | None) -> tuple[str, str, str] | None:
    """A service by its name: the table's categories when it names it, else the MeterCategory table's."""
    if not name:
        return None
    known = services()[1].get(name.lower())
    if known is not None:
        return (name,) + known
    cat = METER_CATEGORIES.get(name.lower())
    return (name, cat, f"Other ({cat})") if cat else None


@lru_cache(maxsize=1)
def regions() -> dict[str, tuple[str, str]]:
    return {r["OriginalValue"].lower(): (r["RegionId"], r["RegionName"]) for r in _rows("Regions.csv")}


def region(location: str | None) -> tuple[str, str] | None:
    """(RegionId, RegionName) of an Azure location in any of its spellings (``WestEurope``, ``eu west``)."""
    if not location:
        return None
    t = regions()
    return t.get(location.lower()) or t.get(location.lower().replace(" ", ""))


@lru_cache(maxsize=1)
def units() -> dict[str, tuple[str, int]]:
    out = {}
    for r in _rows("PricingUnits.csv"):
        block = int(r["PricingBlockSize"])
        out[r["UnitOfMeasure"]] = (r["DistinctUnits"] if block == 1 else f"{block} {r['DistinctUnits']}", block)
    return out


def pricing_unit(unit_of_measure: str | None) -> tuple[str, int] | None:
    """(FOCUS unit, block size) of an UnitOfMeasure."""
    if not unit_of_measure:
        return None
    return units().get(unit_of_measure) or units().get(unit_of_measure.strip())


@lru_cache(maxsize=1)
def resource_type_names() -> dict[str, str]:
    return {r["ResourceType"].lower(): r["SingularDisplayName"] for r in _rows("ResourceTypes.csv")}


def arm_type(resource_id: str | None) -> str | None:
    """The ARM type of a resource id: provider namespace and type segments, names left out."""
    m = _ARM_TYPE.search(resource_id or "")
    if not m:
        return None
    segments = m.group(2).split("/")
    return "/".join([m.group(1)] + segments[0::2]).lower()


def resource_type(resource_id: str | None) -> str | None:
    """ResourceType: the display name of the id's ARM type (the type itself when unnamed)."""
    t = arm_type(resource_id)
    if t is None:
        return None
    return resource_type_names().get(t) or t
