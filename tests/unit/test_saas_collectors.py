"""The SaaS collectors (atlas, redis-cloud, github, datadog) against local fakes of the vendors' APIs that
answer with their documented shapes (cloudtally.saas_fakes): paging, 429 + Retry-After honoured, a wrong
credential failing that vendor's scopes only (naming the vendor and the setting), a late-revised bill
replacing the earlier figure, exact Decimal amounts, idempotent re-runs, and no removed endpoint."""

from __future__ import annotations

import copy
import importlib
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cloudtally.collectors import registry, runner
from cloudtally.collectors.secrets import Secrets
from cloudtally.saas_fakes import FakeVendors, demo_state, vendor_config, vendor_env
from cloudtally.money import CONTEXT, ZERO

NOW = datetime(2026, 12, 15, 10, 30, tzinfo=timezone.utc)
VENDORS = ("atlas", "redis-cloud", "github", "datadog")
ORG = "5f0a0a0a0a0a0a0a0a0a0a01"


@pytest.fixture
def fake():
    with FakeVendors(demo_state(NOW)) as f:
        yield f


def _sink() -> runner.ListSink:
    sink = runner.ListSink()
    sink.imports.records = sink.records        # a period replace acts on the same records, as in the store
    return sink


class Run:
    """Runs one collector against the fake, keeping its status (cursors, ledgers) between runs."""

    def __init__(self, fake, vendor, *, config=None, env=None):
        self.fake, self.vendor = fake, vendor
        self.spec = registry.get(vendor)
        self.sink, self.status = _sink(), runner.MemoryStatus()
        self.config = {**vendor_config(fake, fake.state)[vendor], **(config or {})}
        self.env = {**vendor_env(fake.state), **(env or {})}
        self.clients = None

    def __call__(self, now=NOW):
        secrets = Secrets(self.spec.all_secrets, env=self.env)
        cfg = self.spec.parse_config(self.config)
        self.clients = importlib.import_module(self.spec.module).make_clients(cfg, secrets)
        self.clients.http.sleep = lambda s: None           # waits are recorded in http.waits
        return runner.run(self.spec, sink=self.sink, status=self.status, now=now, config=cfg, secrets=secrets,
                          clients=self.clients)

    def records(self, source=None):
        return [r for r in self.sink.records.values() if source is None or r.x_CostSource == source]

    def total(self, source=None, **match):
        t = ZERO
        for r in self.records(source):
            if all(getattr(r, k) == v if not callable(v) else v(getattr(r, k)) for k, v in match.items()):
                t = CONTEXT.add(t, r.BilledCost)
        return t


def _snapshot(run):
    return {i: (r.BilledCost, r.ListCost, r.x_CostSource) for i, r in run.sink.records.items()}


# ---------------------------------------------------------------------------------------------- every vendor
@pytest.mark.parametrize("vendor", VENDORS)
def test_a_run_lands_billed_records_and_a_re_run_is_idempotent(fake, vendor):
    run = Run(fake, vendor)
    first = run()
    assert first["status"] == "ok" and not first["failed_scopes"], first
    assert run.records("billed"), "every vendor here bills: billed records"
    before = _snapshot(run)
    again = run()
    assert again["status"] == "ok" and again["records_sent"] == 0       # an unchanged day sends nothing
    assert _snapshot(run) == before
    assert all(isinstance(r.BilledCost, Decimal) for r in run.records())


@pytest.mark.parametrize("vendor, header", [("atlas", {"Retry-After": "7"}), ("redis-cloud", {"Retry-After": "7"}),
                                            ("github", {"Retry-After": "7"}),
                                            ("datadog", {"X-RateLimit-Reset": "7", "X-RateLimit-Remaining": "0"})])
def test_a_429_waits_what_the_vendor_asked_then_succeeds(fake, vendor, header):
    plain = Run(fake, vendor)
    plain()
    fake.fail(vendor, 429, header, body={"errors": ["Too many requests"], "errorCode": "RATE_LIMITED"}, times=2)
    run = Run(fake, vendor)
    summary = run()
    assert summary["status"] == "ok", summary
    assert run.clients.http.waits == [7.0, 7.0]
    assert _snapshot(run) == _snapshot(plain)


