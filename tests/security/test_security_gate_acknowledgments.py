"""Acknowledgments, ignores and skips: each accepts one rule on one resource with a reason, and none goes stale."""

from __future__ import annotations

import pytest

from tests.security.conftest import Reviewed

pytestmark = pytest.mark.xdist_group("security")


def test_an_acknowledged_finding_is_listed_with_its_reason(reviewed: Reviewed) -> None:
    [finding] = reviewed.find(tool="cdk-nag", rule="AwsSolutions-S1", resource="Accepted/Logged/Resource")
    assert finding.status == "acknowledged"
    assert finding.reason == "This test bucket holds nothing and exists only for the test."
    assert not finding.fails


def test_an_acknowledgment_of_a_rule_that_no_longer_fires_is_stale_and_fails(reviewed: Reviewed) -> None:
    [finding] = reviewed.find(tool="cdk-nag", rule="AwsSolutions-SQS3")
    assert finding.status == "stale"
    assert finding.resource == "Accepted/Logged"
    assert "remove it" in (finding.reason or "")
    [ack] = [a for a in reviewed.report.acknowledgments if a.rule == "AwsSolutions-SQS3"]
    assert ack.covers == 0


def test_a_stack_wide_acknowledgment_whose_reason_does_not_say_every_resource_fails(reviewed: Reviewed) -> None:
    # The bucket's own S10 finding is accepted by the stack-wide acknowledgment, as cdk-nag would...
    [accepted] = reviewed.find(tool="cdk-nag", rule="AwsSolutions-S10", resource="Accepted/Blanket/Resource")
    assert accepted.status == "acknowledged"
    # ...but the blanket acknowledgment itself is reported and fails the gate.
    [blanket] = reviewed.find(tool="cdk-nag", rule="AwsSolutions-S10", resource="Accepted")
    assert blanket.status == "unacknowledged"
    assert "stack-wide" in (blanket.reason or "")
    [ack] = [a for a in reviewed.report.acknowledgments if a.rule == "AwsSolutions-S10"]
    assert ack.scope_kind == "stack-wide"


def test_a_checkov_skip_on_the_resource_accepts_its_finding_with_the_comment(reviewed: Reviewed) -> None:
    [finding] = reviewed.find(tool="checkov", rule="CKV_AWS_18", resource="Accepted/Logged/Resource")
    assert finding.status == "acknowledged"
    assert finding.reason == "This test bucket holds nothing and exists only for the test."


def test_a_checkov_skip_of_a_check_that_passes_is_stale(reviewed: Reviewed) -> None:
    [finding] = reviewed.find(tool="checkov", rule="CKV_AWS_19", resource="Accepted/Logged/Resource")
    assert finding.status == "stale"


def test_a_checkov_skip_whose_comment_is_shorter_than_a_sentence_does_not_count(reviewed: Reviewed) -> None:
    [finding] = reviewed.find(tool="checkov", rule="CKV_AWS_18", resource="Accepted/Unreviewed/Resource")
    assert finding.status == "unacknowledged"
    assert "must be a full sentence" in (finding.reason or "")


def test_checkov_itself_honours_the_skips_as_they_are_written_into_the_template(reviewed: Reviewed) -> None:
    # The gate applies skips to a run without them; checkov must read the same skips the same way.
    skipped = {
        (check["resource"].split(".", 1)[-1], check["check_id"], check["check_result"].get("suppress_comment"))
        for check in reviewed.checkov_raw["results"]["skipped_checks"]
    }
    logged = next(f.logical_id for f in reviewed.find(tool="checkov", rule="CKV_AWS_18", resource="Logged/Resource"))
    assert (logged, "CKV_AWS_18", "This test bucket holds nothing and exists only for the test.") in skipped


def test_a_guard_acknowledgment_on_the_resource_accepts_its_control_with_the_reason(reviewed: Reviewed) -> None:
    [finding] = reviewed.find(tool="cfn-guard", rule="CT.S3.PR.4", resource="Accepted/Logged/Resource")
    assert finding.status == "acknowledged"
    assert finding.reason == "Nothing reads events of this test bucket, which holds nothing."
    [ack] = [a for a in reviewed.report.acknowledgments if a.tool == "cfn-guard" and a.rule == "CT.S3.PR.4"][:1]
    assert ack.covers == 1


def test_a_guard_acknowledgment_of_a_control_that_does_not_fail_is_stale(reviewed: Reviewed) -> None:
    [finding] = reviewed.find(tool="cfn-guard", rule="CT.KMS.PR.1", resource="Accepted/Logged/Resource")
    assert finding.status == "stale"
    assert "remove the acknowledgment" in (finding.reason or "")


def test_a_guard_acknowledgment_whose_reason_is_shorter_than_a_sentence_does_not_count(reviewed: Reviewed) -> None:
    [finding] = reviewed.find(tool="cfn-guard", rule="CT.S3.PR.4", resource="Accepted/Unreviewed/Resource")
    assert finding.status == "unacknowledged"
    assert "must be a full sentence" in (finding.reason or "")


def test_a_cfn_lint_ignore_accepts_findings_with_the_comment_above_it_as_reason(reviewed: Reviewed) -> None:
    accepted = reviewed.find(tool="cfn-lint", rule="W3005")
    assert accepted
    assert {f.status for f in accepted} == {"acknowledged"}
    assert {f.reason for f in accepted} == {
        "CDK adds a DependsOn on the role that a GetAtt already implies, which changes no deployment order."
    }


def test_a_cfn_lint_ignore_that_matches_nothing_is_stale(reviewed: Reviewed) -> None:
    [finding] = reviewed.find(tool="cfn-lint", rule="E3999")
    assert finding.status == "stale"
    assert finding.environment == "*"
