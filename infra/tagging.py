"""The environment's tags on every resource that takes tags, CDK's own custom-resource providers included."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Stack, Tags

from infra.checkov import cdk_provider_resources

# What CDK's custom-resource providers are made of; both take tags, but CDK writes them as plain CfnResources, which
# `Tags` does not reach.
_PROVIDER_TYPES = ("AWS::IAM::Role", "AWS::Lambda::Function")


def tag_stack(stack: Stack, tags: Mapping[str, str]) -> None:
    """Tag every resource of `stack` with `tags` (cost allocation, ownership, the environment); call it once the
    stack's constructs exist."""
    for key, value in tags.items():
        Tags.of(stack).add(key, value)
    listed = [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
    for resource in cdk_provider_resources(stack):
        if resource.cfn_resource_type in _PROVIDER_TYPES:
            resource.add_property_override("Tags", listed)
