"""The notes' Kinesis Video Streams: one video stream under the lake key, with the retention the settings give."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kinesisvideo as kinesisvideo
from aws_cdk import aws_kms as kms
from constructs import Construct

# Track 1 H.264: what the console, HLS and GetImages can decode.
MEDIA_TYPE = "video/h264"


class VideoStream(Construct):
    """A Kinesis video stream encrypted with the lake key; aws-cdk-lib has no L2 for it, so this wraps `CfnStream`."""

    def __init__(
        self, scope: Construct, id: str, *, name: str, key: kms.IKey, retention_hours: int, removal: RemovalPolicy
    ) -> None:
        super().__init__(scope, id)
        self.stream = kinesisvideo.CfnStream(
            self,
            "Stream",
            name=name,
            data_retention_in_hours=retention_hours,
            kms_key_id=key.key_arn,
            media_type=MEDIA_TYPE,
        )
        self.stream.apply_removal_policy(removal)
        self.stream_name = name
        self.stream_arn = self.stream.attr_arn
