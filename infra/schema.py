"""The lake's event schema as the infrastructure sees it: the file the Lambda, the job and the raw table share."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final, NamedTuple

# Declared once, next to the transformation Lambda that enforces it first; the Glue job receives the same document.
EVENT_SCHEMA_FILE = (
    Path(__file__).resolve().parent.parent / "lambdas" / "firehose_transform" / "sensor_event_schema.json"
)


@cache
def event_schema() -> dict[str, Any]:
    """The parsed schema document."""
    document: dict[str, Any] = json.loads(EVENT_SCHEMA_FILE.read_text(encoding="utf-8"))
    return document


# The Glue (and Athena, Hive) type of each type the schema file may declare: the one place they are mapped.
GLUE_TYPES: Final[Mapping[str, str]] = {"string": "string", "double": "double", "timestamp": "timestamp"}
# Glue refuses a column comment longer than this.
COMMENT_LIMIT: Final = 255


class Column(NamedTuple):
    """One column of the raw zone's table: a declared field with its Glue type and its description as comment."""

    name: str
    type: str
    comment: str


def table_columns(schema: Mapping[str, Any]) -> list[Column]:
    """The schema document's fields as table columns, in declaration order; an unmappable type is an error."""
    columns = []
    for field in schema["fields"]:
        kind = field["type"]
        if kind not in GLUE_TYPES:
            allowed = ", ".join(GLUE_TYPES)
            raise ValueError(f"event schema field {field['name']!r}: type {kind!r} has no Glue type ({allowed})")
        text = str(field.get("description", ""))
        comment = text if len(text) <= COMMENT_LIMIT else text[: COMMENT_LIMIT - 1] + "…"
        columns.append(Column(field["name"], GLUE_TYPES[kind], comment))
    return columns


def table_ddl(schema: Mapping[str, Any]) -> str:
    """The columns as a DDL list (`device_id string, event_time timestamp, ...`): Spark reads Parquet with it."""
    return ", ".join(f"{column.name} {column.type}" for column in table_columns(schema))


def event_schema_argument() -> str:
    """The schema as one compact line of JSON: the Glue job's `--event_schema` argument."""
    return json.dumps(event_schema(), separators=(",", ":"), sort_keys=True)
