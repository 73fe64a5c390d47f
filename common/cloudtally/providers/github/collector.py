"""The ``github`` collector: the enhanced billing platform's usage report, billed.

``GET /organizations/{org}/settings/billing/usage?year=&month=`` (or ``/enterprises/{enterprise}/...``)
with ``X-GitHub-Api-Version: 2022-11-28`` returns ``usageItems``: ``date, product, sku, quantity, unitType,
pricePerUnit, grossAmount, discountAmount, netAmount, organizationName, repositoryName``. Each item is one
billed record of its day: ListCost = grossAmount, BilledCost = EffectiveCost = netAmount (after included
minutes/storage and discounts), ListUnitPrice = pricePerUnit, PricingQuantity = quantity; the repository
is the ResourceId and, with the SKU and product, tags (``github.repository``, ``github.sku``,
``github.product``). One request per month of the trailing window (late usage is re-read; a re-read day
replaces itself). Actions minutes by runner SKU, Packages, shared storage, Copilot seats and any other
product the report carries are all covered.

The previous billing platform's ``/orgs/{org}/settings/billing/actions|packages|shared-storage`` endpoints
were removed (they answer 410); this collector never calls them. Rate limits: the REST API's primary limit
(``x-ratelimit-remaining``/``x-ratelimit-reset``) and secondary limits (403/429 + ``Retry-After``) are
honoured. Sources: https://docs.github.com/en/rest/billing/usage,
https://docs.github.com/en/billing/reference/previous-billing-platform-endpoints,
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator

from ... import periods
from ...collectors.registry import CollectorSpec, Permissions, Schedule, SecretRef, register
from ...errors import ConfigError
from ...focus import CostRecord, parse_time
from ..http import VendorClients, link_next
from ..saas import SaasConfig, record

TOKEN = SecretRef("github-token", "GitHub token with the organisation's \"Administration: read\" (fine-grained) "
                  "or admin:org / manage_billing:enterprise (classic)", env=("GITHUB_TOKEN",))
API_VERSION = "2022-11-28"
REMOVED_PATHS = ("/settings/billing/actions", "/settings/billing/packages", "/settings/billing/shared-storage")


@dataclass(frozen=True)
class GitHubConfig(SaasConfig):
    base_url: str = "https://api.github.com"
    organizations: list[str] = field(default_factory=list, metadata={"help": "organisation logins"})
    enterprise: str | None = field(default=None, metadata={"help": "an enterprise slug (its usage covers its orgs)"})
    api_version: str = API_VERSION

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if self.enterprise and self.organizations:
            out.append(("enterprise", "set either enterprise or organizations, not both (the enterprise report "
                                      "already covers its organisations)"))
        return out


SPEC = register(CollectorSpec(
    name="github",
    provider="github",
    module="cloudtally.providers.github.collector",
    schedule=Schedule.every(hours=6, offset_minutes=25),
    runtime="lambda",
    config=GitHubConfig,
    sdk_extra="lambda",
    description="GitHub enhanced billing usage (Actions minutes by runner SKU, Packages, storage, Copilot): "
                "gross, discount and net per day, repository and SKU, billed.",
    permissions=Permissions(),
    secrets=(TOKEN,),
    fixtures="github",
    errors="cloudtally.providers.http:to_provider_error",
    memory_mb=256,
    timeout_s=300,
))

COLLECTOR = SPEC.name
# product -> (ServiceName, FOCUS 1.2 ServiceCategory, ServiceSubcategory)
PRODUCTS = {"actions": ("GitHub Actions", "Developer Tools", "Continuous Integration and Deployment"),
            "packages": ("GitHub Packages", "Storage", "Other (Storage)"),
            "git_lfs": ("Git LFS", "Storage", "Object Storage"),
            "copilot": ("GitHub Copilot", "AI and Machine Learning", "Generative AI"),
            "shared_storage": ("GitHub Shared Storage", "Storage", "Object Storage"),
            "codespaces": ("GitHub Codespaces", "Developer Tools", "Development Environments"),
            "advanced_security": ("GitHub Advanced Security", "Security", "Security Posture Management")}
UNITS = {"minutes": "Minutes", "gigabytehours": "GB-Hours", "gigabytes": "GB", "usermonths": "User-Months",
         "requests": "Requests", "hours": "Hours"}


class GitHubClients(VendorClients):
    """The GitHub API's client."""


