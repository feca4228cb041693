"""The Glue security configuration every crawler and job of the lake runs with, and the log access its roles need."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.iam_findings import acknowledge_wildcard_resources


class GlueSecurity(Construct):
    """SSE-KMS for what Glue writes to S3, KMS-encrypted CloudWatch logs and CSE-KMS job bookmarks, all with one key."""

    def __init__(self, scope: Construct, id: str, *, key: kms.IKey, name: str) -> None:
        super().__init__(scope, id)
        self.configuration = glue.SecurityConfiguration(
            self,
            "Configuration",
            # Glue names the log groups of crawlers and jobs after it, so it is fixed and names the environment.
            security_configuration_name=name,
            s3_encryption=glue.S3Encryption.kms(key),
            cloud_watch_encryption=glue.CloudWatchEncryption.kms(key),
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(key),
            # It holds settings, no data; a retained one would only block redeploying a stack with the same name.
            removal_policy=RemovalPolicy.DESTROY,
        )

    @property
    def name(self) -> str:
        """The configuration's name, as crawlers and jobs refer to it."""
        return self.configuration.security_configuration_name

    def grant_logging(self, role: iam.IRole, *, log_group_prefix: str) -> None:
        """Let `role` write Glue's encrypted logs to the log groups named `/aws-glue/<log_group_prefix>...`.

        With CloudWatch encryption on, Glue creates each log group as the role and associates the key with it, so
        the role needs `logs:AssociateKmsKey` besides the usual write actions. Glue names the groups after the
        security configuration and the role at run time, hence the prefix wildcard.
        """
        log_groups = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"/aws-glue/{log_group_prefix}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        log_streams = f"{log_groups}:*"
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:AssociateKmsKey", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_groups, log_streams],
            )
        )
        acknowledge_wildcard_resources(
            role,
            log_groups,
            log_streams,
            reason="Glue names these log groups after the security configuration and the role at run time; the "
            "wildcard covers only Glue's own log groups of this kind, and their log streams.",
        )
