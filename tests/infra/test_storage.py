"""The Storage stack: zones, encryption, TLS, lifecycle, audit, PHI tags, consumers and the catalog database."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from infra.config import ConfigError, ZoneLifecycle, load_environment
from infra.constructs.lake_bucket import MAX_BUCKET_NAME_PREFIX, DataLakeBucket, Zone, bucket_name_prefix
from tests.synth import CONSUMER_ACCOUNT, Synthesized

# (construct id, zone) of every bucket of the Storage stack.
BUCKETS = {
    "AccessLogs": Zone.ACCESS_LOGS,
    "RawZone": Zone.RAW,
    "CuratedZone": Zone.CURATED,
    "QueryResults": Zone.QUERY_RESULTS,
}
DATA_BUCKETS = ("RawZone", "CuratedZone", "QueryResults")


# --- helpers: find resources by construct id and cross-stack values by what they export -------------------------


def _join(*parts: object) -> dict[str, Any]:
    return {"Fn::Join": ["", list(parts)]}


PARTITION, REGION, ACCOUNT = ({"Ref": f"AWS::{name}"} for name in ("Partition", "Region", "AccountId"))


def _logical_id(template: Template, resource_type: str, construct_id: str) -> str:
    """The one logical ID of `resource_type` whose ID starts with `construct_id` (e.g. CuratedZoneBucket...)."""
    ids = [i for i in template.find_resources(resource_type) if i.startswith(construct_id)]
    assert len(ids) == 1, f"{construct_id}: {ids}"
    return ids[0]


def _bucket_id(synth: Synthesized, construct_id: str) -> str:
    return _logical_id(synth.template("Storage"), "AWS::S3::Bucket", f"{construct_id}Bucket")


def _bucket(synth: Synthesized, construct_id: str) -> dict[str, Any]:
    return dict(synth.json("Storage")["Resources"][_bucket_id(synth, construct_id)]["Properties"])


def _bucket_policy(synth: Synthesized, construct_id: str) -> list[dict[str, Any]]:
    """The statements of one bucket's policy."""
    bucket_id = _bucket_id(synth, construct_id)
    for policy in synth.template("Storage").find_resources("AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}:
            return list(policy["Properties"]["PolicyDocument"]["Statement"])
    raise AssertionError(f"no policy for {construct_id}")


def _statement(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    found = [s for s in statements if s.get("Sid") == sid]
    assert len(found) == 1, f"{sid}: {len(found)} statements"
    return found[0]


def _imported(synth: Synthesized, unit: str, value: dict[str, Any]) -> dict[str, Any]:
    """How a later stack refers to `value` exported by `unit` (a weak cross-stack reference)."""
    outputs = synth.json(unit)["Outputs"]
    names = [name for name, output in outputs.items() if output["Value"] == value]
    assert len(names) == 1, f"{unit} exports {value} {len(names)} times"
    return {
        "Fn::GetStackOutput": {
            "StackName": synth.lake.stacks[0].stack_name.replace("-Core", f"-{unit}"),
            "Region": {"Ref": "AWS::Region"},
            "OutputName": names[0],
        }
    }


def _lake_key_arn(synth: Synthesized) -> dict[str, Any]:
    key_id = _logical_id(synth.template("Core"), "AWS::KMS::Key", "LakeKey")
    return _imported(synth, "Core", {"Fn::GetAtt": [key_id, "Arn"]})


def _arn_of(synth: Synthesized, construct_id: str, suffix: str = "") -> dict[str, Any]:
    arn = {"Fn::GetAtt": [_bucket_id(synth, construct_id), "Arn"]}
    return {"Fn::Join": ["", [arn, suffix]]} if suffix else arn


def _key_policy(synth: Synthesized) -> list[dict[str, Any]]:
    key = next(iter(synth.template("Core").find_resources("AWS::KMS::Key").values()))
    return list(key["Properties"]["KeyPolicy"]["Statement"])


@pytest.fixture(scope="module")
def with_consumers(variant: Synthesized) -> Synthesized:
    """The variant environment: one consumer account, the catalog encryption left to another environment."""
    assert variant.settings.consumer_accounts == (CONSUMER_ACCOUNT,)
    assert not variant.settings.glue.manage_catalog_encryption
    return variant


# --- zones and names ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["sandbox", "prod"])
def test_each_zone_is_a_bucket_named_by_prefix_in_the_account_regional_namespace(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    assert len(synth.template("Storage").find_resources("AWS::S3::Bucket")) == len(BUCKETS)
    for construct_id, zone in BUCKETS.items():
        bucket = _bucket(synth, construct_id)
        # S3 appends -<account>-<region>-an; no bucket has a hard-coded full name
        assert bucket["BucketNamePrefix"] == f"ml-data-lake-{env}-{zone.value}"
        assert bucket["BucketNamespace"] == "account-regional"
        assert "BucketName" not in bucket


def test_the_longest_environment_name_the_settings_allow_fits_every_bucket_name() -> None:
    longest = load_environment({"development": {}}, "development")
    assert all(len(bucket_name_prefix(longest.resource_prefix, zone)) <= MAX_BUCKET_NAME_PREFIX for zone in Zone)
    with pytest.raises(ConfigError, match=r"environments.performance-test.name: got 'performance-test'; .* 11 at most"):
        load_environment({"performance-test": {}}, "performance-test")


# --- encryption ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("construct_id", DATA_BUCKETS)
def test_data_buckets_default_to_sse_kms_with_the_lake_key_and_a_bucket_key(
    sandbox: Synthesized, construct_id: str
) -> None:
    assert _bucket(sandbox, construct_id)["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {
                "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]},
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {"KMSMasterKeyID": _lake_key_arn(sandbox), "SSEAlgorithm": "aws:kms"},
            }
        ]
    }


def test_the_access_log_bucket_uses_sse_s3_the_only_encryption_log_delivery_accepts(sandbox: Synthesized) -> None:
    assert _bucket(sandbox, "AccessLogs")["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {
                "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]},
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            }
        ]
    }


