"""Security controls found by a policy engine: the key's grants and log groups, role trust, Firehose's reach."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match

from infra.config import ConfigError, load_environment
from infra.constructs.log_group import lake_log_group_patterns
from infra.constructs.managed_policy_role import SERVICE_TRUST, ManagedPolicyRole
from tests.synth import ENVIRONMENTS, Synthesized

# CDK's own custom-resource providers make their roles themselves (not a ManagedPolicyRole).
CDK_PROVIDER_ROLE = "CustomResourceProviderRole"


def _key_statements(synth: Synthesized) -> list[dict[str, Any]]:
    [key] = synth.template("Core").find_resources("AWS::KMS::Key").values()
    return list(key["Properties"]["KeyPolicy"]["Statement"])


def _resources(synth: Synthesized, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (unit, logical_id): resource
        for unit in synth.templates
        for logical_id, resource in synth.template(unit).find_resources(kind).items()
    }


def _text(value: Any) -> str:
    """A template value with its tokens flattened (`Fn::Join` of literals and pseudo parameters) to a pattern."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_text(part) for part in value["Fn::Join"][1])
    return "*"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_key_denies_grants_that_are_not_for_an_aws_resource(synthesized: dict[str, Synthesized], env: str) -> None:
    # Given the lake key's policy, then one statement denies CreateGrant to everyone unless an AWS service asks
    [deny] = [s for s in _key_statements(synthesized[env]) if s.get("Effect") == "Deny"]
    assert deny == {
        "Sid": "DenyGrantsNotForAwsResources",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "kms:CreateGrant",
        "Resource": "*",
        "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cloudwatch_logs_may_use_the_key_only_for_this_environments_log_groups(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    [logs] = [s for s in _key_statements(synth) if s.get("Sid") == "AllowCloudWatchLogsForTheLakeLogGroups"]
    arns = [_text(arn) for arn in logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]]
    names = [arn.split(":log-group:", 1)[1] for arn in arns]
    assert names == list(lake_log_group_patterns(synth.settings.resource_prefix))
    # No pattern admits every log group, nor the other environment's
    other = next(e for e in ENVIRONMENTS if e != env)
    assert not any(fnmatchcase(f"/ml-data-lake-{other}/x", name) for name in names)
    assert not any(name in {"*", "/*"} for name in names)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_log_group_is_named_under_the_patterns_the_key_admits(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    patterns = lake_log_group_patterns(synth.settings.resource_prefix)
    groups = _resources(synth, "AWS::Logs::LogGroup")
    # Lambda, Firehose, flow logs, CloudTrail, the Glue job and the workflow; the anomaly notifier, the analytics
    # Firehose and, where analytics is enabled, the Flink application; where the warehouse is, its three audit logs,
    # its two schema handlers, the provider framework and its waiter; where the video unit is, its two functions'
    warehouse = 7 if synth.settings.warehouse.enabled else 0
    assert len(groups) == 8 + synth.settings.analytics.enabled + warehouse + 2 * synth.settings.video.enabled
    for (unit, logical_id), group in groups.items():
        name = group["Properties"].get("LogGroupName")
        assert isinstance(name, str), f"{unit}/{logical_id} has no literal name"
        assert any(fnmatchcase(name, pattern) for pattern in patterns), f"{name} is outside {patterns}"
        assert env in name
        assert "KmsKeyId" in group["Properties"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_service_role_admits_its_service_only_for_this_account(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    roles = _resources(synthesized[env], "AWS::IAM::Role")
    checked = 0
    for (_unit, logical_id), role in roles.items():
        if CDK_PROVIDER_ROLE in logical_id:
            continue
        [statement] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        service = statement["Principal"]["Service"]
        trust = SERVICE_TRUST[service]
        conditions = statement.get("Condition", {})
        if not (trust.source_account or trust.external_id_is_account or trust.source_arn):
            # A service that sends none of the keys (CloudTrail, Redshift) is trusted without a condition
            assert conditions == {}, logical_id
        if trust.source_account:
            assert conditions["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}, logical_id
        if trust.external_id_is_account:
            assert conditions["StringEquals"] == {"sts:ExternalId": {"Ref": "AWS::AccountId"}}, logical_id
        if trust.source_arn:
            service_name, resource = trust.source_arn.split(":", 1)
            assert _text(conditions["ArnLike"]["aws:SourceArn"]).endswith(f":{service_name}:*:*:{resource}")
        checked += 1
    # Glue (curated crawler, job), Step Functions, EventBridge (2), Lambda, Firehose, flow logs, CloudTrail, SageMaker
    # consumers; the analytics crawler, notifier and Firehose, and where analytics is enabled the Flink application;
    # where the warehouse is, Spectrum's (Redshift), the schema handlers', the provider framework's two and its waiter's;
    # where the video unit is, its two functions' roles and its crawler's
    warehouse = 5 if synthesized[env].settings.warehouse.enabled else 0
    video = 3 * synthesized[env].settings.video.enabled
    assert checked == 13 + synthesized[env].settings.analytics.enabled + warehouse + video


def test_a_role_for_a_service_whose_trust_keys_are_unknown_is_refused() -> None:
    stack = cdk.Stack(cdk.App(), "Throwaway")
    with pytest.raises(ValueError, match="add the service to SERVICE_TRUST"):
        ManagedPolicyRole(stack, "Role", service="ec2.amazonaws.com", description="Unknown to the table.")


def test_the_step_functions_role_names_state_machines_of_this_account_as_its_source() -> None:
    stack = cdk.Stack(cdk.App(), "Throwaway", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    role = ManagedPolicyRole(stack, "Role", service="states.amazonaws.com", description="Runs a workflow.")
    document = stack.resolve(role.assume_role_policy.to_json()) if role.assume_role_policy else {}
    [statement] = document["Statement"]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "111111111111"}
    source = _text(statement["Condition"]["ArnLike"]["aws:SourceArn"])
    assert source == "arn:*:states:eu-west-1:111111111111:stateMachine:*"
    assert isinstance(role, iam.Role)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_firehose_can_write_the_raw_zone_but_never_delete_from_it(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    template = synthesized[env].template("Ingestion")
    [role_id] = [
        logical_id
        for logical_id, role in template.find_resources("AWS::IAM::Role").items()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
        == "firehose.amazonaws.com"
    ]
    [policy] = [
        p
        for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    actions = {
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    s3_actions = {a for a in actions if a.startswith("s3:")}
    assert s3_actions == {
        "s3:AbortMultipartUpload",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:PutObject",
    }
    assert not any("Delete" in action or (action.endswith("*") and action.startswith("s3:")) for action in actions)
    # The delivery stream uses that very role for its S3 destination
    template.has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {"ExtendedS3DestinationConfiguration": {"RoleARN": {"Fn::GetAtt": [role_id, "Arn"]}}},
    )


# --- Network with a purpose --------------------------------------------------------------------------------------


def test_prod_runs_the_job_in_an_isolated_subnet_through_a_glue_connection(prod: Synthesized) -> None:
    processing = prod.template("Processing")
    [(connection_id, connection)] = processing.find_resources("AWS::Glue::Connection").items()
    requirements = connection["Properties"]["ConnectionInput"]["PhysicalConnectionRequirements"]
    assert connection["Properties"]["ConnectionInput"]["ConnectionType"] == "NETWORK"
    assert "Isolated" in requirements["SubnetId"]["Fn::GetStackOutput"]["OutputName"]
    processing.has_resource_properties("AWS::Glue::Job", {"Connections": {"Connections": [{"Ref": connection_id}]}})
    # The workers' security group: each other on any TCP port, HTTPS out, nothing else
    [group_id] = [g["Fn::GetAtt"][0] for g in requirements["SecurityGroupIdList"]]
    group = processing.find_resources("AWS::EC2::SecurityGroup")[group_id]["Properties"]
    assert [(e["CidrIp"], e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in group["SecurityGroupEgress"]] == [
        ("0.0.0.0/0", "tcp", 443, 443)
    ]
    processing.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "IpProtocol": "tcp",
            "FromPort": 0,
            "ToPort": 65535,
            "SourceSecurityGroupId": {"Fn::GetAtt": [group_id, "GroupId"]},
        },
    )
    # The job's role may create the workers' network interfaces
    processing.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with([Match.object_like({"Action": "ec2:CreateNetworkInterface"})])
            }
        },
    )


def test_prod_has_the_interface_endpoints_the_job_calls_in_its_subnets_az_only(prod: Synthesized) -> None:
    network = prod.template("Network")
    interface = [
        e["Properties"]
        for e in network.find_resources("AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    services = sorted(_text(e["ServiceName"]).rsplit(".", 1)[-1] for e in interface)
    assert services == ["glue", "kms", "logs", "monitoring", "sts"]
    assert {len(e["SubnetIds"]) for e in interface} == {1}


def test_prods_s3_endpoint_admits_glues_own_assets_read_only(prod: Synthesized) -> None:
    [endpoint] = [
        e["Properties"]
        for e in prod.template("Network").find_resources("AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Gateway"
    ]
    [glue_assets] = [s for s in endpoint["PolicyDocument"]["Statement"] if s.get("Sid") == "AllowReadingGlueAssets"]
    assert glue_assets["Action"] == ["s3:GetObject", "s3:ListBucket"]
    assert _text(glue_assets["Resource"][0]).endswith(":s3:::aws-glue-jes-prod-*-assets")


def test_the_sandbox_runs_the_job_outside_the_vpc_and_pays_no_endpoint(sandbox: Synthesized) -> None:
    processing = sandbox.template("Processing")
    processing.resource_count_is("AWS::Glue::Connection", 0)
    processing.resource_count_is("AWS::EC2::SecurityGroup", 0)
    [job] = processing.find_resources("AWS::Glue::Job").values()
    assert "Connections" not in job["Properties"]
    endpoints = sandbox.template("Network").find_resources("AWS::EC2::VPCEndpoint").values()
    assert [e["Properties"]["VpcEndpointType"] for e in endpoints] == ["Gateway"]
    [endpoint] = endpoints
    assert all(s.get("Sid") != "AllowReadingGlueAssets" for s in endpoint["Properties"]["PolicyDocument"]["Statement"])


def test_a_job_in_the_vpc_without_interface_endpoints_is_one_clear_error() -> None:
    # Given the job in the VPC but no interface endpoints
    block = {"glue": {"run_in_vpc": True}, "network": {"interface_endpoints": False}}
    # When the settings are loaded, then one line names the setting, its value and what it needs
    with pytest.raises(ConfigError) as caught:
        load_environment({"sandbox": block}, "sandbox")
    assert str(caught.value) == (
        "environments.sandbox.glue.run_in_vpc = True: needs network.interface_endpoints = true: the VPC has no route "
        "to the internet, so in it the job reaches Glue, KMS, CloudWatch and STS only through the interface endpoints"
    )
    # And with the endpoints it is valid
    settings = load_environment({"sandbox": {**block, "network": {"interface_endpoints": True}}}, "sandbox")
    assert settings.glue.run_in_vpc


def test_prod_runs_the_job_in_the_vpc_and_the_sandbox_does_not(prod: Synthesized, sandbox: Synthesized) -> None:
    assert prod.settings.glue.run_in_vpc
    assert prod.settings.network.interface_endpoints
    assert not sandbox.settings.glue.run_in_vpc
    assert not sandbox.settings.network.interface_endpoints
