"""S3 buckets with the lake's security baseline, and the bucket their access logs go to.

Every bucket lives in the account-regional namespace: its name is a prefix chosen here
(`ml-data-lake-<env>-<zone>`) plus the suffix S3 adds, `-<account>-<region>-an`, which only this account can use.
The names are therefore known before the buckets exist, so the Network stack (deployed first) can name them in
its S3 endpoint policy without a reference to the Storage stack, and no other account can create a bucket that
the policy would let the VPC write to.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.checkov import skip_check
from infra.config import ZoneLifecycle
from infra.guard import acknowledge_control
from infra.nag import acknowledge

MINIMUM_TLS_VERSION = 1.2

# Objects tagged Classification=PHI are readable only by principals tagged Classification=PHI.
PHI_TAG_KEY = "Classification"
PHI_TAG_VALUE = "PHI"

# S3 adds `-<12-digit account>-<region>-an` (17 characters plus the region code) and allows 63 characters in all.
# With the longest commercial region codes (14 characters, e.g. ap-southeast-5), that leaves 32 for the prefix.
MAX_BUCKET_NAME_PREFIX = 63 - 17 - 14


class Zone(StrEnum):
    """A bucket of the lake; the value is the last part of its name prefix."""

    RAW = "raw"
    CURATED = "curated"
    QUERY_RESULTS = "results"
    ACCESS_LOGS = "logs"


# The buckets that hold data and are read or written from inside the VPC (the log bucket is written by S3 itself).
DATA_ZONES = (Zone.RAW, Zone.CURATED, Zone.QUERY_RESULTS)


def bucket_name_prefix(resource_prefix: str, zone: Zone) -> str:
    """The name prefix of one bucket of an environment, e.g. `ml-data-lake-sandbox-raw`; S3 appends the suffix."""
    # The settings cap environment names so that this always fits; a test checks the longest name and zone.
    return f"{resource_prefix}-{zone.value}"


def bucket_arn(scope: Construct, resource_prefix: str, zone: Zone) -> str:
    """The ARN the bucket of `zone` will have in the account and region of `scope`'s stack, known before it exists.

    Only for what is deployed before the Storage stack (the S3 endpoint's policy); later stacks get the buckets.
    """
    stack = Stack.of(scope)
    name = f"{bucket_name_prefix(resource_prefix, zone)}-{stack.account}-{stack.region}-an"
    return f"arn:{stack.partition}:s3:::{name}"


def _common(name_prefix: str, removal: RemovalPolicy) -> dict[str, Any]:
    """Settings every bucket of the lake shares: its name, no public access, no ACLs, TLS 1.2+ only, no SSE-C."""
    return {
        "bucket_name_prefix": name_prefix,
        "bucket_namespace": s3.BucketNamespace.ACCOUNT_REGIONAL,
        # SSE-C objects would be encrypted with keys the lake does not hold; S3 refuses such uploads outright.
        "blocked_encryption_types": [s3.BlockedEncryptionType.SSE_C],
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "enforce_ssl": True,
        "minimum_tls_version": MINIMUM_TLS_VERSION,
        "removal_policy": removal,
        # Emptying a bucket on delete is only ever allowed where the environment destroys its data.
        "auto_delete_objects": removal == RemovalPolicy.DESTROY,
    }


def _acknowledge_no_replication(bucket: s3.Bucket) -> None:
    """Every bucket of the lake stays in one region; replication is the organisation's disaster-recovery decision."""
    acknowledge(
        bucket,
        "HIPAA.Security-S3BucketReplicationEnabled",
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "PCI.DSS.321-S3BucketReplicationEnabled",
        reason="Every lake bucket is versioned and retained outside sandbox; a cross-region replica doubles "
        "storage cost and is left to the organisation's disaster-recovery plan.",
    )


class AccessLogsBucket(Construct):
    """The target of every data bucket's S3 server access logs; logs expire after a set number of days."""

    def __init__(
        self, scope: Construct, id: str, *, name_prefix: str, expire_after_days: int, removal: RemovalPolicy
    ) -> None:
        super().__init__(scope, id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            # S3 server access logging delivers only to buckets encrypted with SSE-S3.
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(expire_after_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            **_common(name_prefix, removal),
        )
        # cdk-nag sees the lake's buckets log here and asks for no logging of this one (S1); checkov does not.
        skip_check(
            self.bucket,
            "CKV_AWS_18",
            reason="This bucket is the server access log target itself, and logging it into itself would loop.",
        )
        acknowledge(
            self.bucket,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "PCI.DSS.321-S3DefaultEncryptionKMS",
            reason="S3 server access logging can only deliver to a bucket encrypted with SSE-S3, not SSE-KMS.",
        )
        acknowledge_control(
            self.bucket,
            "CT.S3.PR.10",
            reason="S3 server access logging can only deliver to a bucket encrypted with SSE-S3, not SSE-KMS.",
        )
        acknowledge_control(
            self.bucket,
            "CT.S3.PR.2",
            reason="This bucket is the server access log target itself, and logging it into itself would loop.",
        )
        _acknowledge_no_replication(self.bucket)
        _acknowledge_guard_controls(self.bucket, notifies=False)


class DataLakeBucket(Construct):
    """A bucket of the lake: SSE-KMS with a bucket key, TLS only, no public access, versioned, logged, tiered.

    Its policy refuses uploads that ask for another encryption than the lake key, and reads of PHI-tagged objects
    by principals without the PHI tag.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name_prefix: str,
        key: kms.IKey,
        access_logs: s3.IBucket,
        lifecycle: ZoneLifecycle | None,
        versioned: bool,
        noncurrent_version_expiry_days: int,
        abort_incomplete_multipart_upload_days: int,
        removal: RemovalPolicy,
        expire_after_days: int | None = None,
        event_bridge: bool = False,
    ) -> None:
        super().__init__(scope, id)
        if lifecycle is not None and expire_after_days is not None:
            raise ValueError(
                f"DataLakeBucket {self.node.path}: expire_after_days={expire_after_days} conflicts with the "
                f"lifecycle's expire_after_days={lifecycle.expire_after_days}; give the expiry in one place "
                "(lifecycle=None for a bucket that only expires)"
            )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            versioned=versioned,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{id}/",
            lifecycle_rules=_lifecycle_rules(
                lifecycle,
                expire_after_days=expire_after_days,
                noncurrent_days=noncurrent_version_expiry_days if versioned else None,
                abort_days=abort_incomplete_multipart_upload_days,
            ),
            **_common(name_prefix, removal),
        )
        if event_bridge:
            _send_events_to_event_bridge(self.bucket)
        for statement in (*forced_encryption_statements(self.bucket, key), phi_read_statement(self.bucket)):
            self.bucket.add_to_resource_policy(statement)
        _acknowledge_no_replication(self.bucket)
        _acknowledge_guard_controls(self.bucket, notifies=event_bridge)


def _send_events_to_event_bridge(bucket: s3.Bucket) -> None:
    """S3 sends every object event to EventBridge (free for AWS service events), where rules pick theirs.

    Set on the resource itself: the L2's event_bridge_enabled adds a custom-resource Lambda to do the same.
    """
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
    )


def _acknowledge_guard_controls(bucket: s3.IBucket, *, notifies: bool) -> None:
    """Control Tower controls that every bucket of the lake leaves off on purpose."""
    if not notifies:
        acknowledge_control(
            bucket,
            "CT.S3.PR.4",
            reason="Nothing in the lake reacts to single objects of this bucket: the workflow runs on a schedule and "
            "crawls whole prefixes, and every write and delete is recorded by the S3 data-event trail and the "
            "access logs.",
        )
    acknowledge_control(
        bucket,
        "CT.S3.PR.9",
        reason="Object Lock would block the lifecycle expiry and the erasure of personal data the lake must be able "
        "to do; versioning with noncurrent-version expiry and the data-event trail protect against loss instead.",
    )


# Condition keys of an upload's encryption headers.
SSE_ALGORITHM = "s3:x-amz-server-side-encryption"
SSE_KMS_KEY_ID = "s3:x-amz-server-side-encryption-aws-kms-key-id"


def forced_encryption_statements(bucket: s3.IBucket, key: kms.IKey) -> list[iam.PolicyStatement]:
    """Deny an upload that asks for another algorithm than SSE-KMS, or another KMS key than the lake key.

    Default encryption (SSE-KMS with the lake key) already covers an upload without encryption headers, so each
    statement applies only when the header is present (`Null: false`): clients that send no header keep working,
    and one that asks for SSE-S3 or its own key is refused instead of silently getting what it asked for. A client
    that names the key must name it by ARN, the form S3 compares.
    """
    objects = bucket.arn_for_objects("*")
    return [
        iam.PolicyStatement(
            sid="DenyUploadsAskingForAnotherEncryption",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:PutObject"],
            resources=[objects],
            conditions={"Null": {SSE_ALGORITHM: "false"}, "StringNotEquals": {SSE_ALGORITHM: "aws:kms"}},
        ),
        iam.PolicyStatement(
            sid="DenyUploadsAskingForAnotherKmsKey",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:PutObject"],
            resources=[objects],
            conditions={"Null": {SSE_KMS_KEY_ID: "false"}, "StringNotEquals": {SSE_KMS_KEY_ID: key.key_arn}},
        ),
    ]


def phi_read_statement(bucket: s3.IBucket) -> iam.PolicyStatement:
    """Deny reading (or re-tagging) a PHI-tagged object to every principal that is not itself tagged PHI.

    `StringNotEqualsIfExists` is true both for a principal with another Classification and for one with no
    Classification tag at all, so an untagged principal is denied too.
    """
    return iam.PolicyStatement(
        sid="DenyPhiToPrincipalsWithoutPhiTag",
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        # Changing or removing the tag would be a way around the read rule.
        actions=[
            "s3:GetObject*",
            "s3:PutObjectTagging",
            "s3:PutObjectVersionTagging",
            "s3:DeleteObjectTagging",
            "s3:DeleteObjectVersionTagging",
        ],
        resources=[bucket.arn_for_objects("*")],
        conditions={
            "StringEquals": {f"s3:ExistingObjectTag/{PHI_TAG_KEY}": PHI_TAG_VALUE},
            "StringNotEqualsIfExists": {f"aws:PrincipalTag/{PHI_TAG_KEY}": PHI_TAG_VALUE},
        },
    )


def _lifecycle_rules(
    lifecycle: ZoneLifecycle | None, *, expire_after_days: int | None, noncurrent_days: int | None, abort_days: int
) -> list[s3.LifecycleRule]:
    """The zone's transitions (Standard -> Standard-IA -> Glacier), expiry and clean-up as S3 lifecycle rules."""
    transitions = []
    expire = expire_after_days
    if lifecycle is not None:
        if lifecycle.infrequent_access_after_days is not None:
            transitions.append(
                s3.Transition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=Duration.days(lifecycle.infrequent_access_after_days),
                )
            )
        if lifecycle.glacier_after_days is not None:
            transitions.append(
                s3.Transition(
                    storage_class=s3.StorageClass.GLACIER, transition_after=Duration.days(lifecycle.glacier_after_days)
                )
            )
        expire = lifecycle.expire_after_days
    return [
        s3.LifecycleRule(
            id="TierAndExpire",
            transitions=transitions or None,
            expiration=Duration.days(expire) if expire is not None else None,
            noncurrent_version_expiration=Duration.days(noncurrent_days) if noncurrent_days is not None else None,
            abort_incomplete_multipart_upload_after=Duration.days(abort_days),
        )
    ]
