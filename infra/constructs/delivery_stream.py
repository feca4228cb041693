"""The Firehose delivery stream from the ingest stream to the raw zone: transform, partition, convert or compress."""

from __future__ import annotations

from aws_cdk import CfnMapping, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import FirehoseSettings
from infra.constructs.alarms import AlertTarget, alarm
from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.constructs.raw_events_table import RawEventsTable
from infra.nag import acknowledge
from infra.workload import serves

# The raw zone's folder of events: Firehose writes under it, the job curates it, the raw table is declared over it.
RAW_EVENTS = "events/"
# Hive-style prefixes, so crawlers and Athena see year/month/day/hour (and device_id) as partition columns.
# `!{timestamp:...}` is the record's arrival time in UTC; `yyyy` is the calendar year (`YYYY` is the week year).
TIME_PREFIX = RAW_EVENTS + "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
# With device partitioning the transform returns the keys, the time ones taken from the reading's own timestamp.
DEVICE_PREFIX = (
    RAW_EVENTS + "device_id=!{partitionKeyFromLambda:device_id}/year=!{partitionKeyFromLambda:year}/"
    "month=!{partitionKeyFromLambda:month}/day=!{partitionKeyFromLambda:day}/hour=!{partitionKeyFromLambda:hour}/"
)
# Records Firehose could not transform, partition or deliver, kept apart by the kind of failure.
ERROR_PREFIX = "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
# Normalising a batch can almost triple it (CSV to JSON, then base64); 1 MB batches keep the transform's response
# far below Lambda's 6 MB limit for synchronous invocations.
TRANSFORM_BATCH = Size.mebibytes(1)
TRANSFORM_BATCH_INTERVAL = Duration.seconds(60)
ALARM_PERIOD = Duration.minutes(5)
# What Firehose's documentation grants a delivery role on its S3 destination: no s3:DeleteObject.
BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads")
OBJECT_ACTIONS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject")


def freshness_threshold(buffer_interval_seconds: int) -> Duration:
    """How old the oldest undelivered record may get before the alarm fires.

    A healthy stream delivers within one buffer interval (up to 1.5 of them with dynamic partitioning, which
    buffers in stages), plus the transform's own 60 s batch and call. Twice the interval plus five minutes is
    only exceeded when a delivery was missed, not by a slow one.
    """
    return Duration.seconds(2 * buffer_interval_seconds + 300)


def _drop_unused_cidr_mapping(stack: Stack) -> None:
    """The L2 always adds a region-to-CIDR mapping for destinations inside a VPC; an S3 destination never reads it,
    and an unreferenced mapping fails CloudFormation validation (W7001)."""
    for child in stack.node.children:
        if isinstance(child, CfnMapping) and child.node.id.endswith("aws-kinesisfirehose.CidrBlocks"):
            stack.node.try_remove_child(child.node.id)


