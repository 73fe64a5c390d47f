"""The ``gcp`` collector against the emulated Google APIs (scripts/gcp_emulator.py): every resource type priced
as catalog price × usage, paging, one project denied while the others land, GKE nodes counted once, Cloud
Monitoring calls constant in the instance count, and billed cost from the billing export, whose SQL runs in
DuckDB (GoogleSQL transpiled by sqlglot) over tables with the export's schema: credits netted exactly, a
restated day replacing its records, partition and bytes bounds, the detailed and FOCUS tables."""

from __future__ import annotations

import base64
import copy
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cloudtally import catalog
from cloudtally.collectors import registry, runner
from tests.gcp_support import EXPORT_TABLE, NOW, emulated, estate, estate_mod, records, run, total

D = Decimal
DAY = date(2026, 12, 13)          # a closed day of the compute window (the first run covers Dec 12 .. now)


def _one(recs, **match):
    out = [r for r in recs if all(getattr(r, k) == v for k, v in match.items())]
    assert len(out) == 1, (match, [(r.ResourceName, r.x_LineKey, r.ChargePeriodStart) for r in out])
    return out[0]


def _day(r) -> date:
    return r.ChargePeriodStart.date()


@pytest.fixture(scope="module")
def replayed():
    """The contract replay's run (recorded estate + its billing export) and its records."""
    with emulated() as emu:
        summary, sink = run(emu, {"billing_export_table": EXPORT_TABLE})
        yield summary, sink, emu


def _est(sink, name, line, day=DAY):
    return _one([r for r in records(sink, x_CostSource="estimated") if _day(r) == day], ResourceName=name, x_LineKey=line)


# ---------------------------------------------------------------------------------------------- resource types
def test_predefined_custom_extended_spot_and_gpu_instances_are_priced_from_the_catalog(replayed):
    _, sink, _ = replayed
    assert _est(sink, "web-1", "vcpu").BilledCost == D(4) * 24 * D("0.031611")
    assert _est(sink, "web-1", "ram").BilledCost == D(16) * 24 * D("0.004237")
    web = _est(sink, "web-1", "vcpu")
    assert (web.ServiceName, web.ServiceCategory, web.SubAccountId, web.BillingAccountId, web.RegionId, web.Tags["team"],
            web.PricingUnit, web.PricingCategory) == ("Compute Engine", "Compute", "acme-prod", "01A2B3-C4D5E6-F7A8B9",
                                                      "us-central1", "web", "vCPU-Hours", "Standard")
    # n2-custom-2-20480-ext: 16 GiB at the custom rate, the 4 GiB beyond N2's 8 GiB/vCPU at the extended rate
    assert _est(sink, "custom-cache", "vcpu").BilledCost == D(2) * 24 * D("0.033191")
    assert _est(sink, "custom-cache", "ram").PricingQuantity == D(16) * 24
    assert _est(sink, "custom-cache", "ram-extended").BilledCost == D(4) * 24 * D("0.00955")
    assert _est(sink, "legacy-app", "ram").BilledCost == D("7.5") * 24 * D("0.004446")       # custom-2-7680 is N1
    spot = _est(sink, "batch-spot-1", "vcpu")
    assert (spot.BilledCost, spot.PricingCategory) == (D(8) * 24 * D("0.00759"), "Dynamic")
    assert _est(sink, "inference-t4", "gpu:nvidia-tesla-t4").BilledCost == 24 * D("0.35")
    # not running: no compute cost (its disk still is)
    assert not [r for r in records(sink, ResourceName="old-reporting") if r.x_LineKey != "disk"]


def test_gpus_bundled_with_the_machine_type_count_when_none_are_listed():
    est = estate()
    node = next(i for i in est["compute"]["acme-prod"]["instances"]["zones/us-central1-a"]
                if i["name"] == "gke-ml-gpu-pool-2b7d0")
    with emulated(est, export=False) as emu:
        _, listed = run(emu, {"monitoring": False})
    node.pop("guestAccelerators")                      # g2-standard-8 bundles one L4 (catalog machine_types)
    with emulated(est, export=False) as emu:
        _, bundled = run(emu, {"monitoring": False})
    a, b = _est(listed, node["name"], "gpu:nvidia-l4"), _est(bundled, node["name"], "gpu:nvidia-l4")
    assert a.BilledCost == b.BilledCost == 24 * D("0.559958")


