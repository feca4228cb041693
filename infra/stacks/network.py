"""The lake's private network (before Storage: the curated zone's policy names the S3 endpoint)."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.log_group import lake_log_group_name
from infra.constructs.network import LakeNetwork


class NetworkStack(Stack):
    """A VPC without internet access, its flow logs, the S3 gateway endpoint and optional interface endpoints."""

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
            interface_endpoints=settings.network.interface_endpoints,
            glue_in_vpc=settings.glue.run_in_vpc,
            flow_log_group_name=lake_log_group_name(settings.resource_prefix, "vpc", "flow-logs"),
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        self.vpc = network.vpc
        self.s3_endpoint = network.s3_endpoint
        self.workload_subnet = network.workload_subnet