class RawZoneDelivery(Construct):
    """Firehose from a Kinesis stream to the raw zone: Lambda transform, GZIP JSON or Parquet, SSE-KMS, alarmed."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        source: kinesis.IStream,
        raw_zone: s3.IBucket,
        key: kms.IKey,
        transform: lambda_.IFunction,
        table: RawEventsTable,
        settings: FirehoseSettings,
        log_group_name: str,
        log_retention_days: int,
        alerts: AlertTarget,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        serves(self, "ingestion")
        by_device = settings.partitioning == "device"
        self.data_prefix = DEVICE_PREFIX if by_device else TIME_PREFIX
        self.error_prefix = ERROR_PREFIX
        self.log_group = encrypted_log_group(
            self,
            "LogGroup",
            key=key,
            retention_days=log_retention_days,
            removal=removal,
            log_group_name=log_group_name,
        )
        # One role for reading the stream, calling the transform, writing the bucket and the logs.
        self.role = ManagedPolicyRole(
            self, "Role", service="firehose.amazonaws.com", description="Delivers the ingest stream to the raw zone."
        )
        destination = self._destination(
            raw_zone, transform=transform, key=key, settings=settings, dynamic_partitioning=by_device, table=table
        )
        self.delivery_stream = firehose.DeliveryStream(
            self,
            "DeliveryStream",
            source=firehose.KinesisStreamSource(source),
            destination=destination,
            role=self.role,
        )
        _drop_unused_cidr_mapping(Stack.of(self))
        self._grant_delivery(raw_zone=raw_zone, key=key, transform=transform)
        if settings.record_format == "parquet":
            self._grant_schema_read(table=table, key=key)
        # Firehose checks at creation that its role can write the bucket.
        self.delivery_stream.node.add_dependency(self.role.policy)
        acknowledge(
            self.delivery_stream,
            "AwsSolutions-KDF1",
            reason="Firehose server-side encryption applies only to Direct PUT delivery streams; this one reads a "
            "Kinesis stream encrypted with the lake key and writes SSE-KMS objects with the same key.",
        )
        self.data_freshness_alarm = self._alarm_on_freshness(
            alerts, buffer_interval_seconds=settings.buffer_interval_seconds
        )

    def _alarm_on_freshness(self, alerts: AlertTarget, *, buffer_interval_seconds: int) -> cloudwatch.Alarm:
        """Records waiting far longer than a buffer interval: delivery to the raw zone is failing."""
        return alarm(
            self,
            "DataFreshnessAlarm",
            alerts=alerts,
            name="delivery-data-freshness",
            # Firehose reports freshness only while it holds records; an idle stream is a healthy one.
            metric=self.delivery_stream.metric(
                "DeliveryToS3.DataFreshness", statistic=cloudwatch.Stats.MAXIMUM, period=ALARM_PERIOD
            ),
            threshold=freshness_threshold(buffer_interval_seconds).to_seconds(),
            description=(
                "The oldest record in Firehose has waited longer than two buffer intervals plus five minutes "
                "for delivery to the raw zone; see the delivery stream's log group."
            ),
        )

    def _destination(
        self,
        raw_zone: s3.IBucket,
        *,
        transform: lambda_.IFunction,
        key: kms.IKey,
        settings: FirehoseSettings,
        dynamic_partitioning: bool,
        table: RawEventsTable,
    ) -> firehose.S3Bucket:
        """The raw zone as Firehose writes it: transformed, partitioned, buffered, GZIP or Parquet, SSE-KMS, logged."""
        to_parquet = settings.record_format == "parquet"
        return firehose.S3Bucket(
            raw_zone,
            # The S3 destination would grant its role read and write on the bucket, deletes included: it gets the
            # role without policy updates, and the role exactly what Firehose documents (_grant_delivery).
            role=self.role.without_policy_updates(),
            data_output_prefix=self.data_prefix,
            error_output_prefix=self.error_prefix,
            # The L2 supports Lambda partition keys directly: no CloudFormation override is needed.
            dynamic_partitioning=firehose.DynamicPartitioningProps(enabled=True) if dynamic_partitioning else None,
            processors=[
                firehose.LambdaFunctionProcessor(
                    transform, buffer_size=TRANSFORM_BATCH, buffer_interval=TRANSFORM_BATCH_INTERVAL
                )
            ],
            buffering_interval=Duration.seconds(settings.buffer_interval_seconds),
            buffering_size=Size.mebibytes(settings.buffer_size_mb),
            # Parquet compresses its own pages (Snappy); Firehose refuses a second compression on top of it.
            compression=None if to_parquet else firehose.Compression.GZIP,
            data_format_conversion=_to_parquet(table) if to_parquet else None,
            encryption_key=key,
            logging_config=firehose.EnableLogging(self.log_group),
        )

    def _grant_schema_read(self, *, table: RawEventsTable, key: kms.IKey) -> None:
        """Record format conversion reads the declared table's columns from the catalog, encrypted with the lake key."""
        table.grant_schema_read(self.role)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"glue.{Stack.of(self).region}.amazonaws.com"}},
            )
        )

    def _grant_delivery(self, *, raw_zone: s3.IBucket, key: kms.IKey, transform: lambda_.IFunction) -> None:
        """What Firehose documents for an S3 destination with a Lambda transform and logging, and nothing more.

        No delete: the role can write new objects under the raw zone and never remove one.
        """
        statements = [
            iam.PolicyStatement(actions=list(BUCKET_ACTIONS), resources=[raw_zone.bucket_arn]),
            iam.PolicyStatement(actions=list(OBJECT_ACTIONS), resources=[raw_zone.arn_for_objects("*")]),
            # SSE-KMS objects take a data key of the lake key, only through S3.
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"], resources=[transform.function_arn]
            ),
        ]
        for statement in statements:
            self.role.add_to_principal_policy(statement)
        self.log_group.grant_write(self.role)
        self.role.acknowledge_wildcard_resources(
            raw_zone.arn_for_objects("*"),
            reason="Firehose writes objects under keys it computes at delivery time (events/... and errors/... with "
            "the date and device in them), so the role needs the raw zone's object keys, and no other bucket's.",
        )


def _to_parquet(table: RawEventsTable) -> firehose.DataFormatConversionProps:
    """JSON records (as the transform returns them) to Snappy Parquet, with the declared table's columns.

    The OpenX deserializer reads the transform's `event_time` (ISO-8601 UTC with Z, milliseconds when there are
    some) as a timestamp; fields the table does not declare are left out of the Parquet rows. A record that does not
    convert goes to the error prefix as `format-conversion-failed`.
    """
    return firehose.DataFormatConversionProps(
        input_format=firehose.InputFormat.OPENX_JSON,
        output_format=firehose.OutputFormat.PARQUET,
        # LATEST: a new schema version of the table (a new field in the schema file) is picked up without a redeploy
        # of the stream.
        schema_configuration=firehose.SchemaConfiguration.from_cfn_table(table.table, version_id="LATEST"),
    )
