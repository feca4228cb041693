"""The Network stack: an isolated VPC, its flow logs, the S3 gateway endpoint's policy and the interface endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.constructs.lake_bucket import DATA_ZONES, bucket_name_prefix
from tests.synth import Synthesized

PARTITION, REGION, ACCOUNT = ({"Ref": f"AWS::{name}"} for name in ("Partition", "Region", "AccountId"))
VPC_CIDR = "10.0.0.0/16"


def _join(*parts: object) -> dict[str, Any]:
    return {"Fn::Join": ["", list(parts)]}


def _only(synth: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    resources = synth.template("Network").find_resources(resource_type)
    assert len(resources) == 1, f"{resource_type}: {list(resources)}"
    return next(iter(resources.items()))


def _s3_endpoint(synth: Synthesized) -> dict[str, Any]:
    endpoints = synth.template("Network").find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Gateway"}}
    )
    assert len(endpoints) == 1
    return dict(next(iter(endpoints.values()))["Properties"])


@pytest.fixture(scope="module")
def bound(variant: Synthesized) -> Synthesized:
    """The variant environment: pinned to a (placeholder) account, a region and three named zones (its warehouse)."""
    assert variant.settings.network.availability_zones == ("eu-west-1a", "eu-west-1b", "eu-west-1c")
    return variant


# --- the VPC ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["sandbox", "prod"])
def test_the_vpc_has_isolated_subnets_only_and_no_way_to_the_internet(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    template = synth.template("Network")
    template.has_resource_properties(
        "AWS::EC2::VPC", {"CidrBlock": VPC_CIDR, "EnableDnsHostnames": True, "EnableDnsSupport": True}
    )
    subnets = template.find_resources("AWS::EC2::Subnet")
    # Two zones, three where the warehouse is on (prod)
    assert len(subnets) == (3 if synth.settings.warehouse.enabled else 2)
    for subnet in subnets.values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
        assert {"Key": "aws-cdk:subnet-type", "Value": "Isolated"} in subnet["Properties"]["Tags"]
    # No internet or NAT gateway, no egress-only gateway, and no route anywhere but the endpoint's prefix list
    for resource_type in (
        "AWS::EC2::InternetGateway",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EgressOnlyInternetGateway",
        "AWS::EC2::Route",
    ):
        template.resource_count_is(resource_type, 0)


def test_without_named_zones_cloudformation_picks_two(sandbox: Synthesized) -> None:
    zones = sorted(
        json.dumps(s["Properties"]["AvailabilityZone"])
        for s in sandbox.template("Network").find_resources("AWS::EC2::Subnet").values()
    )
    assert zones == [json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in (0, 1)]


def test_named_zones_are_used_as_given_and_nothing_is_looked_up(bound: Synthesized) -> None:
    subnets = bound.template("Network").find_resources("AWS::EC2::Subnet").values()
    assert sorted(s["Properties"]["AvailabilityZone"] for s in subnets) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


@pytest.mark.parametrize(("env", "retention"), [("sandbox", 7), ("prod", 365)])
def test_all_traffic_is_flow_logged_to_an_encrypted_group_with_retention(
    synthesized: dict[str, Synthesized], env: str, retention: int
) -> None:
    synth = synthesized[env]
    template = synth.template("Network")
    vpc_id, _ = _only(synth, "AWS::EC2::VPC")
    group_id, group = _only(synth, "AWS::Logs::LogGroup")
    assert group["Properties"]["RetentionInDays"] == retention
    key_arn = group["Properties"]["KmsKeyId"]
    assert key_arn["Fn::GetStackOutput"]["StackName"] == f"MlDataLake-{env}-Core"
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {
            "ResourceId": {"Ref": vpc_id},
            "ResourceType": "VPC",
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": {"Ref": group_id},
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({"Principal": {"Service": "vpc-flow-logs.amazonaws.com"}})]
            }
        },
    )


def test_the_default_security_group_is_stripped_of_its_rules(sandbox: Synthesized) -> None:
    vpc_id, _ = _only(sandbox, "AWS::EC2::VPC")
    sandbox.template("Network").has_resource_properties(
        "Custom::VpcRestrictDefaultSG", {"DefaultSecurityGroupId": {"Fn::GetAtt": [vpc_id, "DefaultSecurityGroup"]}}
    )


# --- the S3 gateway endpoint --------------------------------------------------------------------------------------


def _lake_arn(env: str, zone: str, suffix: str = "") -> dict[str, Any]:
    return _join("arn:", PARTITION, f":s3:::ml-data-lake-{env}-{zone}-", ACCOUNT, "-", REGION, f"-an{suffix}")


@pytest.mark.parametrize("env", ["sandbox", "prod"])
def test_the_s3_endpoint_serves_both_subnets_and_only_the_lake_and_the_cdk_assets(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    endpoint = _s3_endpoint(synth)
    route_tables = synth.template("Network").find_resources("AWS::EC2::RouteTable")
    assert sorted(json.dumps(t) for t in endpoint["RouteTableIds"]) == sorted(
        json.dumps({"Ref": t}) for t in route_tables
    )
    assert endpoint["ServiceName"] == _join("com.amazonaws.", REGION, ".s3")
    assets = ("arn:", PARTITION, ":s3:::cdk-hnb659fds-assets-", ACCOUNT, "-", REGION)
    lake, cdk_assets, *glue_assets = endpoint["PolicyDocument"]["Statement"]
    # Glue's own assets bucket only where the job runs in the VPC (see test_security_controls)
    assert [s["Sid"] for s in glue_assets] == (["AllowReadingGlueAssets"] if synth.settings.glue.run_in_vpc else [])
    assert {k: v for k, v in lake.items() if k != "Resource"} == {
        "Sid": "AllowTheLakeBuckets",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": [
            "s3:AbortMultipartUpload",
            "s3:DeleteObject*",
            "s3:GetBucketLocation",
            "s3:GetObject*",
            "s3:ListBucket*",
            "s3:ListMultipartUploadParts",
            "s3:PutObject*",
        ],
    }
    # The data buckets by their derived names; the access-log bucket is written by S3 itself, not from the VPC
    assert _sorted(lake["Resource"]) == _sorted(
        [_lake_arn(env, zone, suffix) for zone in ("raw", "curated", "results") for suffix in ("", "/*")]
    )
    # The CDK assets bucket, read-only
    assert {k: v for k, v in cdk_assets.items() if k != "Resource"} == {
        "Sid": "AllowReadingCdkAssets",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"],
    }
    assert _sorted(cdk_assets["Resource"]) == _sorted([_join(*assets), _join(*assets, "/*")])


def _sorted(values: list[Any]) -> list[str]:
    return sorted(json.dumps(v) for v in values)


@pytest.mark.parametrize("env", ["sandbox", "prod"])
def test_every_data_bucket_the_storage_stack_creates_is_one_the_endpoint_allows(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    # Given the name prefixes of the Storage stack's buckets (except the log bucket, which only S3 writes)
    synth = synthesized[env]
    prefixes = {
        b["Properties"]["BucketNamePrefix"]
        for b in synth.template("Storage").find_resources("AWS::S3::Bucket").values()
        if not b["Properties"]["BucketNamePrefix"].endswith("-logs")
    }
    # Then they are exactly the buckets the endpoint policy names
    assert prefixes == {bucket_name_prefix(synth.settings.resource_prefix, zone) for zone in DATA_ZONES}
    allowed = json.dumps(_s3_endpoint(synth)["PolicyDocument"]["Statement"][0]["Resource"])
    assert all(f":s3:::{prefix}-" in allowed for prefix in prefixes)


def test_an_account_bound_endpoint_policy_names_the_buckets_literally(bound: Synthesized) -> None:
    resources = _s3_endpoint(bound)["PolicyDocument"]["Statement"][0]["Resource"]
    assert "arn:aws:s3:::ml-data-lake-variant-raw-111111111111-eu-west-1-an/*" in resources
    assert len(resources) == 6


@pytest.mark.parametrize("env", ["sandbox", "prod"])
def test_the_network_stack_refers_to_no_later_stack(synthesized: dict[str, Synthesized], env: str) -> None:
    imports = [
        value["StackName"]
        for value in _values_named(synthesized[env].json("Network"), "Fn::GetStackOutput")
        if isinstance(value, dict)
    ]
    assert imports
    assert set(imports) == {f"MlDataLake-{env}-Core"}
    assert not list(_values_named(synthesized[env].json("Network"), "Fn::ImportValue"))


def _values_named(node: object, key: str) -> list[object]:
    """Every value under `key` anywhere in a JSON document."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key] + [x for v in node.values() for x in _values_named(v, key)]
    if isinstance(node, list):
        return [x for v in node for x in _values_named(v, key)]
    return []


