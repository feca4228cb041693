"""The Managed Service for Apache Flink application (PyFlink, FLINK-2_2): created with the stack, started by hand.

Built on the L1 `CfnApplication` rather than the Flink L2 (aws-kinesisanalytics-flink-alpha): the L2 gives the role
read access to the whole CDK asset bucket, `cloudwatch:PutMetricData` on `*` and a log group of its own choosing;
here the role reads exactly its code object and the reference table, and the log group is the lake's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisanalyticsv2 as msf
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.config.analytics import AnalyticsSettings
from infra.constructs.alarms import AlertTarget, alarm
from infra.constructs.iam_findings import acknowledge_wildcard_resources
from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole

RUNTIME = "FLINK-2_2"  # Python 3.12; the newest runtime, and the one the job's PyFlink pin matches
ENTRY = "main.py"
CONNECTOR_JAR = "lib/stream-analytics-connectors.jar"
PYTHON_DEPENDENCIES = "dep/"
ALARM_PERIOD = Duration.minutes(5)
# Half of every second spent back-pressured, for a quarter of an hour: the job cannot keep up, not a burst.
BACK_PRESSURE_MS_PER_SECOND = 500
BACK_PRESSURE_PERIODS = 3


@dataclass(frozen=True)
class ApplicationInputs:
    """What the job reads and writes, as the property groups name it (CONTRACTS.md, issue 11)."""

    stream_name: str
    stream_arn: str
    region: str
    consumer_name: str
    delivery_stream_name: str
    reference_path: str


def property_groups(
    artifact: Path, inputs: ApplicationInputs, settings: AnalyticsSettings
) -> dict[str, dict[str, str]]:
    """The runtime properties of the job, every value a string, exactly the groups and keys of the contract."""
    run_options = {"python": ENTRY, "jarfile": CONNECTOR_JAR}
    if (artifact / PYTHON_DEPENDENCIES).is_dir():
        run_options["pyFiles"] = PYTHON_DEPENDENCIES
    forest, hotspots = settings.forest, settings.hotspots
    return {
        "kinesis.analytics.flink.run.options": run_options,
        "app.source": {
            "stream.name": inputs.stream_name,
            "stream.arn": inputs.stream_arn,
            "aws.region": inputs.region,
            "efo.consumer.name": inputs.consumer_name,
            "initial.position": settings.initial_position,
        },
        "app.sink": {"delivery.stream.name": inputs.delivery_stream_name, "aws.region": inputs.region},
        "app.reference": {"path": inputs.reference_path},
        "app.time": {
            "watermark.lateness.seconds": str(settings.watermark_lateness_seconds),
            "metrics.window.seconds": str(settings.metrics_window_seconds),
        },
        "app.forest": {
            "trees": str(forest.trees),
            "sample.size": str(forest.sample_size),
            "shingle.size": str(forest.shingle_size),
            "time.decay": str(forest.time_decay),
            "warmup": str(forest.warmup),
            "threshold": str(forest.threshold),
        },
        "app.hotspots": {
            "window.size": str(hotspots.window_size),
            "scan.radius": str(hotspots.scan_radius),
            "min.points": str(hotspots.min_points),
            "density.threshold": str(hotspots.density_threshold),
        },
    }


class StreamAnalyticsApplication(Construct):
    """The PyFlink job as an MSF application: checkpointed, snapshotted, logged under the lake key, alarmed."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        artifact: Path,
        inputs: ApplicationInputs,
        settings: AnalyticsSettings,
        key: kms.IKey,
        alerts: AlertTarget,
        log_group_name: str,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.name = name
        self.role = ManagedPolicyRole(
            self,
            "Role",
            service="kinesisanalytics.amazonaws.com",
            description=f"Runs the Flink application {name}: its consumer, its reference table, its Firehose.",
        )
        # The directory as MSF expects it for Python (main.py, the package, lib/, dep/), zipped by the asset.
        self.code = s3_assets.Asset(self, "Code", path=str(artifact), exclude=["**/__pycache__", "**/*.pyc"])
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.code.bucket.arn_for_objects(self.code.s3_object_key)],
            )
        )
        self.log_group = encrypted_log_group(
            self,
            "LogGroup",
            key=key,
            retention_days=log_retention_days,
            removal=removal,
            # Named under the lake's patterns, so the lake key admits CloudWatch Logs for it.
            log_group_name=log_group_name,
        )
        self.application = self._application(artifact, inputs, settings)
        # Its snapshots hold the forests' state and go with it: kept wherever the environment keeps data.
        self.application.apply_removal_policy(removal)
        self._logging(removal)
        self.arn = Stack.of(self).format_arn(service="kinesisanalytics", resource="application", resource_name=name)
        self.alarms = self._alarms(alerts)

    def _application(
        self, artifact: Path, inputs: ApplicationInputs, settings: AnalyticsSettings
    ) -> msf.CfnApplication:
        groups = property_groups(artifact, inputs, settings)
        application = msf.CfnApplication(
            self,
            "Application",
            application_name=self.name,
            application_description="Real-time analytics on the ingest stream: metrics, anomalies, hotspots.",
            runtime_environment=RUNTIME,
            service_execution_role=self.role.role_arn,
            application_configuration=msf.CfnApplication.ApplicationConfigurationProperty(
                application_code_configuration=msf.CfnApplication.ApplicationCodeConfigurationProperty(
                    code_content_type="ZIPFILE",
                    code_content=msf.CfnApplication.CodeContentProperty(
                        s3_content_location=msf.CfnApplication.S3ContentLocationProperty(
                            bucket_arn=self.code.bucket.bucket_arn, file_key=self.code.s3_object_key
                        )
                    ),
                ),
                environment_properties=msf.CfnApplication.EnvironmentPropertiesProperty(
                    property_groups=[
                        msf.CfnApplication.PropertyGroupProperty(property_group_id=group, property_map=values)
                        for group, values in groups.items()
                    ]
                ),
                flink_application_configuration=_flink_configuration(settings),
                application_snapshot_configuration=msf.CfnApplication.ApplicationSnapshotConfigurationProperty(
                    snapshots_enabled=settings.snapshots
                ),
                # A failed update (bad code, bad properties) rolls back to the last running version by itself.
                application_system_rollback_configuration=(
                    msf.CfnApplication.ApplicationSystemRollbackConfigurationProperty(rollback_enabled=True)
                ),
            ),
        )
        # The role must be able to read the code before the service validates the application.
        application.node.add_dependency(self.role.policy)
        return application

    def _logging(self, removal: RemovalPolicy) -> None:
        """One log stream in the lake's log group, attached to the application; the role may write only there."""
        stream = logs.LogStream(self, "LogStream", log_group=self.log_group, removal_policy=removal)
        stream_arn = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{self.log_group.log_group_name}:log-stream:{stream.log_stream_name}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        option = msf.CfnApplicationCloudWatchLoggingOption(
            self,
            "LoggingOption",
            application_name=self.name,
            cloud_watch_logging_option=msf.CfnApplicationCloudWatchLoggingOption.CloudWatchLoggingOptionProperty(
                log_stream_arn=stream_arn
            ),
        )
        option.node.add_dependency(self.application)
        any_log_group = Stack.of(self).format_arn(
            service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        for statement in (
            iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=[any_log_group]),
            iam.PolicyStatement(actions=["logs:DescribeLogStreams"], resources=[self.log_group.log_group_arn]),
            iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=[stream_arn]),
        ):
            self.role.add_to_principal_policy(statement)
        # The finding names the ARN as it resolves: tokens where the stack is environment-agnostic, literal where bound.
        acknowledge_wildcard_resources(
            self.role.policy,
            any_log_group,
            reason="MSF calls logs:DescribeLogGroups to check its logging option, and that list action is authorized "
            "on every log group of the account; it reads names and settings, never log events.",
        )

    def metric(self, name: str, statistic: str = cloudwatch.Stats.MAXIMUM) -> cloudwatch.Metric:
        """An application-level MSF metric (namespace AWS/KinesisAnalytics, dimension Application)."""
        return cloudwatch.Metric(
            namespace="AWS/KinesisAnalytics",
            metric_name=name,
            dimensions_map={"Application": self.name},
            statistic=statistic,
            period=ALARM_PERIOD,
        )

    def _increase(self, name: str) -> cloudwatch.MathExpression:
        """The rise of a counter over one period (numRestarts and numberOfFailedCheckpoints count since the start)."""
        return cloudwatch.MathExpression(
            expression="DIFF(counter)", using_metrics={"counter": self.metric(name)}, period=ALARM_PERIOD
        )

    def _worst_task_back_pressure(self) -> cloudwatch.MathExpression:
        """backPressuredTimeMsPerSecond of the worst task, whatever the job graph names its tasks.

        It is a task metric (dimensions Application, TaskName, ...), so a Metrics Insights query takes the maximum
        over this application's tasks. The name comes from the settings (a validated environment name), not input.
        """
        query = 'SELECT MAX(backPressuredTimeMsPerSecond) FROM "AWS/KinesisAnalytics" WHERE Application = '
        return cloudwatch.MathExpression(expression=f"{query}'{self.name}'", using_metrics={}, period=ALARM_PERIOD)

    def _alarms(self, alerts: AlertTarget) -> list[cloudwatch.Alarm]:
        """Restarts, time spent restarting or failing, failed checkpoints and back-pressure (FLINK-2_2's metrics)."""
        job = f"The Flink job of {self.name}"
        specs: list[tuple[str, cloudwatch.IMetric, float, int, str]] = [
            ("Restarts", self._increase("numRestarts"), 0, 1, f"{job} restarted; see its log group for the exception."),
            (
                "RestartingTime",
                self.metric("restartingTime"),
                0,
                1,
                f"{job} spent time restarting (FLINK-2_2's replacement of the deprecated downtime metric).",
            ),
            ("FailingTime", self.metric("failingTime"), 0, 1, f"{job} spent time failing: it is not processing."),
            (
                "FailedCheckpoints",
                self._increase("numberOfFailedCheckpoints"),
                0,
                1,
                f"A checkpoint of {self.name} failed: the forests' state would not survive a restart from here.",
            ),
            (
                "BackPressure",
                self._worst_task_back_pressure(),
                BACK_PRESSURE_MS_PER_SECOND,
                BACK_PRESSURE_PERIODS,
                f"A task of {self.name} has been back-pressured over half of the time for 15 minutes: raise "
                "analytics.parallelism or turn on autoscaling.",
            ),
        ]
        return [
            alarm(
                self,
                id,
                alerts=alerts,
                name=f"stream-analytics-{_kebab(id)}",
                metric=metric,
                threshold=threshold,
                evaluation_periods=periods,
                description=description,
            )
            for id, metric, threshold, periods, description in specs
        ]


