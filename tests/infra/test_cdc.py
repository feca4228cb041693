"""The change-data-capture unit: its settings, its source database, the DMS replication, roles and network.

Only the variant environment turns the unit on (with the RDS source it creates); sandbox and prod leave it off.
"""

from __future__ import annotations

import json
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match

from infra.config import ConfigError, load_environment
from infra.constructs.alarms import AlertTarget
from infra.constructs.cdc_replication import COMMIT_TS_COLUMN
from infra.nag import deferred_acknowledgments
from infra.stacks.cdc import CdcStack
from tests.synth import Synthesized

UNIT = "Cdc"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:orders-db-AbCdEf"  # noqa: S105 - an ARN


def _lake_key() -> object:
    return {
        "Fn::GetStackOutput": Match.object_like(
            {"StackName": "MlDataLake-variant-Core", "OutputName": Match.string_like_regexp("LakeKey.*Arn")}
        )
    }


def _raw_zone_arn() -> object:
    return {
        "Fn::GetStackOutput": Match.object_like(
            {"StackName": "MlDataLake-variant-Storage", "OutputName": Match.string_like_regexp("RawZone.*Arn")}
        )
    }


def _only(synth: Synthesized, kind: str) -> tuple[str, dict[str, Any]]:
    found = synth.template(UNIT).find_resources(kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    logical_id, resource = next(iter(found.items()))
    return logical_id, dict(resource["Properties"])


def _policy_of(synth: Synthesized, role_part: str) -> list[dict[str, Any]]:
    policies = synth.template(UNIT).find_resources("AWS::IAM::ManagedPolicy")
    (policy,) = [p for logical_id, p in policies.items() if logical_id.startswith(f"Replication{role_part}Policy")]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


# --- Settings ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cdc", "message"),
    [
        ({"min_capacity_units": 3}, "environments.x.cdc.min_capacity_units: got 3; DMS Serverless accepts 1, 2, 4"),
        (
            {"min_capacity_units": 4, "max_capacity_units": 2},
            "environments.x.cdc.max_capacity_units = 2: must not be below min_capacity_units (4)",
        ),
        ({"source": "existing"}, "environments.x.cdc.existing = null: give host, port, database_name and secret_arn"),
        (
            {"existing": {"host": "db.example.com", "database_name": "orders", "secret_arn": SECRET_ARN}},
            "environments.x.cdc.existing = '{...}': must be null when source is 'create'",
        ),
        (
            {
                "source": "existing",
                "existing": {"host": "db.example.com", "database_name": "orders", "secret_arn": "hunter2"},
            },
            "environments.x.cdc.existing.secret_arn: got 'hunter2'; give a Secrets Manager secret ARN",
        ),
        (
            {"source": "existing", "existing": {"host": "https://db", "database_name": "o", "secret_arn": SECRET_ARN}},
            "environments.x.cdc.existing.host: got 'https://db'; give the database's DNS name",
        ),
        ({"created": {"instance_class": "t4g.micro"}}, "environments.x.cdc.created.instance_class: got 't4g.micro'"),
        ({"created": {"engine_version": "12"}}, "environments.x.cdc.created.engine_version = '12'"),
        ({"current_state_schedule": "rate(1 day)"}, "environments.x.cdc.current_state_schedule: got 'rate(1 day)'"),
        ({"tables": [{"schema_name": "pub lic"}]}, "environments.x.cdc.tables.0.schema_name: got 'pub lic'"),
        ({"tables": [{"schema_name": "s", "primary_key": []}]}, "environments.x.cdc.tables.0.primary_key: got []"),
        ({"tables": []}, "environments.x.cdc.tables = []: list at least one table rule"),
        ({"enable": True}, "environments.x.cdc.enable: unknown setting (a typo?); did you mean 'enabled'?"),
    ],
)
def test_a_bad_cdc_setting_is_one_line_naming_it(cdc: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_environment({"x": {"cdc": cdc}}, "x")
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)


