"""The lake's buckets and catalog database (stateful: their logical IDs are pinned so a refactor never replaces one)."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.audit_trail import S3DataEventsTrail
from infra.constructs.catalog import LakeCatalog
from infra.constructs.consumer_access import CuratedZoneConsumers
from infra.constructs.lake_bucket import AccessLogsBucket, DataLakeBucket, Zone, bucket_name_prefix
from infra.constructs.log_group import lake_log_group_name


class StorageStack(Stack):
    """Raw, curated and query-result zones, their access logs and data-event trail, consumers and the Glue database."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        lake_key: kms.IKey,
        s3_endpoint: ec2.IGatewayVpcEndpoint,
        removal: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self._zones(settings, lake_key=lake_key, removal=removal)
        self.audit_trail = S3DataEventsTrail(
            self,
            "AuditTrail",
            buckets=[self.raw_zone, self.curated_zone, self.query_results],
            destination=self.access_logs,
            key=lake_key,
            log_group_name=lake_log_group_name(settings.resource_prefix, "cloudtrail", "s3-data-events"),
            log_retention_days=settings.log_retention_days,
            removal=removal,
        ).trail
        self.consumer_role = CuratedZoneConsumers(
            self,
            "Consumers",
            curated_zone=self.curated_zone,
            s3_endpoint=s3_endpoint,
            consumer_accounts=settings.consumer_accounts,
        ).role
        self.database = LakeCatalog(
            self,
            "Catalog",
            resource_prefix=settings.resource_prefix,
            environment=settings.name,
            key=lake_key,
            manage_catalog_encryption=settings.glue.manage_catalog_encryption,
            removal=removal,
        ).database

    def _zones(self, settings: EnvironmentSettings, *, lake_key: kms.IKey, removal: RemovalPolicy) -> None:
        """The access-log bucket, then the raw, curated and query-result zones that log to it."""
        storage, prefix = settings.storage, settings.resource_prefix
        self.access_logs = AccessLogsBucket(
            self,
            "AccessLogs",
            name_prefix=bucket_name_prefix(prefix, Zone.ACCESS_LOGS),
            expire_after_days=storage.access_log_expiry_days,
            removal=removal,
        ).bucket
        data_bucket: dict[str, Any] = {
            "key": lake_key,
            "access_logs": self.access_logs,
            "versioned": storage.versioning,
            "noncurrent_version_expiry_days": storage.noncurrent_version_expiry_days,
            "abort_incomplete_multipart_upload_days": storage.abort_incomplete_multipart_upload_days,
            "removal": removal,
        }
        self.raw_zone = DataLakeBucket(
            self, "RawZone", name_prefix=bucket_name_prefix(prefix, Zone.RAW), lifecycle=storage.raw, **data_bucket
        ).bucket
        self.curated_zone = DataLakeBucket(
            self,
            "CuratedZone",
            name_prefix=bucket_name_prefix(prefix, Zone.CURATED),
            lifecycle=storage.curated,
            # The anomaly notifier (Analytics stack) is triggered by new objects under analytics/kind=anomaly/.
            event_bridge=True,
            **data_bucket,
        ).bucket
        self.query_results = DataLakeBucket(
            self,
            "QueryResults",
            name_prefix=bucket_name_prefix(prefix, Zone.QUERY_RESULTS),
            lifecycle=None,
            expire_after_days=storage.query_results_expiry_days,
            **data_bucket,
        ).bucket
