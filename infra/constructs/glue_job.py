"""What every Glue job of the lake is built with: its version, its code assets, its log group, the grants it needs
to run under the lake's security configuration, prefix-scoped S3 access, and an alert on every failed run.

The curation job (curate_job.py) and the CDC current-state job (cdc_current_state.py) both use these.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.constructs.alarms import alert_on_failure_events
from infra.constructs.glue_security import GlueSecurity
from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole

GLUE_VERSION = glue.GlueVersion.V5_1  # Spark 3.5.6, Python 3.11: what the jobs' tests run on locally
# Glue job run states that end a run without its output: each one alerts.
FAILED_STATES = ("FAILED", "TIMEOUT", "ERROR")


def prefix_access(bucket: s3.IBucket, prefixes: tuple[str, ...], *, write: bool) -> list[iam.PolicyStatement]:
    """Statements to list `bucket` and read (and write) the objects under `prefixes`, nothing else.

    Hand-written because grant_read/grant_read_write add wildcard actions (s3:GetObject*, s3:DeleteObject*,
    s3:List*) that a Spark job does not use. The object patterns have no slash after the prefix so that Hadoop's
    directory probes (`events`, `events_$folder$`) are answered, not refused.
    """
    actions = ["s3:GetObject"]
    if write:
        actions += ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    return [
        iam.PolicyStatement(actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[bucket.bucket_arn]),
        iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(f"{p.rstrip('/')}*") for p in prefixes]),
    ]


def job_code(scope: Construct, job_dir: Path, modules: Sequence[str]) -> tuple[glue.Code, glue.Code]:
    """The job's script (`job_dir/job.py`) and one archive of its pure `modules`, as assets under `scope`.

    One archive with the modules at its root, so that `import transforms` works on Glue (which adds --extra-py-files
    archives to sys.path); a single .py asset would be uploaded as <hash>.py and be importable under that name only.
    """
    script = s3_assets.Asset(scope, "Script", path=str(job_dir / "job.py"))
    archive = s3_assets.Asset(scope, "Modules", path=str(job_dir), exclude=["*", *(f"!{m}" for m in modules)])
    return (
        glue.Code.from_bucket(script.bucket, script.s3_object_key),
        glue.Code.from_bucket(archive.bucket, archive.s3_object_key),
    )


def job_log_group(
    scope: Construct, *, job_name: str, key: kms.IKey, retention_days: int, removal: RemovalPolicy
) -> logs.LogGroup:
    """The job's log group, under /aws-glue/jobs/, where the security configuration lets Glue use the key."""
    return encrypted_log_group(
        scope,
        "Logs",
        key=key,
        retention_days=retention_days,
        removal=removal,
        log_group_name=f"/aws-glue/jobs/{job_name}",
    )


def grant_job_runtime(role: ManagedPolicyRole, *, job: glue.IJob, key: kms.IKey, security: GlueSecurity) -> None:
    """What a run of the job needs besides its data: log through the security configuration, use the lake key
    (the zones are SSE-KMS, and the configuration encrypts output and bookmarks with it), report Glue metrics.

    The wildcard resources of the last two statements are each job's to acknowledge, with the rest of its own.
    """
    security.grant_logging(role, log_group_prefix="jobs")
    job.node.add_dependency(role.policy)
    for statement in (
        iam.PolicyStatement(actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], resources=[key.key_arn]),
        # PutMetricData has no resource type; the condition keeps the job to Glue's namespace.
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": "Glue"}},
        ),
        iam.PolicyStatement(actions=["glue:GetSecurityConfiguration"], resources=["*"]),
    ):
        role.add_to_principal_policy(statement)


def alert_on_job_failures(scope: Construct, *, job_name: str, topic: sns.ITopic) -> events.Rule:
    """An EventBridge rule (under `scope`) that publishes every failed run of the Glue job to the alert topic."""
    return alert_on_failure_events(
        scope,
        topic=topic,
        about=job_name,
        description=f"Alerts when a run of {job_name} fails, also when started outside the workflow.",
        event_pattern=events.EventPattern(
            source=["aws.glue"],
            detail_type=["Glue Job State Change"],
            detail={"jobName": [job_name], "state": list(FAILED_STATES)},
        ),
        message=f"Glue job {events.EventField.from_path('$.detail.jobName')} run "
        f"{events.EventField.from_path('$.detail.jobRunId')} ended "
        f"{events.EventField.from_path('$.detail.state')}: "
        f"{events.EventField.from_path('$.detail.message')}",
    )
