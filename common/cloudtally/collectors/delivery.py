"""Incremental delivery: what a scheduled collector run actually writes.

A collector computes, every run, the per-resource estimates of every day in its window (today so far
and the trailing days). Writing all of them every hour would cost one DynamoDB write per resource per
hour — the largest line of CloudTally's own bill. The runner instead keeps, per scope and day, a
compressed *day ledger* beside the collector's status and writes:

* **today (open period)** — per-resource estimates are merged into the ledger (the latest record per
  resource, so a resource that stopped at 14:00 keeps its 14 hours); the store receives only
  ``x_CostSource=provisional`` *aggregates* of the ledger, one per provider / account / sub-account /
  region / service / category / unit / currency / allocation-tag values, rewritten each hour.
* **a closed day** — the ledger's per-resource records, overridden by this run's (which now cover the
  whole day), are written once as ``estimated`` detail. The rollups mark the day's provisional
  aggregates *superseded* as soon as detail of the same account/region/service exists, exactly as
  billed cost supersedes estimates.
* **re-pulled days** (trailing window, late billing data) — only records whose content changed since
  they were delivered (content hash in the ledger).

Records that are not per-resource estimates (billed cost, aggregate lines) skip the ledger merge but
still get the changed-only rule. The ledgers live in the status store (``get_states`` / ``put_state``: the API for scheduled functions);
a status store without them, or a fixed window (the agent), sends everything as before.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable

from ..focus import UTC, CostRecord, parse_record
from ..money import CONTEXT, ZERO

LEDGER_VERSION = 1
PROVISIONAL = "provisional"
# dimensions an aggregate keeps (everything else differs per resource and is dropped)
_GROUP_FIELDS = ("ProviderName", "PublisherName", "InvoiceIssuerName", "BillingAccountId", "BillingAccountName",
                 "SubAccountId", "SubAccountName", "RegionId", "RegionName", "ServiceName", "ServiceCategory",
                 "ChargeCategory", "ChargeFrequency", "BillingCurrency", "PricingCurrency", "PricingUnit",
                 "ConsumedUnit", "ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd",
                 "x_Collector")
_SUMS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "ConsumedQuantity")


def content_hash(d: dict[str, Any]) -> str:
    return hashlib.blake2b(json.dumps(d, sort_keys=True, separators=(",", ":")).encode(), digest_size=10).hexdigest()


def _canon(r: CostRecord) -> dict[str, Any]:
    return r.to_dict()


@dataclass
class DayLedger:
    """One scope's state for one charge day."""

    open: dict[str, dict[str, Any]] = field(default_factory=dict)   # id -> latest per-resource record (today)
    sent: dict[str, str] = field(default_factory=dict)              # id -> content hash of what was delivered
    closed: bool = False
    aggs: dict[str, dict[str, Any]] = field(default_factory=dict)   # id -> provisional aggregate delivered

    def encode(self) -> bytes:
        return zlib.compress(json.dumps({"v": LEDGER_VERSION, "open": self.open, "sent": self.sent,
                                         "closed": self.closed, "aggs": self.aggs},
                                        separators=(",", ":")).encode(), 6)

    @classmethod
    def decode(cls, blob: bytes | None) -> "DayLedger":
        if not blob:
            return cls()
        d = json.loads(zlib.decompress(blob))
        if d.get("v") != LEDGER_VERSION:
            return cls()   # an unknown layout is treated as nothing delivered: the day is re-sent (idempotent)
        return cls(open=d.get("open") or {}, sent=d.get("sent") or {}, closed=bool(d.get("closed")),
                   aggs=d.get("aggs") or {})


def _record(d: dict[str, Any]) -> CostRecord:
    r = parse_record({k: v for k, v in d.items() if k != "id"})
    if d.get("id") and r.id != d["id"]:
        raise ValueError(f"ledger record {d['id']} no longer has the same identity ({r.id})")
    return r


def _zeroed(d: dict[str, Any]) -> CostRecord:
    z = {k: ("0" if k in _SUMS else v) for k, v in d.items()}
    z["ChargeDescription"] = f"{d.get('ServiceName')}: no resource left in this group today"
    return _record(z)


def is_detail(r: CostRecord) -> bool:
    """A per-resource estimate: what the ledger merges and aggregates while its period is open."""
    return r.x_CostSource == "estimated" and bool(r.ResourceId)


