"""Real-time analytics: the notes' Kinesis Data Analytics on Managed Service for Apache Flink (created, not started)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.analytics_consumer import EfoConsumer
from infra.constructs.analytics_delivery import OUTPUT_FOLDER, AnalyticsDelivery
from infra.constructs.anomaly_notifier import AnomalyNotifier
from infra.constructs.catalog import database_name
from infra.constructs.crawlers import ZoneCrawler
from infra.constructs.glue_security import GlueSecurity
from infra.constructs.lake_bucket import Zone, bucket_arn
from infra.constructs.stream_analytics import ApplicationInputs, StreamAnalyticsApplication
from infra.removal import removal_policy

ROOT = Path(__file__).resolve().parents[2]
# What `make flink-artifact` builds: the directory MSF expects for a Python application (CONTRACTS.md).
FLINK_ARTIFACT = ROOT / "build" / "flink" / "stream_analytics"
# The device inventory the Glue job joins is the application's reference table too: one file, two readers.
DEVICE_INVENTORY = ROOT / "glue_jobs" / "curate_events" / "devices.csv"
ANOMALY_PREFIX = f"{OUTPUT_FOLDER}kind=anomaly/"
# The crawler makes one table per kind: level 1 is the bucket, 2 `analytics/`, 3 `kind=<kind>/`.
KIND_TABLE_LEVEL = 3
TABLE_PREFIX = "analytics_"


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
        alert_topic: sns.ITopic,
        flink_artifact: Path = FLINK_ARTIFACT,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        analytics = settings.analytics
        removal = removal_policy(settings)
        prefix = f"ml-data-lake-{settings.name}"

        self.delivery = AnalyticsDelivery(
            self,
            "Delivery",
            name=f"{prefix}-analytics",
            curated_zone=curated_zone,
            key=lake_key,
            buffer_interval=Duration.seconds(analytics.buffer_interval_seconds),
            buffer_size_mb=analytics.buffer_size_mb,
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        self.crawler = self._crawler(prefix, settings.name, lake_key)
        self.notifier = AnomalyNotifier(
            self,
            "Notifier",
            curated_zone=curated_zone,
            anomaly_prefix=ANOMALY_PREFIX,
            key=lake_key,
            alert_topic=alert_topic,
            alert_threshold=analytics.alert_threshold,
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        self.consumer: EfoConsumer | None = None
        self.application: StreamAnalyticsApplication | None = None
        if analytics.enabled:
            self._application(prefix, settings, lake_key, ingest_stream, alert_topic, flink_artifact)
        self._outputs()

    def _crawler(self, prefix: str, environment: str, key: kms.IKey) -> ZoneCrawler:
        # The zone is named here by the name the Storage stack gives it, as the Processing stack does: every
        # acknowledged wildcard of the crawler's role must name its exact resource.
        curated = s3.Bucket.from_bucket_attributes(
            self, "CuratedZoneByName", bucket_arn=bucket_arn(self, environment, Zone.CURATED), encryption_key=key
        )
        return ZoneCrawler(
            self,
            "Crawler",
            name=f"{prefix}-analytics",
            zone=curated,
            folders=(OUTPUT_FOLDER,),
            database_name=database_name(environment),
            table_prefix=TABLE_PREFIX,
            key=key,
            security=GlueSecurity(self, "GlueSecurity", key=key, name=f"{prefix}-analytics"),
            table_level=KIND_TABLE_LEVEL,
        )

    def _application(
        self,
        prefix: str,
        settings: EnvironmentSettings,
        key: kms.IKey,
        stream: kinesis.IStream,
        topic: sns.ITopic,
        artifact: Path,
    ) -> None:
        if not (artifact / "main.py").is_file():
            raise FileNotFoundError(
                f"{artifact} has no main.py: build the Flink application first with `make flink-artifact` "
                "(`make synth` does), or set analytics.enabled to false"
            )
        name = f"{prefix}-stream-analytics"
        self.consumer = EfoConsumer(self, "Consumer", stream=stream, consumer_name=name, alert_topic=topic)
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
            alert_topic=topic,
            log_retention_days=settings.log_retention_days,
            removal=removal_policy(settings),
        )
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
