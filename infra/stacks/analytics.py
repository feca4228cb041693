"""Real-time analytics: the notes' Kinesis Data Analytics on Managed Service for Apache Flink (created, not started)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.alarms import AlertTarget
from infra.constructs.analytics_consumer import EfoConsumer
from infra.constructs.analytics_delivery import OUTPUT_FOLDER, AnalyticsDelivery
from infra.constructs.anomaly_notifier import AnomalyNotifier
from infra.constructs.crawlers import ZoneCrawler
from infra.constructs.glue_security import GlueSecurity
from infra.constructs.log_group import lake_log_group_name
from infra.constructs.stream_analytics import ApplicationInputs, StreamAnalyticsApplication
from infra.workload import serves

ROOT = Path(__file__).resolve().parents[2]
# The device inventory the Glue job joins is the application's reference table too: one file, two readers.
DEVICE_INVENTORY = ROOT / "glue_jobs" / "curate_events" / "devices.csv"
ANOMALY_PREFIX = f"{OUTPUT_FOLDER}kind=anomaly/"
# The crawler makes one table per kind: level 1 is the bucket, 2 `analytics/`, 3 `kind=<kind>/`.
KIND_TABLE_LEVEL = 3
TABLE_PREFIX = "analytics_"
WORKLOAD = "real-time analytics"


class AnalyticsStack(Stack):
    """Outputs Firehose, crawler and anomaly notifier always; the Flink application and its consumer when enabled."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        lake_key: kms.IKey,
        ingest_stream: kinesis.IStream,
        curated_zone: s3.IBucket,
        database: glue.IDatabase,
        alerts: AlertTarget,
        removal: RemovalPolicy,
        flink_artifact: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        analytics, prefix = settings.analytics, settings.resource_prefix
        self.delivery = AnalyticsDelivery(
            self,
            "Delivery",
            name=f"{prefix}-analytics",
            curated_zone=curated_zone,
            key=lake_key,
            buffer_interval=Duration.seconds(analytics.buffer_interval_seconds),
            buffer_size_mb=analytics.buffer_size_mb,
            log_group_name=lake_log_group_name(prefix, "firehose", "analytics-delivery"),
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        serves(self.delivery.delivery_stream, WORKLOAD)
        self.crawler = self._crawler(prefix, curated_zone=curated_zone, database=database, key=lake_key)
        self.notifier = AnomalyNotifier(
            self,
            "Notifier",
            curated_zone=curated_zone,
            anomaly_prefix=ANOMALY_PREFIX,
            key=lake_key,
            alerts=alerts,
            alert_threshold=analytics.alert_threshold,
            log_group_name=lake_log_group_name(prefix, "lambda", "anomaly-notifier"),
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        serves(self.notifier, WORKLOAD)
        self.consumer: EfoConsumer | None = None
        self.application: StreamAnalyticsApplication | None = None
        if analytics.enabled:
            if flink_artifact is None:
                raise ValueError("AnalyticsStack: analytics.enabled needs flink_artifact, the built Flink application")
            self._application(settings, lake_key, ingest_stream, alerts, flink_artifact, removal)
        self._outputs()

    def _crawler(
        self, prefix: str, *, curated_zone: s3.IBucket, database: glue.IDatabase, key: kms.IKey
    ) -> ZoneCrawler:
        """One table per output kind under analytics/ of the curated zone, in the lake's database.

        Its own security configuration (`<prefix>-analytics`, free) keeps this stack independent of Processing's;
        Glue names its log groups after it, inside the lake key's `/aws-glue/*<prefix>*` pattern.
        """
        return ZoneCrawler(
            self,
            "Crawler",
            name=f"{prefix}-analytics",
            zone=curated_zone,
            folders=(OUTPUT_FOLDER,),
            database=database,
            table_prefix=TABLE_PREFIX,
            key=key,
            security=GlueSecurity(self, "GlueSecurity", key=key, name=f"{prefix}-analytics"),
            table_level=KIND_TABLE_LEVEL,
        )

    def _application(
        self,
        settings: EnvironmentSettings,
        key: kms.IKey,
        stream: kinesis.IStream,
        alerts: AlertTarget,
        artifact: Path,
        removal: RemovalPolicy,
    ) -> None:
        """The Flink job on its own fan-out consumer, reading the device inventory, writing the analytics Firehose."""
        name = f"{settings.resource_prefix}-stream-analytics"
        self.consumer = EfoConsumer(self, "Consumer", stream=stream, consumer_name=name, alerts=alerts)
        serves(self.consumer, WORKLOAD)
        reference = s3_assets.Asset(self, "DeviceInventory", path=str(DEVICE_INVENTORY))
        self.application = StreamAnalyticsApplication(
            self,
            "Application",
            name=name,
            artifact=artifact,
            inputs=ApplicationInputs(
                stream_name=stream.stream_name,
                stream_arn=stream.stream_arn,
                region=self.region,
                consumer_name=name,
                delivery_stream_name=self.delivery.name,
                reference_path=reference.s3_object_url,
            ),
            settings=settings.analytics,
            key=key,
            alerts=alerts,
            log_group_name=lake_log_group_name(settings.resource_prefix, "flink", "stream-analytics"),
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        serves(self.application, WORKLOAD)
        role = self.application.role
        self.consumer.grant_subscribe(role)
        self.delivery.grant_put_records(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[reference.bucket.arn_for_objects(reference.s3_object_key)]
            )
        )
        # The job must not start (or be validated) before it may read its consumer, reference and sink.
        self.application.application.node.add_dependency(self.consumer.consumer, role.policy)

    def _outputs(self) -> None:
        CfnOutput(
            self,
            "AnalyticsDeliveryStreamName",
            value=self.delivery.name,
            description="Firehose the Flink job writes to.",
        )
        CfnOutput(self, "AnalyticsCrawlerName", value=self.crawler.name, description="Catalogs analytics/ by kind.")
        CfnOutput(
            self,
            "DeviceStatusTableName",
            value=self.notifier.table.table_name,
            description="Each device's latest anomaly.",
        )
        if self.application is not None:
            # tools/analytics.py finds the application (name and region) by the output key AnalyticsApplicationArn.
            CfnOutput(
                self,
                "AnalyticsApplicationArn",
                value=self.application.arn,
                description="The Flink application: make analytics-start / analytics-stop / analytics-status.",
            )
