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
from cloudtally.config import Settings  # noqa: E402


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
    return Settings(table=f"t-{uuid.uuid4().hex[:12]}", dynamodb_endpoint=ddb_endpoint, region="us-east-1",
                    auth_cache_seconds=0)


@pytest.fixture
def store(settings):
    from cloudtally.store import Store
    s = Store(settings, base_delay=0.001, max_delay=0.01)
    s.create_table()
    yield s
    s.delete_table()


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
def live_api(ddb_endpoint, tmp_path_factory):
    """The API over HTTP (cloudtally.devserver, as `make up` runs it) on its own table, with admin/ingest/read keys."""
    from cloudtally.api.service import ApiService
    from cloudtally.store import Store
    cfg = Settings(table=f"live-{uuid.uuid4().hex[:10]}", dynamodb_endpoint=ddb_endpoint, auth_cache_seconds=0)
    store = Store(cfg)
    store.create_table()
    svc = ApiService(cfg, store)
    keys = {scope: svc.keys.create(f"live-{scope}", [scope]) for scope in ("admin", "ingest", "read")}
    port = devstack.free_port()
    log = tmp_path_factory.mktemp("api") / "api.log"
    proc = devstack.start_api(port, {"CLOUDTALLY_TABLE": cfg.table, "CLOUDTALLY_DYNAMODB_ENDPOINT": ddb_endpoint,
                                     "CLOUDTALLY_AUTH_CACHE_SECONDS": "0",
                                     # DynamoDB Local (no -sharedDb) keeps one database per access key
                                     "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"]}, log=log)
    yield {"url": f"http://127.0.0.1:{port}", "keys": keys, "store": store, "settings": cfg, "log": log}
    devstack.stop(proc)
    store.delete_table()
