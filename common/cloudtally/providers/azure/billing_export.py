"""The ``azure-billing-export`` collector: Cost Management exports (FOCUS, Actual, Amortized; CSV gzip or Parquet)
from a Blob container, imported as billed records with the same code as ``cloudtally import``.

Exports land as ``<container>/<directory>/<export name>/<YYYYMMDD-YYYYMMDD>/<run id>/part_*.csv.gz`` (or
``.parquet``) with a ``manifest.json`` per run (``blobs[].blobName``). For every billing period overlapping the
window (and the previous one in a month's first days) the collector takes the period folder's **newest run**,
checks that every blob its manifest lists has landed (an export still being written is left for the next run),
and imports all of its parts **in one import**: the period is replaced as a whole, in one visible step, by the
API's period replace (``/v1/imports``). A period whose newest run (folder and ``Last-Modified``) is the one the
scope's cursor names is skipped (``unchanged``), so nothing is re-read until the export refreshes.

Exports without run folders (``<period>/<export>_<id>.csv``, each refresh a new month-to-date file) are read the
same way: each file is a run, the newest replaces the period.

Datasets: ``focus`` (FocusCost: BilledCost and EffectiveCost in each row) is the one to use. With ``actual`` alone
BilledCost = EffectiveCost = the actual cost (nothing amortised); with ``amortized`` alone both are the amortised
cost. With ``dataset: actual`` and an
``amortized_export_name``, both exports are imported: the actual rows carry BilledCost (EffectiveCost 0), the
amortised rows EffectiveCost (BilledCost 0), each under its own collector name so each replaces its own rows —
so BilledCost sums to the invoice and EffectiveCost to the amortised cost, counted once each.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterable, Literal

from ... import periods as P
from ...collectors.config import CollectorConfig
from ...collectors.registry import CollectorSpec, Permissions, Schedule, SecretRef, register
from ...errors import ConfigError, ValidationError
from ...focus import UTC, CostRecord, iso
from ...money import ZERO

STORAGE_CREDENTIAL = SecretRef(
    "azure-export-storage-credential",
    "the export storage account's key (auth: account-key) or a SAS token with read and list (auth: sas); "
    "not needed with the managed identity", env=("AZURE_STORAGE_CREDENTIAL",))
_PERIOD = re.compile(r"^(\d{8})-(\d{8})$")


@dataclass(frozen=True)
class AzureBillingExportConfig(CollectorConfig):
    account_url: str | None = field(default=None, metadata={
        "help": "the export's storage account, https://<account>.blob.core.windows.net (required)"})
    container: str | None = field(default=None, metadata={"help": "the export's container (required)"})
    directory: str = field(default="", metadata={"help": "the export's directory (rootFolderPath)"})
    export_name: str | None = field(default=None, metadata={"help": "the export's name (required)"})
    dataset: Literal["focus", "actual", "amortized"] = "focus"
    amortized_export_name: str | None = field(default=None, metadata={
        "help": "with dataset actual: the amortized export of the same scope (its cost becomes EffectiveCost)"})
    format: Literal["auto", "focus", "azure-ea", "azure-mca"] = "auto"
    auth: Literal["managed-identity", "account-key", "sas"] = "managed-identity"
    previous_period_days: int = 5

    def check(self) -> list[tuple[str, str]]:
        out = super().check()
        if not 0 <= self.previous_period_days <= 27:
            out.append(("previous_period_days", "between 0 and 27"))
        if self.amortized_export_name and self.dataset != "actual":
            out.append(("amortized_export_name", "only with dataset actual"))
        if self.account_url and not self.account_url.startswith(("https://", "http://")):
            out.append(("account_url", "an http(s) URL"))
        return out


SPEC = register(CollectorSpec(
    name="azure-billing-export",
    provider="azure",
    runtime="azure-functions",
    schedule=Schedule.every(hours=6),
    module="cloudtally.providers.azure.billing_export",
    config=AzureBillingExportConfig,
    sdk_extra="azure-import",            # the Functions runtime and the columnar reader (polars)
    runtime_modules=("cloudtally.importers.engine", "cloudtally.importers.targets", "polars",
                     "cloudtally.providers.azure.blob"),
    description="Cost Management exports (FOCUS, Actual, Amortized; CSV gzip or Parquet) from a Blob container, "
                "imported as billed records; each billing period's newest complete run replaces that period in one "
                "visible step (same code as `cloudtally import`).",
    permissions=Permissions(azure=("Storage Blob Data Reader",)),
    secrets=(STORAGE_CREDENTIAL,),
    fixtures="azure-billing-export",
    errors="cloudtally.providers.azure.errors:to_provider_error",
    memory_mb=4096,
    timeout_s=1800,
))


@dataclass
class ExportClients:
    container: Any              # a BlobContainer
    http: Any = None

    def bind(self, ctx: Any) -> None:
        if self.http is not None:
            self.http.bind(ctx)


def _require(config: AzureBillingExportConfig) -> None:
    missing = [n for n in ("account_url", "container", "export_name") if not getattr(config, n)]
    if missing:
        raise ConfigError(f"azure-billing-export needs config {' and '.join(repr(m) for m in missing)}",
                          details=[{"field": m, "message": "required"} for m in missing])


def make_clients(config: AzureBillingExportConfig, secrets: Any = None) -> ExportClients:
    from .blob import BlobContainer
    from .session import AzureHttp, DefaultCredential
    _require(config)
    credential = None
    if config.auth != "managed-identity":
        credential = secrets.get(STORAGE_CREDENTIAL.name)
    http = AzureHttp(DefaultCredential())
    return ExportClients(container=BlobContainer(http, config.account_url, config.container, auth=config.auth,
                                                 credential=credential), http=http)


def export_root(config: AzureBillingExportConfig, name: str) -> str:
    return "/".join(p.strip("/") for p in (config.directory or "", name) if p.strip("/")) + "/"


def newest_run(container: Any, root: str, period: str) -> tuple[list[Any], Any, str | None, str]:
    """The data blobs of the newest run of one billing period (``YYYY-MM``), its newest Last-Modified, why nothing
    is importable (None when it is) and the run's folder."""
    from ...importers.sources import is_export
    runs: dict[str, list[Any]] = {}
    for b in container.list(f"{root}{period.replace('-', '')}"):       # the period's folders: YYYYMMDD-YYYYMMDD
        rest = b.name[len(root):].split("/")
        m = _PERIOD.match(rest[0]) if rest else None
        if m is None or len(rest) < 2 or f"{m.group(1)[:4]}-{m.group(1)[4:6]}" != period:
            continue
        # <period>/<run>/<part> (exports with a run folder and a manifest); a file right in the period folder
        # (the older exports: each run one month-to-date file) is a run of its own
        runs.setdefault("/".join(rest[:2]), []).append(b)
    if not runs:
        return [], None, "no files", ""
    # the newest run: its newest Last-Modified (1 s resolution), then its name
    run, blobs = max(runs.items(), key=lambda kv: (max(b.last_modified for b in kv[1]), kv[0]))
    newest = max(b.last_modified for b in blobs)
    data = sorted((b for b in blobs if is_export(b.name)), key=lambda b: b.name)
    manifest = next((b for b in blobs if b.name.endswith("/manifest.json")), None)
    if manifest is not None:
        doc = json.loads(container.read(manifest.name))
        listed = {str(x.get("blobName") or "").lstrip("/") for x in doc.get("blobs") or []}
        present = {b.name for b in data}
        absent = sorted(n for n in listed if n not in present and f"{root}{run}/{n.rsplit('/', 1)[-1]}" not in present)
        if absent:
            return [], newest, f"run {run} incomplete: {len(absent)} of {len(listed)} listed blobs not there yet", run
    if not data:
        return [], newest, f"run {run} has no data files", run
    return data, newest, None, run


