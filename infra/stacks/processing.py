"""Batch processing: the curation job, the curated zone's crawler, the workflow that runs them, Athena."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.alarms import AlertTarget
from infra.constructs.athena import QueryWorkgroup
from infra.constructs.crawlers import ZoneCrawler
from infra.constructs.curate_job import CurateJob
from infra.constructs.delivery_stream import RAW_EVENTS
from infra.constructs.glue_connection import GlueVpcConnection
from infra.constructs.glue_security import GlueSecurity
from infra.constructs.ml_processing import ProcessingJobResources
from infra.constructs.ml_training_step import MlTrainingStep
from infra.constructs.workflow import CurationWorkflow
from infra.schema import event_schema_argument

GLUE_JOBS = Path(__file__).resolve().parents[2] / "glue_jobs"
# Where each kind of data lives in the curated zone (the raw zone's RAW_EVENTS is the folder Firehose writes to).
CURATED_EVENTS = "events/"
QUARANTINE = "quarantine/"
GLUE_TEMP = "glue-temp/"
# The crawler names each table after its table prefix and folder: curated_events, curated_quarantine. The raw zone's
# table, raw_events, is declared by the Ingestion stack from the event schema (infra/constructs/raw_events_table.py).
CURATED_TABLE_PREFIX = "curated_"


class ProcessingStack(Stack):
    """Curate → crawl curated, on a schedule or by hand, with failures sent to the alert topic."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        lake_key: kms.IKey,
        raw_zone: s3.IBucket,
        curated_zone: s3.IBucket,
        query_results: s3.IBucket,
        database: glue.IDatabase,
        alerts: AlertTarget,
        removal: RemovalPolicy,
        vpc: ec2.IVpc,
        workload_subnet: ec2.ISubnet,
        ml_job: ProcessingJobResources | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        prefix = settings.resource_prefix
        security = GlueSecurity(self, "GlueSecurity", key=lake_key, name=prefix)
        self.curated_crawler = self._curated_crawler(
            prefix, curated_zone=curated_zone, database=database, key=lake_key, security=security
        )
        self.curate_job = self._curate_job(
            settings,
            raw_zone=raw_zone,
            curated_zone=curated_zone,
            key=lake_key,
            security=security,
            alerts=alerts,
            removal=removal,
            vpc=vpc,
            workload_subnet=workload_subnet,
        )
        self.ml_step = ml_job and self._ml_step(
            settings, ml_job, curated_zone=curated_zone, results_zone=query_results, key=lake_key
        )
        self.workflow = CurationWorkflow(
            self,
            "Workflow",
            name=f"{prefix}-curation",
            curate_job=self.curate_job,
            curated_crawler=self.curated_crawler,
            alerts=alerts,
            key=lake_key,
            timeout=Duration.minutes(settings.workflow.timeout_minutes),
            schedule=settings.workflow.schedule,
            schedule_enabled=settings.workflow.schedule_enabled,
            log_retention_days=settings.log_retention_days,
            removal=removal,
            after_curated_crawl=self.ml_step.chain if self.ml_step else None,
        )
        if self.ml_step:
            self.ml_step.grant_run(self.workflow.role)
        self.workflow.node.add_dependency(self.curate_job, self.curated_crawler)
        self.workgroup = self._workgroup(prefix, settings, query_results=query_results, database=database, key=lake_key)
        self._outputs()

    def _curate_job(
        self,
        settings: EnvironmentSettings,
        *,
        raw_zone: s3.IBucket,
        curated_zone: s3.IBucket,
        key: kms.IKey,
        security: GlueSecurity,
        alerts: AlertTarget,
        removal: RemovalPolicy,
        vpc: ec2.IVpc,
        workload_subnet: ec2.ISubnet,
    ) -> CurateJob:
        """The curation job; where the settings put it in the VPC, its workers run in the workload subnet."""
        prefix = settings.resource_prefix
        self.job_connection = (
            GlueVpcConnection(self, "JobNetwork", name=f"{prefix}-isolated", vpc=vpc, subnet=workload_subnet)
            if settings.glue.run_in_vpc
            else None
        )
        return CurateJob(
            self,
            "CurateJob",
            name=f"{prefix}-curate-events",
            job_dir=GLUE_JOBS / "curate_events",
            raw_zone=raw_zone,
            raw_prefix=RAW_EVENTS,
            curated_zone=curated_zone,
            curated_prefix=CURATED_EVENTS,
            quarantine_prefix=QUARANTINE,
            temp_prefix=GLUE_TEMP,
            event_schema=event_schema_argument(),
            raw_format=settings.firehose.record_format,
            key=key,
            security=security,
            settings=settings.glue,
            alerts=alerts,
            log_retention_days=settings.log_retention_days,
            removal=removal,
            connection=self.job_connection,
        )

    def _ml_step(
        self,
        settings: EnvironmentSettings,
        job: ProcessingJobResources,
        *,
        curated_zone: s3.IBucket,
        results_zone: s3.IBucket,
        key: kms.IKey,
    ) -> MlTrainingStep:
        """The ML unit's job on the curated zone once it is crawled; its states live in this stack's workflow."""
        return MlTrainingStep(
            self,
            "MlTraining",
            name_prefix=settings.resource_prefix,
            job=job,
            curated_zone=curated_zone,
            curated_prefix=CURATED_EVENTS,
            results_zone=results_zone,
            key=key,
            settings=settings.ml,
            tags={"Environment": settings.name, **settings.tags},
        )

    def _curated_crawler(
        self,
        prefix: str,
        *,
        curated_zone: s3.IBucket,
        database: glue.IDatabase,
        key: kms.IKey,
        security: GlueSecurity,
    ) -> ZoneCrawler:
        """The curated zone's crawler; the raw zone needs none (its table is declared, its partitions projected)."""
        return ZoneCrawler(
            self,
            "CuratedCrawler",
            name=f"{prefix}-curated",
            zone=curated_zone,
            # The quarantine is crawled too, so rejected rows can be queried next to the curated ones.
            folders=(CURATED_EVENTS, QUARANTINE),
            database=database,
            table_prefix=CURATED_TABLE_PREFIX,
            key=key,
            security=security,
        )

    def _workgroup(
        self,
        prefix: str,
        settings: EnvironmentSettings,
        *,
        query_results: s3.IBucket,
        database: glue.IDatabase,
        key: kms.IKey,
    ) -> QueryWorkgroup:
        """Athena over the crawled tables, with the saved queries pointing at the curated crawler's tables."""
        return QueryWorkgroup(
            self,
            "Athena",
            name=prefix,
            query_results=query_results,
            key=key,
            bytes_scanned_cutoff_mb=settings.athena.bytes_scanned_cutoff_mb,
            database=database,
            curated_table=self.curated_crawler.tables[0],
            quarantine_table=self.curated_crawler.tables[1],
        )

    def _outputs(self) -> None:
        """What a user runs or reads by hand."""
        state_machine = self.workflow.state_machine
        CfnOutput(self, "StateMachineArn", value=state_machine.state_machine_arn, description="Start runs here.")
        CfnOutput(self, "CurateJobName", value=self.curate_job.name, description="The Glue ETL job.")
        CfnOutput(
            self,
            "CuratedCrawlerName",
            value=self.curated_crawler.name,
            description="Crawls the curated zone's events/ and quarantine/.",
        )
        CfnOutput(self, "AthenaWorkGroup", value=self.workgroup.name, description="Query the lake in this workgroup.")
        CfnOutput(
            self,
            "QuarantinePath",
            value=self.curate_job.paths["quarantine_path"],
            description="Rows the job rejected, with the reason.",
        )
