"""`make smoke`: push a small batch through the deployed pipeline and check it reaches every zone.

    python -m tools.smoke --env sandbox [--records 200] [--raw-timeout 900] [--workflow-timeout 3600]

In order, each step printed as it passes:

1. writes generated sensor readings to the ingest stream (the producer's own generation and PutRecords logic);
2. waits, with a ceiling and a progress line per poll, until Firehose has written objects to the raw zone under
   the partition prefix of the current hour (or, with device partitioning, under ``events/device_id=``);
3. starts the Step Functions workflow (curate, crawl curated) and waits for its execution to end;
4. checks that the run wrote Parquet objects to the curated zone;
5. checks that the declared raw table and the curated crawler's table exist in the Glue database.

A failure stops the run with one line saying what was expected and what was found, then where to look: the log
groups of Firehose, the transform Lambda, the workflow and the Glue job, the raw zone's ``errors/`` prefix, and the
execution's console page. Every name comes from ``outputs/<env>.json`` (written by ``make deploy``) and from
describing the deployed resources, so nothing here guesses a physical name.

The steps take boto3 clients and a clock as arguments; the tests run them against moto with a simulated clock.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO, TypeVar

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

from infra.config import DEFAULT_ENVIRONMENT
from tools import producer
from tools.deploy import PreflightError, keeps_data, load_settings
from tools.stack_outputs import OutputsError, StackOutputs, outputs_path

DEFAULT_RECORDS = 200
DEFAULT_DEVICES = 10
RAW_POLL_SECONDS = 15.0
WORKFLOW_POLL_SECONDS = 30.0
# Beyond Firehose's buffer interval: the transform's own 60 s batching, the call, and the write.
RAW_MARGIN_SECONDS = 300.0
# Object timestamps come from S3's clock, the batch's from this machine's: allow for some skew.
CLOCK_SKEW = timedelta(minutes=2)
# What a workflow execution can end as (RUNNING and PENDING_REDRIVE are not ends).
ENDED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# Firehose's timestamp namespace uses Java's date patterns; these are the ones a prefix needs.
_JAVA_DATE = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_TIMESTAMP = re.compile(r"!\{timestamp:([^}]*)\}")

T = TypeVar("T")


class SmokeError(Exception):
    """A check failed: what was expected and found, and where to look."""

    def __init__(self, problem: str, where: Iterable[str] = ()) -> None:
        super().__init__(problem)
        self.problem, self.where = problem, list(where)


@dataclass(frozen=True)
class Clock:
    """Time as the smoke test sees it: a monotonic clock for ceilings, wall time for S3, and sleeping."""

    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Clients:
    """The AWS clients the smoke test uses (boto3 clients, or moto's)."""

    kinesis: Any
    firehose: Any
    s3: Any
    stepfunctions: Any
    glue: Any
    lambda_: Any = None


@dataclass
class Pipeline:
    """The deployed pipeline's names, found from the outputs file and by describing its resources."""

    region: str
    stream: str
    delivery_stream: str
    raw_bucket: str
    data_prefix: str
    error_prefix: str
    buffer_seconds: int
    state_machine_arn: str
    job_name: str
    curated_bucket: str
    curated_prefix: str
    database: str
    required_tables: list[str]
    # Where to look when a step fails, in the words of that step.
    logs: dict[str, str] = field(default_factory=dict)

    @property
    def error_location(self) -> str:
        """The raw zone's error prefix, where Firehose puts records it could not transform or deliver."""
        return f"s3://{self.raw_bucket}/{static_prefix(self.error_prefix)}"


class Reporter:
    """Prints each step as it passes, and progress while waiting."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.passed = stream, 0

    def ok(self, message: str) -> None:
        """One check passed."""
        self.passed += 1
        print(f"ok    {message}", file=self.stream, flush=True)

    def progress(self, message: str) -> None:
        """A line while waiting."""
        print(f"...   {message}", file=self.stream, flush=True)

    def failed(self, failure: SmokeError) -> None:
        """The check that failed and where to look."""
        print(f"FAIL  {failure.problem}", file=self.stream, flush=True)
        if failure.where:
            print("Where to look:", file=self.stream)
            for place in failure.where:
                print(f"  - {place}", file=self.stream)
        print(f"smoke test failed after {self.passed} passed check(s)", file=self.stream, flush=True)


# --- Names ------------------------------------------------------------------------------------------------------


def _bucket_of(arn_or_url: str) -> str:
    """The bucket of `arn:aws:s3:::bucket` or `s3://bucket/key`."""
    if arn_or_url.startswith("s3://"):
        return arn_or_url[len("s3://") :].split("/", 1)[0]
    return arn_or_url.rsplit(":", 1)[-1]


def _key_of(url: str) -> str:
    parts = url[len("s3://") :].split("/", 1)
    return parts[1] if len(parts) > 1 else ""


def region_of(arn: str) -> str:
    """The region part of an ARN."""
    parts = arn.split(":")
    if len(parts) < 6 or not parts[3]:
        raise OutputsError(f"{arn!r} is not a regional ARN")
    return parts[3]


def static_prefix(template: str) -> str:
    """The part of a Firehose prefix before its first `!{...}` expression."""
    return template.split("!{", 1)[0]


def render_prefix(template: str, moment: datetime) -> str:
    """A Firehose prefix with its `!{timestamp:...}` expressions filled in for `moment` (UTC), cut before any other
    expression (a partition key the transform returns, the error type), which only delivery knows."""

    def fill(match: re.Match[str]) -> str:
        pattern = match.group(1)
        for java, strftime in _JAVA_DATE.items():
            pattern = pattern.replace(java, strftime)
        return moment.astimezone(UTC).strftime(pattern)

    return static_prefix(_TIMESTAMP.sub(fill, template))


def expected_prefixes(template: str, moments: Iterable[datetime]) -> list[str]:
    """The prefixes objects may land under for records sent at any of `moments`, without duplicates."""
    return list(dict.fromkeys(render_prefix(template, moment) for moment in moments))


def _log_group_of_arn(arn: str) -> str:
    # arn:aws:logs:region:account:log-group:NAME[:*]
    name = arn.split(":log-group:", 1)[-1]
    return name[:-2] if name.endswith(":*") else name


def execution_console_url(region: str, execution_arn: str) -> str:
    """The Step Functions console page of one execution."""
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"


def discover(outputs: StackOutputs, clients: Clients) -> Pipeline:
    """Find every name the smoke test needs, starting from the stack outputs."""
    stream = outputs.get("IngestStreamName")
    delivery = outputs.get("DeliveryStreamName")
    state_machine = outputs.get("StateMachineArn")
    job = outputs.get("CurateJobName")
    # The raw zone's table is declared by the Ingestion stack (partition projection); only the curated zone is crawled.
    raw_table = outputs.get("RawEventsTableName")
    crawlers = [outputs.get("CuratedCrawlerName")]
    region = region_of(state_machine)
    try:
        description = clients.firehose.describe_delivery_stream(DeliveryStreamName=delivery)
        destination = description["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
        job_arguments = clients.glue.get_job(JobName=job)["Job"].get("DefaultArguments", {})
        crawled = [clients.glue.get_crawler(Name=name)["Crawler"] for name in crawlers]
    except ClientError as error:
        raise SmokeError(
            f"cannot describe the deployed pipeline ({error}); are the stacks deployed in {region}?",
            [f"`make deploy` writes {outputs.source}; `make diff` shows what differs from this checkout"],
        ) from None
    curated_url = job_arguments.get("--curated_path", "")
    if not curated_url.startswith("s3://"):
        raise SmokeError(f"Glue job {job} has no --curated_path argument; was the Processing stack changed?")
    logs = {
        "firehose": destination.get("CloudWatchLoggingOptions", {}).get("LogGroupName", ""),
        "job": job_arguments.get("--continuous-log-logGroup", f"/aws-glue/jobs/{job} (output and error streams)"),
        "crawlers": "the /aws-glue/crawlers* log groups (crawlers " + ", ".join(crawlers) + ")",
        "transform": _transform_log_group(destination, clients.lambda_),
        "workflow": _workflow_log_group(state_machine, clients.stepfunctions),
    }
    quarantine = outputs.find("QuarantinePath")
    if quarantine:
        logs["quarantine"] = quarantine
    return Pipeline(
        region=region,
        stream=stream,
        delivery_stream=delivery,
        raw_bucket=_bucket_of(destination["BucketARN"]),
        data_prefix=destination.get("Prefix", ""),
        error_prefix=destination.get("ErrorOutputPrefix", "errors/"),
        buffer_seconds=int(destination.get("BufferingHints", {}).get("IntervalInSeconds", 300)),
        state_machine_arn=state_machine,
        job_name=job,
        curated_bucket=_bucket_of(curated_url),
        curated_prefix=_key_of(curated_url),
        database=crawled[0]["DatabaseName"],
        required_tables=[raw_table, *(_first_table(crawler) for crawler in crawled)],
        logs={key: value for key, value in logs.items() if value},
    )


def _first_table(crawler: Mapping[str, Any]) -> str:
    """The table a crawler makes of its first folder (`<prefix>events`); later folders may legitimately be empty."""
    path = crawler["Targets"]["S3Targets"][0]["Path"].rstrip("/")
    return f"{crawler.get('TablePrefix', '')}{path.rsplit('/', 1)[-1]}".lower()


def _transform_log_group(destination: Mapping[str, Any], lambda_client: Any) -> str:
    processors = destination.get("ProcessingConfiguration", {}).get("Processors", [])
    arns = [
        p["ParameterValue"]
        for proc in processors
        for p in proc.get("Parameters", [])
        if p["ParameterName"] == "LambdaArn"
    ]
    if not arns:
        return ""
    function = arns[0].split(":function:", 1)[-1].split(":", 1)[0]
    if lambda_client is not None:
        try:
            configuration = lambda_client.get_function_configuration(FunctionName=arns[0])
            group = configuration.get("LoggingConfig", {}).get("LogGroup")
            if group:
                return str(group)
        except (ClientError, BotoCoreError):
            pass  # The usual name is still a good hint.
    return f"/aws/lambda/{function}"


def _workflow_log_group(state_machine: str, stepfunctions: Any) -> str:
    try:
        logging = stepfunctions.describe_state_machine(stateMachineArn=state_machine).get("loggingConfiguration", {})
    except ClientError:
        return ""
    for destination in logging.get("destinations", []):
        arn = destination.get("cloudWatchLogsLogGroup", {}).get("logGroupArn")
        if arn:
            return _log_group_of_arn(str(arn))
    return ""


# --- Waiting ----------------------------------------------------------------------------------------------------


def poll(
    check: Callable[[], T | None],
    *,
    what: str,
    ceiling: float,
    interval: float,
    clock: Clock,
    report: Reporter,
) -> tuple[T | None, float]:
    """Call `check` every `interval` seconds until it returns something or `ceiling` seconds have passed.

    Returns the result (None at the ceiling) and the seconds waited; prints a progress line per poll.
    """
    started = clock.monotonic()
    while True:
        result = check()
        waited = clock.monotonic() - started
        if result is not None:
            return result, waited
        if waited >= ceiling:
            return None, waited
        report.progress(f"waiting for {what}: {waited:.0f} s of at most {ceiling:.0f} s")
        clock.sleep(min(interval, max(ceiling - waited, 0.0)))


def _objects(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += page.get("Contents", [])
    return found


def _new_objects(s3: Any, bucket: str, prefix: str, since: datetime, suffix: str = "") -> list[str]:
    return [
        obj["Key"]
        for obj in _objects(s3, bucket, prefix)
        if obj["LastModified"] >= since - CLOCK_SKEW and obj["Key"].endswith(suffix)
    ]


# --- Steps ------------------------------------------------------------------------------------------------------


def send_batch(
    kinesis: Any, pipeline: Pipeline, *, records: int, devices: int, seed: int, clock: Clock, report: Reporter
) -> datetime:
    """Write generated readings to the ingest stream with the producer's batching and retries; returns when."""
    rng = random.Random(seed)
    sent_at = clock.now()
    entries = producer.build_entries(records, devices, "json", 0.0, rng, end=sent_at)
    try:
        result = producer.put_all(kinesis, pipeline.stream, entries, sleep=clock.sleep, rng=rng)
    except (ClientError, BotoCoreError) as error:
        raise SmokeError(
            f"writing to stream {pipeline.stream} failed: {error}",
            ["the stream in the Kinesis console; `make deploy` if it is missing"],
        ) from None
    if result.not_written:
        codes = ", ".join(f"{code} x{count}" for code, count in result.error_codes.most_common())
        raise SmokeError(
            f"{result.not_written} of {records} records were not written to stream {pipeline.stream} ({codes})",
            ["the stream's WriteProvisionedThroughputExceeded metric on the pipeline dashboard"],
        )
    report.ok(f"wrote {result.written} records from {devices} devices to stream {pipeline.stream}")
    return sent_at


def wait_for_raw_zone(
    s3: Any, pipeline: Pipeline, *, sent_at: datetime, ceiling: float, clock: Clock, report: Reporter
) -> list[str]:
    """Objects Firehose wrote to the raw zone, under the partition prefix, since the batch was sent."""

    def prefixes() -> list[str]:
        # The hour may turn while waiting; Firehose names objects after their arrival time.
        return expected_prefixes(pipeline.data_prefix, [sent_at, clock.now()])

    def arrived() -> list[str] | None:
        keys = [key for prefix in prefixes() for key in _new_objects(s3, pipeline.raw_bucket, prefix, sent_at)]
        return keys or None

    where = " or ".join(f"s3://{pipeline.raw_bucket}/{prefix}" for prefix in prefixes())
    keys, waited = poll(
        arrived, what=f"objects under {where}", ceiling=ceiling, interval=RAW_POLL_SECONDS, clock=clock, report=report
    )
    if keys is None:
        errors = _new_objects(s3, pipeline.raw_bucket, static_prefix(pipeline.error_prefix), sent_at)
        found = (
            f"but {len(errors)} object(s) under the error prefix {pipeline.error_location} (e.g. {errors[0]})"
            if errors
            else "and none under the error prefix either"
        )
        raise SmokeError(
            f"no object under {where} within {ceiling:.0f} s (Firehose buffers up to {pipeline.buffer_seconds} s), "
            + found,
            [
                f"records Firehose could not transform or deliver: {pipeline.error_location}",
                f"Firehose delivery errors: CloudWatch log group {pipeline.logs.get('firehose', '(none configured)')}",
                f"the transform Lambda: CloudWatch log group {pipeline.logs.get('transform', '(unknown)')}",
                f"delivery stream {pipeline.delivery_stream}: its DeliveryToS3.DataFreshness metric on the dashboard",
            ],
        )
    report.ok(f"{len(keys)} object(s) in the raw zone under {where} after {waited:.0f} s")
    return keys


def run_workflow(
    stepfunctions: Any, pipeline: Pipeline, *, ceiling: float, clock: Clock, report: Reporter
) -> dict[str, Any]:
    """Start the workflow and wait for its execution to end; anything but SUCCEEDED fails."""
    name = "smoke-" + clock.now().strftime("%Y%m%dT%H%M%SZ")
    execution = stepfunctions.start_execution(
        stateMachineArn=pipeline.state_machine_arn, name=name, input=json.dumps({"startedBy": "make smoke"})
    )["executionArn"]
    console = execution_console_url(pipeline.region, execution)
    report.ok(f"started workflow execution {name}")

    def ended() -> dict[str, Any] | None:
        described: dict[str, Any] = stepfunctions.describe_execution(executionArn=execution)
        return described if described["status"] in ENDED else None

    described, waited = poll(
        ended,
        what=f"workflow execution {name}",
        ceiling=ceiling,
        interval=WORKFLOW_POLL_SECONDS,
        clock=clock,
        report=report,
    )
    where = [
        f"the execution's events: {console}",
        f"the workflow's log group: {pipeline.logs.get('workflow', '(none configured)')}",
        f"the Glue job {pipeline.job_name}: CloudWatch log group {pipeline.logs.get('job')}",
        f"the crawlers: {pipeline.logs.get('crawlers')}",
    ]
    if described is None:
        raise SmokeError(
            f"workflow execution {name} was still running after {ceiling:.0f} s (the ceiling); it goes on in AWS",
            where,
        )
    if described["status"] != "SUCCEEDED":
        raise SmokeError(
            f"workflow execution {name} ended {described['status']}" + _failure_detail(stepfunctions, execution),
            where,
        )
    report.ok(f"workflow execution {name} SUCCEEDED after {waited:.0f} s")
    return described


def _failure_detail(stepfunctions: Any, execution: str) -> str:
    """`in state X: Error: cause` from the execution's history, as far as it says."""
    try:
        events = stepfunctions.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=100)[
            "events"
        ]
    except ClientError:
        return ""
    state = ""
    failure: Mapping[str, Any] = {}
    for event in sorted(events, key=lambda e: int(e["id"])):
        entered = event.get("stateEnteredEventDetails")
        if entered:
            state = entered["name"]
        for key, details in event.items():
            if key.endswith("FailedEventDetails") or key.endswith("TimedOutEventDetails"):
                failure = details
    if not failure:
        return ""
    where = f" in state {state}" if state else ""
    return f"{where}: {failure.get('error', 'error')}: {failure.get('cause', '(no cause given)')}"


