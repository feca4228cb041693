"""The Kinesis data stream producers write to, sized from the expected load, with its lag and throttling alarms."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.alarms import AlertTarget, alarm
from infra.guard import acknowledge_key_from_another_stack
from infra.nag import acknowledge
from infra.workload import serves

# Kinesis Data Streams per-shard limits (the study notes' numbers).
SHARD_INGEST_MB_PER_SECOND = 1.0
SHARD_INGEST_RECORDS_PER_SECOND = 1000
SHARD_EGRESS_MB_PER_SECOND = 2.0

# Firehose polls every shard about once a second, so a healthy consumer lags by seconds. A quarter of an hour
# behind means a consumer is stalled or throttled, and still leaves almost all of the shortest retention (24 h)
# to fix it before unread records expire.
ITERATOR_AGE_THRESHOLD = Duration.minutes(15)
ALARM_PERIOD = Duration.minutes(5)
ON_DEMAND_EXPLANATION = "on-demand: AWS scales shards with the load (no shard count to plan)"


@dataclass(frozen=True)
class ExpectedLoad:
    """What producers write and how many classic consumers read: what a provisioned stream is sized for."""

    ingest_mb_per_second: float
    records_per_second: int
    consumers: int


@dataclass(frozen=True)
class ShardPlan:
    """How many shards a provisioned stream needs for the expected load, and which limit decides it."""

    shards: int
    by_ingest_bytes: int
    by_ingest_records: int
    by_egress: int

    @property
    def explanation(self) -> str:
        """One sentence for a stack output: the three limits and the result."""
        return (
            f"{self.shards} shard(s) = max(ingest {self.by_ingest_bytes} by MB/s at 1 MB/s per shard, "
            f"{self.by_ingest_records} by records/s at 1,000 per shard, "
            f"{self.by_egress} by reads at 2 MB/s per shard shared by every consumer)"
        )


def plan_shards(load: ExpectedLoad, *, shards: int | None = None) -> ShardPlan:
    """Shards so that neither the per-shard write limits nor the shared read limit is exceeded.

    An explicit `shards` count is used as it is, but never below what the load needs.
    """
    by_bytes = math.ceil(load.ingest_mb_per_second / SHARD_INGEST_MB_PER_SECOND)
    by_records = math.ceil(load.records_per_second / SHARD_INGEST_RECORDS_PER_SECOND)
    by_egress = math.ceil(load.ingest_mb_per_second * load.consumers / SHARD_EGRESS_MB_PER_SECOND)
    needed = max(1, by_bytes, by_records, by_egress)
    if shards is not None and shards < needed:
        raise ValueError(f"{shards} shards cannot carry the expected load, which needs at least {needed}")
    return ShardPlan(shards or needed, by_bytes, by_records, by_egress)


class IngestStream(Construct):
    """A KMS-encrypted Kinesis data stream: provisioned shards from the expected load, or on-demand."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        key: kms.IKey,
        load: ExpectedLoad | None,
        shards: int | None = None,
        retention_hours: int,
        alerts: AlertTarget,
        removal: RemovalPolicy,
    ) -> None:
        """`load` sizes a provisioned stream (None: on-demand); `shards`, if given, overrides the planned count."""
        super().__init__(scope, id)
        if load is None and shards is not None:
            raise ValueError(f"{self.node.path}: an on-demand stream (no load to plan for) takes no shard count")
        plan = plan_shards(load, shards=shards) if load is not None else None
        self.capacity_explanation = plan.explanation if plan else ON_DEMAND_EXPLANATION
        self.stream = kinesis.Stream(
            self,
            "Stream",
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=key,
            retention_period=Duration.hours(retention_hours),
            stream_mode=kinesis.StreamMode.PROVISIONED if plan else kinesis.StreamMode.ON_DEMAND,
            shard_count=plan.shards if plan else None,
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
        self._add_alarms(alerts, retention_hours=retention_hours)

    def _add_alarms(self, alerts: AlertTarget, *, retention_hours: int) -> None:
        """A consumer falling behind (records would expire unread) and producers being throttled."""
        self.iterator_age_alarm = alarm(
            self,
            "IteratorAgeAlarm",
            alerts=alerts,
            name="ingest-stream-iterator-age",
            metric=self.stream.metric_get_records_iterator_age_milliseconds(
                statistic=cloudwatch.Stats.MAXIMUM, period=ALARM_PERIOD
            ),
            threshold=ITERATOR_AGE_THRESHOLD.to_milliseconds(),
            description=(
                f"A consumer of the ingest stream is more than {ITERATOR_AGE_THRESHOLD.to_minutes()} minutes behind; "
                f"records expire unread after {retention_hours} hours."
            ),
        )
        self.write_throttled_alarm = alarm(
            self,
            "WriteThrottledAlarm",
            alerts=alerts,
            name="ingest-stream-write-throttled",
            metric=self.stream.metric_write_provisioned_throughput_exceeded(
                statistic=cloudwatch.Stats.SUM, period=ALARM_PERIOD
            ),
            threshold=0,
            description=(
                "Producers were throttled by the ingest stream (per shard: 1 MB/s or 1,000 records/s); "
                "raise the expected load in the kinesis settings to add shards."
            ),
        )
