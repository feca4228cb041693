"""The smoke test against moto: a pass, each wait's ceiling, and a failure message at every step.

The Kinesis stream, the buckets, the delivery stream and the state machine are moto's; time is simulated, and the
world moves on while the smoke test sleeps (Firehose delivers, the workflow ends), as a script in each test says.
moto's Glue needs an extra the project does not install, so the Glue calls are answered by botocore's Stubber,
which still checks every request and response against the service model.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.models import stepfunctions_backends

from infra.constructs.delivery_stream import DEVICE_PREFIX, ERROR_PREFIX, TIME_PREFIX
from tests.tools.conftest import REGION
from tools import smoke
from tools.stack_outputs import OutputsError, StackOutputs

ACCOUNT = DEFAULT_ACCOUNT_ID
RAW = f"ml-data-lake-sandbox-raw-{ACCOUNT}-{REGION}-an"
CURATED = f"ml-data-lake-sandbox-curated-{ACCOUNT}-{REGION}-an"
STREAM = "MlDataLake-sandbox-Ingestion-IngestStreamB259CF51-abc"
DELIVERY = "MlDataLake-sandbox-Ingestion-DeliveryStream-xyz"
WORKFLOW = "ml-data-lake-sandbox-curation"
JOB = "ml-data-lake-sandbox-curate-events"
DATABASE = "ml_data_lake_sandbox"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/anything"
TRANSFORM = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:MlDataLake-sandbox-Ingestion-TransformFunction-1"
WORKFLOW_LOGS = f"/aws/vendedlogs/states/{WORKFLOW}"
BUFFER_SECONDS = 60


pytestmark = pytest.mark.usefixtures("fake_aws")


# --- A simulated clock and world --------------------------------------------------------------------------------


@dataclass
class World:
    """Simulated time: `sleep` advances it and runs whatever the test scheduled for that moment."""

    start: datetime
    elapsed: float = 0.0
    sleeps: list[float] = field(default_factory=list)
    script: list[tuple[float, Callable[[], None]]] = field(default_factory=list)

    def at(self, seconds: float, happening: Callable[[], None]) -> None:
        """Schedule something to happen once `seconds` have passed."""
        self.script.append((seconds, happening))

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += seconds
        due = [(at, happening) for at, happening in self.script if at <= self.elapsed]
        self.script = [(at, happening) for at, happening in self.script if at > self.elapsed]
        for _, happening in sorted(due, key=lambda item: item[0]):
            happening()

    @property
    def clock(self) -> smoke.Clock:
        return smoke.Clock(monotonic=lambda: self.elapsed, now=self.now, sleep=self.sleep)


@dataclass
class Lake:
    """The deployed pipeline, in moto (and a stubbed Glue)."""

    clients: smoke.Clients
    glue_stub: Stubber
    world: World

    def deliver(self, prefix_template: str = TIME_PREFIX, name: str = "delivery-1.gz") -> Callable[[], None]:
        """What Firehose does after buffering: one object under the prefix of the current hour."""

        def put() -> None:
            key = smoke.render_prefix(prefix_template, self.world.now()) + name
            self.clients.s3.put_object(Bucket=RAW, Key=key, Body=b"{}")

        return put

    def end_executions(self, status: str = "SUCCEEDED", *, curate: bool = True) -> Callable[[], None]:
        """The workflow ends (moto's executions never do on their own); the job writes Parquet as it succeeds."""

        def finish() -> None:
            backend = stepfunctions_backends[ACCOUNT][REGION]
            for state_machine in backend.state_machines:
                for execution in state_machine.executions:
                    execution.status = status
            if curate:
                self.clients.s3.put_object(
                    Bucket=CURATED, Key="events/year=2026/month=11/part-00000-abc.snappy.parquet", Body=b"PAR1"
                )

        return finish

    def answer_discovery(self) -> None:
        """Glue's answers to the smoke test's discovery: the job and the curated zone's crawler."""
        self.glue_stub.add_response(
            "get_job",
            {
                "Job": {
                    "Name": JOB,
                    "Role": ROLE,
                    "Command": {"Name": "glueetl", "ScriptLocation": "s3://assets/job.py"},
                    "DefaultArguments": {
                        "--curated_path": f"s3://{CURATED}/events/",
                        "--continuous-log-logGroup": f"/aws-glue/jobs/{JOB}",
                    },
                }
            },
            {"JobName": JOB},
        )
        for name, bucket, prefix in ((f"{WORKFLOW}-curated", CURATED, "curated_"),):
            self.glue_stub.add_response(
                "get_crawler",
                {
                    "Crawler": {
                        "Name": name,
                        "Role": ROLE,
                        "DatabaseName": DATABASE,
                        "TablePrefix": prefix,
                        "Targets": {"S3Targets": [{"Path": f"s3://{bucket}/events/"}]},
                    }
                },
                {"Name": name},
            )

    def answer_tables(self, *names: str) -> None:
        """Glue's answer to listing the database's tables."""
        self.glue_stub.add_response(
            "get_tables", {"TableList": [{"Name": name} for name in names]}, {"DatabaseName": DATABASE}
        )


OUTPUTS = {
    "MlDataLake-sandbox-Ingestion": {
        "IngestStreamName": STREAM,
        "IngestStreamArn": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{STREAM}",
        "DeliveryStreamName": DELIVERY,
        "RawEventsTableName": "raw_events",
        "ShardPlan": "1 shard(s) = ...",
    },
    "MlDataLake-sandbox-Processing": {
        "StateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{WORKFLOW}",
        "CurateJobName": JOB,
        "CuratedCrawlerName": f"{WORKFLOW}-curated",
        "QuarantinePath": f"s3://{CURATED}/quarantine/",
    },
}


@pytest.fixture
def lake() -> Iterator[Lake]:
    """A stream, the raw and curated zones, a delivery stream between them and the workflow, all empty."""
    with mock_aws():
        kinesis = boto3.client("kinesis", region_name=REGION)
        kinesis.create_stream(StreamName=STREAM, ShardCount=1)
        stream_arn = kinesis.describe_stream(StreamName=STREAM)["StreamDescription"]["StreamARN"]
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (RAW, CURATED):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        firehose = boto3.client("firehose", region_name=REGION)
        firehose.create_delivery_stream(
            DeliveryStreamName=DELIVERY,
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration={
                "RoleARN": ROLE,
                "BucketARN": f"arn:aws:s3:::{RAW}",
                "Prefix": TIME_PREFIX,
                "ErrorOutputPrefix": ERROR_PREFIX,
                "BufferingHints": {"IntervalInSeconds": BUFFER_SECONDS, "SizeInMBs": 64},
                "CompressionFormat": "GZIP",
                "CloudWatchLoggingOptions": {
                    "Enabled": True,
                    "LogGroupName": "MlDataLake-sandbox-Ingestion-DeliveryLogGroup-1",
                    "LogStreamName": "S3Delivery",
                },
                "ProcessingConfiguration": {
                    "Enabled": True,
                    "Processors": [
                        {"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": TRANSFORM}]}
                    ],
                },
            },
        )
        stepfunctions = boto3.client("stepfunctions", region_name=REGION)
        stepfunctions.create_state_machine(
            name=WORKFLOW,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=ROLE,
            loggingConfiguration={
                "level": "ALL",
                "includeExecutionData": True,
                "destinations": [
                    {
                        "cloudWatchLogsLogGroup": {
                            "logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{WORKFLOW_LOGS}:*"
                        }
                    }
                ],
            },
        )
        glue = boto3.client("glue", region_name=REGION)
        with Stubber(glue) as glue_stub:
            clients = smoke.Clients(kinesis=kinesis, firehose=firehose, s3=s3, stepfunctions=stepfunctions, glue=glue)
            yield Lake(clients=clients, glue_stub=glue_stub, world=World(start=datetime.now(UTC)))


