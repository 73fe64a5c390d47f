#!/usr/bin/env python3
"""The Azure part of `make up`: both Azure collectors, once, through the Function App's own code.

* ``azure``: the local Azure emulator (``cloudtally.providers.azure.emulator``) serves a demo subscription — 20
  VMs, an AKS cluster with two node pools, Function apps on Consumption, Flex and Premium plans, SQL (DTU, vCore,
  an elastic pool), two storage accounts and their Cost Management bill — and the collector runs over the last 35
  days through ``functions/azure/function_app.py``'s ``run`` (what its timer trigger calls): estimates, metrics
  and billed cost, so the dashboard's Microsoft numbers come from the collector.
* ``azure-billing-export``: Azurite (npm) gets a FOCUS export of a second billing account, laid out as Cost
  Management writes it (the previous billing period and the current one's closed days), and the collector imports
  it with the period replace.

Environment (set by scripts/stack.py): CLOUDTALLY_API_URL and the ingest key; CLOUDTALLY_NOW pins the clock;
CLOUDTALLY_AZURITE_PORT (default 10000). Emulator and Azurite are stopped when done.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "common"))

from cloudtally import devstack  # noqa: E402
from cloudtally.clock import from_env as clock_from_env  # noqa: E402
from cloudtally.focus import UTC  # noqa: E402
from cloudtally.periods import days_in_month, month_start  # noqa: E402

EXPORT_ACCOUNT = "/providers/Microsoft.Billing/billingAccounts/demo-mca-7731"
EXPORT_SUBSCRIPTION = "/subscriptions/2b7c4e9d-1f30-4a68-b5e2-9c0d7a3f6e18"
EXPORT_CONTAINER, EXPORT_DIR, EXPORT_NAME = "cost-exports", "exports", "focus-daily"
# (service, category, resource, a day's billed cost, a day's effective cost)
EXPORT_ROWS = (("Virtual Machines", "Compute", "vm-erp-01", "11.04", "8.28"),
               ("Storage", "Storage", "sterp01", "1.39", "1.39"),
               ("SQL Database", "Databases", "sql-erp", "4.84", "4.84"))
COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
           "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory", "ChargeFrequency",
           "ChargePeriodStart", "ChargePeriodEnd", "ProviderName", "PublisherName", "InvoiceIssuerName", "RegionId",
           "RegionName", "ResourceId", "ResourceName", "ServiceCategory", "ServiceName", "SubAccountId",
           "SubAccountName", "Tags", "x_ResourceGroupName")


def demo_export(start: datetime, end: datetime) -> bytes:
    """A FocusCost CSV (gzip) of the days ``[start, end)`` of one billing period."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    first = start.replace(day=1)
    last = first + timedelta(days=days_in_month(first.date()))
    day = start
    while day < end:
        for svc, cat, name, billed, effective in EXPORT_ROWS:
            w.writerow({"BilledCost": billed, "EffectiveCost": effective, "ListCost": billed, "ContractedCost": effective,
                        "BillingAccountId": EXPORT_ACCOUNT, "BillingAccountName": "Demo MCA", "BillingCurrency": "USD",
                        "BillingPeriodStart": f"{first:%Y-%m-%d}T00:00:00Z", "BillingPeriodEnd": f"{last:%Y-%m-%d}T00:00:00Z",
                        "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based",
                        "ChargePeriodStart": f"{day:%Y-%m-%d}T00:00:00Z",
                        "ChargePeriodEnd": f"{day + timedelta(days=1):%Y-%m-%d}T00:00:00Z", "ProviderName": "Microsoft",
                        "PublisherName": "Microsoft", "InvoiceIssuerName": "Microsoft", "RegionId": "westeurope",
                        "RegionName": "West Europe", "ResourceId": f"{EXPORT_SUBSCRIPTION}/resourceGroups/rg-erp/{name}",
                        "ResourceName": name, "ServiceCategory": cat, "ServiceName": svc, "SubAccountId": EXPORT_SUBSCRIPTION,
                        "SubAccountName": "erp-production", "Tags": '{"team":"erp"}', "x_ResourceGroupName": "rg-erp"})
        day += timedelta(days=1)
    return gzip.compress(buf.getvalue().encode(), mtime=0)


