"""`make analytics-start` / `make analytics-stop` / `make analytics-status`: run the Flink application only when asked.

    python -m tools.analytics start --env sandbox [--no-wait] [--skip-snapshot]
    python -m tools.analytics stop --env sandbox [--no-wait] [--force]
    python -m tools.analytics status --env sandbox

The stacks create the Managed Service for Apache Flink application in the READY state, which costs nothing; it is
billed per KPU-hour only from `start` until `stop` (10 minutes at least per start). `start` restores the latest
snapshot when there is one (the forests and windows go on where they stopped); `stop` takes a snapshot first unless
`--force`. Each command says the state it found and the state it left, and what to do for a state it cannot act on.
The application's name and region come from `outputs/<env>.json` (written by `make deploy`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

from infra.config import DEFAULT_ENVIRONMENT
from tools.cost import PriceTable
from tools.stack_outputs import OutputsError, StackOutputs, outputs_path

POLL_SECONDS = 15.0
# Starting takes a few minutes (more with a large snapshot); stopping with a snapshot about as long.
DEFAULT_CEILING_SECONDS = 20 * 60.0
# What each state means for the one who asked, and whether it is billed.
STATES = {
    "READY": "stopped: created and not running, nothing billed",
    "STARTING": "starting: resources are being provisioned (billed from here)",
    "RUNNING": "running: reading the stream and billed per KPU-hour",
    "UPDATING": "updating: a new configuration or code is being applied (billed)",
    "AUTOSCALING": "autoscaling: parallelism is changing (billed)",
    "STOPPING": "stopping: taking a snapshot and releasing resources",
    "FORCE_STOPPING": "force-stopping: releasing resources without a snapshot",
    "ROLLING_BACK": "rolling back: a failed update is being undone",
    "ROLLED_BACK": "rolled back: a failed update was undone",
    "MAINTENANCE": "under maintenance by the service",
    "DELETING": "being deleted",
}
BILLED = {"STARTING", "RUNNING", "UPDATING", "AUTOSCALING", "ROLLING_BACK"}


class AnalyticsError(Exception):
    """The application cannot be driven to the wanted state; the message says why and what to do."""


@dataclass(frozen=True)
class Application:
    """What describe_application says about the application."""

    name: str
    status: str
    parallelism: int
    parallelism_per_kpu: int
    snapshots: bool
    log_group: str | None = None  # from the application's CloudWatch logging option, when it has one

    @property
    def kpus(self) -> int:
        """KPUs at the current parallelism, plus the one the service adds for orchestration."""
        return -(-self.parallelism // self.parallelism_per_kpu) + 1


def describe(client: Any, name: str) -> Application:
    """The application's state and capacity."""
    detail = client.describe_application(ApplicationName=name)["ApplicationDetail"]
    configuration = detail.get("ApplicationConfigurationDescription", {})
    flink = configuration.get("FlinkApplicationConfigurationDescription", {})
    parallelism = flink.get("ParallelismConfigurationDescription", {})
    snapshots = configuration.get("ApplicationSnapshotConfigurationDescription", {})
    return Application(
        name=name,
        status=str(detail["ApplicationStatus"]),
        parallelism=int(parallelism.get("CurrentParallelism") or parallelism.get("Parallelism") or 1),
        parallelism_per_kpu=int(parallelism.get("ParallelismPerKPU") or 1),
        snapshots=bool(snapshots.get("SnapshotsEnabled", False)),
        log_group=_log_group(detail),
    )


def _log_group(detail: dict[str, Any]) -> str | None:
    """The log group of the application's logging option (its log stream ARN names it), if it has one."""
    for option in detail.get("CloudWatchLoggingOptionDescriptions", []):
        arn = str(option.get("LogStreamARN", ""))
        if ":log-group:" in arn:
            return arn.split(":log-group:", 1)[1].split(":log-stream:", 1)[0]
    return None