def _discover(lake: Lake) -> smoke.Pipeline:
    lake.answer_discovery()
    return smoke.discover(StackOutputs(OUTPUTS, source="outputs/sandbox.json"), lake.clients)


def _run(lake: Lake, tables: tuple[str, ...] = (), **ceilings: float) -> tuple[str, smoke.SmokeError | None]:
    """Run every step, Glue listing `tables`; the printed report and the failure, if any."""
    pipeline = _discover(lake)
    if tables:
        lake.answer_tables(*tables)
    out = io.StringIO()
    report = smoke.Reporter(out)
    try:
        smoke.run(
            pipeline,
            lake.clients,
            records=120,
            devices=6,
            ceilings=smoke.Ceilings(**ceilings),
            clock=lake.world.clock,
            report=report,
        )
    except smoke.SmokeError as failure:
        report.failed(failure)
        return out.getvalue(), failure
    return out.getvalue(), None


def _lines(text: str, start: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(start)]


# --- The whole run ----------------------------------------------------------------------------------------------


def test_a_healthy_pipeline_passes_every_check(lake: Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given deployed stacks whose outputs make deploy wrote, Firehose delivering after 75 s, and the workflow ending
    # well 10 minutes after it started
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "sandbox.json").write_text(json.dumps(OUTPUTS))
    lake.answer_discovery()
    lake.answer_tables("raw_events", "curated_events", "curated_quarantine")
    lake.world.at(75, lake.deliver())
    lake.world.at(75 + 600, lake.end_executions())
    out = io.StringIO()

    # When make smoke runs
    status = smoke.main(["--env", "sandbox"], clients=lambda region: lake.clients, clock=lake.world.clock, out=out)

    # Then every check passed, each printed as it did
    report = out.getvalue()
    assert status == 0, report
    hour = smoke.render_prefix(TIME_PREFIX, lake.world.start)
    assert _lines(report, "ok") == [
        f"ok    wrote 200 records from 10 devices to stream {STREAM}",
        f"ok    1 object(s) in the raw zone under s3://{RAW}/{hour} after 75 s",
        f"ok    started workflow execution smoke-{(lake.world.start + timedelta(seconds=75)):%Y%m%dT%H%M%SZ}",
        "ok    workflow execution smoke-"
        f"{(lake.world.start + timedelta(seconds=75)):%Y%m%dT%H%M%SZ} SUCCEEDED after 600 s",
        f"ok    1 Parquet object(s) written under s3://{CURATED}/events/",
        f"ok    Glue tables raw_events, curated_events exist in database {DATABASE}",
    ]
    assert report.splitlines()[0] == f"smoke test of 'sandbox' in {REGION}"
    assert report.splitlines()[-1] == "smoke test passed: 6 checks"
    # And it waited with progress lines, polling the raw zone every 15 s and the workflow every 30 s
    assert lake.world.sleeps == [15.0] * 5 + [30.0] * 20
    assert f"...   waiting for objects under s3://{RAW}/{hour}: 0 s of at most 420 s" in report
    # And the records really are on the stream
    lake.glue_stub.assert_no_pending_responses()
    shard = lake.clients.kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    iterator = lake.clients.kinesis.get_shard_iterator(
        StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert len(lake.clients.kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]) == 200


