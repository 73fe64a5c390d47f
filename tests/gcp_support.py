"""Running the ``gcp`` collector against the emulator (scripts/gcp_emulator.py) in tests."""

from __future__ import annotations

import copy
import json
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from tests.helpers import load_module

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "gcp"
NOW = datetime(2026, 12, 15, 9, 30, tzinfo=timezone.utc)
emulator_mod = load_module(ROOT / "scripts" / "gcp_emulator.py", "cloudtally_gcp_emulator")
estate_mod = load_module(ROOT / "scripts" / "gcp_estate.py", "cloudtally_gcp_estate")
replay_mod = load_module(FIXTURES / "replay.py", "cloudtally_gcp_replay")
EXPORT_TABLE = estate_mod.EXPORT_TABLE


def estate() -> dict[str, Any]:
    """A fresh copy of the recorded estate."""
    return json.loads((FIXTURES / "estate.json").read_text())


@contextmanager
def emulated(est: dict[str, Any] | None = None, *, export: bool = True, now: datetime = NOW, tables: dict | None = None
             ) -> Iterator[Any]:
    """A started emulator (the recorded estate unless ``est``), its URL as ``emu.url``."""
    if export:
        emu, _ = replay_mod.emulator(copy.deepcopy(est) if est is not None else None, now=now)
    else:
        emu = emulator_mod.Emulator(copy.deepcopy(est) if est is not None else estate(), catalog_dir=FIXTURES / "catalog")
    for name, (kind, rows) in (tables or {}).items():
        emu.bq.create(name, kind, rows)
    emu.url = emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def run(emu: Any, config: dict[str, Any] | None = None, *, now: datetime = NOW, status: Any = None, sink: Any = None,
        window: Any = None) -> tuple[dict[str, Any], Any]:
    """One collector run against ``emu``: (summary, sink)."""
    from cloudtally.collectors import registry, runner
    from cloudtally.providers.gcp.session import GcpClients

    sink = sink if sink is not None else runner.ListSink()
    clients = GcpClients(endpoint=emu.url, sleep=lambda s: None)
    summary = runner.run(registry.get("gcp"), sink=sink, clients=clients, now=now,
                         status=status if status is not None else runner.MemoryStatus(ledgers=False),
                         config=config or {}, window=window)
    summary["bytes_billed"] = clients.bytes_billed
    return summary, sink


def records(sink: Any, **match: Any) -> list[Any]:
    return [r for r in sink.records.values() if all(getattr(r, k) == v for k, v in match.items())]


def total(recs: list[Any], field: str = "BilledCost") -> Decimal:
    return sum((getattr(r, field) for r in recs), Decimal(0))
