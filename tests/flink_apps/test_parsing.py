"""Records → readings, or the reason they are not (never an exception, never silence)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stream_analytics.parsing import (
    CSV_COLUMNS,
    NUMERIC_RANGES,
    STATUSES,
    ParseError,
    Reading,
    iso_time,
    parse_record,
)

SCHEMA = Path(__file__).resolve().parents[2] / "lambdas" / "firehose_transform" / "sensor_event_schema.json"
GOOD = {
    "device_id": "sensor-0001",
    "event_time": "2026-11-26T08:15:00.250Z",
    "temperature_c": 21.5,
    "humidity_pct": 40.0,
    "battery_v": 3.9,
    "status": "ok",
}


def test_given_the_lake_schema_when_compared_then_the_parser_rules_are_the_same() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    fields = {field["name"]: field for field in schema["fields"]}

    assert tuple(schema["csv_columns"]) == CSV_COLUMNS
    assert tuple(fields["status"]["allowed"]) == STATUSES
    for name, (low, high) in NUMERIC_RANGES.items():
        assert (fields[name]["min"], fields[name]["max"]) == (low, high)


def test_given_a_json_reading_when_parsed_then_every_field_is_typed() -> None:
    reading = parse_record(json.dumps({**GOOD, "firmware": "2.4.1"}).encode())

    assert reading == Reading("sensor-0001", 1795680900250, 21.5, 40.0, 3.9, "ok")
    assert iso_time(reading.event_time_ms) == "2026-11-26T08:15:00.250Z"


def test_given_a_csv_line_with_an_empty_value_when_parsed_then_the_value_is_none() -> None:
    reading = parse_record(b"sensor-0002,2026-11-26T08:15:00Z,,55.5,3.7,warning")

    assert isinstance(reading, Reading)
    assert (reading.temperature_c, reading.humidity_pct, reading.status) == (None, 55.5, "warning")


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (b'{"device_id": "sensor-0001", "event_', "malformed_record:invalid JSON"),
        (b"sensor-0001,2026-11-26T08:15:00Z,21.5,40.0,3.9", "malformed_record:5 CSV columns, expected 6"),
        (b"\xff\xfesensor-0001", "malformed_record:invalid UTF-8"),
        (json.dumps({**GOOD, "event_time": "yesterday at noon"}).encode(), "invalid_timestamp:event_time"),
        (json.dumps({**GOOD, "status": "on-fire"}).encode(), "not_allowed:status"),
        (json.dumps({**GOOD, "temperature_c": "warm"}).encode(), "invalid_type:temperature_c"),
        (json.dumps({**GOOD, "temperature_c": 500}).encode(), "out_of_range:temperature_c"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "device_id"}).encode(), "missing:device_id"),
        (b"[1, 2]", "malformed_record:not a JSON object"),
    ],
)
def test_given_a_broken_record_when_parsed_then_it_becomes_an_error_with_its_reason(record: bytes, reason: str) -> None:
    result = parse_record(record)

    assert isinstance(result, ParseError)
    assert result.reason.startswith(reason)
    assert result.record  # the text travels with the reason


def test_given_a_bytearray_when_parsed_then_it_is_read_like_bytes() -> None:
    assert parse_record(bytearray(json.dumps(GOOD).encode())) == parse_record(json.dumps(GOOD))


def test_given_epoch_seconds_or_milliseconds_when_parsed_then_both_give_the_same_instant() -> None:
    seconds = parse_record(json.dumps({**GOOD, "event_time": 1795680900}).encode())
    millis = parse_record(json.dumps({**GOOD, "event_time": 1795680900000}).encode())

    assert isinstance(seconds, Reading)
    assert isinstance(millis, Reading)
    assert seconds.event_time_ms == millis.event_time_ms == 1795680900000
