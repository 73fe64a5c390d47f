"""The IAM grouping both deploy paths share: exact actions, narrow resources, no silent '*'."""

import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cloudtally.infra_render as ir
from cloudtally.errors import ConfigError

SCOPES = ir.Scopes(table_arn="T", secret_arns=("S",), topic_arn="N", member_role_pattern="R", export_bucket_arn="B")


def test_doctests():
    assert doctest.testmod(ir).failed == 0


def test_statements_keep_exactly_the_declared_actions():
    acts = ("ec2:DescribeInstances", "dynamodb:PutItem", "secretsmanager:GetSecretValue", "sts:AssumeRole",
            "s3:GetObject", "ce:GetCostAndUsage")
    st = ir.statements(acts, SCOPES)
    assert sorted(a for group, _ in st for a in group) == sorted(acts)
    by_action = {a: r for group, r in st for a in group}
    assert by_action["dynamodb:PutItem"] == ["T"] and by_action["secretsmanager:GetSecretValue"] == ["S"]
    assert by_action["sts:AssumeRole"] == ["R"] and by_action["s3:GetObject"] == ["B", "B/*"]
    assert by_action["ec2:DescribeInstances"] == ["*"]


@pytest.mark.parametrize("action", ["ec2:*", "*", "iam:PassRole", "nope"])
def test_wildcards_and_unscoped_actions_are_refused(action):
    with pytest.raises(ConfigError):
        ir.statements((action,), SCOPES)


# ------------------------------------------------------------------------------------------- dashboard CDN
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra"))
from cloudtally_infra.dashboard import (REWRITE_JS, allows_same_origin_fetch, api_path_patterns,  # noqa: E402
                                        build_headers, meta_csps, pages_blocking_same_origin,
                                        same_origin_csp)

# runs the CloudFront Function's own file (a script defining handler(event)) on viewer-request events
REWRITE_RUNNER = r"""
const fs = require("node:fs"), vm = require("node:vm");
const handler = vm.runInNewContext(fs.readFileSync(process.argv[1], "utf8") + "\n;handler");
const events = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(events.map((e) => handler(e))));
"""