def test_an_existing_source_is_accepted_with_its_secret_and_the_unit_is_off_by_default() -> None:
    existing = {"host": "orders.abc.eu-west-1.rds.amazonaws.com", "database_name": "orders", "secret_arn": SECRET_ARN}
    settings = load_environment({"x": {"cdc": {"enabled": True, "source": "existing", "existing": existing}}}, "x")
    assert settings.cdc.database_name == "orders"
    assert settings.cdc.existing is not None
    assert settings.cdc.existing.port == 5432
    assert load_environment({"x": {}}, "x").cdc.enabled is False


# --- Off: sandbox and prod ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["sandbox", "prod"])
def test_off_there_is_no_cdc_stack_and_no_secrets_manager_endpoint(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    assert synth.lake.cdc is None
    assert UNIT not in synth.templates
    endpoints = synth.template("Network").find_resources("AWS::EC2::VPCEndpoint")
    assert not [e for e in endpoints.values() if "secretsmanager" in json.dumps(e["Properties"]["ServiceName"])]


# --- On: the variant ---------------------------------------------------------------------------------------------


def test_the_stack_comes_after_analytics_and_before_monitoring(variant: Synthesized) -> None:
    units = [stack.stack_name.rsplit("-", 1)[-1] for stack in variant.lake.stacks]
    assert units.index("Analytics") < units.index(UNIT) == len(units) - 2
    assert units[-1] == "Monitoring"


def test_the_secrets_manager_endpoint_names_the_cdc_workload(variant: Synthesized) -> None:
    endpoints = variant.template("Network").find_resources("AWS::EC2::VPCEndpoint")
    (secrets,) = [e for e in endpoints.values() if "secretsmanager" in json.dumps(e["Properties"]["ServiceName"])]
    assert len(secrets["Properties"]["SubnetIds"]) == 1
    assert "cdc: DMS reads the source credentials" in secrets["Metadata"]["workload"]


def test_the_source_is_private_encrypted_with_the_lake_key_and_replicates_logically(variant: Synthesized) -> None:
    template = variant.template(UNIT)
    template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "Engine": "postgres",
            "StorageEncrypted": True,
            "KmsKeyId": _lake_key(),
            "PubliclyAccessible": False,
            "EnableIAMDatabaseAuthentication": True,
            "DeletionProtection": True,  # the variant retains its data
            "BackupRetentionPeriod": 7,
            "EnableCloudwatchLogsExports": ["postgresql", "upgrade"],
            "MasterUsername": "cdc_admin",
            "MasterUserPassword": Match.object_like({"Fn::Join": Match.any_value()}),
        },
    )
    template.has_resource_properties(
        "AWS::RDS::DBParameterGroup",
        {"Parameters": {"rds.logical_replication": "1", "rds.force_ssl": "1"}},
    )
    template.has_resource_properties("AWS::SecretsManager::Secret", {"KmsKeyId": _lake_key()})
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/aws/rds/instance/ml-data-lake-variant-cdc-source/postgresql"}
    )


def test_the_endpoints_read_postgresql_through_the_secret_and_write_parquet_under_cdc(variant: Synthesized) -> None:
    template = variant.template(UNIT)
    template.has_resource_properties(
        "AWS::DMS::Endpoint",
        {
            "EndpointType": "source",
            "EngineName": "postgres",
            "SslMode": "require",
            "PostgreSqlSettings": {
                "SecretsManagerSecretId": Match.any_value(),
                "SecretsManagerAccessRoleArn": {
                    "Fn::GetAtt": [Match.string_like_regexp("ReplicationSecretRole"), "Arn"]
                },
                "PluginName": "test-decoding",
                "HeartbeatEnable": True,
            },
        },
    )
    template.has_resource_properties(
        "AWS::DMS::Endpoint",
        {
            "EndpointType": "target",
            "EngineName": "s3",
            "S3Settings": Match.object_like(
                {
                    "BucketFolder": "cdc",
                    "DataFormat": "parquet",
                    "ParquetVersion": "parquet-2-0",
                    "EncryptionMode": "SSE_KMS",
                    "ServerSideEncryptionKmsKeyId": _lake_key(),
                    "TimestampColumnName": COMMIT_TS_COLUMN,
                    "IncludeOpForFullLoad": True,
                    "ServiceAccessRoleArn": {"Fn::GetAtt": [Match.string_like_regexp("ReplicationTargetRole"), "Arn"]},
                }
            ),
        },
    )


