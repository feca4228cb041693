"""The Analytics stack: the Flink application, its IAM, its consumer, its outputs, the notifier, the alarms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.config import ConfigError, load_environment
from infra.config.analytics import AnalyticsSettings
from infra.constructs.stream_analytics import ApplicationInputs, property_groups
from tests.synth import ENVIRONMENTS, Synthesized, placeholder_flink_artifact

UNIT = "Analytics"
APP = "AWS::KinesisAnalyticsV2::Application"
CONTRACT_GROUPS = {
    "kinesis.analytics.flink.run.options": {"python", "jarfile"},
    "app.source": {"stream.name", "stream.arn", "aws.region", "efo.consumer.name", "initial.position"},
    "app.sink": {"delivery.stream.name", "aws.region"},
    "app.reference": {"path"},
    "app.time": {"watermark.lateness.seconds", "metrics.window.seconds"},
    "app.forest": {"trees", "sample.size", "shingle.size", "time.decay", "warmup", "threshold"},
    "app.hotspots": {"window.size", "scan.radius", "min.points", "density.threshold"},
}


def _resources(synth: Synthesized, kind: str) -> dict[str, Any]:
    return dict(synth.template(UNIT).find_resources(kind))


def _only(synth: Synthesized, kind: str) -> dict[str, Any]:
    found = list(_resources(synth, kind).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    properties: dict[str, Any] = found[0]["Properties"]
    return properties


def _statements(synth: Synthesized, policy_path_part: str) -> list[dict[str, Any]]:
    for logical_id, policy in _resources(synth, "AWS::IAM::ManagedPolicy").items():
        if logical_id.startswith(policy_path_part):
            statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
            return statements
    raise AssertionError(f"no managed policy {policy_path_part}*")


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


# --- The application ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nothing_creates_the_discontinued_sql_service(synthesized: dict[str, Synthesized], env: str) -> None:
    for unit, template in synthesized[env].templates.items():
        assert template.find_resources("AWS::KinesisAnalytics::Application") == {}, unit


def test_sandbox_creates_no_application_and_no_consumer_by_default(sandbox: Synthesized) -> None:
    # The consumer costs per shard-hour while it exists: off in sandbox unless analytics.enabled says so
    assert _resources(sandbox, APP) == {}
    assert _resources(sandbox, "AWS::Kinesis::StreamConsumer") == {}
    # The outputs path and the notifier cost nothing idle and are there to deploy and try
    assert len(_resources(sandbox, "AWS::KinesisFirehose::DeliveryStream")) == 1
    assert len(_resources(sandbox, "AWS::Lambda::Function")) == 1


def test_the_application_runs_flink_2_2_python_from_the_asset(prod: Synthesized) -> None:
    (resource,) = _resources(prod, APP).values()
    # Its snapshots are state: retained where the environment keeps data
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    app = _only(prod, APP)
    assert app["RuntimeEnvironment"] == "FLINK-2_2"
    assert app["ApplicationName"] == "ml-data-lake-prod-stream-analytics"
    code = app["ApplicationConfiguration"]["ApplicationCodeConfiguration"]
    assert code["CodeContentType"] == "ZIPFILE"
    assert code["CodeContent"]["S3ContentLocation"]["FileKey"].endswith(".zip")


def test_the_property_groups_are_exactly_the_contract(prod: Synthesized) -> None:
    groups = _only(prod, APP)["ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"]
    by_id = {group["PropertyGroupId"]: group["PropertyMap"] for group in groups}
    # Exactly the groups and keys of CONTRACTS.md (no dep/ in the placeholder build, so no pyFiles)
    assert {group: set(values) for group, values in by_id.items()} == CONTRACT_GROUPS
    assert by_id["kinesis.analytics.flink.run.options"] == {
        "python": "main.py",
        "jarfile": "lib/stream-analytics-connectors.jar",
    }
    assert by_id["app.source"]["efo.consumer.name"] == "ml-data-lake-prod-stream-analytics"
    assert by_id["app.source"]["initial.position"] == "LATEST"
    assert by_id["app.sink"]["delivery.stream.name"] == "ml-data-lake-prod-analytics"
    assert by_id["app.forest"] == {
        "trees": "100",
        "sample.size": "256",
        "shingle.size": "4",
        "time.decay": "100000",
        "warmup": "256",
        "threshold": "3.0",
    }
    reference = json.dumps(by_id["app.reference"]["path"])
    assert reference.startswith('{"Fn::Sub": "s3://cdk-')
    assert reference.endswith('.csv"}')


def test_every_property_value_is_a_string_and_pyfiles_appears_with_dep(tmp_path: Path) -> None:
    # Given a build with Python dependencies in dep/
    artifact = placeholder_flink_artifact(tmp_path / "build")
    (artifact / "dep").mkdir()
    inputs = ApplicationInputs(
        "s", "arn:aws:kinesis:eu-west-1:111111111111:stream/s", "eu-west-1", "c", "f", "s3://b/k"
    )
    # When the properties are made
    groups = property_groups(artifact, inputs, AnalyticsSettings())
    # Then the run options name dep/ and every value is a string, as MSF requires
    assert groups["kinesis.analytics.flink.run.options"]["pyFiles"] == "dep/"
    assert all(isinstance(value, str) for values in groups.values() for value in values.values())


def test_checkpointing_parallelism_snapshots_and_task_metrics(prod: Synthesized) -> None:
    configuration = _only(prod, APP)["ApplicationConfiguration"]
    flink = configuration["FlinkApplicationConfiguration"]
    assert flink["CheckpointConfiguration"] == {
        "ConfigurationType": "CUSTOM",
        "CheckpointingEnabled": True,
        "CheckpointInterval": 60_000,
        "MinPauseBetweenCheckpoints": 5_000,
    }
    assert flink["ParallelismConfiguration"] == {
        "ConfigurationType": "CUSTOM",
        "Parallelism": 2,
        "ParallelismPerKPU": 1,
        "AutoScalingEnabled": True,
    }
    assert flink["MonitoringConfiguration"] == {
        "ConfigurationType": "CUSTOM",
        "MetricsLevel": "TASK",
        "LogLevel": "INFO",
    }
    assert configuration["ApplicationSnapshotConfiguration"] == {"SnapshotsEnabled": True}
    assert configuration["ApplicationSystemRollbackConfiguration"] == {"RollbackEnabled": True}
    # Not in a VPC: it reaches only AWS service endpoints, and the lake's VPC has no route or endpoint for them
    assert "VpcConfigurations" not in configuration


def test_the_application_logs_to_a_lake_key_log_group_under_its_name(prod: Synthesized) -> None:
    template = prod.template(UNIT)
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": "/ml-data-lake-prod/flink/stream-analytics",
            "KmsKeyId": Match.any_value(),
            "RetentionInDays": 365,
        },
    )
    option = _only(prod, "AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption")
    assert option["ApplicationName"] == "ml-data-lake-prod-stream-analytics"
    assert ":log-stream:" in json.dumps(option["CloudWatchLoggingOption"]["LogStreamARN"])


# --- Its IAM -----------------------------------------------------------------------------------------------------


def test_the_application_role_is_limited_to_its_consumer_reference_and_firehose(prod: Synthesized) -> None:
    statements = _statements(prod, "ApplicationRolePolicy")
    actions = sorted(action for statement in statements for action in _actions(statement))
    assert actions == sorted(
        [
            "s3:GetObject",
            "s3:GetObjectVersion",  # the code object
            "logs:DescribeLogGroups",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
            "kinesis:DescribeStreamSummary",
            "kinesis:ListShards",
            "kinesis:DescribeStreamConsumer",
            "kinesis:SubscribeToShard",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "firehose:PutRecordBatch",
            "s3:GetObject",  # the reference table
        ]
    )
    by_action = {action: json.dumps(s["Resource"]) for s in statements for action in _actions(s)}
    assert by_action["kinesis:SubscribeToShard"].endswith('"/consumer/ml-data-lake-prod-stream-analytics:*"]]}')
    assert "DeliveryDeliveryStream" in by_action["firehose:PutRecordBatch"]
    # No read of the whole asset bucket: the code and the reference table are single objects
    s3_reads = [json.dumps(s["Resource"]) for s in statements if "s3:GetObject" in _actions(s)]
    assert all(".zip" in r or ".csv" in r for r in s3_reads), s3_reads
    assert not any("*" in action for action in actions)


# --- The consumer --------------------------------------------------------------------------------------------------


def test_the_efo_consumer_is_named_as_the_application_reads_it(prod: Synthesized) -> None:
    consumer = _only(prod, "AWS::Kinesis::StreamConsumer")
    assert consumer["ConsumerName"] == "ml-data-lake-prod-stream-analytics"
    assert "IngestStream" in json.dumps(consumer["StreamARN"])
    # And Firehose stays the one classic consumer the shard plan counts
    assert prod.settings.kinesis.consumers == 1


# --- The outputs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_outputs_are_partitioned_by_kind_and_event_hour_under_the_lake_key(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    stream = _only(synthesized[env], "AWS::KinesisFirehose::DeliveryStream")
    assert stream["DeliveryStreamType"] == "DirectPut"
    assert stream["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == "CUSTOMER_MANAGED_CMK"
    s3 = stream["ExtendedS3DestinationConfiguration"]
    assert s3["Prefix"] == (
        "analytics/kind=!{partitionKeyFromQuery:kind}/year=!{partitionKeyFromQuery:year}/"
        "month=!{partitionKeyFromQuery:month}/day=!{partitionKeyFromQuery:day}/hour=!{partitionKeyFromQuery:hour}/"
    )
    assert "!{firehose:error-output-type}" in s3["ErrorOutputPrefix"]
    assert s3["DynamicPartitioningConfiguration"] == {"Enabled": True, "RetryOptions": {"DurationInSeconds": 300}}
    assert s3["BufferingHints"]["SizeInMBs"] >= 64
    assert s3["CompressionFormat"] == "GZIP"
    processors = s3["ProcessingConfiguration"]["Processors"]
    assert [p["Type"] for p in processors] == ["MetadataExtraction", "AppendDelimiterToRecord"]
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processors[0]["Parameters"]}
    assert parameters == {
        "MetadataExtractionQuery": (
            '{"kind":.kind,"year":.event_time[0:4],"month":.event_time[5:7],'
            '"day":.event_time[8:10],"hour":.event_time[11:13]}'
        ),
        "JsonParsingEngine": "JQ-1.6",
    }


def test_the_firehose_role_writes_only_its_own_folders_of_the_curated_zone(prod: Synthesized) -> None:
    statements = _statements(prod, "DeliveryRolePolicy")
    actions = {action for statement in statements for action in _actions(statement)}
    # What AWS documents for an S3 destination, and no delete: the curated events share this bucket
    assert actions == {
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:PutObject",
        "s3:GetObject",
        "s3:AbortMultipartUpload",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "logs:PutLogEvents",
    }
    writes = next(s for s in statements if "s3:PutObject" in _actions(s))
    resources = sorted(json.dumps(r) for r in writes["Resource"])
    assert [r.rsplit('"', 2)[-2] for r in resources] == ["/analytics-errors/*", "/analytics/*"]


def test_a_crawler_makes_one_table_per_kind(prod: Synthesized) -> None:
    crawler = _only(prod, "AWS::Glue::Crawler")
    assert crawler["Name"] == "ml-data-lake-prod-analytics"
    assert crawler["TablePrefix"] == "analytics_"
    assert json.loads(crawler["Configuration"])["Grouping"] == {"TableLevelConfiguration": 3}
    assert json.dumps(crawler["Targets"]["S3Targets"][0]["Path"]).endswith('/analytics/"]]}')


# --- The notifier --------------------------------------------------------------------------------------------


def test_the_device_status_table_is_on_demand_recoverable_and_kept_in_prod(
    prod: Synthesized, sandbox: Synthesized
) -> None:
    for synth, retained in ((prod, True), (sandbox, False)):
        tables = _resources(synth, "AWS::DynamoDB::Table")
        (table,) = tables.values()
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["SSESpecification"]["SSEType"] == "KMS"
        assert properties["KeySchema"] == [{"AttributeName": "device_id", "KeyType": "HASH"}]
        assert properties.get("DeletionProtectionEnabled", False) is retained
        assert table["DeletionPolicy"] == ("Retain" if retained else "Delete")


def test_new_anomaly_objects_invoke_the_notifier_and_failures_are_kept(prod: Synthesized) -> None:
    rule = _only(prod, "AWS::Events::Rule")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"] == {"key": [{"prefix": "analytics/kind=anomaly/"}]}
    (target,) = rule["Targets"]
    assert "DeadLetterConfig" in target
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    function = _only(prod, "AWS::Lambda::Function")
    assert function["Runtime"] == "python3.14"
    assert function["Handler"] == "handler.handler"
    assert "DeadLetterConfig" in function
    assert set(function["Environment"]["Variables"]) == {"TABLE_NAME", "TOPIC_ARN", "ALERT_THRESHOLD"}
    assert function["Environment"]["Variables"]["ALERT_THRESHOLD"] == "4.0"
    queue = _only(prod, "AWS::SQS::Queue")
    assert "KmsMasterKeyId" in queue
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_the_notifier_reads_only_anomaly_objects(prod: Synthesized) -> None:
    statements = _statements(prod, "NotifierRolePolicy")
    reads = [json.dumps(s["Resource"]) for s in statements if _actions(s) == ["s3:GetObject"]]
    assert len(reads) == 1
    assert reads[0].endswith('"/analytics/kind=anomaly/*"]]}')
    actions = {action for s in statements for action in _actions(s)}
    assert {"sns:Publish", "dynamodb:PutItem"} <= actions
    assert not any(a.startswith("dynamodb:") and a != "dynamodb:PutItem" for a in actions)


def test_the_curated_zone_announces_new_objects_on_eventbridge(prod: Synthesized) -> None:
    prod.template("Storage").has_resource_properties(
        "AWS::S3::Bucket",
        {"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}},
    )
    # Set on the bucket itself: no custom-resource Lambda in the stateful stack
    assert prod.template("Storage").find_resources("Custom::S3BucketNotifications") == {}


# --- Alarms -----------------------------------------------------------------------------------------------


def test_every_alarm_goes_to_the_alert_topic_with_flink_2_2_metrics(prod: Synthesized) -> None:
    alarms = {
        props["AlarmName"].removeprefix("ml-data-lake-prod-"): props
        for props in (a["Properties"] for a in _resources(prod, "AWS::CloudWatch::Alarm").values())
    }
    assert set(alarms) == {
        "stream-analytics-restarts",
        "stream-analytics-restarting-time",
        "stream-analytics-failing-time",
        "stream-analytics-failed-checkpoints",
        "stream-analytics-back-pressure",
        "stream-analytics-consumer-behind",
        "anomaly-notifier-dead-letters",
    }
    for name, alarm in alarms.items():
        assert "AlertsTopic" in json.dumps(alarm["AlarmActions"]), name
        assert alarm["TreatMissingData"] == "notBreaching", name
    names = {alarm.get("MetricName") for alarm in alarms.values()} | {
        m["MetricStat"]["Metric"]["MetricName"]
        for alarm in alarms.values()
        for m in alarm.get("Metrics", [])
        if "MetricStat" in m
    }
    assert {"numRestarts", "numberOfFailedCheckpoints", "restartingTime", "failingTime"} <= names
    # FLINK-2_2 has no fullRestarts, and downtime is deprecated there
    assert not names & {"downtime", "fullRestarts"}
    assert alarms["stream-analytics-restarting-time"]["MetricName"] == "restartingTime"
    assert alarms["stream-analytics-failing-time"]["MetricName"] == "failingTime"
    back_pressure = alarms["stream-analytics-back-pressure"]["Metrics"][0]["Expression"]
    assert back_pressure == (
        'SELECT MAX(backPressuredTimeMsPerSecond) FROM "AWS/KinesisAnalytics" '
        "WHERE Application = 'ml-data-lake-prod-stream-analytics'"
    )
    assert alarms["stream-analytics-consumer-behind"]["MetricName"] == "SubscribeToShardEvent.MillisBehindLatest"
    assert alarms["stream-analytics-consumer-behind"]["Namespace"] == "AWS/Kinesis"


def test_the_stack_outputs_what_the_tools_read(prod: Synthesized, sandbox: Synthesized) -> None:
    outputs = prod.json(UNIT)["Outputs"]
    assert "AnalyticsApplicationArn" in outputs
    assert "AnalyticsApplicationArn" not in sandbox.json(UNIT)["Outputs"]


# --- Settings --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"metrics_level": "APPLICATION"}, "analytics.metrics_level = 'APPLICATION': input should be 'TASK' or"),
        ({"parallelism_per_kpu": 9}, "analytics.parallelism_per_kpu = 9: input should be less than or equal to 8"),
        ({"hotspots": {"window_size": 50}}, "analytics.hotspots.window_size = 50: input should be greater than or"),
        (
            {"hotspots": {"window_size": 100, "min_points": 101}},
            "analytics.hotspots.min_points: got 101; a hotspot needs 2 to window_size (100) points",
        ),
        (
            {"alert_threshold": 2.0},
            "analytics.alert_threshold: got 2.0; use forest.threshold (3.0) or more",
        ),
        ({"buffer_size_mb": 32}, "analytics.buffer_size_mb = 32: input should be greater than or equal to 64"),
        ({"initial_position": "EARLIEST"}, "analytics.initial_position = 'EARLIEST': input should be 'LATEST' or"),
    ],
)
def test_a_bad_analytics_setting_is_one_clear_line(block: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_environment({"test": {"analytics": block}}, "test")
    assert str(error.value).startswith(f"environments.test.{message}"), str(error.value)


def test_kpus_round_up() -> None:
    assert AnalyticsSettings(parallelism=3, parallelism_per_kpu=2).kpus == 2
    assert AnalyticsSettings(parallelism=4, parallelism_per_kpu=4).kpus == 1


LOCAL_PROPERTIES = (
    Path(__file__).resolve().parents[2] / "flink_apps" / "stream_analytics" / "application_properties.json"
)


@pytest.mark.skipif(not LOCAL_PROPERTIES.exists(), reason="the Flink application is not in this checkout yet")
def test_the_local_properties_have_the_groups_and_keys_the_stack_sets(tmp_path: Path) -> None:
    # Given the job's local defaults (the AWS-sample format) and the properties the stack gives it on the service
    local = {g["PropertyGroupId"]: set(g["PropertyMap"]) for g in json.loads(LOCAL_PROPERTIES.read_text())}
    inputs = ApplicationInputs(
        "s", "arn:aws:kinesis:eu-west-1:111111111111:stream/s", "eu-west-1", "c", "f", "s3://b/k"
    )
    cloud = property_groups(placeholder_flink_artifact(tmp_path), inputs, AnalyticsSettings())
    # Then every app.* group the job reads locally is set in the cloud with the same keys
    app_groups = {group for group in local if group.startswith("app.")}
    assert app_groups == {group for group in cloud if group.startswith("app.")}
    for group in app_groups:
        assert local[group] == set(cloud[group]), group
