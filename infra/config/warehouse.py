"""Settings of the warehouse unit (issue 13): Redshift Serverless with Spectrum over the lake's catalog.

Names here become SQL identifiers the deploy-time custom resource writes into statements (the external schema) and
Redshift's own names (admin user, database), so each is checked against what Redshift accepts before synthesis.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from infra.config.errors import FieldError

# Redshift Serverless base capacity: 8 to 1,024 RPUs in steps of 8 (above 512 only in some regions), or 4 RPUs
# (where offered; 32 TB of managed storage at most).
RPU_STEP = 8
SMALLEST_BASE_RPU = 4
MAX_BASE_RPU = 1024
# A lower-case identifier that needs no quoting in SQL: a letter, then letters, digits or '_' (Redshift: 127 bytes).
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Names Redshift keeps for itself or that read as SQL keywords in the statements the unit writes.
RESERVED = frozenset({"public", "rdsdb", "user", "admin", "dev", "padb_harvest", "information_schema", "pg_catalog"})


def _identifier(value: str, what: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(
            f"got {value!r}; a {what} has 1 to 63 lower-case letters, digits or '_' and starts with a letter"
        )
    if value in RESERVED:
        raise ValueError(f"got {value!r}; Redshift keeps that name (reserved: {', '.join(sorted(RESERVED))})")
    return value


def allowed_capacity(rpus: int) -> bool:
    """A base or maximum capacity Redshift Serverless accepts: 4, or a multiple of 8 from 8 to 1,024 RPUs."""
    return rpus == SMALLEST_BASE_RPU or (rpus % RPU_STEP == 0 and RPU_STEP <= rpus <= MAX_BASE_RPU)


class WarehouseSettings(BaseModel):
    """A Redshift Serverless namespace and workgroup in the lake's VPC, with Spectrum over the lake's catalog."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    enabled: bool = Field(
        default=False,
        description="Create the warehouse: Redshift Serverless (no compute billed while idle) in three AZs of the "
        "VPC, and the Glue interface endpoint Spectrum needs, which is billed by the hour (see `make cost`).",
    )
    base_capacity_rpu: int = Field(
        default=8,
        description="RPUs a query starts with: 4, or 8 to 1,024 in steps of 8 (4 and above 512 only in some regions). "
        "Billed per RPU-second while queries run, 60 s at least each time.",
    )
    max_capacity_rpu: int | None = Field(
        default=None,
        description="Most RPUs the workgroup may scale to (a multiple of 8, at least the base); null: no cap.",
    )
    admin_username: str = Field(
        default="lake_admin",
        description="The namespace's admin user; Redshift generates its password and keeps it in Secrets Manager "
        "under the lake key (nobody sees it).",
    )
    database_name: str = Field(default="warehouse", description="The database the workgroup's users connect to.")
    external_schema: str = Field(
        default="lake",
        description="The external schema created at deploy time over the lake's Glue database (Spectrum), e.g. "
        "`SELECT ... FROM lake.curated_events`.",
    )
    daily_rpu_hours_alarm: Annotated[float, Field(gt=0)] | None = Field(
        default=24.0,
        description="Alert when a day's compute exceeds this many RPU-hours (a budget, e.g. 24 RPU-hours is about "
        "9 USD at us-east-1 prices); null: no alarm.",
    )

    @field_validator("base_capacity_rpu")
    @classmethod
    def _base(cls, rpus: int) -> int:
        if not allowed_capacity(rpus):
            raise ValueError(f"got {rpus}; Redshift Serverless takes 4, or 8 to {MAX_BASE_RPU} RPUs in steps of 8")
        return rpus

    @field_validator("admin_username")
    @classmethod
    def _admin(cls, name: str) -> str:
        return _identifier(name, "user name")

    @field_validator("database_name")
    @classmethod
    def _database(cls, name: str) -> str:
        return _identifier(name, "database name")

    @field_validator("external_schema")
    @classmethod
    def _schema(cls, name: str) -> str:
        return _identifier(name, "schema name")

    @model_validator(mode="after")
    def _max_capacity(self) -> WarehouseSettings:
        cap = self.max_capacity_rpu
        if cap is not None and (cap % RPU_STEP or cap < self.base_capacity_rpu):
            raise FieldError(
                "max_capacity_rpu",
                cap,
                f"must be a multiple of 8 and at least base_capacity_rpu ({self.base_capacity_rpu})",
            )
        return self
