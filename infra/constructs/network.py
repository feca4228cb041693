"""The lake's private network: a VPC with no route to the internet, whose workloads reach S3 through an endpoint."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import DefaultStackSynthesizer, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.lake_bucket import DATA_ZONES, bucket_arn
from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole

# The VPC's address range, a literal so that rules naming it can be checked before deployment.
VPC_CIDR = "10.0.0.0/16"

# What code in the VPC does with the lake's buckets: read, write, delete and list objects (multipart included).
LAKE_ACTIONS = (
    "s3:GetObject*",
    "s3:PutObject*",
    "s3:DeleteObject*",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:ListBucket*",
    "s3:GetBucketLocation",
)
ASSET_READ_ACTIONS = ("s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation")
# AWS services the optional interface endpoints serve: the Glue API, KMS (SSE-KMS), CloudWatch Logs, STS.
INTERFACE_SERVICES = {
    "Glue": ec2.InterfaceVpcEndpointAwsService.GLUE,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
}


def s3_endpoint_statements(scope: Construct, resource_prefix: str) -> list[iam.PolicyStatement]:
    """The S3 gateway endpoint's policy: the lake's data buckets, and read-only the CDK assets bucket.

    The lake's bucket names are derived, not referenced (see lake_bucket.py), and end with this account's
    `-<account>-<region>-an` suffix, so the VPC cannot reach a look-alike bucket of another account.
    """
    stack = Stack.of(scope)
    lake = [bucket_arn(scope, resource_prefix, zone) for zone in DATA_ZONES]
    # Glue jobs that run in the VPC fetch their scripts and modules from the CDK assets bucket (Code.from_asset);
    # read-only, so the VPC can never write there. No AWS-owned bucket is listed: nothing in this VPC runs an
    # operating-system package manager (the Amazon Linux repositories) and Glue reaches its own buckets itself.
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    assets = f"arn:{stack.partition}:s3:::cdk-{qualifier}-assets-{stack.account}-{stack.region}"
    return [
        iam.PolicyStatement(
            sid="AllowTheLakeBuckets",
            principals=[iam.AnyPrincipal()],
            actions=list(LAKE_ACTIONS),
            resources=[arn for bucket in lake for arn in (bucket, f"{bucket}/*")],
        ),
        iam.PolicyStatement(
            sid="AllowReadingCdkAssets",
            principals=[iam.AnyPrincipal()],
            actions=list(ASSET_READ_ACTIONS),
            resources=[assets, f"{assets}/*"],
        ),
    ]


class LakeNetwork(Construct):
    """A VPC of isolated subnets in two AZs (no NAT, no internet gateway), flow-logged, with an S3 gateway endpoint
    limited to the lake, and optionally interface endpoints for Glue, KMS, CloudWatch Logs and STS.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        resource_prefix: str,
        key: kms.IKey,
        availability_zones: Sequence[str] | None,
        interface_endpoints: bool,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        isolated = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            # Named zones keep an account-bound synthesis offline; otherwise CloudFormation picks two (Fn::GetAZs).
            availability_zones=list(availability_zones) if availability_zones else None,
            max_azs=None if availability_zones else 2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20)
            ],
            # Removes the default security group's rules (a CDK custom resource does it at deploy time).
            restrict_default_security_group=True,
        )
        self.flow_log_group = encrypted_log_group(
            self, "FlowLogGroup", key=key, retention_days=log_retention_days, removal=removal
        )
        # Its own role, so that the write permission lands in a managed policy rather than an inline one.
        self.flow_log_role = ManagedPolicyRole(
            self,
            "FlowLogRole",
            service="vpc-flow-logs.amazonaws.com",
            description="VPC flow logs: writes the lake VPC's flow log group.",
        )
        self.flow_log = self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group, self.flow_log_role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[isolated]
        )
        for statement in s3_endpoint_statements(self, resource_prefix):
            self.s3_endpoint.add_to_policy(statement)

        self.endpoint_security_group: ec2.SecurityGroup | None = None
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        if interface_endpoints:
            self._add_interface_endpoints(isolated)

    def _add_interface_endpoints(self, subnets: ec2.SubnetSelection) -> None:
        """Glue, KMS, CloudWatch Logs and STS inside the VPC, reachable on 443 from the VPC only."""
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from inside the VPC only.",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), "HTTPS from the VPC")
        for name, service in INTERFACE_SERVICES.items():
            self.interface_endpoints[name] = ec2.InterfaceVpcEndpoint(
                self,
                f"{name}Endpoint",
                vpc=self.vpc,
                service=service,
                subnets=subnets,
                security_groups=[self.endpoint_security_group],
                private_dns_enabled=True,
                # The security group above already admits the VPC on 443, and nothing else.
                open=False,
            )