def test_persistent_disks_zonal_and_regional_are_gib_months(replayed):
    _, sink, _ = replayed
    ssd = _one(records(sink, x_LineKey="disk", ResourceName="orders-ssd-regional"), ChargePeriodStart=datetime(
        2026, 12, 13, tzinfo=timezone.utc))
    qty = (D(200) * 24 / 744).quantize(D("0.000001"))
    assert (ssd.PricingQuantity, ssd.BilledCost, ssd.PricingUnit) == (qty, qty * D("0.34"), "GiB-Months")
    boot = _one([r for r in records(sink, x_LineKey="disk", ResourceName="web-1") if _day(r) == DAY])
    assert boot.BilledCost == (D(20) * 24 / 744).quantize(D("0.000001")) * D("0.1")
    assert "projects/acme-prod/regions/us-central1/disks/" in ssd.ResourceId


def test_gke_cluster_fee_and_nodes_counted_once_against_their_instances(replayed):
    summary, sink, _ = replayed
    day = [r for r in sink.records.values() if _day(r) == DAY and r.x_CostSource == "estimated"]
    fee = _one(day, ServiceName="Kubernetes Engine")
    assert (fee.BilledCost, fee.PricingQuantity, fee.ResourceType) == (D("2.4"), D(24), "cluster-standard")
    nodes = [r for r in day if r.Tags.get("goog-k8s-cluster-name") == "ml" and r.x_LineKey != "disk"]
    assert len([r for r in day if r.Tags.get("goog-k8s-cluster-name") == "ml" and r.x_LineKey == "disk"]) == 5
    # five nodes (3 x e2-standard-4, 2 x g2-standard-8 with an L4): vCPU + RAM each, GPU for the two; nothing else
    assert sorted({r.ResourceName for r in nodes}) == sorted(
        [f"gke-ml-default-pool-8f1c{i}" for i in range(3)] + [f"gke-ml-gpu-pool-2b7d{i}" for i in range(2)])
    assert len(nodes) == 3 * 2 + 2 * 3
    assert {r.ServiceName for r in nodes} == {"Compute Engine"}
    assert not [r for r in day if r.ServiceName == "Kubernetes Engine" and r is not fee]    # no node pool record
    pools = {p.dimensions["node_pool"]: p for p in sink.metrics if p.name == "gcp.gke.node_pool_nodes"}
    assert (pools["default-pool"].value, pools["default-pool"].dimensions["max_nodes"]) == (D(3), "5")
    assert pools["gpu-pool"].value == D(2)


def test_cloud_sql_tier_ha_and_storage(replayed):
    _, sink, _ = replayed
    assert _est(sink, "orders-pg", "vcpu").BilledCost == D(2) * 24 * D("0.0826")           # REGIONAL (HA) rate
    assert _est(sink, "orders-pg", "ram").BilledCost == D("7.5") * 24 * D("0.014")
    assert _est(sink, "orders-pg", "storage").BilledCost == (D(100) * 24 / 744).quantize(D("0.000001")) * D("0.34")
    assert _est(sink, "reports-mysql", "instance").BilledCost == 24 * D("0.0105")          # shared-core f1-micro
    assert _est(sink, "orders-pg", "vcpu").ServiceCategory == "Databases"


