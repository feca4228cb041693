"""Settings of the video unit: a Kinesis video stream and the scheduled labeler that samples frames from it.

The labeler's window, sampling and image size become arguments of KVS `GetImages` and Rekognition `DetectLabels`, so
each is checked here against what those APIs accept, before any construct exists.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from infra.config.errors import FieldError

# Kinesis Video Streams keeps media 0 to 87,600 hours (10 years); 0 keeps nothing, and GetImages reads only what
# the stream keeps, so the notes' range "1 hour to 10 years" is the range here.
MIN_RETENTION_HOURS, MAX_RETENTION_HOURS = 1, 87_600
# GetImages samples at most one frame every 200 ms.
MAX_FRAMES_PER_MINUTE = 300
# GetImages returns images at most 3,840 pixels wide.
MAX_WIDTH_PIXELS = 3840
# One run labels each frame with one DetectLabels call (a few hundred ms each): keep a run well inside Lambda's
# 15 minutes, at the labeler's timeout.
MAX_FRAMES_PER_RUN = 600
# Rekognition label names: words with spaces, hyphens, ampersands and apostrophes (e.g. "Person", "Pickup Truck").
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 &'.\-]{0,99}$")


class VideoSettings(BaseModel):
    """The video unit: a video stream under the lake key, and a labeler run on a schedule."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    enabled: bool = Field(
        default=False,
        description="Create the video stream, the labeler and its notifier. Nothing of it costs money while no video "
        "arrives but the scheduled labeler's invocations (a few cents a month); media is billed per GB ingested and "
        "stored, each labeled frame per Rekognition image (see `make cost`).",
    )
    retention_hours: Annotated[int, Field(ge=MIN_RETENTION_HOURS, le=MAX_RETENTION_HOURS)] = Field(
        default=24,
        description="How long the stream keeps media: 1 to 87,600 hours (10 years). The labeler reads only what is "
        "kept, and its schedule must fit inside.",
    )
    schedule_minutes: Annotated[int, Field(ge=1, le=60)] = Field(
        default=5,
        description="The labeler runs every this many minutes and labels the window of that length before the run.",
    )
    lag_seconds: Annotated[int, Field(ge=0, le=600)] = Field(
        default=60,
        description="The window ends this long before the scheduled time, so that fragments still being ingested "
        "are complete when the labeler reads them.",
    )
    frames_per_minute: Annotated[int, Field(ge=1, le=MAX_FRAMES_PER_MINUTE)] = Field(
        default=6,
        description="Frames sampled per minute of video (GetImages' SamplingInterval; at most 300, one per 200 ms). "
        "Each sampled frame is one Rekognition call.",
    )
    max_fragment_seconds: Annotated[int, Field(ge=1, le=60)] = Field(
        default=10,
        description="Longest fragment the producers send (their keyframe interval, 1 to 60 s). GetImages leaves out "
        "a fragment that began before its start time, so each call starts this much earlier and keeps only the "
        "window's frames.",
    )
    timestamps: Literal["SERVER_TIMESTAMP", "PRODUCER_TIMESTAMP"] = Field(
        default="SERVER_TIMESTAMP",
        description="Which clock the window reads: the time KVS received each fragment (SERVER_TIMESTAMP) or the "
        "producer's (PRODUCER_TIMESTAMP, for clips sent late).",
    )
    image_format: Literal["JPEG", "PNG"] = Field(default="JPEG", description="Format GetImages encodes frames in.")
    width_pixels: Annotated[int, Field(ge=64, le=MAX_WIDTH_PIXELS)] = Field(
        default=1280,
        description="Width of each frame GetImages returns (its height keeps the aspect ratio); Rekognition takes "
        "images up to 5 MB.",
    )
    min_confidence: Annotated[float, Field(ge=0, le=100)] = Field(
        default=70.0, description="Labels below this confidence (0 to 100) are not returned by DetectLabels."
    )
    max_labels: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=20, description="Most labels DetectLabels returns per frame."
    )
    watch_labels: tuple[str, ...] = Field(
        default=("Person",),
        strict=False,  # JSON has lists, not tuples
        description="Labels that raise a notification on the alert topic when a frame shows one "
        "(Rekognition's label names, e.g. `Person`, `Car`); empty: no notifications.",
    )
    watch_min_confidence: Annotated[float, Field(ge=0, le=100)] = Field(
        default=90.0,
        description="Confidence a watched label needs to raise a notification (at least min_confidence).",
    )
    labeler_memory_mb: Annotated[int, Field(ge=128, le=10240)] = Field(
        default=512, description="Memory of the labeler Lambda in MB (128 to 10,240)."
    )

    @field_validator("watch_labels")
    @classmethod
    def _labels(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        for label in labels:
            if not _LABEL.match(label):
                raise ValueError(
                    f"got {label!r}; a label name has 1 to 100 letters, digits, spaces or & ' . -, e.g. 'Person'"
                )
        if len({label.lower() for label in labels}) != len(labels):
            raise ValueError(f"got {list(labels)}; list each label once")
        return labels

    @model_validator(mode="after")
    def _consistent(self) -> VideoSettings:
        if self.watch_min_confidence < self.min_confidence:
            raise FieldError(
                "watch_min_confidence",
                self.watch_min_confidence,
                f"must be at least min_confidence ({self.min_confidence}): weaker labels are never returned",
            )
        if self.frames_per_run > MAX_FRAMES_PER_RUN:
            raise FieldError(
                "frames_per_minute",
                self.frames_per_minute,
                f"times schedule_minutes ({self.schedule_minutes}) is {self.frames_per_run} frames per run; "
                f"keep it at {MAX_FRAMES_PER_RUN} or fewer so that one run ends inside the labeler's timeout",
            )
        if self.schedule_minutes * 60 + self.lag_seconds > self.retention_hours * 3600:
            raise FieldError(
                "retention_hours",
                self.retention_hours,
                "must keep media longer than one schedule window plus lag_seconds, or the labeler reads nothing",
            )
        return self

    @property
    def frames_per_run(self) -> int:
        """Frames one run samples at most: frames_per_minute over schedule_minutes."""
        return self.frames_per_minute * self.schedule_minutes

    @property
    def lookback_ms(self) -> int:
        """How much earlier than its range each GetImages call starts: max_fragment_seconds, rounded up to whole
        sampling intervals so that the sampling instants inside the window stay where they were."""
        interval = self.sampling_interval_ms
        return -(-self.max_fragment_seconds * 1000 // interval) * interval

    @property
    def sampling_interval_ms(self) -> int:
        """GetImages' SamplingInterval for frames_per_minute (200 ms at the fastest)."""
        return 60_000 // self.frames_per_minute
