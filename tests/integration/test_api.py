"""The API in-process (chalice.test.Client) against DynamoDB Local: ingest, queries, auth, errors."""

from __future__ import annotations

import base64
import gzip
import json
from decimal import Decimal

import pytest

from tests.helpers import key_headers, rec


def _post(api, key, body, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return api.http.post("/v1/records", headers=key_headers(key, **{"Content-Type": "application/json", **headers}),
                         body=data)


def _summary(api, key, qs="from=2024-09-01&to=2024-10-01&granularity=total"):
    r = api.http.get(f"/v1/costs/summary?{qs}", headers=key_headers(key))
    assert r.status_code == 200, r.body
    return json.loads(r.body)


def _err(r, status):
    assert r.status_code == status, (r.status_code, r.body)
    body = json.loads(r.body)
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]
    return body["error"]


def test_mixed_batch_keeps_valid_records_and_reports_each_invalid_index(api, keys):
    batch = [rec(ResourceId="a"), {"ProviderName": "AWS"}, rec(ResourceId="b", BilledCost="abc"),
             rec(ResourceId="c", BillingCurrency="XXX"), rec(ResourceId="d", BilledCost=1.5)]
    r = _post(api, keys["ingest"], batch)
    assert r.status_code == 200
    body = json.loads(r.body)
    # JSON numbers are parsed as exact decimals, so record 4 (1.5) is valid
    assert body["accepted"] == 2
    assert [x["index"] for x in body["rejected"]] == [1, 2, 3]
    fields = {x["index"]: {e["field"] for e in x["errors"]} for x in body["rejected"]}
    assert {"BillingAccountId", "ChargePeriodStart", "BilledCost", "BillingCurrency"} <= fields[1]
    assert fields[2] == {"BilledCost"} and fields[3] == {"BillingCurrency"}
    assert Decimal(_summary(api, keys["read"])["totals"]["USD"]["BilledCost"]) == Decimal("2.50")


def test_json_numbers_are_parsed_exactly_not_as_floats(api, keys):
    r = _post(api, keys["ingest"], '[' + json.dumps(rec(ResourceId="n"))[:-1] + ', "EffectiveCost": 0.1}]')
    assert r.status_code == 200 and json.loads(r.body)["accepted"] == 1
    batch = '[{"ProviderName":"AWS","BillingAccountId":"1","ChargePeriodStart":"2024-09-01","ChargePeriodEnd":"2024-09-02",' \
            '"BilledCost":0.1,"BillingCurrency":"USD","ResourceId":"m"}]'
    assert json.loads(_post(api, keys["ingest"], batch).body)["accepted"] == 1
    assert Decimal(_summary(api, keys["read"])["totals"]["USD"]["BilledCost"]) == Decimal("1.10")


@pytest.mark.parametrize("amount", ["0.0000000001", "123456789012.123456789"])
def test_extreme_amounts_round_trip_exactly_through_api_and_store(api, keys, amount):
    assert json.loads(_post(api, keys["ingest"], [rec(BilledCost=amount)]).body)["accepted"] == 1
    assert _summary(api, keys["read"])["totals"]["USD"]["BilledCost"] == amount
    listed = json.loads(api.http.get("/v1/records?from=2024-09-01&to=2024-09-02",
                                     headers=key_headers(keys["read"])).body)["records"]
    assert [r["BilledCost"] for r in listed] == [amount]


def test_ndjson_and_gzip_bodies(api, keys):
    nd = "\n".join(json.dumps(rec(ResourceId=f"r{i}")) for i in range(3)) + "\nnot json\n"
    r = _post(api, keys["ingest"], nd, **{"Content-Type": "application/x-ndjson"})
    body = json.loads(r.body)
    assert body["accepted"] == 3 and body["rejected"][0]["index"] == 3
    gz = gzip.compress(json.dumps([rec(ResourceId="g")]).encode())
    r = _post(api, keys["ingest"], gz, **{"Content-Encoding": "gzip"})
    assert json.loads(r.body)["accepted"] == 1
    r = _post(api, keys["ingest"], gz, **{"Content-Type": "application/gzip"})
    assert json.loads(r.body)["accepted"] == 1
    assert _summary(api, keys["read"])["totals"]["USD"]["records"] == 4


def test_limits_give_413(api, keys):
    big = b"[" + b" " * (6 * 1024 * 1024) + b"]"
    assert _err(_post(api, keys["ingest"], big), 413)["code"] == "payload_too_large"
    many = [rec(ResourceId=f"r{i}") for i in range(5001)]
    e = _err(_post(api, keys["ingest"], json.dumps(many, separators=(",", ":"))), 413)
    assert e["details"]["limit_records"] == 5000
    bomb = gzip.compress(b"[" + b" " * (20 * 1024 * 1024) + b"]")
    assert _err(_post(api, keys["ingest"], bomb, **{"Content-Encoding": "gzip"}), 413)["code"] == "payload_too_large"


