"""A CloudWatch dashboard of the pipeline, from the ingest stream to the curated zone; it only draws.

The alarms it shows belong to the constructs of the resources they watch (see infra/constructs/alarms.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

PERIOD = Duration.minutes(5)
WIDTH = 24  # a dashboard row
# Glue's observability metrics (Glue 4.0 and later, `--enable-observability-metrics`): one count per finished run.
GLUE_NAMESPACE = "Glue"
GLUE_RUN_SUCCEEDED = "glue.succeed.ALL"
GLUE_RUN_FAILED = "glue.error.ALL"


def glue_run_metric(job: glue.IJob, metric_name: str, label: str) -> cloudwatch.Metric:
    """A per-job run count from Glue's observability metrics (summed over the period)."""
    return cloudwatch.Metric(
        namespace=GLUE_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"JobName": job.job_name, "JobRunId": "ALL", "Type": "count", "ObservabilityGroup": "error"},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
        label=label,
    )


def _graph(
    title: str,
    left: Sequence[cloudwatch.IMetric],
    *,
    right: Sequence[cloudwatch.IMetric] = (),
    left_y_axis: cloudwatch.YAxisProps | None = None,
) -> cloudwatch.GraphWidget:
    """A graph a third of a row wide."""
    return cloudwatch.GraphWidget(
        title=title, left=list(left), right=list(right), left_y_axis=left_y_axis, width=WIDTH // 3, height=6
    )


def _sum(metric: cloudwatch.Metric, label: str) -> cloudwatch.Metric:
    return metric.with_(statistic=cloudwatch.Stats.SUM, period=PERIOD, label=label)


class PipelineDashboard(Construct):
    """One dashboard per environment: ingest, delivery, transform, workflow and Glue job, and every alarm's state."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        dashboard_name: str,
        title: str,
        ingest_stream: kinesis.IStream,
        delivery_stream: firehose.IDeliveryStream,
        transform_function: lambda_.IFunction,
        state_machine: sfn.IStateMachine,
        glue_job: glue.IJob,
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, id)
        self.alarms = list(alarms)
        heading = cloudwatch.TextWidget(
            markdown=f"# {title}\nIngest stream → Firehose (transform Lambda) → raw zone → workflow "
            "(crawl raw, curate with Glue, crawl curated) → curated zone.",
            width=WIDTH,
            height=2,
        )
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.hours(6),
            widgets=[
                [heading],
                _stream_row(ingest_stream),
                _delivery_row(delivery_stream),
                [
                    *_transform_graphs(transform_function),
                    cloudwatch.AlarmStatusWidget(
                        title="Alarms (each notifies the alert topic)", alarms=self.alarms, width=WIDTH // 3, height=6
                    ),
                ],
                _processing_row(state_machine, glue_job),
            ],
        )


def _stream_row(stream: kinesis.IStream) -> list[cloudwatch.IWidget]:
    """Records in, how far the oldest reader lags, and throttled writes."""
    return [
        _graph(
            "Ingest stream: incoming records and bytes",
            [_sum(stream.metric_incoming_records(), "records")],
            right=[_sum(stream.metric_incoming_bytes(), "bytes")],
        ),
        _graph(
            "Ingest stream: iterator age (oldest unread record)",
            [
                stream.metric_get_records_iterator_age_milliseconds(
                    statistic=cloudwatch.Stats.MAXIMUM, period=PERIOD, label="max age (ms)"
                )
            ],
        ),
        _graph(
            "Ingest stream: throttled writes",
            [_sum(stream.metric_write_provisioned_throughput_exceeded(), "throttled")],
        ),
    ]


def _delivery_row(delivery: firehose.IDeliveryStream) -> list[cloudwatch.IWidget]:
    """Freshness, success of the S3 puts and of the transform, records in and out."""
    return [
        _graph(
            "Firehose: delivery freshness (age of the oldest undelivered record)",
            [
                delivery.metric(
                    "DeliveryToS3.DataFreshness", statistic=cloudwatch.Stats.MAXIMUM, period=PERIOD, label="max (s)"
                )
            ],
        ),
        _graph(
            "Firehose: delivery success (1 = every put to S3 succeeded)",
            [
                delivery.metric("DeliveryToS3.Success", statistic=cloudwatch.Stats.AVERAGE, period=PERIOD, label="S3"),
                delivery.metric(
                    "ExecuteProcessing.Success", statistic=cloudwatch.Stats.AVERAGE, period=PERIOD, label="transform"
                ),
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
        ),
        _graph(
            "Firehose: records in and delivered",
            [
                _sum(delivery.metric("DeliveryToS3.Records"), "delivered to S3"),
                _sum(delivery.metric_incoming_records(), "read from the stream"),
            ],
        ),
    ]


def _transform_graphs(function: lambda_.IFunction) -> list[cloudwatch.IWidget]:
    """Errors, throttles and invocations; duration."""
    return [
        _graph(
            "Transform Lambda: errors and throttles",
            [_sum(function.metric_errors(), "errors"), _sum(function.metric_throttles(), "throttles")],
            right=[_sum(function.metric_invocations(), "invocations")],
        ),
        _graph(
            "Transform Lambda: duration",
            [
                function.metric_duration(statistic=cloudwatch.Stats.AVERAGE, period=PERIOD, label="avg"),
                function.metric_duration(statistic=cloudwatch.Stats.MAXIMUM, period=PERIOD, label="max"),
            ],
        ),
    ]


def _processing_row(state_machine: sfn.IStateMachine, job: glue.IJob) -> list[cloudwatch.IWidget]:
    """Workflow executions by outcome, their duration, and the curation job's runs."""
    return [
        _graph(
            "Workflow executions",
            [
                _sum(state_machine.metric_started(), "started"),
                _sum(state_machine.metric_succeeded(), "succeeded"),
                _sum(state_machine.metric_failed(), "failed"),
                _sum(state_machine.metric_timed_out(), "timed out"),
            ],
        ),
        _graph(
            "Workflow execution time",
            [state_machine.metric_time(statistic=cloudwatch.Stats.MAXIMUM, period=PERIOD, label="max (ms)")],
        ),
        _graph(
            "Curation job (Glue): runs",
            [
                glue_run_metric(job, GLUE_RUN_SUCCEEDED, "succeeded"),
                glue_run_metric(job, GLUE_RUN_FAILED, "failed"),
            ],
        ),
    ]