def test_cloud_run_gen2_and_gen1_functions_and_buckets_from_monitoring_usage(replayed):
    _, sink, _ = replayed
    assert _est(sink, "api-gateway", "requests").PricingQuantity == D(1_230_000)
    assert _est(sink, "api-gateway", "cpu").BilledCost == D(216_000) * D("0.000024")
    assert _est(sink, "api-gateway", "memory").BilledCost == D(108_000) * D("0.0000025")
    gen2 = _est(sink, "resize-images", "cpu")
    assert (gen2.ResourceType, gen2.ServiceName) == ("Cloud Run function (2nd gen)", "Cloud Run")
    assert gen2.PricingQuantity == D("0.1666") * 18_000
    inv = _est(sink, "cleanup", "invocations")
    assert (inv.PricingQuantity, inv.ServiceName) == (D(1440), "Cloud Functions")
    assert _est(sink, "cleanup", "memory").PricingQuantity == D(1224) * D("0.25")           # GiB-s: 1440 x 0.85 s x 256 MB
    assert _est(sink, "cleanup", "cpu").PricingQuantity == D(1224) * D("0.4")               # GHz-s at 400 MHz
    std = _est(sink, "acme-prod-assets", "STANDARD")
    assert (std.RegionId, std.PricingQuantity) == ("us", (D(2500) * 24 / 744).quantize(D("0.000001")))
    assert std.BilledCost == std.PricingQuantity * D("0.026")
    assert _est(sink, "acme-prod-logs", "NEARLINE").BilledCost == (D(12000) * 24 / 744).quantize(D("0.000001")) * D("0.01")
    assert _est(sink, "acme-prod-logs", "STANDARD").ListUnitPrice == D("0.02")              # us-central1 regional rate


def test_every_estimate_is_the_catalog_price_times_its_usage(replayed):
    _, sink, _ = replayed
    cat = catalog.load("gcp")
    est = records(sink, x_CostSource="estimated")
    assert len(est) > 200
    for r in est:
        svc, region, *key = r.SkuPriceId.split("/")
        price = cat.price(svc, region, *key)
        assert r.ListUnitPrice == price.amount and r.PricingUnit == price.unit, r.SkuPriceId
        assert r.BilledCost == r.EffectiveCost == r.ListUnitPrice * r.PricingQuantity, r.ResourceName
        assert r.x_CatalogVersion == cat.label


def test_utilisation_metric_points_one_per_instance_and_day(replayed):
    _, sink, _ = replayed
    cpu = [p for p in sink.metrics if p.name == "gcp.compute.cpu_utilization" and p.dimensions["instance"] == "web-1"]
    assert sorted(p.timestamp.date() for p in cpu) == [date(2026, 12, 12), date(2026, 12, 13), date(2026, 12, 14)]
    assert cpu[0].unit == "Percent" and D(0) < cpu[0].value <= D(100)      # the fraction x 100
    mem = {p.dimensions["instance"] for p in sink.metrics if p.name == "gcp.compute.memory_used"}
    assert "web-1" in mem and "web-2" not in mem                          # only where the Ops Agent reports it
    assert {p.dimensions["instance"] for p in sink.metrics if p.name == "gcp.compute.gpu_utilization"} == {
        "inference-t4", "gke-ml-gpu-pool-2b7d0", "gke-ml-gpu-pool-2b7d1"}
    assert {p.name for p in sink.metrics} >= {"gcp.compute.disk_read_bytes", "gcp.compute.disk_write_bytes",
                                              "gcp.compute.network_sent_bytes", "gcp.storage.total_bytes",
                                              "gcp.run.request_count", "gcp.functions.executions"}


# ---------------------------------------------------------------------------------------------- calls, paging, errors
def test_monitoring_calls_are_one_per_metric_type_and_project_whatever_the_instance_count():
    calls = {}
    for n in (30, 300):
        with emulated(estate_mod.fleet_estate(n), export=False) as emu:
            summary, sink = run(emu, {"billing_export_table": None})
            calls[n] = emu.monitoring_calls("acme-fleet")
            assert summary["api_calls"]["monitoring"]["projects.timeSeries.list"] == calls[n]
            assert len({p.dimensions["instance"] for p in sink.metrics if p.name == "gcp.compute.cpu_utilization"}) == n
    assert calls[30] == calls[300] <= 10
    assert calls[30] == 5          # CPU, memory, disk read, disk write, network egress: no GPU, Run, functions, buckets


