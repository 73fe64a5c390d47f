"""The ``azure`` collector against the local emulator serving the recorded tenant (tests/fixtures/azure/estate.json):
each resource type priced from the catalog to the cent, AKS nodes counted once, paging, 429 with the Cost
Management retry-after headers, AuthorizationFailed on one subscription, billed cost from ActualCost/AmortizedCost,
interval gates, and a re-run that changes nothing."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from cloudtally import catalog
from cloudtally.collectors import registry, runner
from cloudtally.errors import ConfigError, ProviderAuthError, ProviderThrottled
from cloudtally.money import CONTEXT
from cloudtally.providers.azure import emulator as E
from cloudtally.providers.azure.collector import AzureClients
from cloudtally.providers.azure.session import AzureHttp, StaticCredential
from tests.helpers import load_module

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "azure"
NOW = datetime(2026, 12, 15, 9, 30, tzinfo=timezone.utc)     # the recording's clock
A = E.DEMO_SUBSCRIPTION
B = "8c1e6f3a-94d2-4b57-a0c8-7e2f5d9b1a46"
replay = load_module(FIX / "replay.py", "azure_replay_under_test").replay
CAT = catalog.load("azure")


def run(estate=None, *, now=NOW, config=None, status=None, page_size=5, sink=None, **emu):
    estate = estate or E.Estate.load(FIX / "estate.json")
    waits: list[float] = []
    with E.Emulator(estate, page_size=page_size, **emu) as em:
        http = AzureHttp(StaticCredential("t"), sleep=waits.append)
        sink = sink or runner.ListSink()
        s = runner.run(registry.get("azure"), sink=sink, now=now, config=config or {},
                       clients=AzureClients(http=http, arm=em.url, metrics=em.metrics_url),
                       status=status or runner.MemoryStatus(ledgers=False))
        return s, sink, em, http, waits


@pytest.fixture(scope="module")
def recorded():
    s, sink, em, http, waits = run()
    assert s["status"] == "ok", s["failed_scopes"]
    return {"summary": s, "records": list(sink.records.values()), "metrics": sink.metrics, "emulator": em, "http": http}


def by_resource(records, name, source="estimated"):
    return [r for r in records if r.ResourceName == name and r.x_CostSource == source]


def day_hours(day):
    """Hours of ``day`` inside the run's window (today is partial: 9.5 h at 09:30)."""
    return Decimal("9.5") if day == NOW.date() else Decimal(24)


# ---------------------------------------------------------------- each resource type, priced to the cent

def test_vms_by_size_os_priority_and_power_state(recorded):
    recs = recorded["records"]
    lin = by_resource(recs, "vm-web-00")                 # D2s_v5 Linux regular, northeurope
    price = CAT.price("vm", "northeurope", "Standard_D2s_v5", "linux", "regular")
    assert len(lin) == 6 and {r.ChargePeriodStart.date() for r in lin} == {NOW.date() - timedelta(days=d) for d in range(6)}
    for r in lin:
        assert r.PricingQuantity == day_hours(r.ChargePeriodStart.date())
        assert r.BilledCost == CONTEXT.multiply(price.amount, r.PricingQuantity)       # exactly price × hours
        assert (r.PricingUnit, r.ListUnitPrice, r.x_CatalogVersion) == ("Hours", price.amount, "azure-2026-12-01")
        assert (r.ServiceName, r.ServiceCategory, r.ServiceSubcategory) == ("Virtual Machines", "Compute", "Virtual Machines")
        assert (r.RegionId, r.RegionName, r.SubAccountId, r.BillingAccountId) == ("northeurope", "North Europe", A, A)
        assert r.Tags["team"] == "web" and r.ResourceId == r.ResourceId.lower()
    # a full day of a D2s_v5 Linux in northeurope, to the cent
    full = next(r for r in lin if r.ChargePeriodStart.date() == NOW.date() - timedelta(days=1))
    assert full.BilledCost.quantize(Decimal("0.01")) == (Decimal("0.103680") * 24).quantize(Decimal("0.01")) == Decimal("2.49")
    win = by_resource(recs, "vm-platform-03")[0]
    assert win.SkuPriceId == "vm/westeurope/Standard_E4s_v5/windows/regular"
    spot = by_resource(recs, "vm-platform-11")[0]
    assert spot.PricingCategory == "Dynamic" and spot.SkuPriceId.endswith("/linux/spot")
    assert by_resource(recs, "vm-batch-stopped"), "a stopped (not deallocated) VM still bills compute"
    assert not by_resource(recs, "vm-platform-19"), "a deallocated VM costs no compute"


