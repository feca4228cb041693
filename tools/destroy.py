"""`make destroy`: delete an environment's stacks, and refuse for one that keeps its data unless told explicitly.

    python -m tools.destroy --env sandbox -- node_modules/.bin/cdk --no-notices --no-version-reporting
    python -m tools.destroy --env prod --force prod -- node_modules/.bin/cdk ...

An environment whose settings destroy their data (sandbox: ``removal_policy`` destroy, no termination protection)
is deleted with ``cdk destroy --all --force``: its buckets are emptied and deleted, its key scheduled for deletion.
One that keeps its data (prod) is refused before any AWS call. With ``--force <env>`` it lists, from the deployed
templates, every resource CloudFormation will leave behind (``DeletionPolicy: Retain``), turns termination
protection off, and runs ``cdk destroy --all``, which still asks for a "y" before deleting anything.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infra.config import DEFAULT_ENVIRONMENT, EnvironmentSettings
from tools.deploy import (
    DEFAULT_CDK,
    ClientFactory,
    PreflightError,
    boto3_clients,
    keeps_data,
    load_settings,
    preflight_target,
)
from tools.stack_outputs import outputs_path

# Stacks in these states are gone (or were never created) and have nothing left to delete.
GONE = {"DELETE_COMPLETE"}
RETAINED_POLICIES = {"Retain", "RetainExceptOnCreate"}


@dataclass(frozen=True)
class RetainedResource:
    """A resource that stays in the account when its stack is deleted."""

    stack: str
    logical_id: str
    resource_type: str
    physical_id: str


def refusal(settings: EnvironmentSettings) -> str:
    """Why `make destroy` will not delete an environment that keeps its data, and how to insist."""
    reasons = []
    if settings.removal_policy == "retain":
        reasons.append("removal_policy = retain")
    if settings.termination_protection:
        reasons.append("termination protection on")
    return (
        f"refusing to destroy {settings.name!r}: its settings keep its data ({', '.join(reasons)}). To delete its "
        f"stacks anyway run `make destroy ENV={settings.name} FORCE={settings.name}`; its retained buckets, key, "
        "stream, catalog database and log groups then stay in the account, and are listed before anything is deleted"
    )


def environment_stacks(cloudformation: Any, settings: EnvironmentSettings) -> list[dict[str, Any]]:
    """The deployed stacks of the environment (`MlDataLake-<env>-*`), as `describe_stacks` returns them."""
    prefix = settings.stack_name("")
    stacks: list[dict[str, Any]] = []
    for page in cloudformation.get_paginator("describe_stacks").paginate():
        stacks += [
            stack
            for stack in page["Stacks"]
            if stack["StackName"].startswith(prefix) and stack["StackStatus"] not in GONE
        ]
    return stacks


def _template(cloudformation: Any, stack: str) -> Mapping[str, Any]:
    body = cloudformation.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
    # botocore decodes a JSON body into a dict; keep a string body working too (CDK templates are JSON).
    return dict(json.loads(body) if isinstance(body, str) else body)


def _physical_ids(cloudformation: Any, stack: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            ids[summary["LogicalResourceId"]] = summary.get("PhysicalResourceId", "")
    return ids


def retained_resources(cloudformation: Any, stack_names: Sequence[str]) -> Iterator[RetainedResource]:
    """Every resource of the deployed stacks whose DeletionPolicy keeps it after the stack is deleted."""
    for stack in stack_names:
        resources = _template(cloudformation, stack).get("Resources", {})
        kept = {
            logical_id: resource["Type"]
            for logical_id, resource in resources.items()
            if resource.get("DeletionPolicy") in RETAINED_POLICIES
        }
        if not kept:
            continue
        physical = _physical_ids(cloudformation, stack)
        for logical_id, resource_type in kept.items():
            yield RetainedResource(stack, logical_id, resource_type, physical.get(logical_id) or "(not created)")


def destroy_command(cdk: Sequence[str], env: str, *, ask: bool) -> list[str]:
    """`cdk destroy` of every stack of the environment; without `ask`, no confirmation prompt."""
    return [cdk[0], "destroy", *cdk[1:], "--all", "-c", f"env={env}", *([] if ask else ["--force"])]


def build_parser() -> argparse.ArgumentParser:
    """The command line of `make destroy`."""
    parser = argparse.ArgumentParser(prog="python -m tools.destroy", description="Delete an environment's stacks.")
    parser.add_argument("--env", default=DEFAULT_ENVIRONMENT, help="environment from cdk.json (%(default)s)")
    parser.add_argument("--force", default="", help="the environment's name, to destroy one that keeps its data")
    parser.add_argument("cdk", nargs="*", default=list(DEFAULT_CDK), help="the CDK CLI and its flags, after --")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: ClientFactory | None = None,
    profile_region: str | None = None,
    environ: Mapping[str, str] | None = None,
    run: Callable[..., subprocess.CompletedProcess[bytes]] = subprocess.run,
) -> int:
    """Check, list what stays behind, and run `cdk destroy`; returns the exit status (2 for a refusal)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = parser.prog
    environ = dict(os.environ if environ is None else environ)
    try:
        settings = load_settings(args.env)
        forced = keeps_data(settings)
        if forced and args.force != settings.name:
            raise PreflightError(refusal(settings))
        if clients is None:
            clients, profile_region = boto3_clients()
        target = preflight_target(settings, clients=clients, profile_region=profile_region, environ=environ)
    except PreflightError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2

    cloudformation = clients("cloudformation", target.region)
    stacks = environment_stacks(cloudformation, settings)
    where = f"{target.identity.account}/{target.region}"
    if not stacks:
        print(f"nothing to destroy: no stack named {settings.stack_name('*')} in {where}")
        outputs_path(args.env).unlink(missing_ok=True)
        return 0
    names = [stack["StackName"] for stack in stacks]
    print(f"destroying {len(names)} stack(s) of {args.env!r} in {where}: {', '.join(sorted(names))}")
    if forced:
        _prepare_forced(cloudformation, stacks)

    command = destroy_command(args.cdk, args.env, ask=forced)
    print(" ".join(command), flush=True)
    child_env = {**environ, "AWS_REGION": target.region, "AWS_DEFAULT_REGION": target.region}
    result = run(command, env=child_env, check=False)
    if result.returncode == 0:
        # The stacks are gone: `make smoke` must not find their outputs any more.
        outputs_path(args.env).unlink(missing_ok=True)
    return int(result.returncode)


def _prepare_forced(cloudformation: Any, stacks: Sequence[Mapping[str, Any]]) -> None:
    """List what stays behind and lift termination protection, which `cdk destroy` cannot get past."""
    retained = list(retained_resources(cloudformation, [stack["StackName"] for stack in stacks]))
    if retained:
        print("These resources are retained and stay in the account after their stacks are deleted; delete them by")
        print("hand (emptying buckets first) only when their data is no longer needed:")
        width = max(len(r.resource_type) for r in retained)
        for resource in retained:
            print(
                f"  {resource.resource_type:<{width}}  {resource.physical_id}  ({resource.stack}/{resource.logical_id})"
            )
    for stack in stacks:
        if stack.get("EnableTerminationProtection"):
            print(f"turning termination protection off for {stack['StackName']}")
            cloudformation.update_termination_protection(
                StackName=stack["StackName"], EnableTerminationProtection=False
            )


if __name__ == "__main__":
    sys.exit(main())
