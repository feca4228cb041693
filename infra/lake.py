"""Composes one environment's stacks; the only place that knows how the stacks depend on each other."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aspects, Environment, Stack, Tags
from constructs import Construct

from infra.checkov import SkipChecksOnCdkHandlers
from infra.config import EnvironmentSettings
from infra.stacks.core import CoreStack
from infra.stacks.ingestion import IngestionStack
from infra.stacks.ml import MlStack
from infra.stacks.monitoring import MonitoringStack, alarms_in
from infra.stacks.network import NetworkStack
from infra.stacks.processing import ProcessingStack
from infra.stacks.storage import StorageStack


@dataclass(frozen=True)
class Lake:
    """The stacks of one environment, in deployment order."""

    core: CoreStack
    network: NetworkStack
    storage: StorageStack
    ingestion: IngestionStack
    ml: MlStack | None
    processing: ProcessingStack
    monitoring: MonitoringStack

    @property
    def stacks(self) -> tuple[Stack, ...]:
        """Every stack, in the order CloudFormation deploys them (the ML unit's only when `ml.enabled`)."""
        ml = (self.ml,) if self.ml else ()
        return (self.core, self.network, self.storage, self.ingestion, *ml, self.processing, self.monitoring)


def build_lake(scope: Construct, settings: EnvironmentSettings) -> Lake:
    """Create the stacks of the environment `settings` describes, named `MlDataLake-<env>-<Unit>`."""
    env = Environment(account=settings.account, region=settings.region) if settings.account else None
    common = {"env": env, "termination_protection": settings.termination_protection}

    core = CoreStack(
        scope,
        settings.stack_name("Core"),
        settings=settings,
        description=f"ML data lake ({settings.name}): the lake key and the alert topic.",
        **common,
    )
    network = NetworkStack(
        scope,
        settings.stack_name("Network"),
        settings=settings,
        lake_key=core.lake_key,
        description=f"ML data lake ({settings.name}): a VPC without internet access and its S3 endpoint.",
        **common,
    )
    storage = StorageStack(
        scope,
        settings.stack_name("Storage"),
        settings=settings,
        lake_key=core.lake_key,
        s3_endpoint_id=network.s3_endpoint.vpc_endpoint_id,
        description=f"ML data lake ({settings.name}): buckets, audit trail and catalog database (stateful).",
        **common,
    )
    ingestion = IngestionStack(
        scope,
        settings.stack_name("Ingestion"),
        settings=settings,
        lake_key=core.lake_key,
        raw_zone=storage.raw_zone,
        alert_topic=core.alert_topic,
        database=storage.database,
        description=f"ML data lake ({settings.name}): Kinesis stream, Firehose delivery and its transform Lambda.",
        **common,
    )
    ml = (
        MlStack(
            scope,
            settings.stack_name("Ml"),
            settings=settings,
            lake_key=core.lake_key,
            vpc=network.vpc,
            job_role=storage.consumer_role,
            query_results=storage.query_results,
            description=f"ML data lake ({settings.name}): model registry and the SageMaker processing job's setup.",
            **common,
        )
        if settings.ml.enabled
        else None
    )
    processing = ProcessingStack(
        scope,
        settings.stack_name("Processing"),
        settings=settings,
        lake_key=core.lake_key,
        raw_zone=storage.raw_zone,
        curated_zone=storage.curated_zone,
        query_results=storage.query_results,
        database=storage.database,
        alert_topic=core.alert_topic,
        vpc=network.vpc,
        workload_subnet=network.workload_subnet,
        ml_job=ml.processing_job if ml else None,
        description=f"ML data lake ({settings.name}): Glue crawlers and ETL job, Step Functions workflow, Athena.",
        **common,
    )
    monitoring = MonitoringStack(
        scope,
        settings.stack_name("Monitoring"),
        settings=settings,
        ingest_stream=ingestion.ingest_stream,
        delivery_stream=ingestion.delivery_stream,
        transform_function=ingestion.transform_function,
        state_machine=processing.workflow.state_machine,
        glue_job_name=processing.curate_job.name,
        alert_topic=core.alert_topic,
        alarms=alarms_in(core, network, storage, ingestion, processing),
        description=f"ML data lake ({settings.name}): the pipeline's dashboard and its alarms.",
        **common,
    )
    lake = Lake(
        core=core,
        network=network,
        storage=storage,
        ingestion=ingestion,
        ml=ml,
        processing=processing,
        monitoring=monitoring,
    )
    for stack in lake.stacks:
        for key, value in {"Environment": settings.name, **settings.tags}.items():
            Tags.of(stack).add(key, value)
        # checkov also checks the handlers of CDK's own custom resources; each skip is on the handler, with its reason.
        Aspects.of(stack).add(SkipChecksOnCdkHandlers())
    return lake
