"""AWS CloudFormation Guard (Control Tower proactive controls): the one way to acknowledge a control on a resource.

The Control Tower rules read no suppression of their own, so an acknowledgment is template Metadata on the one
resource (`guard: {acknowledge: [{id, reason}]}`); `make security` lists each with its reason and fails on one that
no longer accepts a finding.
"""

from __future__ import annotations

import re
from typing import Any, cast

from aws_cdk import CfnResource, Stack
from constructs import IConstruct

from infra.nag import require_full_sentence

_CONTROL_ID = re.compile(r"^CT\.[A-Z0-9]+\.PR\.[0-9]+$")
METADATA_KEY = "guard"


def acknowledge_control(construct: IConstruct, *control_ids: str, reason: str) -> None:
    """Accept these Control Tower controls on the CloudFormation resource of `construct`, with a reason.

    `construct` is the resource itself or an L2 construct whose default child is the resource.
    """
    resource = construct if CfnResource.is_cfn_resource(construct) else construct.node.default_child
    if resource is None or not CfnResource.is_cfn_resource(resource):
        raise ValueError(f"acknowledge_control on {construct.node.path}: no CloudFormation resource to put it on")
    if not control_ids:
        raise ValueError(f"acknowledge_control on {construct.node.path}: name at least one control id")
    for control_id in control_ids:
        if not _CONTROL_ID.match(control_id):
            raise ValueError(
                f"acknowledge_control on {construct.node.path}: {control_id!r} is not a Control Tower control id "
                "such as 'CT.S3.PR.1'"
            )
    require_full_sentence(reason, what=f"acknowledge_control {', '.join(control_ids)} on {construct.node.path}")
    cfn = cast(CfnResource, resource)
    existing = cfn.get_metadata(METADATA_KEY)
    entries: list[Any] = list(existing.get("acknowledge", [])) if isinstance(existing, dict) else []
    for control_id in control_ids:
        entry = {"id": control_id, "reason": reason}
        if entry not in entries:
            entries.append(entry)
    cfn.add_metadata(METADATA_KEY, {"acknowledge": entries})


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