class _Restamp:
    """An import target that renames the collector (and zeroes one side) of every record before staging, so the
    actual and the amortized export each replace their own rows of a period."""

    def __init__(self, target: Any, collector: str, zero: tuple[str, ...] = ()):
        self.target, self.collector, self.zero = target, collector, zero

    def begin(self, label: str, source: str | None = None) -> str:
        return self.target.begin(label, source=source)

    def stage(self, import_id: str, records: list[CostRecord]) -> int:
        out = [dataclasses.replace(r, x_Collector=self.collector, id="", **{k: ZERO for k in self.zero}) for r in records]
        return self.target.stage(import_id, out)

    def commit(self, import_id: str) -> dict[str, Any]:
        return self.target.commit(import_id)

    def abort(self, import_id: str) -> None:
        self.target.abort(import_id)


def import_period(ctx: Any, root: str, period: str, *, collector: str, zero: tuple[str, ...] = (),
                  cursor: str | None = None) -> dict[str, Any]:
    from ...importers.apply import run_import
    from ...importers.sources import Source
    container = ctx.clients.container
    blobs, newest, why, run = newest_run(container, root, period)
    if why is not None:
        return {"period": period, "status": why}
    # the cursor (at most 64 characters): the run's newest Last-Modified and a digest of its folder
    stamp = f"{iso(newest.astimezone(UTC))} {hashlib.blake2b(run.encode(), digest_size=6).hexdigest()}"
    if cursor and (stamp == cursor or stamp.split(" ")[0] < cursor.split(" ")[0]):
        return {"period": period, "status": "unchanged", "cursor": cursor}
    with tempfile.TemporaryDirectory(prefix="ct-azure-export-") as tmp:
        sources = []
        for i, b in enumerate(blobs):
            dest = Path(tmp) / f"{i:05d}-{b.name.rsplit('/', 1)[-1]}"
            container.download(b.name, dest)
            sources.append(Source(f"{container.base}/{b.name}", b.size, path=dest))
        rep = run_import(sources, fmt=ctx.config.format, target=_Restamp(ctx.imports, collector, zero), label=collector,
                         tmpdir=tmp)
    if not rep.ok:
        raise ValidationError(f"billing period {period} not imported: "
                              + "; ".join(f"{n['file']}: {n['error']}" for n in rep.not_imported)[:900],
                              details=rep.not_imported[:20])
    return {"period": period, "status": "imported", "cursor": stamp, "rows": rep.rows, "records": rep.records,
            "written": rep.written, "deleted": rep.deleted, "totals": rep.totals}


