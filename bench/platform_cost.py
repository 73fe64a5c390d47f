#!/usr/bin/env python3
"""Monthly AWS bill of running CloudTally itself for N resources collected hourly, from measured units.

What is measured (DynamoDB Local, the real collector runner with incremental delivery, and the API's own
route handlers in-process — records, metric points, collector status and day ledgers all go through them,
authenticated, as from a deployed function, so every request is counted and priced): a simulated fleet of ``--sample`` resources (EC2 instances with CPU
metrics, EBS volumes, RDS instances, Lambda functions and S3 buckets, 5 % of instances replaced each
day) is collected by **hourly runs over one whole day** — 23 hourly runs and the day-close run — after a
warm-up run. For that day we record:

  * WRU / RRU per resource-day, from ConsumedCapacity (records, provisional aggregates, rollup marks,
    day ledgers and collector status, packed metric items); DynamoDB Local under-counts
    TransactWriteItems, so transactional writes are re-priced from their item sizes (2 WRU per KB);
  * the bytes each resource-day adds to the table (records, rollups, metrics, ledgers);
  * handler time: the collector's own work per run and the API's ingest time, in-process;
  * RRU per dashboard load (summary by service over 30 days + top resources).

Derived from the collector's rules (asserted in tests/unit/test_aws_collector.py): GetMetricData metrics
requested per day (CPU once a day per instance, Lambda 2 per function, S3 only the storage series that
exist), Cost Explorer requests (one page per ``ce_interval_hours``), AWS API pages per run (inventory),
priced at ``AWS_CALL_S`` seconds each (an assumption: no AWS account here). Prices: the versioned catalog
common/cloudtally/catalog/data/aws_platform_prices.json (source URLs and date there).

    .venv/bin/python bench/platform_cost.py [--sample 2000] [--dashboard-loads-per-day 50]

Last stdout line: one JSON object with usd_per_month_10k_resources (target < 5).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))

from cloudtally import devstack  # noqa: E402
from cloudtally.config import Settings  # noqa: E402
from cloudtally.focus import UTC, CostRecord, MetricPoint, day_floor  # noqa: E402
from cloudtally.infra_render import ALERTS_MEMORY_MB, API_MEMORY_MB, lambda_placements  # noqa: E402
from cloudtally.money import CONTEXT, dumps  # noqa: E402

HOURS_PER_MONTH = Decimal(730)
DAYS_PER_MONTH = Decimal("30.4")
MILLION = Decimal(1_000_000)
AWS_CALL_S = Decimal("0.3")     # assumed latency of one paginated AWS API call (inventory)
# the resource mix of N: share, records per resource-day, CloudWatch metrics asked per resource-day
# (None: the CPU metric, one per instance per pull every metrics_interval_hours)
MIX = {"ec2": (Decimal("0.50"), 1, None), "ebs": (Decimal("0.35"), 1, 0), "rds": (Decimal("0.05"), 2, 0),
       "lambda": (Decimal("0.05"), 2, 2), "s3": (Decimal("0.05"), 1, Decimal("2.2"))}
SERVICES = {"ec2": ("Amazon Elastic Compute Cloud", "Compute", "Hours", Decimal("0.096")),
            "ebs": ("Amazon Elastic Block Store", "Storage", "GB-Mo", Decimal("0.0027")),
            "rds": ("Amazon Relational Database Service", "Databases", "Hours", Decimal("0.068")),
            "lambda": ("AWS Lambda", "Compute", "GB-Seconds", Decimal("0.0000166667")),
            "s3": ("Amazon Simple Storage Service", "Storage", "GB-Mo", Decimal("0.00076"))}
PROJECTS = 40                   # allocation-tag combinations (project -> team, environment): today's aggregates
PAGE = {"ec2": 1000, "ebs": 500, "rds": 100, "lambda": 50, "s3": 1000}   # items per describe/list page


def prices() -> dict[str, Decimal]:
    doc = json.loads((ROOT / "common/cloudtally/catalog/data/aws_platform_prices.json").read_text())
    return {k: Decimal(v["amount"]) for k, v in doc["prices"].items()}


class Fleet:
    """``sample`` resources of the mix; 5 % of instances are replaced every day at a random hour."""

    def __init__(self, sample: int, start: datetime, days: int, seed: int = 7):
        rnd = random.Random(seed)
        self.res: list[dict] = []
        n = 0
        for kind, (share, _, _) in MIX.items():
            for _ in range(int(share * sample)):
                proj = n % PROJECTS        # a project belongs to one team and one environment
                self.res.append({"id": f"{kind}-{n:08x}", "kind": kind, "since": start - timedelta(days=30),
                                 "gone": None, "team": f"team-{proj % 12}", "project": f"p{proj}",
                                 "env": ("prod", "staging", "dev")[proj % 3]})
                n += 1
        instances = [r for r in self.res if r["kind"] == "ec2"]
        for d in range(days):
            day = start + timedelta(days=d)
            for r in rnd.sample(instances, max(1, len(instances) // 20)):
                if r["gone"] is None:
                    at = day + timedelta(hours=rnd.randint(1, 22), minutes=30)
                    r["gone"] = at
                    self.res.append({**r, "id": f"ec2-{n:08x}", "since": at, "gone": None})
                    n += 1

    def collect(self, ctx):
        """The AWS collector's shape: inventory estimates hourly; Lambda/S3 usage and CPU metrics once a day."""
        from cloudtally.providers.aws.collector import _usage_window
        scope = "111122223333/us-east-1/all"
        with ctx.scope(scope):
            window = ctx.window_for(scope)
            usage = _usage_window(ctx, window)
            today = day_floor(ctx.now)
            metrics_due = ctx.due(scope, "metrics", 24)   # measured daily (the upper bound of the write cost)
            if metrics_due:
                ctx.set_mark(scope, "metrics", ctx.now)
            for r in self.res:
                if r["gone"] is not None and r["gone"] <= ctx.now:
                    continue
                kind = r["kind"]
                w = usage if kind in ("lambda", "s3") else window
                if w is None:
                    continue
                for day, a, b in w.day_slices():
                    a = max(a, r["since"])
                    if b <= a:
                        continue
                    hours = Decimal(int((b - a).total_seconds())) / 3600
                    for line in range(MIX[kind][1]):
                        yield _record(r, day, hours, line)
                if kind == "ec2" and metrics_due:
                    y = today - timedelta(days=1)
                    for h in range(24):
                        ts = y + timedelta(hours=h)
                        if r["since"] <= ts:
                            yield MetricPoint(name="aws.ec2.cpu_utilization", value=Decimal(10 + (h * 7) % 60),
                                              timestamp=ts, unit="Percent", source="aws",
                                              dimensions={"resource": r["id"], "account": "111122223333",
                                                          "region": "us-east-1", "instance_type": "m7g.large"})


