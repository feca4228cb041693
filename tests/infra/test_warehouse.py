"""The warehouse unit: its settings rules, its network needs, the namespace, workgroup, Spectrum role and schema."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from infra.config import ConfigError, WarehouseSettings, load_environment
from infra.constructs.alarms import AlertTarget
from infra.constructs.warehouse import CATALOG_ACTIONS, LOG_EXPORTS, ServerlessWarehouse
from tests.synth import Synthesized

UNIT = "Warehouse"
NAMESPACE = "AWS::RedshiftServerless::Namespace"
WORKGROUP = "AWS::RedshiftServerless::Workgroup"


def _error(block: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_environment({"sandbox": block}, "sandbox")
    message = str(caught.value)
    assert "\n" not in message, "a configuration error is one line"
    return message


def _only(synth: Synthesized, kind: str) -> dict[str, Any]:
    found = list(synth.template(UNIT).find_resources(kind).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return dict(found[0])


def _statements(synth: Synthesized, logical_prefix: str) -> list[dict[str, Any]]:
    policies = synth.template(UNIT).find_resources("AWS::IAM::ManagedPolicy")
    found = [p for logical_id, p in policies.items() if logical_id.startswith(logical_prefix)]
    assert len(found) == 1, f"expected one managed policy {logical_prefix}*"
    return list(found[0]["Properties"]["PolicyDocument"]["Statement"])


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _lake_key(env: str) -> object:
    return {
        "Fn::GetStackOutput": Match.object_like(
            {"StackName": f"MlDataLake-{env}-Core", "OutputName": Match.string_like_regexp("LakeKey.*Arn")}
        )
    }


# --- Settings ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("warehouse", "expected"),
    [
        (
            {"base_capacity_rpu": 12},
            "environments.sandbox.warehouse.base_capacity_rpu: got 12; Redshift Serverless takes 4, or 8 to 1024 RPUs "
            "in steps of 8",
        ),
        (
            {"base_capacity_rpu": 16, "max_capacity_rpu": 8},
            "environments.sandbox.warehouse.max_capacity_rpu = 8: must be a multiple of 8 and at least "
            "base_capacity_rpu (16)",
        ),
        (
            {"admin_username": "Admin"},
            "environments.sandbox.warehouse.admin_username: got 'Admin'; a user name has 1 to 63 lower-case letters",
        ),
        ({"admin_username": "rdsdb"}, "environments.sandbox.warehouse.admin_username: got 'rdsdb'; Redshift keeps"),
        (
            {"database_name": "2024"},
            "environments.sandbox.warehouse.database_name: got '2024'; a database name has 1 to 63",
        ),
        (
            {"external_schema": "lake; drop"},
            "environments.sandbox.warehouse.external_schema: got 'lake; drop'; a schema name has",
        ),
        (
            {"daily_rpu_hours_alarm": 0},
            "environments.sandbox.warehouse.daily_rpu_hours_alarm = 0: input should be greater than 0",
        ),
    ],
)
def test_each_warehouse_setting_is_checked_in_one_line(warehouse: dict[str, Any], expected: str) -> None:
    assert _error({"warehouse": warehouse}).startswith(expected)


def test_the_warehouse_needs_three_named_zones() -> None:
    message = _error({"warehouse": {"enabled": True}, "network": {"availability_zones": ["eu-west-1a", "eu-west-1b"]}})
    assert message == (
        "environments.sandbox.network.availability_zones = ['eu-west-1a', 'eu-west-1b']: name three zones when "
        "warehouse.enabled: Redshift Serverless needs subnets in three availability zones"
    )


def test_the_vpc_spans_three_zones_only_with_the_warehouse() -> None:
    assert load_environment({"sandbox": {}}, "sandbox").availability_zone_count == 2
    on = load_environment({"sandbox": {"warehouse": {"enabled": True}}}, "sandbox")
    assert on.availability_zone_count == 3
    assert on.warehouse.base_capacity_rpu == 8
    assert load_environment({"sandbox": {}}, "sandbox").warehouse.enabled is False


# --- The network the warehouse needs -------------------------------------------------------------------------------


def _glue_endpoints(synth: Synthesized) -> list[dict[str, Any]]:
    endpoints = synth.template("Network").find_resources("AWS::EC2::VPCEndpoint").values()
    return [e for e in endpoints if "glue" in json.dumps(e["Properties"]["ServiceName"])]


def test_sandbox_has_no_warehouse_no_glue_endpoint_and_two_zones(sandbox: Synthesized) -> None:
    assert UNIT not in sandbox.templates
    assert _glue_endpoints(sandbox) == []
    assert len(sandbox.lake.network.vpc.isolated_subnets) == 2


def test_prod_spans_three_zones_and_its_glue_endpoint_names_the_warehouse(prod: Synthesized) -> None:
    # prod is environment-agnostic: CloudFormation picks the three zones (Fn::GetAZs) at deploy time
    subnets = prod.template("Network").find_resources("AWS::EC2::Subnet").values()
    zones = [s["Properties"]["AvailabilityZone"] for s in subnets]
    assert zones == [{"Fn::Select": [index, {"Fn::GetAZs": ""}]} for index in range(3)]
    [glue] = _glue_endpoints(prod)
    tags = {tag["Key"]: tag["Value"] for tag in glue["Properties"].get("Tags", [])}
    assert "warehouse: Spectrum reads the catalog" in glue["Metadata"]["workload"]
    assert "warehouse: Spectrum reads the catalog" in tags.get("Workload", "")


def test_the_variant_names_its_three_zones(variant: Synthesized) -> None:
    subnets = variant.template("Network").find_resources("AWS::EC2::Subnet").values()
    assert sorted(s["Properties"]["AvailabilityZone"] for s in subnets) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert len(_glue_endpoints(variant)) == 1


# --- Namespace and workgroup ---------------------------------------------------------------------------------------


def test_the_namespace_is_encrypted_logged_and_keeps_its_data_in_prod(prod: Synthesized) -> None:
    namespace = _only(prod, NAMESPACE)
    assert namespace["DeletionPolicy"] == "Retain"
    assert namespace["UpdateReplacePolicy"] == "Retain"
    prod.template(UNIT).has_resource_properties(
        NAMESPACE,
        {
            "NamespaceName": "ml-data-lake-prod",
            "DbName": "warehouse",
            "AdminUsername": "lake_admin",
            "ManageAdminPassword": True,
            "AdminPasswordSecretKmsKeyId": _lake_key("prod"),
            "KmsKeyId": _lake_key("prod"),
            "LogExports": list(LOG_EXPORTS),
            "DefaultIamRoleArn": {"Fn::GetAtt": [Match.string_like_regexp("^SpectrumRole"), "Arn"]},
            "IamRoles": [{"Fn::GetAtt": [Match.string_like_regexp("^SpectrumRole"), "Arn"]}],
        },
    )
    assert "AdminUserPassword" not in namespace["Properties"]


def test_the_audit_logs_go_to_encrypted_groups_named_as_redshift_names_them(prod: Synthesized) -> None:
    groups = prod.template(UNIT).find_resources("AWS::Logs::LogGroup")
    audit = {
        g["Properties"]["LogGroupName"]: (logical_id, g)
        for logical_id, g in groups.items()
        if "/aws/redshift/" in g["Properties"]["LogGroupName"]
    }
    assert set(audit) == {f"/aws/redshift/ml-data-lake-prod/{log}" for log in LOG_EXPORTS}
    for _, group in audit.values():
        assert group["Properties"]["KmsKeyId"] == _lake_key_arn(prod)
        assert group["Properties"]["RetentionInDays"] == 365
        assert group["DeletionPolicy"] == "Retain"
    # The namespace waits for its groups, so Redshift writes into them rather than creating unencrypted ones
    namespace = _only(prod, NAMESPACE)
    assert set(namespace["DependsOn"]) == {logical_id for logical_id, _ in audit.values()}


def _lake_key_arn(synth: Synthesized) -> Any:
    return _only(synth, NAMESPACE)["Properties"]["KmsKeyId"]


@pytest.mark.parametrize(("env", "base", "cap"), [("prod", 8, 64), ("variant", 16, None)])
def test_the_workgroup_is_private_tls_only_in_three_subnets_with_enhanced_vpc_routing(
    synthesized: dict[str, Synthesized], variant: Synthesized, env: str, base: int, cap: int | None
) -> None:
    synth = variant if env == "variant" else synthesized[env]
    properties = _only(synth, WORKGROUP)["Properties"]
    assert properties["PubliclyAccessible"] is False
    assert properties["EnhancedVpcRouting"] is True
    assert len(properties["SubnetIds"]) == 3
    assert properties["Port"] == 5439
    assert properties["BaseCapacity"] == base
    assert properties.get("MaxCapacity") == cap
    assert {p["ParameterKey"]: p["ParameterValue"] for p in properties["ConfigParameters"]} == {
        "require_ssl": "true",
        "enable_user_activity_logging": "true",
    }
    [(group_id, group)] = synth.template(UNIT).find_resources("AWS::EC2::SecurityGroup").items()
    assert properties["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]
    assert [
        (r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in group["Properties"]["SecurityGroupIngress"]
    ] == [("tcp", 5439, 5439, "10.0.0.0/16")]
    assert [(r["FromPort"], r["ToPort"]) for r in group["Properties"]["SecurityGroupEgress"]] == [(443, 443)]


# --- Roles ---------------------------------------------------------------------------------------------------------


def test_the_spectrum_role_reads_the_published_curated_folders_the_catalog_database_and_decrypts_via_s3_or_glue(
    prod: Synthesized,
) -> None:
    [role] = [
        r
        for logical_id, r in prod.template(UNIT).find_resources("AWS::IAM::Role").items()
        if logical_id.startswith("SpectrumRole")
    ]
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "redshift.amazonaws.com"}
    statements = _statements(prod, "SpectrumRolePolicy")
    by_action = {tuple(_actions(s)): s for s in statements}
    assert set(by_action) == {
        ("s3:GetObject",),
        ("s3:ListBucket",),
        ("s3:GetBucketLocation",),
        tuple(sorted(CATALOG_ACTIONS)),
        ("kms:Decrypt",),
    }
    objects = json.dumps(by_action[("s3:GetObject",)]["Resource"])
    assert "/events/*" in objects
    assert "/analytics/*" in objects
    assert "quarantine" not in objects
    assert by_action[("s3:ListBucket",)]["Condition"] == {"StringLike": {"s3:prefix": ["events/*", "analytics/*"]}}
    catalog = json.dumps(by_action[tuple(sorted(CATALOG_ACTIONS))]["Resource"])
    assert ":catalog" in catalog
    assert ":table/" in catalog
    decrypt = by_action[("kms:Decrypt",)]
    assert decrypt["Resource"] == _only(prod, NAMESPACE)["Properties"]["KmsKeyId"]
    services = [part["Fn::Join"][1][0] for part in decrypt["Condition"]["StringEquals"]["kms:ViaService"]]
    assert services == ["s3.", "glue."]


def test_the_schema_handlers_run_statements_on_this_workgroup_only_as_its_admin(prod: Synthesized) -> None:
    statements = _statements(prod, "ExternalSchemaHandlerRolePolicy")
    by_action = {tuple(_actions(s)): s for s in statements if s["Effect"] == "Allow"}
    wanted = {
        ("redshift-data:BatchExecuteStatement",),
        ("redshift-serverless:GetNamespace",),
        ("secretsmanager:GetSecretValue",),
        ("kms:Decrypt",),
        ("redshift-data:DescribeStatement",),
    }
    assert set(by_action) == wanted
    workgroup_id = next(iter(prod.template(UNIT).find_resources(WORKGROUP)))
    namespace_id = next(iter(prod.template(UNIT).find_resources(NAMESPACE)))
    assert by_action[("redshift-data:BatchExecuteStatement",)]["Resource"] == {
        "Fn::GetAtt": [workgroup_id, "Workgroup.WorkgroupArn"]
    }
    assert by_action[("redshift-serverless:GetNamespace",)]["Resource"] == {
        "Fn::GetAtt": [namespace_id, "Namespace.NamespaceArn"]
    }
    assert "redshift!" in json.dumps(by_action[("secretsmanager:GetSecretValue",)]["Resource"])
    assert by_action[("kms:Decrypt",)]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {"Fn::Join": ["", ["secretsmanager.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
        }
    }
    assert by_action[("redshift-data:DescribeStatement",)]["Resource"] == "*"


# --- The external schema -------------------------------------------------------------------------------------------


def test_the_external_schema_maps_the_lake_database_with_the_spectrum_role(prod: Synthesized) -> None:
    resource = _only(prod, "Custom::SpectrumSchema")
    properties = resource["Properties"]
    assert properties["Schema"] == "lake"
    assert properties["Database"] == "warehouse"
    assert properties["WorkgroupName"] == {"Ref": next(iter(prod.template(UNIT).find_resources(WORKGROUP)))}
    assert properties["CatalogDatabase"]["Fn::GetStackOutput"]["OutputName"].startswith(
        "PublishOutputRefCatalogDatabase"
    )
    assert properties["RoleArn"]["Fn::GetAtt"][0].startswith("SpectrumRole")
    # It runs once the handlers may act
    assert any(d.startswith("ExternalSchemaHandlerRolePolicy") for d in resource["DependsOn"])
    waiter = _only(prod, "AWS::StepFunctions::StateMachine")["Properties"]
    assert waiter["LoggingConfiguration"]["Level"] == "ALL"


def test_prod_alarms_on_the_schema_provider_and_a_days_compute(prod: Synthesized, variant: Synthesized) -> None:
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in prod.template(UNIT).find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {"ml-data-lake-prod-warehouse-daily-compute", "ml-data-lake-prod-warehouse-schema-errors"}
    compute = alarms["ml-data-lake-prod-warehouse-daily-compute"]
    assert (compute["Namespace"], compute["MetricName"], compute["Statistic"]) == (
        "AWS/Redshift-Serverless",
        "ComputeSeconds",
        "Sum",
    )
    assert compute["Period"] == 86400
    assert compute["Threshold"] == 24 * 3600
    assert compute["Dimensions"] == [{"Name": "Workgroup", "Value": "ml-data-lake-prod"}]
    # The variant sets its own budget
    budget = [
        a["Properties"]["Threshold"]
        for a in variant.template(UNIT).find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == "ml-data-lake-variant-warehouse-daily-compute"
    ]
    assert budget == [48 * 3600]


def test_without_a_budget_there_is_no_compute_alarm() -> None:
    # Given the warehouse construct with daily_rpu_hours_alarm null, in a throwaway stack
    stack = cdk.Stack(cdk.App(), "Throwaway")
    warehouse = ServerlessWarehouse(
        stack,
        "Warehouse",
        name="ml-data-lake-test",
        settings=WarehouseSettings(daily_rpu_hours_alarm=None),
        vpc=ec2.Vpc(
            stack,
            "Vpc",
            subnet_configuration=[ec2.SubnetConfiguration(name="I", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        ),
        key=kms.Key(stack, "Key"),
        default_role=iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("redshift.amazonaws.com")),
        alerts=AlertTarget(topic=sns.Topic(stack, "Topic"), name_prefix="ml-data-lake-test"),
        log_retention_days=7,
        removal=cdk.RemovalPolicy.DESTROY,
    )
    # Then the warehouse is there and no alarm watches its compute
    assert warehouse.compute_alarm is None
    template = Template.from_stack(stack)
    template.resource_count_is(WORKGROUP, 1)
    template.resource_count_is("AWS::CloudWatch::Alarm", 0)
    assert _only_namespace(template)["DeletionPolicy"] == "Delete"


def _only_namespace(template: Template) -> dict[str, Any]:
    [namespace] = template.find_resources(NAMESPACE).values()
    return dict(namespace)
