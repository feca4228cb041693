"""S3 buckets with the lake's security baseline, and the bucket their access logs go to."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import ZoneLifecycle
from infra.nag import acknowledge

MINIMUM_TLS_VERSION = 1.2


def _common(removal: RemovalPolicy) -> dict[str, Any]:
    """Settings every bucket of the lake shares: no public access, no ACLs, TLS 1.2+ only, deletion by setting."""
    return {
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

    def __init__(self, scope: Construct, id: str, *, expire_after_days: int, removal: RemovalPolicy) -> None:
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
            **_common(removal),
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "HIPAA.Security-S3BucketLoggingEnabled",
            "NIST.800.53.R5-S3BucketLoggingEnabled",
            "PCI.DSS.321-S3BucketLoggingEnabled",
            reason="This bucket is the server access log target itself, and logging it into itself would loop.",
        )
        acknowledge(
            self.bucket,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "PCI.DSS.321-S3DefaultEncryptionKMS",
            reason="S3 server access logging can only deliver to a bucket encrypted with SSE-S3, not SSE-KMS.",
        )
        _acknowledge_no_replication(self.bucket)


class DataLakeBucket(Construct):
    """A bucket of the lake: SSE-KMS with a bucket key, TLS only, no public access, versioned, logged, tiered."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        key: kms.IKey,
        access_logs: s3.IBucket,
        lifecycle: ZoneLifecycle | None,
        versioned: bool,
        noncurrent_version_expiry_days: int,
        abort_incomplete_multipart_upload_days: int,
        removal: RemovalPolicy,
        expire_after_days: int | None = None,
    ) -> None:
        super().__init__(scope, id)
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
            **_common(removal),
        )
        _acknowledge_no_replication(self.bucket)


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
