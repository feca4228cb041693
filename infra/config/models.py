"""The settings models: what each block under `environments` in cdk.json may hold, and AWS's limits on it.

Every setting has a description (it becomes the generated settings table) and is checked here, before any
construct exists, so a bad value stops synthesis with one line that names the setting, the value and what is allowed.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from infra.config.analytics import AnalyticsSettings
from infra.config.cdc import CdcSettings
from infra.config.errors import FieldError
from infra.config.ml import MlSettings
from infra.config.video import VideoSettings
from infra.config.warehouse import WarehouseSettings
from infra.constructs.ingest_stream import ExpectedLoad, plan_shards

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

# Firehose needs at least this buffer when dynamic partitioning is on, and offers no zero buffering with it
# (the CDK refuses an interval under 60 s).
DYNAMIC_PARTITIONING_MIN_BUFFER_MB = 64
DYNAMIC_PARTITIONING_MIN_INTERVAL_SECONDS = 60
# Firehose's record format conversion also needs a buffer of at least 64 MiB (large row groups make good Parquet).
FORMAT_CONVERSION_MIN_BUFFER_MB = 64

# Redshift Serverless needs subnets in three availability zones.
WAREHOUSE_ZONES = 3

# Every physical name starts with `<PROJECT>-<environment>` (EnvironmentSettings.resource_prefix).
PROJECT = "ml-data-lake"

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# 11 characters at most: the longest bucket name, `ml-data-lake-<env>-curated-<account>-<region>-an`, must fit
# S3's 63 characters with the longest region codes (see infra/constructs/lake_bucket.py).
ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,10}$")
_SCHEDULE = re.compile(r"^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$")


class _Settings(BaseModel):
    """Base for every settings block: immutable, no coercion between types, no unknown keys."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")


