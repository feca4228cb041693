"""DMS Serverless change data capture from PostgreSQL to the raw zone: endpoints, replication config, roles, network.

CloudFormation creates an `AWS::DMS::ReplicationConfig` without starting it, so the deploy bills nothing; `make
cdc-start` starts it (full load, then ongoing changes) and it is billed per DCU-hour from then until it is stopped
and deprovisioned. aws-cdk-lib has no L2 for DMS: every resource here is an L1, in this one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_dms as dms
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config.cdc import TableRule
from infra.constructs.alarms import AlertTarget, alert_on_failure_events
from infra.constructs.managed_policy_role import ManagedPolicyRole, trust_conditions
from infra.nag import acknowledge
from infra.workload import serves

# Where DMS writes in the raw zone: cdc/<schema>/<table>/LOAD*.parquet (full load) and <timestamp>.parquet (changes).
CDC_FOLDER = "cdc"
# The column DMS adds to every row: the source's commit time for a change, the load time for a full-load row.
COMMIT_TS_COLUMN = "dms_commit_ts"
# DMS's S3 target writes objects (and tags them), replaces them on a reload, and lists the folder.
S3_TARGET_ACTIONS = ("s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject")
# The account-wide roles DMS looks up by name, and the AWS-managed policy each must carry (DMS user guide, "Creating
# the IAM roles to use with AWS DMS").
ACCOUNT_ROLES = {
    "dms-vpc-role": "service-role/AmazonDMSVPCManagementRole",
    "dms-cloudwatch-logs-role": "service-role/AmazonDMSCloudWatchLogsRole",
}


@dataclass(frozen=True)
class ReplicationSource:
    """Where DMS reads from: the database, its port, its secret (and the key that encrypts it), how to reach it."""

    database_name: str
    port: int
    secret_arn: str
    secret_key_arn: str | None  # None: the AWS-managed key of Secrets Manager
    security_group: ec2.ISecurityGroup | None  # the created source's; None: an existing database, reached by port


def table_mappings(rules: Sequence[TableRule]) -> dict[str, Any]:
    """DMS table mappings: one selection rule per entry of the settings, and DMS's own tables left out."""
    included = [
        {
            "rule-type": "selection",
            "rule-id": str(number),
            "rule-name": f"include-{number}",
            "object-locator": {"schema-name": rule.schema_name, "table-name": rule.table_name},
            "rule-action": "include",
        }
        for number, rule in enumerate(rules, start=1)
    ]
    # The heartbeat and DDL-capture tables DMS creates on the source (awsdms_heartbeat, awsdms_ddl_audit) match a
    # `%` rule; they have no primary key the current-state job knows, and nothing of the application's.
    excluded = {
        "rule-type": "selection",
        "rule-id": str(len(rules) + 1),
        "rule-name": "exclude-dms-artifacts",
        "object-locator": {"schema-name": "%", "table-name": "awsdms_%"},
        "rule-action": "exclude",
    }
    return {"rules": [*included, excluded]}


def replication_settings() -> dict[str, Any]:
    """Task settings: logs on, and a restarted full load that keeps the files already written (the current-state
    job removes the duplicates) instead of deleting the folder (DROP_AND_CREATE, the default)."""
    return {
        "Logging": {"EnableLogging": True},
        "FullLoadSettings": {"TargetTablePrepMode": "DO_NOTHING"},
    }


def s3_target_settings(*, bucket: s3.IBucket, key: kms.IKey, role: iam.IRole) -> dms.CfnEndpoint.S3SettingsProperty:
    """Parquet under `cdc/` of the raw zone, SSE-KMS with the lake key, the op and commit time on every row."""
    return dms.CfnEndpoint.S3SettingsProperty(
        bucket_name=bucket.bucket_name,
        bucket_folder=CDC_FOLDER,
        data_format="parquet",
        parquet_version="parquet-2-0",
        parquet_timestamp_in_millisecond=True,
        # The raw zone's policy refuses any other key (lake_bucket.forced_encryption_statements).
        encryption_mode="SSE_KMS",
        server_side_encryption_kms_key_id=key.key_arn,
        service_access_role_arn=role.role_arn,
        timestamp_column_name=COMMIT_TS_COLUMN,
        # Full-load rows carry Op = I too, so every row the job reads has the same columns.
        include_op_for_full_load=True,
        cdc_max_batch_interval=60,
        expected_bucket_owner=Stack.of(bucket).account,
    )


