"""A CloudWatch dashboard of the pipeline, from the ingest stream to the curated zone, and the alarms it adds."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

PERIOD = Duration.minutes(5)
WIDTH = 24  # a dashboard row
# Glue's observability metrics (Glue 4.0 and later, `--enable-observability-metrics`): one count per finished run.
GLUE_NAMESPACE = "Glue"
GLUE_RUN_SUCCEEDED = "glue.succeed.ALL"
GLUE_RUN_FAILED = "glue.error.ALL"


def glue_run_metric(job_name: str, metric_name: str, label: str) -> cloudwatch.Metric:
    """A per-job run count from Glue's observability metrics (summed over the period)."""
    return cloudwatch.Metric(
        namespace=GLUE_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"JobName": job_name, "JobRunId": "ALL", "Type": "count", "ObservabilityGroup": "error"},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
        label=label,
    )


class PipelineDashboard(Construct):
    """One dashboard per environment: ingest, delivery, transform, workflow and Glue job, and every alarm's state.

    It also alarms on what no other stack watches: transform Lambda errors (the records go to the error prefix) and
    workflow executions that time out (a timeout is not caught inside the workflow, so it sends no alert itself).
    Both publish to the alert topic, like every alarm of the lake.
    """

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
        glue_job_name: str,
        alert_topic: sns.ITopic,
        alarm_name_prefix: str,
        alarms: Sequence[cloudwatch.IAlarm] = (),
    ) -> None:
        super().__init__(scope, id)
        action = cloudwatch_actions.SnsAction(alert_topic)

        self.transform_errors_alarm = transform_function.metric_errors(
            statistic=cloudwatch.Stats.SUM, period=PERIOD
        ).create_alarm(
            self,
            "TransformErrorsAlarm",
            alarm_name=f"{alarm_name_prefix}-Transform-Errors",
            alarm_description=(
                "The Firehose transform Lambda failed; Firehose retries, then writes the batch under the raw zone's "
                "errors/processing-failed/ prefix. See the function's log group."
            ),
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.workflow_timed_out_alarm = state_machine.metric_timed_out(
            statistic=cloudwatch.Stats.SUM, period=PERIOD
        ).create_alarm(
            self,
            "WorkflowTimedOutAlarm",
            alarm_name=f"{alarm_name_prefix}-Workflow-TimedOut",
            alarm_description=(
                "A curation workflow execution reached its timeout; the workflow's own failure alert does not cover "
                "timeouts. See the execution in the Step Functions console."
            ),
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.transform_errors_alarm, self.workflow_timed_out_alarm):
            alarm.add_alarm_action(action)
        self.alarms: list[cloudwatch.IAlarm] = [*alarms, self.transform_errors_alarm, self.workflow_timed_out_alarm]

        def graph(
            title: str,
            left: Sequence[cloudwatch.IMetric],
            *,
            right: Sequence[cloudwatch.IMetric] = (),
            left_y_axis: cloudwatch.YAxisProps | None = None,
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title, left=list(left), right=list(right), left_y_axis=left_y_axis, width=WIDTH // 3, height=6
            )

        def sum_of(metric: cloudwatch.Metric, label: str) -> cloudwatch.Metric:
            return metric.with_(statistic=cloudwatch.Stats.SUM, period=PERIOD, label=label)

        stream_widgets = [
            graph(
                "Ingest stream: incoming records and bytes",
                [sum_of(ingest_stream.metric_incoming_records(), "records")],
                right=[sum_of(ingest_stream.metric_incoming_bytes(), "bytes")],
            ),
            graph(
                "Ingest stream: iterator age (oldest unread record)",
                [
                    ingest_stream.metric_get_records_iterator_age_milliseconds(
                        statistic=cloudwatch.Stats.MAXIMUM, period=PERIOD, label="max age (ms)"
                    )
                ],
            ),
            graph(
                "Ingest stream: throttled writes",
                [sum_of(ingest_stream.metric_write_provisioned_throughput_exceeded(), "throttled")],
            ),
        ]
        delivery_widgets = [
            graph(
                "Firehose: delivery freshness (age of the oldest undelivered record)",
                [
                    delivery_stream.metric(
                        "DeliveryToS3.DataFreshness", statistic=cloudwatch.Stats.MAXIMUM, period=PERIOD, label="max (s)"
                    )
                ],
            ),
            graph(
                "Firehose: delivery success (1 = every put to S3 succeeded)",
                [
                    delivery_stream.metric(
                        "DeliveryToS3.Success", statistic=cloudwatch.Stats.AVERAGE, period=PERIOD, label="S3"
                    ),
                    delivery_stream.metric(
                        "ExecuteProcessing.Success",
                        statistic=cloudwatch.Stats.AVERAGE,
                        period=PERIOD,
                        label="transform",
                    ),
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
            ),
            graph(
                "Firehose: records in and delivered",
                [
                    sum_of(delivery_stream.metric("DeliveryToS3.Records"), "delivered to S3"),
                    sum_of(delivery_stream.metric_incoming_records(), "read from the stream"),
                ],
            ),
        ]
        transform_widgets = [
            graph(
                "Transform Lambda: errors and throttles",
                [
                    sum_of(transform_function.metric_errors(), "errors"),
                    sum_of(transform_function.metric_throttles(), "throttles"),
                ],
                right=[sum_of(transform_function.metric_invocations(), "invocations")],
            ),
            graph(
                "Transform Lambda: duration",
                [
                    transform_function.metric_duration(statistic=cloudwatch.Stats.AVERAGE, period=PERIOD, label="avg"),
                    transform_function.metric_duration(statistic=cloudwatch.Stats.MAXIMUM, period=PERIOD, label="max"),
                ],
            ),
            cloudwatch.AlarmStatusWidget(
                title="Alarms (each notifies the alert topic)", alarms=self.alarms, width=WIDTH // 3, height=6
            ),
        ]
        processing_widgets = [
            graph(
                "Workflow executions",
                [
                    sum_of(state_machine.metric_started(), "started"),
                    sum_of(state_machine.metric_succeeded(), "succeeded"),
                    sum_of(state_machine.metric_failed(), "failed"),
                    sum_of(state_machine.metric_timed_out(), "timed out"),
                ],
            ),
            graph(
                "Workflow execution time",
                [state_machine.metric_time(statistic=cloudwatch.Stats.MAXIMUM, period=PERIOD, label="max (ms)")],
            ),
            graph(
                f"Glue job {glue_job_name}: runs",
                [
                    glue_run_metric(glue_job_name, GLUE_RUN_SUCCEEDED, "succeeded"),
                    glue_run_metric(glue_job_name, GLUE_RUN_FAILED, "failed"),
                ],
            ),
        ]
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.hours(6),
            widgets=[
                [
                    cloudwatch.TextWidget(
                        markdown=f"# {title}\nIngest stream → Firehose (transform Lambda) → raw zone → workflow "
                        "(crawl raw, curate with Glue, crawl curated) → curated zone.",
                        width=WIDTH,
                        height=2,
                    )
                ],
                stream_widgets,
                delivery_widgets,
                transform_widgets,
                processing_widgets,
            ],
        )
