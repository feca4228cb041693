"""Streaming ingestion: producers write to a Kinesis stream, Firehose transforms and delivers it to the raw zone."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.alarms import AlertTarget
from infra.constructs.delivery_stream import RawZoneDelivery
from infra.constructs.ingest_stream import IngestStream
from infra.constructs.log_group import lake_log_group_name
from infra.constructs.transform_function import TransformFunction


class IngestionStack(Stack):
    """The ingest stream (stateful: it holds unread records), the transform Lambda and the delivery stream."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        lake_key: kms.IKey,
        raw_zone: s3.IBucket,
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
        self.delivery_stream = RawZoneDelivery(
            self,
            "Delivery",
            source=self.ingest_stream,
            raw_zone=raw_zone,
            key=lake_key,
            transform=self.transform_function,
            settings=settings.firehose,
            log_group_name=lake_log_group_name(settings.resource_prefix, "firehose", "raw-zone-delivery"),
            log_retention_days=settings.log_retention_days,
            alerts=alerts,
            removal=removal,
        ).delivery_stream

        # tools/producer.py finds the stream by the output key ending with IngestStreamName.
        CfnOutput(self, "IngestStreamName", value=self.ingest_stream.stream_name, description="Write records here.")
        CfnOutput(self, "IngestStreamArn", value=self.ingest_stream.stream_arn, description="The ingest stream.")
        CfnOutput(
            self,
            "DeliveryStreamName",
            value=self.delivery_stream.delivery_stream_name,
            description="Firehose delivery stream from the ingest stream to the raw zone.",
        )
        CfnOutput(self, "ShardPlan", value=ingest.capacity_explanation, description="How the shards were sized.")
