"""The whole curation on raw-zone data: the fixture, malformed lines, Firehose's layout, and generated batches."""

from __future__ import annotations

import datetime as dt
import gzip
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, Row, SparkSession

from glue_jobs.curate_events.schema import DEVICE_TABLE_STRUCT, EventSchema
from glue_jobs.curate_events.transforms import (
    CORRUPT_RECORD,
    DERIVED_COLUMNS,
    PARTITION_COLUMNS,
    CurationCounts,
    CurationResult,
    curate,
    curated_columns,
    quarantine_reader_errors,
)
from tests.glue_jobs.support import FIXTURES, frame

pytestmark = pytest.mark.xdist_group("spark")

KNOWN_DEVICES = frozenset(f"sensor-{number:04d}" for number in range(1, 21))


def test_every_fixture_row_is_counted_once(fixture_curation: CurationResult) -> None:
    assert fixture_curation.counts == CurationCounts(read=21, written=8, quarantined=11, duplicates_removed=2)
    assert fixture_curation.counts.balanced


def test_each_quarantined_fixture_row_carries_the_reason_its_case_names(quarantined_rows: list[Row]) -> None:
    # Every fixture line has an extra field, `case`, naming what curation should make of it.
    assert len(quarantined_rows) == 11
    assert [row["quarantine_reason"] for row in quarantined_rows] == [row["case"] for row in quarantined_rows]
    assert {row["device_id"]: row["firmware"] for row in quarantined_rows if row["firmware"]} == {
        "sensor-0099": "0.9.0"
    }


def test_curated_rows_are_the_valid_readings_of_known_devices_once_each(curated_rows: list[Row]) -> None:
    assert sorted((row["device_id"], row["event_time"]) for row in curated_rows) == [
        ("sensor-0001", "2026-11-26T08:15:00Z"),
        ("sensor-0002", "2026-11-26T08:15:05.250Z"),
        ("sensor-0003", "2026-11-26T09:59:59Z"),
        # Of three readings at the same instant, the first in column order is kept: ".000Z" sorts before "Z".
        ("sensor-0004", "2026-11-26T10:00:00.000Z"),
        ("sensor-0010", "2026-11-26T10:14:00Z"),
        ("sensor-0011", "2026-11-26T23:59:59.999Z"),
        ("sensor-0012", "2026-11-27T00:00:00Z"),
        ("sensor-0013", "2026-11-27T00:00:05Z"),
    ]


def test_curated_rows_have_the_declared_derived_and_reference_columns_only(
    fixture_curation: CurationResult, curated_rows: list[Row], event_schema: EventSchema
) -> None:
    declared = [(spec.name, spec.spark_type) for spec in event_schema.fields]
    derived = [(name, kind) for name, kind in DERIVED_COLUMNS.items() if name not in PARTITION_COLUMNS]
    reference = [(item.name, item.dataType) for item in DEVICE_TABLE_STRUCT.fields if item.name != "device_id"]
    partitions = [(name, DERIVED_COLUMNS[name]) for name in PARTITION_COLUMNS]
    expected = [*declared, *derived, *reference, *partitions]
    assert [(item.name, item.dataType) for item in fixture_curation.curated.schema.fields] == expected
    assert fixture_curation.curated.columns == curated_columns(
        event_schema, ["site", "model", "installed_on", "rack_row", "rack_col"]
    )
    first = next(row for row in curated_rows if row["device_id"] == "sensor-0001").asDict()
    # Collected timestamps are naive datetimes in the Python process's local time; astimezone reads them so.
    assert first.pop("event_ts").astimezone(dt.UTC) == dt.datetime(2026, 11, 26, 8, 15, tzinfo=dt.UTC)
    assert first == {
        "device_id": "sensor-0001",
        "event_time": "2026-11-26T08:15:00Z",
        "temperature_c": 21.5,
        "humidity_pct": 45.2,
        "battery_v": 3.71,
        "status": "ok",
        "event_date": dt.date(2026, 11, 26),
        "temperature_f": pytest.approx(70.7),
        "site": "plant-north",
        "model": "TH-200",
        "installed_on": dt.date(2025, 1, 8),
        "rack_row": 0,
        "rack_col": 0,
        "year": "2026",
        "month": "11",
        "day": "26",
        "hour": "08",
    }