class CdcReplication(Construct):
    """A DMS Serverless replication (full load and ongoing changes) of PostgreSQL tables to Parquet in the raw zone."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        vpc: ec2.IVpc,
        source: ReplicationSource,
        raw_zone: s3.IBucket,
        key: kms.IKey,
        tables: Sequence[TableRule],
        min_capacity_units: int,
        max_capacity_units: int,
        multi_az: bool,
        create_account_roles: bool,
        alerts: AlertTarget,
    ) -> None:
        super().__init__(scope, id)
        serves(self, "cdc: DMS Serverless replication")
        self.name = name
        self.account_roles = self._account_roles() if create_account_roles else []
        self.security_group = self._security_group(vpc, source)
        self.subnet_group = dms.CfnReplicationSubnetGroup(
            self,
            "SubnetGroup",
            replication_subnet_group_identifier=name,
            replication_subnet_group_description=f"{name}: the lake's isolated subnets.",
            subnet_ids=[subnet.subnet_id for subnet in vpc.isolated_subnets],
        )
        for role in self.account_roles:  # DMS creates the subnet group's network through dms-vpc-role
            self.subnet_group.node.add_dependency(role)
        self.target_role = self._target_role(raw_zone, key)
        self.secret_role = self._secret_role(source)
        self.source_endpoint = self._source_endpoint(source, key)
        self.target_endpoint = dms.CfnEndpoint(
            self,
            "Target",
            endpoint_identifier=f"{name}-raw-zone",
            endpoint_type="target",
            engine_name="s3",
            kms_key_id=key.key_arn,
            s3_settings=s3_target_settings(bucket=raw_zone, key=key, role=self.target_role),
        )
        self.target_endpoint.node.add_dependency(self.target_role.policy)
        self.config = self._config(
            key, tables, min_capacity_units=min_capacity_units, max_capacity_units=max_capacity_units, multi_az=multi_az
        )
        self.arn = self.config.attr_replication_config_arn
        self.failures = self._alert_on_failures(alerts)

    def _config(
        self,
        key: kms.IKey,
        tables: Sequence[TableRule],
        *,
        min_capacity_units: int,
        max_capacity_units: int,
        multi_az: bool,
    ) -> dms.CfnReplicationConfig:
        """The serverless replication: full load then changes, in the isolated subnets, its storage under the key."""
        return dms.CfnReplicationConfig(
            self,
            "Config",
            replication_config_identifier=self.name,
            replication_type="full-load-and-cdc",
            source_endpoint_arn=self.source_endpoint.ref,
            target_endpoint_arn=self.target_endpoint.ref,
            compute_config=dms.CfnReplicationConfig.ComputeConfigProperty(
                min_capacity_units=min_capacity_units,
                max_capacity_units=max_capacity_units,
                multi_az=multi_az,
                replication_subnet_group_id=self.subnet_group.ref,
                vpc_security_group_ids=[self.security_group.security_group_id],
                kms_key_id=key.key_arn,
            ),
            table_mappings=table_mappings(tables),
            replication_settings=replication_settings(),
        )

    def _account_roles(self) -> list[iam.Role]:
        """`dms-vpc-role` and `dms-cloudwatch-logs-role`, which DMS finds by name; one of each per account.

        Plain roles rather than ManagedPolicyRole: they carry no grant of ours (the managed policy it creates would be
        empty, which IAM refuses), only the AWS-managed policy DMS documents; the trust is the same (SERVICE_TRUST).
        """
        roles = []
        for role_name, policy in ACCOUNT_ROLES.items():
            role = iam.Role(
                self,
                "".join(part.capitalize() for part in role_name.split("-")),
                role_name=role_name,
                assumed_by=iam.ServicePrincipal(
                    "dms.amazonaws.com", conditions=trust_conditions(self, "dms.amazonaws.com")
                ),
                managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(policy)],
                description=f"DMS's account-wide {role_name}, created because cdc.create_account_roles is on.",
            )
            acknowledge(
                role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy}]",
                reason="DMS looks this role up by name and documents this AWS-managed policy as what it must carry; "
                "a copy of it would drift from what the service needs.",
            )
            roles.append(role)
        return roles

    def _security_group(self, vpc: ec2.IVpc, source: ReplicationSource) -> ec2.SecurityGroup:
        """The replication's network: out to the source's port and to HTTPS (S3 and Secrets Manager endpoints)."""
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=f"{self.name}: DMS replication to the source database and the lake endpoints.",
            allow_all_outbound=False,
        )
        if source.security_group is not None:
            group.connections.allow_to(source.security_group, ec2.Port.tcp(source.port), "PostgreSQL source")
        else:
            # An existing database may sit behind peering or a transit gateway: its address is not known here.
            group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(source.port), "PostgreSQL source")
        # S3 is reached through the gateway endpoint (its prefix list is not known offline), Secrets Manager through
        # the interface endpoint; the VPC has no route to the internet, so nothing else answers on 443.
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to the S3 and Secrets Manager endpoints")
        return group

    def _target_role(self, raw_zone: s3.IBucket, key: kms.IKey) -> ManagedPolicyRole:
        """What DMS writes the raw zone with: objects under `cdc/` only, encrypted with the lake key."""
        role = ManagedPolicyRole(
            self,
            "TargetRole",
            service="dms.amazonaws.com",
            description=f"{self.name}: DMS writes Parquet under {CDC_FOLDER}/ of the raw zone.",
        )
        objects = raw_zone.arn_for_objects(f"{CDC_FOLDER}/*")
        for statement in (
            iam.PolicyStatement(actions=list(S3_TARGET_ACTIONS), resources=[objects]),
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[raw_zone.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{CDC_FOLDER}/*", CDC_FOLDER]}},
            ),
            iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=[raw_zone.bucket_arn]),
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn]),
        ):
            role.add_to_principal_policy(statement)
        role.acknowledge_wildcard_resources(
            objects,
            reason="DMS names its objects after the schema, table and time of each batch, under the cdc/ prefix of "
            "the raw zone, and nothing outside it.",
        )
        return role

    def _secret_role(self, source: ReplicationSource) -> ManagedPolicyRole:
        """What DMS reads the source's credentials with: that one secret, and the key that encrypts it."""
        role = ManagedPolicyRole(
            self,
            "SecretRole",
            service="dms.amazonaws.com",
            description=f"{self.name}: DMS reads the source database's secret.",
        )
        # The DMS user guide's secret-access role trusts the regional principal; the global one serves the rest.
        stack = Stack.of(self)
        role.assume_role_policy.add_statements(  # type: ignore[union-attr]
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                principals=[
                    iam.ServicePrincipal(
                        f"dms.{stack.region}.amazonaws.com",
                        conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
                    )
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[source.secret_arn],
            )
        )
        if source.secret_key_arn:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[source.secret_key_arn])
            )
        return role

    def _source_endpoint(self, source: ReplicationSource, key: kms.IKey) -> dms.CfnEndpoint:
        """PostgreSQL over TLS, credentials from the secret; `test_decoding` needs no extension on the source."""
        endpoint = dms.CfnEndpoint(
            self,
            "Source",
            endpoint_identifier=f"{self.name}-source",
            endpoint_type="source",
            engine_name="postgres",
            database_name=source.database_name,
            ssl_mode="require",
            kms_key_id=key.key_arn,
            postgre_sql_settings=dms.CfnEndpoint.PostgreSqlSettingsProperty(
                secrets_manager_secret_id=source.secret_arn,
                secrets_manager_access_role_arn=self.secret_role.role_arn,
                plugin_name="test-decoding",
                # A heartbeat keeps the replication slot's position moving while the tables are idle, so the WAL
                # the slot holds back does not fill the source's storage.
                heartbeat_enable=True,
            ),
        )
        endpoint.node.add_dependency(self.secret_role.policy)
        return endpoint

    def _alert_on_failures(self, alerts: AlertTarget) -> events.Rule:
        """Every DMS event of the Failure category about this replication, published to the alert topic."""
        return alert_on_failure_events(
            self,
            topic=alerts.topic,
            about=self.name,
            description=f"Alerts when the DMS replication {self.name} reports a failure.",
            event_pattern=events.EventPattern(
                source=["aws.dms"],
                resources=[self.arn],
                detail={"category": events.Match.equals_ignore_case("failure")},
            ),
            message=f"DMS replication {self.name}: {events.EventField.from_path('$.detail-type')}: "
            f"{events.EventField.from_path('$.detail.eventType')} "
            f"{events.EventField.from_path('$.detail.detailMessage')}",
        )
