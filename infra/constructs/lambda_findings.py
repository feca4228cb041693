"""Findings a Lambda function of the lake may carry for a reason of its own, acknowledged as every tool names them.

The same finding has a name in each cdk-nag pack, in checkov and in the Control Tower controls; acknowledging it in
one call keeps the tools in step, and the reason (which differs per function) in one place.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_

from infra.checkov import skip_check
from infra.guard import acknowledge_control
from infra.nag import acknowledge


def acknowledge_outside_vpc(function: lambda_.IFunction, *, reason: str) -> None:
    """The function runs outside the VPC (HIPAA, NIST and PCI packs; CKV_AWS_117; CT.LAMBDA.PR.3)."""
    acknowledge(
        function,
        "HIPAA.Security-LambdaInsideVPC",
        "NIST.800.53.R5-LambdaInsideVPC",
        "PCI.DSS.321-LambdaInsideVPC",
        reason=reason,
    )
    skip_check(function, "CKV_AWS_117", reason=reason)
    acknowledge_control(function, "CT.LAMBDA.PR.3", reason=reason)


def acknowledge_unreserved_concurrency(function: lambda_.IFunction, *, reason: str) -> None:
    """The function reserves no concurrency (HIPAA and NIST packs; CKV_AWS_115)."""
    acknowledge(function, "HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency", reason=reason)
    skip_check(function, "CKV_AWS_115", reason=reason)