def test_aks_nodes_are_counted_once_as_scale_set_hours(recorded):
    recs = recorded["records"]
    sets = [r for r in recs if r.ResourceType and "virtualmachinescalesets" in (r.ResourceId or "")
            and r.x_CostSource == "estimated"]
    user = [r for r in sets if r.ResourceName == "aks-user-12345678-vmss"]
    price = CAT.price("vm", "westeurope", "Standard_D4s_v5", "linux", "regular")
    for r in user:       # 3 nodes x hours, once: nothing else prices the agent pool
        assert r.PricingQuantity == 3 * day_hours(r.ChargePeriodStart.date())
        assert r.BilledCost == CONTEXT.multiply(price.amount, r.PricingQuantity)
        assert r.Tags["aks-cluster"] == "aks-prod" and "node pool user, User, autoscale 1-5" in r.ChargeDescription
    yesterday = NOW.date() - timedelta(days=1)
    node_hours = sum(r.PricingQuantity for r in sets if r.ChargePeriodStart.date() == yesterday and "aks-" in r.ResourceName)
    pool_nodes = sum(p.value for p in recorded["metrics"] if p.name == "azure.aks.node_pool.nodes")
    assert node_hours == 24 * pool_nodes == 24 * 6          # system 2 + user 3 + dev 1, each once
    assert not [r for r in recs if r.ResourceName == "vmss-web-flex"], "a flexible scale set's VMs are the VMs"
    assert by_resource(recs, "vmss-web-flex_1a2b3c4d")
    # the control plane: Standard tier priced per cluster-hour, Free tier not at all
    cp = by_resource(recs, "aks-prod")
    assert cp and all(r.BilledCost == CONTEXT.multiply(Decimal("0.10"), r.PricingQuantity) for r in cp)
    assert not by_resource(recs, "aks-dev")


def test_managed_disks_by_tier(recorded):
    recs = recorded["records"]
    premium = by_resource(recs, "vm-data-01-osdisk")          # Premium_LRS 128 GB = P10
    std = by_resource(recs, "vm-web-00-osdisk")                # StandardSSD_LRS 128 GB = E10
    hdd = by_resource(recs, "scratch-hdd-01")                  # Standard_LRS 20 GB = S4
    assert {r.ResourceType for r in premium} == {"P10"} and {r.ResourceType for r in std} == {"E10"}
    assert {r.ResourceType for r in hdd} == {"S4"}
    d = next(r for r in premium if r.ChargePeriodStart.date() == NOW.date() - timedelta(days=1))
    p10 = CAT.price("disk", "westeurope", "P10")
    assert d.PricingUnit == "Units/Month" and d.PricingQuantity == (Decimal(24) / Decimal(744)).quantize(Decimal("0.000001"))
    assert d.BilledCost == CONTEXT.multiply(p10.amount, d.PricingQuantity)
    notes = recorded["summary"]["scopes"][f"{A}/compute"]["notes"]
    assert any("data-zrs-01 (Premium_ZRS" in n for n in notes)          # unpriced, said so, never guessed


