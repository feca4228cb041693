"""Settings of the change-data-capture unit (issue 13, unit 4): DMS Serverless from PostgreSQL into the raw zone, and
the Glue job that turns the changes into current state.

DMS Serverless is billed per DCU-hour while a replication runs, so the unit is off by default and nobody's cdk.json
turns it on; the deploy creates the replication without starting it (`make cdc-start`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from infra.config.errors import FieldError

# The DCU values DMS Serverless accepts for MinCapacityUnits and MaxCapacityUnits (DMS API reference, ComputeConfig).
DCU_VALUES = (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384)
# RDS PostgreSQL instance classes this unit offers for its sandbox source (burstable and general purpose, Graviton).
INSTANCE_CLASS = re.compile(r"^db\.(t4g|t3|m6g|m7g|m6i|r6g|r7g)\.(micro|small|medium|large|x?large|[0-9]+xlarge)$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$")
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
# PostgreSQL identifiers as DMS table-mapping rules take them; `%` is DMS's wildcard.
_IDENTIFIER = re.compile(r"^[A-Za-z_%][A-Za-z0-9_$%]{0,62}$")
# Glue triggers take cron expressions only (no rate()).
_CRON = re.compile(r"^cron\(\S+( \S+){5}\)$")


class _Settings(BaseModel):
    """Base for every settings block: immutable, no coercion between types, no unknown keys."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")


class CreatedSource(_Settings):
    """A small RDS for PostgreSQL instance the unit creates in the lake's VPC, as a sandbox source."""

    instance_class: str = Field(
        default="db.t4g.micro",
        description="RDS instance class, e.g. `db.t4g.micro` (the smallest; a fixed monthly cost, see `make cost`).",
    )
    allocated_storage_gb: Annotated[int, Field(ge=20, le=65_536)] = Field(
        default=20, description="gp3 storage in GB (20 to 65,536), encrypted with the lake key."
    )
    engine_version: Literal["14", "15", "16", "17"] = Field(
        default="16", description="Major version of PostgreSQL (14 to 17: what DMS 3.5 reads changes from)."
    )
    database_name: str = Field(default="app", description="The database created on the instance and replicated.")
    backup_retention_days: Annotated[int, Field(ge=1, le=35)] = Field(
        default=7, description="Days of automated backups (1 to 35; logical replication needs backups on)."
    )

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        if not INSTANCE_CLASS.match(value):
            raise ValueError(
                f"got {value!r}; use an RDS instance class of the families t4g, t3, m6g, m7g, m6i, r6g or r7g, "
                "e.g. 'db.t4g.micro'"
            )
        return value

    @field_validator("database_name")
    @classmethod
    def _database(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,62}$", value):
            raise ValueError(f"got {value!r}; a database name is a letter then up to 62 letters, digits or '_'")
        return value


