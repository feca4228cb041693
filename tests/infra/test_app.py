"""The app as a whole: stack names, environments, data safety, stateful logical IDs, snapshots."""

from __future__ import annotations

import json
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.synth import ENV_UNITS, ENVIRONMENTS, VARIANT_BLOCK, Synthesized, normalise_assets, units_of

# Resources that hold data or keys. Their logical IDs are pinned: a new ID means CloudFormation would
# replace the resource (an empty bucket, a new key that cannot decrypt the old data).
STATEFUL_TYPES = {
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
    "AWS::Glue::Database",
    "AWS::Kinesis::Stream",
    "AWS::DynamoDB::Table",
    "AWS::RedshiftServerless::Namespace",
    "AWS::KinesisVideo::Stream",
}
PINNED_STATEFUL_IDS: dict[str, dict[str, str]] = {
    "Core": {"LakeKeyADC5C84B": "AWS::KMS::Key"},
    "Storage": {
        "AccessLogsBucketCD784A59": "AWS::S3::Bucket",
        "RawZoneBucketD23CD850": "AWS::S3::Bucket",
        "CuratedZoneBucketBB71C901": "AWS::S3::Bucket",
        "QueryResultsBucket8914DAAE": "AWS::S3::Bucket",
        "CatalogDatabase44483CA3": "AWS::Glue::Database",
    },
    "Ingestion": {"IngestStreamB259CF51": "AWS::Kinesis::Stream"},
    "Ml": {"ModelRegistryTable184BA7E1": "AWS::DynamoDB::Table"},
    "Analytics": {"NotifierDeviceStatusA03D29C7": "AWS::DynamoDB::Table"},
    "Warehouse": {"WarehouseNamespace78ED5B58": "AWS::RedshiftServerless::Namespace"},
    "Video": {"VideoStream09DCBA2D": "AWS::KinesisVideo::Stream"},
}


# Resource types that take tags in CloudFormation, among those this app creates; a test fails on a type the app
# creates that is in neither list, so a new kind of resource is classified when it is added.
TAGGABLE_TYPES = {
    "AWS::KMS::Key",
    "AWS::SNS::Topic",
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::FlowLog",
    "AWS::S3::Bucket",
    "AWS::CloudTrail::Trail",
    "AWS::Logs::LogGroup",
    "AWS::IAM::Role",
    "AWS::Kinesis::Stream",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::Lambda::Function",
    "AWS::Glue::Crawler",
    "AWS::Glue::Job",
    "AWS::StepFunctions::StateMachine",
    "AWS::Athena::WorkGroup",
    "AWS::DynamoDB::Table",
    "AWS::KinesisAnalyticsV2::Application",
    "AWS::SQS::Queue",
    "AWS::Kinesis::StreamConsumer",
    "AWS::RedshiftServerless::Namespace",
    "AWS::RedshiftServerless::Workgroup",
    "AWS::KinesisVideo::Stream",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBParameterGroup",
    "AWS::RDS::DBSubnetGroup",
    "AWS::SecretsManager::Secret",
    "AWS::DMS::Endpoint",
    "AWS::DMS::ReplicationConfig",
    "AWS::DMS::ReplicationSubnetGroup",
    "AWS::Glue::Trigger",
}
UNTAGGABLE_TYPES = {
    "AWS::KMS::Alias",
    "AWS::Glue::Database",  # CloudFormation takes no tags for a Glue database
    "AWS::Glue::Table",  # nor for a Glue table (the raw zone's, declared; its partitions are projected, not stored)
    "AWS::Logs::LogStream",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::Glue::Connection",  # CloudFormation takes no tags for a Glue connection
    "AWS::S3::BucketPolicy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::Glue::DataCatalogEncryptionSettings",
    "AWS::Glue::SecurityConfiguration",
    "AWS::Events::Rule",
    "AWS::Athena::NamedQuery",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::CDK::Metadata",
    "Custom::S3AutoDeleteObjects",
    "Custom::VpcRestrictDefaultSG",
    "AWS::KinesisAnalyticsV2::ApplicationCloudWatchLoggingOption",
    "AWS::SQS::QueuePolicy",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventInvokeConfig",
    "Custom::SpectrumSchema",  # a custom resource takes no tags
    "AWS::SecretsManager::SecretTargetAttachment",
}


def _resources_of(synth: Synthesized, unit: str) -> dict[str, Any]:
    return dict(synth.json(unit)["Resources"])


