"""The lake's customer-managed KMS key."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.workload import serves


class LakeKey(Construct):
    """A customer-managed KMS key with rotation on, shared by every encrypted resource of one environment."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        removal: RemovalPolicy,
        log_group_patterns: Sequence[str],
        consumer_accounts: Sequence[str] = (),
    ) -> None:
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
        serves(self, "every encrypted resource of the lake")
        self._deny_grants_not_for_aws_resources()
        self._admit_cloudwatch_logs(log_group_patterns)
        self._admit_cloudtrail()
        if consumer_accounts:
            self._admit_consumer_accounts(consumer_accounts)

    def _deny_grants_not_for_aws_resources(self) -> None:
        """No principal may create a grant on the key for itself; AWS services still make the grants they need.

        A grant is a second, unaudited way to use the key, outside this policy and IAM. The services that use the
        lake key through grants (EBS and SageMaker volumes, Glue, Firehose, Lambda, Redshift, ...) call CreateGrant
        on behalf of a principal with `kms:GrantIsForAWSResource` true; a service calling with its own service
        principal (CloudWatch Logs, CloudTrail) has `aws:PrincipalIsAWSService` true. The deny is for calls where
        both are false: someone granting the key to themselves or to another principal directly.
        """
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyGrantsNotForAwsResources",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={
                    "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
                },
            )
        )

    def _admit_cloudwatch_logs(self, log_group_patterns: Sequence[str]) -> None:
        """CloudWatch Logs encrypts log groups with the key only if the key policy names it (IAM grants cannot).

        Only the log groups of this environment (see log_group.lake_log_group_patterns): CloudWatch Logs puts the
        log group's ARN in the encryption context of every call it makes with the key.
        """
        stack = Stack.of(self)
        log_groups = [
            stack.format_arn(
                service="logs", resource="log-group", resource_name=pattern, arn_format=ArnFormat.COLON_RESOURCE_NAME
            )
            for pattern in log_group_patterns
        ]
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForTheLakeLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            )
        )

    def _admit_cloudtrail(self) -> None:
        """The S3 data-event trail (Storage stack) encrypts its log files with the key, which only a key policy allows.

        Scoped to trails of this account: by the calling trail (`aws:SourceArn`) and by the encryption context
        CloudTrail puts on every log file.
        """
        stack = Stack.of(self)
        trails = f"arn:{stack.partition}:cloudtrail:{stack.region}:{stack.account}:trail/*"
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailOfThisAccountToEncryptLogs",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "ArnLike": {"aws:SourceArn": trails},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{stack.partition}:cloudtrail:*:{stack.account}:trail/*"
                        )
                    },
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudTrailOfThisAccountToDescribeKey",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:DescribeKey"],
                resources=["*"],
                conditions={"ArnLike": {"aws:SourceArn": trails}},
            )
        )

    def _admit_consumer_accounts(self, accounts: Sequence[str]) -> None:
        """Other accounts read the curated zone's SSE-KMS objects: a cross-account key use needs the key policy.

        Only through S3 (`kms:ViaService`), so the accounts can decrypt lake objects they may read and nothing else.
        """
        stack = Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowConsumerAccountsToDecryptThroughS3",
                principals=[iam.AccountPrincipal(account) for account in accounts],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            )
        )