@pytest.mark.parametrize("body,ctype,status", [
    ("{not json", "application/json", 400),
    ('[{"BilledCost": NaN}]', "application/json", 400),
    ('[{"BilledCost": Infinity}]', "application/json", 400),
    ("[" * 100 + "]" * 100, "application/json", 400),
    ("", "application/json", 400),
    ("\xff\xfe", "application/json", 400),
    ("a,b\n1,2", "text/csv", 415),
    ("<x/>", "application/xml", 415),
    ("42", "application/json", 400),
])
def test_bad_bodies_get_4xx_in_the_error_format(api, keys, body, ctype, status):
    _err(_post(api, keys["ingest"], body.encode("latin-1") if "\xff" in body else body, **{"Content-Type": ctype}), status)


def test_huge_strings_and_unknown_columns_are_field_errors(api, keys):
    r = _post(api, keys["ingest"], [rec(ResourceId="x" * 5000, Tags={"t": "v" * 1000}, Bogus=1)])
    errs = {e["field"] for e in json.loads(r.body)["rejected"][0]["errors"]}
    assert {"ResourceId", "Tags.t", "Bogus"} <= errs


def test_every_auth_style_and_scope(api, keys):
    k = keys["read"]
    styles = [key_headers(k), {"Authorization": f"Bearer {k['id']}.{k['secret']}"},
              {"Authorization": "Basic " + base64.b64encode(f"{k['id']}:{k['secret']}".encode()).decode()},
              {"X-TelemetryFlow-Key-ID": k["id"], "X-TelemetryFlow-Key-Secret": k["secret"]}]
    for h in styles:
        assert api.http.get("/v1/costs/summary", headers=h).status_code == 200, h
    assert _err(api.http.get("/v1/costs/summary"), 401)["code"] == "missing_key"
    assert _err(api.http.get("/v1/costs/summary", headers={**key_headers(k), "X-CloudTally-Key-Secret": "nope"}),
                401)["code"] == "invalid_key"
    assert _err(api.http.get("/v1/costs/summary", headers={"Authorization": "Basic !!!"}), 401)
    # wrong scope: read key cannot ingest, ingest key cannot read, only admin manages keys
    assert _err(_post(api, k, [rec()]), 403)["code"] == "insufficient_scope"
    assert _err(api.http.get("/v1/costs/summary", headers=key_headers(keys["ingest"])), 403)
    assert _err(api.http.get("/v1/keys", headers=key_headers(k)), 403)
    assert api.http.get("/v1/costs/summary", headers=key_headers(keys["admin"])).status_code == 200
    assert api.http.get("/api/health").status_code == 200


def test_keys_api_create_list_revoke(api, keys):
    admin = key_headers(keys["admin"], **{"Content-Type": "application/json"})
    r = api.http.post("/v1/keys", headers=admin, body=json.dumps({"name": "ci", "scopes": ["read"]}))
    assert r.status_code == 201
    new = json.loads(r.body)
    assert new["secret"].startswith("cts_")
    listed = json.loads(api.http.get("/v1/keys", headers=admin).body)["keys"]
    assert new["id"] in {k["id"] for k in listed}
    assert all("secret" not in k and "secret_hash" not in k for k in listed)
    assert api.http.get("/v1/costs/summary", headers=key_headers(new)).status_code == 200
    assert api.http.delete(f"/v1/keys/{new['id']}", headers=admin).status_code == 200
    assert _err(api.http.get("/v1/costs/summary", headers=key_headers(new)), 401)["code"] == "revoked_key"
    assert _err(api.http.delete("/v1/keys/ctk_nope", headers=admin), 404)
    assert _err(api.http.post("/v1/keys", headers=admin, body=json.dumps({"name": "x", "scopes": ["root"]})), 400)


def test_secret_never_appears_in_logs_or_error_bodies(api, keys, caplog):
    caplog.set_level("DEBUG")
    k = keys["ingest"]
    bad = {**key_headers(k), "X-CloudTally-Key-Secret": k["secret"] + "x"}
    responses = [_post(api, k, [rec()]), api.http.get("/v1/costs/summary", headers=key_headers(k)),
                 api.http.get("/v1/costs/summary", headers=bad),
                 api.http.get("/v1/costs/summary", headers={"Authorization": f"Bearer {k['id']}.{k['secret']}"})]
    for r in responses:
        assert k["secret"] not in r.body.decode()
    assert caplog.records, "the API logs each request"
    assert k["secret"] not in caplog.text