# Glue's error record for a JSON line its reader could not parse, in the layout the AWS Glue developer guide shows
# (DynamicFrame class, "Example: Use errorsAsDynamicFrame to view error records"): the text is not kept (`input` and
# `source` are empty), the parser's exception says where, and `dynamicRecord` holds the fields read before the error.
GLUE_ERROR_RECORD = (
    "error struct<callsite:struct<site:string,info:string>,msg:string,stackTrace:string,input:string,"
    "bytesread:bigint,source:string,dynamicRecord:struct<device_id:string,status:string>>"
)
JACKSON_TRACE = (
    "com.fasterxml.jackson.core.JsonParseException: Unexpected character ('{' (code 123)): was expecting either "
    "valid name character (for unquoted name) or double-quote (for quoted) to start field name\n"
    " at com.fasterxml.jackson.core.JsonParser._constructError(JsonParser.java:1581)"
)


def test_glue_reader_errors_become_quarantine_rows_with_what_glue_reported(spark: SparkSession) -> None:
    callsite = ("  File job.py, line 10, in <module>", "")
    errors = spark.createDataFrame(
        [((callsite, "error in jackson reader", JACKSON_TRACE, "", 252, "", ("sensor-0002", "ok")),)],
        GLUE_ERROR_RECORD,
    )

    rows = [row.asDict(recursive=True) for row in quarantine_reader_errors(errors).collect()]

    # The counts of curate with reader errors are checked against an independent model at the end of this module.
    assert rows == [
        {
            CORRUPT_RECORD: None,
            "reader_error": {
                "message": "error in jackson reader",
                "detail": JACKSON_TRACE.split("\n")[0],
                "source": None,
                "bytes_read": 252,
                "partial_record": '{"device_id":"sensor-0002","status":"ok"}',
            },
            "quarantine_reason": "malformed_record",
        }
    ]


def test_reader_errors_without_glue_layout_are_refused(spark: SparkSession) -> None:
    errors = spark.createDataFrame([("not json",)], "text string")

    with pytest.raises(ValueError, match="reader errors need Glue's struct column 'error'; got text"):
        quarantine_reader_errors(errors)


def test_gzip_json_lines_under_firehose_prefixes_read_as_the_plain_fixture(
    spark: SparkSession, fixture_events: DataFrame, tmp_path: Path
) -> None:
    lines = (FIXTURES / "raw_events.jsonl").read_bytes().splitlines(keepends=True)
    # Both layouts Firehose writes: time prefixes, and device prefixes first with dynamic partitioning.
    time_prefix = tmp_path / "events" / "year=2026" / "month=11" / "day=26" / "hour=08"
    device_prefix = tmp_path / "events" / "device_id=sensor-0001" / "year=2026" / "month=11" / "day=26" / "hour=08"
    for prefix, chunk in ((time_prefix, lines[:10]), (device_prefix, lines[10:])):
        prefix.mkdir(parents=True)
        (prefix / "ingest-1-2026-11-26-08-15-00-0001.gz").write_bytes(gzip.compress(b"".join(chunk)))

    # Glue's from_options reader, unlike a catalog read, adds no columns from key=value prefixes; nor does Spark
    # with a recursive lookup, so the frame holds exactly the fields of the lines.
    events = spark.read.option("recursiveFileLookup", "true").json(str(tmp_path / "events"))

    assert sorted(events.columns) == sorted(fixture_events.columns)
    assert sorted(map(repr, events.collect())) == sorted(map(repr, fixture_events.select(events.columns).collect()))