def check_curated_zone(s3: Any, pipeline: Pipeline, *, since: datetime, report: Reporter) -> list[str]:
    """The workflow's run wrote Parquet objects to the curated zone."""
    location = f"s3://{pipeline.curated_bucket}/{pipeline.curated_prefix}"
    keys = _new_objects(s3, pipeline.curated_bucket, pipeline.curated_prefix, since, suffix=".parquet")
    if not keys:
        older = [
            o for o in _objects(s3, pipeline.curated_bucket, pipeline.curated_prefix) if o["Key"].endswith(".parquet")
        ]
        found = f"only {len(older)} older one(s)" if older else "none at all"
        raise SmokeError(
            f"no Parquet object written under {location} since {since:%Y-%m-%d %H:%M} UTC ({found})",
            [
                f"the Glue job {pipeline.job_name}: CloudWatch log group {pipeline.logs.get('job')}",
                "rows the job rejected: " + pipeline.logs.get("quarantine", "the curated zone's quarantine/ prefix"),
                "its job bookmark: records already processed by an earlier run are skipped",
            ],
        )
    report.ok(f"{len(keys)} Parquet object(s) written under {location}")
    return keys


def check_tables(glue: Any, pipeline: Pipeline, *, report: Reporter) -> list[str]:
    """The declared raw table and the curated crawler's table are in the lake's database."""
    names: list[str] = []
    try:
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=pipeline.database):
            names += [table["Name"] for table in page["TableList"]]
    except ClientError as error:
        raise SmokeError(
            f"cannot list the tables of Glue database {pipeline.database}: {error}",
            ["the Storage stack creates the database: `make diff` shows whether it is deployed"],
        ) from None
    missing = [table for table in pipeline.required_tables if table not in names]
    if missing:
        raise SmokeError(
            f"Glue database {pipeline.database} lacks table(s) {', '.join(missing)} "
            f"(found: {', '.join(sorted(names)) or 'none'})",
            [f"the crawlers: {pipeline.logs.get('crawlers')}", "the crawl states of the workflow execution above"],
        )
    report.ok(f"Glue tables {', '.join(pipeline.required_tables)} exist in database {pipeline.database}")
    return names


