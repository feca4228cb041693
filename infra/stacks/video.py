"""The video unit: a Kinesis video stream and the labeler that samples it (exists only where `video.enabled`)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.alarms import AlertTarget
from infra.constructs.crawlers import ZoneCrawler
from infra.constructs.glue_security import GlueSecurity
from infra.constructs.log_group import lake_log_group_name
from infra.constructs.video_labeler import LabelerLogs, VideoLabeler
from infra.constructs.video_stream import VideoStream
from infra.workload import serves

# The labeler writes `video/labels/...` and `video/errors/...`: the crawler makes one table per sub-folder.
VIDEO_FOLDER = "video/"
TABLE_LEVEL = 3
TABLE_PREFIX = "video_"
WORKLOAD = "video labeling"


class VideoStack(Stack):
    """The video stream under the lake key, the scheduled labeler and its notifier, a crawler over their output."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        lake_key: kms.IKey,
        curated_zone: s3.IBucket,
        database: glue.IDatabase,
        alerts: AlertTarget,
        removal: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        video, prefix = settings.video, settings.resource_prefix
        self.video_stream = VideoStream(
            self,
            "VideoStream",
            name=f"{prefix}-video",
            key=lake_key,
            retention_hours=video.retention_hours,
            removal=removal,
        )
        serves(self.video_stream, WORKLOAD)
        self.labeler = VideoLabeler(
            self,
            "Labeling",
            stream_name=self.video_stream.stream_name,
            stream_arn=self.video_stream.stream_arn,
            curated_zone=curated_zone,
            prefix=VIDEO_FOLDER,
            event_source=f"{prefix}.video",
            key=lake_key,
            alerts=alerts,
            settings=video,
            logs=LabelerLogs(
                labeler_group=lake_log_group_name(prefix, "lambda", "video-labeler"),
                notifier_group=lake_log_group_name(prefix, "lambda", "video-notifier"),
                retention_days=settings.log_retention_days,
            ),
            removal=removal,
        )
        serves(self.labeler, WORKLOAD)
        self.crawler = ZoneCrawler(
            self,
            "Crawler",
            name=f"{prefix}-video",
            zone=curated_zone,
            folders=(VIDEO_FOLDER,),
            database=database,
            table_prefix=TABLE_PREFIX,
            key=lake_key,
            security=GlueSecurity(self, "GlueSecurity", key=lake_key, name=f"{prefix}-video"),
            table_level=TABLE_LEVEL,
        )
        self._outputs(curated_zone)

    def _outputs(self, curated_zone: s3.IBucket) -> None:
        # tools/video_smoke.py finds the unit by these output keys.
        CfnOutput(self, "VideoStreamName", value=self.video_stream.stream_name, description="Send clips here.")
        CfnOutput(self, "VideoStreamArn", value=self.video_stream.stream_arn, description="The video stream.")
        CfnOutput(self, "VideoLabelerName", value=self.labeler.labeler.function_name, description="The labeler.")
        CfnOutput(self, "VideoBucketName", value=curated_zone.bucket_name, description="The curated zone.")
        CfnOutput(self, "VideoPrefix", value=VIDEO_FOLDER, description="Labels and errors in the curated zone.")
        CfnOutput(self, "VideoCrawlerName", value=self.crawler.name, description="Catalogs video/ as video_* tables.")