def test_the_replication_is_full_load_and_cdc_serverless_in_the_vpc(variant: Synthesized) -> None:
    _, config = _only(variant, "AWS::DMS::ReplicationConfig")
    assert config["ReplicationType"] == "full-load-and-cdc"
    assert config["ReplicationConfigIdentifier"] == "ml-data-lake-variant-cdc"
    compute = config["ComputeConfig"]
    assert (compute["MinCapacityUnits"], compute["MaxCapacityUnits"], compute["MultiAZ"]) == (1, 2, False)
    assert compute["ReplicationSubnetGroupId"]["Ref"].startswith("ReplicationSubnetGroup")
    ((group, attribute),) = [g["Fn::GetAtt"] for g in compute["VpcSecurityGroupIds"]]
    assert group.startswith("ReplicationSecurityGroup")
    assert attribute == "GroupId"
    assert config["TableMappings"]["rules"] == [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "include-1",
            "object-locator": {"schema-name": "public", "table-name": "%"},
            "rule-action": "include",
        },
        {
            "rule-type": "selection",
            "rule-id": "2",
            "rule-name": "exclude-dms-artifacts",
            "object-locator": {"schema-name": "%", "table-name": "awsdms_%"},
            "rule-action": "exclude",
        },
    ]
    _, subnets = _only(variant, "AWS::DMS::ReplicationSubnetGroup")
    # every isolated subnet of the VPC, one per zone
    assert len(subnets["SubnetIds"]) == len(variant.settings.network.availability_zones or ())
    # Nothing starts it: there is no custom resource or task that would begin billing at deploy time
    assert variant.template(UNIT).find_resources("AWS::DMS::ReplicationTask") == {}
    assert not [t for t in variant.json(UNIT)["Resources"].values() if t["Type"].startswith("Custom::")]


def test_the_target_role_writes_only_under_cdc_with_the_lake_key(variant: Synthesized) -> None:
    statements = _policy_of(variant, "TargetRole")
    assert [s["Action"] for s in statements] == [
        ["s3:DeleteObject", "s3:PutObject", "s3:PutObjectTagging"],
        "s3:ListBucket",
        "s3:GetBucketLocation",
        ["kms:Decrypt", "kms:GenerateDataKey"],
    ]
    objects = statements[0]["Resource"]["Fn::Join"][1]
    assert objects[1] == "/cdc/*"
    assert "RawZone" in json.dumps(objects[0])
    assert statements[1]["Condition"] == {"StringLike": {"s3:prefix": ["cdc/*", "cdc"]}}
    assert "LakeKey" in json.dumps(statements[3]["Resource"])


