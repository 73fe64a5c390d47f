"""``example-chargeback``: an internal chargeback API's billed usage as FOCUS records (a plug-in example).

Everything a collector needs, in one module: a typed config, the spec, ``make_clients`` and ``collect``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator

from cloudtally.collectors.config import CollectorConfig
from cloudtally.collectors.registry import CollectorSpec, Permissions, Schedule, SecretRef
from cloudtally.errors import ProviderAuthError, ProviderError, ProviderThrottled, ProviderTransient
from cloudtally.focus import CostRecord, parse_record

TOKEN = SecretRef("example-chargeback-token", "bearer token of the chargeback API", env=("EXAMPLE_CHARGEBACK_TOKEN",))


@dataclass(frozen=True)
class ChargebackConfig(CollectorConfig):
    base_url: str = field(default="http://localhost:9000", metadata={"help": "the chargeback API's base URL"})
    account: str = "it-chargeback"
    max_retries: int = 3

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if not self.base_url.startswith(("http://", "https://")):
            out.append(("base_url", "an http(s) URL"))
        return out


SPEC = CollectorSpec(
    name="example-chargeback",
    provider="example",
    module="cloudtally_example_collector",
    schedule=Schedule.every(hours=1),
    runtime="lambda",
    config=ChargebackConfig,
    sdk_extra="lambda",            # no SDK of its own: the Lambda runtime's needs only
    description="An internal chargeback API's daily billed usage (an example plug-in).",
    permissions=Permissions(),
    secrets=(TOKEN,),
    fixtures="fixtures",
    runtime_modules=("cloudtally.collectors.delivery",),
)


class Clients:
    def __init__(self, token: str):
        self.token = token
        self._ctx: Any = None
        self.sleep = time.sleep

    def bind(self, ctx: Any) -> None:
        self._ctx = ctx

    def get(self, url: str, retries: int) -> dict[str, Any]:
        for attempt in range(retries + 1):
            if self._ctx is not None:
                self._ctx.count_call("chargeback", "GetCharges")
            req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}",
                                                       "Accept": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    raise ProviderAuthError("the chargeback API refused the token", provider="example-chargeback",
                                            provider_code="401", setting=TOKEN.env[0]) from None
                if e.code == 429 and attempt < retries:
                    self.sleep(min(float(e.headers.get("Retry-After") or 1), 30))
                    continue
                cls = ProviderThrottled if e.code == 429 else ProviderTransient if e.code >= 500 else ProviderError
                raise cls(f"chargeback API answered HTTP {e.code}", provider="example-chargeback",
                          provider_code=str(e.code)) from None
            except urllib.error.URLError as e:
                raise ProviderTransient(f"chargeback API unreachable: {e.reason}", provider="example-chargeback") from None
        raise AssertionError("unreachable")


def make_clients(config: ChargebackConfig, secrets: Any) -> Clients:
    return Clients(secrets.get(TOKEN.name))


def collect(ctx: Any) -> Iterator[CostRecord]:
    cfg: ChargebackConfig = ctx.config
    scope = f"chargeback/{cfg.account}"
    with ctx.scope(scope):
        w = ctx.window_for(scope)
        q = urllib.parse.urlencode({"from": w.start.date().isoformat(), "to": (w.end.date() + timedelta(days=1)).isoformat()})
        url = f"{cfg.base_url.rstrip('/')}/v1/charges?{q}"
        while url:
            page = ctx.clients.get(url, cfg.max_retries)
            for c in page["charges"]:
                day = date.fromisoformat(c["date"])
                start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
                yield parse_record({
                    "ProviderName": "Example Corp IT", "BillingAccountId": cfg.account, "ServiceName": c["service"],
                    "ServiceCategory": "Other", "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based",
                    "ChargePeriodStart": start.isoformat(), "ChargePeriodEnd": (start + timedelta(days=1)).isoformat(),
                    "BilledCost": c["amount"], "BillingCurrency": c["currency"], "Tags": {"team": c["team"]},
                    "x_CostSource": "billed", "x_Collector": SPEC.name, "x_LineKey": c["team"]})
            nxt = page.get("next_page")
            url = urllib.parse.urljoin(url, nxt) if nxt else ""
