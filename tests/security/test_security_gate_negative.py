"""The gate catches what breaks the baseline: each planted mistake is reported by rule id, on its resource."""

from __future__ import annotations

import pytest

from tests.security.conftest import Reviewed

pytestmark = pytest.mark.xdist_group("security")


@pytest.mark.parametrize(
    ("tool", "rule", "resource"),
    [
        # An unencrypted bucket: no default encryption, let alone with a KMS key.
        ("cdk-nag", "HIPAA.Security-S3DefaultEncryptionKMS", "Throwaway/Unencrypted"),
        ("cdk-nag", "NIST.800.53.R5-S3DefaultEncryptionKMS", "Throwaway/Unencrypted"),
        ("cdk-nag", "PCI.DSS.321-S3DefaultEncryptionKMS", "Throwaway/Unencrypted"),
        # A bucket that does not enforce TLS.
        ("cdk-nag", "AwsSolutions-S10", "Throwaway/NoTls/Resource"),
        ("cdk-nag", "HIPAA.Security-S3BucketSSLRequestsOnly", "Throwaway/NoTls/Resource"),
        ("cdk-nag", "NIST.800.53.R5-S3BucketSSLRequestsOnly", "Throwaway/NoTls/Resource"),
        ("cdk-nag", "PCI.DSS.321-S3BucketSSLRequestsOnly", "Throwaway/NoTls/Resource"),
        # A bucket without block public access, access logs or versioning (Control Tower proactive controls).
        ("cfn-guard", "CT.S3.PR.1", "Throwaway/Unencrypted"),
        ("cfn-guard", "CT.S3.PR.2", "Throwaway/Unencrypted"),
        # A log group without a KMS key.
        ("cdk-nag", "NIST.800.53.R5-CloudWatchLogGroupEncrypted", "Throwaway/NoKey/Resource"),
        ("cdk-nag", "HIPAA.Security-CloudWatchLogGroupEncrypted", "Throwaway/NoKey/Resource"),
        ("cdk-nag", "PCI.DSS.321-CloudWatchLogGroupEncrypted", "Throwaway/NoKey/Resource"),
        ("checkov", "CKV_AWS_158", "Throwaway/NoKey/Resource"),
        ("cfn-guard", "CT.CLOUDWATCH.PR.3", "Throwaway/NoKey/Resource"),
        ("cfn-guard", "CT.CLOUDWATCH.PR.2", "Throwaway/NoKey/Resource"),
        # A wildcard IAM policy: each wildcard is its own AwsSolutions-IAM5 finding.
        ("cdk-nag", "AwsSolutions-IAM5[Action::*]", "Throwaway/Wildcard/DefaultPolicy/Resource"),
        ("cdk-nag", "AwsSolutions-IAM5[Resource::*]", "Throwaway/Wildcard/DefaultPolicy/Resource"),
        ("cdk-nag", "NIST.800.53.R5-IAMPolicyNoStatementsWithAdminAccess", "Throwaway/Wildcard/DefaultPolicy/Resource"),
        ("checkov", "CKV_AWS_62", "Throwaway/Wildcard/DefaultPolicy/Resource"),
        ("checkov", "CKV_AWS_63", "Throwaway/Wildcard/DefaultPolicy/Resource"),
        # A Lambda function on a runtime that is no longer the latest (and deprecated).
        ("cdk-nag", "AwsSolutions-L1", "Throwaway/OldRuntime/Resource"),
        ("cfn-lint", "W2531", "Throwaway/OldRuntime/Resource"),
        ("cfn-guard", "CT.LAMBDA.PR.3", "Throwaway/OldRuntime/Resource"),
    ],
)
def test_each_planted_mistake_is_reported_by_rule_on_its_resource(
    reviewed: Reviewed, tool: str, rule: str, resource: str
) -> None:
    findings = reviewed.find(tool=tool, rule=rule, resource=resource, environment="throwaway", stack="Throwaway")
    assert [f.status for f in findings] == ["unacknowledged"], [f.rule for f in reviewed.report.findings]


def test_a_bucket_with_a_kms_key_is_not_reported_as_unencrypted(reviewed: Reviewed) -> None:
    assert reviewed.find(rule="HIPAA.Security-S3DefaultEncryptionKMS", resource="Throwaway/NoTls/Resource") == []
    assert reviewed.find(tool="checkov", rule="CKV_AWS_19", stack="Throwaway") == []


def test_a_review_with_an_unacknowledged_finding_fails_the_gate(reviewed: Reviewed) -> None:
    assert not reviewed.report.passed
    assert all(f.fails for f in reviewed.find(stack="Throwaway") if f.tool != "cfn-lint" or f.rule != "W3005")


def test_every_finding_names_its_template_and_logical_id(reviewed: Reviewed) -> None:
    for finding in reviewed.find(stack="Throwaway"):
        assert finding.template is not None
        assert finding.template.endswith("Throwaway.template.json")
        assert finding.logical_id, finding
