"""CloudTally API on API Gateway + Lambda. Routes only: every operation lives in cloudtally.api."""

from chalice import Chalice

from chalicelib.http import install, ok, params, route, service

app = Chalice(app_name="cloudtally-api")
app.api.binary_types.extend(["application/gzip", "application/x-gzip"])
install(app)
# bodies of any declared type reach the handler, which answers 415 in CloudTally's error format
ANY = ["application/json", "application/x-ndjson", "application/ndjson", "application/gzip", "application/x-gzip",
       "text/plain", "application/octet-stream", "text/csv", "application/xml", "text/html",
       "application/x-www-form-urlencoded", "multipart/form-data"]


def _req():
    return app.current_request


@route(app, "/api/health", "GET", None)
def health():
    return ok({"status": "healthy"})


@route(app, "/v1/openapi.json", "GET", None)
def openapi():
    from cloudtally.api.openapi import document
    return ok(document())


@route(app, "/v1/records", "POST", "ingest", content_types=ANY)
def ingest_records():
    return ok(service().ingest(_req().raw_body, _req().headers))


@route(app, "/v1/records", "GET", "read")
def list_records():
    return ok(service().records(params(app)))


@route(app, "/v1/costs/summary", "GET", "read")
def cost_summary():
    return ok(service().summary(params(app)))


@route(app, "/v1/costs/top-resources", "GET", "read")
def top_resources():
    return ok(service().top_resources(params(app)))


@route(app, "/v1/metrics", "GET", "read")
def metrics():
    return ok(service().metrics(params(app)))


@route(app, "/v1/collectors", "GET", "read")
def collectors():
    return ok(service().collectors())


@route(app, "/v1/keys", "GET", "admin")
def list_keys():
    return ok({"keys": service().keys.list()})


@route(app, "/v1/keys", "POST", "admin", content_types=ANY)
def create_key():
    return ok(service().create_key(_req().raw_body, _req().headers), 201)


@route(app, "/v1/keys/{key_id}", "DELETE", "admin")
def revoke_key(key_id):
    return ok(service().keys.revoke(key_id))


@route(app, "/api/v1/agents/register", "POST", "ingest", content_types=ANY)
def register_agent():
    return ok(service().register_agent(_req().raw_body, _req().headers))


@route(app, "/api/v1/telemetry/ingest", "POST", "ingest", content_types=ANY)
def telemetry_ingest():
    return ok(service().telemetry(_req().raw_body, _req().headers))


# budgets, anomalies, exports, ... (chalicelib/features.py lists them)
from chalicelib.features import register_all  # noqa: E402

register_all(app)