def test_paging_gives_the_same_records_as_one_page(replayed):
    _, one_page, _ = replayed
    with emulated() as emu:
        summary, paged = run(emu, {"billing_export_table": EXPORT_TABLE, "page_size": 3, "monitoring_page_size": 7,
                                   "query_page_size": 25})
    assert summary["api_calls"]["compute"]["instances.aggregatedList"] >= 6 + 2      # 18 + 4 instances, 3 a page
    assert summary["api_calls"]["monitoring"]["projects.timeSeries.list"] > 16
    assert summary["api_calls"]["bigquery"]["jobs.getQueryResults"] >= 4
    assert set(paged.records) == set(one_page.records)
    assert all(paged.records[i].BilledCost == one_page.records[i].BilledCost for i in paged.records)
    assert len(paged.metrics) == len(one_page.metrics)


def test_permission_denied_on_one_project_fails_that_scope_and_the_others_land():
    est = estate()
    est["deny"] = {"acme-data": ["compute"]}
    with emulated(est) as emu:
        summary, sink = run(emu, {"billing_export_table": EXPORT_TABLE})
    (failed,) = summary["failed_scopes"]
    assert failed["scope"] == "acme-data/compute"
    err = failed["errors"][0]
    assert (err["code"], err["kind"], err["provider"]) == ("PERMISSION_DENIED", "auth", "gcp")
    assert "roles/compute.viewer" in err["setting"]
    assert summary["status"] == "partial"
    assert records(sink, SubAccountId="acme-prod", x_CostSource="estimated")
    assert records(sink, SubAccountId="acme-data", ResourceName="acme-data-lake")          # its assets still land
    assert not [r for r in records(sink, SubAccountId="acme-data", x_CostSource="estimated") if r.ServiceName == "Compute Engine"]
    assert records(sink, x_CostSource="billed")


def test_throttling_is_retried_and_a_bug_is_not_a_scope_error():
    est = estate()
    est["throttle"] = {"/aggregated/instances": 2}
    with emulated(est, export=False) as emu:
        summary, sink = run(emu, {"monitoring": False})
    assert summary["failed_scopes"] == [] and records(sink, ResourceName="web-1")
    assert sum(n for k, n in emu.calls.items() if "aggregated/instances" in k) == 2 + 2     # 2 throttled + 2 projects


def test_an_unpriced_machine_type_is_a_note_not_an_error():
    est = estate()
    est["compute"]["acme-data"]["instances"]["zones/us-central1-a"][0]["machineType"] += "-quantum"
    with emulated(est, export=False) as emu:
        summary, _ = run(emu, {"monitoring": False})
    assert summary["failed_scopes"] == []
    assert any("quantum" in n for n in summary["scopes"]["acme-data/compute"]["notes"])


def test_configured_projects_and_billing_account_skip_discovery():
    with emulated(export=False) as emu:
        summary, sink = run(emu, {"projects": ["acme-data"], "billing_account_id": "0ABC12-345678-9DEF01",
                                  "monitoring": False})
    assert "cloudresourcemanager" not in summary["api_calls"] and "cloudbilling" not in summary["api_calls"]
    assert {r.BillingAccountId for r in sink.records.values()} == {"0ABC12-345678-9DEF01"}


# ---------------------------------------------------------------------------------------------- billed
def _row(day: date, hour: int, cost: str, *, credits=(), labels=None, export_h: int = 2, sku=("N2-CPU", "N2 Core"),
         list_cost: str | None = None, **kw):
    start = datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)
    return estate_mod._row(day, hour, 1, "acme-prod", estate_mod.COMPUTE, sku, cost=D(cost), usage=D(3600), unit="seconds",
                           pricing_unit="hour", labels=labels or {"team": "web"},
                           credits=[{"name": n, "amount": float(D(a)), "full_name": n, "id": n.lower(), "type": t}
                                    for t, n, a in credits],
                           export_lag_h=export_h, list_cost=D(list_cost) if list_cost else None, **kw) | (
        {"export_time": (start + timedelta(hours=1 + export_h)).strftime("%Y-%m-%dT%H:%M:%SZ")})


def _billed(rows, *, now=NOW, status=None, config=None, table=EXPORT_TABLE, kind="standard", emu=None):
    with emulated(estate(), export=False, now=now, tables={table: (kind, rows)}) as e:
        summary, sink = run(e, {"inventory": False, "monitoring": False, "billing_export_table": table, **(config or {})},
                            now=now, status=status)
        return summary, sink, e


