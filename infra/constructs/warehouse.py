"""The notes' Redshift: a Redshift Serverless namespace and workgroup in the lake's VPC, and the role Spectrum and COPY
read the lake with.

CloudFormation's `AWS::RedshiftServerless::*` types have no L2 in aws-cdk-lib 2.275, so the L1 properties are set here,
in one place. Serverless compute is billed per RPU-second while queries run (60 s at least each time) and nothing
while idle; managed storage per GB-month.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshiftserverless as redshiftserverless
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config.warehouse import WarehouseSettings
from infra.constructs.alarms import AlertTarget, alarm
from infra.constructs.log_group import encrypted_log_group, redshift_log_group_name
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.constructs.network import VPC_CIDR

# Redshift's default port; the workgroup's security group admits it from the VPC only.
PORT = 5439
# The audit logs Redshift Serverless exports (to CloudWatch only): connections, user changes, each query.
LOG_EXPORTS = ("connectionlog", "userlog", "useractivitylog")
# What Spectrum (and COPY) read in the Glue catalog: the database and its tables and partitions.
CATALOG_ACTIONS = (
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
)
METRICS_NAMESPACE = "AWS/Redshift-Serverless"


class SpectrumRole(Construct):
    """The namespace's default role: reads the catalog's lake database and the curated zone's published folders."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        curated_zone: s3.IBucket,
        folders: Sequence[str],
        database: glue.IDatabase,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, id)
        self.role = ManagedPolicyRole(
            self,
            "Role",
            service="redshift.amazonaws.com",
            description="Redshift Spectrum and COPY: read the lake's catalog database and curated folders.",
        )
        objects = [curated_zone.arn_for_objects(f"{folder}*") for folder in folders]
        stack = Stack.of(self)
        tables = stack.format_arn(service="glue", resource="table", resource_name=f"{database.database_name}/*")
        catalog = stack.format_arn(service="glue", resource="catalog")
        for statement in (
            iam.PolicyStatement(actions=["s3:GetObject"], resources=objects),
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[curated_zone.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{folder}*" for folder in folders]}},
            ),
            iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=[curated_zone.bucket_arn]),
            iam.PolicyStatement(actions=list(CATALOG_ACTIONS), resources=[catalog, database.database_arn, tables]),
            # The curated objects and the catalog's metadata are encrypted with the lake key; S3 and Glue decrypt.
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [f"s3.{stack.region}.amazonaws.com", f"glue.{stack.region}.amazonaws.com"]
                    }
                },
            ),
        ):
            self.role.add_to_principal_policy(statement)
        self.role.acknowledge_wildcard_resources(
            *objects,
            reason="The curation job and the analytics delivery name their objects (hour partitions, Firehose files) "
            "at run time; the role reads only the folders published to the warehouse.",
        )
        self.role.acknowledge_wildcard_resources(
            tables,
            reason="Crawlers add the lake's tables at run time; the role reads the tables of the lake's one database "
            "only, which is what an external schema over that database is.",
        )


class ServerlessWarehouse(Construct):
    """Namespace (lake key, managed admin secret, audit logs) and workgroup (isolated subnets, private, enhanced VPC
    routing, TLS only) with its own security group and a compute budget alarm."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        settings: WarehouseSettings,
        vpc: ec2.IVpc,
        key: kms.IKey,
        default_role: iam.IRole,
        alerts: AlertTarget,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.name = name
        self.database_name = settings.database_name
        self.log_groups = [
            encrypted_log_group(
                self,
                f"{log_type.capitalize()}Group",
                key=key,
                retention_days=log_retention_days,
                removal=removal,
                log_group_name=redshift_log_group_name(name, log_type),
            )
            for log_type in LOG_EXPORTS
        ]
        self.namespace = self._namespace(settings, key=key, default_role=default_role, removal=removal)
        self.security_group = self._security_group(vpc)
        self.workgroup = self._workgroup(settings, vpc=vpc)
        self.compute_alarm: cloudwatch.Alarm | None = None
        if settings.daily_rpu_hours_alarm is not None:
            self.compute_alarm = self._compute_alarm(alerts, settings.daily_rpu_hours_alarm)

    def _namespace(
        self, settings: WarehouseSettings, *, key: kms.IKey, default_role: iam.IRole, removal: RemovalPolicy
    ) -> redshiftserverless.CfnNamespace:
        """Storage under the lake key; the admin password generated and kept in Secrets Manager under it too."""
        namespace = redshiftserverless.CfnNamespace(
            self,
            "Namespace",
            namespace_name=self.name,
            db_name=settings.database_name,
            admin_username=settings.admin_username,
            manage_admin_password=True,
            admin_password_secret_kms_key_id=key.key_arn,
            kms_key_id=key.key_arn,
            iam_roles=[default_role.role_arn],
            default_iam_role_arn=default_role.role_arn,
            log_exports=list(LOG_EXPORTS),
        )
        # Retained where data is kept (RETAIN never deletes, so no final snapshot is ever needed); deleted with its
        # data where the environment says so.
        namespace.apply_removal_policy(removal)
        for log_group in self.log_groups:
            # Redshift writes into an existing group of the right name; created first, it is encrypted and retained.
            namespace.node.add_dependency(log_group)
        return namespace

    def _security_group(self, vpc: ec2.IVpc) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Redshift Serverless workgroup: SQL from the VPC, HTTPS out to S3 and the Glue endpoint.",
            allow_all_outbound=False,
        )
        group.add_ingress_rule(ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(PORT), "SQL clients inside the VPC")
        # The isolated subnets route only inside the VPC and to the S3 gateway endpoint's prefix list, whose ID is
        # known only in the account: any IPv4 on 443 reaches nothing else.
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3 (gateway) and the Glue endpoint")
        return group

    def _workgroup(self, settings: WarehouseSettings, *, vpc: ec2.IVpc) -> redshiftserverless.CfnWorkgroup:
        parameter = redshiftserverless.CfnWorkgroup.ConfigParameterProperty
        return redshiftserverless.CfnWorkgroup(
            self,
            "Workgroup",
            workgroup_name=self.name,
            namespace_name=self.namespace.ref,
            base_capacity=settings.base_capacity_rpu,
            max_capacity=settings.max_capacity_rpu,
            port=PORT,
            publicly_accessible=False,
            # COPY, UNLOAD and Spectrum go through the VPC: S3 through the gateway endpoint, the catalog through
            # the Glue interface endpoint, all visible in the flow logs.
            enhanced_vpc_routing=True,
            subnet_ids=[subnet.subnet_id for subnet in vpc.isolated_subnets],
            security_group_ids=[self.security_group.security_group_id],
            config_parameters=[
                parameter(parameter_key="require_ssl", parameter_value="true"),
                parameter(parameter_key="enable_user_activity_logging", parameter_value="true"),
            ],
        )

    def compute_seconds(self, period: Duration) -> cloudwatch.Metric:
        """RPU-seconds the workgroup used in each period (what compute is billed by)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="ComputeSeconds",
            dimensions_map={"Workgroup": self.name},
            statistic=cloudwatch.Stats.SUM,
            period=period,
        )

    def _compute_alarm(self, alerts: AlertTarget, rpu_hours: float) -> cloudwatch.Alarm:
        return alarm(
            self,
            "DailyCompute",
            alerts=alerts,
            name="warehouse-daily-compute",
            metric=self.compute_seconds(Duration.days(1)),
            threshold=rpu_hours * 3600,
            description=f"The warehouse used more than {rpu_hours:g} RPU-hours of compute in a day "
            "(warehouse.daily_rpu_hours_alarm): look for runaway queries in the user activity log.",
        )