def _stateful(synth: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    """Every stateful resource of every stack of `synth`, by (unit, logical ID)."""
    return {
        (unit, logical_id): resource
        for unit in synth.templates
        for logical_id, resource in _resources_of(synth, unit).items()
        if resource["Type"] in STATEFUL_TYPES
    }


def test_each_environment_builds_exactly_the_known_units(synthesized: dict[str, Synthesized]) -> None:
    for name in ENVIRONMENTS:
        assert tuple(stack.stack_name for stack in synthesized[name].lake.stacks) == tuple(
            f"MlDataLake-{name}-{unit}" for unit in units_of(name)
        )


@pytest.mark.parametrize(("env", "unit"), ENV_UNITS)
def test_stateful_logical_ids_are_pinned(synthesized: dict[str, Synthesized], env: str, unit: str) -> None:
    # Given the template of a unit
    resources = _resources_of(synthesized[env], unit)
    # When we list its stateful resources
    stateful = {logical_id: r["Type"] for logical_id, r in resources.items() if r["Type"] in STATEFUL_TYPES}
    # Then they are exactly the pinned ones: renaming a construct must not silently replace data
    assert stateful == PINNED_STATEFUL_IDS.get(unit, {})


def test_sandbox_destroys_data_with_its_stacks(sandbox: Synthesized) -> None:
    # Given every stateful resource of every sandbox stack
    stateful = _stateful(sandbox)
    assert {unit for unit, _ in stateful} == {unit for unit in PINNED_STATEFUL_IDS if unit in sandbox.templates}
    # Then each is deleted with its stack, and every bucket is emptied first
    for (unit, logical_id), resource in stateful.items():
        assert resource.get("DeletionPolicy") == "Delete", (unit, logical_id)
    buckets = sandbox.template("Storage").find_resources("AWS::S3::Bucket")
    auto_deleted = sandbox.template("Storage").find_resources("Custom::S3AutoDeleteObjects")
    assert {json.dumps(r["Properties"]["BucketName"]) for r in auto_deleted.values()} == {
        json.dumps({"Ref": logical_id}) for logical_id in buckets
    }
    assert all(not stack.termination_protection for stack in sandbox.lake.stacks)


def test_prod_retains_every_stateful_resource_and_protects_its_stacks(prod: Synthesized) -> None:
    stateful = _stateful(prod)
    assert {unit for unit, _ in stateful} == set(PINNED_STATEFUL_IDS)
    for (unit, logical_id), resource in stateful.items():
        assert resource.get("DeletionPolicy") == "Retain", (unit, logical_id)
        assert resource.get("UpdateReplacePolicy") == "Retain", (unit, logical_id)
    assert all(prod.template(unit).find_resources("Custom::S3AutoDeleteObjects") == {} for unit in prod.templates)
    assert all(stack.termination_protection for stack in prod.lake.stacks)


def test_every_resource_type_is_classified_as_taggable_or_not(
    synthesized: dict[str, Synthesized], variant: Synthesized
) -> None:
    created = {
        resource["Type"]
        for synth in (*synthesized.values(), variant)
        for unit in synth.templates
        for resource in _resources_of(synth, unit).values()
    }
    assert created - TAGGABLE_TYPES - UNTAGGABLE_TYPES == set()
    assert set() == TAGGABLE_TYPES & UNTAGGABLE_TYPES


def test_data_is_retained_unless_the_settings_say_destroy(variant: Synthesized) -> None:
    # Given an environment block that says nothing about removal (the variant)
    assert "removal_policy" not in VARIANT_BLOCK
    # When it is synthesized, then every stateful resource of every stack is retained
    stateful = _stateful(variant)
    # (the variant turns every optional unit on, so every pinned resource is there)
    assert {unit for unit, _ in stateful} == set(PINNED_STATEFUL_IDS)
    for (unit, logical_id), resource in stateful.items():
        assert resource.get("DeletionPolicy") == "Retain", (unit, logical_id)
        assert resource.get("UpdateReplacePolicy") == "Retain", (unit, logical_id)
    assert all(variant.template(unit).find_resources("Custom::S3AutoDeleteObjects") == {} for unit in variant.templates)


def test_environment_agnostic_without_account_and_account_bound_with_one(
    sandbox: Synthesized, variant: Synthesized
) -> None:
    assert sandbox.settings.account is None
    assert all(stack.environment == "aws://unknown-account/unknown-region" for stack in sandbox.lake.stacks)
    assert all(stack.environment == "aws://111111111111/eu-west-1" for stack in variant.lake.stacks)


def _taggable(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every resource whose type takes tags, by logical ID (CloudFormation's resource specification decides)."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in TAGGABLE_TYPES
    }


def _tags_of(resource: dict[str, Any]) -> dict[str, str]:
    """A resource's tags, whether CloudFormation takes them as a list of Key/Value or as a map."""
    tags = resource.get("Properties", {}).get("Tags", {})
    if isinstance(tags, list):
        return {tag["Key"]: tag["Value"] for tag in tags}
    return dict(tags)


@pytest.mark.parametrize(("env", "unit"), ENV_UNITS)
def test_every_taggable_resource_carries_every_environment_tag(
    synthesized: dict[str, Synthesized], env: str, unit: str
) -> None:
    # Given the tags the environment's settings ask for
    synth = synthesized[env]
    expected = {"Environment": env, **synth.settings.tags}
    assert len(expected) > 1
    # When reading every resource of the unit that takes tags
    taggable = _taggable(synth.json(unit))
    assert taggable or unit == "Monitoring", f"{unit} has no taggable resource"  # a dashboard and nothing else
    # Then each carries all of them, with their values
    for logical_id, resource in taggable.items():
        tags = _tags_of(resource)
        missing = {key: value for key, value in expected.items() if tags.get(key) != value}
        assert not missing, f"{unit}/{logical_id} ({resource['Type']}) lacks {missing}"


@pytest.mark.parametrize(("env", "unit"), ENV_UNITS)
def test_template_matches_snapshot(
    synthesized: dict[str, Synthesized], env: str, unit: str, snapshot: SnapshotAssertion
) -> None:
    template = normalise_assets(synthesized[env].json(unit))
    assert template == snapshot(extension_class=JSONSnapshotExtension)