class ZoneLifecycle(_Settings):
    """Storage-class transitions and expiry for one zone of the lake."""

    infrequent_access_after_days: int | None = Field(
        default=None,
        description="Days after creation before objects move to S3 Standard-IA (at least 30; null: never).",
    )
    glacier_after_days: int | None = Field(
        default=None,
        description="Days after creation before objects move to S3 Glacier Flexible Retrieval "
        "(at least 30 after the Standard-IA transition; null: never).",
    )
    expire_after_days: int | None = Field(
        default=None,
        description="Days after creation before objects are deleted (after every transition; null: keep forever).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> ZoneLifecycle:
        ia, glacier, expire = self.infrequent_access_after_days, self.glacier_after_days, self.expire_after_days
        if ia is not None and ia < 30:
            raise FieldError(
                "infrequent_access_after_days", ia, "S3 allows a Standard-IA transition at 30 days or more"
            )
        if glacier is not None and glacier < 1:
            raise FieldError("glacier_after_days", glacier, "must be 1 or more")
        if ia is not None and glacier is not None and glacier < ia + 30:
            raise FieldError(
                "glacier_after_days",
                glacier,
                f"must be at least 30 days after infrequent_access_after_days ({ia}), i.e. {ia + 30} or more",
            )
        last = max(d for d in (ia, glacier, 0) if d is not None)
        if expire is not None and expire <= last:
            raise FieldError("expire_after_days", expire, f"must be greater than the last transition ({last} days)")
        return self


class StorageSettings(_Settings):
    """Buckets of the lake: versioning and lifecycle per zone."""

    versioning: bool = Field(default=True, description="Keep object versions in the data buckets.")
    raw: ZoneLifecycle = Field(
        default=ZoneLifecycle(infrequent_access_after_days=60, glacier_after_days=180),
        description="Lifecycle of the raw (landing) zone.",
    )
    curated: ZoneLifecycle = Field(
        default=ZoneLifecycle(infrequent_access_after_days=90, glacier_after_days=365),
        description="Lifecycle of the curated zone.",
    )
    noncurrent_version_expiry_days: Annotated[int, Field(ge=1)] = Field(
        default=90, description="Days before a replaced or deleted object version is removed."
    )
    abort_incomplete_multipart_upload_days: Annotated[int, Field(ge=1)] = Field(
        default=7, description="Days before the parts of an unfinished multipart upload are removed."
    )
    access_log_expiry_days: Annotated[int, Field(ge=1)] = Field(
        default=365, description="Days before S3 server access logs expire."
    )
    query_results_expiry_days: Annotated[int, Field(ge=1)] = Field(
        default=30, description="Days before Athena query results expire."
    )


class NetworkSettings(_Settings):
    """The VPC that private workloads use to reach the lake."""

    availability_zones: tuple[str, ...] | None = Field(
        default=None,
        strict=False,  # JSON has lists, not tuples
        description="The availability zones to use: two, or three (a unit such as the warehouse may need three). "
        "Required when `region` is set, so that synthesis never looks zones up in an account; null lets "
        "CloudFormation pick them.",
    )
    interface_endpoints: bool = Field(
        default=False,
        description="Add interface endpoints for Glue, KMS, CloudWatch Logs, CloudWatch metrics and STS in the "
        "workload subnet's AZ (each costs about 7 USD a month), for workloads in the VPC (`glue.run_in_vpc`).",
    )

    @field_validator("availability_zones")
    @classmethod
    def _two_or_three_zones(cls, zones: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if zones is not None and (len(zones) not in (2, 3) or len(set(zones)) != len(zones)):
            raise ValueError(f"got {list(zones)}; give two or three different zones, e.g. ['eu-west-1a', 'eu-west-1b']")
        return zones


class KinesisSettings(_Settings):
    """The ingest stream: capacity mode, expected load and retention."""

    mode: Literal["provisioned", "on_demand"] = Field(
        default="provisioned", description="`provisioned` (shards sized from the expected load) or `on_demand`."
    )
    expected_ingest_mb_per_second: Annotated[float, Field(gt=0, le=1000)] = Field(
        default=1.0, description="Expected write volume in MB/s (sizes a provisioned stream)."
    )
    expected_records_per_second: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=1000, description="Expected write rate in records/s (sizes a provisioned stream)."
    )
    consumers: Annotated[int, Field(ge=1, le=20)] = Field(
        default=1,
        description="Classic (shared-throughput) consumers reading the stream, Firehose included; an enhanced "
        "fan-out consumer (the analytics application) has its own 2 MB/s per shard and is not counted.",
    )
    shards: Annotated[int, Field(ge=1, le=500)] | None = Field(
        default=None,
        description="Explicit shard count for a provisioned stream; null derives it from the expected load. "
        "Must not be below what the load needs.",
    )
    retention_hours: Annotated[int, Field(ge=24, le=8760)] = Field(
        default=24, description="How long records stay readable for replay: 24 to 8,760 hours."
    )

    @model_validator(mode="after")
    def _capacity(self) -> KinesisSettings:
        if self.shards is None:
            return self
        if self.mode == "on_demand":
            raise FieldError("shards", self.shards, "must be null when mode is 'on_demand' (AWS manages the shards)")
        needed = plan_shards(self._load()).shards
        if self.shards < needed:
            raise FieldError("shards", self.shards, f"the expected load needs at least {needed} shards")
        return self

    def expected_load(self) -> ExpectedLoad | None:
        """The load a provisioned stream is sized for; None for an on-demand stream (AWS sizes it)."""
        return None if self.mode == "on_demand" else self._load()

    def _load(self) -> ExpectedLoad:
        return ExpectedLoad(
            ingest_mb_per_second=self.expected_ingest_mb_per_second,
            records_per_second=self.expected_records_per_second,
            consumers=self.consumers,
        )


class FirehoseSettings(_Settings):
    """The delivery stream from Kinesis to the raw zone, and its transformation Lambda."""

    partitioning: Literal["time", "device"] = Field(
        default="time",
        description="`time`: `year=/month=/day=/hour=` prefixes; `device`: `device_id=` first, then time "
        "(uses dynamic partitioning, which needs a buffer of at least 64 MB).",
    )
    buffer_interval_seconds: Annotated[int, Field(ge=0, le=900)] = Field(
        default=300,
        description="Seconds Firehose buffers before writing an object (0 to 900; 60 or more with `device`).",
    )
    buffer_size_mb: Annotated[int, Field(ge=1, le=128)] = Field(
        default=64, description="MB Firehose buffers before writing an object (1 to 128; 64 or more with `device`)."
    )
    transform_memory_mb: Annotated[int, Field(ge=128, le=10240)] = Field(
        default=256, description="Memory of the transformation Lambda in MB (128 to 10,240)."
    )
    transform_timeout_seconds: Annotated[int, Field(ge=1, le=300)] = Field(
        default=60, description="Timeout of the transformation Lambda (Firehose waits at most 300 s)."
    )
    transform_reserved_concurrency: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        default=None,
        description="Reserved concurrency of the transformation Lambda; null reserves none "
        "(new accounts often allow only 10 in all, and any reservation then fails the deploy).",
    )
    record_format: Literal["json", "parquet"] = Field(
        default="json",
        description="Format of the raw zone's event objects: `json` (GZIP JSON lines) or `parquet` (Firehose "
        "converts each transformed record with the declared raw table's schema; Snappy Parquet, buffer of at "
        "least 64 MB). Objects already delivered keep their format: see docs/architecture.md before switching.",
    )

    @model_validator(mode="after")
    def _format_conversion_buffer(self) -> FirehoseSettings:
        if self.record_format == "parquet" and self.buffer_size_mb < FORMAT_CONVERSION_MIN_BUFFER_MB:
            raise FieldError(
                "buffer_size_mb",
                self.buffer_size_mb,
                f"must be at least {FORMAT_CONVERSION_MIN_BUFFER_MB} when record_format is 'parquet' "
                "(Firehose record format conversion)",
            )
        return self

    @model_validator(mode="after")
    def _dynamic_partitioning_buffer(self) -> FirehoseSettings:
        if self.partitioning == "device" and self.buffer_size_mb < DYNAMIC_PARTITIONING_MIN_BUFFER_MB:
            raise FieldError(
                "buffer_size_mb",
                self.buffer_size_mb,
                f"must be at least {DYNAMIC_PARTITIONING_MIN_BUFFER_MB} when partitioning is 'device' "
                "(Firehose dynamic partitioning)",
            )
        if self.partitioning == "device" and self.buffer_interval_seconds < DYNAMIC_PARTITIONING_MIN_INTERVAL_SECONDS:
            raise FieldError(
                "buffer_interval_seconds",
                self.buffer_interval_seconds,
                f"must be at least {DYNAMIC_PARTITIONING_MIN_INTERVAL_SECONDS} when partitioning is 'device' "
                "(Firehose dynamic partitioning)",
            )
        return self


