"""The Lambda function Firehose calls to turn raw readings into the lake's event schema."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.checkov import skip_check
from infra.config import FirehoseSettings
from infra.constructs.alarms import AlertTarget, alarm
from infra.constructs.lambda_findings import acknowledge_outside_vpc, acknowledge_unreserved_concurrency
from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.nag import acknowledge
from infra.workload import serves

# The whole folder is the asset (handler.py, transform.py and the schema they read); relative to the repository
# root, whatever directory synthesis runs from.
ASSET = Path(__file__).resolve().parents[2] / "lambdas" / "firehose_transform"
ALARM_PERIOD = Duration.minutes(5)


class TransformFunction(Construct):
    """The transformation Lambda (Python, ARM), logging to an encrypted log group through a role of its own.

    Its errors alarm: the records of a failed invocation go to the raw zone's error prefix.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: FirehoseSettings,
        key: kms.IKey,
        log_group_name: str,
        alerts: AlertTarget,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = encrypted_log_group(
            self,
            "LogGroup",
            key=key,
            retention_days=log_retention_days,
            removal=removal,
            log_group_name=log_group_name,
        )
        # A role of our own, allowed to write to this one log group only, instead of the AWS-managed
        # AWSLambdaBasicExecutionRole (which may create and write any log group of the account).
        self.role = ManagedPolicyRole(
            self, "Role", service="lambda.amazonaws.com", description="Runs the Firehose transform Lambda."
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description="Normalises raw readings for the raw zone (Firehose data transformation).",
            code=lambda_.Code.from_asset(str(ASSET), exclude=["__pycache__", "*.pyc"]),
            handler="handler.handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=settings.transform_memory_mb,
            timeout=Duration.seconds(settings.transform_timeout_seconds),
            reserved_concurrent_executions=settings.transform_reserved_concurrency,
            environment={"PARTITIONING": settings.partitioning},
            role=self.role,
            log_group=self.log_group,
        )
        self.function.node.add_dependency(self.role)
        serves(self, "ingestion")
        self._acknowledge_findings(reserved=settings.transform_reserved_concurrency is not None)
        self.errors_alarm = alarm(
            self,
            "ErrorsAlarm",
            alerts=alerts,
            name="transform-errors",
            metric=self.function.metric_errors(statistic=cloudwatch.Stats.SUM, period=ALARM_PERIOD),
            threshold=0,
            description=(
                "The Firehose transform Lambda failed; Firehose retries, then writes the batch under the raw zone's "
                "errors/processing-failed/ prefix. See the function's log group."
            ),
        )

    def _acknowledge_findings(self, *, reserved: bool) -> None:
        """What the compliance packs, checkov and guard ask of a Lambda that does not apply to a Firehose transform."""
        no_dlq = (
            "Firehose invokes the transform synchronously and sends records of a failed invocation to the "
            "raw zone's error prefix (processing-failed), so a dead-letter queue, used only for asynchronous "
            "invocations, would never receive anything."
        )
        acknowledge(self.function, "HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ", reason=no_dlq)
        skip_check(self.function, "CKV_AWS_116", reason=no_dlq)
        no_vpc = (
            "The transform opens no network connection: records arrive in the invocation payload and leave "
            "in its response, so a VPC would add network interfaces and cold-start time without isolating traffic."
        )
        acknowledge_outside_vpc(self.function, reason=no_vpc)
        skip_check(
            self.function,
            "CKV_AWS_173",
            reason="The only environment variable is the name of the partitioning scheme, no secret; Lambda "
            "encrypts it at rest with its AWS managed key, and a customer key would protect nothing more.",
        )
        if not reserved:
            no_reservation = (
                "Reserved concurrency is the setting firehose.transform_reserved_concurrency, off here because "
                "new accounts often allow only 10 concurrent executions in all and any reservation then fails the "
                "deploy; without one, the function shares the account's unreserved pool like any other."
            )
            acknowledge_unreserved_concurrency(self.function, reason=no_reservation)