def test_function_apps_by_plan(recorded):
    recs = recorded["records"]
    day = NOW.date() - timedelta(days=1)
    cons = {r.x_LineKey: r for r in by_resource(recs, "fn-thumbnails") if r.ChargePeriodStart.date() == day}
    # Consumption: 420 000 executions and 52e9 MB-ms a day (metrics, daily grain) × the catalog
    assert cons["executions"].PricingQuantity == 420000
    assert cons["executions"].BilledCost == CONTEXT.multiply(Decimal("0.0000002"), Decimal(420000)) == Decimal("0.084")
    gbs = (Decimal(52_000_000_000) / Decimal(1_024_000)).quantize(Decimal("0.000001"))
    assert cons["execution-time"].PricingQuantity == gbs and cons["execution-time"].PricingUnit == "GB Seconds"
    assert cons["execution-time"].BilledCost == CONTEXT.multiply(Decimal("0.000016"), gbs)
    assert (cons["executions"].ServiceName, cons["executions"].ServiceSubcategory) == ("Functions", "Serverless Compute")
    flex = {r.x_LineKey: r for r in by_resource(recs, "fn-ingest") if r.ChargePeriodStart.date() == day}
    assert flex["executions"].SkuPriceId == "functions/westeurope/flex/executions"
    assert flex["execution-time"].BilledCost == CONTEXT.multiply(
        Decimal("0.000026"), (Decimal(30_000_000_000) / Decimal(1_024_000)).quantize(Decimal("0.000001")))
    assert not [r for r in by_resource(recs, "fn-thumbnails") if r.ChargePeriodStart.date() == NOW.date()], \
        "usage metrics are read for closed days only"
    premium = [r for r in by_resource(recs, "plan-premium") if r.ChargePeriodStart.date() == day]
    assert premium[0].BilledCost == CONTEXT.multiply(CAT.price("functions_premium", "westeurope", "EP1").amount, Decimal(24))
    dedicated = [r for r in by_resource(recs, "plan-dedicated") if r.ChargePeriodStart.date() == day]
    assert dedicated[0].PricingQuantity == 48        # S1 Windows x 2 instances
    assert dedicated[0].SkuPriceId == "app_service/westeurope/S1/windows" and "fn-reports" in dedicated[0].ChargeDescription


def test_sql_dtu_vcore_and_elastic_pools(recorded):
    recs = recorded["records"]
    day = NOW.date() - timedelta(days=1)
    crm = [r for r in by_resource(recs, "crm") if r.ChargePeriodStart.date() == day]
    assert crm[0].PricingUnit == "Units/Day" and crm[0].PricingQuantity == 1
    assert crm[0].BilledCost == CAT.price("sql_dtu", "westeurope", "S2").amount
    orders = {r.x_LineKey: r for r in by_resource(recs, "orders") if r.ChargePeriodStart.date() == day}
    assert orders["compute"].PricingQuantity == 48        # 2 vCores x 24 h
    assert orders["compute"].BilledCost == CONTEXT.multiply(CAT.price("sql_vcore", "westeurope", "generalpurpose", "gen5").amount, Decimal(48))
    assert orders["storage"].PricingUnit == "GB/Month"
    assert orders["storage"].PricingQuantity == (Decimal(64) * 24 / 744).quantize(Decimal("0.000001"))
    assert not by_resource(recs, "tenant-a") and not by_resource(recs, "master"), "pooled and system databases"
    pool = [r for r in by_resource(recs, "pool-tenants") if r.ChargePeriodStart.date() == day]
    assert pool[0].BilledCost == CAT.price("sql_pool_dtu", "westeurope", "standard", "50").amount
    assert any("adhoc is serverless" in n for n in recorded["summary"]["scopes"][f"{A}/sql"]["notes"])


def test_storage_capacity_by_access_tier(recorded):
    recs = recorded["records"]
    day = NOW.date() - timedelta(days=1)
    lake = {r.x_LineKey: r for r in by_resource(recs, "stdatalake01") if r.ChargePeriodStart.date() == day}
    assert set(lake) == {"hot", "cool"}
    assert lake["hot"].PricingQuantity == (Decimal(2048) * 24 / 744).quantize(Decimal("0.000001"))
    assert lake["hot"].BilledCost == CONTEXT.multiply(CAT.price("storage", "westeurope", "lrs", "hot").amount,
                                                      lake["hot"].PricingQuantity)
    archive = {r.x_LineKey for r in by_resource(recs, "starchive01")}
    assert archive == {"cool", "archive"} and by_resource(recs, "starchive01")[0].SkuPriceId.startswith("storage/westeurope/grs/")
    assert not by_resource(recs, "stpremium01")
    assert any("stpremium01" in n for n in recorded["summary"]["scopes"][f"{A}/storage"]["notes"])