def _flink_configuration(settings: AnalyticsSettings) -> msf.CfnApplication.FlinkApplicationConfigurationProperty:
    """Checkpointing (set explicitly: AwsSolutions-KDA3), parallelism and monitoring from the settings."""
    return msf.CfnApplication.FlinkApplicationConfigurationProperty(
        checkpoint_configuration=msf.CfnApplication.CheckpointConfigurationProperty(
            configuration_type="CUSTOM",
            checkpointing_enabled=True,
            checkpoint_interval=settings.checkpoint_interval_seconds * 1000,
            min_pause_between_checkpoints=settings.min_pause_between_checkpoints_seconds * 1000,
        ),
        parallelism_configuration=msf.CfnApplication.ParallelismConfigurationProperty(
            configuration_type="CUSTOM",
            parallelism=settings.parallelism,
            parallelism_per_kpu=settings.parallelism_per_kpu,
            auto_scaling_enabled=settings.autoscaling,
        ),
        monitoring_configuration=msf.CfnApplication.MonitoringConfigurationProperty(
            configuration_type="CUSTOM", metrics_level=settings.metrics_level, log_level=settings.log_level
        ),
    )


def _kebab(name: str) -> str:
    """`FailedCheckpoints` -> `failed-checkpoints`, for alarm names."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