def test_discovery_reads_names_from_the_outputs_and_the_deployed_resources(lake: Lake) -> None:
    pipeline = _discover(lake)
    assert (pipeline.region, pipeline.stream, pipeline.raw_bucket, pipeline.curated_bucket) == (
        REGION,
        STREAM,
        RAW,
        CURATED,
    )
    assert (pipeline.data_prefix, pipeline.buffer_seconds, pipeline.curated_prefix) == (
        TIME_PREFIX,
        BUFFER_SECONDS,
        "events/",
    )
    assert pipeline.database == DATABASE
    assert pipeline.required_tables == ["raw_events", "curated_events"]
    assert pipeline.error_location == f"s3://{RAW}/errors/"
    assert pipeline.logs == {
        "firehose": "MlDataLake-sandbox-Ingestion-DeliveryLogGroup-1",
        "job": f"/aws-glue/jobs/{JOB}",
        "crawlers": f"the /aws-glue/crawlers* log groups (crawlers {WORKFLOW}-curated)",
        "transform": "/aws/lambda/MlDataLake-sandbox-Ingestion-TransformFunction-1",
        "workflow": WORKFLOW_LOGS,
        "quarantine": f"s3://{CURATED}/quarantine/",
    }


# --- Each wait's ceiling and each failure -----------------------------------------------------------------------


