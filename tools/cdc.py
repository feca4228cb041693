"""`make cdc-start` / `make cdc-stop` / `make cdc-status`: run the DMS Serverless replication only when asked.

    python -m tools.cdc start --env sandbox [--reload]
    python -m tools.cdc stop --env sandbox
    python -m tools.cdc status --env sandbox

The Cdc stack creates the replication config without starting it, which costs nothing. `start` prints what a running
hour costs (its minimum to maximum DCUs), then starts it: the first start loads every selected table and goes on with
the changes; a start after a stop resumes from where it stopped; `--reload` loads the tables again. DMS bills per
DCU-hour from provisioning until the capacity is deprovisioned, which can be up to ~48 h after a stop: `status` says
whether capacity is still provisioned. The replication's ARN comes from `outputs/<env>.json` (written by `make deploy`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

from infra.config import DEFAULT_ENVIRONMENT
from tools.cost import PriceTable
from tools.stack_outputs import OutputsError, StackOutputs, outputs_path

OUTPUT = "CdcReplicationConfigArn"
PRICE = "dms_serverless_dcu_hour"
# States in which DMS is replicating or getting ready to (capacity provisioned or being provisioned).
ACTIVE = {
    "initializing",
    "preparing_metadata_resources",
    "testing_connection",
    "fetching_metadata",
    "calculating_capacity",
    "provisioning_capacity",
    "replication_starting",
    "running",
    "starting",
}
STOPPING = {"stopping", "deprovisioning_capacity"}


class CdcError(Exception):
    """The replication cannot be driven to the wanted state; the message says why and what to do."""


@dataclass(frozen=True)
class Replication:
    """What DMS says about the replication of one replication config."""

    arn: str
    identifier: str
    status: str  # `created` until the first start
    min_dcu: int
    max_dcu: int
    provisioned_dcu: int | None  # capacity DMS holds (and bills) right now, when it reports it
    provision_state: str | None
    stop_reason: str | None = None
    failure: str | None = None


def describe(client: Any, arn: str) -> Replication:
    """The replication config's capacity range and its replication's state (`created` if never started)."""
    configs = client.describe_replication_configs(Filters=[{"Name": "replication-config-arn", "Values": [arn]}])
    if not configs.get("ReplicationConfigs"):
        raise CdcError(f"no DMS replication config {arn}: was the Cdc stack deleted? run `make deploy` again")
    config = configs["ReplicationConfigs"][0]
    compute = config.get("ComputeConfig", {})
    found = client.describe_replications(Filters=[{"Name": "replication-config-arn", "Values": [arn]}])
    replication = (found.get("Replications") or [{}])[0]
    provision = replication.get("ProvisionData") or {}
    failures = replication.get("FailureMessages") or []
    return Replication(
        arn=arn,
        identifier=str(config.get("ReplicationConfigIdentifier", arn)),
        status=str(replication.get("Status", "created")),
        min_dcu=int(compute.get("MinCapacityUnits") or 1),
        max_dcu=int(compute.get("MaxCapacityUnits") or 1),
        provisioned_dcu=provision.get("ProvisionedCapacityUnits"),
        provision_state=provision.get("ProvisionState"),
        stop_reason=replication.get("StopReason"),
        failure="; ".join(str(message) for message in failures) or None,
    )


def billed(replication: Replication) -> bool:
    """True while DMS holds capacity for the replication (it bills per DCU-hour until it is deprovisioned)."""
    if replication.status in ACTIVE | STOPPING:
        return True
    return replication.provision_state not in (None, "", "deprovisioned")


def hourly_cost(replication: Replication, prices: PriceTable) -> tuple[float, float]:
    """USD per running hour at the minimum and at the maximum capacity."""
    per_dcu = prices.usd(PRICE)
    return replication.min_dcu * per_dcu, replication.max_dcu * per_dcu


def describe_state(replication: Replication, prices: PriceTable) -> str:
    """One line: the replication, its state, whether it bills and about how much."""
    line = f"{replication.identifier} is {replication.status}"
    if replication.provisioned_dcu is not None:
        line += f" ({replication.provisioned_dcu} DCUs provisioned)"
    if billed(replication):
        low, high = hourly_cost(replication, prices)
        line += f"; billed: about {low:.2f}-{high:.2f} USD/hour ({replication.min_dcu}-{replication.max_dcu} DCUs)"
    else:
        line += "; nothing billed"
    if replication.failure:
        line += f"; failure: {replication.failure}"
    return line


def start(client: Any, arn: str, prices: PriceTable, *, reload: bool, out: TextIO) -> Replication:
    """Start (or resume, or reload) the replication, after printing what it costs per hour."""
    replication = describe(client, arn)
    print(describe_state(replication, prices), file=out, flush=True)
    if replication.status in ACTIVE:
        print(f"nothing to do: {replication.identifier} is already {replication.status}", file=out)
        return replication
    if replication.status in STOPPING:
        raise CdcError(f"cannot start while {replication.status}: wait for `stopped`, then run `make cdc-start`")
    if reload:
        kind = "reload-target"
    elif replication.status == "created":
        kind = "start-replication"
    elif replication.status == "stopped":
        kind = "resume-processing"
    else:
        raise CdcError(
            f"cannot resume from {replication.status}: read the replication's log (DMS console) and start again "
            "with `make cdc-start RELOAD=1`, which loads the tables again"
        )
    low, high = hourly_cost(replication, prices)
    print(
        f"starting bills about {low:.2f}-{high:.2f} USD/hour ({replication.min_dcu}-{replication.max_dcu} DCUs at "
        f"{prices.usd(PRICE):.3f} USD per DCU-hour) until stopped and deprovisioned (up to ~48 h after a stop)",
        file=out,
        flush=True,
    )
    client.start_replication(ReplicationConfigArn=arn, StartReplicationType=kind)
    print(f"{kind} requested", file=out, flush=True)
    return describe(client, arn)


def stop(client: Any, arn: str, prices: PriceTable, *, out: TextIO) -> Replication:
    """Stop a running replication; stopped, stopping or never started is already done."""
    replication = describe(client, arn)
    print(describe_state(replication, prices), file=out, flush=True)
    if replication.status not in ACTIVE:
        print(f"nothing to do: {replication.identifier} is {replication.status}", file=out)
        return replication
    client.stop_replication(ReplicationConfigArn=arn)
    print("stop requested; DMS deprovisions the capacity later (`make cdc-status` says when)", file=out, flush=True)
    return describe(client, arn)


def replication_arn(outputs: StackOutputs, env: str) -> tuple[str, str]:
    """The replication config's ARN and region, from the outputs of the Cdc stack."""
    arn = outputs.find(OUTPUT)
    if arn is None:
        raise OutputsError(
            f"{outputs.source} has no CDC replication: set cdc.enabled to true for {env!r} in cdk.json "
            f"and run `make deploy ENV={env}`"
        )
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "dms" or not parts[3]:
        raise OutputsError(f"{arn!r} is not the ARN of a DMS replication config")
    return arn, parts[3]


