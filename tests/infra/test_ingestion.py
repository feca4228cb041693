"""The Ingestion stack: the KMS-encrypted Kinesis stream, the Firehose delivery to the raw zone and its transform."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match

from infra.constructs.alarms import AlertTarget
from infra.constructs.iam_findings import nag_resource
from infra.constructs.ingest_stream import ExpectedLoad, IngestStream, plan_shards
from infra.constructs.transform_function import ASSET
from infra.nag import NAG_PACKS
from tests.synth import ENVIRONMENTS, Synthesized

UNIT = "Ingestion"
TIME_PREFIX = "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
DEVICE_PREFIX = (
    "events/device_id=!{partitionKeyFromLambda:device_id}/year=!{partitionKeyFromLambda:year}/"
    "month=!{partitionKeyFromLambda:month}/day=!{partitionKeyFromLambda:day}/hour=!{partitionKeyFromLambda:hour}/"
)
ERROR_PREFIX = "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"


def _only(synth: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    """The one resource of a type in the Ingestion template, as (logical ID, properties)."""
    found = synth.template(UNIT).find_resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    logical_id, resource = next(iter(found.items()))
    return logical_id, dict(resource.get("Properties", {}))


def _refers_to(value: object, env: str, unit: str, logical_id: str) -> bool:
    """True when `value` is a cross-stack reference to `logical_id` of stack `MlDataLake-<env>-<unit>`.

    Works for weak (Fn::GetStackOutput) and strong (Fn::ImportValue) references alike: both name the producing
    stack and the producer's logical ID.
    """
    text = json.dumps(value)
    return f"MlDataLake-{env}-{unit}" in text and logical_id in text and ("GetStackOutput" in text or "Import" in text)


def _log_group_of(synth: Synthesized, logical_id: str) -> dict[str, Any]:
    return dict(synth.json(UNIT)["Resources"][logical_id]["Properties"])


# --- Kinesis data stream ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_stream_is_encrypted_with_the_lake_key(synthesized: dict[str, Synthesized], env: str) -> None:
    _, stream = _only(synthesized[env], "AWS::Kinesis::Stream")
    assert stream["StreamEncryption"]["EncryptionType"] == "KMS"
    assert _refers_to(stream["StreamEncryption"]["KeyId"], env, "Core", "LakeKey")


def test_retention_comes_from_the_settings(sandbox: Synthesized, prod: Synthesized) -> None:
    sandbox.template(UNIT).has_resource_properties("AWS::Kinesis::Stream", {"RetentionPeriodHours": 24})
    prod.template(UNIT).has_resource_properties("AWS::Kinesis::Stream", {"RetentionPeriodHours": 168})


def test_sandbox_gets_one_provisioned_shard(sandbox: Synthesized) -> None:
    # Given 0.5 MB/s, 500 records/s and one consumer: every limit needs a single shard
    sandbox.template(UNIT).has_resource_properties(
        "AWS::Kinesis::Stream", {"ShardCount": 1, "StreamModeDetails": {"StreamMode": "PROVISIONED"}}
    )


def test_prod_shards_follow_the_per_shard_limits(prod: Synthesized) -> None:
    # Given 3 MB/s, 4,000 records/s and 1 classic consumer (Firehose; the analytics job reads by enhanced fan-out)
    kinesis = prod.settings.kinesis
    assert (kinesis.expected_ingest_mb_per_second, kinesis.expected_records_per_second, kinesis.consumers) == (
        3,
        4000,
        1,
    )
    # When each limit is applied: 1 MB/s and 1,000 records/s in per shard, 2 MB/s out shared by the consumers
    by_bytes, by_records, by_egress = math.ceil(3 / 1), math.ceil(4000 / 1000), math.ceil(3 * 1 / 2)
    # Then the records decide (4 shards), and the template provisions exactly that
    assert (by_bytes, by_records, by_egress) == (3, 4, 2)
    assert plan_shards(ExpectedLoad(ingest_mb_per_second=3, records_per_second=4000, consumers=1)).shards == 4
    prod.template(UNIT).has_resource_properties(
        "AWS::Kinesis::Stream", {"ShardCount": 4, "StreamModeDetails": {"StreamMode": "PROVISIONED"}}
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_shard_plan_output_explains_the_count(synthesized: dict[str, Synthesized], env: str) -> None:
    synth = synthesized[env]
    output = synth.json(UNIT)["Outputs"]["ShardPlan"]["Value"]
    load = synth.settings.kinesis.expected_load()
    assert load is not None
    plan = plan_shards(load, shards=synth.settings.kinesis.shards)
    assert output == plan.explanation
    (stream,) = synth.template(UNIT).find_resources("AWS::Kinesis::Stream").values()
    assert output.startswith(f"{stream['Properties']['ShardCount']} shard(s) = max(ingest ")


# --- Firehose delivery stream -------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_firehose_reads_the_stream_and_writes_the_raw_zone_with_the_lake_key(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    stream_id, _ = _only(synth, "AWS::Kinesis::Stream")
    _, delivery = _only(synth, "AWS::KinesisFirehose::DeliveryStream")
    assert delivery["DeliveryStreamType"] == "KinesisStreamAsSource"
    assert delivery["KinesisStreamSourceConfiguration"]["KinesisStreamARN"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    destination = delivery["ExtendedS3DestinationConfiguration"]
    assert _refers_to(destination["BucketARN"], env, "Storage", "RawZoneBucket")
    assert _refers_to(
        destination["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"], env, "Core", "LakeKey"
    )
    assert destination["CompressionFormat"] == "GZIP"


def test_sandbox_partitions_by_arrival_time(sandbox: Synthesized) -> None:
    assert sandbox.settings.firehose.partitioning == "time"
    _, delivery = _only(sandbox, "AWS::KinesisFirehose::DeliveryStream")
    destination = delivery["ExtendedS3DestinationConfiguration"]
    assert destination["Prefix"] == TIME_PREFIX
    assert "DynamicPartitioningConfiguration" not in destination


def test_prod_partitions_by_device_with_the_lambdas_keys(prod: Synthesized) -> None:
    assert prod.settings.firehose.partitioning == "device"
    prod.template(UNIT).has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "ExtendedS3DestinationConfiguration": Match.object_like(
                {"Prefix": DEVICE_PREFIX, "DynamicPartitioningConfiguration": {"Enabled": True}}
            )
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_failed_records_go_to_an_error_prefix_by_failure_type(synthesized: dict[str, Synthesized], env: str) -> None:
    _, delivery = _only(synthesized[env], "AWS::KinesisFirehose::DeliveryStream")
    error_prefix = delivery["ExtendedS3DestinationConfiguration"]["ErrorOutputPrefix"]
    assert error_prefix == ERROR_PREFIX
    assert "!{firehose:error-output-type}" in error_prefix
    assert "YYYY" not in error_prefix + delivery["ExtendedS3DestinationConfiguration"]["Prefix"]


def test_buffering_comes_from_the_settings(sandbox: Synthesized, prod: Synthesized) -> None:
    for synth, interval, size in ((sandbox, 60, 64), (prod, 300, 128)):
        assert (synth.settings.firehose.buffer_interval_seconds, synth.settings.firehose.buffer_size_mb) == (
            interval,
            size,
        )
        synth.template(UNIT).has_resource_properties(
            "AWS::KinesisFirehose::DeliveryStream",
            {
                "ExtendedS3DestinationConfiguration": Match.object_like(
                    {"BufferingHints": {"IntervalInSeconds": interval, "SizeInMBs": size}}
                )
            },
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_firehose_logs_to_an_encrypted_log_group(synthesized: dict[str, Synthesized], env: str) -> None:
    synth = synthesized[env]
    _, delivery = _only(synth, "AWS::KinesisFirehose::DeliveryStream")
    logging = delivery["ExtendedS3DestinationConfiguration"]["CloudWatchLoggingOptions"]
    assert logging["Enabled"] is True
    log_group = _log_group_of(synth, logging["LogGroupName"]["Ref"])
    assert _refers_to(log_group["KmsKeyId"], env, "Core", "LakeKey")
    assert log_group["RetentionInDays"] == synth.settings.log_retention_days


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_firehose_calls_the_transform_in_small_batches(synthesized: dict[str, Synthesized], env: str) -> None:
    synth = synthesized[env]
    function_id, _ = _only(synth, "AWS::Lambda::Function")
    _, delivery = _only(synth, "AWS::KinesisFirehose::DeliveryStream")
    processing = delivery["ExtendedS3DestinationConfiguration"]["ProcessingConfiguration"]
    assert processing["Enabled"] is True
    [processor] = processing["Processors"]
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert processor["Type"] == "Lambda"
    assert parameters["LambdaArn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    # 1 MB in keeps the normalised, base64-encoded response far below Lambda's 6 MB limit
    assert (parameters["BufferSizeInMBs"], parameters["BufferIntervalInSeconds"]) == ("1", "60")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_firehose_role_may_invoke_the_transform_through_a_managed_policy(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    function_id, _ = _only(synth, "AWS::Lambda::Function")
    _, delivery = _only(synth, "AWS::KinesisFirehose::DeliveryStream")
    role_id = delivery["ExtendedS3DestinationConfiguration"]["RoleARN"]["Fn::GetAtt"][0]
    policies = synth.template(UNIT).find_resources(
        "AWS::IAM::ManagedPolicy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    )
    assert len(policies) == 1
    statements = next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"]
    # Invoking the function Firehose names (its unqualified ARN), and reading its configuration, nothing else
    invoke = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    assert len(invoke) == 1
    assert invoke[0]["Action"] == ["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"]
    assert invoke[0]["Resource"] == {"Fn::GetAtt": [function_id, "Arn"]}
    # Grants land in customer-managed policies only (the compliance packs reject inline ones)
    assert synth.template(UNIT).find_resources("AWS::IAM::Policy") == {}


# --- Transformation Lambda ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_transform_function_follows_the_settings(synthesized: dict[str, Synthesized], env: str) -> None:
    synth = synthesized[env]
    firehose = synth.settings.firehose
    synth.template(UNIT).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "handler.handler",
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "MemorySize": firehose.transform_memory_mb,
            "Timeout": firehose.transform_timeout_seconds,
            "Environment": {"Variables": {"PARTITIONING": firehose.partitioning}},
        },
    )


def test_each_environment_sizes_the_transform_its_own_way(sandbox: Synthesized, prod: Synthesized) -> None:
    _, small = _only(sandbox, "AWS::Lambda::Function")
    _, large = _only(prod, "AWS::Lambda::Function")
    assert (small["MemorySize"], small["Timeout"], small["Environment"]["Variables"]["PARTITIONING"]) == (
        256,
        60,
        "time",
    )
    assert (large["MemorySize"], large["Timeout"], large["Environment"]["Variables"]["PARTITIONING"]) == (
        512,
        120,
        "device",
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_concurrency_is_reserved_unless_the_settings_say_so(synthesized: dict[str, Synthesized], env: str) -> None:
    synth = synthesized[env]
    assert synth.settings.firehose.transform_reserved_concurrency is None
    _, function = _only(synth, "AWS::Lambda::Function")
    assert "ReservedConcurrentExecutions" not in function


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_transform_logs_to_an_encrypted_log_group(synthesized: dict[str, Synthesized], env: str) -> None:
    synth = synthesized[env]
    _, function = _only(synth, "AWS::Lambda::Function")
    log_group = _log_group_of(synth, function["LoggingConfig"]["LogGroup"]["Ref"])
    assert _refers_to(log_group["KmsKeyId"], env, "Core", "LakeKey")
    assert log_group["RetentionInDays"] == synth.settings.log_retention_days


def test_the_transform_package_is_the_handler_folder_without_caches(sandbox: Synthesized) -> None:
    _, function = _only(sandbox, "AWS::Lambda::Function")
    asset_hash = function["Code"]["S3Key"].removesuffix(".zip")
    asset = sandbox.template_files[UNIT].parent / f"asset.{asset_hash}"
    files = {path.relative_to(asset).as_posix() for path in asset.rglob("*") if path.is_file()}
    assert {"handler.py", "transform.py"} <= files
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in files)


# --- Alarms and outputs ---------------------------------------------------------------------------------------


def _alarm(synth: Synthesized, metric: str) -> dict[str, Any]:
    alarms = synth.template(UNIT).find_resources("AWS::CloudWatch::Alarm", {"Properties": {"MetricName": metric}})
    assert len(alarms) == 1, f"expected one alarm on {metric}"
    return dict(next(iter(alarms.values()))["Properties"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(
    ("metric", "statistic"),
    [
        ("GetRecords.IteratorAgeMilliseconds", "Maximum"),
        ("WriteProvisionedThroughputExceeded", "Sum"),
        ("DeliveryToS3.DataFreshness", "Maximum"),
    ],
)
def test_each_alarm_notifies_the_alert_topic_and_names_the_environment(
    synthesized: dict[str, Synthesized], env: str, metric: str, statistic: str
) -> None:
    alarm = _alarm(synthesized[env], metric)
    [action] = alarm["AlarmActions"]
    assert _refers_to(action, env, "Core", "AlertsTopic")
    assert alarm["AlarmName"].startswith(f"ml-data-lake-{env}-")
    assert (alarm["Statistic"], alarm["Period"], alarm["ComparisonOperator"]) == (
        statistic,
        300,
        "GreaterThanThreshold",
    )


def test_alarm_thresholds(sandbox: Synthesized, prod: Synthesized) -> None:
    for synth in (sandbox, prod):
        # 15 minutes behind: a stalled consumer, long before the shortest retention (24 h) expires records
        assert _alarm(synth, "GetRecords.IteratorAgeMilliseconds")["Threshold"] == 15 * 60 * 1000
        # any throttled write
        assert _alarm(synth, "WriteProvisionedThroughputExceeded")["Threshold"] == 0
    # two buffer intervals plus five minutes
    assert _alarm(sandbox, "DeliveryToS3.DataFreshness")["Threshold"] == 2 * 60 + 300
    assert _alarm(prod, "DeliveryToS3.DataFreshness")["Threshold"] == 2 * 300 + 300


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_outputs_name_the_streams(synthesized: dict[str, Synthesized], env: str) -> None:
    synth = synthesized[env]
    stream_id, _ = _only(synth, "AWS::Kinesis::Stream")
    delivery_id, _ = _only(synth, "AWS::KinesisFirehose::DeliveryStream")
    outputs = synth.json(UNIT)["Outputs"]
    assert outputs["IngestStreamName"]["Value"] == {"Ref": stream_id}
    assert outputs["IngestStreamArn"]["Value"] == {"Fn::GetAtt": [stream_id, "Arn"]}
    assert outputs["DeliveryStreamName"]["Value"] == {"Ref": delivery_id}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_exactly_one_output_of_the_environment_names_the_ingest_stream(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    # tools/producer.py reads `cdk deploy --outputs-file` and takes the one output key ending with IngestStreamName
    synth = synthesized[env]
    matches = [
        (stack.stack_name, key)
        for stack in synth.lake.stacks
        for key in synth.json(stack.stack_name.rsplit("-", 1)[-1]).get("Outputs", {})
        if key.endswith("IngestStreamName")
    ]
    assert matches == [(f"MlDataLake-{env}-Ingestion", "IngestStreamName")]


# --- Settings that the project's environments do not use -------------------------------------------------------


@pytest.fixture(scope="module")
def on_demand(variant: Synthesized) -> Synthesized:
    """The variant environment: an on-demand stream and reserved concurrency for the transform."""
    assert variant.settings.kinesis.mode == "on_demand"
    return variant


@pytest.mark.parametrize(
    ("mb", "records", "consumers", "shards", "deciding"),
    [
        (1.0, 1000, 1, 1, "at every limit exactly one shard"),
        (1.01, 1000, 1, 2, "just over 1 MB/s in"),
        (0.1, 1001, 1, 2, "just over 1,000 records/s in"),
        (1.0, 1000, 2, 1, "2 consumers x 1 MB/s = 2 MB/s out, the shared read limit"),
        (1.0, 1000, 3, 2, "3 consumers x 1 MB/s = 3 MB/s out, over the read limit"),
        (0.001, 1, 1, 1, "never fewer than one shard"),
        (10.0, 25000, 5, 25, "records decide: 25 by records, 10 by MB, 25 by reads"),
    ],
)
def test_shard_arithmetic_at_each_limit(mb: float, records: int, consumers: int, shards: int, deciding: str) -> None:
    plan = plan_shards(ExpectedLoad(ingest_mb_per_second=mb, records_per_second=records, consumers=consumers))
    assert plan.shards == shards, deciding
    assert plan.explanation.startswith(f"{shards} shard(s) = max(")


def test_an_explicit_shard_count_is_kept_but_never_below_the_load() -> None:
    load = ExpectedLoad(ingest_mb_per_second=3.5, records_per_second=100, consumers=1)
    assert plan_shards(load, shards=7).shards == 7
    with pytest.raises(ValueError, match="2 shards cannot carry the expected load, which needs at least 4"):
        plan_shards(load, shards=2)


def test_an_on_demand_stream_takes_no_shard_count() -> None:
    # Given a stream construct asked for on-demand capacity (no load) and a shard count at once
    stack = cdk.Stack(cdk.App(), "Throwaway")
    key = kms.Key(stack, "Key")
    alerts = AlertTarget(topic=sns.Topic(stack, "Topic"), name_prefix="test")
    # Then it refuses, naming itself
    with pytest.raises(ValueError, match=r"Throwaway/Stream: an on-demand stream .* takes no shard count"):
        IngestStream(
            stack,
            "Stream",
            key=key,
            load=None,
            shards=2,
            retention_hours=24,
            alerts=alerts,
            removal=cdk.RemovalPolicy.DESTROY,
        )


def test_on_demand_lets_aws_scale_the_shards(on_demand: Synthesized) -> None:
    _, stream = _only(on_demand, "AWS::Kinesis::Stream")
    assert stream["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert "ShardCount" not in stream
    assert on_demand.json(UNIT)["Outputs"]["ShardPlan"]["Value"].startswith("on-demand: AWS scales shards")


def test_reserved_concurrency_is_set_when_configured(on_demand: Synthesized) -> None:
    on_demand.template(UNIT).has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 5})


@pytest.mark.parametrize("pack", NAG_PACKS, ids=lambda pack: pack.__name__)
@pytest.mark.parametrize("unit", ["Ingestion", "Storage", "Network"])
def test_the_variant_passes_every_nag_pack(on_demand: Synthesized, pack: type, unit: str) -> None:
    stack = next(s for s in on_demand.lake.stacks if s.stack_name.endswith(f"-{unit}"))
    report = pack().validate_scope(stack)
    assert [f"{v.rule_name} at {r.construct_path}" for v in report.violations for r in v.violating_resources] == []


# --- How findings are named ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolved", "expected"),
    [
        ({"Fn::Join": ["", [{"Fn::GetAtt": ["Fn58095C87", "Arn"]}, ":*"]]}, "<Fn58095C87.Arn>:*"),
        ({"Fn::Join": ["", [{"Ref": "AWS::Partition"}, ":s3:::b/*"]]}, "<AWS::Partition>:s3:::b/*"),
        ({"Fn::Sub": "arn:${AWS::Partition}:logs:*"}, "arn:<AWS::Partition>:logs:*"),
        ({"Fn::ImportValue": "Core:ExportsOutputKey"}, "Core:ExportsOutputKey"),
        (
            {"Fn::Join": ["", [{"Fn::GetStackOutput": {"StackName": "S", "OutputName": "O"}}, "/*"]]},
            '{"Fn::GetStackOutput":{"StackName":"S","OutputName":"O"}}/*',
        ),
    ],
)
def test_a_resolved_arn_is_named_the_way_cdk_nag_names_it(resolved: object, expected: str) -> None:
    assert nag_resource(resolved) == expected


def test_the_asset_folder_does_not_depend_on_the_working_directory() -> None:
    assert ASSET.is_absolute()
    repository = Path(__file__).resolve().parents[2]
    assert repository / "lambdas" / "firehose_transform" == ASSET
