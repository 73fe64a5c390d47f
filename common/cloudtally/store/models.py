"""PynamoDB models of the single CloudTally table.

Item kinds (``pk`` / ``sk``):

* ``R#<day>`` / ``<record id>``: a cost record (hot path: encoded by :mod:`.codec`, short names)
* ``U#<month>`` / ``<day>``: the day's lite rollup cube; ``U#<month>`` / ``<day>#d``: its dirty marker
* ``V#<month>`` / ``<day>``: the day's full rollup cube (every dimension and allocation tag)
* ``T#<month>`` / ``<day>#<chunk>``: the day's per-resource rollup
* ``K`` / ``<key id>``: an API key (secret stored as a keyed hash); one partition, listed by a query
* ``A`` / ``<agent id>``: a registered agent
* ``C`` / ``<collector>#<scope>``: a collector's cursor and last-run status
* ``M#<metric>#<day>`` / ``<series>|<time>``: a metric point, expired by the ``ttl`` attribute
* ``B`` / ``<budget id>``: a budget; ``L#<alert key>`` / ``L``: an alert-ledger claim (pending → sent);
  ``N#<month>`` / ``<day>#<anomaly id>``: an anomaly; ``S`` / ``<currency>#<dim>=<value>``: an anomaly
  suppression (see :mod:`.budgets_repo`)
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from pynamodb.attributes import (Attribute, JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute,
                                 UnicodeSetAttribute, UTCDateTimeAttribute)
from pynamodb.constants import NUMBER
from pynamodb.models import Model

from ..config import Settings
from ..money import fmt


class DecimalAttribute(Attribute[Decimal]):
    """A number attribute that round-trips :class:`~decimal.Decimal` exactly (PynamoDB's is float)."""

    attr_type = NUMBER

    def serialize(self, value: Decimal) -> str:
        return fmt(value)

    def deserialize(self, value: Any) -> Decimal:
        return Decimal(value)


class TableItem(Model):
    """Key schema shared by every item kind; table name and endpoint are bound from settings."""

    class Meta:
        table_name = "cloudtally"
        region = "us-east-1"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    ttl = TTLAttribute(null=True)


class ApiKeyItem(TableItem):
    name = UnicodeAttribute(attr_name="nm")
    scopes = UnicodeSetAttribute(attr_name="sc")
    secret_hash = UnicodeAttribute(attr_name="h")
    created_at = UTCDateTimeAttribute(attr_name="ca")
    revoked_at = UTCDateTimeAttribute(attr_name="ra", null=True)


class AgentItem(TableItem):
    hostname = UnicodeAttribute(attr_name="hn", null=True)
    cloud_provider = UnicodeAttribute(attr_name="cp", null=True)
    region = UnicodeAttribute(attr_name="rg", null=True)
    agent_type = UnicodeAttribute(attr_name="at", null=True)
    agent_version = UnicodeAttribute(attr_name="av", null=True)
    config = JSONAttribute(attr_name="cf", null=True)
    registered_at = UTCDateTimeAttribute(attr_name="ra")
    last_seen = UTCDateTimeAttribute(attr_name="ls", null=True)


class CollectorStatusItem(TableItem):
    collector = UnicodeAttribute(attr_name="co")
    scope = UnicodeAttribute(attr_name="scp")
    status = UnicodeAttribute(attr_name="st")
    last_run = UTCDateTimeAttribute(attr_name="lr")
    last_success = UTCDateTimeAttribute(attr_name="lsu", null=True)
    cursor = UnicodeAttribute(attr_name="cu", null=True)
    records = NumberAttribute(attr_name="n", default=0)
    errors = JSONAttribute(attr_name="er", null=True)
    marks = JSONAttribute(attr_name="mk", null=True)


class MetricItem(TableItem):
    value = DecimalAttribute(attr_name="v")
    unit = UnicodeAttribute(attr_name="u", null=True)
    dimensions = JSONAttribute(attr_name="dm", null=True)
    source = UnicodeAttribute(attr_name="src", null=True)


ALL_MODELS = (TableItem, ApiKeyItem, AgentItem, CollectorStatusItem, MetricItem)


_BOUND: dict[tuple, SimpleNamespace] = {}


def bound_models(settings: Settings) -> SimpleNamespace:
    """The models bound to one table/region/endpoint: subclasses with their own ``Meta``.

    Binding per store (not by mutating the shared ``Meta``) lets two stores on different tables live in
    one process (tests, benchmarks, a CLI importing into one table while serving another).
    """
    key = (settings.table, settings.region, settings.dynamodb_endpoint)
    ns = _BOUND.get(key)
    if ns is None:
        meta = type("Meta", (), {"table_name": settings.table, "region": settings.region,
                                 "host": settings.dynamodb_endpoint, "billing_mode": "PAY_PER_REQUEST"})
        ns = SimpleNamespace(**{m.__name__: type(m.__name__, (m,), {"Meta": meta, "__module__": m.__module__})
                                for m in ALL_MODELS})
        _BOUND[key] = ns
    return ns