@dataclass(frozen=True)
class Ceilings:
    """How long each wait may take, in seconds; None derives the raw zone's from the Firehose buffer."""

    raw: float | None = None
    workflow: float = 3600.0


def run(
    pipeline: Pipeline,
    clients: Clients,
    *,
    records: int = DEFAULT_RECORDS,
    devices: int = DEFAULT_DEVICES,
    seed: int = 0,
    ceilings: Ceilings = Ceilings(),
    clock: Clock = Clock(),
    report: Reporter,
) -> None:
    """Every step in order; raises SmokeError at the first that fails."""
    raw_ceiling = ceilings.raw if ceilings.raw is not None else 2 * pipeline.buffer_seconds + RAW_MARGIN_SECONDS
    sent_at = send_batch(
        clients.kinesis, pipeline, records=records, devices=devices, seed=seed, clock=clock, report=report
    )
    wait_for_raw_zone(clients.s3, pipeline, sent_at=sent_at, ceiling=raw_ceiling, clock=clock, report=report)
    started_at = clock.now()
    run_workflow(clients.stepfunctions, pipeline, ceiling=ceilings.workflow, clock=clock, report=report)
    check_curated_zone(clients.s3, pipeline, since=started_at, report=report)
    check_tables(clients.glue, pipeline, report=report)


