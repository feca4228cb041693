"""One throwaway app that breaks the baseline on purpose, reviewed once by the same code `make security` runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.checkov import skip_check
from infra.guard import acknowledge_control
from infra.nag import acknowledge
from tests.synth import REVIEW_CACHE
from tools.security import checkov_findings, gate, reports
from tools.security.model import Finding, Report
from tools.security.synthesis import SynthesizedEnvironment, synthesize_app
from tools.security.tool_runs import copy_name

# W3005 fires on the Lambda's role dependency; E3999 matches no cfn-lint rule at all, so its ignore is stale.
CFN_LINT_CONFIG = """regions:
  - eu-west-1
ignore_checks:
  # CDK adds a DependsOn on the role that a GetAtt already implies, which changes no deployment order.
  - W3005
  - E3999  # A rule prefix no template of this test reports, so the gate must call it stale.
"""


def build_throwaway(app: Construct) -> tuple[cdk.Stack, ...]:
    """`Throwaway` breaks the baseline five ways; `Accepted` acknowledges and skips, rightly and wrongly."""
    bad = cdk.Stack(app, "Throwaway")
    s3.CfnBucket(bad, "Unencrypted")  # no BucketEncryption at all
    s3.Bucket(bad, "NoTls", encryption=s3.BucketEncryption.KMS_MANAGED, enforce_ssl=False)
    logs.LogGroup(bad, "NoKey", retention=logs.RetentionDays.ONE_WEEK, removal_policy=cdk.RemovalPolicy.DESTROY)
    role = iam.Role(bad, "Wildcard", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["*"], resources=["*"]))
    lambda_.Function(
        bad,
        "OldRuntime",
        runtime=lambda_.Runtime.PYTHON_3_8,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )

    accepted = cdk.Stack(app, "Accepted")
    logged = s3.Bucket(accepted, "Logged", enforce_ssl=True)
    acknowledge(logged, "AwsSolutions-S1", reason="This test bucket holds nothing and exists only for the test.")
    acknowledge(logged, "AwsSolutions-SQS3", reason="A queue rule on a bucket can never fire, so this is stale.")
    skip_check(logged, "CKV_AWS_18", reason="This test bucket holds nothing and exists only for the test.")
    skip_check(logged, "CKV_AWS_19", reason="The bucket is encrypted, so this check passes and the skip is stale.")
    acknowledge_control(logged, "CT.S3.PR.4", reason="Nothing reads events of this test bucket, which holds nothing.")
    acknowledge_control(logged, "CT.KMS.PR.1", reason="A key control on a bucket can never fire, so this is stale.")
    # A skip written by hand, bypassing skip_check, with a comment that says nothing.
    unreviewed = s3.Bucket(accepted, "Unreviewed", enforce_ssl=True)
    acknowledge(unreviewed, "AwsSolutions-S1", reason="This test bucket holds nothing and exists only for the test.")
    cfn = unreviewed.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.add_metadata("checkov", {"skip": [{"id": "CKV_AWS_18", "comment": "not needed"}]})
    cfn.add_metadata("guard", {"acknowledge": [{"id": "CT.S3.PR.4", "reason": "not needed"}]})
    s3.Bucket(accepted, "Blanket", enforce_ssl=False)
    acknowledge(accepted, "AwsSolutions-S10", reason="The test asks for TLS on none of these buckets at all.")
    return bad, accepted


@dataclass(frozen=True)
class Reviewed:
    """The throwaway app, its review, the reports written from it and checkov's own view of its skips."""

    env: SynthesizedEnvironment
    report: Report
    out: Path
    checkov_raw: dict[str, Any]

    def find(self, **fields: str) -> list[Finding]:
        """The findings whose fields equal (resource: ends with) the given values."""
        resource = fields.pop("resource", None)
        return [
            f
            for f in self.report.findings
            if all(getattr(f, key) == value for key, value in fields.items())
            and (resource is None or f.resource.endswith(resource))
        ]


@pytest.fixture(scope="session")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Reviewed:
    """The throwaway app synthesized and reviewed by the gate, with its reports written."""
    root = tmp_path_factory.mktemp("security")
    env = synthesize_app("throwaway", root / "cdk.out" / "throwaway", build_throwaway)
    report = gate.review([env], cfn_lint_config=CFN_LINT_CONFIG, cache=REVIEW_CACHE)
    reports.write(report, root / "reports")
    # checkov itself, on the templates as synthesized (skips included), to prove it reads the skips the way we write.
    as_synthesized = {copy_name(env.name, stack): path.read_text() for stack, path in env.templates.items()}
    checkov_raw = checkov_findings.run_checkov(as_synthesized, cache=REVIEW_CACHE)
    return Reviewed(env=env, report=report, out=root / "reports", checkov_raw=checkov_raw)
