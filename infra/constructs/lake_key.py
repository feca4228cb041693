"""The lake's customer-managed KMS key."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class LakeKey(Construct):
    """A customer-managed KMS key with rotation on, shared by every encrypted resource of one environment."""

    def __init__(self, scope: Construct, id: str, *, alias: str, removal: RemovalPolicy) -> None:
        super().__init__(scope, id)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description=f"Encrypts the ML data lake ({alias}): buckets, stream, logs, topic and Glue catalog.",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            removal_policy=removal,
            pending_window=Duration.days(7 if removal == RemovalPolicy.DESTROY else 30),
        )
        self._admit_cloudwatch_logs()

    def _admit_cloudwatch_logs(self) -> None:
        """CloudWatch Logs encrypts log groups with the key only if the key policy names it (IAM grants cannot)."""
        stack = Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
