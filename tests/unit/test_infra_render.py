"""The IAM grouping both deploy paths share: exact actions, narrow resources, no silent '*'."""

import doctest

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