def test_credits_are_kept_per_type_and_netted_exactly_in_effective_cost():
    d = date(2026, 12, 14)
    rows = [_row(d, h, "0.316110", list_cost="0.333333",
                 credits=[("SUSTAINED_USAGE_DISCOUNT", "Sustained Usage Discount", "-0.063222"),
                          ("PROMOTION", "Free trial", "-0.100000")]) for h in range(3)]
    rows.append(_row(d, 5, "0.000001", credits=[("FREE_TIER", "Free tier", "-0.000001")]))
    summary, sink, _ = _billed(rows)
    assert summary["failed_scopes"] == []
    billed = records(sink, x_CostSource="billed")
    usage = [r for r in billed if r.ChargeCategory == "Usage"]
    credits = [r for r in billed if r.ChargeCategory == "Credit"]
    assert len(usage) == 1 and len(credits) == 3                  # one group; each credit type its own record
    u = usage[0]
    assert u.BilledCost == D("0.948331") and u.ListCost == D("0.999999") + D("0.000001")
    assert u.EffectiveCost == D("0.948331") - D("0.189666") - D("0.3") - D("0.000001")
    by_type = {r.ChargeDescription.split(":")[0]: r.BilledCost for r in credits}
    assert by_type == {"SUSTAINED_USAGE_DISCOUNT": D("-0.189666"), "PROMOTION": D("-0.3"), "FREE_TIER": D("-0.000001")}
    assert all(r.EffectiveCost == 0 for r in credits)
    # both totals are the invoice's net: cost + every credit, exactly
    assert total(billed) == total(billed, "EffectiveCost") == D("0.458664")
    assert (u.InvoiceId, u.BillingPeriodStart.date(), u.BillingCurrency, u.Tags) == ("202612", date(2026, 12, 1), "USD",
                                                                                     {"team": "web"})


def test_a_restated_day_replaces_its_records_and_never_adds(tmp_path):
    d = date(2026, 12, 14)
    first = [_row(d, h, "1.000000", credits=[("SUSTAINED_USAGE_DISCOUNT", "SUD", "-0.200000")]) for h in range(4)]
    status = runner.FileStatus(str(tmp_path / "status.json"))
    with emulated(estate(), export=False, tables={EXPORT_TABLE: ("standard", first)}) as emu:
        s1, sink = run(emu, {"inventory": False, "monitoring": False, "billing_export_table": EXPORT_TABLE}, status=status)
        day1 = {i: r for i, r in sink.records.items() if _day(r) == d}
        assert total(list(day1.values())) == D("3.2")
        # late rows for the same SKU and labels, a correction of an exported hour and a new credit, exported a day later
        late = [_row(d, 10, "1.000000", export_h=26), _row(d, 2, "-0.250000", export_h=27),
                _row(d, 11, "0.500000", export_h=28, credits=[("PROMOTION", "Promo", "-0.050000")])]
        emu.bq.insert(EXPORT_TABLE, late)
        later = NOW + timedelta(days=1)
        s2, sink = run(emu, {"inventory": False, "monitoring": False, "billing_export_table": EXPORT_TABLE},
                       status=status, now=later, sink=sink)
    day2 = {i: r for i, r in sink.records.items() if _day(r) == d}
    expected = D("4") - D("0.8") + D("1") - D("0.25") + D("0.5") - D("0.05")
    assert total(list(day2.values())) == expected == D("4.4")            # the export's new total, not old + new
    assert set(day1) <= set(day2) and len(day2) == len(day1) + 1          # same ids replaced; the new credit type added
    usage = _one(list(day2.values()), ChargeCategory="Usage")
    assert usage.BilledCost == D("5.25") and usage.EffectiveCost == D("5.25") - D("0.8") - D("0.05")
    assert "2026-12-14" in s2["scopes"][f"billing-export/{EXPORT_TABLE}"]["notes"][0]