def test_a_vendor_that_keeps_throttling_fails_its_scope_as_throttled_within_the_wait_cap(fake):
    fake.fail("github", 429, {"Retry-After": "900"}, times=10)
    run = Run(fake, "github", config={"max_retries": 2, "max_wait_s": 30})
    summary = run()
    (failed,) = summary["failed_scopes"]
    assert failed["errors"][0]["kind"] == "throttled" and failed["errors"][0]["provider"] == "github"
    assert run.clients.http.waits == [30.0, 30.0]        # capped at max_wait_s, max_retries times


@pytest.mark.parametrize("vendor, env, setting", [
    ("atlas", {"MONGODB_ATLAS_CLIENT_SECRET": "expired"}, "MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET"),
    ("redis-cloud", {"REDIS_CLOUD_SECRET_KEY": "wrong"}, "REDIS_CLOUD_API_KEY / REDIS_CLOUD_SECRET_KEY"),
    ("github", {"GITHUB_TOKEN": "ghp_expired000000"}, "GITHUB_TOKEN"),
    ("datadog", {"DD_APP_KEY": "revoked-app-key"}, "DD_API_KEY / DD_APP_KEY"),
])
def test_a_wrong_credential_fails_that_vendors_scopes_naming_vendor_and_setting_and_the_others_land(
        fake, vendor, env, setting):
    results = {}
    for v in VENDORS:
        run = Run(fake, v, env=env if v == vendor else None)
        results[v] = (run(), run)
    summary, run = results[vendor]
    assert summary["failed_scopes"] and not run.records()
    err = summary["failed_scopes"][0]["errors"][0]
    assert err["kind"] == "auth" and err["provider"] == vendor and setting in err["setting"]
    assert vendor in err["message"] and "expired" not in err["message"] and "wrong" not in err["message"]
    for v, (s, r) in results.items():
        if v != vendor:
            assert s["status"] == "ok" and r.records("billed"), v


@pytest.mark.parametrize("vendor, operation, config, shrink", [
    ("atlas", "ListClusters", {"page_size": 1}, None),
    ("redis-cloud", "GetSubscriptionDatabases", {"page_size": 1}, None),
    ("github", "GetBillingUsageReport", {}, ("github", 3)),
    ("datadog", "GetHourlyUsage", {}, ("datadog", 2)),
])
def test_paging_reads_every_page(fake, vendor, operation, config, shrink):
    whole = Run(fake, vendor)
    s1 = whole()
    if shrink:
        getattr(fake.state, {"github": "github", "datadog": "datadog"}[shrink[0]])["page_size"] = shrink[1]
    paged = Run(fake, vendor, config=config)
    s2 = paged()
    calls = lambda s: s["api_calls"][vendor][operation]
    assert calls(s2) > calls(s1)
    assert _snapshot(paged) == _snapshot(whole)
    assert s2["metrics_sent"] == s1["metrics_sent"]


# ---------------------------------------------------------------------------------------------- late revisions
def test_atlas_a_revised_closed_invoice_replaces_its_period_and_drops_removed_lines(fake):
    run = Run(fake, "atlas")
    run()
    nov = lambda r: r.x_CostSource == "billed" and r.ChargePeriodStart.month == 11
    assert run.total("billed", ChargePeriodStart=lambda t: t.month == 11) == Decimal("619.20")   # 30 × (12.96 + 2 shards × 3.84)
    inv = fake.state.atlas["orgs"][ORG]["invoices"][0]
    inv["lineItems"][0]["discountCents"] = 296           # a credit on the first line: 12.96 → 10.00
    del inv["lineItems"][1]                               # a line withdrawn
    inv["updated"] = "2026-12-14T09:00:00Z"
    inv["amountBilledCents"] -= 296 + 768
    s = run(NOW + timedelta(hours=1))
    assert s["status"] == "ok"
    assert run.total("billed", ChargePeriodStart=lambda t: t.month == 11) == Decimal("608.56")   # − 2.96 credit − 7.68 withdrawn
    assert sum(1 for r in run.records() if nov(r)) == 59
    first = [r for r in run.records("billed") if r.ChargePeriodStart.day == 1 and r.ChargePeriodStart.month == 11
             and r.ResourceName == "orders-0"][0]
    assert (first.BilledCost, first.ListCost) == (Decimal("10.00"), Decimal("12.96"))


