"""Exact cdk-nag finding ids for wildcard resources, computed from the ARN itself so acknowledgments stay exact.

cdk-nag names an AwsSolutions-IAM5 finding after the resolved ARN: literal text stays, `{"Ref": "AWS::Region"}`
becomes `<AWS::Region>`, a resource of the same stack `<LogicalId.Arn>`, and one of another stack the
`Fn::GetStackOutput` that CDK writes only while it synthesizes. So the ids are computed then, never written by hand.
"""

from __future__ import annotations

import json

import jsii
from aws_cdk import Stack
from constructs import IConstruct, IValidation

from infra.nag import acknowledge, require_full_sentence


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


def resource_finding(resolved: object) -> str:
    """`AwsSolutions-IAM5[Resource::...]` for an ARN already resolved in its stack."""
    return f"AwsSolutions-IAM5[Resource::{nag_resource(resolved)}]"


def acknowledge_wildcard_resources(scope: IConstruct, *resources: str, reason: str) -> None:
    """Acknowledge the AwsSolutions-IAM5 finding of each wildcard resource (an ARN, a token, or `*`) below `scope`.

    The finding ids are computed while the app synthesizes: CDK runs construct validations after it has resolved
    every reference (a cross-stack one included) and before the nag packs read the templates.
    """
    if not resources:
        raise ValueError(f"acknowledge_wildcard_resources on {scope.node.path}: name at least one resource")
    require_full_sentence(reason, what=lambda: f"acknowledge wildcard resources on {scope.node.path}")
    scope.node.add_validation(_AcknowledgeResolvedResources(scope, resources, reason))


@jsii.implements(IValidation)
class _AcknowledgeResolvedResources:
    """Acknowledges IAM5 resource findings once the resources' references are resolved; never fails validation."""

    def __init__(self, scope: IConstruct, resources: tuple[str, ...], reason: str) -> None:
        self._scope, self._resources, self._reason = scope, resources, reason

    def validate(self) -> list[str]:
        stack = Stack.of(self._scope)
        rule_ids = [resource_finding(stack.resolve(resource)) for resource in self._resources]
        acknowledge(self._scope, *rule_ids, reason=self._reason)
        return []