def test_utilisation_metrics_come_in_batches(recorded):
    pts = recorded["metrics"]
    names = {p.name for p in pts}
    assert {"azure.vm.cpu_utilization", "azure.vm.available_memory_bytes", "azure.vm.disk_read_bytes",
            "azure.vm.network_out_bytes", "azure.vmss.cpu_utilization", "azure.sql.dtu_utilization"} <= names
    cpu = [p for p in pts if p.name == "azure.vm.cpu_utilization" and p.dimensions["resource"].endswith("vm-data-01")]
    assert len(cpu) == 24 and cpu[0].unit == "Percent"        # the closed day, hourly
    calls = recorded["summary"]["api_calls"]["monitor"]["GetBatch"]
    assert calls <= 12      # VMs (2 regions x 2 subs), scale sets, SQL, functions, storage — never one per resource


# ---------------------------------------------------------------- billed cost

def test_billed_cost_actual_and_amortized(recorded):
    billed = [r for r in recorded["records"] if r.x_CostSource == "billed"]
    vm = [r for r in billed if r.ResourceName == "vm-data-01"]
    assert vm and all(r.EffectiveCost < r.BilledCost for r in vm)     # VMs amortised 8 % lower in the recording
    rows = [r for r in json.loads((FIX / "estate.json").read_text(), parse_float=Decimal)["costs"][A]
            if r["resourceId"].endswith("vm-data-01")]
    by_day = {r["date"]: r for r in rows}
    for r in vm:
        rec = by_day[r.ChargePeriodStart.date().isoformat()]
        assert (r.BilledCost, r.EffectiveCost) == (Decimal(str(rec["actual"])), Decimal(str(rec["amortized"])))
    assert {r.BillingAccountId for r in billed} == {A, B} and all(r.x_Collector == "azure" for r in billed)
    bw = [r for r in billed if r.ServiceName == "Bandwidth"]
    assert bw and bw[0].ResourceId is None and bw[0].ServiceCategory == "Networking"


def test_billed_rows_only_in_one_query_keep_the_other_side_zero():
    est = E.Estate.load(FIX / "estate.json")
    day = (NOW - timedelta(days=4)).date().isoformat()
    est.costs[A.lower()] = [
        {"date": day, "resourceId": "", "serviceName": "Virtual Machines", "currency": "USD", "actual": Decimal("730")},
        {"date": day, "resourceId": "/subscriptions/x/resourcegroups/r/providers/microsoft.compute/virtualmachines/v",
         "serviceName": "Virtual Machines", "currency": "USD", "amortized": Decimal("2.0")}]
    s, sink, *_ = run(est, config={"subscriptions": [A]})
    billed = {r.ResourceId: r for r in sink.records.values() if r.x_CostSource == "billed"}
    assert (billed[None].BilledCost, billed[None].EffectiveCost) == (Decimal(730), 0)          # a purchase
    v = billed["/subscriptions/x/resourcegroups/r/providers/microsoft.compute/virtualmachines/v"]
    assert (v.BilledCost, v.EffectiveCost) == (0, Decimal("2.0"))                             # covered usage


def test_cost_queries_follow_next_link_and_stay_within_31_days(recorded):
    em = recorded["emulator"]
    pages = [u for m, u in em.log if "costmanagement/query" in u.lower()]
    assert any("skiptoken" in u for u in pages)          # page 2+ of a query came from nextLink
    n = len([r for r in recorded["records"] if r.x_CostSource == "billed" and r.SubAccountId == A])
    assert n > 5 * 10          # far more rows than one page of 5
    est = E.Estate.load(FIX / "estate.json")
    s, *_ = run(est, config={"subscriptions": [B], "max_backfill_days": 40, "initial_days": 40})
    assert s["status"] == "ok"       # a 41-day window is queried in pieces the API accepts (<= 31 days)


# ---------------------------------------------------------------- throttling, errors, paging

def test_a_429_waits_the_longest_costmanagement_retry_after_and_lands():
    s, sink, em, http, waits = run(throttle={"costmanagement": 1}, config={"subscriptions": [B]})
    assert s["status"] == "ok" and waits == [3.0]    # qpu said 2, entity 3: the longest wins
    # 6 rows in pages of 5: 2 pages of ActualCost + 2 of AmortizedCost + the throttled try, counted at the transport
    assert em.requests["costmanagement"] == s["api_calls"]["costmanagement"]["Query"] == 2 * 2 + 1
    assert [r for r in sink.records.values() if r.x_CostSource == "billed"]


