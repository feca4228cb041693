"""Every configuration rule: a bad value stops synthesis with one line naming the setting, the value and the rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.config import ConfigError, EnvironmentSettings, load_environment, settings_reference
from tests.synth import environments_context


def _load(block: dict[str, Any], name: str = "sandbox") -> EnvironmentSettings:
    return load_environment({name: block, "prod": {}}, name)


def _error(block: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(block)
    message = str(caught.value)
    assert "\n" not in message, "a configuration error is one line"
    return message


def test_the_projects_own_environments_are_valid() -> None:
    for name in environments_context():
        settings = load_environment(environments_context(), name)
        assert settings.name == name


def test_sandbox_destroys_and_prod_retains() -> None:
    context = environments_context()
    assert load_environment(context, "sandbox").destroy_on_delete
    prod = load_environment(context, "prod")
    assert not prod.destroy_on_delete
    assert prod.termination_protection


def test_an_empty_block_is_safe_by_default() -> None:
    settings = _load({})
    assert settings.removal_policy == "retain"
    assert settings.termination_protection
    assert settings.storage.raw.infrequent_access_after_days == 60
    assert settings.storage.raw.glacier_after_days == 180


def test_unknown_environment_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'staging' .*known environments: prod, sandbox"):
        load_environment({"sandbox": {}, "prod": {}}, "staging")


def test_missing_environments_block() -> None:
    with pytest.raises(ConfigError, match="no 'environments' block"):
        load_environment(None, "sandbox")


def test_a_block_that_is_not_an_object() -> None:
    with pytest.raises(ConfigError, match=r"environments.sandbox: expected a block of settings, got list"):
        load_environment({"sandbox": []}, "sandbox")


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            {"removel_policy": "destroy"},
            "environments.sandbox.removel_policy: unknown setting (a typo?); did you mean 'removal_policy'?",
        ),
        (
            {"kinesis": {"retention_hour": 48}},
            "environments.sandbox.kinesis.retention_hour: unknown setting (a typo?); did you mean 'retention_hours'?",
        ),
        (
            {"storage": {"raw": {"glacier_days": 200}}},
            "environments.sandbox.storage.raw.glacier_days: unknown setting (a typo?); did you mean 'glacier_after_days'?",
        ),
        ({"zzz": 1}, "environments.sandbox.zzz: unknown setting (a typo?); known settings here: account, region"),
    ],
)
def test_unknown_setting_is_called_a_likely_typo(block: dict[str, Any], expected: str) -> None:
    assert _error(block).startswith(expected)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            {"removal_policy": "delete"},
            "environments.sandbox.removal_policy = 'delete': input should be 'retain' or 'destroy'",
        ),
        (
            {"termination_protection": "yes"},
            "environments.sandbox.termination_protection = 'yes': input should be a valid boolean",
        ),
        (
            {"kinesis": {"retention_hours": "48"}},
            "environments.sandbox.kinesis.retention_hours = '48': input should be a valid integer",
        ),
        (
            {"kinesis": {"retention_hours": 23}},
            "environments.sandbox.kinesis.retention_hours = 23: input should be greater than or equal to 24",
        ),
        (
            {"kinesis": {"retention_hours": 8761}},
            "environments.sandbox.kinesis.retention_hours = 8761: input should be less than or equal to 8760",
        ),
        (
            {"kinesis": {"mode": "serverless"}},
            "environments.sandbox.kinesis.mode = 'serverless': input should be 'provisioned' or 'on_demand'",
        ),
        (
            {"firehose": {"buffer_interval_seconds": 901}},
            "environments.sandbox.firehose.buffer_interval_seconds = 901: input should be less than or equal to 900",
        ),
        (
            {"firehose": {"buffer_size_mb": 0}},
            "environments.sandbox.firehose.buffer_size_mb = 0: input should be greater than or equal to 1",
        ),
        (
            {"firehose": {"transform_timeout_seconds": 301}},
            "environments.sandbox.firehose.transform_timeout_seconds = 301: input should be less than or equal to 300",
        ),
        (
            {"glue": {"worker_type": "G.16X"}},
            "environments.sandbox.glue.worker_type = 'G.16X': input should be 'G.1X', 'G.2X', 'G.4X' or 'G.8X'",
        ),
        (
            {"glue": {"worker_count": 1}},
            "environments.sandbox.glue.worker_count = 1: input should be greater than or equal to 2",
        ),
        (
            {"athena": {"bytes_scanned_cutoff_mb": 9}},
            "environments.sandbox.athena.bytes_scanned_cutoff_mb = 9: input should be greater than or equal to 10",
        ),
        (
            {"storage": {"versioning": 1}},
            "environments.sandbox.storage.versioning = 1: input should be a valid boolean",
        ),
        (
            {"storage": {"noncurrent_version_expiry_days": 0}},
            "environments.sandbox.storage.noncurrent_version_expiry_days = 0: input should be greater than or equal to 1",
        ),
    ],
)
def test_wrong_type_or_out_of_range(block: dict[str, Any], expected: str) -> None:
    assert _error(block) == expected


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            {"storage": {"raw": {"infrequent_access_after_days": 29}}},
            "environments.sandbox.storage.raw.infrequent_access_after_days = 29: S3 allows a Standard-IA transition at 30 days or more",
        ),
        (
            {"storage": {"curated": {"infrequent_access_after_days": 60, "glacier_after_days": 89}}},
            "environments.sandbox.storage.curated.glacier_after_days = 89: must be at least 30 days after "
            "infrequent_access_after_days (60), i.e. 90 or more",
        ),
        (
            {
                "storage": {
                    "raw": {"infrequent_access_after_days": 60, "glacier_after_days": 180, "expire_after_days": 180}
                }
            },
            "environments.sandbox.storage.raw.expire_after_days = 180: must be greater than the last transition (180 days)",
        ),
        (
            {"storage": {"raw": {"glacier_after_days": 0}}},
            "environments.sandbox.storage.raw.glacier_after_days = 0: must be 1 or more",
        ),
    ],
)
def test_lifecycle_follows_s3_rules(block: dict[str, Any], expected: str) -> None:
    assert _error(block) == expected


def test_glacier_without_standard_ia_is_allowed() -> None:
    settings = _load({"storage": {"raw": {"glacier_after_days": 1}}})
    assert settings.storage.raw.infrequent_access_after_days is None


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"account": "12345"}, "environments.sandbox.account: got '12345'; an AWS account ID is 12 digits"),
        ({"account": "111111111111"}, "environments.sandbox.region = null: set account and region together"),
        ({"region": "eu-west-1"}, "environments.sandbox.account = null: set account and region together"),
        (
            {"account": "111111111111", "region": "Europe"},
            "environments.sandbox.region: got 'Europe'; use a region code",
        ),
        (
            {"account": "111111111111", "region": "eu-west-1"},
            "environments.sandbox.network.availability_zones = null: name the zones of eu-west-1 (two, or three with the "
            "warehouse) when a region is set",
        ),
        (
            {
                "account": "111111111111",
                "region": "eu-west-1",
                "network": {"availability_zones": ["us-east-1a", "us-east-1b"]},
            },
            "environments.sandbox.network.availability_zones = ['us-east-1a', 'us-east-1b']: every zone must be in eu-west-1",
        ),
        (
            {"network": {"availability_zones": ["eu-west-1a"]}},
            "environments.sandbox.network.availability_zones: got ['eu-west-1a']; give two or three",
        ),
        (
            {"log_retention_days": 10},
            "environments.sandbox.log_retention_days: got 10; CloudWatch Logs accepts 1, 3, 5, 7, 14",
        ),
        (
            {"alert_email": "not-an-address"},
            "environments.sandbox.alert_email: got 'not-an-address'; give an e-mail address",
        ),
        (
            {"consumer_accounts": ["22222222222"]},
            "environments.sandbox.consumer_accounts: got '22222222222'; each consumer account is a 12-digit",
        ),
        (
            {"consumer_accounts": ["222222222222", "222222222222"]},
            "environments.sandbox.consumer_accounts: got ['222222222222', '222222222222']; list each account once",
        ),
        (
            {"consumer_accounts": "222222222222"},
            "environments.sandbox.consumer_accounts = '222222222222': input should be a valid tuple",
        ),
        (
            {"tags": {"aws:owner": "x"}},
            "environments.sandbox.tags: got key 'aws:owner'; a tag key has 1 to 128 characters",
        ),
        (
            {"tags": {"Owner": "x" * 257}},
            "environments.sandbox.tags: got 257 characters in the value of 'Owner'; a tag value has 256 at most",
        ),
        (
            {"workflow": {"schedule": "every day"}},
            "environments.sandbox.workflow.schedule: got 'every day'; use 'cron(...)' or 'rate(",
        ),
        ({"name": "other"}, "environments.sandbox.name: not a setting"),
    ],
)
def test_aws_identifiers_and_formats(block: dict[str, Any], expected: str) -> None:
    assert _error(block).startswith(expected)


def test_environment_name_must_fit_a_stack_name() -> None:
    with pytest.raises(ConfigError, match=r"environments.Prod_1.name: got 'Prod_1'; use lower-case letters"):
        load_environment({"Prod_1": {}}, "Prod_1")


def test_dynamic_partitioning_needs_a_64_mb_buffer() -> None:
    message = _error({"firehose": {"partitioning": "device", "buffer_size_mb": 32}})
    assert message == (
        "environments.sandbox.firehose.buffer_size_mb = 32: must be at least 64 when partitioning is 'device' "
        "(Firehose dynamic partitioning)"
    )
    assert _load({"firehose": {"partitioning": "device", "buffer_size_mb": 64}}).firehose.partitioning == "device"


def test_dynamic_partitioning_needs_a_buffer_interval_of_a_minute() -> None:
    message = _error({"firehose": {"partitioning": "device", "buffer_interval_seconds": 30}})
    assert message == (
        "environments.sandbox.firehose.buffer_interval_seconds = 30: must be at least 60 when partitioning is "
        "'device' (Firehose dynamic partitioning)"
    )
    assert _load({"firehose": {"partitioning": "time", "buffer_interval_seconds": 0}}).firehose.partitioning == "time"


def test_explicit_shards_conflict_with_on_demand_and_must_cover_the_load() -> None:
    assert _error({"kinesis": {"mode": "on_demand", "shards": 2}}) == (
        "environments.sandbox.kinesis.shards = 2: must be null when mode is 'on_demand' (AWS manages the shards)"
    )
    assert _error({"kinesis": {"expected_ingest_mb_per_second": 3.5, "shards": 2}}) == (
        "environments.sandbox.kinesis.shards = 2: the expected load needs at least 4 shards"
    )
    kinesis = _load({"kinesis": {"shards": 7}}).kinesis
    assert kinesis.shards == 7
    assert kinesis.expected_load() is not None
    assert _load({"kinesis": {"mode": "on_demand"}}).kinesis.expected_load() is None


def test_settings_are_immutable() -> None:
    settings = _load({})
    with pytest.raises(ValueError, match="frozen"):
        settings.removal_policy = "destroy"  # type: ignore[misc]


def test_the_reference_lists_every_leaf_setting_once_with_a_description() -> None:
    rows = settings_reference()
    paths = [path for path, _, _ in rows]
    assert len(paths) == len(set(paths))
    assert "kinesis.retention_hours" in paths
    assert "storage.raw.glacier_after_days" in paths
    assert all(description for _, _, description in rows)


def test_a_copy_of_the_project_block_with_one_bad_value_names_that_value() -> None:
    block = copy.deepcopy(environments_context()["sandbox"])
    block["kinesis"]["retention_hours"] = 9000
    assert _error(block) == (
        "environments.sandbox.kinesis.retention_hours = 9000: input should be less than or equal to 8760"
    )


def test_every_accepted_log_retention_maps_to_a_cdk_retention() -> None:
    from infra.config import LOG_RETENTION_DAYS
    from infra.constructs.log_group import RETENTION

    assert tuple(RETENTION) == LOG_RETENTION_DAYS


def test_every_physical_name_starts_with_the_resource_prefix() -> None:
    assert _load({}).resource_prefix == "ml-data-lake-sandbox"
    assert load_environment({"dev-2": {}}, "dev-2").resource_prefix == "ml-data-lake-dev-2"
