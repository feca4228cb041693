"""The Firehose delivery stream the Flink job writes every output to: one area of the curated zone per kind."""

from __future__ import annotations

from aws_cdk import CfnMapping, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.nag import acknowledge

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


class AnalyticsDelivery(Construct):
    """Direct-put Firehose, SSE with the lake key, partitioned by kind and event hour into the curated zone (GZIP JSON).

    JSON rather than Parquet: the five kinds have five schemas, and one delivery stream converts to one schema only.
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
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.key = key
        self.log_group = encrypted_log_group(
            self, "LogGroup", key=key, retention_days=log_retention_days, removal=removal
        )
        self.role = ManagedPolicyRole(
            self,
            "Role",
            service="firehose.amazonaws.com",
            description="Delivers analytics outputs to the curated zone.",
        )
        destination = firehose.S3Bucket(
            curated_zone,
            role=self.role,
            data_output_prefix=DATA_PREFIX,
            error_output_prefix=ERROR_PREFIX,
            dynamic_partitioning=firehose.DynamicPartitioningProps(enabled=True),
            processors=[
                firehose.MetadataExtractionProcessor.jq16(PARTITION_KEYS),
                # The Flink sink writes one JSON object per record with no separator; Athena reads one per line.
                firehose.AppendDelimiterToRecordProcessor(),
            ],
            buffering_interval=buffer_interval,
            buffering_size=Size.mebibytes(buffer_size_mb),
            compression=firehose.Compression.GZIP,
            encryption_key=key,
            logging_config=firehose.EnableLogging(self.log_group),
        )
        self.delivery_stream = firehose.DeliveryStream(
            self,
            "DeliveryStream",
            delivery_stream_name=name,
            destination=destination,
            encryption=firehose.StreamEncryption.customer_managed_key(key),
            role=self.role,
        )
        self.name = name
        _drop_unused_cidr_mapping(Stack.of(self))
        self._acknowledge_grants(curated_zone)

    def grant_put_records(self, grantee: iam.IGrantable) -> None:
        """Write batches to the stream; since 2026-04-20 a direct-put caller also needs the stream's key."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["firehose:PutRecordBatch"], resources=[self.delivery_stream.delivery_stream_arn]
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.key.key_arn])
        )

    def _acknowledge_grants(self, curated_zone: s3.IBucket) -> None:
        """The wildcards in the grants the Firehose L2 gives its role, each limited to one resource of this lake."""
        acknowledge(
            self.role.policy,
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            reason="The Firehose S3 destination grants its role read and write on the curated zone (grantReadWrite), "
            "which covers what Firehose needs (PutObject, AbortMultipartUpload, GetBucketLocation, ListBucket); "
            "every wildcard is limited to the curated zone bucket and its objects.",
        )
        acknowledge(
            self.role.policy,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
            reason="Firehose encrypts its buffer and writes SSE-KMS objects, which needs data keys of the lake key; "
            "the key actions are limited to that one key.",
        )
        self.role.acknowledge_wildcard_resources(
            curated_zone.arn_for_objects("*"),
            reason="Firehose writes objects under keys it computes at delivery time (analytics/kind=.../hour=... "
            "and analytics-errors/...), so the role needs the curated zone's object keys, and no other bucket's.",
        )


def _drop_unused_cidr_mapping(stack: Stack) -> None:
    """The L2 always adds a region-to-CIDR mapping for VPC destinations; unreferenced, it fails validation (W7001)."""
    for child in stack.node.children:
        if isinstance(child, CfnMapping) and child.node.id.endswith("aws-kinesisfirehose.CidrBlocks"):
            stack.node.try_remove_child(child.node.id)
