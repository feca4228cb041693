"""The Glue job that turns DMS change rows in the raw zone into each table's current state in the curated zone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config.cdc import TableRule
from infra.constructs.alarms import AlertTarget
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

# Where the job writes in the curated zone: one folder per <schema>/<table> under each.
CURRENT_PREFIX = "cdc_current/"
QUARANTINE_PREFIX = "cdc_quarantine/"
# The catalog tables the job registers: cdc_<schema>_<table> (glue_jobs/cdc_current_state/transforms.table_name).
TABLE_PATTERN = "cdc_*"


def table_keys_argument(rules: Sequence[TableRule]) -> str:
    """The job's `--table_keys`: the settings' table rules as the job reads them."""
    return json.dumps(
        [{"schema": rule.schema_name, "table": rule.table_name, "key": list(rule.primary_key)} for rule in rules]
    )


class CdcCurrentStateJob(Construct):
    """A Glue 5.1 PySpark job (two G.1X workers) run on its own schedule or by hand, never by the curation workflow."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        job_dir: Path,
        raw_zone: s3.IBucket,
        changes_prefix: str,
        curated_zone: s3.IBucket,
        database: glue.IDatabase,
        tables: Sequence[TableRule],
        key: kms.IKey,
        schedule: str | None,
        alerts: AlertTarget,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        serves(self, "cdc: current state")
        self.name = name
        self.role = ManagedPolicyRole(
            self,
            "Role",
            service="glue.amazonaws.com",
            description=f"Glue job {name}: reads {changes_prefix} of the raw zone, writes the current state.",
        )
        # Its own security configuration: the curation job's lives in the Processing stack, which must not change
        # when this unit is turned on.
        security = GlueSecurity(self, "Security", key=key, name=f"{name}-security")
        log_group = job_log_group(self, job_name=name, key=key, retention_days=log_retention_days, removal=removal)
        self.job = self._job(
            job_dir,
            security=security,
            log_group=log_group,
            arguments={
                "--changes_path": raw_zone.s3_url_for_object(changes_prefix),
                "--current_path": curated_zone.s3_url_for_object(CURRENT_PREFIX),
                "--quarantine_path": curated_zone.s3_url_for_object(QUARANTINE_PREFIX),
                "--table_keys": table_keys_argument(tables),
                "--database": database.database_name,
                # Spark SQL's catalog is the Data Catalog, so the job's CREATE TABLE registers the tables there.
                "--enable-glue-datacatalog": "true",
            },
        )
        self._grant(raw_zone, changes_prefix, curated_zone, database, key, security)
        self.trigger = self._schedule(schedule)
        self.failures = alert_on_job_failures(self, job_name=name, topic=alerts.topic)

    def _job(
        self, job_dir: Path, *, security: GlueSecurity, log_group: logs.ILogGroup, arguments: dict[str, str]
    ) -> glue.PySparkEtlJob:
        """The job, its script and its pure module (assets its role may read)."""
        script, modules = job_code(self, job_dir, ("transforms.py",))
        return glue.PySparkEtlJob(
            self,
            "Job",
            job_name=self.name,
            description="DMS change rows (cdc/ of the raw zone) to the current state of each table, bad rows aside.",
            role=self.role,
            glue_version=GLUE_VERSION,
            script=script,
            extra_python_files=[modules],
            worker_configuration=glue.WorkerConfiguration(worker_type=glue.WorkerType.G_1X, number_of_workers=2),
            timeout=Duration.minutes(60),
            max_retries=0,
            # Each run replaces the tables' output: two at once would interleave their writes.
            max_concurrent_runs=1,
            security_configuration=security.configuration,
            continuous_logging=glue.ContinuousLoggingProps(enabled=True, log_group=log_group),
            enable_metrics=True,
            default_arguments=arguments,
        )

    def _grant(
        self,
        raw_zone: s3.IBucket,
        changes_prefix: str,
        curated_zone: s3.IBucket,
        database: glue.IDatabase,
        key: kms.IKey,
        security: GlueSecurity,
    ) -> None:
        """Read the change files, write the current state and quarantine, register `cdc_*` tables, use the key."""
        raw_access = prefix_access(raw_zone, (changes_prefix,), write=False)
        curated_access = prefix_access(curated_zone, (CURRENT_PREFIX, QUARANTINE_PREFIX), write=True)
        stack = Stack.of(self)
        catalog = stack.format_arn(service="glue", resource="catalog")
        tables = stack.format_arn(
            service="glue", resource="table", resource_name=f"{database.database_name}/{TABLE_PATTERN}"
        )
        for statement in (
            *raw_access,
            *curated_access,
            iam.PolicyStatement(
                actions=["glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable"],
                resources=[catalog, database.database_arn, tables],
            ),
        ):
            self.role.add_to_principal_policy(statement)
        grant_job_runtime(self.role, job=self.job, key=key, security=security)
        self.role.acknowledge_wildcard_resources(
            *(resource for statement in (raw_access[1], curated_access[1]) for resource in statement.resources),
            tables,
            reason="The job reads the change files DMS names per schema, table and batch, writes Spark part files, "
            "and registers one cdc_ table per replicated table, all under fixed prefixes and nothing outside them.",
        )
        self.role.acknowledge_wildcard_resources(
            "*",
            reason="cloudwatch:PutMetricData (limited to the Glue namespace by a condition) and "
            "glue:GetSecurityConfiguration have no resource type in IAM, so only '*' is accepted.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            reason="The Glue job construct grants these read-only action groups itself, on the asset bucket and the "
            "exact keys of the script and the module archive.",
        )

    def _schedule(self, schedule: str | None) -> glue.CfnTrigger | None:
        """A Glue trigger of its own when the settings give a schedule: the curation workflow stays as it is."""
        if schedule is None:
            return None
        trigger = glue.CfnTrigger(
            self,
            "Schedule",
            name=f"{self.name}-schedule",
            type="SCHEDULED",
            schedule=schedule,
            start_on_creation=True,
            description=f"Runs {self.name} on the cdc.current_state_schedule setting.",
            actions=[glue.CfnTrigger.ActionProperty(job_name=self.name)],
        )
        trigger.node.add_dependency(self.job)
        return trigger
