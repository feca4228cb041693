"""What the warehouse schema provider runs: pure functions from a CloudFormation event to SQL, and from a Data API
statement's description to "done", "not yet" or the statement's error.

The external schema is a view of the lake's Glue database: it holds no data, so dropping it loses nothing (the tables
stay in the catalog, the objects in S3) and creating it again is always safe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Identifiers the statements name unquoted: the settings allow only these (infra/config/warehouse.py).
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Data API statement states: still running, done, and failed (with an Error text).
RUNNING = frozenset({"SUBMITTED", "PICKED", "STARTED"})
FINISHED = "FINISHED"
FAILED = frozenset({"FAILED", "ABORTED"})
PHYSICAL_ID_SEPARATOR = "/"


class StatementError(RuntimeError):
    """A statement ended FAILED or ABORTED; the message carries Redshift's error text to CloudFormation."""


@dataclass(frozen=True)
class SchemaProperties:
    """The custom resource's properties: where the schema lives and what it maps."""

    workgroup: str
    namespace: str
    database: str
    schema: str
    catalog_database: str
    role_arn: str

    @classmethod
    def parse(cls, properties: Mapping[str, Any]) -> SchemaProperties:
        """Read and check the properties; a bad identifier fails with its name and value."""
        parsed = cls(
            workgroup=str(properties["WorkgroupName"]),
            namespace=str(properties["NamespaceName"]),
            database=str(properties["Database"]),
            schema=str(properties["Schema"]),
            catalog_database=str(properties["CatalogDatabase"]),
            role_arn=str(properties["RoleArn"]),
        )
        for name, value in (("Schema", parsed.schema), ("CatalogDatabase", parsed.catalog_database)):
            if not _IDENTIFIER.match(value):
                raise ValueError(f"{name}={value!r}: use 1 to 63 lower-case letters, digits or '_', a letter first")
        return parsed

    @property
    def physical_id(self) -> str:
        """The schema's identity: another workgroup, database or schema name is another schema."""
        return PHYSICAL_ID_SEPARATOR.join((self.workgroup, self.database, self.schema))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_sqls(props: SchemaProperties) -> list[str]:
    """Create the external schema if it is missing, and let every database user read through it."""
    return [
        f"CREATE EXTERNAL SCHEMA IF NOT EXISTS {props.schema} FROM DATA CATALOG "
        f"DATABASE {_literal(props.catalog_database)} IAM_ROLE {_literal(props.role_arn)}",
        f"GRANT USAGE ON SCHEMA {props.schema} TO PUBLIC",
    ]


def drop_sqls(schema: str) -> list[str]:
    """Drop the schema only (no DROP EXTERNAL DATABASE): the catalog's database and tables stay as they are."""
    return [f"DROP SCHEMA IF EXISTS {schema}"]


@dataclass(frozen=True)
class Plan:
    """The statements one event runs (none: nothing to do) and the physical ID to report."""

    sqls: list[str]
    physical_id: str


def plan(
    request_type: str, properties: Mapping[str, Any], old: Mapping[str, Any] | None, physical_id: str | None
) -> Plan:
    """The statements for a Create, Update or Delete event.

    An update that changes what the schema maps (catalog database, role) under the same name drops and creates it in
    one transaction; one that renames it creates the new schema, and CloudFormation then deletes the old one.
    """
    props = SchemaProperties.parse(properties)
    if request_type == "Create":
        return Plan(create_sqls(props), props.physical_id)
    if request_type == "Update":
        previous = SchemaProperties.parse(old or {})
        remapped = (previous.catalog_database, previous.role_arn) != (props.catalog_database, props.role_arn)
        if previous.physical_id == props.physical_id and remapped:
            return Plan([*drop_sqls(props.schema), *create_sqls(props)], props.physical_id)
        return Plan(create_sqls(props), props.physical_id)
    if request_type == "Delete":
        # A create that failed before reporting a schema ID leaves CloudFormation's request ID: nothing to drop.
        if physical_id != props.physical_id:
            return Plan([], physical_id or props.physical_id)
        return Plan(drop_sqls(props.schema), props.physical_id)
    raise ValueError(f"RequestType={request_type!r}: expected Create, Update or Delete")


def is_finished(description: Mapping[str, Any]) -> bool:
    """True when the statement finished, False while it runs; StatementError with its error when it failed."""
    status = str(description.get("Status"))
    if status == FINISHED:
        return True
    if status in RUNNING:
        return False
    if status in FAILED:
        error = description.get("Error") or "no error text"
        raise StatementError(f"statement {description.get('Id')} {status}: {error}")
    raise StatementError(f"statement {description.get('Id')} has an unknown status {status!r}")