def test_the_queries_are_bounded_by_partition_filters_and_report_bytes_billed():
    rows = estate_mod.export_rows(estate(), date(2026, 11, 1), date(2026, 12, 15), catalog=catalog.load("gcp"))
    with emulated(estate(), export=False, tables={EXPORT_TABLE: ("standard", rows)}) as emu:
        summary, sink = run(emu, {"inventory": False, "monitoring": False, "billing_export_table": EXPORT_TABLE})
        touched, agg = emu.bq.queries
        full = emu.bq._bytes([(EXPORT_TABLE, [])], {"usage_start_time", "export_time"}, {})[0]
        whole = emu.bq._bytes([(EXPORT_TABLE, [])], {c for c in agg["sql"].lower().replace(".", " ").split()}, {})[0]
    for q in (touched, agg):
        assert "_PARTITIONTIME >= TIMESTAMP(@" in q["sql"]
        assert q["bytes_billed"] >= 10 * 1024 ** 2 and q["bytes_billed"] % (1024 ** 2) == 0
    # partition pruning: the touched-days query reads two timestamp columns of the last days' partitions, the
    # re-aggregation the touched days' (plus one); a 45-day table is read in a fraction
    assert touched["bytes_processed"] < full / 5
    assert agg["bytes_processed"] < 2 * whole / 5
    assert summary["bytes_billed"] == touched["bytes_billed"] + agg["bytes_billed"]
    note = summary["scopes"][f"billing-export/{EXPORT_TABLE}"]["notes"][0]
    assert f"total_bytes_billed={summary['bytes_billed']}" in note
    (point,) = [p for p in sink.metrics if p.name == "gcp.bigquery.total_bytes_billed"]
    assert point.value == summary["bytes_billed"]
    assert {r.ChargePeriodStart.date() for r in records(sink, x_CostSource="billed")} == {
        date(2026, 12, d) for d in range(11, 15)}


def test_maximum_bytes_billed_stops_a_runaway_query_as_a_scope_error():
    small = [_row(date(2026, 12, 14), h, "1.0") for h in range(3)]
    summary, _, _ = _billed(small, config={"max_bytes_billed": 10 * 1024 ** 2})
    assert summary["failed_scopes"] == []                 # within BigQuery's 10 MiB minimum
    big = [_row(date(2026, 12, 14), h % 24, "1.0", labels={"team": "x" * 200, "n": str(h)}) for h in range(30000)]
    summary, sink, _ = _billed(big, config={"max_bytes_billed": 10 * 1024 ** 2})
    (f,) = summary["failed_scopes"]
    assert f["errors"][0]["code"] == "INVALID_ARGUMENT" and "bytes billed" in f["errors"][0]["message"]
    assert not records(sink, x_CostSource="billed")


def test_billed_pulls_are_interval_gated(tmp_path):
    status = runner.FileStatus(str(tmp_path / "s.json"))
    rows = [_row(date(2026, 12, 14), 1, "1.0")]
    with emulated(estate(), export=False, tables={EXPORT_TABLE: ("standard", rows)}) as emu:
        cfg = {"inventory": False, "monitoring": False, "billing_export_table": EXPORT_TABLE}
        run(emu, cfg, status=status)
        s2, _ = run(emu, cfg, status=status, now=NOW + timedelta(hours=2))
        s3, _ = run(emu, cfg, status=status, now=NOW + timedelta(hours=6))
    assert "bigquery" not in s2["api_calls"] and s3["api_calls"]["bigquery"]["jobs.query"] == 2


def test_the_detailed_table_gives_resource_level_records():
    rows = estate_mod.export_rows(estate(), date(2026, 12, 13), date(2026, 12, 14), catalog=catalog.load("gcp"),
                                  detailed=True)
    summary, sink, _ = _billed(rows, table=estate_mod.DETAILED_TABLE, kind="detailed")
    billed = [r for r in records(sink, x_CostSource="billed") if r.ServiceName == "Compute Engine"]
    web = [r for r in billed if r.ResourceName == "web-1" and r.ChargeCategory == "Usage"]
    assert len(web) == 2 and all(r.ResourceId.startswith("//compute.googleapis.com/projects/acme-prod/zones/") for r in web)
    assert total(web) == D(4) * 24 * D("0.031611") + D(16) * 24 * D("0.004237")


