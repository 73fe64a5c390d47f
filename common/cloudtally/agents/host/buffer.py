"""The agent's buffer: collections in memory, on disk past a size limit, sent in batches that each carry an
idempotency key, with a bounded disk size and explicit counters of everything sent, refused and dropped.

Layout of ``buffer.path``::

    journal/<seq>-<time>-<points>.json   one collection (an entry): its time and metric points
    batches/<first seq>-<key>.json       a batch being sent: its idempotency key and the entries' seqs
    state.json                           counters (collected, acked, rejected, dropped), next seq, the keys
                                         acknowledged last and the seqs dropped last (for crash recovery)
    agent-id                             the agent's id when the config names none

**Durable** (the default): every collection is written to the journal when it is taken, so a ``SIGKILL``
loses nothing; memory keeps a copy of the newest entries up to ``max_memory_bytes`` (sending reads them
from memory, older ones from disk). **Not durable**: entries stay in memory and spill to disk only past the
memory limit and on a clean stop (SIGINT/SIGTERM); a SIGKILL loses what was in memory (counted as dropped
at the next start when a batch referred to it).

A batch is written to ``batches/`` (its key and seqs) *before* it is sent, so a batch re-sent after a crash
or a lost acknowledgment carries the same key and the same points, and the API counts it once. Every write
is a temporary file renamed into place; the order of the writes makes each step recoverable:
collect (journal entry, then state) → batch (manifest) → acknowledge (state with the key, then the files).

When the disk holds more than ``max_disk_bytes``, the oldest unsent collections are dropped first (then the
oldest batch) and counted in ``dropped_points`` / ``dropped_entries``: nothing disappears without a count.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("cloudtally.agent.buffer")
KEEP_KEYS = 200
KEEP_DROPS = 2000


@dataclass
class Batch:
    key: str
    seqs: list[int]
    points: int


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class Buffer:
    def __init__(self, path: str | Path, *, max_memory_bytes: int = 16 << 20, max_disk_bytes: int = 256 << 20,
                 durable: bool = True):
        self.path = Path(path)
        self.journal = self.path / "journal"
        self.batch_dir = self.path / "batches"
        self.journal.mkdir(parents=True, exist_ok=True)
        self.batch_dir.mkdir(parents=True, exist_ok=True)
        self.max_memory = max_memory_bytes
        self.max_disk = max_disk_bytes
        self.durable = durable
        self.lock = threading.RLock()
        # every entry not yet acknowledged: seq -> [time, points, size, on disk?]; memory copies apart
        self.index: OrderedDict[int, list[Any]] = OrderedDict()
        self.memory: OrderedDict[int, bytes] = OrderedDict()
        self.memory_bytes = 0
        self.disk_bytes = 0
        self.pending: OrderedDict[str, Batch] = OrderedDict()   # batches written, not yet acknowledged
        self.batched: set[int] = set()
        self.state: dict[str, Any] = {"next_seq": 1, "collected_points": 0, "collected_entries": 0,
                                      "acked_points": 0, "acked_batches": 0, "rejected_points": 0,
                                      "rejected_batches": 0, "dropped_points": 0, "dropped_entries": 0,
                                      "last_collection_time": None, "last_rejection": None,
                                      "acked_keys": [], "dropped_seqs": []}
        self._recover()

    # ------------------------------------------------------------ recovery
    def _entry_path(self, seq: int) -> Path:
        meta = self.index[seq]
        return self.journal / f"{seq:012d}-{meta[0]}-{meta[1]}.json"

    def _recover(self) -> None:
        sp = self.path / "state.json"
        if sp.exists():
            try:
                self.state.update(json.loads(sp.read_text()))
            except ValueError:
                log.error("buffer state %s is not JSON: counters restart from the journal", sp)
        acked = set(self.state["acked_keys"])
        dropped = set(self.state["dropped_seqs"])
        for f in self.journal.glob("*.tmp"):
            f.unlink()
        for f in self.batch_dir.glob("*.tmp"):
            f.unlink()
        files: dict[int, Path] = {}
        for f in sorted(self.journal.glob("*.json")):
            try:
                seq, t, n = (int(x) for x in f.stem.split("-"))
            except ValueError:
                log.error("ignoring %s: not a journal entry", f)
                continue
            if seq in dropped:
                f.unlink()
                continue
            files[seq] = f
            self.index[seq] = [t, n, f.stat().st_size, True]
            self.disk_bytes += self.index[seq][2]
        for f in sorted(self.batch_dir.glob("*.json")):
            doc = json.loads(f.read_text())
            key, seqs = doc["key"], [int(s) for s in doc["seqs"]]
            if key in acked:             # acknowledged, then stopped before the files went
                for s in seqs:
                    if s in files:
                        self._forget(s)
                f.unlink()
                continue
            present = [s for s in seqs if s in self.index]
            lost = [s for s in seqs if s not in self.index]
            if lost:                     # not durable and killed: those collections were only in memory
                self.state["dropped_entries"] += len(lost)
                self.state["dropped_points"] += doc.get("points", 0) - sum(self.index[s][1] for s in present)
                log.warning("batch %s lost %d collections that were only in memory (buffer.durable: false)", key,
                            len(lost))
            if not present:
                f.unlink()
                continue
            self.pending[key] = Batch(key, present, sum(self.index[s][1] for s in present))
            self.batched.update(present)
            self.disk_bytes += f.stat().st_size
        top = max(self.index, default=0)
        for seq, meta in self.index.items():     # written to the journal, killed before the state was
            if seq >= self.state["next_seq"]:
                self.state["collected_points"] += meta[1]
                self.state["collected_entries"] += 1
        self.state["next_seq"] = max(self.state["next_seq"], top + 1, max(dropped, default=0) + 1)
        self._save()
        if self.index:
            log.info("buffer: %d collections (%d points) waiting from before, %d batches to re-send", len(self.index),
                     sum(m[1] for m in self.index.values()), len(self.pending))

    def _save(self) -> None:
        self.state["acked_keys"] = self.state["acked_keys"][-KEEP_KEYS:]
        self.state["dropped_seqs"] = self.state["dropped_seqs"][-KEEP_DROPS:]
        _write_atomic(self.path / "state.json", _dumps(self.state))

    def _forget(self, seq: int) -> None:
        meta = self.index.pop(seq, None)
        if meta is None:
            return
        if meta[3]:
            try:
                (self.journal / f"{seq:012d}-{meta[0]}-{meta[1]}.json").unlink()
            except FileNotFoundError:
                pass              # already gone: a crash between two deletes
            self.disk_bytes -= meta[2]
        data = self.memory.pop(seq, None)
        if data is not None:
            self.memory_bytes -= len(data)
        self.batched.discard(seq)

    # ------------------------------------------------------------ adding
    def add(self, t: int, points: list[list[Any]]) -> int:
        """Keep one collection (its time in epoch seconds and its points); returns its seq."""
        with self.lock:
            seq = self.state["next_seq"]
            data = _dumps({"seq": seq, "t": t, "p": points})
            self.index[seq] = [t, len(points), len(data), False]
            if self.durable:
                self._to_disk(seq, data)
            self.memory[seq] = data
            self.memory_bytes += len(data)
            self._trim_memory()
            self.state["next_seq"] = seq + 1
            self.state["collected_points"] += len(points)
            self.state["collected_entries"] += 1
            self.state["last_collection_time"] = t
            self._save()
            return seq

    def _to_disk(self, seq: int, data: bytes) -> None:
        self._make_room(len(data), keep=seq)
        if seq not in self.index:
            return                        # dropped to make room (larger than the whole disk limit)
        meta = self.index[seq]
        _write_atomic(self.journal / f"{seq:012d}-{meta[0]}-{meta[1]}.json", data)
        meta[3] = True
        self.disk_bytes += len(data)

    def _trim_memory(self) -> None:
        """Past the memory limit: forget memory copies of the oldest entries (durable: they are on disk) or
        write them to disk (spill)."""
        while self.memory_bytes > self.max_memory and self.memory:
            seq, data = next(iter(self.memory.items()))
            if not self.index[seq][3]:
                self._to_disk(seq, data)
            if seq in self.memory:
                self.memory.pop(seq)
                self.memory_bytes -= len(data)

    def _drop(self, seqs: list[int], why: str) -> None:
        n = sum(self.index[s][1] for s in seqs if s in self.index)
        self.state["dropped_points"] += n
        self.state["dropped_entries"] += len(seqs)
        self.state["dropped_seqs"].extend(seqs)
        self._save()                     # counted before the files go: a crash in between drops nothing twice
        for s in seqs:
            self._forget(s)
        log.warning("buffer full (%s): dropped %d collections (%d points); dropped so far: %d points", why, len(seqs),
                    n, self.state["dropped_points"])

    def _make_room(self, size: int, keep: int | None = None) -> None:
        while self.disk_bytes + size > self.max_disk:
            oldest = [s for s, m in self.index.items() if m[3] and s not in self.batched and s != keep][:16]
            if oldest:
                self._drop(oldest, "oldest unsent collections")
                continue
            if self.pending:
                key, b = next(iter(self.pending.items()))
                self.pending.pop(key)
                self._drop(b.seqs, f"oldest batch {key}")
                self._delete_manifest(key, b)
                continue
            if keep is not None and keep in self.index:
                self._drop([keep], "one collection larger than buffer.max_disk_mb")
            return

    # ------------------------------------------------------------ batches
    def waiting(self) -> int:
        """Collections not yet in a batch."""
        with self.lock:
            return len(self.index) - len(self.batched)

    def oldest_time(self) -> int | None:
        with self.lock:
            for s, m in self.index.items():
                if s not in self.batched:
                    return m[0]
            return None

    def next_batch(self, max_entries: int, *, now: int | None = None, linger: float = 0.0,
                   force: bool = False) -> Batch | None:
        """The oldest batch still to send, or a new one of up to ``max_entries`` collections when that many wait,
        when the oldest has waited ``linger`` seconds by ``now``, or with ``force``; None when nothing is due."""
        with self.lock:
            if self.pending:
                return next(iter(self.pending.values()))
            free = [s for s in self.index if s not in self.batched]
            if not free:
                return None
            due = force or len(free) >= max_entries or now is None or now - self.index[free[0]][0] >= linger
            if not due:
                return None
            seqs = free[:max_entries]
            b = Batch(uuid.uuid4().hex, seqs, sum(self.index[s][1] for s in seqs))
            data = _dumps({"key": b.key, "seqs": seqs, "points": b.points})
            if self.durable or all(self.index[s][3] for s in seqs):
                _write_atomic(self.batch_dir / f"{seqs[0]:012d}-{b.key}.json", data)
                self.disk_bytes += len(data)
            self.pending[b.key] = b
            self.batched.update(seqs)
            return b

    def entries(self, batch: Batch) -> list[dict[str, Any]]:
        """The batch's collections, from memory or disk."""
        with self.lock:
            out = []
            for s in batch.seqs:
                data = self.memory.get(s)
                if data is None and s in self.index:
                    data = self._entry_path(s).read_bytes()
                if data is not None:
                    out.append(json.loads(data))
            return out

    def _delete_manifest(self, key: str, b: Batch) -> None:
        f = self.batch_dir / f"{b.seqs[0]:012d}-{key}.json" if b.seqs else None
        if f is not None and f.exists():
            self.disk_bytes -= f.stat().st_size
            f.unlink()

    def ack(self, batch: Batch, accepted: int | None = None) -> None:
        """The API acknowledged the batch (``accepted`` of its points; the rest it refused, with reasons)."""
        with self.lock:
            if batch.key not in self.pending:
                return
            accepted = batch.points if accepted is None else accepted
            self.state["acked_points"] += accepted
            self.state["acked_batches"] += 1
            if accepted < batch.points:
                self.state["rejected_points"] += batch.points - accepted
            self._settle(batch)

    def _settle(self, batch: Batch) -> None:
        """The batch is done with (counted by the caller): its key saved first, then its files deleted, so a
        crash in between never sends or counts it again."""
        self.state["acked_keys"].append(batch.key)
        self._save()
        self.pending.pop(batch.key)
        self._delete_manifest(batch.key, batch)
        for s in batch.seqs:
            self._forget(s)

    def reject(self, batch: Batch, reason: str) -> None:
        """The API refused the whole batch (a 4xx other than 429): it is not retried; counted and logged."""
        with self.lock:
            if batch.key not in self.pending:
                return
            self.state["rejected_points"] += batch.points
            self.state["rejected_batches"] += 1
            self.state["last_rejection"] = reason[:500]
            self._settle(batch)
            log.error("batch %s (%d points) refused and not retried: %s", batch.key, batch.points, reason[:300])

    # ------------------------------------------------------------ stop, stats
    def close(self) -> None:
        """A clean stop: every collection still only in memory goes to disk (spills), and the state is saved."""
        with self.lock:
            for seq, data in list(self.memory.items()):
                if seq in self.index and not self.index[seq][3]:
                    self._to_disk(seq, data)
            for key, b in self.pending.items():
                f = self.batch_dir / f"{b.seqs[0]:012d}-{key}.json"
                if not f.exists():
                    _write_atomic(f, _dumps({"key": key, "seqs": b.seqs, "points": b.points}))
            self._save()

    def stats(self) -> dict[str, Any]:
        with self.lock:
            s = {k: v for k, v in self.state.items() if k not in ("acked_keys", "dropped_seqs")}
            s.update(entries=len(self.index), batched_entries=len(self.batched), pending_batches=len(self.pending),
                     memory_entries=len(self.memory), memory_bytes=self.memory_bytes, disk_bytes=self.disk_bytes,
                     waiting_points=sum(m[1] for m in self.index.values()))
            return s
