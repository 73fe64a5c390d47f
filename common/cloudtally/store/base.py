"""The table every store concern shares: one connection, retried calls, consumed capacity, pagination.

All DynamoDB access goes through PynamoDB (models for small items, its connection's ``dispatch``
for the record hot path and rollups). Consumed capacity of every call is added to
:attr:`Table.capacity` so benchmarks and tests can read real WRU/RRU figures.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from decimal import Decimal
from typing import Any, Callable, Iterator

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError as BotoConnectionError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException

from ..config import Settings, settings as default_settings
from ..errors import BadRequest, StoreError
from .models import bound_models

log = logging.getLogger("cloudtally.store")

RETRYABLE = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
             "InternalServerError", "ServiceUnavailable", "TransactionConflictException"}
DB_ERRORS = (PynamoDBException, BotoCoreError, ClientError)


def err_code(e: BaseException) -> str | None:
    """The DynamoDB error code of ``e`` (through PynamoDB's wrapping), if any."""
    resp = getattr(e, "response", None)
    if isinstance(resp, dict):
        return resp.get("Error", {}).get("Code")
    cause = getattr(e, "cause", None)
    return err_code(cause) if cause is not None and cause is not e else None


def conditional_failed(e: BaseException) -> bool:
    return err_code(e) == "ConditionalCheckFailedException"


def _retryable(e: BaseException) -> bool:
    if isinstance(e, (BotoConnectionError, BotoCoreError)) and not isinstance(e, ClientError):
        return True
    code = err_code(e)
    if code in RETRYABLE:
        return True
    cause = getattr(e, "__cause__", None)
    return bool(cause and cause is not e and _retryable(cause))


class Table:
    """The single table: calls with retries (exponential backoff, full jitter) and capacity accounting."""

    def __init__(self, cfg: Settings | None = None, *, connection: Connection | None = None,
                 max_attempts: int = 8, base_delay: float = 0.05, max_delay: float = 2.0, workers: int = 4):
        self.cfg = cfg or default_settings()
        self.m = bound_models(self.cfg)
        self.table = self.cfg.table
        self.conn = connection or Connection(region=self.cfg.region, host=self.cfg.dynamodb_endpoint,
                                             max_retry_attempts=2, connect_timeout_seconds=5,
                                             read_timeout_seconds=10)
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.workers = workers
        self._lock = threading.Lock()
        self._state_gens: dict[str, str] = {}   # ledger key -> generation last read or written ("" = absent)
        self.capacity = {"read": Decimal(0), "write": Decimal(0)}
        self.retries = 0  # throttled/timed-out calls and UnprocessedItems rounds retried, all time
        self.sleep: Callable[[float], None] = time.sleep
        # test hook: called between the record write and the rollup marking (crash injection)
        self.after_records_written: Callable[[list[str]], None] | None = None

    # ------------------------------------------------------------------ low level
    def _count(self, resp: dict, kind: str) -> None:
        cc = resp.get("ConsumedCapacity")
        if not cc:
            return
        total = sum(Decimal(str(c.get("CapacityUnits", 0))) for c in (cc if isinstance(cc, list) else [cc]))
        with self._lock:
            self.capacity[kind] += total

    def _call(self, op: str, kwargs: dict, kind: str) -> dict:
        """One DynamoDB call with retries on throttling/timeouts (exponential backoff, full jitter)."""
        kwargs.setdefault("ReturnConsumedCapacity", "TOTAL")
        for attempt in range(self.max_attempts):
            try:
                resp = self.conn.dispatch(op, dict(kwargs))
                self._count(resp, kind)
                return resp
            except DB_ERRORS as e:
                if not _retryable(e) or attempt == self.max_attempts - 1:
                    if _retryable(e):
                        raise StoreError(f"DynamoDB {op} still throttled after {attempt + 1} attempts",
                                         retry_after=2) from e
                    if err_code(e) == "ConditionalCheckFailedException":
                        raise
                    if err_code(e) == "ValidationException":  # e.g. a key longer than DynamoDB allows
                        raise BadRequest("the request was rejected by the database as invalid",
                                         code="invalid_request") from e
                    raise StoreError(f"DynamoDB {op} failed: {err_code(e) or type(e).__name__}") from e
                with self._lock:
                    self.retries += 1
                self._backoff(attempt)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> None:
        self.sleep(random.uniform(0, min(self.max_delay, self.base_delay * (2 ** attempt))))

    # ------------------------------------------------------------------ schema
    def create_table(self, *, wait: bool = True) -> bool:
        """Create the table (on-demand, TTL on ``ttl``); returns False if it already existed."""
        if self.m.TableItem.exists():
            return False
        # PynamoDB enables TTL on the model's TTLAttribute ("ttl") as part of create_table
        self.m.TableItem.create_table(billing_mode="PAY_PER_REQUEST", wait=wait)
        return True

    def delete_table(self) -> None:
        if self.m.TableItem.exists():
            self.m.TableItem.delete_table()

    def pages(self, kwargs: dict[str, Any], *, kind: str = "read", limit: Any = None) -> Iterator[dict]:
        """Each response of a Query, following ``LastEvaluatedKey`` (the one paginated-query helper; a caller
        that has enough stops iterating). ``limit()`` — a callable — sets each page's ``Limit``."""
        kwargs = {"TableName": self.table, **kwargs}
        while True:
            resp = self._call("Query", {**kwargs, **({"Limit": limit()} if limit else {})}, kind)
            yield resp
            lek = resp.get("LastEvaluatedKey")
            if not lek:
                return
            kwargs = {**kwargs, "ExclusiveStartKey": lek}

    def query(self, kwargs: dict[str, Any], *, kind: str = "read") -> Iterator[dict]:
        """Every item of a Query, all pages."""
        for resp in self.pages(kwargs, kind=kind):
            yield from resp.get("Items", [])

    def get_item(self, pk: str, sk: str, *, consistent: bool = True) -> dict | None:
        resp = self._call("GetItem", {"TableName": self.table, "ConsistentRead": consistent,
                                      "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}, "read")
        return resp.get("Item")