def test_nothing_in_the_raw_zone_before_the_ceiling_says_where_to_look(lake: Lake) -> None:
    # Given a Firehose that never delivers
    # When the smoke test runs with a 120 s ceiling for the raw zone
    report, failure = _run(lake, raw=120)

    # Then it gives up at the ceiling, having said how long it waited each time
    hour = smoke.render_prefix(TIME_PREFIX, lake.world.start)
    assert failure is not None
    assert lake.world.elapsed == 120
    assert _lines(report, "...") == [
        f"...   waiting for objects under s3://{RAW}/{hour}: {waited} s of at most 120 s"
        for waited in (0, 15, 30, 45, 60, 75, 90, 105)
    ]
    # And the failure says what was expected, what was found, and where to look
    assert _lines(report, "FAIL") == [
        f"FAIL  no object under s3://{RAW}/{hour} within 120 s (Firehose buffers up to 60 s), "
        "and none under the error prefix either"
    ]
    assert report.split("Where to look:\n")[1].splitlines() == [
        f"  - records Firehose could not transform or deliver: s3://{RAW}/errors/",
        "  - Firehose delivery errors: CloudWatch log group MlDataLake-sandbox-Ingestion-DeliveryLogGroup-1",
        "  - the transform Lambda: CloudWatch log group /aws/lambda/MlDataLake-sandbox-Ingestion-TransformFunction-1",
        f"  - delivery stream {DELIVERY}: its DeliveryToS3.DataFreshness metric on the dashboard",
        "smoke test failed after 1 passed check(s)",
    ]


def test_the_default_raw_zone_ceiling_is_two_buffer_intervals_plus_five_minutes(lake: Lake) -> None:
    _, failure = _run(lake)
    assert failure is not None
    assert lake.world.elapsed == 2 * BUFFER_SECONDS + 300


def test_records_that_land_under_the_error_prefix_are_reported_as_such(lake: Lake) -> None:
    # Given a transform that fails every record: Firehose writes them under errors/processing-failed/...
    lake.world.at(60, lake.deliver(ERROR_PREFIX.replace("!{firehose:error-output-type}", "processing-failed")))

    # When the smoke test waits for the raw zone
    _, failure = _run(lake, raw=90)

    # Then the failure names the error object, not just the absence of data
    assert failure is not None
    error_key = smoke.render_prefix(
        ERROR_PREFIX.replace("!{firehose:error-output-type}", "processing-failed"), lake.world.start
    )
    assert failure.problem.endswith(
        f"but 1 object(s) under the error prefix s3://{RAW}/errors/ (e.g. {error_key}delivery-1.gz)"
    )
    assert error_key.startswith("errors/processing-failed/year=")