class GlueSettings(_Settings):
    """The Glue ETL job and the account-wide catalog settings."""

    worker_type: Literal["G.1X", "G.2X", "G.4X", "G.8X"] = Field(
        default="G.1X", description="Glue worker type of the ETL job."
    )
    worker_count: Annotated[int, Field(ge=2, le=299)] = Field(
        default=2, description="Workers of the ETL job (2 or more)."
    )
    timeout_minutes: Annotated[int, Field(ge=1, le=2880)] = Field(
        default=60, description="Timeout of one ETL job run in minutes (1 to 2,880)."
    )
    run_in_vpc: bool = Field(
        default=False,
        description="Run the ETL job in the lake's VPC (a Glue network connection in an isolated subnet): S3 "
        "through the gateway endpoint, the AWS APIs through the interface endpoints, which it needs "
        "(`network.interface_endpoints`).",
    )
    manage_catalog_encryption: bool = Field(
        default=True,
        description="Create the Data Catalog encryption settings. There is one per account and region: "
        "turn it off in every environment but one that shares an account.",
    )


class WorkflowSettings(_Settings):
    """The Step Functions workflow that crawls, transforms and crawls again."""

    schedule: str = Field(
        default="cron(0 3 * * ? *)", description="EventBridge schedule expression, `cron(...)` or `rate(...)`."
    )
    schedule_enabled: bool = Field(default=False, description="Run the workflow on the schedule.")
    timeout_minutes: Annotated[int, Field(ge=5, le=1440)] = Field(
        default=180, description="Ceiling on one workflow execution in minutes."
    )

    @field_validator("schedule")
    @classmethod
    def _expression(cls, expression: str) -> str:
        if not _SCHEDULE.match(expression):
            raise ValueError(f"got {expression!r}; use 'cron(...)' or 'rate(N minutes|hours|days)'")
        return expression


