"""Each normalisation rule of the pure transform, one record at a time.

A thin handler over a pure function: these tests call ``transform_records`` directly with one hand-made record at a
time, so a failure names the rule that broke.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lambdas.firehose_transform import transform

GOOD = {
    "device_id": "sensor-0001",
    "event_time": "2026-11-26T08:15:00Z",
    "temperature_c": 21.5,
    "humidity_pct": 40.0,
    "battery_v": 3.7,
    "status": "ok",
}
GOOD_CSV = "sensor-0001,2026-11-26T08:15:00Z,21.5,40,3.7,ok"


def _record(payload: str | bytes, record_id: str = "rec-1") -> dict[str, Any]:
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    return {
        "recordId": record_id,
        "approximateArrivalTimestamp": 1795680961000,
        "data": base64.b64encode(raw).decode("ascii"),
    }


def _entry(record: dict[str, Any], *, partition_by_device: bool = False) -> dict[str, Any]:
    """The response entry of a batch of one record."""
    (entry,) = transform.transform_records([record], partition_by_device=partition_by_device).records
    return entry


def _transform(payload: str | bytes, *, partition_by_device: bool = False) -> dict[str, Any]:
    return _entry(_record(payload), partition_by_device=partition_by_device)


def _readings(entry: dict[str, Any]) -> list[dict[str, Any]]:
    assert entry["result"] == "Ok", entry
    text = base64.b64decode(entry["data"], validate=True).decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text[:-1].split("\n")]


def _only(payload: str | bytes) -> dict[str, Any]:
    """The single reading an Ok record holds."""
    (reading,) = _readings(_transform(payload))
    return reading


def _json(**changes: Any) -> str:
    """GOOD as a JSON line with some fields changed; a value of ... removes the field."""
    document = {key: value for key, value in (GOOD | changes).items() if value is not ...}
    return json.dumps(document)


def _failure(payload: str | bytes, *, partition_by_device: bool = False) -> str:
    """Assert the record fails with its data unchanged, and return the logged reason."""
    record = _record(payload)
    batch = transform.transform_records([record], partition_by_device=partition_by_device)
    (entry,) = batch.records
    assert entry == {"recordId": "rec-1", "result": "ProcessingFailed", "data": record["data"]}
    (failure,) = batch.failures
    assert failure.record_id == "rec-1"
    return failure.reason


# --- CSV --------------------------------------------------------------------------------------------------------


def test_a_csv_line_becomes_one_json_object_in_schema_order() -> None:
    # Given a CSV line in csv_columns order; when transformed; then it is the same reading as JSON, numbers as floats
    assert _only(GOOD_CSV) == GOOD
    assert list(_only(GOOD_CSV)) == list(GOOD)


def test_compact_json_with_a_newline_is_the_output_format() -> None:
    # Given a CSV line; when transformed; then the data is exactly one compact JSON line
    entry = _transform(GOOD_CSV)
    assert base64.b64decode(entry["data"]).decode() == json.dumps(GOOD, separators=(",", ":")) + "\n"


def test_csv_cells_may_be_quoted_and_padded() -> None:
    # Given quoted cells and spaces after the commas; when transformed; then both are tolerated
    line = '"sensor-0001", "2026-11-26T08:15:00Z", 21.5 , "40", 3.7 ,"ok"'
    assert _only(line) == GOOD


@pytest.mark.parametrize(
    ("line", "count"),
    [
        ("sensor-0001,2026-11-26T08:15:00Z,21.5,40,3.7", 5),
        ("sensor-0001,2026-11-26T08:15:00Z,21.5,40,3.7,ok,extra", 7),
        ("sensor-0001", 1),
    ],
)
def test_a_csv_line_with_the_wrong_column_count_fails(line: str, count: int) -> None:
    # Given a CSV line with too few or too many columns; when transformed; then it fails, saying how many it found
    assert _failure(line) == f"expected 6 CSV columns, got {count}"


def test_broken_csv_quoting_fails() -> None:
    # Given an unterminated quote; when transformed; then it fails
    assert _failure('sensor-0001,"2026-11-26T08:15:00Z,21.5,40,3.7,ok') == "invalid CSV quoting"


@pytest.mark.parametrize(
    "header",
    [
        "device_id,event_time,temperature_c,humidity_pct,battery_v,status",
        "Device_ID, Event_Time, Temperature_C, Humidity_Pct, Battery_V, Status\r\n",
    ],
)
def test_a_csv_header_is_dropped(header: str) -> None:
    # Given a header line (any case, padded); when transformed; then the record is Dropped, its data untouched
    record = _record(header)
    entry = _entry(record)
    assert entry == {"recordId": "rec-1", "result": "Dropped", "data": record["data"]}


def test_a_header_followed_by_readings_keeps_the_readings() -> None:
    # Given a small CSV file as one record; when transformed; then the header is skipped and the rows delivered
    payload = f"device_id,event_time,temperature_c,humidity_pct,battery_v,status\n{GOOD_CSV}\n"
    assert _readings(_transform(payload)) == [GOOD]


@pytest.mark.parametrize("payload", ["", "\n", "  \r\n\t\n", "\ufeff"])
def test_blank_records_are_dropped(payload: str) -> None:
    # Given nothing but whitespace (or a bare byte-order mark); when transformed; then Dropped, data untouched
    record = _record(payload)
    assert _entry(record, partition_by_device=True) == {
        "recordId": "rec-1",
        "result": "Dropped",
        "data": record["data"],
    }


def test_a_utf8_byte_order_mark_is_ignored() -> None:
    # Given a line from a producer that writes a BOM; when transformed; then it parses as if it had none
    assert _only("\ufeff" + GOOD_CSV) == GOOD


# --- JSON -------------------------------------------------------------------------------------------------------


def test_extra_json_fields_are_kept_as_they_are_after_the_schema_fields() -> None:
    # Given a reading with extra fields of every JSON type
    extras = {"firmware": "2.4.1", "location": {"site": "plant-a", "floor": 2}, "tags": [1, "a", None], "on": True}
    payload = json.dumps({**extras, **GOOD})

    # When transformed
    reading = _only(payload)

    # Then the schema fields come first in schema order, followed by the extras unchanged and in their order
    assert list(reading) == [*GOOD, *extras]
    assert reading == GOOD | extras


def test_absent_optional_fields_are_written_as_null() -> None:
    # Given a reading with only the required fields; when transformed; then the optional ones are present as null
    reading = _only(json.dumps({"device_id": "sensor-0001", "event_time": "2026-11-26T08:15:00Z", "status": "ok"}))
    assert reading == GOOD | {"temperature_c": None, "humidity_pct": None, "battery_v": None}


def test_a_pretty_printed_json_object_is_one_reading() -> None:
    # Given an object spread over several lines; when transformed; then it is read as one object
    assert _only(json.dumps(GOOD, indent=2)) == GOOD


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ('{"device_id": "sensor-0001", "event_time": ', "invalid JSON (Expecting value at column 43)"),
        ("[1, 2]", "expected a JSON object, got an array"),
        ('{"device_id": "s", "event_time": "2026-11-26T08:15:00Z", "status": "ok", "x": NaN}', "NaN is not valid JSON"),
        ('{"device_id": "s", "event_time": "2026-11-26T08:15:00Z", "status": "ok", "x": -Infinity}', "-Infinity"),
        ('{"device_id": "s", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "invalid JSON (nested too deeply)"),
        ('{"device_id": "s", "x": ' + "9" * 5000 + "}", "invalid JSON (number too long)"),
    ],
)
def test_input_that_is_not_a_json_object_fails(payload: str, reason: str) -> None:
    # Given malformed JSON, or JSON that is not an object; when transformed; then it fails with a reason
    assert _failure(payload).startswith(reason)


def test_an_unpaired_surrogate_escape_fails_rather_than_writing_invalid_utf8() -> None:
    # Given an extra field holding a lone surrogate (legal JSON escape, not encodable as UTF-8)
    payload = _json(note="\ud800")

    # When transformed, then it fails instead of crashing the batch
    assert "unpaired surrogate" in _failure(payload)


# --- Timestamps -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-26T08:15:00Z", "2026-11-26T08:15:00Z"),
        ("2026-11-26t08:15:00z", "2026-11-26T08:15:00Z"),
        ("2026-11-26 08:15:00Z", "2026-11-26T08:15:00Z"),
        ("2026-11-26T08:15Z", "2026-11-26T08:15:00Z"),
        ("2026-11-26T09:15:00+01:00", "2026-11-26T08:15:00Z"),
        ("2026-11-26T03:15:00-05:00", "2026-11-26T08:15:00Z"),
        ("2026-11-26T13:45:00+0530", "2026-11-26T08:15:00Z"),
        ("2026-11-26T00:30:00+01:00", "2026-11-25T23:30:00Z"),
        ("2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00Z"),
        ("2026-11-26T08:15:00.5Z", "2026-11-26T08:15:00.500Z"),
        ("2026-11-26T08:15:00,25Z", "2026-11-26T08:15:00.250Z"),
        ("2026-11-26T08:15:00.999999999Z", "2026-11-26T08:15:00.999Z"),
        ("2026-11-26T08:15:00.000Z", "2026-11-26T08:15:00Z"),
        ("2028-02-29T12:00:00Z", "2028-02-29T12:00:00Z"),
        (1795680900, "2026-11-26T08:15:00Z"),
        (1795680900.25, "2026-11-26T08:15:00.250Z"),
        (1795680900123, "2026-11-26T08:15:00.123Z"),
        ("1795680900", "2026-11-26T08:15:00Z"),
        ("1795680900123", "2026-11-26T08:15:00.123Z"),
        ("1.7956809e9", "2026-11-26T08:15:00Z"),
        (0, "1970-01-01T00:00:00Z"),
    ],
)
def test_timestamps_are_written_as_iso_8601_utc_with_z(value: object, expected: str) -> None:
    # Given event_time as ISO-8601 with Z or an offset, or epoch seconds or milliseconds (number or string)
    # When transformed, then it is ISO-8601 in UTC with Z, to the second or the millisecond
    assert _only(_json(event_time=value))["event_time"] == expected


def test_csv_timestamps_follow_the_same_rules() -> None:
    # Given a CSV line with an offset timestamp; when transformed; then it is converted to UTC like JSON input
    assert _only("sensor-0001,2026-11-26T09:15:00+01:00,21.5,40,3.7,ok")["event_time"] == "2026-11-26T08:15:00Z"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-11-26T08:15:00", "event_time: timestamp has no UTC offset"),
        ("2026-11-26", "event_time: not an ISO-8601 timestamp"),
        ("yesterday at noon", "event_time: not an ISO-8601 timestamp"),
        ("2026-11-26X08:15:00Z", "event_time: not an ISO-8601 timestamp"),
        ("2026-13-01T00:00:00Z", "event_time: not a valid date and time"),
        ("2027-02-29T00:00:00Z", "event_time: not a valid date and time"),
        ("2026-11-26T24:00:00Z", "event_time: not a valid date and time"),
        ("2026-11-26T23:59:60Z", "event_time: not a valid date and time"),
        ("2026-11-26T08:15:00+24:00", "event_time: not a valid date and time"),
        ("2026-11-26T08:15:00+01:75", "event_time: UTC offset minutes out of range"),
        ("0001-01-01T00:30:00+01:00", "event_time: not a valid date and time"),
        (1e30, "event_time: not a valid date and time"),
        ("1e999", "event_time: not a valid date and time"),
        (True, "event_time: expected a timestamp, got a boolean"),
        ({"at": 1}, "event_time: expected a timestamp, got an object"),
        ("", "event_time: required field is missing"),
        (None, "event_time: required field is missing"),
        (..., "event_time: required field is missing"),
    ],
)
def test_bad_timestamps_fail(value: object, reason: str) -> None:
    # Given an unparseable, impossible, offset-less or missing event_time; when transformed; then the record fails
    assert _failure(_json(event_time=value)).startswith(reason)


# --- Numbers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (21, 21.0),
        (-3.25, -3.25),
        ("21.5", 21.5),
        (" 21 ", 21.0),
        ("+1e2", 100.0),
        ("-.5", -0.5),
        ("7.", 7.0),
        ("", None),
        ("   ", None),
        (None, None),
        (..., None),
    ],
)
def test_readings_are_floats_and_numeric_strings_are_accepted(value: object, expected: float | None) -> None:
    # Given a reading as a JSON number, a numeric string, or empty; when transformed; then a float or null
    reading = _only(_json(temperature_c=value))
    assert reading["temperature_c"] == expected
    assert reading["temperature_c"] is None or type(reading["temperature_c"]) is float


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("warm", "temperature_c: not a number"),
        ("nan", "temperature_c: not a number"),
        ("inf", "temperature_c: not a number"),
        ("1_000", "temperature_c: not a number"),
        ("\u0663", "temperature_c: not a number"),  # an Arabic-Indic digit, which float() would accept
        ("0x10", "temperature_c: not a number"),
        ("1e999", "temperature_c: not a finite number"),
        (True, "temperature_c: expected a number, got a boolean"),
        ([21.5], "temperature_c: expected a number, got an array"),
        (10**400, "temperature_c: number out of range"),
    ],
)
def test_non_numbers_fail(value: object, reason: str) -> None:
    # Given a reading that is not a finite number; when transformed; then the record fails naming the field
    assert _failure(_json(temperature_c=value)) == reason


def test_a_json_literal_too_large_for_a_double_fails() -> None:
    # Given 1e999, which Python's JSON parser turns into infinity; when transformed; then the record fails
    assert _failure(_json().replace('"temperature_c": 21.5', '"temperature_c": 1e999')) == (
        "temperature_c: not a finite number"
    )


def test_an_empty_csv_cell_is_null_for_an_optional_reading() -> None:
    # Given empty optional cells; when transformed; then they are null
    assert _only("sensor-0001,2026-11-26T08:15:00Z,,,,ok") == GOOD | dict.fromkeys(
        ("temperature_c", "humidity_pct", "battery_v")
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("temperature_c", 999.0), ("humidity_pct", -5.0), ("battery_v", 1e6), ("temperature_c", -273.0)],
)
def test_out_of_range_readings_pass_because_the_glue_job_quarantines_them(field: str, value: float) -> None:
    # Given a reading outside the schema's min/max; when transformed; then it is delivered unchanged
    assert _only(_json(**{field: value}))[field] == value


# --- Strings ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("OK", "ok"), (" Warning ", "warning"), ("ERROR", "error")])
def test_status_is_lower_cased(value: str, expected: str) -> None:
    # Given a status in another case or padded; when transformed; then it is the schema's spelling
    assert _only(_json(status=value))["status"] == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("on-fire", "status: not one of error, ok, warning"),
        ("o k", "status: not one of error, ok, warning"),
        (1, "status: expected a string, got a number"),
        ("", "status: required field is missing"),
        (..., "status: required field is missing"),
    ],
)
def test_a_bad_status_fails(value: object, reason: str) -> None:
    # Given a status outside the allowed set, of the wrong type, or missing; when transformed; then it fails
    assert _failure(_json(status=value)) == reason


@pytest.mark.parametrize("value", ["sensor-0001", "a", "A.b_c:d-9", "x" * 64])
def test_device_ids_matching_the_pattern_pass(value: str) -> None:
    # Given device ids the schema's pattern accepts; when transformed; then they are kept
    assert _only(_json(device_id=value))["device_id"] == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("sensor 1", "device_id: does not match"),
        ("a/b", "device_id: does not match"),
        ("x" * 65, "device_id: does not match"),
        ("sensor\n1", "device_id: does not match"),
        (42, "device_id: expected a string, got a number"),
        (None, "device_id: required field is missing"),
        ("  ", "device_id: required field is missing"),
        (..., "device_id: required field is missing"),
    ],
)
def test_a_bad_device_id_fails(value: object, reason: str) -> None:
    # Given a device id outside the pattern, of the wrong type, or missing; when transformed; then it fails
    assert _failure(_json(device_id=value)).startswith(reason)


# --- Encoding ---------------------------------------------------------------------------------------------------


def test_data_that_is_not_base64_fails_and_comes_back_unchanged() -> None:
    # Given data that is not valid base64; when transformed; then it fails and keeps the original string
    record = {"recordId": "rec-1", "approximateArrivalTimestamp": 0, "data": "not base64!!"}
    assert _entry(record) == {
        "recordId": "rec-1",
        "result": "ProcessingFailed",
        "data": "not base64!!",
    }


def test_data_that_is_not_utf8_fails() -> None:
    # Given bytes that are not UTF-8; when transformed; then the record fails, naming the offending byte
    assert _failure(b"sensor-0001,\xff") == "data is not valid UTF-8 (byte 12)"


def test_a_record_without_data_fails_with_empty_data() -> None:
    # Given a record whose data is missing (Firehose never sends one, but the response must stay valid)
    entry = _entry({"recordId": "rec-1"})

    # Then it fails with empty data rather than crashing the whole batch
    assert entry == {"recordId": "rec-1", "result": "ProcessingFailed", "data": ""}


# --- Records with several lines ---------------------------------------------------------------------------------


def test_several_good_lines_are_all_delivered_in_one_record() -> None:
    # Given two JSON lines and a CSV line in one record, with blank lines between
    second = GOOD | {"event_time": "2026-11-26T08:16:00Z"}
    payload = f"{json.dumps(GOOD)}\n\n{json.dumps(second)}\r\n{GOOD_CSV}\n"

    # When transformed, then each line is one JSON line of the same Ok record
    assert _readings(_transform(payload)) == [GOOD, second, GOOD]


def test_one_bad_line_fails_the_whole_record() -> None:
    # Given a good line followed by a bad one; when transformed; then the record fails as a whole, naming the line
    assert _failure(f"{GOOD_CSV}\nsensor-0001,2026-11-26T08:15:00Z,hot,40,3.7,ok\n") == (
        "line 2: temperature_c: not a number"
    )


def test_lines_for_different_partitions_fail_only_with_device_partitioning() -> None:
    # Given two devices' readings in one record
    payload = f"{GOOD_CSV}\nsensor-0002,2026-11-26T08:15:00Z,21.5,40,3.7,ok"

    # When partitioning by time, then both are delivered
    assert len(_readings(_transform(payload))) == 2
    # When partitioning by device, then the record fails: Firehose files a record under one prefix only
    assert _failure(payload, partition_by_device=True) == "lines belong to different partitions (device or hour)"


def test_lines_in_different_hours_fail_with_device_partitioning() -> None:
    # Given one device's readings either side of an hour boundary in one record
    payload = f"{GOOD_CSV}\nsensor-0001,2026-11-26T09:00:00Z,21.5,40,3.7,ok"

    # When partitioning by device, then the record fails
    assert "different partitions" in _failure(payload, partition_by_device=True)


def test_device_partitioning_returns_keys_from_the_utc_time() -> None:
    # Given a reading at 00:30 local time, UTC+1: 23:30 the previous day in UTC
    entry = _transform(_json(event_time="2026-11-26T00:30:00+01:00"), partition_by_device=True)

    # When partitioned by device, then the keys are the UTC day and hour
    assert entry["metadata"] == {
        "partitionKeys": {"device_id": "sensor-0001", "year": "2026", "month": "11", "day": "25", "hour": "23"}
    }


def test_a_bad_line_is_named_by_its_position_in_the_record() -> None:
    # Given a bad line after blank lines; when transformed; then the reason counts every line the producer wrote
    assert _failure(f"\n\n{GOOD_CSV}\nsensor-0001,2026-11-26T08:15:00Z,21.5,40,3.7,on-fire\n").startswith(
        "line 4: status:"
    )


def test_a_pretty_printed_object_with_a_bad_field_says_which_field() -> None:
    # Given a valid multi-line JSON object whose status is not allowed; when transformed; then the reason is the status
    assert _failure(json.dumps(GOOD | {"status": "on-fire"}, indent=2)) == "status: not one of error, ok, warning"