# --- interface endpoints ------------------------------------------------------------------------------------------


def test_sandbox_has_no_interface_endpoints(sandbox: Synthesized) -> None:
    template = sandbox.template("Network")
    template.resource_count_is("AWS::EC2::VPCEndpoint", 1)
    template.resource_count_is("AWS::EC2::SecurityGroup", 0)


def test_prod_reaches_glue_kms_logs_cloudwatch_and_sts_privately_on_https_from_the_vpc_only(prod: Synthesized) -> None:
    template = prod.template("Network")
    group_id, group = _only(prod, "AWS::EC2::SecurityGroup")
    assert group["Properties"]["SecurityGroupIngress"] == [
        {"CidrIp": VPC_CIDR, "Description": "HTTPS from the VPC", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}
    ]
    # CDK's placeholder egress rule: nothing leaves an endpoint's network interface on its own
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    template.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)
    subnets = sorted(template.find_resources("AWS::EC2::Subnet"))
    interface = template.find_resources("AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}})
    services = set()
    for endpoint in interface.values():
        properties = endpoint["Properties"]
        assert properties["PrivateDnsEnabled"] is True
        assert properties["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]
        # In the workload subnet's AZ only, where the Glue job runs
        assert [s["Ref"] for s in properties["SubnetIds"]] == [
            prod.lake.network.resolve(prod.lake.network.workload_subnet.subnet_id)["Ref"]
        ]
        assert properties["SubnetIds"][0]["Ref"] in subnets
        services.add(properties["ServiceName"]["Fn::Join"][1][2])
    assert services == {".glue", ".kms", ".logs", ".monitoring", ".sts"}


def test_the_network_stack_exposes_the_vpc_and_the_s3_endpoint(sandbox: Synthesized) -> None:
    network = sandbox.lake.network
    vpc_id, _ = _only(sandbox, "AWS::EC2::VPC")
    assert network.resolve(network.vpc.vpc_id) == {"Ref": vpc_id}
    endpoint_ids = sandbox.template("Network").find_resources("AWS::EC2::VPCEndpoint")
    assert network.resolve(network.s3_endpoint.vpc_endpoint_id) == {"Ref": next(iter(endpoint_ids))}


def test_a_unit_asks_for_an_endpoint_and_a_second_unit_shares_it_in_three_zones() -> None:
    # Given a lake network in three zones
    from aws_cdk import App, RemovalPolicy, Stack
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_kms as kms
    from aws_cdk.assertions import Template

    from infra.constructs.network import LakeNetwork

    stack = Stack(App(), "Net")
    network = LakeNetwork(
        stack,
        "Network",
        resource_prefix="ml-data-lake-test",
        key=kms.Key(stack, "Key"),
        availability_zones=None,
        availability_zone_count=3,
        glue_in_vpc=False,
        flow_log_group_name="/ml-data-lake-test/vpc/flow-logs",
        log_retention_days=7,
        removal=RemovalPolicy.DESTROY,
    )
    # When two workloads ask for the same endpoint
    first = network.require_interface_endpoint("Glue", ec2.InterfaceVpcEndpointAwsService.GLUE, "warehouse")
    second = network.require_interface_endpoint("Glue", ec2.InterfaceVpcEndpointAwsService.GLUE, "curation job")
    # Then there is one endpoint, in the workload subnet only, naming both workloads
    assert first is second
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::Subnet", 3)
    template.resource_count_is("AWS::EC2::SecurityGroup", 1)
    [endpoint] = [
        e["Properties"]
        for e in template.find_resources("AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert len(endpoint["SubnetIds"]) == 1
    assert {"Key": "Workload", "Value": "warehouse + curation job"} in endpoint["Tags"]
