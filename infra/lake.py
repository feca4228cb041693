"""Composes one environment's stacks; the only place that knows how the stacks depend on each other.

Stacks pass each other objects (keys, buckets, topics, streams, the database), never names to rebuild them from;
CDK turns each use across stacks into a reference, which also orders the deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Environment, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra.checkov import skip_checks_on_cdk_handlers
from infra.config import EnvironmentSettings
from infra.constructs.alarms import AlertTarget, alarms_in
from infra.constructs.analytics_delivery import OUTPUT_FOLDER
from infra.removal import removal_policy
from infra.stacks.analytics import AnalyticsStack
from infra.stacks.cdc import CdcStack
from infra.stacks.core import CoreStack
from infra.stacks.ingestion import IngestionStack
from infra.stacks.ml import MlStack
from infra.stacks.monitoring import MonitoringStack
from infra.stacks.network import NetworkStack
from infra.stacks.processing import CURATED_EVENTS, ProcessingStack
from infra.stacks.storage import StorageStack
from infra.stacks.video import VideoStack
from infra.stacks.warehouse import WarehouseStack
from infra.tagging import tag_stack


@dataclass(frozen=True)
class Lake:
    """The stacks of one environment, in deployment order."""

    core: CoreStack
    network: NetworkStack
    storage: StorageStack
    ingestion: IngestionStack
    ml: MlStack | None
    processing: ProcessingStack
    analytics: AnalyticsStack
    warehouse: WarehouseStack | None
    video: VideoStack | None
    cdc: CdcStack | None
    monitoring: MonitoringStack

    @property
    def stacks(self) -> tuple[Stack, ...]:
        """Every stack, in the order CloudFormation deploys them (the optional units' only when enabled)."""
        ml = (self.ml,) if self.ml else ()
        warehouse = (self.warehouse,) if self.warehouse else ()
        video = (self.video,) if self.video else ()
        cdc = (self.cdc,) if self.cdc else ()
        return (
            *(self.core, self.network, self.storage, self.ingestion),
            *ml,
            *(self.processing, self.analytics),
            *warehouse,
            *video,
            *cdc,
            self.monitoring,
        )


StackArgs = Callable[[str, str], dict[str, Any]]


def _stack_args(scope: Construct, settings: EnvironmentSettings) -> StackArgs:
    """What every stack of the environment is created with: its scope, name, settings, account and protection."""
    env = Environment(account=settings.account, region=settings.region) if settings.account else None

    def args(unit: str, description: str) -> dict[str, Any]:
        return {
            "scope": scope,
            "id": settings.stack_name(unit),
            "settings": settings,
            "env": env,
            "termination_protection": settings.termination_protection,
            "description": f"ML data lake ({settings.name}): {description}",
        }

    return args


def _foundation(args: StackArgs, removal: RemovalPolicy) -> tuple[CoreStack, NetworkStack, StorageStack]:
    """The key and alert topic, the network, and the zones: what every other unit builds on."""
    core = CoreStack(**args("Core", "the lake key and the alert topic."), removal=removal)
    network = NetworkStack(
        **args("Network", "a VPC without internet access and its S3 endpoint."), lake_key=core.lake_key, removal=removal
    )
    storage = StorageStack(
        **args("Storage", "buckets, audit trail and catalog database (stateful)."),
        lake_key=core.lake_key,
        s3_endpoint=network.s3_endpoint,
        removal=removal,
    )
    return core, network, storage


def _ml(
    args: StackArgs,
    settings: EnvironmentSettings,
    foundation: tuple[CoreStack, NetworkStack, StorageStack],
    removal: RemovalPolicy,
) -> MlStack | None:
    """The ML unit's stack (model registry, processing job setup) where `ml.enabled`."""
    if not settings.ml.enabled:
        return None
    core, network, storage = foundation
    return MlStack(
        **args("Ml", "model registry and the SageMaker processing job's setup."),
        lake_key=core.lake_key,
        vpc=network.vpc,
        job_role=storage.consumer_role,
        query_results=storage.query_results,
        removal=removal,
    )


def _video(
    args: StackArgs,
    settings: EnvironmentSettings,
    foundation: tuple[CoreStack, NetworkStack, StorageStack],
    alerts: AlertTarget,
    removal: RemovalPolicy,
) -> VideoStack | None:
    """The video unit's stack (stream, labeler, notifier, crawler) where `video.enabled`."""
    if not settings.video.enabled:
        return None
    core, _, storage = foundation
    return VideoStack(
        **args("Video", "Kinesis video stream, the frame labeler (Rekognition) and its notifier."),
        lake_key=core.lake_key,
        curated_zone=storage.curated_zone,
        database=storage.database,
        alerts=alerts,
        removal=removal,
    )


def _warehouse(
    args: StackArgs,
    settings: EnvironmentSettings,
    foundation: tuple[CoreStack, NetworkStack, StorageStack],
    alerts: AlertTarget,
    removal: RemovalPolicy,
) -> WarehouseStack | None:
    """The warehouse unit's stack (Redshift Serverless, Spectrum) where `warehouse.enabled`."""
    if not settings.warehouse.enabled:
        return None
    core, network, storage = foundation
    return WarehouseStack(
        **args("Warehouse", "Redshift Serverless with Spectrum over the lake's catalog."),
        vpc=network.vpc,
        lake_key=core.lake_key,
        curated_zone=storage.curated_zone,
        # What the warehouse reads of the curated zone: the curated events and the analytics outputs, not the
        # quarantine.
        curated_folders=(CURATED_EVENTS, OUTPUT_FOLDER),
        database=storage.database,
        alerts=alerts,
        removal=removal,
    )


def _cdc(
    args: StackArgs,
    settings: EnvironmentSettings,
    foundation: tuple[CoreStack, NetworkStack, StorageStack],
    alerts: AlertTarget,
    removal: RemovalPolicy,
) -> CdcStack | None:
    """The change-data-capture unit's stack where `cdc.enabled` (DMS bills while a replication runs)."""
    if not settings.cdc.enabled:
        return None
    core, network, storage = foundation
    return CdcStack(
        **args("Cdc", "DMS Serverless change data capture into the raw zone, and the current-state job."),
        lake_key=core.lake_key,
        vpc=network.vpc,
        raw_zone=storage.raw_zone,
        curated_zone=storage.curated_zone,
        database=storage.database,
        alerts=alerts,
        removal=removal,
    )


def build_lake(scope: Construct, settings: EnvironmentSettings, *, flink_artifact: Path | None = None) -> Lake:
    """Create the stacks of the environment `settings` describes, named `MlDataLake-<env>-<Unit>`.

    `flink_artifact`: the folder `make flink-artifact` builds, required where `analytics.enabled` (infra/synthesis.py).
    """
    args = _stack_args(scope, settings)
    removal = removal_policy(settings)
    core, network, storage = _foundation(args, removal)
    alerts = AlertTarget(topic=core.alert_topic, name_prefix=settings.resource_prefix)
    key = core.lake_key
    ingestion = IngestionStack(
        **args("Ingestion", "Kinesis stream, Firehose delivery, its transform Lambda and the raw table."),
        lake_key=key,
        raw_zone=storage.raw_zone,
        database=storage.database,
        alerts=alerts,
        removal=removal,
    )
    ml = _ml(args, settings, (core, network, storage), removal)
    processing = ProcessingStack(
        **args("Processing", "Glue crawlers and ETL job, Step Functions workflow, Athena."),
        lake_key=key,
        raw_zone=storage.raw_zone,
        curated_zone=storage.curated_zone,
        query_results=storage.query_results,
        database=storage.database,
        alerts=alerts,
        vpc=network.vpc,
        workload_subnet=network.workload_subnet,
        ml_job=ml.processing_job if ml else None,
        removal=removal,
    )
    analytics = AnalyticsStack(
        **args("Analytics", "Flink analytics on the ingest stream, its outputs and the anomaly notifier."),
        lake_key=key,
        ingest_stream=ingestion.ingest_stream,
        curated_zone=storage.curated_zone,
        database=storage.database,
        alerts=alerts,
        flink_artifact=flink_artifact,
        removal=removal,
    )
    warehouse = _warehouse(args, settings, (core, network, storage), alerts, removal)
    video = _video(args, settings, (core, network, storage), alerts, removal)
    cdc = _cdc(args, settings, (core, network, storage), alerts, removal)
    # Every alarm of the other stacks, in deployment order (each stack owns its alarms; the dashboard draws them).
    owners = (core, network, storage, ingestion, ml, processing, analytics, warehouse, video, cdc)
    alarms = alarms_in(*(stack for stack in owners if stack is not None))
    monitoring = _monitoring(args, ingestion, processing, alarms)
    return _tagged(Lake(*owners, monitoring), settings)


def _monitoring(
    args: StackArgs, ingestion: IngestionStack, processing: ProcessingStack, alarms: list[cloudwatch.IAlarm]
) -> MonitoringStack:
    """The dashboard: the pipeline's metrics and the alarms of every stack."""
    return MonitoringStack(
        **args("Monitoring", "the pipeline's dashboard."),
        ingest_stream=ingestion.ingest_stream,
        delivery_stream=ingestion.delivery_stream,
        transform_function=ingestion.transform_function,
        state_machine=processing.workflow.state_machine,
        glue_job=processing.curate_job.job,
        alarms=alarms,
    )


def _tagged(lake: Lake, settings: EnvironmentSettings) -> Lake:
    """Tag every stack with the environment and its tags; skip checkov's checks on CDK's own handlers."""
    for stack in lake.stacks:
        tag_stack(stack, {"Environment": settings.name, **settings.tags})
        # checkov also checks the handlers of CDK's own custom resources; each skip is on the handler, with its reason.
        skip_checks_on_cdk_handlers(stack)
    return lake
