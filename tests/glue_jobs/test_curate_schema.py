"""The schema module: the declared schema parsed into Spark types and rules, and schemas the job must refuse."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from glue_jobs.curate_events.schema import DEVICE_TABLE_STRUCT, EventSchema, SchemaError, load_schema
from tests.glue_jobs.support import DEVICES_PATH, SCHEMA_PATH

pytestmark = pytest.mark.xdist_group("spark")


def test_declared_schema_parses_into_fields_and_rules(event_schema: EventSchema) -> None:
    assert event_schema.field_names == (
        "device_id",
        "event_time",
        "temperature_c",
        "humidity_pct",
        "battery_v",
        "status",
    )
    device_id = event_schema.field("device_id")
    assert (device_id.type, device_id.required, device_id.pattern) == ("string", True, "^[A-Za-z0-9_.:-]{1,64}$")
    temperature = event_schema.field("temperature_c")
    assert (temperature.required, temperature.minimum, temperature.maximum) == (False, -60.0, 150.0)
    assert event_schema.field("status").allowed == ("ok", "warning", "error")
    with pytest.raises(KeyError):
        event_schema.field("firmware")


def test_json_text_and_file_give_the_same_schema(event_schema: EventSchema) -> None:
    # The CDK stack passes the document as a job argument; tests and tools pass the file.
    assert load_schema(SCHEMA_PATH.read_text(encoding="utf-8")) == event_schema
    assert load_schema(str(SCHEMA_PATH)) == event_schema


def test_resolve_choice_specs_cast_declared_choice_fields_to_text(event_schema: EventSchema) -> None:
    specs = event_schema.resolve_choice_specs(["temperature_c", "firmware", "status"])

    assert specs == [("temperature_c", "cast:string"), ("status", "cast:string")]


def test_device_table_struct_matches_the_shipped_csv_header() -> None:
    with DEVICES_PATH.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))

    assert header == DEVICE_TABLE_STRUCT.fieldNames()


def _mutated(document: dict[str, Any], field_name: str, **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    for spec in changed["fields"]:
        if spec["name"] == field_name:
            spec.update(changes)
    return changed


@pytest.mark.parametrize(
    ("field_name", "changes", "message"),
    [
        ("battery_v", {"max_length": 4}, "unknown keys max_length"),
        ("battery_v", {"type": "integer"}, "type 'integer' is not one of"),
        ("battery_v", {"min": 11}, "'min' 11.0 is greater than 'max' 10.0"),
        ("battery_v", {"min": True}, "'min' must be a finite number"),
        ("battery_v", {"pattern": "^[0-9]+$"}, "apply to strings only"),
        ("status", {"max": 3}, "apply to doubles only"),
        ("device_id", {"pattern": "(unclosed"}, "not a regular expression"),
        ("status", {"allowed": []}, "non-empty list of strings"),
        ("status", {"required": "yes"}, "'required' must be true or false"),
        ("status", {"name": "Status"}, "lower-case column name"),
        ("humidity_pct", {"name": "battery_v"}, "declared more than once: battery_v"),
    ],
)
def test_schemas_the_job_cannot_enforce_are_refused(
    schema_document: dict[str, Any], field_name: str, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(SchemaError, match=message):
        EventSchema.from_dict(_mutated(schema_document, field_name, **changes))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('{"fields": []}', "'fields' must be a non-empty list"),
        ('{"fields": [{"name": "a", "type": "string"}], "version": "1"}', "'version' must be an integer"),
        ("{not json", "not valid JSON"),
    ],
)
def test_unusable_documents_are_refused(source: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        load_schema(source)


def test_a_missing_schema_file_is_reported_by_path(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"

    with pytest.raises(SchemaError, match=r"cannot read the schema file .*absent\.json"):
        load_schema(missing)


def test_a_file_holding_a_non_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps([{"name": "a"}]), encoding="utf-8")

    with pytest.raises(SchemaError, match="must be a JSON object"):
        load_schema(path)
