"""Batch processing: the curation job, the curated zone's crawler, the workflow that runs them, Athena."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.athena import QueryWorkgroup
from infra.constructs.catalog import database_name
from infra.constructs.crawlers import ZoneCrawler
from infra.constructs.curate_job import CurateJob
from infra.constructs.glue_connection import GlueVpcConnection
from infra.constructs.glue_security import GlueSecurity
from infra.constructs.lake_bucket import Zone, bucket_arn
from infra.constructs.ml_processing import ProcessingJobResources
from infra.constructs.ml_training_step import MlTrainingStep
from infra.constructs.workflow import CrawlerRef, CurationWorkflow
from infra.removal import removal_policy
from infra.schema import event_schema_argument

GLUE_JOBS = Path(__file__).resolve().parents[2] / "glue_jobs"
# Where each kind of data lives in the zones (the raw prefix is the one Firehose writes to).
RAW_EVENTS = "events/"
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
        alert_topic: sns.ITopic,
        vpc: ec2.IVpc,
        workload_subnet: ec2.ISubnet,
        ml_job: ProcessingJobResources | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        removal = removal_policy(settings)
        prefix = f"ml-data-lake-{settings.name}"
        # The zones and the database are named here by the names the Storage stack gives them, not by reference:
        # cdk-nag prints a reference to another stack as an opaque stack output, and every acknowledged wildcard
        # must name its exact resource (`raw-zone-bucket/events*`). The explicit dependency keeps the deploy order.
        storage = {Stack.of(d).node.path: Stack.of(d) for d in (raw_zone, curated_zone, query_results, database)}
        for stack in storage.values():
            self.add_stack_dependency(stack, "the zones and the catalog database are Storage's")
        raw = self._zone("RawZone", Zone.RAW, settings, lake_key)
        curated = self._zone("CuratedZone", Zone.CURATED, settings, lake_key)
        results = self._zone("QueryResults", Zone.QUERY_RESULTS, settings, lake_key)
        catalog = database_name(settings.name)

        security = GlueSecurity(self, "GlueSecurity", key=lake_key, name=prefix)
        self.curated_crawler = ZoneCrawler(
            self,
            "CuratedCrawler",
            name=f"{prefix}-curated",
            zone=curated,
            # The quarantine is crawled too, so rejected rows can be queried next to the curated ones.
            folders=(CURATED_EVENTS, QUARANTINE),
            database_name=catalog,
            table_prefix=CURATED_TABLE_PREFIX,
            key=lake_key,
            security=security,
        )
        # Where the settings put the job in the VPC, its workers run in the workload subnet (see LakeNetwork).
        self.job_connection = (
            GlueVpcConnection(self, "JobNetwork", name=f"{prefix}-isolated", vpc=vpc, subnet=workload_subnet)
            if settings.glue.run_in_vpc
            else None
        )
        self.curate_job = CurateJob(
            self,
            "CurateJob",
            name=f"{prefix}-curate-events",
            job_dir=GLUE_JOBS / "curate_events",
            raw_zone=raw,
            raw_prefix=RAW_EVENTS,
            curated_zone=curated,
            curated_prefix=CURATED_EVENTS,
            quarantine_prefix=QUARANTINE,
            temp_prefix=GLUE_TEMP,
            event_schema=event_schema_argument(),
            raw_format=settings.firehose.record_format,
            key=lake_key,
            security=security,
            settings=settings.glue,
            log_retention_days=settings.log_retention_days,
            removal=removal,
            connection=self.job_connection,
        )
        # The ML unit's job runs on the curated zone once it is crawled; its states live in this stack's workflow.
        self.ml_step = (
            MlTrainingStep(
                self,
                "MlTraining",
                name_prefix=prefix,
                job=ml_job,
                curated_zone=curated,
                curated_prefix=CURATED_EVENTS,
                results_zone=results,
                key=lake_key,
                settings=settings.ml,
                tags={"Environment": settings.name, **settings.tags},
            )
            if ml_job is not None
            else None
        )
        self.workflow = CurationWorkflow(
            self,
            "Workflow",
            name=f"{prefix}-curation",
            job_name=self.curate_job.name,
            job_arguments={f"--{argument}": path for argument, path in self.curate_job.paths.items()},
            curated_crawler=CrawlerRef(self.curated_crawler.name, self.curated_crawler.arn),
            alert_topic=alert_topic,
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
        self.workgroup = QueryWorkgroup(
            self,
            "Athena",
            name=prefix,
            query_results=results,
            key=lake_key,
            bytes_scanned_cutoff_mb=settings.athena.bytes_scanned_cutoff_mb,
            database_name=catalog,
            curated_table=self.curated_crawler.tables[0],
            quarantine_table=self.curated_crawler.tables[1],
        )

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

    def _zone(self, id: str, zone: Zone, settings: EnvironmentSettings, key: kms.IKey) -> s3.IBucket:
        """A zone of the lake by its name (see lake_bucket.bucket_arn), encrypted with the lake key."""
        return s3.Bucket.from_bucket_attributes(
            self, id, bucket_arn=bucket_arn(self, settings.name, zone), encryption_key=key
        )