def hourly_cost(application: Application, prices: PriceTable) -> float:
    """USD per running hour: every KPU (orchestration included) and the running storage that comes with each."""
    kpus = application.kpus
    storage = (kpus - 1) * prices.usd("msf_running_storage_gb_month") * 50 / prices.hours_per_month
    return kpus * prices.usd("msf_kpu_hour") + storage


def describe_state(application: Application, prices: PriceTable) -> str:
    """One line: the name, the state and what it means (with the hourly cost while billed)."""
    meaning = STATES.get(application.status, "a state this tool does not know")
    line = f"{application.name} is {application.status} ({meaning})"
    if application.status in BILLED:
        line += f"; about {hourly_cost(application, prices):.2f} USD/hour at {application.kpus} KPUs"
    return line


def latest_snapshot(client: Any, name: str) -> str | None:
    """The name of the newest READY snapshot, if any."""
    summaries = client.list_application_snapshots(ApplicationName=name, Limit=50).get("SnapshotSummaries", [])
    ready = [s for s in summaries if s.get("SnapshotStatus") == "READY"]
    if not ready:
        return None
    newest: Mapping[str, Any] = max(ready, key=lambda s: s["SnapshotCreationTimestamp"])
    return str(newest["SnapshotName"])


@dataclass(frozen=True)
class Waiter:
    """Polls until the application reaches a state, with a ceiling and one progress line per change."""

    client: Any
    out: TextIO
    prices: PriceTable
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    poll_seconds: float = POLL_SECONDS
    ceiling_seconds: float = DEFAULT_CEILING_SECONDS

    def until(self, name: str, wanted: str, passing: set[str], initial: str = "") -> Application:
        """Wait for `wanted`; any state outside `passing` (or the ceiling) is an AnalyticsError.

        `initial`, the state the request was made in, is tolerated until the service reports another one: a start
        accepted a moment ago may still read READY, but READY after STARTING means the start failed.
        """
        deadline = self.monotonic() + self.ceiling_seconds
        seen, moved = "", False
        while True:
            application = describe(self.client, name)
            if application.status != seen:
                print(f"  {describe_state(application, self.prices)}", file=self.out, flush=True)
                seen = application.status
            moved = moved or application.status != initial
            if application.status == wanted:
                return application
            if application.status not in passing and (moved or application.status != initial):
                where = f"its log group {application.log_group}" if application.log_group else "its logs"
                raise AnalyticsError(f"{name} went to {application.status} instead of {wanted}: see {where}")
            if self.monotonic() >= deadline:
                raise AnalyticsError(
                    f"{name} is still {application.status} after {self.ceiling_seconds:.0f} s; run "
                    "`make analytics-status` later, or look at the application in the console"
                )
            self.sleep(self.poll_seconds)


def start(
    client: Any, name: str, prices: PriceTable, waiter: Waiter | None, *, skip_snapshot: bool, out: TextIO
) -> Application:
    """Start a READY application (from its latest snapshot when it has one); running or starting is already done."""
    application = describe(client, name)
    print(describe_state(application, prices), file=out, flush=True)
    if application.status in {"RUNNING", "STARTING", "UPDATING", "AUTOSCALING"}:
        print(f"nothing to do: {name} is already {application.status}", file=out)
        return application
    if application.status != "READY":
        raise AnalyticsError(_cannot("start", application.status, "READY"))
    snapshot = None if skip_snapshot or not application.snapshots else latest_snapshot(client, name)
    restore = {"ApplicationRestoreType": "SKIP_RESTORE_FROM_SNAPSHOT"}
    if snapshot:
        restore = {"ApplicationRestoreType": "RESTORE_FROM_CUSTOM_SNAPSHOT", "SnapshotName": snapshot}
    client.start_application(
        ApplicationName=name,
        RunConfiguration={
            "FlinkRunConfiguration": {"AllowNonRestoredState": False},
            "ApplicationRestoreConfiguration": restore,
        },
    )
    origin = f"from snapshot {snapshot}" if snapshot else "with empty state (no snapshot restored)"
    print(f"start requested {origin}", file=out, flush=True)
    if waiter is None:
        return describe(client, name)
    return waiter.until(name, "RUNNING", passing={"STARTING", "UPDATING", "AUTOSCALING"}, initial="READY")