def make_clients(config: GitHubConfig, secrets: Any) -> GitHubClients:
    from ..http import HttpClient
    token = secrets.get(TOKEN.name)
    return GitHubClients(HttpClient(
        vendor="github", base_url=config.base_url, auth_setting=f"the token ({TOKEN.env[0]} or secret {TOKEN.name})",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                 "X-GitHub-Api-Version": config.api_version}, **config.client_kw()))


def _num(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v if v is not None else 0))


def item_record(account: str, item: dict[str, Any]) -> CostRecord:
    day = parse_time(item["date"]).date()
    product = str(item.get("product") or "unknown")
    service, category, subcategory = PRODUCTS.get(product.lower().replace(" ", "_"),
                                                  (f"GitHub {product.title()}", "Developer Tools", "Other (Developer Tools)"))
    sku = str(item.get("sku") or product)
    org = item.get("organizationName") or account
    repo = item.get("repositoryName") or None
    unit = str(item.get("unitType") or "")
    tags = {"github.product": product, "github.sku": sku, "github.organization": str(org)}
    if repo:
        tags["github.repository"] = str(repo)
    return record(provider=_provider(), collector=COLLECTOR, account=account, day=day, service=service,
                  category=category, ServiceSubcategory=subcategory, billed=_num(item.get("netAmount")), list_cost=_num(item.get("grossAmount")),
                  source="billed", SubAccountId=str(org), SubAccountName=str(org),
                  ResourceId=f"{org}/{repo}" if repo else None, ResourceName=repo, ResourceType="repository" if repo else None,
                  SkuId=sku, PricingUnit=UNITS.get(unit.lower().replace(" ", ""), unit or None),
                  PricingQuantity=_num(item.get("quantity")), ConsumedQuantity=_num(item.get("quantity")),
                  ConsumedUnit=UNITS.get(unit.lower().replace(" ", ""), unit or None),
                  ListUnitPrice=_num(item.get("pricePerUnit")), PricingCategory="Standard",
                  ChargeDescription=f"{product} {sku}: gross {item.get('grossAmount')}, discount "
                                    f"{item.get('discountAmount')}, net {item.get('netAmount')}", Tags=tags)


def _provider() -> str:
    from . import PROVIDER
    return PROVIDER


def _items(body: Any) -> list[Any]:
    return list((body or {}).get("usageItems") or [])


def usage(ctx: Any, kind: str, name: str) -> Iterator[CostRecord]:
    """Billed usage of one organisation or enterprise over the scope's window, one request per month."""
    scope = f"github/{name}"
    window = ctx.window_for(scope)
    http = ctx.clients.http
    base = f"/{'enterprises' if kind == 'enterprise' else 'organizations'}/{name}/settings/billing/usage"
    first, last = window.start.date(), window.end.date()
    with ctx.scope(scope):
        for month in periods.months(periods.month_start(first), last + periods.ONE_DAY):
            for item in http.pages(base, operation="GetBillingUsageReport", next_of=link_next, items_of=_items,
                                   params={"year": month.year, "month": month.month}):
                if not item.get("date"):
                    continue
                d = parse_time(item["date"]).date()
                if first <= d <= last:
                    yield item_record(name, item)


def collect(ctx: Any) -> Iterator[CostRecord]:
    cfg: GitHubConfig = ctx.config
    if cfg.enterprise:
        yield from usage(ctx, "enterprise", cfg.enterprise)
        return
    if not cfg.organizations:
        raise ConfigError("github: set organizations (organisation logins) or enterprise",
                          details=[{"field": "organizations", "message": "at least one organisation"}])
    for org in cfg.organizations:
        yield from usage(ctx, "organization", org)
