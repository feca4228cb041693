"""Monitoring: the pipeline's dashboard and the alarms that no other stack raises (deployed last)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.pipeline_dashboard import PipelineDashboard
from infra.workload import serves


def alarms_in(*stacks: Stack) -> list[cloudwatch.IAlarm]:
    """Every CloudWatch alarm the given stacks define, for the dashboard's alarm status widget."""
    return [
        construct for stack in stacks for construct in stack.node.find_all() if isinstance(construct, cloudwatch.Alarm)
    ]


def dashboard_name(environment: str) -> str:
    """The dashboard's name: dashboards are global to an account, so it names the environment and the region."""
    return f"ml-data-lake-{environment}-pipeline-{Aws.REGION}"


class MonitoringStack(Stack):
    """A dashboard of the pipeline of one environment, with the alarms of every stack; alarms go to the alert topic."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        ingest_stream: kinesis.IStream,
        delivery_stream: firehose.IDeliveryStream,
        transform_function: lambda_.IFunction,
        state_machine: sfn.IStateMachine,
        glue_job_name: str,
        alert_topic: sns.ITopic,
        alarms: Sequence[cloudwatch.IAlarm] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.pipeline = PipelineDashboard(
            self,
            "Pipeline",
            dashboard_name=dashboard_name(settings.name),
            title=f"ML data lake ({settings.name}): pipeline",
            ingest_stream=ingest_stream,
            delivery_stream=delivery_stream,
            transform_function=transform_function,
            state_machine=state_machine,
            glue_job_name=glue_job_name,
            alert_topic=alert_topic,
            alarm_name_prefix=settings.stack_name("Monitoring"),
            alarms=alarms,
        )
        self.dashboard = self.pipeline.dashboard
        # The dashboard takes no tags: serves() also marks the dashboard's own resource for `make cost`.
        serves(self.pipeline, "pipeline monitoring")
        serves(self.dashboard, "pipeline monitoring")
