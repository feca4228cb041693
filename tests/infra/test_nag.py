"""The security gate: every cdk-nag pack over every stack of every environment, and the acknowledgment helper."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from infra.nag import NAG_PACKS, acknowledge
from tests.synth import ENV_UNITS, Synthesized


def _findings(pack: type, stack: cdk.Stack) -> list[str]:
    """Each unacknowledged finding of `pack` in `stack` as 'rule-id at construct-path: message'."""
    report = pack().validate_scope(stack)
    return sorted(
        f"{violation.rule_name} at {resource.construct_path}: {violation.description.splitlines()[0]}"
        for violation in report.violations
        for resource in violation.violating_resources
    )


@pytest.mark.parametrize("pack", NAG_PACKS, ids=lambda pack: pack.__name__)
@pytest.mark.parametrize(("env", "unit"), ENV_UNITS)
def test_no_unacknowledged_findings(synthesized: dict[str, Synthesized], env: str, unit: str, pack: type) -> None:
    stack = next(s for s in synthesized[env].lake.stacks if s.stack_name.endswith(f"-{unit}"))
    assert _findings(pack, stack) == []


def test_the_gate_reports_an_unencrypted_bucket_by_rule_and_path() -> None:
    # Given a stack with a bucket that breaks the baseline
    stack = cdk.Stack(cdk.App(), "Throwaway")
    s3.Bucket(stack, "Plain")
    # When the AwsSolutions pack checks it
    findings = _findings(NAG_PACKS[0], stack)
    # Then the missing access logs and TLS enforcement are named with the construct path
    assert any(f.startswith("AwsSolutions-S1 at Throwaway/Plain/Resource") for f in findings)
    assert any(f.startswith("AwsSolutions-S10 at Throwaway/Plain/Resource") for f in findings)


def test_an_acknowledged_rule_is_no_longer_reported() -> None:
    stack = cdk.Stack(cdk.App(), "Throwaway")
    bucket = s3.Bucket(stack, "Plain")
    acknowledge(bucket, "AwsSolutions-S1", reason="This throwaway bucket exists only inside this unit test.")
    findings = _findings(NAG_PACKS[0], stack)
    assert not any(f.startswith("AwsSolutions-S1 ") for f in findings)
    assert any(f.startswith("AwsSolutions-S10 ") for f in findings)


@pytest.mark.parametrize(
    ("rule_id", "reason", "complaint"),
    [
        ("AwsSolutions-S1", "ok", "must be a full sentence"),
        ("AwsSolutions-S1", "Six words but no full stop here", "must be a full sentence"),
        ("AwsSolutions::AwsSolutions-S1", "This is a long enough reason for the test.", "not a cdk-nag rule id"),
        ("S1", "This is a long enough reason for the test.", "not a cdk-nag rule id"),
    ],
)
def test_acknowledge_refuses_a_vague_reason_or_a_malformed_rule(rule_id: str, reason: str, complaint: str) -> None:
    stack = cdk.Stack(cdk.App(), "Throwaway")
    with pytest.raises(ValueError, match=complaint):
        acknowledge(stack, rule_id, reason=reason)


def test_acknowledge_accepts_a_single_iam_wildcard_finding() -> None:
    stack = cdk.Stack(cdk.App(), "Throwaway")
    acknowledge(stack, "AwsSolutions-IAM5[Action::s3:List*]", reason="Listing is scoped to one bucket by its ARN.")


def test_a_wildcard_finding_id_is_computed_from_names_and_refuses_a_reference() -> None:
    from infra.constructs.iam_findings import wildcard_resource_finding

    stack = cdk.Stack(cdk.App(), "Throwaway")
    arn = f"arn:{stack.partition}:s3:::lake-{stack.account}-{stack.region}/events/*"
    assert wildcard_resource_finding(stack, arn) == (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::lake-<AWS::AccountId>-<AWS::Region>/events/*]"
    )
    bucket = s3.Bucket(stack, "Plain")
    with pytest.raises(ValueError, match="build the ARN from names, not from a reference"):
        wildcard_resource_finding(stack, bucket.arn_for_objects("*"))
