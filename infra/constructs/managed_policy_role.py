"""An IAM role whose grants land in a customer-managed policy instead of an inline one."""

from __future__ import annotations

import jsii
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IValidation

from infra.constructs.iam_findings import resource_finding
from infra.nag import acknowledge


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
        """Acknowledge the AwsSolutions-IAM5 finding of each wildcard resource ARN (a token is fine) in the policy.

        cdk-nag names a finding after the resolved ARN, and a reference to another stack's resource is resolved
        only during synthesis (to `Fn::GetStackOutput`, whose output name CDK derives). CDK runs construct
        validations after resolving references and before the nag packs, so the ids are computed there.
        """
        self.policy.node.add_validation(_AcknowledgeResolvedResources(self.policy, resources, reason))


@jsii.implements(IValidation)
class _AcknowledgeResolvedResources:
    """Acknowledges IAM5 resource findings once the resources' references are resolved; never fails validation."""

    def __init__(self, policy: iam.ManagedPolicy, resources: tuple[str, ...], reason: str) -> None:
        self._policy, self._resources, self._reason = policy, resources, reason

    def validate(self) -> list[str]:
        stack = Stack.of(self._policy)
        rule_ids = [resource_finding(stack.resolve(resource)) for resource in self._resources]
        acknowledge(self._policy, *rule_ids, reason=self._reason)
        return []
