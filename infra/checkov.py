"""checkov's second opinion: the one way to skip a check, on one resource with a reason, never globally.

checkov reads a skip from the resource's template Metadata (`checkov: {skip: [{id, comment}]}`); `make security`
lists each one with its comment and fails on one that no longer skips anything.
"""

from __future__ import annotations

import re
from typing import cast

from aws_cdk import CfnResource, CustomResourceProviderBase, Stack
from constructs import IConstruct

from infra.guard import acknowledge_control
from infra.resource_metadata import add_resource_acknowledgments

_CHECK_ID = re.compile(r"^CKV2?_AWS_[0-9]+$")


def skip_check(construct: IConstruct, *check_ids: str, reason: str) -> None:
    """Skip these checkov checks on the CloudFormation resource of `construct`, with a reason why they are safe here.

    `construct` is the resource itself or an L2 construct whose default child is the resource.
    """
    add_resource_acknowledgments(
        construct,
        check_ids,
        caller="skip_check",
        id_pattern=_CHECK_ID,
        id_kind="a checkov AWS check id such as 'CKV_AWS_18'",
        metadata_key="checkov",
        list_key="skip",
        reason_key="comment",
        reason=reason,
    )


# What checkov asks of every Lambda function that does not apply to the handlers of CDK's own custom-resource
# providers (bucket auto-delete, default security group restriction, ...), which cdk-nag does not check either.
CDK_HANDLER_SKIPS: dict[str, str] = {
    "CKV_AWS_115": (
        "Every CDK custom-resource provider handler runs only while CloudFormation deploys its stack, once per "
        "resource event, so a concurrency reservation would only take capacity from the account's pool."
    ),
    "CKV_AWS_116": (
        "Every CDK custom-resource provider handler reports failure to CloudFormation, which fails and rolls back "
        "the deployment where the operator sees it; a dead-letter queue would hold nothing anyone acts on."
    ),
    "CKV_AWS_117": (
        "Every CDK custom-resource provider handler only calls AWS APIs while its stack deploys and holds no data; "
        "inside the lake's VPC, which has no route to the internet, it could not reach those APIs."
    ),
}


def cdk_provider_resources(stack: Stack) -> list[CfnResource]:
    """The role and the handler function of each of CDK's own custom-resource providers in `stack`.

    CDK creates each provider once per stack, as a direct child of the stack, when the first custom resource that
    needs it is created; so once a stack's constructs exist, so do its providers. Looking them up here, rather than
    visiting every construct with an aspect, saves one call from the CDK's JavaScript runtime per construct.
    """
    return [
        cast(CfnResource, child)
        for provider in stack.node.children
        if isinstance(provider, CustomResourceProviderBase)
        for child in provider.node.children
        if CfnResource.is_cfn_resource(child)
    ]


def skip_checks_on_cdk_handlers(stack: Stack) -> None:
    """Skip CDK_HANDLER_SKIPS (and acknowledge the guard control asking for a VPC) on CDK's own provider handlers."""
    for resource in cdk_provider_resources(stack):
        if resource.cfn_resource_type == "AWS::Lambda::Function":
            for check_id, reason in CDK_HANDLER_SKIPS.items():
                skip_check(resource, check_id, reason=reason)
            acknowledge_control(resource, "CT.LAMBDA.PR.3", reason=CDK_HANDLER_SKIPS["CKV_AWS_117"])
