"""The lake's private network: a VPC with no route to the internet, whose workloads reach S3 through an endpoint."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import DefaultStackSynthesizer, Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.lake_bucket import DATA_ZONES, bucket_arn
from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.workload import serves

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
# AWS services the optional interface endpoints serve, which a Glue job in the VPC calls: the Glue API (catalog,
# bookmarks), KMS (CSE-KMS bookmarks), CloudWatch Logs (continuous logging), CloudWatch (job metrics), STS.
INTERFACE_SERVICES = {
    "Glue": ec2.InterfaceVpcEndpointAwsService.GLUE,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
}


def s3_endpoint_statements(scope: Construct, resource_prefix: str, *, glue_in_vpc: bool) -> list[iam.PolicyStatement]:
    """The S3 gateway endpoint's policy: the lake's data buckets, read-only the CDK assets bucket, and read-only
    Glue's own assets bucket when Glue jobs run in the VPC.

    The lake's bucket names are derived, not referenced (see lake_bucket.py), and end with this account's
    `-<account>-<region>-an` suffix, so the VPC cannot reach a look-alike bucket of another account.
    """
    stack = Stack.of(scope)
    lake = [bucket_arn(scope, resource_prefix, zone) for zone in DATA_ZONES]
    # Glue jobs that run in the VPC fetch their scripts and modules from the CDK assets bucket (Code.from_asset);
    # read-only, so the VPC can never write there. Nothing in this VPC runs an operating-system package manager,
    # so the Amazon Linux repositories are not listed.
    qualifier = DefaultStackSynthesizer.DEFAULT_QUALIFIER
    assets = f"arn:{stack.partition}:s3:::cdk-{qualifier}-assets-{stack.account}-{stack.region}"
    statements = [
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
    if glue_in_vpc:
        # The AWS-owned bucket from which Glue's job runtime fetches its libraries: read from inside the VPC when the
        # workers run here.
        glue_assets = f"arn:{stack.partition}:s3:::aws-glue-jes-prod-{stack.region}-assets"
        statements.append(
            iam.PolicyStatement(
                sid="AllowReadingGlueAssets",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject", "s3:ListBucket"],
                resources=[glue_assets, f"{glue_assets}/*"],
            )
        )
    return statements


class LakeNetwork(Construct):
    """A VPC of isolated subnets in two or three AZs (no NAT, no internet gateway), flow-logged, with an S3 gateway
    endpoint limited to the lake, and the interface endpoints the workloads in the VPC ask for.

    Workloads run in `workload_subnet` (a Glue connection targets one subnet); the interface endpoints sit in its AZ
    only, which halves their cost and loses nothing: a job pinned to one subnet cannot outlive its AZ.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        resource_prefix: str,
        key: kms.IKey,
        availability_zones: Sequence[str] | None,
        availability_zone_count: int,
        glue_in_vpc: bool,
        flow_log_group_name: str,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        isolated = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            # Named zones keep an account-bound synthesis offline; otherwise CloudFormation picks them at deploy time
            # (CDK alone would give an environment-agnostic stack two zones at most, and the warehouse needs three).
            availability_zones=list(availability_zones)
            if availability_zones
            else [Fn.select(index, Fn.get_azs()) for index in range(availability_zone_count)],
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20)
            ],
            # Removes the default security group's rules (a CDK custom resource does it at deploy time).
            restrict_default_security_group=True,
        )
        self._log_flows(key=key, name=flow_log_group_name, retention_days=log_retention_days, removal=removal)
        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[isolated]
        )
        for statement in s3_endpoint_statements(self, resource_prefix, glue_in_vpc=glue_in_vpc):
            self.s3_endpoint.add_to_policy(statement)
        self.workload_subnet = self.vpc.isolated_subnets[0]

        self.endpoint_security_group: ec2.SecurityGroup | None = None
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        self._endpoint_workloads: dict[str, list[str]] = {}

    def _log_flows(self, *, key: kms.IKey, name: str, retention_days: int, removal: RemovalPolicy) -> None:
        """Every flow of the VPC, to an encrypted log group, through a role of its own."""
        self.flow_log_group = encrypted_log_group(
            self, "FlowLogGroup", key=key, retention_days=retention_days, removal=removal, log_group_name=name
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

    def require_interface_endpoint(
        self, name: str, service: ec2.InterfaceVpcEndpointAwsService, workload: str
    ) -> ec2.InterfaceVpcEndpoint:
        """The interface endpoint `name` for `service` in the workload subnet's AZ, on 443 from the VPC only.

        A workload that needs an endpoint asks for it here; asking again returns the same endpoint, which then names
        every workload that asked (each endpoint costs by the hour, so `make cost` says who pays for it).
        """
        workloads = self._endpoint_workloads.setdefault(name, [])
        if workload not in workloads:
            workloads.append(workload)
        endpoint = self.interface_endpoints.get(name)
        if endpoint is None:
            endpoint = ec2.InterfaceVpcEndpoint(
                self,
                f"{name}Endpoint",
                vpc=self.vpc,
                service=service,
                subnets=ec2.SubnetSelection(subnets=[self.workload_subnet]),
                security_groups=[self._endpoint_security_group()],
                private_dns_enabled=True,
                # The security group already admits the VPC on 443, and nothing else.
                open=False,
            )
            self.interface_endpoints[name] = endpoint
        serves(endpoint, " + ".join(workloads))
        return endpoint

    def _endpoint_security_group(self) -> ec2.SecurityGroup:
        """The one security group of every interface endpoint: HTTPS from inside the VPC."""
        if self.endpoint_security_group is None:
            self.endpoint_security_group = ec2.SecurityGroup(
                self,
                "EndpointSecurityGroup",
                vpc=self.vpc,
                description="Interface endpoints: HTTPS from inside the VPC only.",
                allow_all_outbound=False,
            )
            self.endpoint_security_group.add_ingress_rule(
                ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), "HTTPS from the VPC"
            )
        return self.endpoint_security_group
