"""The notes' "Kinesis Data Streams -> notifications -> Lambda": anomalies above a threshold reach operators.

The Flink job writes anomalies through Firehose to `analytics/kind=anomaly/` of the curated zone; S3 announces each
new object on EventBridge, and a rule invokes the notifier. Nothing here costs money while idle (no stream, no
poller), at the price of the Firehose buffer interval in the alert's latency. An invocation that still fails after
Lambda's retries lands in a dead-letter queue under the lake key, with the event naming the object.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.checkov import skip_check
from infra.constructs.alarms import AlertTarget, alarm
from infra.constructs.dead_letter_queue import dead_letter_queue
from infra.constructs.lambda_findings import acknowledge_outside_vpc, acknowledge_unreserved_concurrency
from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.nag import acknowledge

ASSET = Path(__file__).resolve().parents[2] / "lambdas" / "anomaly_notifier"
EVENT_AGE = Duration.hours(6)
RETRIES = 2


class AnomalyNotifier(Construct):
    """EventBridge rule -> Lambda -> alert topic + device-status table (DynamoDB), with a dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        curated_zone: s3.IBucket,
        anomaly_prefix: str,
        key: kms.IKey,
        alerts: AlertTarget,
        alert_threshold: float,
        log_group_name: str,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.table = self._device_status_table(key, removal)
        self.dead_letter_queue = dead_letter_queue(self, key=key, removal=removal, owner="the notifier")
        self.function = self._function(
            key,
            alerts.topic,
            alert_threshold,
            log_group_name=log_group_name,
            retention_days=log_retention_days,
            removal=removal,
        )
        self._grant(curated_zone, anomaly_prefix, key, alerts.topic)
        self.rule = self._rule(curated_zone, anomaly_prefix)
        self.dead_letter_alarm = alarm(
            self,
            "NotifierDeadLetters",
            alerts=alerts,
            name="anomaly-notifier-dead-letters",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                statistic=cloudwatch.Stats.MAXIMUM, period=Duration.minutes(5)
            ),
            threshold=0,
            description="An anomaly object could not be notified after retries; its event (bucket and key) waits in "
            "the notifier's dead-letter queue for a replay.",
        )

    def _device_status_table(self, key: kms.IKey, removal: RemovalPolicy) -> dynamodb.Table:
        """One item per device: its latest anomaly. On-demand, PITR, the lake key; protected where data is kept."""
        table = dynamodb.Table(
            self,
            "DeviceStatus",
            partition_key=dynamodb.Attribute(name="device_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=removal == RemovalPolicy.RETAIN,
            removal_policy=removal,
        )
        acknowledge(
            table,
            "HIPAA.Security-DynamoDBInBackupPlan",
            "NIST.800.53.R5-DynamoDBInBackupPlan",
            reason="Point-in-time recovery keeps 35 days of continuous backups, and the table is a derived view "
            "(each device's latest anomaly) that replaying the anomaly objects in the curated zone rebuilds.",
        )
        return table

    def _rule(self, curated_zone: s3.IBucket, anomaly_prefix: str) -> events.Rule:
        """New anomaly objects invoke the notifier; events it cannot take after retries go to the queue."""
        return events.Rule(
            self,
            "AnomalyObjectCreated",
            description="A new object of anomaly records in the curated zone: notify operators.",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [curated_zone.bucket_name]},
                    "object": {"key": [{"prefix": anomaly_prefix}]},
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=RETRIES,
                    max_event_age=EVENT_AGE,
                )
            ],
        )

    def _function(
        self,
        key: kms.IKey,
        topic: sns.ITopic,
        threshold: float,
        *,
        log_group_name: str,
        retention_days: int,
        removal: RemovalPolicy,
    ) -> lambda_.Function:
        log_group = encrypted_log_group(
            self, "LogGroup", key=key, retention_days=retention_days, removal=removal, log_group_name=log_group_name
        )
        self.role = ManagedPolicyRole(
            self, "Role", service="lambda.amazonaws.com", description="Runs the anomaly notifier Lambda."
        )
        log_group.grant_write(self.role)
        function = lambda_.Function(
            self,
            "Function",
            description="Publishes anomalies above the threshold and keeps each device's latest status.",
            code=lambda_.Code.from_asset(str(ASSET), exclude=["__pycache__", "*.pyc"]),
            handler="handler.handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=256,
            timeout=Duration.seconds(60),
            environment={
                "TABLE_NAME": self.table.table_name,
                "TOPIC_ARN": topic.topic_arn,
                "ALERT_THRESHOLD": str(threshold),
            },
            # Failures of asynchronous invocations (after the retries below) keep their event here.
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=RETRIES,
            max_event_age=EVENT_AGE,
            role=self.role,
            log_group=log_group,
        )
        function.node.add_dependency(self.role)
        self._acknowledge_function(function)
        return function

    def _grant(self, curated_zone: s3.IBucket, prefix: str, key: kms.IKey, topic: sns.ITopic) -> None:
        """Read anomaly objects only; publish to the alert topic; write status items."""
        anomaly_objects = curated_zone.arn_for_objects(f"{prefix}*")
        for statement in (
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[anomaly_objects]),
            # The zone, the topic and the table are all encrypted with the lake key.
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn]),
            iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]),
            iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[self.table.table_arn]),
        ):
            self.role.add_to_principal_policy(statement)
        self.role.acknowledge_wildcard_resources(
            anomaly_objects,
            reason="Firehose names each anomaly object at delivery time under the anomaly folder of the curated zone; "
            "the notifier reads only objects of that folder.",
        )

    def _acknowledge_function(self, function: lambda_.Function) -> None:
        """What the compliance packs and checkov ask of a Lambda that does not apply to this one."""
        no_vpc = (
            "The notifier calls only S3, SNS and DynamoDB over TLS with IAM; the lake's VPC has no NAT and no SNS or "
            "DynamoDB endpoint, so inside it the function could not reach them without paid endpoints."
        )
        acknowledge_outside_vpc(function, reason=no_vpc)
        no_reservation = (
            "New accounts often allow only 10 concurrent executions in all and any reservation then fails the "
            "deploy; one invocation per anomaly object (one per Firehose buffer) never needs a reserved pool."
        )
        acknowledge_unreserved_concurrency(function, reason=no_reservation)
        skip_check(
            function,
            "CKV_AWS_173",
            reason="The environment holds a table name, a topic ARN and a threshold, no secret; Lambda encrypts it at "
            "rest with its AWS managed key, and a customer key would protect nothing more.",
        )
