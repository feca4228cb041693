"""An IAM role whose grants land in a customer-managed policy instead of an inline one."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.iam_findings import acknowledge_wildcard_resources


class ManagedPolicyRole(iam.Role):
    """A role for a service; every `grant_*` made to it is written to its one customer-managed policy.

    The compliance packs (HIPAA, NIST 800-53, PCI DSS: IAMNoInlinePolicy) ask for managed policies, which can be
    reviewed, versioned and audited on their own. CDK grants write to an inline `DefaultPolicy`; overriding
    `add_to_principal_policy`, which every grant calls, sends them to the managed policy instead.
    """

    def __init__(self, scope: Construct, id: str, *, service: str, description: str) -> None:
        super().__init__(scope, id, assumed_by=iam.ServicePrincipal(service), description=description)
        self.policy = iam.ManagedPolicy(self, "Policy", roles=[self], description=description)

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        """Add the statement to the role's managed policy."""
        self.policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.policy)

    def acknowledge_wildcard_resources(self, *resources: str, reason: str) -> None:
        """Acknowledge the AwsSolutions-IAM5 finding of each wildcard resource (a token is fine) in the policy."""
        acknowledge_wildcard_resources(self.policy, *resources, reason=reason)