def exports(config: AzureBillingExportConfig) -> list[tuple[str, str, tuple[str, ...]]]:
    """(export name, collector name of its rows, amounts zeroed) to import."""
    if config.dataset == "actual" and config.amortized_export_name:
        return [(config.export_name, f"{SPEC.name}:actual", ("EffectiveCost", "ContractedCost")),
                (config.amortized_export_name, f"{SPEC.name}:amortized", ("BilledCost", "ListCost"))]
    return [(config.export_name, SPEC.name if config.dataset == "focus" else f"{SPEC.name}:{config.dataset}", ())]


def collect(ctx: Any) -> Iterable[Any]:
    """Import every changed billing period of the window, per export; errors are recorded per period scope."""
    _require(ctx.config)
    if ctx.imports is None:
        raise ConfigError("azure-billing-export needs an import target (the API's /v1/imports, through the sink)")
    win = ctx.window
    start = min(win.start, win.end - timedelta(days=ctx.config.trailing_days))
    for name, collector, zero in exports(ctx.config):
        root = export_root(ctx.config, name)
        for period in P.billing_months(start, win.end, ctx.config.previous_period_days):
            scope = f"{ctx.clients.container.base}/{root}{period}"
            with ctx.scope(scope) as st:
                res = import_period(ctx, root, period, collector=collector, zero=zero, cursor=ctx.cursor(scope))
                st.records += int(res.get("written", 0))
                st.notes.append(f"{period}: {res['status']}" + (f", {res['rows']} rows, {res['written']} written, "
                                                                 f"{res['deleted']} stale removed" if "rows" in res else ""))
                if res.get("cursor"):
                    ctx.set_cursor(scope, res["cursor"])
    return []
