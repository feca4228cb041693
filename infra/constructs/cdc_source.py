"""The CDC unit's sandbox source: a small RDS for PostgreSQL instance with logical replication on, in the lake's VPC."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.checkov import skip_check
from infra.config.cdc import CreatedSource
from infra.constructs.log_group import encrypted_log_group
from infra.guard import acknowledge_control, acknowledge_key_from_another_stack
from infra.nag import acknowledge
from infra.workload import serves

# The newest minor version aws-cdk-lib names for each major one (cfn-lint's W3691 counts a major-only version such
# as "16" as one that cannot create new instances); minor upgrades are then applied by RDS in the maintenance window.
POSTGRES_VERSIONS = {
    "14": rds.PostgresEngineVersion.VER_14_22,
    "15": rds.PostgresEngineVersion.VER_15_17,
    "16": rds.PostgresEngineVersion.VER_16_13,
    "17": rds.PostgresEngineVersion.VER_17_9,
}
# What RDS for PostgreSQL exports to CloudWatch Logs: the server log and the major-version upgrade log.
LOG_EXPORTS = ("postgresql", "upgrade")
PORT = 5432
MASTER_USER = "cdc_admin"


class CdcSource(Construct):
    """An encrypted, private RDS for PostgreSQL instance whose changes DMS can read (`rds.logical_replication` = 1).

    `rds.logical_replication` is a static parameter: it is set before the instance is first created here, so no
    reboot is needed; an instance created before the parameter group was attached needs one (docs/cdc.md).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        identifier: str,
        settings: CreatedSource,
        vpc: ec2.IVpc,
        key: kms.IKey,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        serves(self, "cdc: sandbox PostgreSQL source")
        engine = rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSIONS[settings.engine_version])
        self.parameter_group = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            description="Logical replication for DMS change data capture; TLS only.",
            parameters={"rds.logical_replication": "1", "rds.force_ssl": "1"},
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="CDC source database: PostgreSQL from the DMS replication only.",
            allow_all_outbound=False,
        )
        # RDS names the exported log groups after the instance; created here, they are encrypted and expire.
        self.log_groups = [
            encrypted_log_group(
                self,
                f"{log.capitalize()}Log",
                key=key,
                retention_days=log_retention_days,
                removal=removal,
                log_group_name=f"/aws/rds/instance/{identifier}/{log}",
            )
            for log in LOG_EXPORTS
        ]
        self.instance = self._instance(identifier, engine, settings, vpc=vpc, key=key, removal=removal)
        self.instance.node.add_dependency(*self.log_groups)
        secret = self.instance.secret
        if secret is None:  # from_generated_secret always makes one; this keeps the type checker honest
            raise ValueError(f"{self.node.path}: the instance has no generated secret")
        self.secret: secretsmanager.ISecret = secret
        self.port = PORT
        self.database_name = settings.database_name
        self._acknowledge()
        if removal != RemovalPolicy.RETAIN:
            self._acknowledge_no_deletion_protection()
        acknowledge_key_from_another_stack(self.instance, "CT.RDS.PR.30", key=key)

    def _instance(
        self,
        identifier: str,
        engine: rds.IInstanceEngine,
        settings: CreatedSource,
        *,
        vpc: ec2.IVpc,
        key: kms.IKey,
        removal: RemovalPolicy,
    ) -> rds.DatabaseInstance:
        """The instance: isolated subnets, no public access, encrypted storage, backups, IAM auth, logs exported."""
        retain = removal == RemovalPolicy.RETAIN
        return rds.DatabaseInstance(
            self,
            "Instance",
            instance_identifier=identifier,
            engine=engine,
            instance_type=ec2.InstanceType(settings.instance_class.removeprefix("db.")),
            allocated_storage=settings.allocated_storage_gb,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            storage_encryption_key=key,
            credentials=rds.Credentials.from_generated_secret(MASTER_USER, encryption_key=key),
            database_name=settings.database_name,
            port=PORT,
            parameter_group=self.parameter_group,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.security_group],
            publicly_accessible=False,
            iam_authentication=True,
            backup_retention=Duration.days(settings.backup_retention_days),
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            cloudwatch_logs_exports=list(LOG_EXPORTS),
            deletion_protection=retain,
            removal_policy=RemovalPolicy.SNAPSHOT if retain else removal,
            multi_az=False,
        )

    def allow_from(self, peer: ec2.ISecurityGroup) -> None:
        """Admit `peer` (the replication's security group) on the PostgreSQL port, and nothing else."""
        self.security_group.add_ingress_rule(peer, ec2.Port.tcp(PORT), "PostgreSQL from the DMS replication")

    def _acknowledge_no_deletion_protection(self) -> None:
        """In an environment whose settings destroy data with the stack, the source database goes with it."""
        reason = (
            "The environment's removal policy destroys data with its stacks (a sandbox), so the CDC source it created "
            "is deleted with the stack; where data is retained, deletion protection is on and a snapshot is kept."
        )
        acknowledge(
            self.instance,
            "AwsSolutions-RDS10",
            "HIPAA.Security-RDSInstanceDeletionProtectionEnabled",
            "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
            reason=reason,
        )
        acknowledge_control(self.instance, "CT.RDS.PR.13", reason=reason)

    def _acknowledge(self) -> None:
        """What the packs ask of a production database that a sandbox CDC source does not need."""
        single_az = (
            "This instance is a sandbox source for change data capture; a standby would double its cost, and a real "
            "source is an existing database (cdc.source = existing) with its own availability."
        )
        no_enhanced_monitoring = (
            "Enhanced monitoring needs a role with an AWS-managed policy and costs CloudWatch Logs ingestion; the "
            "sandbox source exports its server log, and CloudWatch's standard RDS metrics suffice for it."
        )
        default_port = (
            "DMS and PostgreSQL clients expect the standard port 5432; only the replication's security group may "
            "connect, in isolated subnets."
        )
        acknowledge_control(self.instance, "CT.RDS.PR.1", reason=single_az)
        acknowledge_control(self.instance, "CT.RDS.PR.2", reason=no_enhanced_monitoring)
        acknowledge_control(self.instance, "CT.RDS.PR.20", reason=default_port)
        skip_check(self.instance, "CKV_AWS_157", reason=single_az)
        skip_check(self.instance, "CKV_AWS_118", reason=no_enhanced_monitoring)
        acknowledge(
            self.instance,
            "AwsSolutions-RDS3",
            "HIPAA.Security-RDSMultiAZSupport",
            "NIST.800.53.R5-RDSMultiAZSupport",
            reason=single_az,
        )
        acknowledge(
            self.instance,
            "AwsSolutions-RDS11",
            reason=default_port,
        )
        acknowledge(
            self.instance,
            "HIPAA.Security-RDSInBackupPlan",
            "NIST.800.53.R5-RDSInBackupPlan",
            reason="The instance keeps automated backups for cdc.created.backup_retention_days; it is a sandbox source "
            "whose data is replicated to the raw zone, so an AWS Backup plan would copy what the lake already holds.",
        )
        acknowledge(
            self.instance,
            "HIPAA.Security-RDSEnhancedMonitoringEnabled",
            "NIST.800.53.R5-RDSEnhancedMonitoringEnabled",
            reason=no_enhanced_monitoring,
        )
        acknowledge(
            self.instance.node.find_child("Secret"),
            "AwsSolutions-SMG4",
            "HIPAA.Security-SecretsManagerRotationEnabled",
            "NIST.800.53.R5-SecretsManagerRotationEnabled",
            reason="Rotation needs a Lambda function in the VPC with its own endpoint access; the sandbox source's "
            "secret is read only by DMS, and an existing source brings its own rotated secret.",
        )