def test_a_retry_after_beyond_the_limit_fails_only_that_scope():
    est = E.Estate.load(FIX / "estate.json")
    with E.Emulator(est, throttle={"costmanagement": 10}) as em:
        http = AzureHttp(StaticCredential("t"), sleep=lambda s: None, max_attempts=2)
        s = runner.run(registry.get("azure"), sink=runner.ListSink(), now=NOW, config={"subscriptions": [B]},
                       clients=AzureClients(http=http, arm=em.url, metrics=em.metrics_url),
                       status=runner.MemoryStatus(ledgers=False))
    failed = {f["scope"]: f["errors"][0] for f in s["failed_scopes"]}
    assert list(failed) == [f"costmanagement/{B}"]
    assert failed[f"costmanagement/{B}"]["kind"] == "throttled"
    assert s["scopes"][f"{B}/compute"]["status"] == "ok"


def test_authorization_failed_on_one_subscription_the_others_land():
    s, sink, *_ = run(forbidden={B})
    failed = {f["scope"]: f["errors"][0] for f in s["failed_scopes"]}
    assert set(failed) == {f"{B}/compute", f"{B}/functions", f"{B}/sql", f"{B}/storage", f"costmanagement/{B}"}
    err = failed[f"{B}/compute"]
    assert err["code"] == "AuthorizationFailed" and err["kind"] == "auth" and "Reader role" in err["setting"]
    assert "Cost Management Reader" in failed[f"costmanagement/{B}"]["setting"]
    assert s["status"] == "partial" and {r.SubAccountId for r in sink.records.values()} == {A}


def test_paging_reads_every_item_whatever_the_page_size(recorded):
    s1, sink1, *_ = run(page_size=1000)
    assert sink1.records.keys() == {r.id for r in recorded["records"]}
    lists = recorded["summary"]["api_calls"]["arm"]
    assert lists["ListVirtualMachines"] == 6          # 23 + 2 VMs in pages of 5
    assert s1["api_calls"]["arm"]["ListVirtualMachines"] == 2


def test_every_readable_subscription_by_default_or_the_configured_ones(recorded):
    subs = {k.split("/")[0] for k in recorded["summary"]["scopes"] if "/" in k and not k.startswith("costmanagement")}
    assert subs == {A, B}                        # the disabled subscription is left out
    s, *_ = run(config={"subscriptions": [B]})
    assert "subscriptions" not in s["scopes"] and "ListSubscriptions" not in s["api_calls"]["arm"]


def test_a_resource_group_filter_keeps_the_node_resource_group_of_its_clusters():
    s, sink, *_ = run(config={"subscriptions": [A], "resource_groups": ["rg-aks"]})
    names = {r.ResourceName for r in sink.records.values() if r.x_CostSource == "estimated"}
    assert names == {"aks-prod", "aks-system-12345678-vmss", "aks-user-12345678-vmss"}


# ---------------------------------------------------------------- re-runs and gates

def test_a_rerun_sends_the_same_records_and_the_gates_hold():
    status = runner.MemoryStatus(ledgers=False)
    s1, sink1, *_ = run(status=status)
    totals1 = _totals(sink1)
    s2, sink2, *_ = run(status=status, sink=sink1)
    assert _totals(sink2) == totals1 and len(sink2.records) == len(sink1.records)   # same ids: nothing added
    assert "costmanagement" not in s2["api_calls"] and "monitor" not in s2["api_calls"]  # interval gated
    later = NOW + timedelta(hours=9)
    s3, *_ = run(status=status, now=later)
    assert s3["api_calls"]["costmanagement"]["Query"] > 0       # 8 h later: billed pulled again


def _totals(sink):
    t = defaultdict(Decimal)
    for r in sink.records.values():
        t[r.x_CostSource] += r.BilledCost
    return dict(t)


def test_contract_replay_exercises_every_declared_role():
    s = replay()
    assert s["status"] == "ok" and set(s["api_calls"]) == {"arm", "monitor", "costmanagement"}


# ---------------------------------------------------------------- config, errors, transport

