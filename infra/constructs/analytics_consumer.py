"""The analytics application's enhanced fan-out consumer of the ingest stream, and its lag alarm."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from constructs import Construct

from infra.constructs.alarms import AlertTarget, alarm
from infra.constructs.managed_policy_role import ManagedPolicyRole

# A healthy EFO consumer is pushed records within about 70 ms. A quarter of an hour behind means the job is stalled
# or back-pressured, and still leaves almost all of the shortest retention (24 h) to catch up before records expire.
LAG_THRESHOLD = Duration.minutes(15)
ALARM_PERIOD = Duration.minutes(5)


class EfoConsumer(Construct):
    """A registered (enhanced fan-out) consumer: its own 2 MB/s per shard, so Firehose keeps the shared 2 MB/s.

    The Flink source finds it by name (`source.efo.lifecycle` SELF_MANAGED), so the consumer's life follows the
    stack's, not the job's: it is billed per shard-hour from creation, whether the job runs or not.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stream: kinesis.IStream,
        consumer_name: str,
        alerts: AlertTarget,
    ) -> None:
        super().__init__(scope, id)
        self.stream = stream
        self.consumer = kinesis.StreamConsumer(self, "Consumer", stream=stream, stream_consumer_name=consumer_name)
        self.name = consumer_name
        # SubscribeToShard and DescribeStreamConsumer are authorized on the consumer's ARN, which ends with its
        # creation time; the name-based pattern also covers a consumer re-created under the same name.
        self.arn_pattern = f"{stream.stream_arn}/consumer/{consumer_name}:*"
        lag = cloudwatch.Metric(
            namespace="AWS/Kinesis",
            metric_name="SubscribeToShardEvent.MillisBehindLatest",
            dimensions_map={"StreamName": stream.stream_name, "ConsumerName": consumer_name},
            statistic=cloudwatch.Stats.MAXIMUM,
            period=ALARM_PERIOD,
        )
        self.lag_alarm = alarm(
            self,
            "MillisBehindLatest",
            alerts=alerts,
            name="stream-analytics-consumer-behind",
            metric=lag,
            threshold=LAG_THRESHOLD.to_milliseconds(),
            description=f"The analytics consumer {consumer_name} is more than {LAG_THRESHOLD.to_minutes()} minutes "
            "behind the ingest stream: the Flink job is stalled or back-pressured; records expire unread at the end "
            "of retention.",
        )

    def grant_subscribe(self, role: ManagedPolicyRole) -> None:
        """Read the stream through this consumer only: describe it, list shards, subscribe to them."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kinesis:DescribeStreamSummary", "kinesis:ListShards"], resources=[self.stream.stream_arn]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"], resources=[self.arn_pattern]
            )
        )
        role.acknowledge_wildcard_resources(
            self.arn_pattern,
            reason="A consumer's ARN ends with its creation time, which the job cannot know; the pattern names this "
            "stream and this consumer's name, so it reaches no other consumer.",
        )
        if self.stream.encryption_key is not None:
            self.stream.encryption_key.grant_decrypt(role)
