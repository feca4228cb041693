"""The finding ids cdk-nag gives wildcard resources, computed from the ARN itself so acknowledgments stay exact."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Stack
from constructs import Construct


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


def wildcard_resource_finding(scope: Construct, resource: str) -> str:
    """`AwsSolutions-IAM5[Resource::...]` for `resource` in a policy of `scope`'s stack, computed right away.

    cdk-nag flattens the resolved ARN: literal text stays and `{"Ref": "AWS::Region"}` becomes `<AWS::Region>`.
    Only ARNs made of text and pseudo parameters are accepted: a reference to a resource, above all one in another
    stack, takes another form by the time cdk-nag reads the template (ManagedPolicyRole computes those later).
    """
    resolved = Stack.of(scope).resolve(resource)
    if not _names_only(resolved):
        raise ValueError(
            f"cannot name the cdk-nag finding of {resolved!r}: build the ARN from names, not from a reference"
        )
    return resource_finding(resolved)


def _names_only(node: Any) -> bool:
    """True for text, pseudo parameters and joins of them: the forms that resolve the same now and at synthesis."""
    if isinstance(node, str):
        return True
    if isinstance(node, dict) and "Fn::Join" in node:
        return all(_names_only(item) for item in node["Fn::Join"][1])
    return isinstance(node, dict) and set(node) == {"Ref"} and str(node["Ref"]).startswith("AWS::")