def test_config_is_validated_naming_the_field():
    spec = registry.get("azure")
    with pytest.raises(ConfigError) as e:
        spec.parse_config({"cost_interval_hours": 1, "subscriptions": ["nope"], "metrics_endpoint": "https://x"})
    assert {d["field"] for d in e.value.details} == {"cost_interval_hours", "subscriptions", "metrics_endpoint"}


def test_http_errors_map_to_provider_errors():
    from cloudtally.providers.azure.errors import from_http, to_provider_error
    e = from_http(403, b'{"error": {"code": "AuthorizationFailed", "message": "no"}}', {}, "arm ListDisks")
    assert isinstance(e, ProviderAuthError) and e.provider_code == "AuthorizationFailed" and "Reader" in e.setting
    t = from_http(429, b"", {}, "costmanagement Query", retry_after=30)
    assert isinstance(t, ProviderThrottled) and t.retry_after == 30
    blob = from_http(404, b"<?xml version='1.0'?><Error><Code>ContainerNotFound</Code><Message>gone</Message></Error>",
                     {}, "blob ListBlobs")
    assert blob.provider_code == "ContainerNotFound" and blob.kind == "not_found"
    from azure.identity import CredentialUnavailableError
    mapped = to_provider_error(CredentialUnavailableError("no managed identity endpoint"))
    assert isinstance(mapped, ProviderAuthError) and "AZURE_CLIENT_ID" in mapped.setting
    assert to_provider_error(KeyError("x")) is None          # a bug stays a bug


def test_a_bearer_token_is_asked_once_per_audience():
    calls = Counter()

    class Cred:
        def get_token(self, scope):
            calls[scope] += 1
            return StaticCredential("t").get_token(scope)
    est = E.Estate.load(FIX / "estate.json")
    with E.Emulator(est) as em:
        http = AzureHttp(Cred(), sleep=lambda s: None)
        runner.run(registry.get("azure"), sink=runner.ListSink(), now=NOW, config={"subscriptions": [B]},
                   clients=AzureClients(http=http, arm=em.url, metrics=em.metrics_url),
                   status=runner.MemoryStatus(ledgers=False))
    assert calls == {"https://management.azure.com/.default": 1, "https://metrics.monitor.azure.com/.default": 1}


def test_importing_the_collector_pulls_no_sdk():
    import subprocess
    import sys
    # Modules present at interpreter start (functions-framework's nspkg .pth pre-imports the empty `google`
    # namespace) are the baseline; only what the imports add counts.
    code = ("import sys; before = set(sys.modules); import cloudtally.providers.azure.collector, "
            "cloudtally.providers.azure.inventory, cloudtally.providers.azure.billed, cloudtally.collectors.function; "
            "print(sorted({m.split('.')[0] for m in set(sys.modules) - before} & {'boto3', 'botocore', 'azure', "
            "'google', 'databricks', 'snowflake'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_blob_reads_with_the_managed_identity_send_a_storage_token_and_follow_markers():
    import http.server
    import threading

    from cloudtally.providers.azure.blob import BlobContainer
    seen = []

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("Authorization"), self.headers.get("x-ms-version")))
            page2 = "marker=m2" in self.path
            body = (f"<?xml version='1.0'?><EnumerationResults><Blobs><Blob><Name>a/{'2' if page2 else '1'}.csv</Name>"
                    "<Properties><Last-Modified>Wed, 04 Nov 2026 05:12:09 GMT</Last-Modified><Content-Length>10"
                    f"</Content-Length></Properties></Blob></Blobs><NextMarker>{'' if page2 else 'm2'}</NextMarker>"
                    "</EnumerationResults>").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        scopes = []

        class Cred:
            def get_token(self, scope):
                scopes.append(scope)
                return StaticCredential("mi-storage-token").get_token(scope)
        c = BlobContainer(AzureHttp(Cred()), f"http://127.0.0.1:{srv.server_port}/acct", "exports")
        names = [b.name for b in c.list("a/")]
    finally:
        srv.shutdown()
    assert names == ["a/1.csv", "a/2.csv"] and scopes == ["https://storage.azure.com/.default"]
    assert all(auth == "Bearer mi-storage-token" and ver for _, auth, ver in seen) and len(seen) == 2