@pytest.mark.parametrize("construct_id", DATA_BUCKETS)
def test_an_upload_asking_for_another_algorithm_or_key_is_denied_and_one_without_headers_is_not(
    sandbox: Synthesized, construct_id: str
) -> None:
    # Given a data bucket's policy
    statements = _bucket_policy(sandbox, construct_id)
    objects = _arn_of(sandbox, construct_id, "/*")
    # Then a PutObject that names another algorithm is denied; Null=false leaves header-less uploads to the default
    assert _statement(statements, "DenyUploadsAskingForAnotherEncryption") == {
        "Sid": "DenyUploadsAskingForAnotherEncryption",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:PutObject",
        "Resource": objects,
        "Condition": {
            "Null": {"s3:x-amz-server-side-encryption": "false"},
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        },
    }
    # And one that names a KMS key other than the lake key (by ARN) is denied, again only when the header is sent
    assert _statement(statements, "DenyUploadsAskingForAnotherKmsKey") == {
        "Sid": "DenyUploadsAskingForAnotherKmsKey",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:PutObject",
        "Resource": objects,
        "Condition": {
            "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
            "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": _lake_key_arn(sandbox)},
        },
    }
    # And nothing in the policy denies an upload merely for lacking the headers
    for statement in statements:
        assert "s3:x-amz-server-side-encryption" not in statement.get("Condition", {}).get("Null", {}).values()
        assert "true" not in statement.get("Condition", {}).get("Null", {}).values()


# --- transport and access -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("construct_id", list(BUCKETS))
def test_every_bucket_accepts_only_tls_1_2_or_later_and_is_private(sandbox: Synthesized, construct_id: str) -> None:
    statements = _bucket_policy(sandbox, construct_id)
    everything = [_arn_of(sandbox, construct_id), _arn_of(sandbox, construct_id, "/*")]
    assert {
        "Action": "s3:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": everything,
    } in statements
    assert {
        "Action": "s3:*",
        "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": everything,
    } in statements
    bucket = _bucket(sandbox, construct_id)
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}


# --- lifecycle ----------------------------------------------------------------------------------------------------

