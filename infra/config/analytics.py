"""Settings of the real-time analytics unit (issue 11): the Flink application, its outputs and its notifier.

The application's parameters become the `app.*` property groups the PyFlink job reads (see CONTRACTS.md), so each
one is checked here against what the job and Managed Service for Apache Flink accept, before any construct exists.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

# Managed Service for Apache Flink runs 1 to 8 parallel tasks per KPU.
MAX_PARALLELISM_PER_KPU = 8
# KDA's HOTSPOTS function accepts a window of 100 to 1,000 records.
HOTSPOTS_MIN_WINDOW, HOTSPOTS_MAX_WINDOW = 100, 1000


class _Settings(BaseModel):
    """Base for every settings block: immutable, no coercion between types, no unknown keys."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")


class ForestSettings(_Settings):
    """RANDOM_CUT_FOREST: one forest per device over its shingled numeric readings (KDA's defaults)."""

    trees: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=100, description="Trees per forest (KDA's numberOfTrees, default 100)."
    )
    sample_size: Annotated[int, Field(ge=16, le=4096)] = Field(
        default=256, description="Points each tree keeps (KDA's subSampleSize, default 256)."
    )
    shingle_size: Annotated[int, Field(ge=1, le=64)] = Field(
        default=4,
        description="Consecutive readings scored as one point, so unusual sequences are caught, not only unusual "
        "values (KDA's shingleSize; 1 scores single readings). Calibrate the threshold per shingle size.",
    )
    time_decay: Annotated[int, Field(ge=1)] = Field(
        default=100_000,
        description="How many recent readings weigh in the sample (KDA's timeDecay, default 100,000).",
    )
    warmup: Annotated[int, Field(ge=0)] = Field(
        default=256, description="Readings per device before a score is emitted (the forest's sample must fill)."
    )
    threshold: Annotated[float, Field(gt=0)] = Field(
        default=3.0,
        description="Score at or above which a reading is written as an anomaly record (calibrate with `make detect`).",
    )


class HotspotSettings(_Settings):
    """HOTSPOTS: dense regions of hot devices (rack position x temperature) over a count window."""

    window_size: Annotated[int, Field(ge=HOTSPOTS_MIN_WINDOW, le=HOTSPOTS_MAX_WINDOW)] = Field(
        default=1000, description="Records in the sliding window (KDA's windowSize: 100 to 1,000)."
    )
    scan_radius: Annotated[float, Field(gt=0)] = Field(
        default=1.5, description="Distance within which points are neighbours (KDA's scanRadius, > 0; DBSCAN's eps)."
    )
    min_points: Annotated[int, Field(ge=2)] = Field(
        default=20, description="Points a hotspot needs (KDA's minimumNumberOfPointsInAHotspot: 2 to window_size)."
    )
    density_threshold: Annotated[float, Field(ge=0)] = Field(
        default=0.5, description="Hotspots below this density are not written (KDA leaves this filter to the query)."
    )

    @field_validator("min_points")
    @classmethod
    def _points_fit_the_window(cls, points: int, info: ValidationInfo) -> int:
        window = info.data.get("window_size")
        if window is not None and points > window:
            raise ValueError(f"got {points}; a hotspot needs 2 to window_size ({window}) points")
        return points


class AnalyticsSettings(_Settings):
    """The real-time analytics unit: Flink application (created, not started), outputs, notifier."""

    enabled: bool = Field(
        default=False,
        description="Create the Flink application and its enhanced fan-out consumer. The application costs nothing "
        "until `make analytics-start`; the consumer costs per shard-hour while it exists (see `make cost`).",
    )
    parallelism: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=1, description="Parallel tasks of the job (KPUs = parallelism / parallelism_per_kpu, rounded up)."
    )
    parallelism_per_kpu: Annotated[int, Field(ge=1, le=MAX_PARALLELISM_PER_KPU)] = Field(
        default=1, description="Tasks per KPU (1 to 8); raise it for jobs that wait on I/O more than they compute."
    )
    autoscaling: bool = Field(
        default=False, description="Let the service raise parallelism under load (it never goes below `parallelism`)."
    )
    checkpoint_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=60, description="Seconds between checkpoints; the forests' state survives a restart from the last one."
    )
    min_pause_between_checkpoints_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=5, description="Least time between the end of a checkpoint and the start of the next."
    )
    snapshots: bool = Field(
        default=True, description="Take a snapshot on stop and restore it on start (durable backups, per GB-month)."
    )
    metrics_level: Literal["TASK", "OPERATOR"] = Field(
        default="TASK",
        description="CloudWatch metrics level: TASK or finer, because the back-pressure alarm reads a task metric.",
    )
    log_level: Literal["DEBUG", "INFO", "WARN", "ERROR"] = Field(
        default="INFO", description="Level of the application's CloudWatch logs."
    )
    initial_position: Literal["LATEST", "TRIM_HORIZON"] = Field(
        default="LATEST",
        description="Where a first start (no snapshot) reads the stream: LATEST, or TRIM_HORIZON to replay retention.",
    )
    watermark_lateness_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=10, description="How late a reading may arrive (event time) and still count in its window."
    )
    metrics_window_seconds: Annotated[int, Field(ge=1, le=86400)] = Field(
        default=60, description="Length of the tumbling windows of the per-device and per-site metrics."
    )
    forest: ForestSettings = Field(default=ForestSettings(), description="RANDOM_CUT_FOREST parameters.")
    hotspots: HotspotSettings = Field(default=HotspotSettings(), description="HOTSPOTS parameters.")
    alert_threshold: Annotated[float, Field(gt=0)] = Field(
        default=4.0,
        description="Anomaly score at or above which the notifier publishes to the alert topic "
        "(at least forest.threshold; lower-scored anomalies only update the device-status table).",
    )
    buffer_interval_seconds: Annotated[int, Field(ge=60, le=900)] = Field(
        default=60,
        description="Seconds the analytics Firehose buffers before writing (60 to 900); with the notifier's S3 "
        "trigger this is most of an alert's latency.",
    )
    buffer_size_mb: Annotated[int, Field(ge=64, le=128)] = Field(
        default=64, description="MB the analytics Firehose buffers (64 to 128: dynamic partitioning needs 64 or more)."
    )

    @field_validator("alert_threshold")
    @classmethod
    def _alerts_are_anomalies(cls, threshold: float, info: ValidationInfo) -> float:
        forest = info.data.get("forest")
        if isinstance(forest, ForestSettings) and threshold < forest.threshold:
            raise ValueError(
                f"got {threshold}; use forest.threshold ({forest.threshold}) or more: only anomaly records "
                "reach the notifier"
            )
        return threshold

    @property
    def kpus(self) -> int:
        """KPUs the application runs on at its configured parallelism (before autoscaling)."""
        return -(-self.parallelism // self.parallelism_per_kpu)
