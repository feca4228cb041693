"""Who may read the curated zone besides the lake's own jobs: an ML role, and optionally other accounts."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.nag import acknowledge

# What a reader of the curated zone does: list the bucket and read objects (and their versions).
CROSS_ACCOUNT_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation")


class CuratedZoneConsumers(Construct):
    """An ML consumer role (a SageMaker execution role) that reads the curated zone through the VPC's S3 endpoint only;
    and read access for the consumer accounts, whose KMS access the lake key's policy grants (LakeKey).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        curated_zone: s3.IBucket,
        s3_endpoint: ec2.IGatewayVpcEndpoint,
        consumer_accounts: Sequence[str],
    ) -> None:
        super().__init__(scope, id)
        self.role = ManagedPolicyRole(
            self,
            "Role",
            service="sagemaker.amazonaws.com",
            description="ML consumer: reads the curated zone of the lake (through the VPC's S3 endpoint only).",
        )
        # Reads objects and lists the bucket; the curated zone's key is the lake key, so this also grants Decrypt.
        curated_zone.grant_read(self.role)
        curated_zone.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyConsumerRoleOutsideTheVpcEndpoint",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject*", "s3:ListBucket*"],
                resources=[curated_zone.bucket_arn, curated_zone.arn_for_objects("*")],
                # aws:PrincipalArn matches every session of the role and, unlike a role principal, keeps working
                # if the role is ever recreated; a request without aws:SourceVpce (not via an endpoint) is denied too.
                conditions={
                    "ArnEquals": {"aws:PrincipalArn": self.role.role_arn},
                    "StringNotEquals": {"aws:SourceVpce": s3_endpoint.vpc_endpoint_id},
                },
            )
        )
        if consumer_accounts:
            curated_zone.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowConsumerAccountsToRead",
                    principals=[iam.AccountPrincipal(account) for account in consumer_accounts],
                    actions=list(CROSS_ACCOUNT_READ_ACTIONS),
                    resources=[curated_zone.bucket_arn, curated_zone.arn_for_objects("*")],
                )
            )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            reason="These are grant_read's read-only action groups on the curated zone bucket and every object in "
            "it, which is what the consumer reads; they include no write or delete action.",
        )
        self.role.acknowledge_wildcard_resources(
            curated_zone.arn_for_objects("*"),
            reason="The consumer reads every object of the curated zone, whose names the jobs derive from the data, "
            "and no object of any other bucket.",
        )