def provisional(records: Iterable[dict[str, Any]], tag_keys: tuple[str, ...]) -> list[CostRecord]:
    """Aggregates of the open day's per-resource estimates (record dicts as kept in the ledger)."""
    groups: dict[tuple, dict[str, Any]] = {}
    for d in records:
        tags = d.get("Tags") or {}
        kept = {k: tags[k] for k in tag_keys if k in tags}
        key = tuple(d.get(f) for f in _GROUP_FIELDS) + tuple(sorted(kept.items()))
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"base": {f: d[f] for f in _GROUP_FIELDS if d.get(f) is not None}, "tags": kept,
                               "sums": {s: ZERO for s in _SUMS}, "has": {s: True for s in _SUMS}, "n": 0,
                               "versions": set()}
        for s in _SUMS:
            if d.get(s) is None:
                g["has"][s] = False
            else:
                g["sums"][s] = CONTEXT.add(g["sums"][s], Decimal(d[s]))
        g["n"] += 1
        if d.get("x_CatalogVersion"):
            g["versions"].add(d["x_CatalogVersion"])
    out = []
    for key, g in groups.items():
        vals = dict(g["base"])
        for s in _SUMS:
            if g["has"][s]:
                vals[s] = str(g["sums"][s])
        tag_part = ",".join(f"{k}={v}" for k, v in sorted(g["tags"].items()))
        vals.update({
            "Tags": g["tags"], "x_CostSource": PROVISIONAL,
            "x_LineKey": "provisional:" + hashlib.blake2b(tag_part.encode(), digest_size=8).hexdigest(),
            # no clock in the text: an aggregate whose resources all stopped is unchanged and not rewritten
            "ChargeDescription": f"{vals.get('ServiceName')}: {g['n']} resource(s) so far today; replaced by "
                                 "per-resource estimates at day close",
        })
        if len(g["versions"]) == 1:
            vals["x_CatalogVersion"] = next(iter(g["versions"]))
        out.append(parse_record(vals))
    return out


class Deliverer:
    """Turns one scope's records of one run into what is written, using and updating its day ledgers."""

    def __init__(self, *, collector: str, state: Any, send: Callable[[list[CostRecord]], None], now: datetime,
                 tag_keys: tuple[str, ...], keep_days: int = 40):
        self.collector, self.state, self.send, self.now = collector, state, send, now
        self.tag_keys, self.keep_days = tag_keys, keep_days
        self.stats = {"computed": 0, "written": 0, "skipped_unchanged": 0, "aggregated": 0, "provisional": 0}

    def _load(self, scope: str, days: list[date]) -> dict[date, DayLedger]:
        """The scope's ledgers of ``days``, in one read of the state store."""
        blobs = self.state.get_states(self.collector, scope, [f"day:{d.isoformat()}" for d in days], self.now)
        return {d: DayLedger.decode(blobs.get(f"day:{d.isoformat()}")) for d in days}

    def _save(self, scope: str, day: date, ledger: DayLedger) -> None:
        expires = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=self.keep_days)
        self.state.put_state(self.collector, scope, f"day:{day.isoformat()}", ledger.encode(), expires, now=self.now)

    def deliver(self, scope: str, records: list[CostRecord], days: list[date]) -> None:
        """Deliver ``records`` (this run's, for ``scope``); ``days`` are the scope's window days, so a day
        whose resources all vanished is still closed from its ledger."""
        by_day: dict[date, list[CostRecord]] = {}
        for r in records:
            by_day.setdefault(r.ChargePeriodStart.date(), []).append(r)
        self.stats["computed"] += len(records)
        all_days = sorted(set(days) | set(by_day))
        ledgers = self._load(scope, all_days) if all_days else {}
        for day in all_days:
            recs = by_day.get(day, [])
            ledger = ledgers[day]
            day_end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
            is_open = day_end > self.now
            if not recs and (is_open or ledger.closed or not ledger.open):
                continue
            out: list[CostRecord] = []
            dirty = False
            if is_open:
                rest = []
                for r in recs:
                    if is_detail(r) and r.ChargePeriodEnd > self.now:
                        d = _canon(r)
                        if ledger.open.get(r.id) != d:
                            ledger.open[r.id] = d
                            dirty = True
                        self.stats["aggregated"] += 1
                    else:
                        rest.append(r)
                aggs = provisional(ledger.open.values(), self.tag_keys)
                # a group left empty (its resources were re-tagged) is zeroed, or its old total would stay
                current = {a.id for a in aggs}
                aggs += [_zeroed(d) for i, d in ledger.aggs.items() if i not in current]
                ledger.aggs = {a.id: _canon(a) for a in aggs}
                self.stats["provisional"] += len(aggs)
                out, hashes = self._changed(ledger, rest + aggs)
            else:
                merged: dict[str, CostRecord] = {i: _record(d) for i, d in ledger.open.items()}
                for r in recs:
                    merged[r.id] = r
                out, hashes = self._changed(ledger, list(merged.values()))
                dirty = dirty or bool(ledger.open) or not ledger.closed
                ledger.open = {}
                ledger.closed = True
            if out:
                self.send(out)
                self.stats["written"] += len(out)
            ledger.sent.update(hashes)        # only once the send returned
            if out or dirty:       # an unchanged closed day costs a read, not a rewrite of its ledger
                self._save(scope, day, ledger)

    def _changed(self, ledger: DayLedger, recs: list[CostRecord]) -> tuple[list[CostRecord], dict[str, str]]:
        """The records whose content differs from what was delivered, and their content hashes."""
        out, hashes = [], {}
        for r in recs:
            h = content_hash(_canon(r))
            if ledger.sent.get(r.id) == h:
                self.stats["skipped_unchanged"] += 1
            else:
                out.append(r)
                hashes[r.id] = h
        return out, hashes
