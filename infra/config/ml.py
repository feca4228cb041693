"""Settings of the ML unit: the SageMaker Processing job the workflow runs after the curated crawl."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

# CPU instance families SageMaker Processing offers that suit the scikit-learn image (no GPU: the image is CPU-only).
PROCESSING_INSTANCE = re.compile(r"^ml\.(t3|m5|m6i|c5|c6i|r5|r6i)\.(medium|large|x?large|[0-9]+xlarge)$")
# SageMaker's limits: ProcessingResources.ClusterConfig.VolumeSizeInGB and StoppingCondition.MaxRuntimeInSeconds.
MAX_VOLUME_GB = 16_384
MAX_RUNTIME_MINUTES = 5 * 24 * 60
# Column names are passed to the job as arguments: keep them to what a shell never interprets.
_COLUMN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class MlSettings(BaseModel):
    """The exploratory analysis and model run as a SageMaker Processing job by the workflow."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    enabled: bool = Field(
        default=True,
        description="Run the analysis and model as a SageMaker Processing job after the curated crawl and keep a "
        "model registry table. Nothing of it costs money while idle; a run costs instance-hours (see `make cost`).",
    )
    instance_type: str = Field(
        default="ml.m5.xlarge",
        description="Processing instance type, a CPU type such as `ml.m5.large`, `ml.m5.xlarge` or `ml.r5.xlarge`.",
    )
    volume_size_gb: Annotated[int, Field(ge=1, le=MAX_VOLUME_GB)] = Field(
        default=30,
        description="GB of encrypted storage attached to the instance; it holds the curated data, wheels and output.",
    )
    max_runtime_minutes: Annotated[int, Field(ge=1, le=MAX_RUNTIME_MINUTES)] = Field(
        default=60, description="The job is stopped (and the workflow alerts) after this many minutes."
    )
    target: str = Field(
        default="error_within_1h",
        description="Column the model predicts (`--target`); `error_within_1h`, the default, derives the lake's label "
        "(the device reports `error` within the next hour). The workflow registers a model only when there is one.",
    )
    time_column: str | None = Field(
        default=None,
        description="Timestamp column for the time-series section (`--time`); null: the analysis' default.",
    )

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, instance_type: str) -> str:
        if not PROCESSING_INSTANCE.match(instance_type):
            raise ValueError(
                f"got {instance_type!r}; use a CPU processing instance type of the families t3, m5, m6i, c5, c6i, "
                "r5 or r6i, e.g. 'ml.m5.xlarge'"
            )
        return instance_type

    @field_validator("target", "time_column")
    @classmethod
    def _column(cls, column: str | None) -> str | None:
        if column is not None and not _COLUMN.match(column):
            raise ValueError(f"got {column!r}; a column name here has 1 to 128 letters, digits or '_', '.', ':', '-'")
        return column