def demo_exports(now: datetime) -> dict[str, bytes]:
    """Run folder → part: the previous billing period in full and the current one's closed days."""
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    current = datetime.combine(month_start(today.date()), datetime.min.time(), UTC)
    previous = datetime.combine(month_start(today.date(), back=1), datetime.min.time(), UTC)
    out = {}
    for start, end in ((previous, current), (current, today)):
        if end > start:
            last = start + timedelta(days=days_in_month(start.date()) - 1)
            out[f"{EXPORT_DIR}/{EXPORT_NAME}/{start:%Y%m%d}-{last:%Y%m%d}/run-{now:%Y%m%d}"] = demo_export(start, end)
    return out


def deliver_exports(account_url: str, now: datetime) -> None:
    from cloudtally.providers.azure.blob import BlobContainer
    from cloudtally.providers.azure.session import AzureHttp, StaticCredential
    c = BlobContainer(AzureHttp(StaticCredential("unused")), account_url, EXPORT_CONTAINER, auth="account-key",
                      credential=devstack.AZURITE_KEY)
    c.create()
    for run, part in demo_exports(now).items():
        c.put(f"{run}/part_0_0001.csv.gz", part)
        c.put(f"{run}/manifest.json", json.dumps({"blobCount": 1, "blobs": [{"blobName": f"{run}/part_0_0001.csv.gz"}]})
              .encode())


def _report(name: str, summary: dict[str, Any]) -> None:
    computed = sum(int(sc.get("records", 0)) for sc in summary.get("scopes", {}).values())
    print(f"[collectors] {name}: {computed} records collected, {summary.get('records_sent', 0)} posted, "
          f"{summary.get('metrics_sent', 0)} metric points, {len(summary.get('failed_scopes', []))} failed scopes "
          f"{json.dumps(summary.get('failed_scopes', []))[:300]}", flush=True)


def run(now: datetime | None = None, *, env: dict[str, str] | None = None, azurite_port: int | None = None,
        days: int = 35) -> int:
    """Both Azure collectors once (the first run of ``azure`` reaches ``days`` back); the number that failed."""
    from azure.functions.timer import TimerRequest

    from cloudtally.providers.azure import deploy
    from cloudtally.providers.azure import emulator as E
    from cloudtally.providers.azure.collector import AzureClients
    from cloudtally.providers.azure.session import AzureHttp, StaticCredential

    env = dict(os.environ if env is None else env)
    now = now or clock_from_env(env).now()
    app = deploy.load_function_app()          # functions/azure/function_app.py: what the timers call
    timer = TimerRequest(past_due=False)
    failed = 0
    with E.Emulator(E.demo_estate(now)) as emu:
        clients = AzureClients(http=AzureHttp(StaticCredential("demo")), arm=emu.url, metrics=emu.metrics_url)
        env["CLOUDTALLY_COLLECTOR_CONFIG_AZURE"] = json.dumps({"initial_days": days})
        try:
            _report("azure", app.run("azure", timer, config_setting="CLOUDTALLY_COLLECTOR_CONFIG_AZURE", env=env,
                                     clients=clients, now=now))
        except Exception as e:  # report and go on: one collector's failure must not hide the other
            failed += 1
            print(f"[collectors] azure: FAILED: {type(e).__name__}: {e}", flush=True)
    port = azurite_port or int(env.get("CLOUDTALLY_AZURITE_PORT", "10000"))
    proc = devstack.start_azurite(port)
    try:
        account_url = f"http://127.0.0.1:{port}/{devstack.AZURITE_ACCOUNT}"
        deliver_exports(account_url, now)
        env["CLOUDTALLY_SECRET_AZURE_EXPORT_STORAGE_CREDENTIAL"] = devstack.AZURITE_KEY
        env["CLOUDTALLY_COLLECTOR_CONFIG_AZURE_BILLING_EXPORT"] = json.dumps({
            "account_url": account_url, "container": EXPORT_CONTAINER, "directory": EXPORT_DIR,
            "export_name": EXPORT_NAME, "auth": "account-key"})
        try:
            _report("azure-billing-export", app.run("azure-billing-export", timer, env=env, now=now,
                                                    config_setting="CLOUDTALLY_COLLECTOR_CONFIG_AZURE_BILLING_EXPORT"))
        except Exception as e:
            failed += 1
            print(f"[collectors] azure-billing-export: FAILED: {type(e).__name__}: {e}", flush=True)
    finally:
        devstack.stop(proc)
    return failed


EXPORT_DAY = sum((Decimal(r[3]) for r in EXPORT_ROWS), Decimal(0))     # the export's billed cost a day

if __name__ == "__main__":
    sys.exit(1 if run() else 0)