def test_the_secret_role_reads_the_one_secret_and_trusts_dms_for_this_account(variant: Synthesized) -> None:
    statements = _policy_of(variant, "SecretRole")
    assert [s["Action"] for s in statements] == [
        ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        "kms:Decrypt",
    ]
    assert statements[0]["Resource"]["Ref"].startswith("SourceInstanceSecret")
    roles = variant.template(UNIT).find_resources("AWS::IAM::Role")
    (trust,) = [
        r["Properties"]["AssumeRolePolicyDocument"] for k, r in roles.items() if k.startswith("ReplicationSecretRole")
    ]
    (statement,) = trust["Statement"]
    assert sorted(statement["Principal"]["Service"]) == ["dms.amazonaws.com", "dms.eu-west-1.amazonaws.com"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


def test_only_the_replication_reaches_the_source(variant: Synthesized) -> None:
    (ingress,) = variant.template(UNIT).find_resources("AWS::EC2::SecurityGroupIngress").values()
    assert (ingress["Properties"]["FromPort"], ingress["Properties"]["ToPort"]) == (5432, 5432)
    assert "ReplicationSecurityGroup" in json.dumps(ingress["Properties"]["SourceSecurityGroupId"])


def test_the_account_roles_are_created_only_when_asked_with_the_policy_dms_expects(variant: Synthesized) -> None:
    # Given the variant, which asks for them (cdc.create_account_roles)
    roles = variant.template(UNIT).find_resources("AWS::IAM::Role")
    named = {r["Properties"]["RoleName"]: r["Properties"] for r in roles.values() if "RoleName" in r["Properties"]}
    # Then each is named as DMS looks it up and carries its AWS-managed policy, and the subnet group waits for them
    assert sorted(named) == ["dms-cloudwatch-logs-role", "dms-vpc-role"]
    assert "AmazonDMSVPCManagementRole" in json.dumps(named["dms-vpc-role"]["ManagedPolicyArns"])
    assert "AmazonDMSCloudWatchLogsRole" in json.dumps(named["dms-cloudwatch-logs-role"]["ManagedPolicyArns"])
    (subnet_group,) = variant.template(UNIT).find_resources("AWS::DMS::ReplicationSubnetGroup").values()
    assert any(d.startswith("ReplicationDmsVpcRole") for d in subnet_group["DependsOn"])
    # And the default leaves them alone (they are account-wide and often exist)
    assert load_environment({"x": {"cdc": {"enabled": True}}}, "x").cdc.create_account_roles is False


def test_failures_of_the_replication_and_the_job_alert(variant: Synthesized) -> None:
    rules = [
        r["Properties"]["EventPattern"] for r in variant.template(UNIT).find_resources("AWS::Events::Rule").values()
    ]
    dms = [p for p in rules if p["source"] == ["aws.dms"]]
    assert len(dms) == 1
    assert dms[0]["detail"] == {"category": [{"equals-ignore-case": "failure"}]}
    assert [p["detail"]["jobName"] for p in rules if p["source"] == ["aws.glue"]] == [
        ["ml-data-lake-variant-cdc-current-state"]
    ]


def test_the_current_state_job_runs_on_its_own_trigger_never_in_the_workflow(variant: Synthesized) -> None:
    template = variant.template(UNIT)
    template.has_resource_properties(
        "AWS::Glue::Trigger",
        {
            "Type": "SCHEDULED",
            "Schedule": "cron(0 4 * * ? *)",
            "Actions": [{"JobName": "ml-data-lake-variant-cdc-current-state"}],
        },
    )
    _, job = _only(variant, "AWS::Glue::Job")
    arguments = job["DefaultArguments"]
    assert json.loads(arguments["--table_keys"]) == [{"schema": "public", "table": "%", "key": ["id"]}]
    assert arguments["--enable-glue-datacatalog"] == "true"
    assert "cdc-current-state" not in json.dumps(variant.json("Processing"))


def test_the_vpc_and_the_raw_zone_admit_what_dms_writes(variant: Synthesized) -> None:
    # Given the S3 gateway endpoint's policy, and the raw zone's policy that refuses uploads naming another key
    endpoint = variant.json("Network")["Resources"]
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in endpoint.values()
        if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"].get("VpcEndpointType") == "Gateway"
    ]
    (lake,) = [s for s in policy["Statement"] if s.get("Sid") == "AllowTheLakeBuckets"]
    # Then the VPC may put, tag, delete and list objects of the raw zone, as the target role does
    assert {"s3:PutObject*", "s3:DeleteObject*", "s3:ListBucket*"} <= set(lake["Action"])
    assert "arn:aws:s3:::ml-data-lake-variant-raw-111111111111-eu-west-1-an/*" in json.dumps(lake["Resource"])
    # And DMS names the lake key by ARN, the one key the raw zone's policy accepts
    buckets = variant.json("Storage")["Resources"]
    denies = [
        s
        for r in buckets.values()
        if r["Type"] == "AWS::S3::BucketPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "DenyUploadsAskingForAnotherKmsKey"
    ]
    assert denies
    assert all("LakeKey" in json.dumps(s["Condition"]) for s in denies)
    _, target = next(
        (k, r["Properties"])
        for k, r in variant.template(UNIT).find_resources("AWS::DMS::Endpoint").items()
        if r["Properties"]["EndpointType"] == "target"
    )
    assert "LakeKey" in json.dumps(target["S3Settings"]["ServerSideEncryptionKmsKeyId"])


