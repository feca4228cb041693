"""The app as a whole: stack names, environments, data safety, stateful logical IDs, snapshots."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.synth import ENV_UNITS, ENVIRONMENTS, UNITS, Synthesized, normalise_assets, synthesize

# Resources that hold data or keys. Their logical IDs are pinned: a new ID means CloudFormation would
# replace the resource (an empty bucket, a new key that cannot decrypt the old data).
STATEFUL_TYPES = {
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
    "AWS::Glue::Database",
    "AWS::Kinesis::Stream",
    "AWS::DynamoDB::Table",
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
    "Analytics": {"NotifierDeviceStatusA03D29C7": "AWS::DynamoDB::Table"},
}


def _resources_of(synth: Synthesized, unit: str) -> dict[str, Any]:
    return dict(synth.json(unit)["Resources"])


def test_each_environment_builds_exactly_the_known_units(synthesized: dict[str, Synthesized]) -> None:
    for name in ENVIRONMENTS:
        assert tuple(stack.stack_name for stack in synthesized[name].lake.stacks) == tuple(
            f"MlDataLake-{name}-{unit}" for unit in UNITS
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
    for unit in UNITS:
        template = sandbox.template(unit)
        for resource_type in STATEFUL_TYPES:
            for resource in template.find_resources(resource_type).values():
                assert resource["DeletionPolicy"] == "Delete"
    buckets = sandbox.template("Storage").find_resources("AWS::S3::Bucket")
    auto_deleted = sandbox.template("Storage").find_resources("Custom::S3AutoDeleteObjects")
    assert len(auto_deleted) == len(buckets)
    assert all(not stack.termination_protection for stack in sandbox.lake.stacks)


def test_prod_retains_every_stateful_resource_and_protects_its_stacks(prod: Synthesized) -> None:
    for unit in UNITS:
        template = prod.template(unit)
        for resource_type in STATEFUL_TYPES:
            for resource in template.find_resources(resource_type).values():
                assert resource["DeletionPolicy"] == "Retain"
                assert resource["UpdateReplacePolicy"] == "Retain"
        assert template.find_resources("Custom::S3AutoDeleteObjects") == {}
    assert all(stack.termination_protection for stack in prod.lake.stacks)


def test_data_is_retained_unless_the_settings_say_destroy(tmp_path: Any) -> None:
    # Given an environment block that says nothing about removal
    from infra.config import load_environment

    settings = load_environment({"minimal": {}}, "minimal")
    # When it is synthesized
    synth = synthesize(settings, tmp_path)
    # Then every stateful resource is retained
    for resource_type in STATEFUL_TYPES:
        for resource in synth.template("Storage").find_resources(resource_type).values():
            assert resource["DeletionPolicy"] == "Retain"


def test_environment_agnostic_without_account_and_account_bound_with_one(tmp_path: Any) -> None:
    from infra.config import load_environment

    agnostic = synthesize(load_environment({"a": {}}, "a"), tmp_path / "a")
    assert all(stack.environment == "aws://unknown-account/unknown-region" for stack in agnostic.lake.stacks)
    bound_settings = load_environment(
        {
            "b": {
                "account": "111111111111",
                "region": "eu-west-1",
                "network": {"availability_zones": ["eu-west-1a", "eu-west-1b"]},
            }
        },
        "b",
    )
    bound = synthesize(bound_settings, tmp_path / "b")
    assert all(stack.environment == "aws://111111111111/eu-west-1" for stack in bound.lake.stacks)


def test_every_resource_carries_the_environment_tags(synthesized: dict[str, Synthesized]) -> None:
    for name, synth in synthesized.items():
        expected = {"Environment": name, **synth.settings.tags}
        buckets = synth.template("Storage").find_resources(
            "AWS::S3::Bucket", {"Properties": {"Tags": Match.array_with([{"Key": "Environment", "Value": name}])}}
        )
        assert len(buckets) == len(synth.template("Storage").find_resources("AWS::S3::Bucket"))
        for key in expected:
            assert all(any(tag["Key"] == key for tag in b["Properties"]["Tags"]) for b in buckets.values()), (
                f"tag {key} missing"
            )


@pytest.mark.parametrize(("env", "unit"), ENV_UNITS)
def test_template_matches_snapshot(
    synthesized: dict[str, Synthesized], env: str, unit: str, snapshot: SnapshotAssertion
) -> None:
    template = normalise_assets(synthesized[env].json(unit))
    assert template == snapshot(extension_class=JSONSnapshotExtension)