def _rewrite(*requests: dict) -> list[dict]:
    events = [{"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "192.0.2.1"},
               "request": {"method": "GET", "querystring": {}, "headers": {}, "cookies": {}, **r}} for r in requests]
    r = subprocess.run(["node", "-e", REWRITE_RUNNER, str(REWRITE_JS)], input=json.dumps(events),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_cloudfront_rewrite_maps_page_urls_to_their_index_and_leaves_files_alone():
    cases = {"/": "/index.html", "/dashboard/cfo": "/dashboard/cfo/index.html",
             "/dashboard/cfo/": "/dashboard/cfo/index.html", "/assets/app.js": "/assets/app.js",
             "/config.json": "/config.json", "/assets/app-3F2A.min.js": "/assets/app-3F2A.min.js"}
    got = _rewrite(*({"uri": u} for u in cases))
    assert [g["uri"] for g in got] == list(cases.values())


def test_cloudfront_rewrite_keeps_the_query_string_and_the_rest_of_the_request():
    qs = {"from": {"value": "2026-01-01"}, "provider": {"value": "aws", "multiValue": [{"value": "aws"},
                                                                                      {"value": "azure"}]}}
    (got,) = _rewrite({"uri": "/dashboard/coo", "querystring": qs, "headers": {"accept": {"value": "text/html"}}})
    assert got["uri"] == "/dashboard/coo/index.html"
    assert got["querystring"] == qs and got["headers"] == {"accept": {"value": "text/html"}}


def test_cloudfront_rewrite_reaches_every_page_the_dashboard_build_writes():
    # the pretty URL of each page in build.mjs's PAGES ("/dashboard/cfo" for dashboard/cfo/index.html)
    r = subprocess.run(["node", "--input-type=module", "-e",
                        f"const m = await import({json.dumps((ROOT / 'dashboard' / 'build.mjs').as_uri())});"
                        "process.stdout.write(JSON.stringify(m.PAGES.map((p) => p.path)));"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    files = json.loads(r.stdout)
    assert "dashboard/cfo/index.html" in files
    pretty = ["/" + f.removesuffix("index.html").rstrip("/") for f in files]
    assert [g["uri"] for g in _rewrite(*({"uri": u} for u in pretty))] == ["/" + f for f in files]


def test_dashboard_doctests():
    import cloudtally_infra.dashboard as dashboard
    assert doctest.testmod(dashboard).failed == 0


def _build_mjs(*args: str) -> str:
    r = subprocess.run(["node", str(ROOT / "dashboard" / "build.mjs"), *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_same_origin_csp_is_the_default_build_csp_whatever_api_url_the_build_had():
    default = _build_mjs("--print-csp")
    assert same_origin_csp(default) == default
    local = _build_mjs("--print-csp", "--api-url", "http://localhost:8080")
    assert "localhost" in local and same_origin_csp(local) == default


def test_same_origin_fetch_is_what_connect_src_or_default_src_allows():
    assert allows_same_origin_fetch(_build_mjs("--print-csp"))
    assert allows_same_origin_fetch(_build_mjs("--print-csp", "--api-url", "https://api.example.com"))
    assert not allows_same_origin_fetch("default-src 'none'; connect-src https://api.example.com")
    assert not allows_same_origin_fetch("default-src 'none'")
    assert allows_same_origin_fetch("default-src 'self'") and allows_same_origin_fetch("connect-src *")


def test_meta_csps_reads_every_page_of_a_dist(tmp_path):
    (tmp_path / "dashboard" / "cfo").mkdir(parents=True)
    csp = "default-src 'none'; connect-src 'self' https://a.example?x=1&amp;y=2"
    (tmp_path / "index.html").write_text(f'<head><meta http-equiv="Content-Security-Policy" content="{csp}">')
    (tmp_path / "dashboard" / "cfo" / "index.html").write_text("<head><title>no policy</title>")
    assert meta_csps(tmp_path) == {"index.html": "default-src 'none'; connect-src 'self' https://a.example?x=1&y=2"}


def test_only_pages_whose_meta_csp_blocks_their_own_origin_are_reported(tmp_path):
    # GIVEN a default build, a build for another API origin, and a hand-edited page WHEN checked for the
    # deploy (API on the same origin) THEN only the hand-edited page blocks it
    page = '<meta http-equiv="Content-Security-Policy" content="{}">'
    (tmp_path / "dashboard" / "coo").mkdir(parents=True)
    (tmp_path / "index.html").write_text(page.format(_build_mjs("--print-csp")))
    (tmp_path / "dashboard" / "index.html").write_text(
        page.format(_build_mjs("--print-csp", "--api-url", "http://localhost:8080")))
    (tmp_path / "dashboard" / "coo" / "index.html").write_text(
        page.format("default-src 'none'; connect-src https://api.example.com"))
    assert pages_blocking_same_origin(tmp_path) == ["dashboard/coo/index.html"]


def test_api_path_patterns_cover_every_route_of_the_api_and_no_dashboard_path():
    import fnmatch

    from cloudtally_infra.api_swagger import load_chalice_app
    routes = list(load_chalice_app().routes)
    patterns = api_path_patterns(routes)
    assert patterns == ["/agents/*", "/api/*", "/otlp/*", "/v1/*"]
    assert all(any(fnmatch.fnmatchcase(r, p) for p in patterns) for r in routes)
    assert api_path_patterns(["/health"]) == ["/health"]
    for bad in (["/assets/x"], ["/config.json"], ["/{id}/x"]):
        with pytest.raises(ValueError):
            api_path_patterns(bad)


# dashboard/src/api.js in node, with fetch and localStorage stubbed: the URLs it calls for a config.json
API_JS_RUNNER = r"""
const [apiJs, configText] = process.argv.slice(1);
const calls = [];
globalThis.localStorage = { getItem: () => JSON.stringify({ id: "ctk_1", secret: "cts_1" }) };
globalThis.fetch = async (url, init) => {
  calls.push(String(url));
  const body = url === "/config.json" ? configText : "{}";
  return { ok: true, status: 200, json: async () => JSON.parse(body) };
};
const api = await import(apiJs);
await api.apiGet("/v1/dashboard/overview", new URLSearchParams({ from: "2026-01-01" }));
process.stdout.write(JSON.stringify(calls));
"""


@pytest.mark.parametrize(("config", "called"), [
    ({"api_url": "", "refresh_seconds": 60}, "/v1/dashboard/overview?from=2026-01-01"),
    ({"refresh_seconds": 60}, "/v1/dashboard/overview?from=2026-01-01"),
    ({"api_url": "https://api.example.com/"}, "https://api.example.com/v1/dashboard/overview?from=2026-01-01"),
])
def test_dashboard_api_js_calls_its_own_origin_when_api_url_is_empty(config, called):
    # GIVEN the deployed config.json (api_url "") WHEN the dashboard calls the API THEN it fetches a
    # root-relative URL: the page's own origin, which CloudFront routes to API Gateway
    r = subprocess.run(["node", "--input-type=module", "-e", API_JS_RUNNER,
                        (ROOT / "dashboard" / "src" / "api.js").as_uri(), json.dumps(config)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == ["/config.json", called]


def test_unbuilt_dashboard_headers_come_from_build_mjs(tmp_path):
    # GIVEN no dist/ WHEN the stack asks for the headers THEN it gets build.mjs's own (no copy of them here)
    got = build_headers(tmp_path / "dist")
    assert set(got) == {"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"}
    r = subprocess.run(["node", str(ROOT / "dashboard" / "build.mjs"), "--print-csp"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert got["Content-Security-Policy"] == r.stdout.strip()
    assert "'unsafe-inline'" not in got["Content-Security-Policy"]
    # a built dist/ wins: its headers.json as it is
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "headers.json").write_text(json.dumps({"Content-Security-Policy": "default-src 'none'"}))
    assert build_headers(tmp_path / "dist") == {"Content-Security-Policy": "default-src 'none'"}


# ------------------------------------------------------------------------------------------- alerts stream
def _matches(pattern, value) -> bool:
    """The subset of Lambda event-filter syntax ALERTS_STREAM_FILTER uses (nested keys, prefix, suffix, equals)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and _matches(p, value[k]) for k, p in pattern.items())
    return any(r.get("prefix") is not None and value.startswith(r["prefix"])
               or r.get("suffix") is not None and value.endswith(r["suffix"])
               if isinstance(r, dict) else value == r for r in pattern)


@pytest.mark.parametrize(("pk", "sk"), [("U#2026-03", "2026-03-14#d"), ("U#2026-03", "2026-03-14"),
                                        ("R#2026-03-14", "rec-1#d"), ("V#2026-03", "2026-03-14"),
                                        ("T#2026-03", "2026-03-14#000"), ("K#abc", "meta")])
def test_stream_filter_admits_exactly_the_records_the_alerts_handler_acts_on(pk, sk):
    import importlib.util   # by path: every function directory has its own handler.py
    spec = importlib.util.spec_from_file_location("cloudtally_alerts_handler", ROOT / "functions" / "alerts" / "handler.py")
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    touched_days = handler.touched_days
    record = {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": sk}}}}
    assert _matches(ir.ALERTS_STREAM_FILTER, record) == bool(touched_days({"Records": [record]}))