def test_redis_a_revised_cost_report_row_replaces_the_earlier_figure(fake):
    run = Run(fake, "redis-cloud")
    run()
    day = "2026-12-13T00:00:00Z"
    key = lambda r: r.ChargePeriodStart.isoformat().startswith("2026-12-13") and r.ResourceId == "1200/51"
    assert run.total("billed", ResourceId="1200/51", ChargePeriodStart=lambda t: t.day == 13) == Decimal("5.952")
    for row in fake.state.redis["cost_report"]:
        if row["ChargePeriodStart"] == day and row["ResourceId"] == "1200/51":
            row["BilledCost"] = row["EffectiveCost"] = Decimal("5.1")
    run(NOW + timedelta(hours=6))                         # the next cost-report pull
    assert run.total("billed", ResourceId="1200/51", ChargePeriodStart=lambda t: t.day == 13) == Decimal("5.1")
    assert sum(1 for r in run.records("billed") if key(r)) == 1


def test_redis_without_the_cost_report_estimates_pricing_times_hours(fake):
    fake.state.redis["cost_report"] = None               # the Beta is not enabled: 403 FEATURE_NOT_ENABLED
    run = Run(fake, "redis-cloud")
    s = run()
    assert s["status"] == "ok" and not run.records("billed")
    closed = [r for r in run.records("estimated") if r.ResourceId == "1200/51" and r.ChargePeriodStart.day == 13]
    assert [r.BilledCost for r in closed] == [Decimal("5.952")]          # 2 shards × 0.124 × 24 h
    assert any("not available" in n for sc in s["scopes"].values() for n in sc.get("notes", []))


def test_github_a_re_read_day_with_a_revised_net_amount_replaces_it(fake):
    run = Run(fake, "github")
    run()
    assert run.total("billed", ResourceId="acme/service-0", ChargePeriodStart=lambda t: t.day == 13) == Decimal("0.72")
    for it in fake.state.github["orgs"]["acme"]:
        if it["date"].startswith("2026-12-13") and it["repositoryName"] == "service-0":
            it["discountAmount"], it["netAmount"] = Decimal("0.72"), Decimal("0")   # included minutes applied late
    run(NOW + timedelta(hours=6))
    recs = [r for r in run.records() if r.ResourceId == "acme/service-0" and r.ChargePeriodStart.day == 13]
    assert [(r.BilledCost, r.ListCost) for r in recs] == [(Decimal("0"), Decimal("0.72"))]


def test_datadog_a_revised_historical_month_replaces_it_exactly(fake):
    run = Run(fake, "datadog")
    run()
    nov = lambda t: t.month == 11
    assert run.total("billed", ChargePeriodStart=nov, SubAccountId="pub0000") == Decimal("682.50")   # 30 × 22.75
    for a in fake.state.datadog["historical"]:
        if a["public_id"] == "pub0000":
            for c in a["charges"]:
                if c["product_name"] == "infra_host":
                    c["cost"] = Decimal("500.01")
    run(NOW + timedelta(hours=24))                        # the next daily historical pull
    assert run.total("billed", ChargePeriodStart=nov, SubAccountId="pub0000") == Decimal("627.51")


