"""The lake's buckets (stateful: their logical IDs are pinned so a refactor never replaces one)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.lake_bucket import AccessLogsBucket, DataLakeBucket
from infra.removal import removal_policy


class StorageStack(Stack):
    """The raw zone and the access-log bucket."""

    def __init__(
        self, scope: Construct, id: str, *, settings: EnvironmentSettings, lake_key: kms.IKey, **kwargs: Any
    ) -> None:
        super().__init__(scope, id, **kwargs)
        removal = removal_policy(settings)
        storage = settings.storage

        self.access_logs = AccessLogsBucket(
            self, "AccessLogs", expire_after_days=storage.access_log_expiry_days, removal=removal
        ).bucket
        self.raw_zone = DataLakeBucket(
            self,
            "RawZone",
            key=lake_key,
            access_logs=self.access_logs,
            lifecycle=storage.raw,
            versioned=storage.versioning,
            noncurrent_version_expiry_days=storage.noncurrent_version_expiry_days,
            abort_incomplete_multipart_upload_days=storage.abort_incomplete_multipart_upload_days,
            removal=removal,
        ).bucket