def test_an_existing_source_creates_no_database_and_reads_only_its_secret() -> None:
    # Given settings that point the unit at an existing database, whose secret a customer-managed key encrypts
    key_arn = "arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555"
    existing = {
        "host": "orders.abc.eu-west-1.rds.amazonaws.com",
        "port": 6432,
        "database_name": "orders",
        "secret_arn": SECRET_ARN,
        "secret_key_arn": key_arn,
    }
    settings = load_environment({"x": {"cdc": {"enabled": True, "source": "existing", "existing": existing}}}, "x")
    # When the stack is built on its own, next to a stand-in of the lake's shared resources
    stack = _standalone(settings, cdk.RemovalPolicy.DESTROY)
    # Then (read from the constructs, without synthesizing the app) there is no database or secret of ours; DMS reads
    # the given secret, decrypts it with its key, and goes out on the database's port
    assert stack.source is None
    kinds = {type(c).__name__ for c in stack.node.find_all()}
    assert not {"DatabaseInstance", "DatabaseSecret", "Secret"} & kinds
    replication = stack.replication
    source = stack.resolve(replication.source_endpoint.postgre_sql_settings)
    assert source["secretsManagerSecretId"] == SECRET_ARN
    assert replication.source_endpoint.database_name == "orders"
    statements = stack.resolve(replication.secret_role.policy.document.to_json())["Statement"]
    assert [
        (sorted(s["Action"]) if isinstance(s["Action"], list) else s["Action"], s["Resource"]) for s in statements
    ] == [
        (["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], SECRET_ARN),
        ("kms:Decrypt", key_arn),
    ]
    group = cast(ec2.CfnSecurityGroup, replication.security_group.node.default_child)
    egress = stack.resolve(group.security_group_egress)
    assert {(rule["fromPort"], rule["toPort"]) for rule in egress} == {(6432, 6432), (443, 443)}


def test_the_source_database_keeps_its_logical_id_and_a_final_snapshot(variant: Synthesized) -> None:
    # A refactor that renames the construct would replace the database: its logical ID is pinned here
    (logical_id,) = variant.template(UNIT).find_resources("AWS::RDS::DBInstance")
    assert logical_id == "SourceInstance92429C9D"
    # And an environment that retains data (the variant says nothing about removal) snapshots it on deletion
    resource = variant.json(UNIT)["Resources"][logical_id]
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")


def _standalone(settings: Any, removal: cdk.RemovalPolicy) -> CdcStack:
    """The CDC stack built on its own, next to a stand-in of the lake's shared resources (no synthesis)."""
    app = cdk.App()
    shared = cdk.Stack(app, "Shared")
    vpc = ec2.Vpc(
        shared,
        "Vpc",
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    return CdcStack(
        app,
        "Cdc",
        settings=settings,
        lake_key=kms.Key(shared, "Key"),
        vpc=vpc,
        raw_zone=s3.Bucket(shared, "Raw"),
        curated_zone=s3.Bucket(shared, "Curated"),
        database=glue.Database(shared, "Database"),
        alerts=AlertTarget(topic=sns.Topic(shared, "Topic"), name_prefix=settings.resource_prefix),
        removal=removal,
    )


def test_a_source_the_environment_destroys_has_no_deletion_protection_and_says_why() -> None:
    # Given a sandbox-like environment (data destroyed with the stacks) that creates its CDC source
    block = {"removal_policy": "destroy", "termination_protection": False, "cdc": {"enabled": True}}
    settings = load_environment({"x": block}, "x")
    # When the stack is built (the acknowledgments recorded as the security gate records them)
    with deferred_acknowledgments() as pending:
        stack = _standalone(settings, cdk.RemovalPolicy.DESTROY)
    assert stack.source is not None
    instance = cast(cdk.CfnResource, stack.source.instance.node.default_child)
    # Then the database goes with the stack, and each tool's deletion-protection finding is acknowledged on it
    assert stack.resolve(cast(Any, instance).deletion_protection) is False
    assert instance.cfn_options.deletion_policy == cdk.CfnDeletionPolicy.DELETE
    nag = {p.rule_id for p in pending if p.construct is stack.source.instance}
    assert {
        "AwsSolutions-RDS10",
        "HIPAA.Security-RDSInstanceDeletionProtectionEnabled",
        "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
    } <= nag
    assert "CT.RDS.PR.13" in json.dumps(instance.get_metadata("guard"))