def test_query_validation_errors_name_the_parameter(api, keys):
    h = key_headers(keys["read"])
    e = _err(api.http.get("/v1/costs/summary?from=2024-13-01&group_by=color&granularity=hour&bogus=1", headers=h), 400)
    assert {d["field"] for d in e["details"]} >= {"bogus", "granularity"}
    e = _err(api.http.get("/v1/costs/summary?from=2024-09-05&to=2024-09-01", headers=h), 400)
    assert e["details"][0]["field"] == "to"
    _err(api.http.get("/v1/records?limit=0", headers=h), 400)
    _err(api.http.get("/v1/records?cursor=garbage", headers=h), 400)
    _err(api.http.get("/v1/costs/top-resources?metric=Foo", headers=h), 400)


def test_summary_top_resources_and_collectors_endpoints(api, keys, store):
    _post(api, keys["ingest"], [rec(ResourceId=f"i-{i}", BilledCost=str(i), Tags={"team": "t"}) for i in range(1, 6)])
    s = _summary(api, keys["read"], "from=2024-09-01&to=2024-09-02&group_by=provider,tag:team")
    assert s["results"][0]["group"] == {"provider": "AWS", "tag:team": "t"}
    assert Decimal(s["results"][0]["BilledCost"]) == 15
    top = json.loads(api.http.get("/v1/costs/top-resources?from=2024-09-01&to=2024-09-02&limit=2",
                                  headers=key_headers(keys["read"])).body)
    assert [t["ResourceId"] for t in top["resources"]] == ["i-5", "i-4"]
    store.set_collector_status("aws", "us-east-1", status="ok", records=5)
    store.set_collector_status("aws", "eu-west-1", status="error", errors=[{"code": "AccessDenied", "message": "no"}])
    cols = json.loads(api.http.get("/v1/collectors", headers=key_headers(keys["read"])).body)["collectors"]
    assert cols[0]["name"] == "aws" and cols[0]["status"] == "failing" and cols[0]["records"] == 5
    assert {s["scope"]: s["status"] for s in cols[0]["scopes"]} == {"us-east-1": "ok", "eu-west-1": "error"}


def test_cors_headers_for_the_dashboard(api, keys):
    r = api.http.get("/v1/costs/summary", headers=key_headers(keys["read"]))
    assert r.headers.get("Access-Control-Allow-Origin") == "*"


def test_openapi_document_describes_every_route(api):
    doc = json.loads(api.http.get("/v1/openapi.json").body)
    assert doc["openapi"].startswith("3.")
    for path in ("/v1/records", "/v1/costs/summary", "/v1/costs/top-resources", "/v1/collectors", "/v1/keys",
                 "/api/v1/agents/register", "/api/v1/telemetry/ingest", "/api/health"):
        assert path in doc["paths"]
    rec_schema = doc["components"]["schemas"]["CostRecord"]
    assert set(rec_schema["required"]) >= {"ProviderName", "BilledCost", "BillingCurrency"}
    params = {p["name"] for p in doc["paths"]["/v1/costs/summary"]["get"]["parameters"]}
    assert {"from", "to", "group_by", "granularity", "provider", "tag"} <= params


# ------------------------------------------------------------------ OpenFinOps agents

def _snapshot(ts: int, rate: str = "0.096"):
    return {"agent_id": "aws-agent-1", "timestamp": ts, "hostname": "h", "cloud_provider": "aws",
            "region": "us-west-2", "services": {
                "ec2": {"instances": [{"instance_id": "i-abc", "instance_type": "m5.large", "hourly_cost": Decimal(rate),
                                       "tags": {"team": "web"}, "cpu_utilization": 12.5}],
                        "total_instances": 1, "total_hourly_cost": Decimal(rate)},
                "s3": {"buckets": [{"bucket_name": "logs", "hourly_cost": "0.004"}]}},
            "summary": {"total_hourly_cost": Decimal(rate)}}


