"""The rules acknowledgments follow, checked without synthesizing anything."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from infra.checkov import CDK_HANDLER_SKIPS, skip_check, skip_checks_on_cdk_handlers
from tests.synth import ROOT
from tools.security.cfn_lint_findings import CONFIG, ignores, without_ignores


def test_every_cfn_lint_ignore_in_the_project_has_a_reason_of_a_sentence() -> None:
    entries = ignores(CONFIG.read_text())
    assert entries, "the parser finds the ignores of .cfnlintrc.yaml"
    for entry in entries:
        assert len(entry.reason.split()) >= 6, entry
        assert entry.reason.endswith("."), entry


def test_cfn_lint_ignores_are_read_with_the_comment_above_or_beside_them() -> None:
    config = "regions:\n  - eu-west-1\nignore_checks:\n  # Why the first is safe,\n  # over two lines.\n  - W1\n  - E2  # Beside.\n  - I3\n"
    assert [(i.rule, i.reason) for i in ignores(config)] == [
        ("W1", "Why the first is safe, over two lines."),
        ("E2", "Beside."),
        ("I3", ""),
    ]
    assert without_ignores(config) == "regions:\n  - eu-west-1\n"


def test_skip_check_writes_checkovs_inline_skip_on_the_resource() -> None:
    stack = cdk.Stack(cdk.App(), "Throwaway")
    bucket = s3.Bucket(stack, "Bucket")
    skip_check(bucket, "CKV_AWS_18", reason="This bucket is the access-log target and cannot log into itself.")
    skip_check(bucket, "CKV_AWS_18", reason="This bucket is the access-log target and cannot log into itself.")
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    assert cfn.get_metadata("checkov") == {
        "skip": [{"id": "CKV_AWS_18", "comment": "This bucket is the access-log target and cannot log into itself."}]
    }


@pytest.mark.parametrize(
    ("check_id", "reason", "complaint"),
    [
        ("CKV_AWS_18", "not needed", "must be a full sentence"),
        ("CKV_AWS_18", "Inherited from the platform team somewhere", "must be a full sentence"),
        ("AwsSolutions-S1", "This is a long enough reason for the test.", "not a checkov AWS check id"),
    ],
)
def test_skip_check_refuses_a_vague_reason_or_a_malformed_id(check_id: str, reason: str, complaint: str) -> None:
    bucket = s3.Bucket(cdk.Stack(cdk.App(), "Throwaway"), "Bucket")
    with pytest.raises(ValueError, match=complaint):
        skip_check(bucket, check_id, reason=reason)


def test_skip_check_refuses_a_construct_without_a_resource_of_its_own() -> None:
    stack = cdk.Stack(cdk.App(), "Throwaway")
    with pytest.raises(ValueError, match="no CloudFormation resource"):
        skip_check(stack, "CKV_AWS_18", reason="This is a long enough reason for the test.")


def test_cdk_handlers_get_their_skips_and_nothing_else_does() -> None:
    # Given a bucket whose objects CDK's own custom resource deletes with the stack
    app = cdk.App()
    stack = cdk.Stack(app, "Throwaway")
    s3.Bucket(stack, "Bucket", auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY)
    skip_checks_on_cdk_handlers(stack)
    # When it is synthesized
    template = app.synth().get_stack_artifact("Throwaway").template
    # Then only the provider's handler function carries the skips, each with its reason
    skipped = {
        resource["Type"]: resource["Metadata"]["checkov"]["skip"]
        for resource in template["Resources"].values()
        if "checkov" in resource.get("Metadata", {})
    }
    assert skipped == {
        "AWS::Lambda::Function": [{"id": check, "comment": reason} for check, reason in CDK_HANDLER_SKIPS.items()]
    }


def test_acknowledgments_and_skips_are_made_only_through_the_helpers() -> None:
    # Validations.acknowledge or hand-written checkov metadata would bypass the reason check and the stale check.
    offenders = []
    for path in [*ROOT.glob("infra/**/*.py"), ROOT / "app.py"]:
        text = path.read_text()
        if path.name != "nag.py" and re.search(r"Validations\.of\(|Acknowledgment\(", text):
            offenders.append(str(path.relative_to(ROOT)))
        if path.name != "checkov.py" and re.search(r"""add_metadata\(\s*["']checkov""", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
