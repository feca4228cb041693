"""The notes' "consume -> frames -> ML inference -> notifications" for video, from APIs a new account can use.

Rekognition's streaming stream processors are closed to new customers, so an EventBridge schedule runs a Lambda that
samples frames from the stream with KVS `GetImages`, labels each with Rekognition `DetectLabels`, writes one JSON
line per frame under `video/labels/` of the curated zone (frames it cannot label under `video/errors/`, with the
reason), and puts one EventBridge event per frame that shows a watched label; a rule sends those to a notifier Lambda
that publishes on the alert topic. The hop is EventBridge, not a Kinesis stream: a stream bills per shard-hour (or
per stream-hour on demand) while idle, EventBridge only per event. Runs or notifications that still fail after
their retries wait in a dead-letter queue under the lake key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.checkov import skip_check
from infra.config.video import VideoSettings
from infra.constructs.alarms import AlertTarget, alarm
from infra.constructs.dead_letter_queue import dead_letter_queue
from infra.constructs.lambda_findings import acknowledge_outside_vpc, acknowledge_unreserved_concurrency
from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole

ASSET = Path(__file__).resolve().parents[2] / "lambdas" / "video_labeler"
DETAIL_TYPE = "Video labels matched"
EVENT_AGE = Duration.hours(6)
RETRIES = 2
# A run labels at most MAX_FRAMES_PER_RUN frames, each a DetectLabels call of a few hundred ms.
LABELER_TIMEOUT = Duration.minutes(10)


@dataclass(frozen=True)
class LabelerLogs:
    """Where the two functions log, and for how long."""

    labeler_group: str
    notifier_group: str
    retention_days: int


class VideoLabeler(Construct):
    """Schedule -> labeler Lambda -> curated zone + EventBridge -> notifier Lambda -> alert topic, with a DLQ."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stream_name: str,
        stream_arn: str,
        curated_zone: s3.IBucket,
        prefix: str,
        event_source: str,
        key: kms.IKey,
        alerts: AlertTarget,
        settings: VideoSettings,
        logs: LabelerLogs,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.prefix, self.event_source = prefix, event_source
        self.dead_letter_queue = dead_letter_queue(self, key=key, removal=removal, owner="the video unit")
        self.labeler = self._function(
            "Labeler",
            handler="handler.handler",
            description="Labels sampled video frames with Rekognition; writes them to the curated zone.",
            environment=_labeler_environment(stream_name, stream_arn, curated_zone, prefix, event_source, settings),
            memory_mb=settings.labeler_memory_mb,
            timeout=LABELER_TIMEOUT,
            key=key,
            log_group_name=logs.labeler_group,
            retention_days=logs.retention_days,
            removal=removal,
        )
        self.notifier = self._function(
            "Notifier",
            handler="notifier.handler",
            description="Publishes video frames that show a watched label to the alert topic.",
            environment={"TOPIC_ARN": alerts.topic.topic_arn},
            memory_mb=128,
            timeout=Duration.seconds(30),
            key=key,
            log_group_name=logs.notifier_group,
            retention_days=logs.retention_days,
            removal=removal,
        )
        self._grant_labeler(stream_arn, curated_zone, key)
        self._grant_notifier(alerts, key)
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Runs the video labeler over the window before each tick.",
            schedule=events.Schedule.rate(Duration.minutes(settings.schedule_minutes)),
            targets=[self._target(self.labeler)],
        )
        self.matches = events.Rule(
            self,
            "Matches",
            description="A video frame shows a watched label: notify operators.",
            event_pattern=events.EventPattern(source=[event_source], detail_type=[DETAIL_TYPE]),
            targets=[self._target(self.notifier)],
        )
        self._alarms(alerts)

    def _target(self, function: lambda_.IFunction) -> targets.LambdaFunction:
        return targets.LambdaFunction(
            function, dead_letter_queue=self.dead_letter_queue, retry_attempts=RETRIES, max_event_age=EVENT_AGE
        )

    def _function(
        self,
        id: str,
        *,
        handler: str,
        description: str,
        environment: dict[str, str],
        memory_mb: int,
        timeout: Duration,
        key: kms.IKey,
        log_group_name: str,
        retention_days: int,
        removal: RemovalPolicy,
    ) -> lambda_.Function:
        log_group = encrypted_log_group(
            self,
            f"{id}LogGroup",
            key=key,
            retention_days=retention_days,
            removal=removal,
            log_group_name=log_group_name,
        )
        role = ManagedPolicyRole(self, f"{id}Role", service="lambda.amazonaws.com", description=description)
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            id,
            description=description,
            code=lambda_.Code.from_asset(str(ASSET), exclude=["__pycache__", "*.pyc"]),
            handler=handler,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=memory_mb,
            timeout=timeout,
            environment=environment,
            # Failures of asynchronous invocations (after the retries below) keep their event here.
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=RETRIES,
            max_event_age=EVENT_AGE,
            role=role,
            log_group=log_group,
        )
        function.node.add_dependency(role)
        _acknowledge_function(function)
        return function

    def _grant_labeler(self, stream_arn: str, curated_zone: s3.IBucket, key: kms.IKey) -> None:
        """Read frames of this stream, write under the unit's prefix, put this unit's events; DetectLabels."""
        role = _role(self.labeler)
        objects = curated_zone.arn_for_objects(f"{self.prefix}*")
        default_bus = Stack.of(self).format_arn(service="events", resource="event-bus", resource_name="default")
        for statement in (
            iam.PolicyStatement(
                actions=["kinesisvideo:GetDataEndpoint", "kinesisvideo:GetImages"], resources=[stream_arn]
            ),
            # The stream's media and the curated zone are both encrypted with the lake key.
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn]),
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[objects]),
            iam.PolicyStatement(
                actions=["events:PutEvents"],
                resources=[default_bus],
                conditions={"StringEquals": {"events:source": self.event_source}},
            ),
            # DetectLabels has no resource to scope to (IAM's service authorization reference: resource type "*").
            iam.PolicyStatement(actions=["rekognition:DetectLabels"], resources=["*"]),
        ):
            role.add_to_principal_policy(statement)
        role.acknowledge_wildcard_resources(
            objects,
            reason="The labeler names each object after its window at run time; it writes only under the video "
            "prefix of the curated zone.",
        )
        role.acknowledge_wildcard_resources(
            "*",
            reason="Rekognition DetectLabels takes an image, not a resource: IAM offers no resource to scope it to.",
        )

    def _grant_notifier(self, alerts: AlertTarget, key: kms.IKey) -> None:
        """Publish to the alert topic, which is encrypted with the lake key."""
        role = _role(self.notifier)
        role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[alerts.topic.topic_arn]))
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
        )

    def _alarms(self, alerts: AlertTarget) -> None:
        five = Duration.minutes(5)
        self.error_alarm = alarm(
            self,
            "LabelerErrors",
            alerts=alerts,
            name="video-labeler-errors",
            metric=self.labeler.metric_errors(period=five, statistic=cloudwatch.Stats.SUM),
            threshold=0,
            description="A video labeler run failed (throttled or refused); Lambda retries it, then its event waits "
            "in the video dead-letter queue.",
        )
        self.throttle_alarm = alarm(
            self,
            "LabelerThrottles",
            alerts=alerts,
            name="video-labeler-throttles",
            metric=self.labeler.metric_throttles(period=five, statistic=cloudwatch.Stats.SUM),
            threshold=0,
            description="The video labeler was throttled: the account's Lambda concurrency is exhausted.",
        )
        self.dead_letter_alarm = alarm(
            self,
            "DeadLetters",
            alerts=alerts,
            name="video-dead-letters",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                statistic=cloudwatch.Stats.MAXIMUM, period=five
            ),
            threshold=0,
            description="A video labeler run or notification failed after retries; its event (with the scheduled "
            "time, so the window) waits in the video dead-letter queue for a rerun.",
        )


