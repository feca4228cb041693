"""Change data capture (optional): DMS Serverless from PostgreSQL into the raw zone, and the current-state job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.alarms import AlertTarget
from infra.constructs.cdc_current_state import CdcCurrentStateJob
from infra.constructs.cdc_replication import CDC_FOLDER, CdcReplication, ReplicationSource
from infra.constructs.cdc_source import CdcSource

GLUE_JOBS = Path(__file__).resolve().parents[2] / "glue_jobs"


class CdcStack(Stack):
    """The sandbox source database (or none, for an existing one), the replication (created, not started), the job."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        lake_key: kms.IKey,
        vpc: ec2.IVpc,
        raw_zone: s3.IBucket,
        curated_zone: s3.IBucket,
        database: glue.IDatabase,
        alerts: AlertTarget,
        removal: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        cdc, prefix = settings.cdc, settings.resource_prefix
        self.source = self._source(settings, lake_key, vpc, removal) if cdc.existing is None else None
        self.replication = CdcReplication(
            self,
            "Replication",
            name=f"{prefix}-cdc",
            vpc=vpc,
            source=self._replication_source(settings, lake_key),
            raw_zone=raw_zone,
            key=lake_key,
            tables=cdc.tables,
            min_capacity_units=cdc.min_capacity_units,
            max_capacity_units=cdc.max_capacity_units,
            multi_az=cdc.multi_az,
            create_account_roles=cdc.create_account_roles,
            alerts=alerts,
        )
        self.current_state_job = CdcCurrentStateJob(
            self,
            "CurrentState",
            name=f"{prefix}-cdc-current-state",
            job_dir=GLUE_JOBS / "cdc_current_state",
            raw_zone=raw_zone,
            changes_prefix=f"{CDC_FOLDER}/",
            curated_zone=curated_zone,
            database=database,
            tables=cdc.tables,
            key=lake_key,
            schedule=cdc.current_state_schedule,
            alerts=alerts,
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        self._outputs()

    def _source(self, settings: EnvironmentSettings, key: kms.IKey, vpc: ec2.IVpc, removal: RemovalPolicy) -> CdcSource:
        """The sandbox PostgreSQL instance (`cdc.source: create`)."""
        return CdcSource(
            self,
            "Source",
            identifier=f"{settings.resource_prefix}-cdc-source",
            settings=settings.cdc.created,
            vpc=vpc,
            key=key,
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )

    def _replication_source(self, settings: EnvironmentSettings, key: kms.IKey) -> ReplicationSource:
        """Where DMS reads: the created instance and its generated secret, or the existing database of the settings."""
        existing = settings.cdc.existing
        if existing is not None:
            return ReplicationSource(
                database_name=existing.database_name,
                port=existing.port,
                secret_arn=existing.secret_arn,
                secret_key_arn=existing.secret_key_arn,
                security_group=None,
            )
        assert self.source is not None
        return ReplicationSource(
            database_name=self.source.database_name,
            port=self.source.port,
            secret_arn=self.source.secret.secret_arn,
            secret_key_arn=key.key_arn,
            security_group=self.source.security_group,
        )

    def _outputs(self) -> None:
        """What `make cdc-start/stop/status` and a person need: the replication's ARN, the job, the source."""
        CfnOutput(self, "CdcReplicationConfigArn", value=self.replication.arn, description="make cdc-start starts it.")
        CfnOutput(self, "CdcCurrentStateJobName", value=self.current_state_job.name, description="Current state.")
        if self.source is not None:
            CfnOutput(
                self,
                "CdcSourceEndpoint",
                value=self.source.instance.db_instance_endpoint_address,
                description="The sandbox PostgreSQL source (isolated subnets; reach it from inside the VPC).",
            )
            CfnOutput(self, "CdcSourceSecretArn", value=self.source.secret.secret_arn, description="Its credentials.")
