"""Alarms and the dashboard: each alarm in the stack of what it watches, all to the alert topic; the dashboard draws."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from infra.constructs.alarms import AlertTarget, alarm, alarms_in
from infra.constructs.pipeline_dashboard import PipelineDashboard
from tests.synth import ENVIRONMENTS, Synthesized

UNIT = "Monitoring"
ALERT_TOPIC = "AlertsTopic"  # the logical ID prefix of the Core stack's alert topic


def _body(template: dict[str, Any]) -> str:
    """The dashboard's JSON body with every CloudFormation token written as `<Ref ...>` text."""
    [dashboard] = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else f"<{json.dumps(part, sort_keys=True)}>" for part in parts)


def _widgets(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The dashboard's widgets, with tokens replaced by a placeholder so the body parses as JSON."""
    text = re.sub(r"<\{.*?\}>(?=[\",\]])", "TOKEN", _body(template))
    return list(json.loads(text)["widgets"])


def _titles(template: dict[str, Any]) -> list[str]:
    return [w["properties"].get("title", "") for w in _widgets(template)]


def _metric_names(widget: dict[str, Any]) -> set[str]:
    return {entry[1] for entry in widget["properties"].get("metrics", []) if len(entry) > 1 and entry[1] != "..."}


def _refers_to(value: object, env: str, unit: str, logical_id: str) -> bool:
    """A cross-stack reference (weak or strong) to `logical_id` of `MlDataLake-<env>-<unit>`."""
    text = json.dumps(value)
    return f"MlDataLake-{env}-{unit}" in text and logical_id in text and ("GetStackOutput" in text or "Import" in text)


# --- The dashboard ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_one_dashboard_per_environment_named_after_it_and_the_region(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synthesized[env].template(UNIT).has_resource_properties(
        "AWS::CloudWatch::Dashboard",
        {"DashboardName": {"Fn::Join": ["", [f"ml-data-lake-{env}-pipeline-", {"Ref": "AWS::Region"}]]}},
    )
    synthesized[env].template(UNIT).resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_the_dashboard_shows_every_part_of_the_pipeline(sandbox: Synthesized) -> None:
    # Given the sandbox dashboard's widgets
    widgets = {w["properties"].get("title", ""): w for w in _widgets(sandbox.json(UNIT))}
    # Then each part of the pipeline has its graphs, with the metrics the issue asks for
    expected = {
        "Ingest stream: incoming records and bytes": {"IncomingRecords", "IncomingBytes"},
        "Ingest stream: iterator age (oldest unread record)": {"GetRecords.IteratorAgeMilliseconds"},
        "Firehose: delivery freshness (age of the oldest undelivered record)": {"DeliveryToS3.DataFreshness"},
        "Firehose: delivery success (1 = every put to S3 succeeded)": {
            "DeliveryToS3.Success",
            "ExecuteProcessing.Success",
        },
        "Transform Lambda: errors and throttles": {"Errors", "Throttles", "Invocations"},
        "Transform Lambda: duration": {"Duration"},
        "Workflow executions": {"ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"},
        "Curation job (Glue): runs": {"glue.succeed.ALL", "glue.error.ALL"},
    }
    for title, metrics in expected.items():
        assert title in widgets, f"no widget {title!r}; widgets: {sorted(widgets)}"
        assert _metric_names(widgets[title]) >= metrics, title


def test_the_metrics_point_at_this_environments_resources(sandbox: Synthesized) -> None:
    body = _body(sandbox.json(UNIT))
    # The stream, the function and the state machine are the Ingestion and Processing stacks' own
    for unit, logical_id in (
        ("Ingestion", "IngestStream"),
        ("Ingestion", "DeliveryDeliveryStream"),
        ("Ingestion", "TransformFunction"),
        ("Processing", "WorkflowStateMachine"),
        ("Processing", "CurateJob"),
    ):
        assert re.search(rf"MlDataLake-sandbox-{unit}.*?PublishOutputRef{logical_id}", body), (unit, logical_id)
    # And the Glue metrics name the job (by reference) and Glue's observability dimensions
    assert re.search(
        r'"Glue","glue.error.ALL","JobName","<[^>]*PublishOutputRefCurateJob[^>]*>","JobRunId","ALL",'
        r'"ObservabilityGroup","error","Type","count"',
        body,
    )