class ExistingSource(_Settings):
    """A PostgreSQL database that already exists (reachable from the lake's VPC), its credentials in a secret."""

    host: str = Field(description="The database's DNS name, e.g. `orders.abc123.eu-west-1.rds.amazonaws.com`.")
    port: Annotated[int, Field(ge=1, le=65_535)] = Field(default=5432, description="The database's TCP port.")
    database_name: str = Field(description="The database to replicate.")
    secret_arn: str = Field(
        description="Complete ARN (with its 6-character suffix) of the Secrets Manager secret with `username`, "
        "`password`, `host` and `port` (the shape RDS writes); DMS reads it through its own role. Never the password."
    )
    secret_key_arn: str | None = Field(
        default=None,
        description="ARN of the KMS key that encrypts the secret, when it is a customer-managed key (the DMS role is "
        "then allowed to decrypt with it); null: the secret uses the AWS-managed key.",
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not _HOST.match(value):
            raise ValueError(f"got {value!r}; give the database's DNS name or IP address, no scheme or port")
        return value

    @field_validator("database_name")
    @classmethod
    def _database(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$", value):
            raise ValueError(f"got {value!r}; a PostgreSQL database name of 1 to 63 characters")
        return value

    @field_validator("secret_arn")
    @classmethod
    def _secret(cls, value: str) -> str:
        if not _SECRET_ARN.match(value):
            raise ValueError(
                f"got {value!r}; give a Secrets Manager secret ARN, "
                "e.g. 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:orders-db-AbCdEf'"
            )
        return value

    @field_validator("secret_key_arn")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$", value):
            raise ValueError(f"got {value!r}; give a KMS key ARN, e.g. 'arn:aws:kms:eu-west-1:111111111111:key/<id>'")
        return value


class TableRule(_Settings):
    """One selection rule of the replication's table mapping: which tables of which schema DMS replicates."""

    schema_name: str = Field(description="Schema name; `%` is DMS's wildcard.")
    table_name: str = Field(default="%", description="Table name; `%` (the default) selects every table.")
    primary_key: tuple[str, ...] = Field(
        default=("id",),
        strict=False,  # JSON has lists, not tuples
        description="Primary-key columns of the selected tables: the current-state job keeps one row per key "
        "(PostgreSQL CDC needs a primary key on every replicated table anyway).",
    )

    @field_validator("schema_name", "table_name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"got {value!r}; a PostgreSQL identifier (letters, digits, '_', '$') or DMS's '%'")
        return value

    @field_validator("primary_key")
    @classmethod
    def _key(cls, columns: tuple[str, ...]) -> tuple[str, ...]:
        if not columns or any(not re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", c) for c in columns):
            raise ValueError(f"got {list(columns)}; name one or more key columns (letters, digits, '_')")
        return columns


class CdcSettings(_Settings):
    """Change data capture: DMS Serverless replicates a PostgreSQL database into the raw zone (Parquet under `cdc/`),
    and a Glue job turns the changes into current state in the curated zone."""

    enabled: bool = Field(
        default=False,
        description="Create the replication (not started: `make cdc-start` starts it, and it is billed per DCU-hour "
        "while it runs, up to ~48 h after a stop), its source when `source` is `create`, the Secrets Manager "
        "endpoint, and the current-state job.",
    )
    source: Literal["create", "existing"] = Field(
        default="create",
        description="`create`: a small RDS for PostgreSQL instance in the VPC (`created`); `existing`: a database "
        "given in `existing`.",
    )
    created: CreatedSource = Field(default=CreatedSource(), description="The RDS instance, when `source` is `create`.")
    existing: ExistingSource | None = Field(
        default=None,
        description="The database to read, when `source` is `existing`: `host`, `port` (5432), `database_name`, "
        "`secret_arn` (the secret's complete ARN; DMS reads `username`, `password`, `host`, `port` from it) and "
        "`secret_key_arn` (its KMS key, when customer-managed); null otherwise.",
    )
    tables: tuple[TableRule, ...] = Field(
        default=(TableRule(schema_name="public"),),
        strict=False,  # JSON has lists, not tuples
        description="What DMS replicates: one selection rule per entry, `{schema_name, table_name, primary_key}` "
        '(`%` is DMS\'s wildcard; `table_name` defaults to `%`, `primary_key` to `["id"]`).',
    )
    min_capacity_units: int = Field(
        default=1, description="DCUs DMS Serverless scales down to (1, 2, 4, 8, 16, 32, 64, 128, 192, 256 or 384)."
    )
    max_capacity_units: int = Field(
        default=2, description="DCUs DMS Serverless scales up to (a value of the same list, not below the minimum)."
    )
    multi_az: bool = Field(default=False, description="Run the replication with a standby in a second zone.")
    create_account_roles: bool = Field(
        default=False,
        description="Create the account-wide roles DMS expects, `dms-vpc-role` and `dms-cloudwatch-logs-role`. "
        "There is one of each per account: leave it off where they exist (the console creates them) and turn it on "
        "in one environment of an account that has none.",
    )
    current_state_schedule: str | None = Field(
        default=None,
        description="Schedule of the current-state job, a Glue trigger of its own (`cron(...)` with six fields, e.g. "
        "`cron(0 4 * * ? *)`; Glue triggers take no `rate(...)`); null: run it by hand (`aws glue start-job-run`).",
    )

    @field_validator("min_capacity_units", "max_capacity_units")
    @classmethod
    def _dcu(cls, value: int) -> int:
        if value not in DCU_VALUES:
            raise ValueError(f"got {value}; DMS Serverless accepts {', '.join(map(str, DCU_VALUES))} DCUs")
        return value

    @field_validator("current_state_schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None and not _CRON.match(value):
            raise ValueError(f"got {value!r}; use a six-field cron expression such as 'cron(0 4 * * ? *)'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CdcSettings:
        if self.max_capacity_units < self.min_capacity_units:
            raise FieldError(
                "max_capacity_units",
                self.max_capacity_units,
                f"must not be below min_capacity_units ({self.min_capacity_units})",
            )
        if self.source == "existing" and self.existing is None:
            raise FieldError(
                "existing", None, "give host, port, database_name and secret_arn when source is 'existing'"
            )
        if self.source == "create" and self.existing is not None:
            raise FieldError("existing", "{...}", "must be null when source is 'create' (the unit makes the database)")
        if not self.tables:
            raise FieldError("tables", [], "list at least one table rule, e.g. [{'schema_name': 'public'}]")
        return self

    @property
    def database_name(self) -> str:
        """The database DMS reads, whichever the source."""
        return self.existing.database_name if self.existing else self.created.database_name