# ---------------------------------------------------------------------------------------------- per vendor
def test_atlas_digest_keys_versioned_accept_and_one_record_per_cluster_with_shards_and_replicas(fake):
    run = Run(fake, "atlas", config={"auth": "digest"})
    run.status = None                 # no day ledgers: today's per-cluster estimates are sent as they are
    s = run()
    assert s["status"] == "ok" and "GetAccessToken" not in s["api_calls"]["atlas"]
    accepts = {r["headers"].get("accept") for r in fake.requests if r["vendor"] == "atlas"}
    assert accepts <= {"application/vnd.atlas.2023-01-01+json", "application/vnd.atlas.2024-08-05+json"}
    est = {r.ResourceName: r for r in run.records("estimated")}
    assert set(est) == {"orders-0", "catalog-0"}          # one record per cluster, nodes and shards inside it
    # 10.5 h so far today; catalog-0 is an M10 with 2 shards of 3 nodes: 0.08 × 2 × 10.5
    assert est["catalog-0"].BilledCost == Decimal("1.68") and est["orders-0"].BilledCost == Decimal("5.67")
    assert est["catalog-0"].x_CatalogVersion == "atlas-2026-12-01"
    billed = [r for r in run.records("billed") if r.ResourceName == "orders-0" and r.ChargePeriodStart.day == 14]
    assert billed[0].BilledCost == Decimal("12.96") and billed[0].Tags["team"] == "checkout"
    assert billed[0].ResourceId == est["orders-0"].ResourceId     # attribution from the inventory


def test_atlas_an_organisation_it_cannot_read_fails_alone(fake):
    other = "5f0a0a0a0a0a0a0a0a0a0aff"
    run = Run(fake, "atlas", config={"org_ids": [ORG, other]})
    s = run()
    failed = {f["scope"] for f in s["failed_scopes"]}
    assert failed and all(other in f for f in failed)
    assert {r.BillingAccountId for r in run.records()} == {ORG}


def test_github_never_requests_the_removed_billing_endpoints(fake):
    run = Run(fake, "github")
    run()
    run(NOW + timedelta(days=1))
    paths = fake.paths("github") + run.clients.http.paths
    assert paths and all("/settings/billing/usage" in p for p in paths)
    assert not any(p.startswith("/github/orgs/") or p.startswith("/orgs/") for p in paths)
    from cloudtally.providers.github import collector
    assert all(r not in p for r in collector.REMOVED_PATHS for p in paths)
    reqs = [r for r in fake.requests if r["vendor"] == "github"]
    assert all(r["headers"].get("x-github-api-version") == "2022-11-28" for r in reqs)


def test_github_usage_items_map_to_list_and_billed_cost_with_repository_and_sku(fake):
    run = Run(fake, "github")
    run()
    r = next(r for r in run.records() if r.ResourceId == "acme/service-1" and r.ChargePeriodStart.day == 14)
    assert (r.ServiceName, r.SkuId, r.PricingUnit, r.PricingQuantity, r.ListUnitPrice) == (
        "GitHub Actions", "actions_linux", "Minutes", Decimal("120"), Decimal("0.006"))
    assert r.Tags["github.repository"] == "service-1" and r.Tags["github.sku"] == "actions_linux"
    seat = next(r for r in run.records() if r.ServiceName == "GitHub Copilot" and r.ChargePeriodStart.day == 14)
    assert seat.BilledCost == Decimal("6.3327") and seat.ResourceId is None      # 0.3333 × 19, exact


def test_datadog_days_are_differences_of_the_cumulative_estimate_and_usage_points_land(fake):
    run = Run(fake, "datadog")
    s = run()
    est = [r for r in run.records("estimated") if r.SubAccountId == "pub0000" and r.SkuId == "infra_host"]
    assert {r.ChargePeriodStart.day for r in est} == {11, 12, 13, 14}
    assert {r.BilledCost for r in est} == {Decimal("18.50")}
    assert s["metrics_sent"] == len(run.sink.metrics) > 0
    assert {p.name for p in run.sink.metrics} == {"datadog.usage"}
    billed = [r for r in run.records("billed") if r.SubAccountId == "pub0001" and r.SkuId == "logs_indexed_15day"]
    assert len(billed) == 30 and sum((r.BilledCost for r in billed), ZERO) == Decimal("127.50")
