"""Shared fixtures: real DynamoDB Local (Amazon's jar), moto server, the API in-process or over HTTP.

Each service starts once per test session (per xdist worker) on a free port; each test gets its own
table, so tests never see each other's data.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
             "AWS_REGION": "us-east-1", "AWS_SECURITY_TOKEN": "testing", "AWS_SESSION_TOKEN": "testing"}.items():
    os.environ[k] = v

from cloudtally import devstack  # noqa: E402
from cloudtally.clock import SYSTEM as SYSTEM_CLOCK  # noqa: E402
from cloudtally.config import Settings  # noqa: E402
from tests.helpers import MID_MONTH, pinned, pinned_env  # noqa: E402

TEST_NOW = MID_MONTH   # the clock of the ``settings`` fixture (store, API service, alert evaluator)
LIVE_NOW = MID_MONTH   # the clock of the live_api process


def _import_root(folder: str) -> None:
    """Give a function folder its own import root (Chalice and Azure folders share module names)."""
    path = str(ROOT / "functions" / folder)
    for name in [m for m in sys.modules if m in ("app", "chalicelib") or m.startswith("chalicelib.")]:
        del sys.modules[name]
    for p in [p for p in sys.path if p.startswith(str(ROOT / "functions"))]:
        sys.path.remove(p)
    sys.path.insert(0, path)


@pytest.fixture(scope="session")
def ddb_endpoint(tmp_path_factory):
    ext = os.environ.get("CLOUDTALLY_TEST_DYNAMODB_ENDPOINT")
    if ext:
        yield ext
        return
    port = devstack.free_port()
    proc = devstack.start_dynamodb_local(port, log=tmp_path_factory.mktemp("ddb") / "ddb.log")
    yield f"http://127.0.0.1:{port}"
    devstack.stop(proc)


@pytest.fixture
def settings(ddb_endpoint) -> Settings:
    """A fresh table's settings, the clock pinned at ``TEST_NOW``: the store, the API service and the alert
    evaluator built from them never read the wall clock (a test needing another instant replaces it)."""
    return Settings(table=f"t-{uuid.uuid4().hex[:12]}", dynamodb_endpoint=ddb_endpoint, region="us-east-1",
                    auth_cache_seconds=0, clock=pinned(TEST_NOW))


@pytest.fixture
def store(settings):
    from cloudtally.store import Store
    s = Store(settings, base_delay=0.001, max_delay=0.01)
    s.create_table()
    no_ttl(s)
    yield s
    s.delete_table()


def no_ttl(store) -> None:
    """Tests pin the clock, often to past days; DynamoDB Local's TTL sweeper deletes by the wall clock, so
    test tables keep TTL off (readers judge expiry by their own clock; tests/integration/test_infra.py checks
    the deployed table has TTL on ``ttl``)."""
    store.conn.client.update_time_to_live(TableName=store.table, TimeToLiveSpecification={
        "AttributeName": "ttl", "Enabled": False})


@pytest.fixture
def service(settings, store):
    from cloudtally.api.service import ApiService
    return ApiService(settings, store)


@pytest.fixture
def keys(service):
    return {scope: service.keys.create(f"test-{scope}", [scope]) for scope in ("admin", "ingest", "read")}


@pytest.fixture
def api(service):
    """The Chalice app in-process (chalice.test.Client) bound to this test's table."""
    _import_root("api")
    import app as app_module
    from chalice.test import Client
    from chalicelib import http
    http.set_service(service)
    with Client(app_module.app) as client:
        yield client
    http.set_service(None)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    ext = os.environ.get("CLOUDTALLY_TEST_MOTO_ENDPOINT")
    if ext:
        yield ext
        return
    port = devstack.free_port()
    proc = devstack.start_moto(port, log=tmp_path_factory.mktemp("moto") / "moto.log")
    yield f"http://127.0.0.1:{port}"
    devstack.stop(proc)


@pytest.fixture(scope="session")
def azurite_endpoint(tmp_path_factory):
    """Azurite's blob service (npm, in memory): the account URL of its development account."""
    port = devstack.free_port()
    proc = devstack.start_azurite(port, log=tmp_path_factory.mktemp("azurite") / "azurite.log")
    yield f"http://127.0.0.1:{port}/{devstack.AZURITE_ACCOUNT}"
    devstack.stop(proc)


