"""Registered agents (partition ``A``): OpenFinOps-style agents and host agents."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PynamoDBException

from ..focus import UTC
from .base import conditional_failed
from .models import AgentItem


class AgentsMixin:
    def register_agent(self, agent_id: str, info: dict[str, Any], *, now: datetime | None = None) -> AgentItem:
        now = now or datetime.now(UTC)
        item = self.m.AgentItem(pk="A", sk=agent_id, registered_at=now, last_seen=now, **info)
        item.save()
        return item

    def touch_agent(self, agent_id: str, *, now: datetime | None = None) -> None:
        """Mark a registered agent seen (an unregistered one is ignored)."""
        try:
            self.m.AgentItem(pk="A", sk=agent_id).update(
                actions=[self.m.AgentItem.last_seen.set(now or datetime.now(UTC))],
                condition=self.m.AgentItem.pk.exists())
        except PynamoDBException as e:
            if not conditional_failed(e):
                raise

    def list_agents(self) -> list[AgentItem]:
        return list(self.m.AgentItem.query("A"))


# ---------------------------------------------------------------------------------------------- host agents
# A host agent's heartbeat (TelemetryFlow ``POST /agents/{id}/heartbeat``) updates its item in partition ``A``
# in place: the latest systemInfo (zlib-compressed JSON, ``si``), first and last seen, the heartbeat count. Its
# counters (points and batches received over OTLP, counted once per idempotency key) live in a small item of
# their own (``AC`` / ``<agent id>``), so counting a batch never rewrites the systemInfo.
HEARTBEAT_ATTRS = {"kind": "kd", "hostname": "hn", "agent_version": "av", "name": "nm", "environment": "env",
                   "cloud_provider": "cp", "region": "rg", "heartbeat_interval": "hi"}
COUNTERS_PK = "AC"


def _dt(value: datetime) -> str:
    """The format PynamoDB's UTCDateTimeAttribute writes (``registered_at``/``last_seen`` of AgentItem)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def _parse_dt(raw: str | None) -> datetime | None:
    if not raw:
        return None
    return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


class HeartbeatsMixin:
    def record_heartbeat(self, agent_id: str, system_info: dict[str, Any], facts: dict[str, Any], *,
                         tags: dict[str, str] | None, now: datetime) -> dict[str, Any]:
        """Store the agent's latest ``systemInfo`` (compressed) and its facts; first seen is kept, last seen
        set to ``now`` (the API's clock). Returns ``{"first_seen", "last_seen", "heartbeats"}``."""
        import zlib

        blob = zlib.compress(json.dumps(system_info, separators=(",", ":"), sort_keys=True).encode(), 6)
        names: dict[str, str] = {"#si": "si", "#ls": "ls", "#fs": "fs", "#ra": "ra", "#hb": "hb"}
        values: dict[str, Any] = {":si": {"B": blob}, ":now": {"S": _dt(now)}, ":one": {"N": "1"}}
        sets = ["#si = :si", "#ls = :now", "#fs = if_not_exists(#fs, :now)", "#ra = if_not_exists(#ra, :now)"]
        removes = []
        for key, attr in HEARTBEAT_ATTRS.items():
            v = facts.get(key)
            names[f"#{attr}"] = attr
            if v is None or v == "":
                removes.append(f"#{attr}")
            else:
                values[f":{attr}"] = {"N": str(v)} if isinstance(v, int) else {"S": str(v)}
                sets.append(f"#{attr} = :{attr}")
        names["#tg"] = "tg"
        if tags:
            values[":tg"] = {"S": json.dumps(tags, separators=(",", ":"), sort_keys=True)}
            sets.append("#tg = :tg")
        else:
            removes.append("#tg")
        expr = "SET " + ", ".join(sets) + " ADD #hb :one" + (" REMOVE " + ", ".join(removes) if removes else "")
        resp = self._call("UpdateItem", {"TableName": self.table, "Key": {"pk": {"S": "A"}, "sk": {"S": agent_id}},
                                         "UpdateExpression": expr, "ExpressionAttributeNames": names,
                                         "ExpressionAttributeValues": values, "ReturnValues": "UPDATED_NEW"}, "write")
        attrs = resp.get("Attributes", {})
        return {"first_seen": _parse_dt(attrs.get("fs", {}).get("S")) or now, "last_seen": now,
                "heartbeats": int(attrs.get("hb", {}).get("N", "1"))}

    def agents(self) -> list[dict[str, Any]]:
        """Every agent of partition ``A`` (host agents and OpenFinOps agents) with its counters: one query
        each for the agents and the counters."""
        counters = {it["sk"]["S"]: it for it in self.query({"KeyConditionExpression": "pk = :pk",
                                                             "ExpressionAttributeValues": {":pk": {"S": COUNTERS_PK}}})}
        return [_agent_row(it, counters.get(it["sk"]["S"], {})) for it in self.query(
            {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "A"}}})]

    def agent(self, agent_id: str) -> dict[str, Any] | None:
        """One agent with its counters (two reads), or None."""
        it = self.get_item("A", agent_id, consistent=False)
        return _agent_row(it, self.get_item(COUNTERS_PK, agent_id, consistent=False) or {}) if it else None

    def counter_update(self, agent_id: str, *, points: int, batches: int = 1, duplicates: int = 0,
                       now: datetime) -> dict[str, Any]:
        """The UpdateItem request adding to an agent's counters (used alone or inside a transaction)."""
        return {"TableName": self.table, "Key": {"pk": {"S": COUNTERS_PK}, "sk": {"S": agent_id}},
                "UpdateExpression": "SET #lb = :now ADD #pts :pts, #bat :bat, #dup :dup",
                "ExpressionAttributeNames": {"#lb": "lb", "#pts": "pts", "#bat": "bat", "#dup": "dup"},
                "ExpressionAttributeValues": {":now": {"S": _dt(now)}, ":pts": {"N": str(points)},
                                              ":bat": {"N": str(batches)}, ":dup": {"N": str(duplicates)}}}

    def count_batch(self, agent_id: str, *, points: int, now: datetime, duplicate: bool = False) -> None:
        """Add a batch to an agent's counters outside the idempotency ledger (a request without a key, or
        a replay: ``duplicate`` counts it as such and adds no points)."""
        self._call("UpdateItem", self.counter_update(agent_id, points=0 if duplicate else points,
                                                     batches=0 if duplicate else 1, duplicates=int(duplicate),
                                                     now=now), "write")


def _agent_row(it: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    import zlib

    row: dict[str, Any] = {"agent_id": it["sk"]["S"]}
    for key, attr in HEARTBEAT_ATTRS.items():
        if attr in it:
            row[key] = int(it[attr]["N"]) if "N" in it[attr] else it[attr]["S"]
    if "at" in it:
        row["agent_type"] = it["at"]["S"]
    row["first_seen"] = _parse_dt(it.get("fs", {}).get("S")) or _parse_dt(it.get("ra", {}).get("S"))
    row["last_seen"] = _parse_dt(it.get("ls", {}).get("S"))
    row["heartbeats"] = int(it.get("hb", {}).get("N", "0"))
    row["tags"] = json.loads(it["tg"]["S"]) if "tg" in it else {}
    if "cf" in it:
        row["config"] = json.loads(it["cf"]["S"])
    if "si" in it:
        row["system_info"] = json.loads(zlib.decompress(it["si"]["B"]))
    row["points_received"] = int(c.get("pts", {}).get("N", "0"))
    row["batches_received"] = int(c.get("bat", {}).get("N", "0"))
    row["duplicate_batches"] = int(c.get("dup", {}).get("N", "0"))
    return row