def test_a_failed_workflow_execution_says_which_state_failed_and_where_to_look(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a workflow whose executions fail (moto's scripted failure history)
    monkeypatch.setenv("SF_EXECUTION_HISTORY_TYPE", "FAILURE")
    lake.world.at(30, lake.deliver())

    # When the smoke test runs
    report, failure = _run(lake)

    # Then it stops at the workflow with the failed state, the error and its cause
    assert failure is not None
    execution = f"smoke-{(lake.world.start + timedelta(seconds=30)):%Y%m%dT%H%M%SZ}"
    assert (
        failure.problem == f"workflow execution {execution} ended FAILED in state A State: AnError: An error occurred!"
    )
    # And says where to look: the execution's console page, the workflow's, the job's and the crawlers' logs
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{WORKFLOW}:{execution}"
    assert failure.where == [
        f"the execution's events: https://{REGION}.console.aws.amazon.com/states/home?region={REGION}"
        f"#/v2/executions/details/{arn}",
        f"the workflow's log group: {WORKFLOW_LOGS}",
        f"the Glue job {JOB}: CloudWatch log group /aws-glue/jobs/{JOB}",
        f"the crawlers: the /aws-glue/crawlers* log groups (crawlers {WORKFLOW}-curated)",
    ]
    assert _lines(report, "ok")[-1] == f"ok    started workflow execution {execution}"


def test_a_workflow_still_running_at_the_ceiling_fails_and_says_it_goes_on(lake: Lake) -> None:
    lake.world.at(30, lake.deliver())
    _, failure = _run(lake, workflow=300)
    assert failure is not None
    assert failure.problem.endswith("was still running after 300 s (the ceiling); it goes on in AWS")
    assert lake.world.elapsed == 30 + 300


def test_an_aborted_execution_fails_the_run(lake: Lake) -> None:
    lake.world.at(30, lake.deliver())
    lake.world.at(90, lake.end_executions("ABORTED", curate=False))
    _, failure = _run(lake)
    assert failure is not None
    assert " ended ABORTED" in failure.problem


def test_no_new_curated_parquet_fails_with_the_jobs_log_group(lake: Lake) -> None:
    # Given a workflow that succeeds without the job writing anything
    lake.world.at(30, lake.deliver())
    lake.world.at(90, lake.end_executions(curate=False))

    _, failure = _run(lake)

    assert failure is not None
    assert failure.problem.startswith(f"no Parquet object written under s3://{CURATED}/events/ since ")
    assert failure.problem.endswith("(none at all)")
    assert failure.where[0] == f"the Glue job {JOB}: CloudWatch log group /aws-glue/jobs/{JOB}"
    assert failure.where[1] == f"rows the job rejected: s3://{CURATED}/quarantine/"


def test_only_older_parquet_objects_do_not_count(lake: Lake) -> None:
    # Given Parquet from an earlier run
    pipeline = _discover(lake)
    lake.clients.s3.put_object(Bucket=CURATED, Key="events/part-0.snappy.parquet", Body=b"PAR1")
    # When checking for objects written since a later moment
    with pytest.raises(smoke.SmokeError, match=r"\(only 1 older one\(s\)\)$"):
        smoke.check_curated_zone(
            lake.clients.s3,
            pipeline,
            since=datetime.now(UTC) + timedelta(hours=1),
            report=smoke.Reporter(io.StringIO()),
        )


def test_missing_glue_tables_are_named_with_what_was_found(lake: Lake) -> None:
    # Given a run where the curated crawler made no table
    lake.world.at(30, lake.deliver())
    lake.world.at(90, lake.end_executions())

    _, failure = _run(lake, tables=("raw_events",))

    assert failure is not None
    assert failure.problem == f"Glue database {DATABASE} lacks table(s) curated_events (found: raw_events)"
    assert failure.where == [
        f"the crawlers: the /aws-glue/crawlers* log groups (crawlers {WORKFLOW}-curated)",
        "the crawl states of the workflow execution above",
    ]


def test_a_stream_that_is_not_there_fails_the_first_step(lake: Lake) -> None:
    pipeline = _discover(lake)
    pipeline.stream = "gone"
    with pytest.raises(smoke.SmokeError, match=r"^writing to stream gone failed: .*ResourceNotFoundException"):
        smoke.send_batch(
            lake.clients.kinesis,
            pipeline,
            records=5,
            devices=1,
            seed=0,
            clock=lake.world.clock,
            report=smoke.Reporter(io.StringIO()),
        )


# --- The command line -------------------------------------------------------------------------------------------


def test_without_an_outputs_file_it_says_to_deploy_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    status = smoke.main(["--env", "sandbox"], clients=_no_aws)
    assert status == 2
    assert capsys.readouterr().err.splitlines() == [
        "python -m tools.smoke: error: outputs/sandbox.json not found: the sandbox stacks were not deployed from this "
        "checkout; run `make deploy ENV=sandbox`"
    ]


def test_it_refuses_an_environment_that_keeps_its_data_unless_confirmed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    status = smoke.main(["--env", "prod"], clients=_no_aws)
    assert status == 2
    assert capsys.readouterr().err.splitlines() == [
        "python -m tools.smoke: error: the smoke test writes test records into 'prod', an environment that keeps its "
        "data: confirm with `make smoke ENV=prod CONFIRM=prod`"
    ]


def _no_aws(region: str) -> smoke.Clients:
    raise AssertionError(f"no AWS client may be made here (asked for {region})")


# --- Prefixes and outputs ---------------------------------------------------------------------------------------


def test_the_time_prefix_is_the_hour_of_arrival_in_utc() -> None:
    moment = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert smoke.render_prefix(TIME_PREFIX, moment) == "events/year=2026/month=12/day=31/hour=23/"


def test_with_device_partitioning_the_prefix_stops_before_the_device() -> None:
    assert smoke.render_prefix(DEVICE_PREFIX, datetime(2026, 1, 2, 3, tzinfo=UTC)) == "events/device_id="


def test_a_wait_across_the_hour_looks_under_both_hours() -> None:
    before, after = datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, 0, 4, tzinfo=UTC)
    assert smoke.expected_prefixes(TIME_PREFIX, [before, after, after]) == [
        "events/year=2026/month=12/day=31/hour=23/",
        "events/year=2027/month=01/day=01/hour=00/",
    ]


def test_an_output_is_found_by_its_key_suffix_with_clear_errors() -> None:
    outputs = StackOutputs(
        {"A": {"WorkflowStateMachineArn1A2B3C4D": "arn:1", "X": "1"}, "B": {"OtherStateMachineArn": "arn:2"}},
        source="outputs/sandbox.json",
    )
    assert outputs.find("Missing") is None
    with pytest.raises(OutputsError, match=r"several outputs ending with StateMachineArn \(A\.Workflow.*, B\.Other"):
        outputs.get("StateMachineArn")
    with pytest.raises(OutputsError, match=r"no output ending with CurateJobName \(stacks: A, B\); .*make deploy"):
        outputs.get("CurateJobName")
    assert outputs.get("WorkflowStateMachineArn") == "arn:1"
    assert outputs.find("StateMachineArn1") is None
    with pytest.raises(OutputsError, match="is not a CDK outputs file"):
        StackOutputs.parse({"A": ["not", "a", "mapping"]}, source="x.json")


def test_the_region_comes_from_an_arn() -> None:
    assert smoke.region_of(f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:x") == REGION
    with pytest.raises(OutputsError, match="is not a regional ARN"):
        smoke.region_of("arn:aws:s3:::bucket")


def test_a_progress_line_per_poll_and_the_result_as_soon_as_it_is_there() -> None:
    world = World(start=datetime(2026, 1, 1, tzinfo=UTC))
    out = io.StringIO()
    answers = iter([None, None, "found"])
    result, waited = smoke.poll(
        lambda: next(answers), what="x", ceiling=100, interval=10, clock=world.clock, report=smoke.Reporter(out)
    )
    assert (result, waited) == ("found", 20)
    assert out.getvalue().splitlines() == [
        "...   waiting for x: 0 s of at most 100 s",
        "...   waiting for x: 10 s of at most 100 s",
    ]


def test_the_last_sleep_stops_at_the_ceiling() -> None:
    world = World(start=datetime(2026, 1, 1, tzinfo=UTC))
    result, waited = smoke.poll(
        lambda: None, what="x", ceiling=25, interval=10, clock=world.clock, report=smoke.Reporter(io.StringIO())
    )
    assert (result, waited) == (None, 25)
    assert world.sleeps == [10, 10, 5]