LIFECYCLE = {
    # env: construct id -> the one rule S3 gets
    "sandbox": {
        "RawZone": {
            "Transitions": [
                {"StorageClass": "STANDARD_IA", "TransitionInDays": 60},
                {"StorageClass": "GLACIER", "TransitionInDays": 180},
            ],
            "ExpirationInDays": 365,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
        "CuratedZone": {
            "Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 90}],
            "ExpirationInDays": 365,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
        "QueryResults": {
            "ExpirationInDays": 7,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
        "AccessLogs": {
            "ExpirationInDays": 30,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
    },
    "prod": {
        "RawZone": {
            "Transitions": [
                {"StorageClass": "STANDARD_IA", "TransitionInDays": 60},
                {"StorageClass": "GLACIER", "TransitionInDays": 180},
            ],
            "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
        "CuratedZone": {
            "Transitions": [
                {"StorageClass": "STANDARD_IA", "TransitionInDays": 90},
                {"StorageClass": "GLACIER", "TransitionInDays": 365},
            ],
            "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
        "QueryResults": {
            "ExpirationInDays": 30,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
        "AccessLogs": {
            "ExpirationInDays": 365,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
    },
}


@pytest.mark.parametrize(
    ("env", "construct_id"), [(env, construct_id) for env in LIFECYCLE for construct_id in LIFECYCLE[env]]
)
def test_each_zone_tiers_and_expires_as_its_environment_says(
    synthesized: dict[str, Synthesized], env: str, construct_id: str
) -> None:
    rules = _bucket(synthesized[env], construct_id)["LifecycleConfiguration"]["Rules"]
    assert len(rules) == 1
    rule = {k: v for k, v in rules[0].items() if k not in ("Id", "Status")}
    assert rules[0]["Status"] == "Enabled"
    assert rule == LIFECYCLE[env][construct_id]


# --- audit --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("construct_id", DATA_BUCKETS)
def test_every_data_bucket_logs_access_to_the_log_bucket_under_its_own_prefix(
    sandbox: Synthesized, construct_id: str
) -> None:
    assert _bucket(sandbox, construct_id)["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": _bucket_id(sandbox, "AccessLogs")},
        "LogFilePrefix": f"{construct_id}/",
    }
    assert {
        "Action": "s3:PutObject",
        "Condition": {
            "ArnLike": {"aws:SourceArn": _arn_of(sandbox, construct_id)},
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        },
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Resource": _arn_of(sandbox, "AccessLogs", f"/{construct_id}/*"),
    } in _bucket_policy(sandbox, "AccessLogs")


@pytest.mark.parametrize(("env", "retention"), [("sandbox", 7), ("prod", 365)])
def test_a_validated_encrypted_trail_records_reads_and_writes_of_every_data_bucket(
    synthesized: dict[str, Synthesized], env: str, retention: int
) -> None:
    synth = synthesized[env]
    template = synth.template("Storage")
    log_group = _logical_id(template, "AWS::Logs::LogGroup", "AuditTrail")
    role = _logical_id(template, "AWS::IAM::Role", "AuditTrailLogsRole")
    template.resource_count_is("AWS::CloudTrail::Trail", 1)
    template.has_resource_properties(
        "AWS::CloudTrail::Trail",
        {
            "IsLogging": True,
            "EnableLogFileValidation": True,
            "KMSKeyId": _lake_key_arn(synth),
            "S3BucketName": {"Ref": _bucket_id(synth, "AccessLogs")},
            "S3KeyPrefix": "cloudtrail",
            "CloudWatchLogsLogGroupArn": {"Fn::GetAtt": [log_group, "Arn"]},
            "CloudWatchLogsRoleArn": {"Fn::GetAtt": [role, "Arn"]},
            "EventSelectors": [
                {
                    "DataResources": [
                        {"Type": "AWS::S3::Object", "Values": [_arn_of(synth, b, "/") for b in DATA_BUCKETS]}
                    ],
                    "IncludeManagementEvents": False,
                    "ReadWriteType": "All",
                }
            ],
        },
    )
    # The delivery group is encrypted with the lake key and kept as long as the environment's logs
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"KmsKeyId": _lake_key_arn(synth), "RetentionInDays": retention}
    )
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "Roles": [{"Ref": role}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
                    }
                ]
            },
        },
    )
    # CloudTrail may write only under its prefix and this account's folder
    assert {
        "Action": "s3:PutObject",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Resource": {"Fn::Join": ["", [_arn_of(synth, "AccessLogs"), "/cloudtrail/AWSLogs/", ACCOUNT, "/*"]]},
    } in _bucket_policy(synth, "AccessLogs")


def test_the_lake_key_lets_cloudtrail_of_this_account_only_encrypt_its_logs(sandbox: Synthesized) -> None:
    trails = _join("arn:", PARTITION, ":cloudtrail:", REGION, ":", ACCOUNT, ":trail/*")
    statements = _key_policy(sandbox)
    assert _statement(statements, "AllowCloudTrailOfThisAccountToEncryptLogs") == {
        "Sid": "AllowCloudTrailOfThisAccountToEncryptLogs",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": trails},
            "StringLike": {
                "kms:EncryptionContext:aws:cloudtrail:arn": _join(
                    "arn:", PARTITION, ":cloudtrail:*:", ACCOUNT, ":trail/*"
                )
            },
        },
    }
    assert _statement(statements, "AllowCloudTrailOfThisAccountToDescribeKey") == {
        "Sid": "AllowCloudTrailOfThisAccountToDescribeKey",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:DescribeKey",
        "Resource": "*",
        "Condition": {"ArnLike": {"aws:SourceArn": trails}},
    }


# --- tag-based access ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("construct_id", DATA_BUCKETS)
def test_phi_tagged_objects_are_denied_to_every_principal_not_tagged_phi(
    sandbox: Synthesized, construct_id: str
) -> None:
    assert _statement(_bucket_policy(sandbox, construct_id), "DenyPhiToPrincipalsWithoutPhiTag") == {
        "Sid": "DenyPhiToPrincipalsWithoutPhiTag",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": [
            "s3:DeleteObjectTagging",
            "s3:DeleteObjectVersionTagging",
            "s3:GetObject*",
            "s3:PutObjectTagging",
            "s3:PutObjectVersionTagging",
        ],
        "Resource": _arn_of(sandbox, construct_id, "/*"),
        # ...IfExists is true for a principal with no Classification tag, so untagged principals are denied too
        "Condition": {
            "StringEquals": {"s3:ExistingObjectTag/Classification": "PHI"},
            "StringNotEqualsIfExists": {"aws:PrincipalTag/Classification": "PHI"},
        },
    }


# --- consumers ----------------------------------------------------------------------------------------------------


def _consumer_role(synth: Synthesized) -> str:
    return _logical_id(synth.template("Storage"), "AWS::IAM::Role", "ConsumersRole")


def test_the_ml_consumer_role_is_for_sagemaker_and_reads_only_the_curated_zone(sandbox: Synthesized) -> None:
    template = sandbox.template("Storage")
    role = _consumer_role(sandbox)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
                ]
            }
        },
    )
    policies = template.find_resources("AWS::IAM::ManagedPolicy", {"Properties": {"Roles": [{"Ref": role}]}})
    assert len(policies) == 1
    assert next(iter(policies.values()))["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["s3:GetBucket*", "s3:GetObject*", "s3:List*"],
            "Effect": "Allow",
            "Resource": [_arn_of(sandbox, "CuratedZone"), _arn_of(sandbox, "CuratedZone", "/*")],
        },
        {"Action": ["kms:Decrypt", "kms:DescribeKey"], "Effect": "Allow", "Resource": _lake_key_arn(sandbox)},
    ]


def test_the_ml_consumer_role_reads_the_curated_zone_only_through_the_s3_endpoint(sandbox: Synthesized) -> None:
    endpoint = _logical_id(sandbox.template("Network"), "AWS::EC2::VPCEndpoint", "NetworkVpcS3Endpoint")
    assert _statement(_bucket_policy(sandbox, "CuratedZone"), "DenyConsumerRoleOutsideTheVpcEndpoint") == {
        "Sid": "DenyConsumerRoleOutsideTheVpcEndpoint",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["s3:GetObject*", "s3:ListBucket*"],
        "Resource": [_arn_of(sandbox, "CuratedZone"), _arn_of(sandbox, "CuratedZone", "/*")],
        # StringNotEquals is also true when the request has no aws:SourceVpce at all (not through any endpoint)
        "Condition": {
            "ArnEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [_consumer_role(sandbox), "Arn"]}},
            "StringNotEquals": {"aws:SourceVpce": _imported(sandbox, "Network", {"Ref": endpoint})},
        },
    }


def test_no_other_account_is_admitted_unless_the_settings_name_it(sandbox: Synthesized) -> None:
    assert not [s for s in _bucket_policy(sandbox, "CuratedZone") if s.get("Sid") == "AllowConsumerAccountsToRead"]
    assert not [s for s in _key_policy(sandbox) if s.get("Sid") == "AllowConsumerAccountsToDecryptThroughS3"]


def test_consumer_accounts_read_the_curated_zone_and_decrypt_only_through_s3(with_consumers: Synthesized) -> None:
    synth = with_consumers
    # The variant is bound to an account and region, so partition and region are written out.
    account_root = f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"
    assert _statement(_bucket_policy(synth, "CuratedZone"), "AllowConsumerAccountsToRead") == {
        "Sid": "AllowConsumerAccountsToRead",
        "Effect": "Allow",
        "Principal": {"AWS": account_root},
        "Action": ["s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
        "Resource": [_arn_of(synth, "CuratedZone"), _arn_of(synth, "CuratedZone", "/*")],
    }
    # The raw zone stays closed to them
    for construct_id in ("RawZone", "QueryResults"):
        assert CONSUMER_ACCOUNT not in str(_bucket_policy(synth, construct_id))
    assert _statement(_key_policy(synth), "AllowConsumerAccountsToDecryptThroughS3") == {
        "Sid": "AllowConsumerAccountsToDecryptThroughS3",
        "Effect": "Allow",
        "Principal": {"AWS": account_root},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
    }


# --- catalog ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["sandbox", "prod"])
def test_the_lake_has_a_glue_database_named_for_its_environment(synthesized: dict[str, Synthesized], env: str) -> None:
    synthesized[env].template("Storage").has_resource_properties(
        "AWS::Glue::Database",
        {"CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseInput": Match.object_like({"Name": f"ml_data_lake_{env}"})},
    )


def test_catalog_metadata_and_connection_passwords_are_encrypted_with_the_lake_key(sandbox: Synthesized) -> None:
    template = sandbox.template("Storage")
    template.resource_count_is("AWS::Glue::DataCatalogEncryptionSettings", 1)
    template.has_resource_properties(
        "AWS::Glue::DataCatalogEncryptionSettings",
        {
            "CatalogId": {"Ref": "AWS::AccountId"},
            "DataCatalogEncryptionSettings": {
                "EncryptionAtRest": {"CatalogEncryptionMode": "SSE-KMS", "SseAwsKmsKeyId": _lake_key_arn(sandbox)},
                "ConnectionPasswordEncryption": {
                    "KmsKeyId": _lake_key_arn(sandbox),
                    "ReturnConnectionPasswordEncrypted": True,
                },
            },
        },
    )
    # The database is created once the catalog is encrypted
    settings_id = _logical_id(template, "AWS::Glue::DataCatalogEncryptionSettings", "Catalog")
    database = next(iter(template.find_resources("AWS::Glue::Database").values()))
    assert settings_id in database["DependsOn"]


def test_an_environment_sharing_the_account_leaves_catalog_encryption_alone(with_consumers: Synthesized) -> None:
    template = with_consumers.template("Storage")
    template.resource_count_is("AWS::Glue::DataCatalogEncryptionSettings", 0)
    template.resource_count_is("AWS::Glue::Database", 1)


def test_storage_exposes_what_later_stacks_use(sandbox: Synthesized) -> None:
    storage = sandbox.lake.storage
    template = sandbox.template("Storage")
    buckets = (storage.access_logs, storage.raw_zone, storage.curated_zone, storage.query_results)
    assert [Stack.of(b).resolve(b.bucket_name) for b in buckets] == [
        {"Ref": _bucket_id(sandbox, construct_id)} for construct_id in BUCKETS
    ]
    assert Stack.of(storage.database).resolve(storage.database.database_name) == {
        "Ref": _logical_id(template, "AWS::Glue::Database", "CatalogDatabase")
    }
    assert Stack.of(storage.consumer_role).resolve(storage.consumer_role.role_arn) == {
        "Fn::GetAtt": [_consumer_role(sandbox), "Arn"]
    }


def test_a_bucket_refuses_two_expiries() -> None:
    # Given a zone lifecycle that expires objects, and a separate expiry for the same bucket
    stack = Stack(App(), "Throwaway")
    lifecycle = ZoneLifecycle(expire_after_days=400)
    # When both are given, then the bucket refuses, naming itself and both values
    with pytest.raises(
        ValueError,
        match=r"Throwaway/Zone: expire_after_days=30 conflicts with the lifecycle's "
        r"expire_after_days=400",
    ):
        DataLakeBucket(
            stack,
            "Zone",
            name_prefix="lake-test-zone",
            key=kms.Key(stack, "Key"),
            access_logs=s3.Bucket(stack, "Logs"),
            lifecycle=lifecycle,
            expire_after_days=30,
            versioned=True,
            noncurrent_version_expiry_days=7,
            abort_incomplete_multipart_upload_days=1,
            removal=RemovalPolicy.DESTROY,
        )