def test_openfinops_register_and_twelve_snapshots_count_the_hour_once(api, keys, store):
    from datetime import timedelta

    from cloudtally.money import dumps
    h = key_headers(keys["ingest"], **{"Content-Type": "application/json"})
    reg = {"agent_id": "aws-agent-1", "hostname": "h", "cloud_provider": "aws", "region": "us-west-2",
           "agent_type": "aws_telemetry", "agent_version": "1.0.0", "config": {"interval": 300}}
    r = api.http.post("/api/v1/agents/register", headers=h, body=json.dumps(reg))
    assert r.status_code == 200
    # two recent hours by the store's pinned clock (metric points older than their 30-day retention are
    # dropped on arrival)
    start = (store.cfg.clock.now() - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    hour = int(start.timestamp())
    for i in range(12):  # every 5 minutes
        r = api.http.post("/api/v1/telemetry/ingest", headers=h, body=dumps(_snapshot(hour + 300 * i)))
        assert r.status_code == 200 and json.loads(r.body)["records"] == 2
    r = api.http.post("/api/v1/telemetry/ingest", headers=h, body=dumps(_snapshot(hour + 3600, "0.1")))
    day, next_day = start.date(), start.date() + timedelta(days=1)
    s = _summary(api, keys["read"], f"from={day}&to={next_day}&granularity=total&group_by=service")
    got = {x["group"]["service"]: x["BilledCost"] for x in s["results"]}
    # two hours of EC2 (0.096 + 0.1), two hours of S3 (2 × 0.004): not 12 × 0.096
    assert got == {"Amazon Elastic Compute Cloud": "0.196", "Amazon Simple Storage Service": "0.008"}
    pts = store.query_metrics("aws.ec2.instances.cpu_utilization", day, next_day)
    assert len(pts) == 13 and pts[0]["value"] == Decimal("12.5")
    assert [a.sk for a in store.list_agents()] == ["aws-agent-1"]
    # a snapshot older than the metric retention still counts its cost; its metric points are not kept
    old = api.http.post("/api/v1/telemetry/ingest", headers=h, body=dumps(_snapshot(1725148800)))
    assert json.loads(old.body)["records"] == 2
    assert store.query_metrics("aws.ec2.instances.cpu_utilization", __import__("datetime").date(2024, 9, 1),
                               __import__("datetime").date(2024, 9, 2)) == []


def test_openfinops_bad_payloads_are_4xx(api, keys):
    h = key_headers(keys["ingest"], **{"Content-Type": "application/json"})
    _err(api.http.post("/api/v1/telemetry/ingest", headers=h, body="[]"), 400)
    _err(api.http.post("/api/v1/telemetry/ingest", headers=h, body=json.dumps({"agent_id": "a"})), 400)
    _err(api.http.post("/api/v1/agents/register", headers=h, body=json.dumps({"hostname": 5})), 400)
    # nothing taken is not a success: 422 with every element's reason, and nothing written
    r = api.http.post("/api/v1/telemetry/ingest", headers=h, body=json.dumps(
        {"agent_id": "a", "timestamp": 1725148800, "services": {"ec2": {"instances": [
            {"instance_id": "i", "hourly_cost": "lots"}]}}}))
    err = _err(r, 422)
    assert err["code"] == "nothing_ingested"
    assert err["details"]["rejected"][0]["path"] == "services.ec2.instances[0]"
    # a mixed payload keeps its valid part and lists the rest
    r = api.http.post("/api/v1/telemetry/ingest", headers=h, body=json.dumps(
        {"agent_id": "a", "timestamp": 1725148800, "cloud_provider": "aws", "services": {"ec2": {"instances": [
            {"instance_id": "i", "hourly_cost": "lots"}, {"instance_id": "j", "hourly_cost": "0.5", "state": "on"}]}}}))
    body = json.loads(r.body)
    assert r.status_code == 200 and body["status"] == "partial" and body["records"] == 1
    assert body["cost"] == {"USD": "0.5"} and body["rejected"][0]["path"] == "services.ec2.instances[0]"
    assert body["ignored"] == [{"path": "services.ec2.instances[].state", "count": 1,
                                "reason": "descriptive text of a recorded element that no FOCUS column takes"}]


def test_openfinops_payload_of_which_nothing_is_taken_is_422_with_the_ignored_list(api, keys, store):
    """An Azure agent whose credential failed sends only an error: not a success, nothing written."""
    h = key_headers(keys["ingest"], **{"Content-Type": "application/json"})
    doc = {"agent_id": "azure-telemetry-x-1796082433", "timestamp": 1796082433.25,
           "metrics": {"error": "DefaultAzureCredential failed to retrieve a token", "timestamp": 1796082433.25},
           "events": [], "agent_health": {"status": "healthy", "uptime": 12.5, "last_collection": 1796082433.25}}
    err = _err(api.http.post("/api/v1/telemetry/ingest", headers=h, body=json.dumps(doc)), 422)
    assert err["code"] == "nothing_ingested" and err["details"]["rejected"] == []
    reasons = {i["path"]: i["reason"] for i in err["details"]["ignored"]}
    assert reasons["metrics.error"] == "the agent reported an error here: DefaultAzureCredential failed to retrieve a token"
    assert reasons["agent_health.last_collection"] == "a time stamp, not a metric"
    from datetime import date
    assert store.query_metrics("agent.health.uptime", date(2026, 11, 30), date(2026, 12, 2)) == []
