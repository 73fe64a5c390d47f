"""Metric points: packed per metric, UTC day, series and bucket, with a TTL."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable, Iterator

from ..errors import StoreError
from ..focus import UTC, MetricPoint
from ..money import fmt


class MetricsMixin:
    # ------------------------------------------------------------------ metrics
    # Packed layout: one item per (name, UTC day, series, bucket), pk ``M#<name>#<day>``, sk
    # ``<series>|<bucket>``; bucket ``d`` holds the day's on-the-hour points, ``h<HH>`` the sub-hourly
    # points of hour HH; each point is an attribute ``t<HHMMSS>`` (``t<HHMMSS><ffffff>`` below a second).
    # An hourly series-day is one item under 1 KB: 1 WRU instead of 24 when its points arrive together.
    _METRIC_POINTS_PER_UPDATE = 100  # keeps an UpdateExpression near 1.4 KB, far below DynamoDB's 4 KB

    _METRIC_WORKERS = 8

    def write_metrics(self, points: Iterable[MetricPoint]) -> int:
        """Write metric points (idempotent per series and time) with a TTL; returns how many were kept
        (points already past the retention of ``CLOUDTALLY_METRIC_TTL_DAYS`` are dropped).

        Points merge into their series-day item with ``UpdateItem ... SET``: other writers' points stay,
        a re-sent point overwrites its attribute. Raises :class:`StoreError` (HTTP 503) if an update
        still fails after retries; a retry of the same batch is idempotent.
        """
        ttl_s = self.cfg.metric_ttl_days * 86400
        now = self.cfg.clock.timestamp()   # the settings' clock: a stack pinned at a day keeps that day's points
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for p in points:
            ts = p.timestamp
            ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
            if ts.timestamp() + ttl_s <= now:
                continue  # older than the retention: DynamoDB's TTL would delete it on arrival
            day = ts.date()
            on_hour = not (ts.minute or ts.second or ts.microsecond)
            key = (f"M#{p.name}#{day.isoformat()}", f"{p.series}|{'d' if on_hour else f'h{ts.hour:02d}'}")
            it = items.get(key)
            if it is None:
                day_end = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + 86400
                it = items[key] = {"ttl": str(day_end + ttl_s), "pts": {}}
            for attr, val in (("u", p.unit), ("src", p.source)):
                if val:
                    it[attr] = val
            if p.dimensions:
                it["dm"] = json.dumps(p.dimensions, separators=(",", ":"), sort_keys=True)
            attr = f"t{ts.hour:02d}{ts.minute:02d}{ts.second:02d}" + (f"{ts.microsecond:06d}" if ts.microsecond else "")
            it["pts"][attr] = fmt(p.value)
        updates = [u for key, it in items.items() for u in self._metric_updates(key, it)]
        if len(updates) > 4:
            with ThreadPoolExecutor(min(self._METRIC_WORKERS, len(updates))) as ex:
                list(ex.map(self._update_metric_item, updates))  # re-raises the first failure
        else:
            for u in updates:
                self._update_metric_item(u)
        return sum(len(it["pts"]) for it in items.values())

    def _metric_updates(self, key: tuple[str, str], it: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """UpdateItem requests for one packed item, at most ``_METRIC_POINTS_PER_UPDATE`` points each."""
        pts = sorted(it["pts"].items())
        for i in range(0, len(pts), self._METRIC_POINTS_PER_UPDATE):
            names = {"#ttl": "ttl"}
            values: dict[str, dict[str, str]] = {":ttl": {"N": it["ttl"]}}
            for attr in ("u", "dm", "src"):
                if attr in it:
                    names[f"#{attr}"] = attr
                    values[f":{attr}"] = {"S": it[attr]}
            for j, (attr, num) in enumerate(pts[i:i + self._METRIC_POINTS_PER_UPDATE]):
                names[f"#p{j}"] = attr
                values[f":p{j}"] = {"N": num}
            yield {"TableName": self.table, "Key": {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
                   "UpdateExpression": "SET " + ", ".join(f"{n} = :{n[1:]}" for n in names),
                   "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}

    def _update_metric_item(self, kwargs: dict[str, Any]) -> None:
        try:
            self._call("UpdateItem", kwargs, "write")
        except StoreError as e:
            raise StoreError("metric points not written after retries; retry the request (writes are idempotent)",
                             retry_after=max(2, e.retry_after)) from e

    def query_metrics(self, name: str, start: date, end: date, *, dimensions: dict[str, str] | None = None,
                      limit: int = 5000) -> list[dict[str, Any]]:
        """Points of metric ``name`` on UTC days [start, end), at most ``limit``, each
        ``{"name", "timestamp", "value", "unit", "dimensions"}``: day by day, series by series, by time.

        Reads packed items and single-point items of the earlier layout (attribute ``v``, sk
        ``<series>|<ISO time>``) alike; a day stops paging once ``limit`` points of whole series are read.
        """
        out: list[dict[str, Any]] = []
        d = start
        while d < end and len(out) < limit:
            kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :pk",
                                      "ExpressionAttributeValues": {":pk": {"S": f"M#{name}#{d.isoformat()}"}}}
            prefix = f"{d.isoformat()}T"
            reading: dict[str, dict[str, dict[str, Any]]] = {}  # series → {ISO time: point}, not yet complete
            while True:
                resp = self._call("Query", kwargs, "read")
                for it in resp.get("Items", []):
                    sk = it["sk"]["S"]
                    series, _, bucket = sk.rpartition("|")
                    if reading and series not in reading:
                        self._flush_metric_series(reading, out, sk)
                    dims = json.loads(it["dm"]["S"]) if "dm" in it else {}
                    if dimensions and any(dims.get(k) != v for k, v in dimensions.items()):
                        continue
                    pts = reading.setdefault(series, {})
                    unit = it.get("u", {}).get("S", "")
                    if "v" in it:  # earlier layout: one item per point, its time in the sort key
                        pts[bucket] = {"name": name, "timestamp": bucket, "value": Decimal(it["v"]["N"]),
                                       "unit": unit, "dimensions": dims}
                        continue
                    for attr, val in it.items():
                        if attr[0] == "t" and attr[1:].isdigit():  # t<HHMMSS>[<ffffff>]
                            frac = "." + attr[7:] if len(attr) > 7 else ""
                            ts = f"{prefix}{attr[1:3]}:{attr[3:5]}:{attr[5:7]}{frac}Z"
                            pts[ts] = {"name": name, "timestamp": ts, "value": Decimal(val["N"]), "unit": unit,
                                       "dimensions": dims}
                if not resp.get("LastEvaluatedKey") or len(out) >= limit:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
            self._flush_metric_series(reading, out, None)
            d += timedelta(days=1)
        return out[:limit]

    @staticmethod
    def _flush_metric_series(reading: dict[str, dict[str, dict[str, Any]]], out: list[dict[str, Any]],
                             sk: str | None) -> None:
        """Move the series whose items are all read to ``out``, each by time (``sk=None``: all of them).

        Items arrive in sort-key order and a series' sort keys are ``<series>|`` + a bucket or ISO time
        (digits, ``d``, ``h``), all below ``<series>|~``: once ``sk`` reaches that, the series is complete.
        """
        for series in [s for s in reading if sk is None or s + "|~" <= sk]:
            pts = reading.pop(series)
            out.extend(pts[t] for t in sorted(pts, key=lambda t: t.rstrip("Z")))  # "10:00:00" < "10:00:00.5"


class MetricBatchesMixin:
    """Idempotent OTLP batches: a batch sent with an idempotency key is written and **counted once**.

    The ledger item ``I#<key>`` / ``I`` records the batch's body digest and what was taken (TTL: the metric
    retention). Order: look the key up → write the points (idempotent per series and time) → put the ledger
    item *and* add to the sender's counters in one transaction, conditional on the key being new. A crash
    between the writes leaves no ledger item: the re-sent batch rewrites the same points and is counted then;
    a batch re-sent after its acknowledgment was lost finds the ledger item and is answered from it without
    counting again (``duplicate_batches`` tells how often that happened).
    """

    def metric_batch(self, key: str) -> dict[str, Any] | None:
        it = self.get_item(f"I#{key}", "I")
        if not it:
            return None
        return {"digest": it["dg"]["S"], "accepted": int(it["n"]["N"]), "rejected": int(it["rj"]["N"]),
                "error_message": it.get("em", {}).get("S", ""), "agent_id": it.get("ag", {}).get("S")}

    def write_metric_batch(self, points: list[MetricPoint], *, key: str | None, digest: str, agent_id: str | None,
                           accepted: int, rejected: int, error_message: str, now: datetime) -> dict[str, Any]:
        """Write one request's points; returns ``{"replay": bool, "accepted", "rejected", "error_message"}``
        (a replay: the key was seen with the same body, nothing written or counted again). Raises
        :class:`~cloudtally.errors.Conflict` for a key reused with another body."""
        from ..errors import Conflict
        from .agents import _dt

        if key:
            seen = self.metric_batch(key)
            if seen is not None:
                if seen["digest"] != digest:
                    raise Conflict("this Idempotency-Key was used for a different batch", code="idempotency_key_reused",
                                   details={"idempotency_key": key})
                if agent_id:
                    self.count_batch(agent_id, points=0, now=now, duplicate=True)
                return {"replay": True, **seen}
        if points:
            self.write_metrics(points)
        if not key:
            if agent_id:
                self.count_batch(agent_id, points=accepted, now=now)
            return {"replay": False, "accepted": accepted, "rejected": rejected, "error_message": error_message}
        ttl = int(now.timestamp()) + self.cfg.metric_ttl_days * 86400
        item = {"pk": {"S": f"I#{key}"}, "sk": {"S": "I"}, "dg": {"S": digest}, "n": {"N": str(accepted)},
                "rj": {"N": str(rejected)}, "at": {"S": _dt(now)}, "ttl": {"N": str(ttl)}}
        if error_message:
            item["em"] = {"S": error_message[:2000]}
        if agent_id:
            item["ag"] = {"S": agent_id}
        ops: list[dict[str, Any]] = [{"Put": {"TableName": self.table, "Item": item,
                                              "ConditionExpression": "attribute_not_exists(pk)"}}]
        if agent_id:
            ops.append({"Update": self.counter_update(agent_id, points=accepted, now=now)})
        try:
            self._call("TransactWriteItems", {"TransactItems": ops}, "write")
        except StoreError as e:
            if not _lost_race(e):
                raise
            seen = self.metric_batch(key) or {}     # a concurrent request with the same key won: counted there
            if seen.get("digest", digest) != digest:
                raise Conflict("this Idempotency-Key was used for a different batch", code="idempotency_key_reused",
                               details={"idempotency_key": key}) from None
            return {"replay": True, "accepted": accepted, "rejected": rejected, "error_message": error_message}
        return {"replay": False, "accepted": accepted, "rejected": rejected, "error_message": error_message}


def _lost_race(e: BaseException) -> bool:
    """A transaction cancelled because its conditional Put found the key already there."""
    from .base import err_code
    cause = e.__cause__
    if cause is None or err_code(cause) != "TransactionCanceledException":
        return False
    reasons = getattr(cause, "cancellation_reasons", None) or ()
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)
