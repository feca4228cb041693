"""AWS CloudFormation Guard (Control Tower proactive controls): the one way to acknowledge a control on a resource.

The Control Tower rules read no suppression of their own, so an acknowledgment is template Metadata on the one
resource (`guard: {acknowledge: [{id, reason}]}`); `make security` lists each with its reason and fails on one that
no longer accepts a finding.
"""

from __future__ import annotations

import re

from aws_cdk import Stack
from constructs import IConstruct

from infra.resource_metadata import add_resource_acknowledgments

_CONTROL_ID = re.compile(r"^CT\.[A-Z0-9]+\.PR\.[0-9]+$")
METADATA_KEY = "guard"


def acknowledge_control(construct: IConstruct, *control_ids: str, reason: str) -> None:
    """Accept these Control Tower controls on the CloudFormation resource of `construct`, with a reason.

    `construct` is the resource itself or an L2 construct whose default child is the resource.
    """
    add_resource_acknowledgments(
        construct,
        control_ids,
        caller="acknowledge_control",
        id_pattern=_CONTROL_ID,
        id_kind="a Control Tower control id such as 'CT.S3.PR.1'",
        metadata_key=METADATA_KEY,
        list_key="acknowledge",
        reason_key="reason",
        reason=reason,
    )


def acknowledge_key_from_another_stack(construct: IConstruct, control_id: str, *, key: IConstruct) -> None:
    """Acknowledge a control that asks for a KMS key, when `key` lives in another stack than `construct`.

    Guard rules expect the key as a literal ARN or a reference within the template; a key of another stack arrives
    as `Fn::GetStackOutput`, which they read as no key at all. In one stack the rule passes and nothing is needed.
    """
    if Stack.of(key) is Stack.of(construct):
        return
    acknowledge_control(
        construct,
        control_id,
        reason=f"The resource is encrypted with the lake key of the {Stack.of(key).stack_name} stack; guard reads "
        "that cross-stack reference (Fn::GetStackOutput) as no key, which is a false positive of the rule.",
    )