def stop(client: Any, name: str, prices: PriceTable, waiter: Waiter | None, *, force: bool, out: TextIO) -> Application:
    """Stop a running application (with a snapshot unless forced); stopped or stopping is already done."""
    application = describe(client, name)
    print(describe_state(application, prices), file=out, flush=True)
    if application.status in {"READY", "STOPPING", "FORCE_STOPPING"}:
        print(f"nothing to do: {name} is already {application.status}", file=out)
        return application
    graceful = {"RUNNING", "UPDATING", "AUTOSCALING"}
    if application.status not in graceful and not (force and application.status == "STARTING"):
        raise AnalyticsError(_cannot("stop", application.status, "RUNNING (or STARTING with --force)"))
    client.stop_application(ApplicationName=name, Force=force)
    how = "without a snapshot (--force)" if force else "with a snapshot" if application.snapshots else "(snapshots off)"
    print(f"stop requested {how}", file=out, flush=True)
    if waiter is None:
        return describe(client, name)
    return waiter.until(name, "READY", passing={"STOPPING", "FORCE_STOPPING"}, initial=application.status)


def _cannot(action: str, status: str, wanted: str) -> str:
    meaning = STATES.get(status, "a state this tool does not know")
    return (
        f"cannot {action} while {status} ({meaning}); {action} needs {wanted}: wait, then run `make analytics-status`"
    )


def application_name(outputs: StackOutputs, env: str) -> tuple[str, str]:
    """The application's name and region, from the outputs of the Analytics stack."""
    arn = outputs.find("AnalyticsApplicationArn")
    if arn is None:
        raise OutputsError(
            f"{outputs.source} has no Flink application: set analytics.enabled to true for {env!r} in cdk.json "
            f"and run `make deploy ENV={env}`"
        )
    parts = arn.split(":")
    if len(parts) < 6 or not parts[3]:
        raise OutputsError(f"{arn!r} is not the ARN of an application")
    return parts[5].split("/", 1)[-1], parts[3]


def boto3_client(region: str) -> Any:
    """The Managed Service for Apache Flink client (its API is still `kinesisanalyticsv2`)."""
    import boto3  # type: ignore[import-untyped, unused-ignore]

    return boto3.client("kinesisanalyticsv2", region_name=region)


def build_parser() -> argparse.ArgumentParser:
    """The command line of `make analytics-start`, `analytics-stop` and `analytics-status`."""
    parser = argparse.ArgumentParser(prog="python -m tools.analytics", description="Start or stop the Flink job.")
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--env", default=DEFAULT_ENVIRONMENT, help="environment from cdk.json (%(default)s)")
    parser.add_argument("--no-wait", action="store_true", help="return once the request is accepted")
    parser.add_argument("--force", action="store_true", help="stop: no snapshot (also stops a STARTING app)")
    parser.add_argument("--skip-snapshot", action="store_true", help="start: ignore snapshots, start empty")
    parser.add_argument("--timeout", type=float, default=DEFAULT_CEILING_SECONDS, help="seconds to wait at most")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    client_for: Callable[[str], Any] = boto3_client,
    sleep: Callable[[float], None] = time.sleep,
    out: TextIO = sys.stdout,
) -> int:
    """0 when the application is in the wanted state, 1 when it cannot get there, 2 when nothing could be asked."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prices = PriceTable.load()
    try:
        outputs = StackOutputs.load(outputs_path(args.env), env=args.env)
        name, region = application_name(outputs, args.env)
    except OutputsError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    client = client_for(region)
    waiter = None if args.no_wait else Waiter(client, out, prices, sleep=sleep, ceiling_seconds=args.timeout)
    try:
        if args.action == "status":
            print(describe_state(describe(client, name), prices), file=out)
        elif args.action == "start":
            start(client, name, prices, waiter, skip_snapshot=args.skip_snapshot, out=out)
        else:
            stop(client, name, prices, waiter, force=args.force, out=out)
    except AnalyticsError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"{parser.prog}: AWS refused the request: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
