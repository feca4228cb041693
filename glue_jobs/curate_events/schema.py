"""The lake's event schema as the Glue job uses it: Spark types of the declared fields and their validation rules.

The schema is declared once, in ``lambdas/firehose_transform/sensor_event_schema.json``; the CDK stack passes that
document to the job as the ``--event_schema`` argument. This module parses it (from the JSON text or a file) into an
``EventSchema`` that the transformations read, so they name no field and no limit themselves.

On Glue this file is shipped with ``--extra-py-files`` and imported as the top-level module ``schema``; tests import
it as ``glue_jobs.curate_events.schema``. It therefore imports nothing from its own package.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pyspark.sql.types import DataType, DateType, DoubleType, IntegerType, StringType, StructField, StructType

# Spark type of each declared type as the raw zone carries it. Timestamps stay ISO-8601 text: the job checks the
# text against the contract (UTC, ``Z``) and derives the typed column itself, instead of letting a JSON reader parse
# it with session-dependent time zone and parser settings.
_SPARK_TYPES: Final[Mapping[str, DataType]] = {
    "string": StringType(),
    "double": DoubleType(),
    "timestamp": StringType(),
}
_FIELD_KEYS: Final = frozenset({"name", "type", "required", "pattern", "min", "max", "allowed", "description"})
# The Glue Data Catalog and Athena fold column names to lower case; other names would not survive the round trip.
_COLUMN_NAME: Final = re.compile(r"[a-z_][a-z0-9_]*")

# The device reference table (devices.csv): one row per device the lake knows.
DEVICE_TABLE_STRUCT: Final = StructType(
    [
        StructField("device_id", StringType(), nullable=True),
        StructField("site", StringType(), nullable=True),
        StructField("model", StringType(), nullable=True),
        StructField("installed_on", DateType(), nullable=True),
        # Where the device sits in its site's rack grid; the analytics job's HOTSPOTS looks for hot regions in it.
        StructField("rack_row", IntegerType(), nullable=True),
        StructField("rack_col", IntegerType(), nullable=True),
    ]
)


class SchemaError(ValueError):
    """The schema document cannot drive the job; the message names the field and the problem."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One declared field and the rules a value must meet."""

    name: str
    type: str
    required: bool = False
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] = ()

    @property
    def spark_type(self) -> DataType:
        """The field's Spark type in the raw and curated zones (timestamps as ISO-8601 strings)."""
        return _SPARK_TYPES[self.type]


@dataclass(frozen=True, slots=True)
class EventSchema:
    """The declared event schema: its fields in declaration order."""

    name: str
    version: int
    fields: tuple[FieldSpec, ...]

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> EventSchema:
        """Parse the schema document, rejecting anything the job could not enforce as written."""
        raw_fields = document.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise SchemaError("'fields' must be a non-empty list")
        fields = tuple(_parse_field(position, raw) for position, raw in enumerate(raw_fields))
        names = [spec.name for spec in fields]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise SchemaError(f"fields declared more than once: {', '.join(duplicates)}")
        version = document.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise SchemaError(f"'version' must be an integer, got {version!r}")
        return cls(name=str(document.get("name", "")), version=version, fields=fields)

    @property
    def field_names(self) -> tuple[str, ...]:
        """The declared field names, in declaration order."""
        return tuple(spec.name for spec in self.fields)

    def field(self, name: str) -> FieldSpec:
        """The declared field called ``name``; KeyError if there is none."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def resolve_choice_specs(self, choice_fields: Iterable[str]) -> list[tuple[str, str]]:
        """Glue ``resolveChoice`` specs for the declared fields among ``choice_fields``: each cast to string."""
        # A Glue DynamicFrame gives a field whose JSON type varies between records a choice type (say int and
        # double), which toDF() turns into a struct. Casting to string is lossless for every JSON scalar, and the
        # validation casts the text to the declared type itself, so a value that does not fit is quarantined as
        # `invalid_type` instead of silently becoming null in a Glue cast.
        wanted = set(choice_fields)
        return [(spec.name, "cast:string") for spec in self.fields if spec.name in wanted]


def load_schema(source: str | os.PathLike[str]) -> EventSchema:
    """Parse the schema from its JSON text (a string starting with ``{``) or from a local file path."""
    if isinstance(source, str) and source.lstrip().startswith("{"):
        text, origin = source, "the schema document"
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise SchemaError(f"cannot read the schema file {path}: {error.strerror}") from None
        origin = str(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SchemaError(f"{origin} is not valid JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(document, dict):
        raise SchemaError(f"{origin} must be a JSON object")
    return EventSchema.from_dict(document)


def _number(name: str, key: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SchemaError(f"field {name!r}: {key!r} must be a finite number, got {value!r}")
    return float(value)


def _parse_field(position: int, raw: object) -> FieldSpec:
    if not isinstance(raw, dict):
        raise SchemaError(f"fields[{position}] must be an object")
    name = raw.get("name")
    if not isinstance(name, str) or not _COLUMN_NAME.fullmatch(name):
        raise SchemaError(f"fields[{position}]: 'name' must be a lower-case column name, got {name!r}")
    # An unknown key may be a rule this job does not enforce; failing here beats letting such data through.
    unknown = sorted(set(raw) - _FIELD_KEYS)
    if unknown:
        raise SchemaError(f"field {name!r}: unknown keys {', '.join(unknown)}")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in _SPARK_TYPES:
        raise SchemaError(f"field {name!r}: type {kind!r} is not one of {', '.join(_SPARK_TYPES)}")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise SchemaError(f"field {name!r}: 'required' must be true or false")

    pattern = raw.get("pattern")
    allowed = raw.get("allowed")
    if (pattern is not None or allowed is not None) and kind != "string":
        raise SchemaError(f"field {name!r}: 'pattern' and 'allowed' apply to strings only")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise SchemaError(f"field {name!r}: 'pattern' must be a string")
        try:
            re.compile(pattern)
        except re.error as error:
            raise SchemaError(f"field {name!r}: 'pattern' is not a regular expression: {error}") from None
    if allowed is not None and (
        not isinstance(allowed, list) or not allowed or not all(isinstance(value, str) for value in allowed)
    ):
        raise SchemaError(f"field {name!r}: 'allowed' must be a non-empty list of strings")

    minimum = _number(name, "min", raw.get("min"))
    maximum = _number(name, "max", raw.get("max"))
    if (minimum is not None or maximum is not None) and kind != "double":
        raise SchemaError(f"field {name!r}: 'min' and 'max' apply to doubles only")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise SchemaError(f"field {name!r}: 'min' {minimum} is greater than 'max' {maximum}")

    return FieldSpec(
        name=name,
        type=kind,
        required=required,
        pattern=pattern,
        minimum=minimum,
        maximum=maximum,
        allowed=tuple(allowed or ()),
    )