def _record(r: dict, day, hours: Decimal, line: int) -> CostRecord:
    name, cat, unit, price = SERVICES[r["kind"]]
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    cost = CONTEXT.multiply(hours, price)
    return CostRecord(
        ProviderName="AWS", PublisherName="AWS", InvoiceIssuerName="AWS", BillingAccountId="111122223333",
        SubAccountId="111122223333", ChargePeriodStart=start, ChargePeriodEnd=start + timedelta(days=1),
        BillingPeriodStart=start.replace(day=1), BillingPeriodEnd=(start.replace(day=1) + timedelta(days=32)).replace(day=1),
        BilledCost=cost, EffectiveCost=cost, ListCost=cost, ContractedCost=cost, BillingCurrency="USD",
        PricingCurrency="USD", ServiceName=name, ServiceCategory=cat, ChargeCategory="Usage",
        ChargeFrequency="Usage-Based", ChargeDescription=f"{r['kind']} usage", ResourceId=r["id"],
        ResourceName=r["id"], ResourceType="m7g.large", RegionId="us-east-1", RegionName="us-east-1",
        SkuPriceId=f"{r['kind']}/us-east-1/m7g.large", PricingUnit=unit, PricingQuantity=hours,
        ConsumedQuantity=hours, ConsumedUnit=unit, ListUnitPrice=price, ContractedUnitPrice=price,
        PricingCategory="Standard", Tags={"team": r["team"], "project": r["project"], "environment": r["env"],
                                          "Name": r["id"]},
        x_CostSource="estimated", x_Collector="aws", x_CatalogVersion="aws-2026-11-26", x_LineKey=f"l{line}")


