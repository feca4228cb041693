"""cfn-guard's Control Tower proactive controls over every synthesized template of every environment.

Every control that fails is acknowledged on its resource (infra.guard), and every acknowledgment still accepts one.
"""

from __future__ import annotations

from tests.synth import ENVIRONMENTS
from tools.security.model import Report


def test_every_failing_control_is_acknowledged_on_its_resource_and_none_is_stale(security_review: Report) -> None:
    # Given the session's review, in which guard ran the Control Tower rules over every template of every environment
    findings = [f for f in security_review.findings if f.tool == "cfn-guard"]
    acknowledgments = [ack for ack in security_review.acknowledgments if ack.tool == "cfn-guard"]
    assert {f.environment for f in findings} == set(ENVIRONMENTS)
    # Then nothing is left unaccepted, and each acknowledgment accepts a finding
    assert [f"{f.environment} {f.rule} {f.resource}: {f.status}" for f in findings if f.fails] == []
    assert all(ack.covers == 1 for ack in acknowledgments)
    # And the key policy control passes outright (the lake key denies grants not for AWS resources)
    assert not [f for f in findings if f.rule == "CT.KMS.PR.3"]
    # The cross-stack key references are the false positives the acknowledgments name
    cross_stack = {f.rule for f in findings if "Fn::GetStackOutput" in (f.reason or "")}
    assert cross_stack == {
        "CT.CLOUDWATCH.PR.3",
        "CT.KINESIS.PR.1",
        "CT.CLOUDTRAIL.PR.1",
        "CT.ATHENA.PR.2",
        "CT.SQS.PR.2",
    }
