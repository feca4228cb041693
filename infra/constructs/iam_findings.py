"""The finding ids cdk-nag gives wildcard resources, computed from the ARN itself so acknowledgments stay exact."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct


def wildcard_resource_finding(scope: Construct, resource: str) -> str:
    """`AwsSolutions-IAM5[Resource::...]` for `resource` in a policy of `scope`'s stack.

    cdk-nag flattens the resolved ARN: literal text stays and `{"Ref": "AWS::Region"}` becomes `<AWS::Region>`.
    Only ARNs made of text and pseudo parameters are accepted: a reference to a resource, above all one in another
    stack, takes another form by the time cdk-nag reads the template.
    """
    return f"AwsSolutions-IAM5[Resource::{_flatten(Stack.of(scope).resolve(resource))}]"


def _flatten(node: Any) -> str:
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict) and "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return str(delimiter).join(_flatten(item) for item in items)
    if isinstance(node, dict) and str(node.get("Ref", "")).startswith("AWS::"):
        return f"<{node['Ref']}>"
    raise ValueError(f"cannot name the cdk-nag finding of {node!r}: build the ARN from names, not from a reference")
