"""serverless.yml (the alternative deploy path) is generated from the collector registry and packages offline."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from cloudtally.infra_render import (ALERTS_STREAM_BATCH_SIZE, ALERTS_STREAM_FILTER, ALERTS_STREAM_MAX_AGE_S,
                                     ALERTS_STREAM_RETRIES, ALERTS_STREAM_VIEW, ALERTS_STREAM_WINDOW_S,
                                     SERVERLESS_YML, collector_artifact, function_actions, lambda_placements,
                                     render, sls_function_id)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_serverless_yml_is_rendered_from_the_registry():
    assert SERVERLESS_YML.read_text() == render(), "serverless.yml drifted: run `cloudtally infra render`"


def test_a_collector_added_to_the_registry_changes_the_rendering():
    # GIVEN a collector registered (throwaway, this test only) and not yet rendered
    from cloudtally.collectors.registry import Schedule
    first = lambda_placements()[0]
    extra = dataclasses.replace(first, spec=dataclasses.replace(first.spec, name="zz-throwaway"),
                                schedule=Schedule.every(hours=2))
    text = render(lambda_placements() + [extra])
    # THEN the committed file no longer matches: the drift test above fails the build until re-rendered
    assert text != SERVERLESS_YML.read_text()
    assert "collector-zz-throwaway" in text and "rate(2 hours)" in text


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """`serverless package` (v3, offline) on the committed serverless.yml with stand-in artifacts."""
    d = tmp_path_factory.mktemp("sls")
    shutil.copy(SERVERLESS_YML, d / "serverless.yml")
    (d / "build" / "lambda").mkdir(parents=True)
    for name in ["api", "alerts"] + [collector_artifact(p.name) for p in lambda_placements()]:
        with zipfile.ZipFile(d / "build" / "lambda" / f"{name}.zip", "w") as z:
            z.writestr("handler.py", "def handler(event, context):\n    return None\n")
    env = {**os.environ, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off", "HOME": str(d),
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    r = subprocess.run([str(ROOT / "node_modules" / ".bin" / "serverless"), "package", "--package", "out"],
                       cwd=d, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads((d / "out" / "cloudformation-template-update-stack.json").read_text())


def test_serverless_package_functions_and_schedules_equal_the_registry(packaged):
    res = packaged["Resources"]
    fns = {k for k, v in res.items() if v["Type"] == "AWS::Lambda::Function"}
    expected = {sls_function_id(n) for n in ["api", "alerts"] + [collector_artifact(p.name) for p in lambda_placements()]}
    assert fns == expected
    rules = [v["Properties"] for v in res.values() if v["Type"] == "AWS::Events::Rule"]
    got = {(json.loads(t["Input"]).get("collector"), r["ScheduleExpression"], t["Arn"]["Fn::GetAtt"][0])
           for r in rules for t in r["Targets"]}
    want = {(p.name, p.schedule_expression(), sls_function_id(collector_artifact(p.name))) for p in lambda_placements()}
    want.add((None, "rate(1 hour)", sls_function_id("alerts")))
    assert got == want
    for placement in lambda_placements():
        spec = placement.spec
        fn = res[sls_function_id(collector_artifact(spec.name))]["Properties"]
        assert fn["MemorySize"] == spec.memory_mb and fn["Timeout"] == spec.timeout_s
        assert fn["Environment"]["Variables"]["CLOUDTALLY_COLLECTOR"] == spec.name
        role = res[fn["Role"]["Fn::GetAtt"][0]]["Properties"]
        own = [p for p in role["Policies"] if p["PolicyName"] == collector_artifact(spec.name)]
        actions = {a for st in own[0]["PolicyDocument"]["Statement"] for a in st["Action"]}
        assert actions == set(function_actions(placement))
        assert not any(a.startswith("dynamodb:") for a in actions)


def test_serverless_package_alerts_stream_trigger_equals_the_cdk_one(packaged):
    # GIVEN the same constants the CDK stack uses THEN the alternative path wires the same post-ingest trigger
    res = packaged["Resources"]
    assert res["Table"]["Properties"]["StreamSpecification"] == {"StreamViewType": ALERTS_STREAM_VIEW}
    (esm,) = [v["Properties"] for v in res.values() if v["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert _refs(esm["FunctionName"]) == {sls_function_id("alerts")}
    assert esm["EventSourceArn"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    (flt,) = esm["FilterCriteria"]["Filters"]
    assert json.loads(flt["Pattern"]) == ALERTS_STREAM_FILTER
    assert esm["MaximumBatchingWindowInSeconds"] == ALERTS_STREAM_WINDOW_S
    assert esm["BatchSize"] == ALERTS_STREAM_BATCH_SIZE and esm["StartingPosition"] == "LATEST"
    assert esm["MaximumRetryAttempts"] == ALERTS_STREAM_RETRIES and esm["BisectBatchOnFunctionError"] is True
    assert esm["MaximumRecordAgeInSeconds"] == ALERTS_STREAM_MAX_AGE_S
    assert esm["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["AlertsDlq", "Arn"]}
    # a custom role gets no stream statements from Serverless: the rendering grants them, to the alerts role only
    stream_arn = {"Fn::GetAtt": ["Table", "StreamArn"]}
    readers = {rid for rid, r in res.items() if r["Type"] == "AWS::IAM::Role"
               for p in r["Properties"].get("Policies", []) for st in p["PolicyDocument"]["Statement"]
               if st["Resource"] == stream_arn
               and set(st["Action"]) == {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}}
    assert readers == {"AlertsRole"}


def _refs(value) -> set[str]:
    if isinstance(value, dict):
        found = {value["Ref"]} if "Ref" in value else set()
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        return found.union(*(_refs(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value))
    return set()
