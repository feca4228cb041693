"""An IAM role whose grants land in a customer-managed policy instead of an inline one."""

from __future__ import annotations

import json

import jsii
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IValidation

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
        rule_ids = [f"AwsSolutions-IAM5[Resource::{nag_resource(stack.resolve(r))}]" for r in self._resources]
        acknowledge(self._policy, *rule_ids, reason=self._reason)
        return []


def nag_resource(resolved: object) -> str:
    """A resolved ARN the way cdk-nag 3 writes it into a finding id (its `flattenCfnReference`)."""
    if resolved is None:
        return ""
    if isinstance(resolved, str):
        return resolved.replace("${", "<").replace("}", ">")
    if isinstance(resolved, dict):
        if "Fn::Join" in resolved:
            delimiter, items = resolved["Fn::Join"]
            return str(delimiter).join(nag_resource(item) for item in items)
        if "Fn::Sub" in resolved:
            return nag_resource(resolved["Fn::Sub"])
        if "Fn::GetAtt" in resolved:
            resource, attribute = resolved["Fn::GetAtt"]
            return f"<{nag_resource(resource)}.{nag_resource(attribute)}>"
        if "Fn::ImportValue" in resolved:
            return nag_resource(resolved["Fn::ImportValue"])
        if "Ref" in resolved:
            return f"<{nag_resource(resolved['Ref'])}>"
    return json.dumps(resolved, separators=(",", ":"), ensure_ascii=False)