def _serve_api(ddb_endpoint, tmp_path_factory, now=LIVE_NOW):
    """The API over HTTP (cloudtally.devserver, as `make up` runs it) on its own table, with admin/ingest/read keys, its clock
    pinned at ``now`` (``CLOUDTALLY_NOW``; ``LIVE_NOW`` unless told): default ranges and budget periods never follow the
    wall clock. ``now=None``: the system clock, for tests whose emulator stamps with it (moto's launch times)."""
    from cloudtally.api.service import ApiService
    from cloudtally.store import Store
    cfg = Settings(table=f"live-{uuid.uuid4().hex[:10]}", dynamodb_endpoint=ddb_endpoint, auth_cache_seconds=0,
                   clock=pinned(now) if now is not None else SYSTEM_CLOCK)
    store = Store(cfg)
    store.create_table()
    no_ttl(store)
    svc = ApiService(cfg, store)
    keys = {scope: svc.keys.create(f"live-{scope}", [scope]) for scope in ("admin", "ingest", "read")}
    port = devstack.free_port()
    log = tmp_path_factory.mktemp("api") / "api.log"
    proc = devstack.start_api(port, {"CLOUDTALLY_TABLE": cfg.table, "CLOUDTALLY_DYNAMODB_ENDPOINT": ddb_endpoint,
                                     "CLOUDTALLY_AUTH_CACHE_SECONDS": "0",
                                     **(pinned_env(now) if now is not None else {"CLOUDTALLY_NOW": ""}),
                                     # DynamoDB Local (no -sharedDb) keeps one database per access key
                                     "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"]}, log=log)
    yield {"url": f"http://127.0.0.1:{port}", "keys": keys, "store": store, "settings": cfg, "log": log,
           "now": now}
    devstack.stop(proc)
    store.delete_table()


@pytest.fixture(scope="session")
def live_api(ddb_endpoint, tmp_path_factory):
    """The API over HTTP (cloudtally.devserver, as `make up` runs it) on its own table, with admin/ingest/read keys."""
    yield from _serve_api(ddb_endpoint, tmp_path_factory)


@pytest.fixture(scope="module")
def module_live_api(ddb_endpoint, tmp_path_factory):
    """Like ``live_api``, on a table of the test module's own: for records no other module may see."""
    yield from _serve_api(ddb_endpoint, tmp_path_factory)


@pytest.fixture
def http_api(settings, store, service, tmp_path):
    """The API over HTTP on this test's own table, with admin/ingest/read keys and an ingest client."""
    from cloudtally.client import Client
    keys = {scope: service.keys.create(f"http-{scope}", [scope]) for scope in ("admin", "ingest", "read")}
    port = devstack.free_port()
    log = tmp_path / "api.log"
    proc = devstack.start_api(port, {"CLOUDTALLY_TABLE": settings.table, "CLOUDTALLY_DYNAMODB_ENDPOINT":
                                     settings.dynamodb_endpoint, "CLOUDTALLY_AUTH_CACHE_SECONDS": "0",
                                     "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"]}, log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        yield {"url": url, "keys": keys, "log": log, "store": store,
               "client": Client(url, keys["ingest"]["id"], keys["ingest"]["secret"], base_delay=0.05, max_delay=0.5)}
    finally:
        devstack.stop(proc)


@pytest.fixture
def no_table(monkeypatch):
    """``with no_table():`` — inside, this process may not reach DynamoDB (what a scheduled function is
    allowed: records and state go through the API). The function's environment has no table settings."""
    import contextlib

    import pynamodb.connection.base as base

    for k in ("CLOUDTALLY_TABLE", "CLOUDTALLY_DYNAMODB_ENDPOINT"):
        monkeypatch.delenv(k, raising=False)

    def refuse(self, operation_name, *a, **kw):
        raise AssertionError(f"a collector function called DynamoDB {operation_name}: it must use the API")

    @contextlib.contextmanager
    def guard():
        real = base.Connection._make_api_call
        base.Connection._make_api_call = refuse
        try:
            yield
        finally:
            base.Connection._make_api_call = real

    return guard