class AthenaSettings(_Settings):
    """The Athena workgroup."""

    bytes_scanned_cutoff_mb: Annotated[int, Field(ge=10)] = Field(
        default=1024, description="Largest scan one query may make, in MB (Athena's minimum is 10)."
    )


class EnvironmentSettings(_Settings):
    """Everything that differs between environments (one block under `environments` in cdk.json)."""

    name: str = Field(description="The environment's name (the key of its block); part of every stack name.")
    account: str | None = Field(
        default=None, description="AWS account ID (12 digits); null with `region` keeps synthesis environment-agnostic."
    )
    region: str | None = Field(default=None, description="AWS region, e.g. `eu-west-1`; null: environment-agnostic.")
    removal_policy: Literal["retain", "destroy"] = Field(
        default="retain",
        description="`destroy` deletes buckets (emptying them first), keys and logs with their stack; "
        "`retain` keeps every stateful resource.",
    )
    termination_protection: bool = Field(default=True, description="Turn on CloudFormation termination protection.")
    log_retention_days: int = Field(
        default=365,
        description="Retention of every CloudWatch log group (a value CloudWatch accepts, e.g. 7, 30, 365).",
    )
    alert_email: str | None = Field(
        default=None, description="E-mail address subscribed to the alert topic; null: none."
    )
    consumer_accounts: tuple[str, ...] = Field(
        default=(),
        strict=False,  # JSON has lists, not tuples
        description="Other AWS accounts (12 digits each) allowed to read the curated zone.",
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags added to every resource.")
    storage: StorageSettings = Field(default=StorageSettings(), description="Buckets and lifecycle.")
    network: NetworkSettings = Field(default=NetworkSettings(), description="VPC and endpoints.")
    kinesis: KinesisSettings = Field(default=KinesisSettings(), description="The ingest stream.")
    firehose: FirehoseSettings = Field(default=FirehoseSettings(), description="Delivery to the raw zone.")
    glue: GlueSettings = Field(default=GlueSettings(), description="Catalog and ETL.")
    workflow: WorkflowSettings = Field(default=WorkflowSettings(), description="Orchestration.")
    athena: AthenaSettings = Field(default=AthenaSettings(), description="Queries.")
    ml: MlSettings = Field(default=MlSettings(), description="The SageMaker Processing job and model registry.")
    analytics: AnalyticsSettings = Field(default=AnalyticsSettings(), description="Real-time analytics (Flink).")
    warehouse: WarehouseSettings = Field(
        default=WarehouseSettings(), description="Redshift Serverless with Spectrum over the lake's catalog."
    )
    video: VideoSettings = Field(
        default=VideoSettings(), description="Kinesis Video Streams and the frame labeler (Rekognition)."
    )
    cdc: CdcSettings = Field(
        default=CdcSettings(), description="Change data capture: DMS Serverless from PostgreSQL, current state by Glue."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not ENV_NAME.match(name):
            raise ValueError(
                f"got {name!r}; use lower-case letters, digits and '-', starting with a letter, 11 at most "
                "(it is part of every bucket name)"
            )
        return name

    @field_validator("account")
    @classmethod
    def _account(cls, account: str | None) -> str | None:
        if account is not None and not _ACCOUNT.match(account):
            raise ValueError(f"got {account!r}; an AWS account ID is 12 digits")
        return account

    @field_validator("region")
    @classmethod
    def _region(cls, region: str | None) -> str | None:
        if region is not None and not _REGION.match(region):
            raise ValueError(f"got {region!r}; use a region code such as 'eu-west-1'")
        return region

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
            raise ValueError(f"got {days}; CloudWatch Logs accepts {allowed}")
        return days

    @field_validator("alert_email")
    @classmethod
    def _email(cls, email: str | None) -> str | None:
        if email is not None and not _EMAIL.match(email):
            raise ValueError(f"got {email!r}; give an e-mail address such as 'data-team@example.com'")
        return email

    @field_validator("consumer_accounts")
    @classmethod
    def _consumers(cls, accounts: tuple[str, ...]) -> tuple[str, ...]:
        for account in accounts:
            if not _ACCOUNT.match(account):
                raise ValueError(f"got {account!r}; each consumer account is a 12-digit AWS account ID")
        if len(set(accounts)) != len(accounts):
            raise ValueError(f"got {list(accounts)}; list each account once")
        return accounts

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                raise ValueError(f"got key {key!r}; a tag key has 1 to 128 characters and does not start with 'aws:'")
            if len(value) > 256:
                raise ValueError(f"got {len(value)} characters in the value of {key!r}; a tag value has 256 at most")
        return tags

    @model_validator(mode="after")
    def _environment(self) -> EnvironmentSettings:
        if (self.account is None) != (self.region is None):
            raise FieldError(
                "account" if self.account is None else "region",
                None,
                "set account and region together, or neither (environment-agnostic)",
            )
        if self.region is not None and self.network.availability_zones is None:
            raise FieldError(
                "network.availability_zones",
                None,
                f"name the zones of {self.region} (two, or three with the warehouse) when a region is set, so "
                "synthesis never looks them up",
            )
        if self.glue.run_in_vpc and not self.network.interface_endpoints:
            raise FieldError(
                "glue.run_in_vpc",
                True,
                "needs network.interface_endpoints = true: the VPC has no route to the internet, so in it the job "
                "reaches Glue, KMS, CloudWatch and STS only through the interface endpoints",
            )
        if self.network.availability_zones and self.region:
            for zone in self.network.availability_zones:
                if not zone.startswith(self.region):
                    raise FieldError(
                        "network.availability_zones",
                        list(self.network.availability_zones),
                        f"every zone must be in {self.region}",
                    )
        return self

    @model_validator(mode="after")
    def _warehouse_network(self) -> EnvironmentSettings:
        # Redshift Serverless places a workgroup in subnets of three AZs; the Network stack then asks for three zones
        # (availability_zone_count) and the Glue endpoint Spectrum reads the catalog through.
        zones = self.network.availability_zones
        if self.warehouse.enabled and zones is not None and len(zones) != WAREHOUSE_ZONES:
            raise FieldError(
                "network.availability_zones",
                list(zones),
                "name three zones when warehouse.enabled: Redshift Serverless needs subnets in three availability "
                "zones",
            )
        return self

    @property
    def availability_zone_count(self) -> int:
        """How many zones the VPC spans: the zones named, else three with the warehouse and two without."""
        if self.network.availability_zones:
            return len(self.network.availability_zones)
        return WAREHOUSE_ZONES if self.warehouse.enabled else 2

    @property
    def destroy_on_delete(self) -> bool:
        """True only where the settings explicitly allow data to be deleted with its stack."""
        return self.removal_policy == "destroy"

    @property
    def resource_prefix(self) -> str:
        """The start of every physical name of this environment (buckets, jobs, alarms...): `ml-data-lake-<env>`."""
        return f"{PROJECT}-{self.name}"

    def stack_name(self, unit: str) -> str:
        """The CloudFormation stack name of one unit, e.g. `MlDataLake-sandbox-Storage`."""
        return f"MlDataLake-{self.name}-{unit}"
