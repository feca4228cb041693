"""The security gate: every cdk-nag pack over every stack of every environment, and the acknowledgment helper."""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from infra.constructs.iam_findings import resource_finding
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.nag import NAG_PACKS, acknowledge
from tests.synth import ENV_UNITS, ENVIRONMENTS, ROOT, Synthesized
from tools.security.model import Report


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
def test_no_unacknowledged_findings(security_review: Report, env: str, unit: str, pack: type) -> None:
    # Given the security gate's review of the environment (every pack, before and after the acknowledgments)
    ruleset = pack().name
    stack = f"MlDataLake-{env}-{unit}"
    reported = [f for f in security_review.findings if (f.tool, f.environment, f.stack) == ("cdk-nag", env, stack)]
    # Then the pack did look at the stack, and every finding it reports there is acknowledged with a reason
    assert security_review.resources[env][stack] > 0
    assert [
        f"{f.rule} at {f.resource}: {f.reason or f.message}" for f in reported if f.ruleset == ruleset and f.fails
    ] == []


def test_the_review_accepts_each_environment_and_every_acknowledgment_is_used(security_review: Report) -> None:
    # The same verdict as `make security`: nothing unacknowledged, nothing stale, for every tool
    assert security_review.environments == ENVIRONMENTS
    assert [f"{f.tool} {f.rule} at {f.environment} {f.resource}: {f.reason}" for f in security_review.failing] == []
    # And the tools did run: findings of cdk-nag and checkov accepted with reasons, checks that checkov passed
    assert {"cdk-nag", "checkov"} <= {f.tool for f in security_review.findings if f.status == "acknowledged"}
    assert all(security_review.checkov_passed.get(env, 0) > 0 for env in ENVIRONMENTS)


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


def _role_listing(stack: cdk.Stack, bucket: s3.IBucket) -> iam.Role:
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:List*"], resources=[bucket.bucket_arn]))
    return role


def test_acknowledge_accepts_a_single_iam_wildcard_finding_and_only_that_one() -> None:
    # Given a role that lists one bucket with a wildcard action, acknowledged by its exact finding id
    stack = cdk.Stack(cdk.App(), "Throwaway")
    bucket = s3.Bucket(stack, "Plain")
    acknowledge(
        _role_listing(stack, bucket),
        "AwsSolutions-IAM5[Action::s3:List*]",
        reason="Listing is scoped to one bucket by its ARN in this test.",
    )
    # When the AwsSolutions pack checks it, then that finding is gone and the bucket's own findings remain
    findings = _findings(NAG_PACKS[0], stack)
    assert not any(f.startswith("AwsSolutions-IAM5") for f in findings)
    assert any(f.startswith("AwsSolutions-S1 ") for f in findings)
    # And without the acknowledgment the same role is reported
    bare = cdk.Stack(cdk.App(), "Bare")
    _role_listing(bare, s3.Bucket(bare, "Plain"))
    assert any(
        f.startswith("AwsSolutions-IAM5[Action::s3:List*] at Bare/Reader/DefaultPolicy")
        for f in _findings(NAG_PACKS[0], bare)
    )


def _cross_stack_reader(*, acknowledged: bool) -> cdk.Stack:
    """A role in one stack that reads every object of a bucket in another, optionally acknowledged by its ARN."""
    app = cdk.App()
    bucket = s3.Bucket(cdk.Stack(app, "Data"), "Zone")
    reader = cdk.Stack(app, "Reader")
    role = ManagedPolicyRole(reader, "Role", service="glue.amazonaws.com", description="Reads the zone.")
    role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects("*")]))
    if acknowledged:
        role.acknowledge_wildcard_resources(
            bucket.arn_for_objects("*"), reason="The role reads every object of that one bucket in this test."
        )
    app.synth()  # references across stacks are resolved, and the deferred acknowledgment made, only here
    return reader


def test_a_cross_stack_wildcard_is_acknowledged_by_the_id_computed_at_synthesis() -> None:
    # Given a wildcard on a bucket of another stack, which cdk-nag names after a stack output CDK derives
    unacknowledged = _findings(NAG_PACKS[0], _cross_stack_reader(acknowledged=False))
    assert any(
        f.startswith("AwsSolutions-IAM5[Resource::") and " at Reader/Role/Policy/Resource" in f for f in unacknowledged
    )
    # When the role acknowledges the bucket's object ARN (a token, resolved during synthesis)
    acknowledged = _findings(NAG_PACKS[0], _cross_stack_reader(acknowledged=True))
    # Then the finding is accepted, with no id written by hand
    assert not any(f.startswith("AwsSolutions-IAM5") for f in acknowledged)


def test_a_wildcard_finding_id_is_flattened_the_way_cdk_nag_flattens_it() -> None:
    stack = cdk.Stack(cdk.App(), "Throwaway")
    arn = f"arn:{stack.partition}:s3:::lake-{stack.account}-{stack.region}/events/*"
    assert resource_finding(stack.resolve(arn)) == (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::lake-<AWS::AccountId>-<AWS::Region>/events/*]"
    )


# A logical ID as CDK writes it: the construct path's names, then an 8-character hash of the path (with a digit).
_HASHED_ID = re.compile(r"\b[A-Z][A-Za-z0-9]*[a-z][0-9A-F]{8}\b")


def _hashed_ids(text: str) -> list[str]:
    return [found for found in _HASHED_ID.findall(text) if any(char.isdigit() for char in found[-8:])]


def test_the_hashed_id_check_recognises_a_logical_id() -> None:
    assert _hashed_ids('"AwsSolutions-IAM5[Resource::<CuratedZoneBucketBB71C901.Arn>/*]"') == [
        "CuratedZoneBucketBB71C901"
    ]
    assert _hashed_ids('"AwsSolutions-IAM5[Action::s3:List*]", CDK_HANDLER_SKIPS, PYTHON_3_14') == []


def test_no_hashed_logical_id_is_written_in_infra() -> None:
    # Written by hand, a logical ID breaks silently when a construct moves: finding ids are computed
    # (infra/constructs/iam_findings.py) and stacks pass each other objects.
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {found}"
        for path in sorted((ROOT / "infra").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        for found in _hashed_ids(line)
    ]
    assert offenders == []


def test_the_review_synthesis_ran_cloudformation_validation_and_it_found_nothing(
    synthesized: dict[str, Synthesized],
) -> None:
    # Given every environment as the session (and `make security`) synthesized it for the gate's review
    for name, synth in synthesized.items():
        # Then CloudFormation's validation plugin ran (only it writes the report: the packs are not registered here)
        report = json.loads((synth.synthesis.outdir / "validation-report.json").read_text())
        # And it found nothing but what the CDK acknowledges itself (with cdk.json's flags a finding fails synthesis)
        assert [(r["conclusion"], r["violations"]) for r in report["pluginReports"]] in ([], [("success", [])]), name
