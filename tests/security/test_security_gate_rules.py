"""The rules acknowledgments follow, checked without synthesizing anything."""

from __future__ import annotations

import re
from typing import cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from infra.checkov import CDK_HANDLER_SKIPS, skip_check, skip_checks_on_cdk_handlers
from infra.guard import acknowledge_control, acknowledge_key_from_another_stack
from tests.synth import ROOT
from tools.security import guard_findings
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


def test_acknowledge_control_writes_the_guard_acknowledgment_on_the_resource_once() -> None:
    stack = cdk.Stack(cdk.App(), "Throwaway")
    bucket = s3.Bucket(stack, "Bucket")
    reason = "This bucket is the access-log target and cannot log into itself."
    acknowledge_control(bucket, "CT.S3.PR.2", reason=reason)
    acknowledge_control(bucket, "CT.S3.PR.2", reason=reason)
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    assert cfn.get_metadata("guard") == {"acknowledge": [{"id": "CT.S3.PR.2", "reason": reason}]}


@pytest.mark.parametrize(
    ("control_id", "reason", "complaint"),
    [
        ("CT.S3.PR.2", "not needed", "must be a full sentence"),
        ("CKV_AWS_18", "This is a long enough reason for the test.", "not a Control Tower control id"),
        ("CT.S3.2", "This is a long enough reason for the test.", "not a Control Tower control id"),
    ],
)
def test_acknowledge_control_refuses_a_vague_reason_or_a_malformed_id(
    control_id: str, reason: str, complaint: str
) -> None:
    bucket = s3.Bucket(cdk.Stack(cdk.App(), "Throwaway"), "Bucket")
    with pytest.raises(ValueError, match=complaint):
        acknowledge_control(bucket, control_id, reason=reason)


def test_a_key_of_the_same_stack_needs_no_acknowledgment_and_one_of_another_stack_names_it() -> None:
    app = cdk.App()
    core, other = cdk.Stack(app, "Core"), cdk.Stack(app, "Other")
    key = kms.Key(core, "Key")
    here = logs.LogGroup(core, "Here", encryption_key=key)
    there = logs.LogGroup(other, "There", encryption_key=key)
    acknowledge_key_from_another_stack(here, "CT.CLOUDWATCH.PR.3", key=key)
    acknowledge_key_from_another_stack(there, "CT.CLOUDWATCH.PR.3", key=key)
    assert cast(cdk.CfnResource, here.node.default_child).get_metadata("guard") is None
    [entry] = cast(cdk.CfnResource, there.node.default_child).get_metadata("guard")["acknowledge"]
    assert entry["id"] == "CT.CLOUDWATCH.PR.3"
    assert "lake key of the Core stack" in entry["reason"]


def test_the_guard_report_names_the_control_and_the_resource_of_each_failing_check() -> None:
    # Given guard's nested JSON for one template: a rule whose custom message names the control, a check deep below
    entry = {
        "name": "t.json",
        "not_compliant": [
            {
                "Rule": {
                    "name": "s3_rule",
                    "messages": {"custom_message": None},
                    "checks": [
                        {
                            "Rule": {
                                "messages": {"custom_message": "\n[CT.S3.PR.1]: Require block public access\n[FIX]: ..."},
                                "checks": [{"Clause": {"Unary": {"check": {"UnResolved": {"value": {
                                    "traversed_to": {"path": "/Resources/Bucket1/Properties", "value": {}}
                                }}}}}}],
                            }
                        }
                    ],
                }
            }
        ],
    }  # fmt: skip
    # Then each failing resource is found with its control
    assert guard_findings.violations(entry) == {("CT.S3.PR.1", "Bucket1", "Require block public access")}


def test_the_packaged_rules_and_binary_are_where_the_gate_looks() -> None:
    assert guard_findings.guard_binary().exists(), "make setup installs @cdklabs/cdk-validator-cfnguard"
    controls = guard_findings.controls()
    assert controls["CT.KMS.PR.3"].severity in {"error", "warning", "info"}
    assert any(guard_findings.rules_dir().glob("*/ct-kms-pr-3.guard"))


def test_guard_runs_only_the_rules_that_report_on_a_type_the_templates_hold() -> None:
    # Given every packaged rule, and the rules kept for templates holding only S3 buckets and KMS keys
    every = sorted(guard_findings.rules_dir().rglob("*.guard"))
    kept = guard_findings.rules_for({"AWS::S3::Bucket", "AWS::KMS::Key"})
    # Then the bucket and key controls are kept, the Redshift ones (no such resource) are not, and nothing is invented
    names = {path.name for path in kept}
    assert {"ct-s3-pr-1.guard", "ct-kms-pr-3.guard"} <= names
    assert not any(name.startswith("ct-redshift-") for name in names)
    assert set(kept) < set(every)
    # And a rule whose specification names no resource type is always kept
    unspecified = [path for path in every if "# Reports on:" not in path.read_text(encoding="utf-8")]
    assert set(unspecified) <= set(kept)
