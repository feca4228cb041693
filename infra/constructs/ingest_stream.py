"""The Kinesis data stream producers write to, sized from the expected load, with its lag and throttling alarms."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import KinesisSettings
from infra.guard import acknowledge_key_from_another_stack
from infra.nag import acknowledge
from infra.workload import serves

# Firehose polls every shard about once a second, so a healthy consumer lags by seconds. A quarter of an hour
# behind means a consumer is stalled or throttled, and still leaves almost all of the shortest retention (24 h)
# to fix it before unread records expire.
ITERATOR_AGE_THRESHOLD = Duration.minutes(15)
ALARM_PERIOD = Duration.minutes(5)
ON_DEMAND_EXPLANATION = "on-demand: AWS scales shards with the load (no shard count to plan)"


class IngestStream(Construct):
    """A KMS-encrypted Kinesis data stream: provisioned shards from the expected load, or on-demand."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        key: kms.IKey,
        capacity: KinesisSettings,
        alert_topic: sns.ITopic,
        alarm_name_prefix: str,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        provisioned = capacity.mode == "provisioned"
        plan = capacity.shard_plan()
        self.capacity_explanation = plan.explanation if provisioned else ON_DEMAND_EXPLANATION
        self.stream = kinesis.Stream(
            self,
            "Stream",
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=key,
            retention_period=Duration.hours(capacity.retention_hours),
            stream_mode=kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND,
            shard_count=plan.shards if provisioned else None,
            removal_policy=removal,
        )
        serves(self, "ingestion")
        acknowledge_key_from_another_stack(self.stream, "CT.KINESIS.PR.1", key=key)
        acknowledge(
            self.stream,
            "AwsSolutions-KDS3",
            reason="The customer-managed lake key is deliberate: one key with rotation, an auditable key policy and a "
            "deletion window protects the stream like every other copy of the data, and Kinesis caches data keys.",
        )
        action = cloudwatch_actions.SnsAction(alert_topic)

        self.iterator_age_alarm = self.stream.metric_get_records_iterator_age_milliseconds(
            statistic=cloudwatch.Stats.MAXIMUM, period=ALARM_PERIOD
        ).create_alarm(
            self,
            "IteratorAgeAlarm",
            alarm_name=f"{alarm_name_prefix}-IngestStream-IteratorAge",
            alarm_description=(
                f"A consumer of the ingest stream is more than {ITERATOR_AGE_THRESHOLD.to_minutes()} minutes behind; "
                f"records expire unread after {capacity.retention_hours} hours."
            ),
            threshold=ITERATOR_AGE_THRESHOLD.to_milliseconds(),
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            # No reads in a period means no data to lag behind, not a stuck consumer.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.iterator_age_alarm.add_alarm_action(action)

        self.write_throttled_alarm = self.stream.metric_write_provisioned_throughput_exceeded(
            statistic=cloudwatch.Stats.SUM, period=ALARM_PERIOD
        ).create_alarm(
            self,
            "WriteThrottledAlarm",
            alarm_name=f"{alarm_name_prefix}-IngestStream-WriteThrottled",
            alarm_description=(
                "Producers were throttled by the ingest stream (per shard: 1 MB/s or 1,000 records/s); "
                "raise the expected load in the kinesis settings to add shards."
            ),
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.write_throttled_alarm.add_alarm_action(action)