def _item_bytes(item: dict) -> int:
    """DynamoDB item size: attribute names plus values (numbers ~ half their digits + 1)."""
    def val(v: dict) -> int:
        (t, x), = v.items()
        if t == "S":
            return len(x.encode())
        if t == "N":
            return len(x.lstrip("-").replace(".", "")) // 2 + 2
        if t == "B":
            return len(x)
        if t == "M":
            return 3 + sum(len(k.encode()) + val(w) for k, w in x.items())
        if t == "L":
            return 3 + sum(val(w) + 1 for w in x)
        return 1
    return sum(len(k.encode()) + val(v) for k, v in item.items())


def measure(sample: int, endpoint: str) -> dict:
    from cloudtally.api.inprocess import InProcessClient
    from cloudtally.api.service import ApiService
    from cloudtally.collectors import registry, runner
    from cloudtally.collectors.api_state import ApiStatus
    from cloudtally.store import Store

    cfg = Settings(table=f"bench-{uuid.uuid4().hex[:10]}", dynamodb_endpoint=endpoint, auth_cache_seconds=300)
    store = Store(cfg)
    store.create_table()
    transact_wru = [Decimal(0)]
    orig = store._call

    def counting(op, kwargs, kind):       # DynamoDB Local under-counts transactions: price them from item sizes
        if op == "TransactWriteItems":
            for it in kwargs.get("TransactItems", []):
                body = next(iter(it.values()))
                transact_wru[0] += 2 * max(1, math.ceil(_item_bytes(body.get("Item") or body.get("Key") or {}) / 1024))
            resp = orig(op, kwargs, kind)
            resp.pop("ConsumedCapacity", None)
            return resp
        return orig(op, kwargs, kind)
    store._call = counting
    try:
        svc = ApiService(cfg, store)
        key = svc.keys.create("bench-collector", ["ingest"])
        # the function's view of the API: records, metric points, status and day ledgers all go through the
        # API's handlers (authenticated, in-process), so every request is counted and its time is the API's
        client = InProcessClient(svc, key)

        # a pinned clock: the ledgers' expiry is judged at the run's own time
        day0 = datetime(2026, 11, 2, tzinfo=UTC)
        fleet = Fleet(sample, day0, 3)
        spec = registry.get("aws")

        def run(at):
            return runner.run(spec, sink=runner.ClientSink(client), clients=object(), catalog=object(), status=ApiStatus(client),
                              now=at, collect=fleet.collect)

        run(day0 + timedelta(minutes=5))                 # warm-up: the first run closes the initial days
        for h in range(1, 24):
            run(day0 + timedelta(hours=h, minutes=5))    # day0 builds its ledger hour by hour
        base = dict(store.capacity)
        transact_wru[0] = Decimal(0)
        client.seconds = 0.0
        client.requests.clear()
        runs, walls = [], []
        for h in range(24):                              # measured: day0's close at 00:05, then 23 hourly runs
            t0 = time.perf_counter()
            runs.append(run(day0 + timedelta(days=1, hours=h, minutes=5)))
            walls.append(time.perf_counter() - t0)
        wru = store.capacity["write"] - base["write"] + transact_wru[0]
        rru = store.capacity["read"] - base["read"]
        collector_s = Decimal(str(sum(walls) - client.seconds))
        requests = dict(client.requests)
        # bytes the measured day left in the table (everything keyed by its date) and the ledgers
        measured_day = day0.date().isoformat()           # its records, rollups, metrics and ledger
        day_bytes, ledger_bytes, n_items = 0, 0, 0
        scan = {"TableName": cfg.table}
        while True:
            resp = store.conn.dispatch("Scan", dict(scan))
            for it in resp["Items"]:
                pk, sk = it["pk"]["S"], it["sk"]["S"]
                if pk == "L" and measured_day in sk:
                    ledger_bytes += _item_bytes(it)
                elif measured_day in pk or measured_day in sk:
                    day_bytes += _item_bytes(it)
                    n_items += 1
            if not resp.get("LastEvaluatedKey"):
                break
            scan["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        # a dashboard load over a full month of data: backfill the 27 days before the simulated ones with
        # each resource's closed-day detail (not counted: the simulated day above is what a day costs)
        for d in range(4, 31):
            day = (day0 - timedelta(days=d)).date()
            batch = [_record(r, day, Decimal(24), line) for r in fleet.res
                     if r["since"] <= day0 - timedelta(days=d) and r["gone"] is None
                     for line in range(MIX[r["kind"]][1])]
            for i in range(0, len(batch), 5000):
                store.write_records(batch[i:i + 5000])
        frm, to = (day0 - timedelta(days=29)).date().isoformat(), (day0 + timedelta(days=2)).date().isoformat()
        svc.summary({"from": frm, "to": to, "group_by": "service", "granularity": "day"})   # rollups refreshed
        svc.top_resources({"from": frm, "to": to})
        before = store.capacity["read"]
        t0 = time.perf_counter()
        loads = 5
        for _ in range(loads):
            svc.summary({"from": frm, "to": to, "group_by": "service", "granularity": "day"})
            svc.top_resources({"from": frm, "to": to})
        dash_s = (time.perf_counter() - t0) / loads
        rru_dash = (store.capacity["read"] - before) / loads
        resources = Decimal(len([r for r in fleet.res if r["since"] < day0 + timedelta(days=2) and (
            r["gone"] is None or r["gone"] > day0 + timedelta(days=1))]))
        return {"resources": resources,
                # per simulated day (one close run + 23 hourly runs)
                "wru": wru, "rru": rru, "records_written": Decimal(sum(r["records_sent"] for r in runs)),
                "provisional_per_hourly_run": Decimal(sum(r["delivery"]["provisional"] for r in runs[1:])) / 23,
                "table_bytes": Decimal(day_bytes), "ledger_bytes": Decimal(ledger_bytes),
                "collector_s": collector_s, "api_s": Decimal(str(client.seconds)),
                "api_requests": Decimal(sum(requests.values())),
                "state_requests": Decimal(sum(n for op, n in requests.items() if "Collector" in op)),
                # per dashboard load
                "rru_per_dashboard_load": rru_dash, "dashboard_load_s": Decimal(str(dash_s)),
                "hourly_run_s": Decimal(str(sorted(walls[1:])[11])), "close_run_s": Decimal(str(walls[0]))}
    finally:
        store._call = orig
        store.delete_table()


DAILY = ("wru", "rru", "records_written", "table_bytes", "ledger_bytes", "collector_s", "api_s", "api_requests",
         "state_requests")
PER_LOAD = ("rru_per_dashboard_load", "dashboard_load_s")     # a month of data: grows with the fleet too


def fit(small: dict, large: dict) -> dict:
    """Per simulated day: ``fixed + per_resource × N`` through the two measured fleet sizes. What does not
    grow with the fleet (today's aggregates: one per allocation-tag combination and service; collector
    status; rollup marks) lands in ``fixed``."""
    out = {}
    dn = large["resources"] - small["resources"]
    for k in DAILY + PER_LOAD:
        slope = max((large[k] - small[k]) / dn, Decimal(0))
        out[k] = (max(large[k] - slope * large["resources"], Decimal(0)), slope)
    return out


def estimate(f: dict, p: dict[str, Decimal], resources: int, loads_per_day: int) -> dict:
    with localcontext(CONTEXT):
        n = Decimal(resources)
        rd = n * DAYS_PER_MONTH                                      # resource-days per month

        def at_n(k: str) -> Decimal:
            fixed, per = f[k]
            return fixed + per * n

        def month(k: str) -> Decimal:
            return at_n(k) * DAYS_PER_MONTH
        dash_loads = Decimal(loads_per_day) * DAYS_PER_MONTH
        ddb_w = month("wru") / MILLION * p["dynamodb_on_demand_wru_per_million"]
        ddb_r = (month("rru") + dash_loads * at_n("rru_per_dashboard_load")) / MILLION \
            * p["dynamodb_on_demand_rru_per_million"]
        # end-of-month table size (an upper bound for the month's average): a month of records, rollups and
        # metrics, plus the day ledgers (kept 40 days by TTL)
        gb = (month("table_bytes") + month("ledger_bytes") * 40 / DAYS_PER_MONTH) / Decimal(1024 ** 3)
        storage = gb * (p["dynamodb_storage_gb_month"] + p["dynamodb_pitr_gb_month"])
        # the estate costed is an AWS one: the deployment's AWS collectors (the registry places SaaS and data
        # platform collectors on Lambda too; each one enabled adds its secrets and alarm, see fixed_per_collector)
        placements = [pl for pl in lambda_placements() if pl.name in AWS_ESTATE_COLLECTORS]
        aws = next(p.spec for p in placements if p.name == "aws")
        aws_cfg = aws.default_config()
        runs = HOURS_PER_MONTH                                       # the AWS collector: rate(1 hour)
        api_requests = month("api_requests") + dash_loads * 3
        # AWS inventory pages per hourly run (instances, volumes, databases) and per daily usage pull
        pages = sum((Decimal(math.ceil(float(n * MIX[k][0] / PAGE[k]))) for k in ("ec2", "ebs", "rds")),
                    Decimal(0)) + 3                                  # + STS, EKS list, bookkeeping
        daily_pages = sum((Decimal(math.ceil(float(n * MIX[k][0] / PAGE[k]))) for k in ("lambda", "s3")), Decimal(0))
        coll_s = month("collector_s") + runs * pages * AWS_CALL_S + DAYS_PER_MONTH * daily_pages * AWS_CALL_S
        api_s = month("api_s") + dash_loads * at_n("dashboard_load_s")
        alerts_runs = HOURS_PER_MONTH * 2                           # its schedule + post-ingest (stream) runs
        alerts_s = alerts_runs * at_n("dashboard_load_s") * 2     # budgets + anomalies: ~2 summaries
        gbs = (coll_s * aws.memory_mb + api_s * API_MEMORY_MB + alerts_s * ALERTS_MEMORY_MB) / 1024
        invocations = api_requests + runs + alerts_runs
        lam = gbs * p["lambda_gb_second_x86"] + invocations / MILLION * p["lambda_requests_per_million"]
        apigw = api_requests / MILLION * p["apigateway_rest_requests_per_million"]
        ce_requests = HOURS_PER_MONTH / Decimal(str(aws_cfg.ce_interval_hours))   # one page per pull
        ce = ce_requests * p["cost_explorer_api_request"]
        cpu_pulls_per_day = Decimal(24) / Decimal(str(aws_cfg.metrics_interval_hours))
        metrics_requested = sum((n * share * (cpu_pulls_per_day if per is None else Decimal(str(per)))
                                 for share, _, per in MIX.values()), Decimal(0)) * DAYS_PER_MONTH
        cw = metrics_requested / 1000 * p["cloudwatch_getmetricdata_per_1000_metrics"] \
            + DAYS_PER_MONTH * (n * MIX["s3"][0] * 3 / 500 + 1) / 1000 * p["cloudwatch_api_requests_per_1000"]
        sns_msgs = Decimal(100)
        sns = sns_msgs / MILLION * p["sns_publish_per_million"] + sns_msgs / 100000 * p["sns_email_per_100k"]
        fixed = p["kms_key_month"] + p["secrets_manager_secret_month"] * len(
            {s.aws_name for pl in placements for s in pl.secrets}) + p["cloudwatch_alarm_month"] * (len(placements) + 2)
        parts = {"dynamodb_writes": ddb_w, "dynamodb_reads": ddb_r, "dynamodb_storage_first_month": storage,
                 "lambda": lam, "api_gateway": apigw, "cost_explorer": ce, "cloudwatch_getmetricdata": cw,
                 "sns": sns, "fixed_kms_secrets_alarms": fixed}
        total = sum(parts.values(), Decimal(0))
    return {"parts": {k: v.quantize(Decimal("0.0001")) for k, v in parts.items()},
            "total": total.quantize(Decimal("0.01")),
            "units": {"resource_days": rd, "wru": month("wru").quantize(Decimal(1)),
                      "records_written": month("records_written").quantize(Decimal(1)),
                      "api_requests": api_requests.quantize(Decimal(1)),
                      "collector_state_requests": month("state_requests").quantize(Decimal(1)),
                      "lambda_gb_seconds": gbs.quantize(Decimal("0.1")),
                      "getmetricdata_metrics": metrics_requested.quantize(Decimal(1)),
                      "cost_explorer_requests": ce_requests.quantize(Decimal("0.1")), "table_gb": gb.quantize(Decimal("0.001"))}}


AWS_ESTATE_COLLECTORS = ("aws", "aws-billing-export")


def fixed_per_collector(p: dict[str, Decimal]) -> dict[str, str]:
    """Monthly fixed cost each further Lambda-placed collector adds: its own secrets (the ingest key is
    shared) and its error alarm. Its API calls and records are the vendor's estate, not costed here."""
    shared = {"cloudtally/ingest-api-key"}
    return {pl.name: str(p["secrets_manager_secret_month"] * len({s.aws_name for s in pl.secrets} - shared)
                         + p["cloudwatch_alarm_month"])
            for pl in lambda_placements() if pl.name not in AWS_ESTATE_COLLECTORS}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", default="1000,4000", help="two simulated fleet sizes (resources)")
    ap.add_argument("--dashboard-loads-per-day", type=int, default=50)
    a = ap.parse_args()
    small_n, large_n = sorted(int(x) for x in a.samples.split(","))
    for k, v in devstack.LOCAL_ENV.items():   # DynamoDB Local accepts any credentials; boto needs some
        os.environ.setdefault(k, v)
    port = devstack.free_port()
    proc = devstack.start_dynamodb_local(port)
    try:
        small = measure(small_n, f"http://127.0.0.1:{port}")
        large = measure(large_n, f"http://127.0.0.1:{port}")
    finally:
        devstack.stop(proc)
    p = prices()
    for k in small:
        print(f"measured {k:28s} {small[k]:>16.4f} {large[k]:>16.4f}")
    f = fit(small, large)
    print("\nper day = fixed + per_resource x N:")
    for k in DAILY + PER_LOAD:
        print(f"  {k:22s} fixed {f[k][0]:>14.4f}   per resource {f[k][1]:>10.6f}")
    res = {}
    for n in (1000, 10000, 100000):
        est = estimate(f, p, n, a.dashboard_loads_per_day)
        res[n] = est
        print(f"\n{n} resources collected hourly: ${est['total']}/month")
        for k, v in est["parts"].items():
            print(f"  {k:30s} ${v}")
        print("  units: " + dumps(est["units"]))
    out = {"usd_per_month_10k_resources": str(res[10000]["total"]),
           "usd_per_month_by_resources": {str(n): str(e["total"]) for n, e in res.items()},
           "target_usd": "5", "meets_target": res[10000]["total"] < 5,
           "assumptions": {"mix": {k: str(v[0]) for k, v in MIX.items()}, "tag_combinations": PROJECTS,
                           "aws_call_s": str(AWS_CALL_S), "dashboard_loads_per_day": a.dashboard_loads_per_day},
           "wru_per_resource_day": str(f["wru"][1].quantize(Decimal("0.001"))),
           "wru_fixed_per_day": str(f["wru"][0].quantize(Decimal("1"))),
           "records_written_per_resource_day": str(f["records_written"][1].quantize(Decimal("0.001"))),
           "rru_per_dashboard_load_10k": str((f["rru_per_dashboard_load"][0] + f["rru_per_dashboard_load"][1] * 10000)
                                             .quantize(Decimal("0.1"))),
           "hourly_run_s": {str(small["resources"]): str(small["hourly_run_s"].quantize(Decimal("0.01"))),
                            str(large["resources"]): str(large["hourly_run_s"].quantize(Decimal("0.01")))},
           "collectors_costed": list(AWS_ESTATE_COLLECTORS),
           "fixed_usd_per_month_per_further_collector": fixed_per_collector(p),
           "prices": "catalog/data/aws_platform_prices.json@2026-11-26"}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
