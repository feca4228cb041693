"""The environment's tags on every resource that takes tags, CDK's own custom-resource provider roles included."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import jsii
from aws_cdk import Aspects, CfnResource, CustomResourceProviderBase, IAspect, Stack, Tags
from constructs import IConstruct


def tag_stack(stack: Stack, tags: Mapping[str, str]) -> None:
    """Tag every resource of `stack` with `tags` (cost allocation, ownership, the environment)."""
    for key, value in tags.items():
        Tags.of(stack).add(key, value)
    Aspects.of(stack).add(_TagProviderRoles(tags))


_PROVIDER_TYPES = ("AWS::IAM::Role", "AWS::Lambda::Function")


@jsii.implements(IAspect)
class _TagProviderRoles:
    """CDK writes the role and handler of its custom-resource providers as plain CfnResources: `Tags` misses them."""

    def __init__(self, tags: Mapping[str, str]) -> None:
        self._tags = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]

    def visit(self, node: IConstruct) -> None:
        """Add the tags to the role and the handler of a CDK custom-resource provider."""
        if (
            CfnResource.is_cfn_resource(node)
            and cast(CfnResource, node).cfn_resource_type in _PROVIDER_TYPES
            and isinstance(node.node.scope, CustomResourceProviderBase)
        ):
            cast(CfnResource, node).add_property_override("Tags", self._tags)
