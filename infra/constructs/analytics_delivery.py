"""The Firehose delivery stream the Flink job writes every output to: one area of the curated zone per kind."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole

# The kinds of record the job writes (CONTRACTS.md); each becomes one folder and, once crawled, one table.
OUTPUT_KINDS = ("device_metrics", "site_metrics", "anomaly", "hotspot", "error")
OUTPUT_FOLDER = "analytics/"
ERROR_FOLDER = "analytics-errors/"
# Dynamic partitioning reads the keys out of each JSON record (JQ 1.6): the kind, and the hour of the record's own
# event time (ISO-8601 UTC, `2026-11-26T08:15:00Z`), not its arrival time, so late records land in their hour.
PARTITION_KEYS = {
    "kind": ".kind",
    "year": ".event_time[0:4]",
    "month": ".event_time[5:7]",
    "day": ".event_time[8:10]",
    "hour": ".event_time[11:13]",
}
DATA_PREFIX = (
    OUTPUT_FOLDER + "kind=!{partitionKeyFromQuery:kind}/year=!{partitionKeyFromQuery:year}/"
    "month=!{partitionKeyFromQuery:month}/day=!{partitionKeyFromQuery:day}/hour=!{partitionKeyFromQuery:hour}/"
)
# A record without a kind or an event time cannot be partitioned: Firehose keeps it here with the failure's type.
ERROR_PREFIX = (
    ERROR_FOLDER + "!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
)
# How long Firehose retries a failed write to S3 before the records go to the error prefix.
RETRY_SECONDS = 300
CFN = firehose.CfnDeliveryStream


def metadata_extraction_query() -> str:
    """The JQ 1.6 object Firehose evaluates on each record to get its partition keys."""
    return "{" + ",".join(f'"{key}":{expression}' for key, expression in PARTITION_KEYS.items()) + "}"


class AnalyticsDelivery(Construct):
    """Direct-put Firehose, SSE with the lake key, partitioned by kind and event hour into the curated zone (GZIP JSON).

    JSON rather than Parquet: the five kinds have five schemas, and one delivery stream converts to one schema only.
    The L1 resource rather than the L2: the L2's S3 destination grants its role read, write and delete on the whole
    bucket, and this stream shares the curated zone with the curated events; its role writes only its own folders.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        curated_zone: s3.IBucket,
        key: kms.IKey,
        buffer_interval: Duration,
        buffer_size_mb: int,
        log_group_name: str,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.key, self.name = key, name
        self.log_group = encrypted_log_group(
            self,
            "LogGroup",
            key=key,
            retention_days=log_retention_days,
            removal=removal,
            log_group_name=log_group_name,
        )
        log_stream = logs.LogStream(self, "S3Delivery", log_group=self.log_group, removal_policy=removal)
        self.role = ManagedPolicyRole(
            self,
            "Role",
            service="firehose.amazonaws.com",
            description="Delivers analytics outputs to the curated zone.",
        )
        self._grant_delivery(curated_zone, log_stream)
        self.delivery_stream = CFN(
            self,
            "DeliveryStream",
            delivery_stream_name=name,
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=CFN.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="CUSTOMER_MANAGED_CMK", key_arn=key.key_arn
            ),
            extended_s3_destination_configuration=self._destination(
                curated_zone, log_stream, buffer_interval=buffer_interval, buffer_size_mb=buffer_size_mb
            ),
        )
        # Firehose checks that its role may write before it creates the stream.
        self.delivery_stream.node.add_dependency(self.role.policy)
        self.delivery_stream_arn = self.delivery_stream.attr_arn

    def _destination(
        self, curated_zone: s3.IBucket, log_stream: logs.LogStream, *, buffer_interval: Duration, buffer_size_mb: int
    ) -> firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty:
        """GZIP JSON into analytics/kind=.../hour=.../ of the curated zone, under the lake key, logged."""
        return CFN.ExtendedS3DestinationConfigurationProperty(
            bucket_arn=curated_zone.bucket_arn,
            role_arn=self.role.role_arn,
            prefix=DATA_PREFIX,
            error_output_prefix=ERROR_PREFIX,
            buffering_hints=CFN.BufferingHintsProperty(
                interval_in_seconds=int(buffer_interval.to_seconds()), size_in_m_bs=buffer_size_mb
            ),
            compression_format="GZIP",
            encryption_configuration=CFN.EncryptionConfigurationProperty(
                kms_encryption_config=CFN.KMSEncryptionConfigProperty(awskms_key_arn=self.key.key_arn)
            ),
            cloud_watch_logging_options=CFN.CloudWatchLoggingOptionsProperty(
                enabled=True,
                log_group_name=self.log_group.log_group_name,
                log_stream_name=log_stream.log_stream_name,
            ),
            dynamic_partitioning_configuration=CFN.DynamicPartitioningConfigurationProperty(
                enabled=True, retry_options=CFN.RetryOptionsProperty(duration_in_seconds=RETRY_SECONDS)
            ),
            processing_configuration=_processing(),
        )

    def _grant_delivery(self, curated_zone: s3.IBucket, log_stream: logs.LogStream) -> None:
        """What Firehose needs for an S3 destination (AWS's documented list), on this stream's folders only."""
        folders = [curated_zone.arn_for_objects(f"{folder}*") for folder in (OUTPUT_FOLDER, ERROR_FOLDER)]
        stream_arn = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{self.log_group.log_group_name}:log-stream:{log_stream.log_stream_name}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for statement in (
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[curated_zone.bucket_arn],
            ),
            iam.PolicyStatement(actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], resources=folders),
            # The stream's buffer and the objects are both encrypted with the lake key.
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn]),
            iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=[stream_arn]),
        ):
            self.role.add_to_principal_policy(statement)
        self.role.acknowledge_wildcard_resources(
            *folders,
            reason="Firehose names each object at delivery time (analytics/kind=.../hour=..., analytics-errors/...), "
            "so the role writes any object of those two folders of the curated zone, and nothing else there.",
        )

    def grant_put_records(self, grantee: iam.IGrantable) -> None:
        """Write batches to the stream; since 2026-04-20 a direct-put caller also needs the stream's key."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["firehose:PutRecordBatch"], resources=[self.delivery_stream_arn])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn])
        )


def _processing() -> firehose.CfnDeliveryStream.ProcessingConfigurationProperty:
    """Partition keys out of each JSON record, then a newline after it (the Flink sink writes none)."""
    return CFN.ProcessingConfigurationProperty(
        enabled=True,
        processors=[
            CFN.ProcessorProperty(
                type="MetadataExtraction",
                parameters=[
                    CFN.ProcessorParameterProperty(
                        parameter_name="MetadataExtractionQuery", parameter_value=metadata_extraction_query()
                    ),
                    CFN.ProcessorParameterProperty(parameter_name="JsonParsingEngine", parameter_value="JQ-1.6"),
                ],
            ),
            CFN.ProcessorProperty(type="AppendDelimiterToRecord"),
        ],
    )
