"""Acknowledgments written into one resource's template Metadata: checkov skips and cfn-guard acknowledgments.

Both are checked the same way (a known id, a reason that is a full sentence, a CloudFormation resource to carry
them) and kept the same way (a list under one Metadata key, without repeats); only the key and the entry differ.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

from aws_cdk import CfnResource
from constructs import IConstruct

from infra.nag import require_full_sentence


def add_resource_acknowledgments(
    construct: IConstruct,
    ids: Sequence[str],
    *,
    caller: str,
    id_pattern: re.Pattern[str],
    id_kind: str,
    metadata_key: str,
    list_key: str,
    reason_key: str,
    reason: str,
) -> None:
    """Record `ids` with `reason` under `metadata_key` of the CloudFormation resource of `construct`.

    `construct` is the resource itself or an L2 construct whose default child is the resource; `caller` and
    `id_kind` ("a checkov AWS check id such as 'CKV_AWS_18'") name what refused a bad argument.
    """
    resource = construct if CfnResource.is_cfn_resource(construct) else construct.node.default_child
    if resource is None or not CfnResource.is_cfn_resource(resource):
        raise ValueError(f"{caller} on {construct.node.path}: no CloudFormation resource to put it on")
    if not ids:
        raise ValueError(f"{caller} on {construct.node.path}: name at least one id")
    for one in ids:
        if not id_pattern.match(one):
            raise ValueError(f"{caller} on {construct.node.path}: {one!r} is not {id_kind}")
    require_full_sentence(reason, what=lambda: f"{caller} {', '.join(ids)} on {construct.node.path}")
    cfn = cast(CfnResource, resource)
    existing = cfn.get_metadata(metadata_key)
    entries: list[Any] = list(existing.get(list_key, [])) if isinstance(existing, dict) else []
    for one in ids:
        entry = {"id": one, reason_key: reason}
        if entry not in entries:
            entries.append(entry)
    cfn.add_metadata(metadata_key, {list_key: entries})
