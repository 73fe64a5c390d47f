"""Items of the observability hubs (repositories over a :class:`~cloudtally.store.Store`):

* ``O`` / ``C#<cluster id>``: a registered cluster (nodes, region); ``O`` / ``S#<service>``: a registered
  service (cluster, dependencies, SLA target) with its last reported status;
* ``LI`` / ``T#<run id>``: an LLM training run (model, cluster, nodes); ``LI`` / ``R#<pipeline id>``: a RAG
  pipeline (embedding and generation model);
* ``LT#<run id>`` / ``c#<chunk>``: the steps ``100·chunk … 100·chunk+99`` of a run, one attribute per step;
  ``LT#<run id>`` / ``s#<chunk>``: that chunk's summary, recomputed from the chunk's steps on every write;
* ``LR#<pipeline id>`` / ``c#<session>#<chunk>``: 100 queries of one client session, one attribute each;
  ``LR#<pipeline id>`` / ``s#<session>#<chunk>``: that chunk's summary (each latency series' values, sums, counts).

A step (or query) is identified by its run and step number (pipeline, session and sequence number), so a
re-sent batch overwrites what it wrote: counts and sums stay exact. A chunk summary carries the chunk's
version (an ``ADD`` counter of its updates) and is written only when no newer one exists, so concurrent
writers of one chunk end with the summary of all its steps. System and service metrics are ordinary metric
points (:meth:`Store.write_metrics`).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from .base import DB_ERRORS, conditional_failed

CHUNK = 100          # steps (queries) per chunk item: an update rewrites ≤ ~8 KB


def _s(v: str) -> dict[str, str]:
    return {"S": v}


def _json(d: Any) -> dict[str, str]:
    return {"S": json.dumps(d, separators=(",", ":"), sort_keys=True)}


class HubRepo:
    """Clusters, services, LLM runs and pipelines over one store."""

    def __init__(self, store: Any):
        self.store = store

    # ------------------------------------------------------------------ low level
    def _put(self, pk: str, sk: str, doc: dict[str, Any]) -> None:
        self.store._call("PutItem", {"TableName": self.store.table,
                                     "Item": {"pk": _s(pk), "sk": _s(sk), "d": _json(doc)}}, "write")

    def _docs(self, pk: str, prefix: str) -> list[dict[str, Any]]:
        items = self.store.query({"KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
                                  "ConsistentRead": True,
                                  "ExpressionAttributeValues": {":pk": _s(pk), ":p": _s(prefix)}})
        out = []
        for it in items:
            doc = json.loads(it["d"]["S"]) if "d" in it else {}
            doc["_key"] = it["sk"]["S"].split("#", 1)[1]
            for k, v in it.items():
                if k not in ("pk", "sk", "d") and "S" in v:
                    doc[k] = v["S"]
            out.append(doc)
        return out

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        it = self.store.get_item(pk, sk)
        return json.loads(it["d"]["S"]) if it and "d" in it else None

    # ------------------------------------------------------------------ clusters and services
    def put_cluster(self, doc: dict[str, Any]) -> None:
        self._put("O", f"C#{doc['cluster_id']}", doc)

    def clusters(self) -> list[dict[str, Any]]:
        return self._docs("O", "C#")

    def put_service(self, doc: dict[str, Any]) -> None:
        """Register (or re-register) a service; its last reported status is kept."""
        self.store._call("UpdateItem", {
            "TableName": self.store.table, "Key": {"pk": _s("O"), "sk": _s(f"S#{doc['service_name']}")},
            "UpdateExpression": "SET d = :d", "ExpressionAttributeValues": {":d": _json(doc)}}, "write")

    def set_service_status(self, name: str, status: str, at: str) -> None:
        """The service's latest status, kept only if ``at`` (ISO time) is newer than the stored one."""
        try:
            self.store._call("UpdateItem", {
                "TableName": self.store.table, "Key": {"pk": _s("O"), "sk": _s(f"S#{name}")},
                "UpdateExpression": "SET st = :s, sat = :t",
                "ConditionExpression": "attribute_not_exists(sat) OR sat < :t",
                "ExpressionAttributeValues": {":s": _s(status), ":t": _s(at)}}, "write")
        except DB_ERRORS as e:
            if not conditional_failed(e):
                raise

    def services(self) -> list[dict[str, Any]]:
        """Registered services and services that only reported a status (no ``cluster_id`` then)."""
        return [{"service_name": d["_key"], **d} for d in self._docs("O", "S#")]

    # ------------------------------------------------------------------ LLM: index items
    def put_run_info(self, kind: str, key: str, info: dict[str, Any]) -> None:
        """Set the given fields of a run's (``kind="T"``) or pipeline's (``"R"``) index item."""
        names, values, sets = {}, {}, []
        for i, (k, v) in enumerate(sorted(info.items())):
            names[f"#f{i}"] = k
            values[f":f{i}"] = _json(v)
            sets.append(f"#f{i} = :f{i}")
        if not sets:
            return
        self.store._call("UpdateItem", {
            "TableName": self.store.table, "Key": {"pk": _s("LI"), "sk": _s(f"{kind}#{key}")},
            "UpdateExpression": "SET " + ", ".join(sets), "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values}, "write")

    def run_info(self, kind: str, key: str) -> dict[str, Any] | None:
        it = self.store.get_item("LI", f"{kind}#{key}")
        return _info(it) if it else None

    def run_infos(self, kind: str) -> list[dict[str, Any]]:
        items = self.store.query({"KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
                                  "ExpressionAttributeValues": {":pk": _s("LI"), ":p": _s(f"{kind}#")}})
        return [_info(it) for it in items]

    # ------------------------------------------------------------------ LLM: chunks
    def write_chunk(self, pk: str, sk: str, entries: dict[str, str],
                    summarize: Callable[[dict[str, str]], dict[str, Any]] | None = None,
                    summary_sk: str | None = None) -> None:
        """Merge ``entries`` (attribute → encoded entry) into one chunk item; with ``summarize``, write the
        summary of the whole chunk as it now is under ``summary_sk`` (unless a newer one is there)."""
        names, values, sets = {}, {":one": {"N": "1"}}, []
        for i, (attr, enc) in enumerate(sorted(entries.items())):
            names[f"#a{i}"] = attr
            values[f":a{i}"] = _s(enc)
            sets.append(f"#a{i} = :a{i}")
        resp = self.store._call("UpdateItem", {
            "TableName": self.store.table, "Key": {"pk": _s(pk), "sk": _s(sk)},
            "UpdateExpression": "SET " + ", ".join(sets) + " ADD v :one", "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values, "ReturnValues": "ALL_NEW" if summarize else "NONE"}, "write")
        if summarize is None or summary_sk is None:
            return
        item = resp["Attributes"]
        version = item["v"]["N"]
        chunk = {k: v["S"] for k, v in item.items() if k not in ("pk", "sk", "v") and "S" in v}
        try:
            self.store._call("PutItem", {
                "TableName": self.store.table,
                "Item": {"pk": _s(pk), "sk": _s(summary_sk), "d": _json(summarize(chunk)), "v": {"N": version}},
                "ConditionExpression": "attribute_not_exists(v) OR v < :v",
                "ExpressionAttributeValues": {":v": {"N": version}}}, "write")
        except DB_ERRORS as e:
            if not conditional_failed(e):   # a newer summary of this chunk is there already
                raise

    def chunk_docs(self, pk: str, prefix: str) -> list[dict[str, Any]]:
        """The ``d`` documents of a partition's items under ``prefix`` (chunk summaries)."""
        items = self.store.query({"KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)", "ConsistentRead": True,
                                  "ExpressionAttributeValues": {":pk": _s(pk), ":p": _s(prefix)}})
        return [json.loads(it["d"]["S"]) for it in items if "d" in it]


def _info(it: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"key": it["sk"]["S"].split("#", 1)[1]}
    for k, v in it.items():
        if k in ("pk", "sk") or "S" not in v:
            continue
        out[k] = json.loads(v["S"])
    return out
