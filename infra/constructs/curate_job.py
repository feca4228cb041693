"""The Glue Spark ETL job that curates raw events into partitioned Parquet, and what it may touch."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.config import GlueSettings
from infra.constructs.alarms import AlertTarget
from infra.constructs.glue_connection import GlueVpcConnection
from infra.constructs.glue_job import (
    GLUE_VERSION,
    alert_on_job_failures,
    grant_job_runtime,
    job_code,
    job_log_group,
    prefix_access,
)
from infra.constructs.glue_security import GlueSecurity
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.nag import acknowledge
from infra.workload import serves

# The pure modules job.py imports by their top-level names (Glue adds --extra-py-files archives to sys.path).
MODULES = ("transforms.py", "schema.py")
WORKER_TYPES = {
    "G.1X": glue.WorkerType.G_1X,
    "G.2X": glue.WorkerType.G_2X,
    "G.4X": glue.WorkerType.G_4X,
    "G.8X": glue.WorkerType.G_8X,
}


class CurateJob(Construct):
    """A Glue 5.1 PySpark job: raw JSON or Parquet events in, validated and enriched Parquet out, bad rows quarantined.

    A failed run, also one started outside the workflow, is published to the alert topic.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        job_dir: Path,
        raw_zone: s3.IBucket,
        raw_prefix: str,
        curated_zone: s3.IBucket,
        curated_prefix: str,
        quarantine_prefix: str,
        temp_prefix: str,
        event_schema: str,
        raw_format: str,
        key: kms.IKey,
        security: GlueSecurity,
        settings: GlueSettings,
        alerts: AlertTarget,
        log_retention_days: int,
        removal: RemovalPolicy,
        connection: GlueVpcConnection | None = None,
    ) -> None:
        super().__init__(scope, id)
        serves(self, "curation")
        self.name, self.arn = name, Stack.of(self).format_arn(service="glue", resource="job", resource_name=name)
        self.role = ManagedPolicyRole(
            self,
            "Role",
            service="glue.amazonaws.com",
            description=f"Glue job {name}: reads {raw_prefix} of the raw zone, writes the curated zone.",
        )
        self.paths = {  # the job's arguments, also passed by the workflow
            "raw_path": raw_zone.s3_url_for_object(raw_prefix),
            "curated_path": curated_zone.s3_url_for_object(curated_prefix),
            "quarantine_path": curated_zone.s3_url_for_object(quarantine_prefix),
        }
        self.log_group = job_log_group(self, job_name=name, key=key, retention_days=log_retention_days, removal=removal)
        self.job = self._job(
            job_dir,
            security=security,
            connection=connection,
            settings=settings,
            arguments={
                **{f"--{argument}": path for argument, path in self.paths.items()},
                "--event_schema": event_schema,
                # What Firehose delivers (firehose.record_format): GZIP JSON lines or Parquet.
                "--raw_format": raw_format,
                "--TempDir": curated_zone.s3_url_for_object(temp_prefix),
            },
        )
        self._grant(
            raw_access=prefix_access(raw_zone, (raw_prefix,), write=False),
            curated_access=prefix_access(curated_zone, (curated_prefix, quarantine_prefix, temp_prefix), write=True),
            key=key,
            security=security,
            connection=connection,
        )
        self.failures = alert_on_job_failures(self, job_name=name, topic=alerts.topic)

    def _job(
        self,
        job_dir: Path,
        *,
        security: GlueSecurity,
        connection: GlueVpcConnection | None,
        settings: GlueSettings,
        arguments: dict[str, str],
    ) -> glue.PySparkEtlJob:
        """The job, its script, its pure modules and its device table (assets the role may read)."""
        script, modules = job_code(self, job_dir, MODULES)
        devices = s3_assets.Asset(self, "Devices", path=str(job_dir / "devices.csv"))
        devices.bucket.grant_read(self.role, devices.s3_object_key)
        return glue.PySparkEtlJob(
            self,
            "Job",
            job_name=self.name,
            description="Curates raw sensor events: validate, quarantine, enrich with devices, partitioned Parquet.",
            role=self.role,
            glue_version=GLUE_VERSION,
            script=script,
            extra_python_files=[modules],
            worker_configuration=glue.WorkerConfiguration(
                worker_type=WORKER_TYPES[settings.worker_type], number_of_workers=settings.worker_count
            ),
            timeout=Duration.minutes(settings.timeout_minutes),
            # The workflow decides about retries; a blind retry after a partial write would only repeat the failure.
            max_retries=0,
            # Bookmarks assume one run at a time.
            max_concurrent_runs=1,
            security_configuration=security.configuration,
            # In the VPC (prod): workers in an isolated subnet, S3 through the gateway endpoint, APIs through the
            # interface endpoints. Without it (sandbox) Glue runs them in its own network.
            connections=[connection.connection] if connection else None,
            continuous_logging=glue.ContinuousLoggingProps(enabled=True, log_group=self.log_group),
            enable_metrics=True,
            enable_observability_metrics=True,
            default_arguments={
                "--job-bookmark-option": "job-bookmark-enable",
                **arguments,
                "--devices_path": devices.s3_object_url,
            },
        )

    def _grant(
        self,
        *,
        raw_access: list[iam.PolicyStatement],
        curated_access: list[iam.PolicyStatement],
        key: kms.IKey,
        security: GlueSecurity,
        connection: GlueVpcConnection | None,
    ) -> None:
        """Read raw events, write the curated prefixes, use the lake key, log, report Glue metrics."""
        if connection:  # in the VPC (prod): the workers' network interfaces
            connection.grant_network_interfaces(self.role)
        for statement in (*raw_access, *curated_access):
            self.role.add_to_principal_policy(statement)
        grant_job_runtime(self.role, job=self.job, key=key, security=security)
        self.role.acknowledge_wildcard_resources(
            *(resource for statement in (raw_access[1], curated_access[1]) for resource in statement.resources),
            reason="The job reads and writes objects whose names it derives from the data (partitions, Spark part "
            "files) under fixed prefixes of the zones, and nothing outside them.",
        )
        self.role.acknowledge_wildcard_resources(
            "*",
            reason="cloudwatch:PutMetricData (limited to the Glue namespace by a condition), "
            "glue:GetSecurityConfiguration and, in the VPC, the EC2 Describe actions Glue places the workers with "
            "have no resource type in IAM, so only '*' is accepted.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            reason="The Glue job construct grants these read-only action groups itself, on the asset bucket and the "
            "exact keys of the script, the module archive and the device table.",
        )