def test_the_alarm_widget_lists_every_alarm_of_the_environment(sandbox: Synthesized) -> None:
    # Given every alarm the environment's stacks define
    alarm_ids = {
        (unit, logical_id)
        for unit in sandbox.templates
        for logical_id in sandbox.template(unit).find_resources("AWS::CloudWatch::Alarm")
    }
    assert len(alarm_ids) >= 5
    # When reading the alarm status widget
    [widget] = [w for w in _widgets(sandbox.json(UNIT)) if w["type"] == "alarm"]
    body = _body(sandbox.json(UNIT))
    # Then it lists each of them: the other stacks' by reference, this stack's own directly
    assert len(widget["properties"]["alarms"]) == len(alarm_ids)
    for unit, logical_id in alarm_ids:
        assert logical_id in body, (unit, logical_id)


# --- Alarms ---------------------------------------------------------------------------------------------------


# Each alarm, the stack of the resource it watches (its owner), the metric and the statistic.
OWNED_ALARMS = {
    "ingest-stream-iterator-age": ("Ingestion", "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "Maximum"),
    "ingest-stream-write-throttled": ("Ingestion", "AWS/Kinesis", "WriteProvisionedThroughputExceeded", "Sum"),
    "transform-errors": ("Ingestion", "AWS/Lambda", "Errors", "Sum"),
    "delivery-data-freshness": ("Ingestion", "AWS/Firehose", "DeliveryToS3.DataFreshness", "Maximum"),
    "workflow-timed-out": ("Processing", "AWS/States", "ExecutionsTimedOut", "Sum"),
}
# The analytics unit's alarms (their metrics are tested in test_analytics.py): the notifier's everywhere, the Flink
# application's and its consumer's where analytics is enabled.
NOTIFIER_ALARMS = {"anomaly-notifier-dead-letters"}
# The warehouse's (tests/infra/test_warehouse.py checks their metrics), where it is on.
WAREHOUSE_ALARMS = {"warehouse-schema-errors", "warehouse-daily-compute"}
FLINK_ALARMS = {
    "stream-analytics-restarts",
    "stream-analytics-restarting-time",
    "stream-analytics-failing-time",
    "stream-analytics-failed-checkpoints",
    "stream-analytics-back-pressure",
    "stream-analytics-consumer-behind",
}
# The video unit's alarms (their metrics are tested in test_video.py), where video is enabled.
VIDEO_ALARMS = {"video-labeler-errors", "video-labeler-throttles", "video-dead-letters"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_alarm_lives_in_the_stack_of_what_it_watches_and_names_the_environment(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    # Given every alarm of every stack, by name
    alarms = {
        alarm["Properties"]["AlarmName"]: (unit, alarm["Properties"])
        for unit in synthesized[env].templates
        for alarm in synthesized[env].template(unit).find_resources("AWS::CloudWatch::Alarm").values()
    }
    # Then they are exactly the owned ones, each named <resource prefix>-<what it watches>, in its owner's stack
    analytics = NOTIFIER_ALARMS | (FLINK_ALARMS if synthesized[env].settings.analytics.enabled else set())
    warehouse = WAREHOUSE_ALARMS if synthesized[env].settings.warehouse.enabled else set()
    video = VIDEO_ALARMS if synthesized[env].settings.video.enabled else set()
    assert set(alarms) == {f"ml-data-lake-{env}-{name}" for name in {*OWNED_ALARMS, *analytics, *warehouse, *video}}
    assert {alarms[f"ml-data-lake-{env}-{name}"][0] for name in warehouse} <= {"Warehouse"}
    assert {alarms[f"ml-data-lake-{env}-{name}"][0] for name in analytics} == {"Analytics"}
    assert {alarms[f"ml-data-lake-{env}-{name}"][0] for name in video} <= {"Video"}
    for name, (unit, namespace, metric, statistic) in OWNED_ALARMS.items():
        owner, properties = alarms[f"ml-data-lake-{env}-{name}"]
        assert owner == unit, name
        assert (properties["Namespace"], properties["MetricName"], properties["Statistic"]) == (
            namespace,
            metric,
            statistic,
        )
        assert properties["Period"] == 300
        assert properties["ComparisonOperator"] == "GreaterThanThreshold"
        assert properties["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_of_every_stack_notifies_the_alert_topic(synthesized: dict[str, Synthesized], env: str) -> None:
    # Given every alarm in every stack of the environment
    alarms = {
        f"{unit}/{logical_id}": alarm["Properties"]
        for unit in synthesized[env].templates
        for logical_id, alarm in synthesized[env].template(unit).find_resources("AWS::CloudWatch::Alarm").items()
    }
    assert alarms
    # Then each one's only action is the lake's alert topic (a reference to it, or the topic itself in Core)
    for path, properties in alarms.items():
        actions = properties.get("AlarmActions", [])
        assert len(actions) == 1, path
        local = path.startswith("Core/") and ALERT_TOPIC in json.dumps(actions)
        assert local or _refers_to(actions, env, "Core", ALERT_TOPIC), f"{path} alarms {actions}"


def test_the_dashboard_is_the_monitoring_stacks_only_resource(sandbox: Synthesized) -> None:
    types = sorted(r["Type"] for r in sandbox.json(UNIT)["Resources"].values())
    assert types == ["AWS::CloudWatch::Dashboard"]
    assert sandbox.lake.monitoring.dependencies  # deployed after the stacks it watches


# --- The constructs on their own ---------------------------------------------------------------------------------


def _throwaway() -> tuple[cdk.Stack, sns.ITopic]:
    stack = cdk.Stack(cdk.App(), "Throwaway", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    return stack, sns.Topic.from_topic_arn(stack, "Topic", "arn:aws:sns:eu-west-1:111111111111:alerts")


def test_the_alarm_helper_names_the_alarm_after_the_prefix_and_notifies_the_topic() -> None:
    # Given a metric and where the environment's alarms go
    stack, topic = _throwaway()
    metric = cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Errors", statistic="Sum")
    # When one alarm is made through the helper
    created = alarm(
        stack,
        "ErrorsAlarm",
        alerts=AlertTarget(topic=topic, name_prefix="lake-test"),
        name="transform-errors",
        metric=metric,
        threshold=3,
        description="Errors of the transform.",
        evaluation_periods=2,
    )
    # Then it carries the prefix, notifies the topic and treats an idle metric as healthy
    assert alarms_in(stack) == [created]
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "lake-test-transform-errors",
            "AlarmDescription": "Errors of the transform.",
            "Threshold": 3,
            "EvaluationPeriods": 2,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": ["arn:aws:sns:eu-west-1:111111111111:alerts"],
        },
    )


def test_the_dashboard_only_draws_the_resources_and_alarms_it_is_given() -> None:
    # Given stand-ins for the pipeline's resources in a throwaway stack
    stack, _ = _throwaway()
    existing = cloudwatch.Alarm.from_alarm_arn(
        stack, "Existing", "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:ingest-iterator-age"
    )
    dashboard = PipelineDashboard(
        stack,
        "Pipeline",
        dashboard_name="lake-test-pipeline",
        title="Test",
        ingest_stream=kinesis.Stream.from_stream_arn(
            stack, "Stream", "arn:aws:kinesis:eu-west-1:111111111111:stream/ingest"
        ),
        delivery_stream=firehose.DeliveryStream.from_delivery_stream_name(stack, "Delivery", "delivery"),
        transform_function=lambda_.Function.from_function_arn(
            stack, "Transform", "arn:aws:lambda:eu-west-1:111111111111:function:transform"
        ),
        state_machine=sfn.StateMachine.from_state_machine_arn(
            stack, "Workflow", "arn:aws:states:eu-west-1:111111111111:stateMachine:workflow"
        ),
        glue_job=glue.Job.from_job_attributes(stack, "Job", job_name="curate"),
        alarms=[existing],
    )

    # When it is synthesized
    template = Template.from_stack(stack)

    # Then the dashboard has the given name, creates no alarm of its own, and the widget lists the given one
    template.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": "lake-test-pipeline"})
    template.resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert dashboard.alarms == [existing]
    body = _body(template.to_json())
    assert "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:ingest-iterator-age" in body
    assert '"AWS/Kinesis","IncomingRecords","StreamName","ingest"' in body
    assert '"AWS/Firehose","DeliveryToS3.DataFreshness","DeliveryStreamName","delivery"' in body
    assert '"Glue","glue.error.ALL","JobName","curate"' in body