def boto3_client(region: str) -> Any:
    """The DMS client."""
    import boto3  # type: ignore[import-untyped, unused-ignore]

    return boto3.client("dms", region_name=region)


def main(
    argv: Sequence[str] | None = None, *, client_for: Callable[[str], Any] = boto3_client, out: TextIO = sys.stdout
) -> int:
    """0 when the request was made (or nothing was needed), 1 when DMS refused it, 2 when nothing could be asked."""
    parser = argparse.ArgumentParser(prog="python -m tools.cdc", description="Start or stop the CDC replication.")
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--env", default=DEFAULT_ENVIRONMENT, help="environment from cdk.json (%(default)s)")
    parser.add_argument("--reload", action="store_true", help="start: load every table again (reload-target)")
    args = parser.parse_args(argv)
    prices = PriceTable.load()
    try:
        outputs = StackOutputs.load(outputs_path(args.env), env=args.env)
        arn, region = replication_arn(outputs, args.env)
    except OutputsError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    client = client_for(region)
    try:
        if args.action == "status":
            print(describe_state(describe(client, arn), prices), file=out)
        elif args.action == "start":
            print(describe_state(start(client, arn, prices, reload=args.reload, out=out), prices), file=out)
        else:
            print(describe_state(stop(client, arn, prices, out=out), prices), file=out)
    except CdcError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"{parser.prog}: AWS refused the request: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
