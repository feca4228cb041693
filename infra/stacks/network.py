"""The lake's private network (before Storage: the curated zone's policy names the S3 endpoint)."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.log_group import lake_log_group_name
from infra.constructs.network import INTERFACE_SERVICES, LakeNetwork


class NetworkStack(Stack):
    """A VPC without internet access, its flow logs, the S3 gateway endpoint and the interface endpoints the
    workloads in the VPC need: this is where a unit that runs in the VPC says which AWS APIs it calls.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        lake_key: kms.IKey,
        removal: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        network = LakeNetwork(
            self,
            "Network",
            resource_prefix=settings.resource_prefix,
            key=lake_key,
            availability_zones=settings.network.availability_zones,
            availability_zone_count=settings.availability_zone_count,
            glue_in_vpc=settings.glue.run_in_vpc,
            flow_log_group_name=lake_log_group_name(settings.resource_prefix, "vpc", "flow-logs"),
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        if settings.network.interface_endpoints:
            # Each endpoint costs by the hour: it names what calls it, or that nothing does yet.
            workload = "curation job in the VPC" if settings.glue.run_in_vpc else "none: no workload runs in the VPC"
            for name, service in INTERFACE_SERVICES.items():
                network.require_interface_endpoint(name, service, workload)
        if settings.warehouse.enabled:
            # With enhanced VPC routing, Spectrum reaches S3 through the gateway endpoint and the Glue catalog only
            # through this one (the VPC has no NAT). Nothing else of the warehouse calls an AWS API from the VPC:
            # Redshift assumes the Spectrum role and S3 decrypts with KMS on their own side, and the schema provider
            # runs outside the VPC.
            network.require_interface_endpoint(
                "Glue", ec2.InterfaceVpcEndpointAwsService.GLUE, "warehouse: Spectrum reads the catalog"
            )
        if settings.cdc.enabled:
            # DMS Serverless in isolated subnets reaches the raw zone through the S3 gateway endpoint and the source's
            # secret through this one (DMS user guide, "Configuring VPC endpoints for AWS DMS"); KMS and CloudWatch
            # Logs are called by S3, Secrets Manager and DMS on its behalf, not from its network interfaces.
            network.require_interface_endpoint(
                "SecretsManager",
                ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
                "cdc: DMS reads the source credentials",
            )
        self.vpc = network.vpc
        self.s3_endpoint = network.s3_endpoint
        self.workload_subnet = network.workload_subnet