def _role(function: lambda_.Function) -> ManagedPolicyRole:
    role = function.role
    assert isinstance(role, ManagedPolicyRole)
    return role


def _labeler_environment(
    stream_name: str,
    stream_arn: str,
    curated_zone: s3.IBucket,
    prefix: str,
    event_source: str,
    settings: VideoSettings,
) -> dict[str, str]:
    """The labeler's configuration (lambdas/video_labeler/handler.py: Config)."""
    return {
        "STREAM_NAME": stream_name,
        "STREAM_ARN": stream_arn,
        "BUCKET": curated_zone.bucket_name,
        "PREFIX": prefix,
        "SCHEDULE_MINUTES": str(settings.schedule_minutes),
        "LAG_SECONDS": str(settings.lag_seconds),
        "SAMPLING_INTERVAL_MS": str(settings.sampling_interval_ms),
        "LOOKBACK_MS": str(settings.lookback_ms),
        "CLOCK": settings.timestamps,
        "IMAGE_FORMAT": settings.image_format,
        "WIDTH_PIXELS": str(settings.width_pixels),
        "MIN_CONFIDENCE": str(settings.min_confidence),
        "MAX_LABELS": str(settings.max_labels),
        "MAX_FRAMES": str(settings.frames_per_run),
        "WATCH_LABELS": json.dumps(list(settings.watch_labels)),
        "WATCH_MIN_CONFIDENCE": str(settings.watch_min_confidence),
        "EVENT_SOURCE": event_source,
    }


def _acknowledge_function(function: lambda_.Function) -> None:
    """What the compliance packs and checkov ask of a Lambda that does not apply to these two."""
    no_vpc = (
        "The video functions call Kinesis Video Streams, Rekognition, S3, EventBridge and SNS over TLS with IAM; the "
        "lake's VPC has no NAT and no endpoints for most of them, so inside it they could not reach them."
    )
    acknowledge_outside_vpc(function, reason=no_vpc)
    no_reservation = (
        "New accounts often allow only 10 concurrent executions in all and any reservation then fails the deploy; "
        "one scheduled run at a time (and one notification per matching frame) never needs a reserved pool."
    )
    acknowledge_unreserved_concurrency(function, reason=no_reservation)
    skip_check(
        function,
        "CKV_AWS_173",
        reason="The environment holds names, ARNs and sampling settings, no secret; Lambda encrypts it at rest with "
        "its AWS managed key, and a customer key would protect nothing more.",
    )