# --- Command line -----------------------------------------------------------------------------------------------


def boto3_smoke_clients(region: str) -> Clients:
    """Real clients in the deployed region, with botocore's standard retries."""
    import boto3  # type: ignore[import-untyped, unused-ignore]
    from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

    config = Config(retries={"mode": "standard"})

    def client(service: str) -> Any:
        return boto3.client(service, region_name=region, config=config)

    return Clients(
        kinesis=client("kinesis"),
        firehose=client("firehose"),
        s3=client("s3"),
        stepfunctions=client("stepfunctions"),
        glue=client("glue"),
        lambda_=client("lambda"),
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line of `make smoke`."""
    parser = argparse.ArgumentParser(prog="python -m tools.smoke", description="Smoke-test the deployed pipeline.")
    parser.add_argument("--env", default=DEFAULT_ENVIRONMENT, help="environment from cdk.json (%(default)s)")
    parser.add_argument("--confirm", default="", help="the environment's name, required where it keeps its data")
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="readings to send (%(default)s)")
    parser.add_argument("--devices", type=int, default=DEFAULT_DEVICES, help="simulated devices (%(default)s)")
    parser.add_argument(
        "--raw-timeout", type=float, help="seconds to wait for the raw zone (default: 2 buffer intervals + 300)"
    )
    parser.add_argument(
        "--workflow-timeout", type=float, help="seconds to wait for the workflow (default: its own timeout)"
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: Callable[[str], Clients] = boto3_smoke_clients,
    clock: Clock = Clock(),
    out: TextIO = sys.stdout,
) -> int:
    """Run the smoke test; 0 when every check passed, 1 when one failed, 2 when it could not start."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = parser.prog
    report = Reporter(out)
    try:
        settings = load_settings(args.env)
        if keeps_data(settings) and args.confirm != settings.name:
            raise PreflightError(
                f"the smoke test writes test records into {args.env!r}, an environment that keeps its data: "
                f"confirm with `make smoke ENV={args.env} CONFIRM={args.env}`"
            )
        outputs = StackOutputs.load(outputs_path(args.env), env=args.env)
        region = region_of(outputs.get("StateMachineArn"))
        aws = clients(region)
        pipeline = discover(outputs, aws)
    except (PreflightError, OutputsError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except SmokeError as failure:
        report.failed(failure)
        return 1
    workflow_ceiling = args.workflow_timeout or 60.0 * (settings.workflow.timeout_minutes + 1)
    print(f"smoke test of {args.env!r} in {region}", file=out, flush=True)
    try:
        run(
            pipeline,
            aws,
            records=args.records,
            devices=args.devices,
            ceilings=Ceilings(raw=args.raw_timeout, workflow=workflow_ceiling),
            clock=clock,
            report=report,
        )
    except SmokeError as failure:
        report.failed(failure)
        return 1
    print(f"smoke test passed: {report.passed} checks", file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
