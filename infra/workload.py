"""The one way to say which workload a paid resource serves: `make cost` names it on every line of the estimate."""

from __future__ import annotations

import re
from typing import cast

from aws_cdk import CfnResource, Tags
from constructs import IConstruct

WORKLOAD_TAG = "Workload"
# CloudFormation resources that take no tags (a dashboard) carry the workload in their template Metadata instead.
METADATA_KEY = "workload"
# What a tag value may hold (no commas or parentheses).
_TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]{1,256}$")


def serves(construct: IConstruct, workload: str) -> None:
    """Name the workload of every resource under `construct`: a `Workload` tag (usable as a cost allocation tag)
    and, on the construct's own resource, template Metadata for resource types that take no tags.
    """
    if not _TAG_VALUE.match(workload):
        raise ValueError(
            f"serves on {construct.node.path}: workload {workload!r} is not a tag value: use letters, digits, spaces "
            "and _ . : / = + - @ (256 at most)"
        )
    Tags.of(construct).add(WORKLOAD_TAG, workload)
    resource = construct if CfnResource.is_cfn_resource(construct) else construct.node.default_child
    if resource is not None and CfnResource.is_cfn_resource(resource):
        cast(CfnResource, resource).add_metadata(METADATA_KEY, workload)
