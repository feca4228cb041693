"""The notes' Redshift: a serverless warehouse that loads from S3 (COPY) and queries the lake in place (Spectrum)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.alarms import AlertTarget
from infra.constructs.spectrum_schema import SchemaTarget, SpectrumSchema
from infra.constructs.warehouse import ServerlessWarehouse, SpectrumRole
from infra.workload import serves

WORKLOAD = "warehouse"


class WarehouseStack(Stack):
    """Redshift Serverless in the lake's VPC, the Spectrum role, and the external schema over the lake's database."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        vpc: ec2.IVpc,
        lake_key: kms.IKey,
        curated_zone: s3.IBucket,
        curated_folders: Sequence[str],
        database: glue.IDatabase,
        alerts: AlertTarget,
        removal: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        warehouse, prefix = settings.warehouse, settings.resource_prefix
        self.spectrum_role = SpectrumRole(
            self, "Spectrum", curated_zone=curated_zone, folders=curated_folders, database=database, key=lake_key
        ).role
        self.warehouse = ServerlessWarehouse(
            self,
            "Warehouse",
            name=prefix,
            settings=warehouse,
            vpc=vpc,
            key=lake_key,
            default_role=self.spectrum_role,
            alerts=alerts,
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        serves(self.warehouse, WORKLOAD)
        namespace, workgroup = self.warehouse.namespace, self.warehouse.workgroup
        self.schema = SpectrumSchema(
            self,
            "ExternalSchema",
            target=SchemaTarget(
                workgroup_name=workgroup.ref,
                workgroup_arn=workgroup.attr_workgroup_workgroup_arn,
                namespace_name=namespace.ref,
                namespace_arn=namespace.attr_namespace_namespace_arn,
                database=warehouse.database_name,
                schema=warehouse.external_schema,
                catalog_database=database.database_name,
                role_arn=self.spectrum_role.role_arn,
            ),
            key=lake_key,
            alerts=alerts,
            resource_prefix=prefix,
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        serves(self.schema, WORKLOAD)
        self.external_schema = warehouse.external_schema
        self._outputs(curated_zone)

    def _outputs(self, curated_zone: s3.IBucket) -> None:
        # tools/warehouse.py finds the workgroup, its region and database by these output keys.
        CfnOutput(
            self,
            "WarehouseWorkgroupArn",
            value=self.warehouse.workgroup.attr_workgroup_workgroup_arn,
            description="The Redshift Serverless workgroup: make warehouse-query.",
        )
        CfnOutput(self, "WarehouseWorkgroupName", value=self.warehouse.workgroup.ref, description="Workgroup name.")
        CfnOutput(self, "WarehouseDatabase", value=self.warehouse.database_name, description="Database to connect to.")
        CfnOutput(
            self, "WarehouseNamespaceName", value=self.warehouse.namespace.ref, description="Its namespace (storage)."
        )
        CfnOutput(
            self,
            "WarehouseExternalSchema",
            value=self.external_schema,
            description="The external schema over the lake's Glue database (Spectrum).",
        )
        CfnOutput(
            self, "WarehouseCuratedZone", value=curated_zone.bucket_name, description="The bucket COPY loads from."
        )
        CfnOutput(
            self,
            "SpectrumRoleArn",
            value=self.spectrum_role.role_arn,
            description="The namespace's default role (IAM_ROLE default): Spectrum and COPY read the lake with it.",
        )