def test_the_focus_export_table_is_read_when_configured():
    rows = [{"BillingAccountId": "01A2B3-C4D5E6-F7A8B9", "SubAccountId": "acme-prod", "SubAccountName": "Acme Production",
             "ServiceName": "Compute Engine", "ServiceCategory": "Compute", "ChargeCategory": "Usage", "RegionId": "us-central1",
             "ResourceId": "//compute.googleapis.com/projects/acme-prod/zones/us-central1-a/instances/1",
             "ResourceName": "web-1", "SkuId": "N2-CPU", "PricingUnit": "Hours", "ConsumedUnit": "Seconds",
             "BillingCurrency": "USD", "InvoiceId": "202612", "ChargePeriodStart": f"2026-12-14T{h:02d}:00:00Z",
             "ChargePeriodEnd": f"2026-12-14T{h + 1:02d}:00:00Z", "BilledCost": "0.126444", "EffectiveCost": "0.1011552",
             "ListCost": "0.126444", "ContractedCost": "0.126444", "PricingQuantity": "4", "ConsumedQuantity": "14400",
             "Tags": [{"key": "team", "value": "web"}]} for h in range(10)]
    with emulated(estate(), export=False, tables={estate_mod.FOCUS_TABLE: ("focus", rows)}) as emu:
        summary, sink = run(emu, {"inventory": False, "monitoring": False, "focus_export_table": estate_mod.FOCUS_TABLE})
    (r,) = records(sink, x_CostSource="billed")
    assert (r.BilledCost, r.EffectiveCost, r.PricingQuantity) == (D("1.26444"), D("1.011552"), D(40))
    assert r.Tags == {"team": "web"} and r.SubAccountId == "acme-prod"
    assert f"focus-export/{estate_mod.FOCUS_TABLE}" in summary["scopes"]


def test_the_billing_sql_is_googlesql_that_transpiles_and_names_the_export_columns():
    import sqlglot

    from cloudtally.providers.gcp import billing_export as bq
    for sql in (bq.touched_days_sql(EXPORT_TABLE), bq.aggregate_sql(EXPORT_TABLE), bq.aggregate_sql(estate_mod.DETAILED_TABLE),
                bq.focus_sql(estate_mod.FOCUS_TABLE)):
        tree = sqlglot.parse_one(sql, read="bigquery")
        assert tree.sql(dialect="duckdb")
    assert "t.resource.global_name" in bq.aggregate_sql(estate_mod.DETAILED_TABLE)
    assert "resource" not in bq.aggregate_sql(EXPORT_TABLE)
    assert bq.account_of_table(EXPORT_TABLE) == "01A2B3-C4D5E6-F7A8B9"


# ---------------------------------------------------------------------------------------------- the replay
def test_the_contract_replay_exercises_every_declared_role_and_lands_everything(replayed):
    summary, sink, _ = replayed
    from cloudtally.providers.gcp import permissions
    assert summary["failed_scopes"] == [] and summary["errors"] == []
    assert permissions.required(summary["api_calls"])["gcp"] == set(registry.get("gcp").permissions.gcp)
    assert summary["api_calls"]["monitoring"]["projects.timeSeries.list"] <= 10 * 2
    assert {r.x_CostSource for r in sink.records.values()} == {"estimated", "billed"}


def test_a_method_without_a_known_role_is_refused():
    from cloudtally.providers.gcp import permissions
    with pytest.raises(KeyError, match="compute:instances.delete"):
        permissions.required({"compute": {"instances.delete": 1}})


def test_pubsub_message_base64_is_what_the_scheduler_publishes():
    from tests.helpers import load_module
    from tests.gcp_support import ROOT
    main = load_module(ROOT / "functions" / "gcp" / "main.py", "cloudtally_gcp_main_unit")
    data = base64.b64encode(b'{"collector": "gcp", "config": {"monitoring": false}}').decode()
    assert main.pubsub_message({"message": {"data": data}}) == {"collector": "gcp", "config": {"monitoring": False}}
    from cloudtally.errors import ConfigError
    with pytest.raises(ConfigError, match="base64 JSON"):
        main.pubsub_message({"message": {"data": "bm90IGpzb24="}})
    assert copy.deepcopy(main.ENTRY_POINTS).keys() >= {"gcp"}
