"""Typed, validated settings: one `EnvironmentSettings` per block under `environments` in cdk.json.

Every setting has a description (it becomes the README's settings table) and is checked against
AWS's own limits here, before any construct exists, so a bad value stops synthesis with one line that
names the setting, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from infra.config_ml import MlSettings

DEFAULT_ENVIRONMENT = "sandbox"

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

# Kinesis Data Streams per-shard limits (the study notes' numbers).
SHARD_INGEST_MB_PER_SECOND = 1.0
SHARD_INGEST_RECORDS_PER_SECOND = 1000
SHARD_EGRESS_MB_PER_SECOND = 2.0

# Firehose needs at least this buffer when dynamic partitioning is on, and offers no zero buffering with it
# (the CDK refuses an interval under 60 s).
DYNAMIC_PARTITIONING_MIN_BUFFER_MB = 64
DYNAMIC_PARTITIONING_MIN_INTERVAL_SECONDS = 60
# Firehose's record format conversion also needs a buffer of at least 64 MiB (large row groups make good Parquet).
FORMAT_CONVERSION_MIN_BUFFER_MB = 64

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# 11 characters at most: the longest bucket name, `ml-data-lake-<env>-curated-<account>-<region>-an`, must fit
# S3's 63 characters with the longest region codes (see infra/constructs/lake_bucket.py).
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,10}$")
_SCHEDULE = re.compile(r"^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$")


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message is one line meant for the user."""


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
            raise _FieldError(
                "infrequent_access_after_days", ia, "S3 allows a Standard-IA transition at 30 days or more"
            )
        if glacier is not None and glacier < 1:
            raise _FieldError("glacier_after_days", glacier, "must be 1 or more")
        if ia is not None and glacier is not None and glacier < ia + 30:
            raise _FieldError(
                "glacier_after_days",
                glacier,
                f"must be at least 30 days after infrequent_access_after_days ({ia}), i.e. {ia + 30} or more",
            )
        last = max(d for d in (ia, glacier, 0) if d is not None)
        if expire is not None and expire <= last:
            raise _FieldError("expire_after_days", expire, f"must be greater than the last transition ({last} days)")
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
        description="The two availability zones to use. Required when `region` is set, so that synthesis never "
        "looks zones up in an account; null lets CloudFormation pick them.",
    )
    interface_endpoints: bool = Field(
        default=False,
        description="Add interface endpoints for Glue, KMS, CloudWatch Logs, CloudWatch metrics and STS in the "
        "workload subnet's AZ (each costs about 7 USD a month), for workloads in the VPC (`glue.run_in_vpc`).",
    )

    @field_validator("availability_zones")
    @classmethod
    def _two_zones(cls, zones: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if zones is not None and (len(zones) != 2 or len(set(zones)) != 2):
            raise ValueError(f"got {list(zones)}; give exactly two different zones, e.g. ['eu-west-1a', 'eu-west-1b']")
        return zones


@dataclass(frozen=True)
class ShardPlan:
    """How many shards a provisioned stream needs for the expected load, and which limit decides it."""

    shards: int
    by_ingest_bytes: int
    by_ingest_records: int
    by_egress: int

    @property
    def explanation(self) -> str:
        """One sentence for a stack output: the three limits and the result."""
        return (
            f"{self.shards} shard(s) = max(ingest {self.by_ingest_bytes} by MB/s at 1 MB/s per shard, "
            f"{self.by_ingest_records} by records/s at 1,000 per shard, "
            f"{self.by_egress} by reads at 2 MB/s per shard shared by every consumer)"
        )


def plan_shards(*, ingest_mb_per_second: float, records_per_second: int, consumers: int) -> ShardPlan:
    """Shards needed so that neither the per-shard write limits nor the shared read limit is exceeded."""
    by_bytes = math.ceil(ingest_mb_per_second / SHARD_INGEST_MB_PER_SECOND)
    by_records = math.ceil(records_per_second / SHARD_INGEST_RECORDS_PER_SECOND)
    by_egress = math.ceil(ingest_mb_per_second * consumers / SHARD_EGRESS_MB_PER_SECOND)
    return ShardPlan(max(1, by_bytes, by_records, by_egress), by_bytes, by_records, by_egress)


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
        default=1, description="Classic (shared-throughput) consumers reading the stream, Firehose included."
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
            raise _FieldError("shards", self.shards, "must be null when mode is 'on_demand' (AWS manages the shards)")
        needed = self.load_plan().shards
        if self.shards < needed:
            raise _FieldError("shards", self.shards, f"the expected load needs at least {needed} shards")
        return self

    def load_plan(self) -> ShardPlan:
        """The shard count the expected load needs."""
        return plan_shards(
            ingest_mb_per_second=self.expected_ingest_mb_per_second,
            records_per_second=self.expected_records_per_second,
            consumers=self.consumers,
        )

    def shard_plan(self) -> ShardPlan:
        """The shards to provision: the explicit `shards` when given (never below the load's need), else the load's."""
        plan = self.load_plan()
        if self.shards is not None:
            return ShardPlan(self.shards, plan.by_ingest_bytes, plan.by_ingest_records, plan.by_egress)
        return plan


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
            raise _FieldError(
                "buffer_size_mb",
                self.buffer_size_mb,
                f"must be at least {FORMAT_CONVERSION_MIN_BUFFER_MB} when record_format is 'parquet' "
                "(Firehose record format conversion)",
            )
        return self

    @model_validator(mode="after")
    def _dynamic_partitioning_buffer(self) -> FirehoseSettings:
        if self.partitioning == "device" and self.buffer_size_mb < DYNAMIC_PARTITIONING_MIN_BUFFER_MB:
            raise _FieldError(
                "buffer_size_mb",
                self.buffer_size_mb,
                f"must be at least {DYNAMIC_PARTITIONING_MIN_BUFFER_MB} when partitioning is 'device' "
                "(Firehose dynamic partitioning)",
            )
        if self.partitioning == "device" and self.buffer_interval_seconds < DYNAMIC_PARTITIONING_MIN_INTERVAL_SECONDS:
            raise _FieldError(
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

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _ENV_NAME.match(name):
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
            raise _FieldError(
                "account" if self.account is None else "region",
                None,
                "set account and region together, or neither (environment-agnostic)",
            )
        if self.region is not None and self.network.availability_zones is None:
            raise _FieldError(
                "network.availability_zones",
                None,
                f"name two zones of {self.region} when a region is set, so synthesis never looks them up",
            )
        if self.glue.run_in_vpc and not self.network.interface_endpoints:
            raise _FieldError(
                "glue.run_in_vpc",
                True,
                "needs network.interface_endpoints = true: the VPC has no route to the internet, so in it the job "
                "reaches Glue, KMS, CloudWatch and STS only through the interface endpoints",
            )
        if self.network.availability_zones and self.region:
            for zone in self.network.availability_zones:
                if not zone.startswith(self.region):
                    raise _FieldError(
                        "network.availability_zones",
                        list(self.network.availability_zones),
                        f"every zone must be in {self.region}",
                    )
        return self

    @property
    def destroy_on_delete(self) -> bool:
        """True only where the settings explicitly allow data to be deleted with its stack."""
        return self.removal_policy == "destroy"

    @property
    def resource_prefix(self) -> str:
        """`ml-data-lake-<env>`: what the physical names of this environment's resources start with."""
        return f"ml-data-lake-{self.name}"

    def stack_name(self, unit: str) -> str:
        """The CloudFormation stack name of one unit, e.g. `MlDataLake-sandbox-Storage`."""
        return f"MlDataLake-{self.name}-{unit}"


class _FieldError(ValueError):
    """Raised inside a model validator to blame one field (its path relative to that model)."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(allowed)
        self.field, self.value, self.allowed = field, value, allowed


def load_environment(environments: object, name: object) -> EnvironmentSettings:
    """Parse the block for environment `name` out of the `environments` context; raise ConfigError if invalid."""
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError("cdk.json context has no 'environments' block; add one block per environment, e.g. sandbox")
    known = ", ".join(sorted(environments))
    if not isinstance(name, str) or name not in environments:
        raise ConfigError(f"unknown environment {name!r} (from -c env=...); known environments: {known}")
    block = environments[name]
    if not isinstance(block, Mapping):
        raise ConfigError(f"environments.{name}: expected a block of settings, got {type(block).__name__}")
    if "name" in block:
        raise ConfigError(f"environments.{name}.name: not a setting; the environment's name is the key of its block")
    try:
        return EnvironmentSettings.model_validate({"name": name, **block})
    except ValidationError as error:
        raise ConfigError(_describe(error, f"environments.{name}", block)) from None


def _describe(error: ValidationError, prefix: str, block: Mapping[str, Any]) -> str:
    """The first problem of a ValidationError as one line: the setting's path, the value and what is allowed."""
    problem = error.errors(include_url=False)[0]
    loc = [str(part) for part in problem["loc"]]
    context = problem.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, _FieldError):
        path = ".".join([prefix, *loc, cause.field])
        value = cause.value if cause.value is not None else _lookup(block, [*loc, *cause.field.split(".")])
        return f"{path} = {_show(value)}: {cause.allowed}"
    path = ".".join([prefix, *loc])
    if problem["type"] == "extra_forbidden":
        return _unknown_setting(path, loc, block)
    if problem["type"] == "missing":
        return f"{path}: required setting is missing"
    message = str(cause) if isinstance(cause, ValueError) else problem["msg"]
    if message.startswith("got "):
        return f"{path}: {message}"
    return f"{path} = {_show(problem['input'])}: {message[0].lower()}{message[1:]}"


def _unknown_setting(path: str, loc: list[str], block: Mapping[str, Any]) -> str:
    """Name an unknown key, suggest the closest known one and list the rest."""
    model: type[BaseModel] = EnvironmentSettings
    for part in loc[:-1]:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    known = [key for key in model.model_fields if key != "name"]
    close = difflib.get_close_matches(loc[-1], known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{path}: unknown setting (a typo?); {hint}known settings here: {', '.join(known)}"


def _lookup(block: Mapping[str, Any], path: list[str]) -> object:
    node: object = block
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _show(value: object) -> str:
    return "null" if value is None else repr(value)


def settings_reference() -> list[tuple[str, str, str]]:
    """Every setting as (dotted path, default, description), in declaration order, for the README."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], defaults: BaseModel | None, prefix: str) -> None:
        for key, field in model.model_fields.items():
            if key == "name":
                continue
            path = f"{prefix}{key}"
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(
                    annotation,
                    getattr(defaults, key) if defaults else field.get_default(call_default_factory=True),
                    f"{path}.",
                )
                continue
            default = getattr(defaults, key) if defaults is not None else field.get_default(call_default_factory=True)
            rows.append((path, _json(default), field.description or ""))

    walk(EnvironmentSettings, None, "")
    return rows


def _json(value: object) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value)
