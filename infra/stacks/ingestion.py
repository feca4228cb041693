"""Streaming ingestion: producers write to a Kinesis stream, Firehose transforms and delivers it to the raw zone."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.alarms import AlertTarget
from infra.constructs.delivery_stream import RAW_EVENTS, RawZoneDelivery
from infra.constructs.ingest_stream import IngestStream
from infra.constructs.log_group import lake_log_group_name
from infra.constructs.raw_events_table import RawEventsTable
from infra.constructs.transform_function import TransformFunction
from infra.schema import event_schema


class IngestionStack(Stack):
    """The ingest stream (stateful: it holds unread records), the transform Lambda, Firehose and the raw table."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        lake_key: kms.IKey,
        raw_zone: s3.IBucket,
        database: glue.IDatabase,
        alerts: AlertTarget,
        removal: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        ingest = IngestStream(
            self,
            "IngestStream",
            key=lake_key,
            load=settings.kinesis.expected_load(),
            shards=settings.kinesis.shards,
            retention_hours=settings.kinesis.retention_hours,
            alerts=alerts,
            removal=removal,
        )
        self.ingest_stream = ingest.stream
        self.transform_function = TransformFunction(
            self,
            "Transform",
            settings=settings.firehose,
            key=lake_key,
            log_group_name=lake_log_group_name(settings.resource_prefix, "lambda", "firehose-transform"),
            alerts=alerts,
            log_retention_days=settings.log_retention_days,
            removal=removal,
        ).function
        self.raw_events_table = self._raw_events_table(settings, database=database, raw_zone=raw_zone)
        self.delivery_stream = RawZoneDelivery(
            self,
            "Delivery",
            source=self.ingest_stream,
            raw_zone=raw_zone,
            key=lake_key,
            transform=self.transform_function,
            table=self.raw_events_table,
            settings=settings.firehose,
            log_group_name=lake_log_group_name(settings.resource_prefix, "firehose", "raw-zone-delivery"),
            log_retention_days=settings.log_retention_days,
            alerts=alerts,
            removal=removal,
        ).delivery_stream
        self._outputs(ingest.capacity_explanation)

    def _raw_events_table(
        self, settings: EnvironmentSettings, *, database: glue.IDatabase, raw_zone: s3.IBucket
    ) -> RawEventsTable:
        """The raw zone's table, next to the stream whose objects it describes: Firehose's conversion reads it."""
        return RawEventsTable(
            self,
            "RawEventsTable",
            database=database,
            raw_zone=raw_zone,
            prefix=RAW_EVENTS,
            schema=event_schema(),
            partitioning=settings.firehose.partitioning,
            record_format=settings.firehose.record_format,
        )

    def _outputs(self, shard_plan: str) -> None:
        """What a user or tools/producer.py and tools/smoke.py read after a deploy."""
        # tools/producer.py finds the stream by the output key ending with IngestStreamName.
        CfnOutput(self, "IngestStreamName", value=self.ingest_stream.stream_name, description="Write records here.")
        CfnOutput(self, "IngestStreamArn", value=self.ingest_stream.stream_arn, description="The ingest stream.")
        CfnOutput(
            self,
            "DeliveryStreamName",
            value=self.delivery_stream.delivery_stream_name,
            description="Firehose delivery stream from the ingest stream to the raw zone.",
        )
        # tools/smoke.py checks that this table is in the catalog.
        CfnOutput(
            self,
            "RawEventsTableName",
            value=self.raw_events_table.name,
            description="The raw zone's Glue table, declared from the event schema (partition projection, no crawler).",
        )
        CfnOutput(self, "ShardPlan", value=shard_plan, description="How the shards were sized.")
