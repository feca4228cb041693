"""Monitoring: the pipeline's dashboard (deployed last; the alarms it shows belong to the stacks they watch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.pipeline_dashboard import PipelineDashboard
from infra.workload import serves


class MonitoringStack(Stack):
    """A dashboard of the pipeline of one environment, showing the alarms of every stack."""

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
        glue_job: glue.IJob,
        alarms: Sequence[cloudwatch.IAlarm],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.pipeline = PipelineDashboard(
            self,
            "Pipeline",
            # Dashboards are global to an account: the name carries the environment and the region.
            dashboard_name=f"{settings.resource_prefix}-pipeline-{Aws.REGION}",
            title=f"ML data lake ({settings.name}): pipeline",
            ingest_stream=ingest_stream,
            delivery_stream=delivery_stream,
            transform_function=transform_function,
            state_machine=state_machine,
            glue_job=glue_job,
            alarms=alarms,
        )
        self.dashboard = self.pipeline.dashboard
        # The dashboard takes no tags: serves() also marks the dashboard's own resource for `make cost`.
        serves(self.pipeline, "pipeline monitoring")
        serves(self.dashboard, "pipeline monitoring")