# --- the counts against an independent model, on generated batches -------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """One generated reading."""

    device_id: str | None
    event_time: str | None
    temperature_c: float | None
    humidity_pct: float | None
    status: str | None


_readings = st.builds(
    Generated,
    device_id=st.sampled_from(["sensor-0001", "sensor-0002", "sensor-0020", "sensor-0999", "bad id!", None]),
    event_time=st.sampled_from(
        ["2026-11-26T08:00:00Z", "2026-11-26T08:00:00.000Z", "2026-11-26T09:30:00Z", "2026-11-26 08:00:00", None]
    ),
    temperature_c=st.sampled_from([None, -60.0, 21.5, 150.0, 150.5, math.nan]),
    humidity_pct=st.sampled_from([None, 0.0, 55.0, 101.0]),
    status=st.sampled_from(["ok", "warning", "error", "broken", None]),
)
# Drawing again from what was drawn makes exact duplicates as well as readings that only share a key.
_batches = st.lists(_readings, max_size=12).flatmap(
    lambda drawn: (
        st.lists(st.sampled_from(drawn), max_size=6).map(lambda copies: drawn + copies) if drawn else st.just(drawn)
    )
)


def _expected_counts(batch: list[Generated], schema: EventSchema) -> CurationCounts:
    """The counts worked out in plain Python from the schema's rules, independently of Spark."""

    def valid(reading: Generated) -> bool:
        device, status = schema.field("device_id"), schema.field("status")
        if reading.device_id is None or not re.fullmatch(device.pattern or ".*", reading.device_id):
            return False
        if reading.status not in status.allowed or reading.event_time is None:
            return False
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", reading.event_time):
            return False
        for name in ("temperature_c", "humidity_pct"):
            value, spec = getattr(reading, name), schema.field(name)
            if value is None:
                continue
            if not math.isfinite(value) or (spec.minimum is not None and value < spec.minimum):
                return False
            if spec.maximum is not None and value > spec.maximum:
                return False
        return True

    keys: Counter[tuple[str, dt.datetime]] = Counter()
    quarantined = 0
    for reading in batch:
        device, moment = reading.device_id, reading.event_time
        if device is None or moment is None or device not in KNOWN_DEVICES or not valid(reading):
            quarantined += 1
            continue
        keys[(device, dt.datetime.fromisoformat(moment))] += 1
    return CurationCounts(
        read=len(batch),
        written=len(keys),
        quarantined=quarantined,
        duplicates_removed=sum(count - 1 for count in keys.values()),
    )


# Each example runs the whole curation, about three seconds on two cores, and the Glue tests should take about a
# minute in all: few examples, each a batch rich in combinations of the values above. No deadline: Spark's timing
# varies too much for one.
@settings(max_examples=6, deadline=None)
@given(batch=_batches, malformed=st.integers(min_value=0, max_value=2))
def test_counts_match_an_independent_model_of_the_rules(
    spark: SparkSession, devices: DataFrame, event_schema: EventSchema, batch: list[Generated], malformed: int
) -> None:
    columns = ("device_id string", "event_time string", "temperature_c double", "humidity_pct double", "status string")
    events = frame(spark, [vars(reading) for reading in batch], columns)
    # Records the reader could not parse, as Glue reports them: they are read, and quarantined.
    error = ((None, None), "error in jackson reader", JACKSON_TRACE, "", 10, "", (None, None))
    errors = spark.createDataFrame([(error,)] * malformed, GLUE_ERROR_RECORD) if malformed else None

    # Only the counts matter here: no caching, which would only add planning work to every example.
    result = curate(events, devices, event_schema, reader_errors=errors, storage_level=None)

    expected = _expected_counts(batch, event_schema)
    assert result.counts == replace(
        expected, read=expected.read + malformed, quarantined=expected.quarantined + malformed
    )
    assert result.counts.balanced
