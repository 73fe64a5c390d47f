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
from cloudtally_infra.dashboard import REWRITE_JS, build_headers, with_api_origin  # noqa: E402

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


def test_with_api_origin_swaps_the_build_api_origin_only():
    build = ("default-src 'none'; script-src 'self'; connect-src 'self' http://localhost:8080; "
             "frame-ancestors 'none'")
    out = with_api_origin(build, "https://*.execute-api.us-east-1.amazonaws.com")
    assert out == ("default-src 'none'; script-src 'self'; connect-src 'self' "
                   "https://*.execute-api.us-east-1.amazonaws.com; frame-ancestors 'none'")
    assert "localhost" not in out


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
