"""Each curation step on small hand-made frames."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from glue_jobs.curate_events import transforms
from glue_jobs.curate_events.schema import EventSchema
from glue_jobs.curate_events.transforms import (
    DERIVED_COLUMNS,
    PARTITION_COLUMNS,
    CountMismatchError,
    CurationCounts,
    MergeResult,
    check_devices,
    curate,
    deduplicate,
    drop_fields,
    enrich_with_devices,
    ensure_fields,
    map_events,
    merge_curated,
    validate,
)
from tests.glue_jobs.support import RAW_COLUMNS, frame, reading

pytestmark = pytest.mark.xdist_group("spark")


def _reasons(result: transforms.ValidationResult) -> tuple[list[int], dict[int, str]]:
    valid = sorted(row["case_id"] for row in result.valid.select("case_id").collect())
    quarantined = {row["case_id"]: row["quarantine_reason"] for row in result.quarantined.collect()}
    return valid, quarantined


# --- ensure_fields, drop_fields ---------------------------------------------------------------------------------


def test_ensure_fields_adds_the_declared_fields_a_batch_lacks_as_typed_columns(
    spark: SparkSession, event_schema: EventSchema
) -> None:
    batch = frame(spark, [reading()], ("device_id string", "event_time string", "status string", "firmware string"))

    result = ensure_fields(batch, event_schema)

    assert result.dtypes == [
        ("device_id", "string"),
        ("event_time", "string"),
        ("status", "string"),
        ("firmware", "string"),
        ("temperature_c", "double"),
        ("humidity_pct", "double"),
        ("battery_v", "double"),
    ]
    assert ensure_fields(result, event_schema) is result


def test_drop_fields_keeps_only_the_named_columns_in_their_order(spark: SparkSession) -> None:
    batch = frame(spark, [reading(firmware="2.4.1")], (*RAW_COLUMNS, "firmware string", "`debug.level` int"))

    result = drop_fields(batch, ["status", "device_id", "event_time", "not_there"])

    assert result.columns == ["device_id", "event_time", "status"]


# --- validate ------------------------------------------------------------------------------------------------------

VALIDATION_CASES: list[tuple[dict[str, Any], str | None]] = [
    (reading(), None),
    (reading(temperature_c=None, humidity_pct=None, battery_v=None), None),
    (reading(temperature_c=-60.0, humidity_pct=0.0, battery_v=0.0), None),
    (reading(temperature_c=150.0, humidity_pct=100.0, battery_v=10.0), None),
    (reading(event_time="2026-11-26T08:15:00.5Z"), None),
    (reading(event_time="2026-11-26T08:15:00.123456789Z"), None),
    (reading(device_id="a:b.c_d-" + "x" * 56), None),
    (reading(temperature_c=150.01), "out_of_range:temperature_c"),
    (reading(humidity_pct=-0.1), "out_of_range:humidity_pct"),
    (reading(temperature_c=float("nan")), "not_finite:temperature_c"),
    (reading(battery_v=float("-inf")), "not_finite:battery_v"),
    (reading(device_id=None), "missing:device_id"),
    (reading(event_time=None), "missing:event_time"),
    (reading(status=None), "missing:status"),
    (reading(device_id="x" * 65), "pattern_mismatch:device_id"),
    (reading(device_id="sensor 0001"), "pattern_mismatch:device_id"),
    (reading(status="OK"), "not_allowed:status"),
    (reading(event_time="2026-11-26T08:15:00"), "invalid_timestamp:event_time"),
    (reading(event_time="2026-11-26T09:15:00+01:00"), "invalid_timestamp:event_time"),
    (reading(event_time="2026-11-26T24:00:00Z"), "invalid_timestamp:event_time"),
    (reading(event_time="2026-02-30T08:00:00Z"), "invalid_timestamp:event_time"),
    (reading(event_time="2026-11-26"), "invalid_timestamp:event_time"),
    (reading(battery_v=12.0, status="unknown"), "out_of_range:battery_v;not_allowed:status"),
    (
        reading(device_id=None, event_time="yesterday", temperature_c=-100.0),
        "missing:device_id;invalid_timestamp:event_time;out_of_range:temperature_c",
    ),
]


def test_validate_quarantines_each_row_with_the_rules_it_breaks(spark: SparkSession, event_schema: EventSchema) -> None:
    rows = [{**row, "case_id": case_id} for case_id, (row, _) in enumerate(VALIDATION_CASES)]
    batch = frame(spark, rows, (*RAW_COLUMNS, "case_id int"))

    result = validate(batch, event_schema)

    valid, quarantined = _reasons(result)
    assert valid == [case_id for case_id, (_, reason) in enumerate(VALIDATION_CASES) if reason is None]
    assert quarantined == {case_id: reason for case_id, (_, reason) in enumerate(VALIDATION_CASES) if reason}
    assert transforms.QUARANTINE_REASON not in result.valid.columns


def test_validate_reports_values_of_the_wrong_json_type(spark: SparkSession, event_schema: EventSchema) -> None:
    columns = (
        "device_id string",
        "event_time string",
        "temperature_c string",
        "humidity_pct struct<value:double>",
        "battery_v boolean",
        "status string",
        "case_id int",
    )
    cases: list[tuple[dict[str, Any], str | None]] = [
        (reading(temperature_c="21.5", humidity_pct=None, battery_v=None), None),
        (reading(temperature_c="1e3", humidity_pct=None, battery_v=None), "out_of_range:temperature_c"),
        (reading(temperature_c="warm", humidity_pct=None, battery_v=None), "invalid_type:temperature_c"),
        (reading(temperature_c="", humidity_pct=None, battery_v=None), "invalid_type:temperature_c"),
        (reading(temperature_c=None, humidity_pct=(40.0,), battery_v=None), "invalid_type:humidity_pct"),
        # A boolean would cast to 1.0 and pass the range check.
        (reading(temperature_c=None, humidity_pct=None, battery_v=True), "invalid_type:battery_v"),
    ]
    batch = frame(spark, [{**row, "case_id": case_id} for case_id, (row, _) in enumerate(cases)], columns)

    valid, quarantined = _reasons(validate(batch, event_schema))

    assert valid == [0]
    assert quarantined == {case_id: reason for case_id, (_, reason) in enumerate(cases) if reason}


def test_validate_needs_every_declared_field(spark: SparkSession, event_schema: EventSchema) -> None:
    batch = frame(spark, [reading()], ("device_id string", "event_time string"))

    with pytest.raises(ValueError, match="temperature_c, humidity_pct, battery_v, status"):
        validate(batch, event_schema)


# --- map_events ----------------------------------------------------------------------------------------------------


@pytest.fixture(params=["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def session_time_zone(request: pytest.FixtureRequest, spark: SparkSession) -> Iterator[str]:
    """The session time zone set to each parameter in turn, and back to UTC afterwards."""
    zone: str = request.param
    spark.conf.set("spark.sql.session.timeZone", zone)
    yield zone
    spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_map_events_derives_the_same_utc_columns_in_any_session_time_zone(
    spark: SparkSession, event_schema: EventSchema, session_time_zone: str
) -> None:
    columns = (*RAW_COLUMNS[:2], "temperature_c string", *RAW_COLUMNS[3:])
    batch = frame(spark, [reading(event_time="2026-11-26T23:59:59.999Z", temperature_c="21.5")], columns)

    mapped = map_events(batch, event_schema)

    # The declared fields typed, then the derived columns in the order they are listed once, with their types.
    assert mapped.dtypes == [
        ("device_id", "string"),
        ("event_time", "string"),
        ("temperature_c", "double"),
        ("humidity_pct", "double"),
        ("battery_v", "double"),
        ("status", "string"),
        *((name, kind.simpleString()) for name, kind in DERIVED_COLUMNS.items()),
    ]
    assert list(DERIVED_COLUMNS)[-4:] == list(PARTITION_COLUMNS)
    row = mapped.withColumn("micros", sf.unix_micros("event_ts")).first()
    assert row is not None
    instant = dt.datetime(2026, 11, 26, 23, 59, 59, 999000, tzinfo=dt.UTC)
    assert row["micros"] == round(instant.timestamp() * 1_000_000)
    assert row["event_time"] == "2026-11-26T23:59:59.999Z"
    assert row["event_date"] == dt.date(2026, 11, 26)
    assert (row["year"], row["month"], row["day"], row["hour"]) == ("2026", "11", "26", "23")
    assert row["temperature_f"] == pytest.approx(70.7)


# --- deduplicate ---------------------------------------------------------------------------------------------------


def test_deduplicate_keeps_the_same_row_whatever_the_input_order(spark: SparkSession) -> None:
    rows = [
        ("A", "t1", 22.0, "x"),
        ("A", "t1", 21.0, "y"),
        ("A", "t1", 21.0, "y"),
        ("A", "t2", 5.0, "z"),
        ("B", "t1", None, "a"),
        ("B", "t1", 30.0, "b"),
    ]
    columns = "device_id string, event_time string, temperature_c double, note string"

    def deduplicated(ordered: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        result = deduplicate(spark.createDataFrame(ordered, columns), ["device_id", "event_time"])
        assert result.columns == ["device_id", "event_time", "temperature_c", "note", "_duplicates_removed"]
        return sorted(tuple(row) for row in result.collect())

    expected = [("A", "t1", 21.0, "y", 2), ("A", "t2", 5.0, "z", 0), ("B", "t1", 30.0, "b", 1)]
    assert deduplicated(rows) == expected
    assert deduplicated(rows[::-1]) == expected


# --- enrich_with_devices and check_devices -------------------------------------------------------------------------


def test_enrichment_adds_reference_columns_and_splits_off_unknown_devices(
    spark: SparkSession, devices: DataFrame
) -> None:
    columns = (*RAW_COLUMNS, "site string", "firmware string")
    batch = frame(
        spark,
        [
            reading(site="from-producer", firmware="2.4.1"),
            reading(device_id="sensor-0999", site="from-producer", firmware="0.9.0"),
        ],
        columns,
    )

    result = enrich_with_devices(batch, devices)

    enriched = result.enriched.collect()
    assert [
        (row["device_id"], row["site"], row["model"], row["installed_on"], row["firmware"]) for row in enriched
    ] == [("sensor-0001", "plant-north", "TH-200", dt.date(2025, 1, 8), "2.4.1")]
    assert result.unknown.columns == [*batch.columns, "quarantine_reason"]
    unknown = result.unknown.collect()
    assert [(row["device_id"], row["site"], row["quarantine_reason"]) for row in unknown] == [
        ("sensor-0999", "from-producer", "unknown_device")
    ]


def test_the_shipped_device_table_passes_its_checks(devices: DataFrame, event_schema: EventSchema) -> None:
    check_devices(devices, event_schema)

    assert devices.count() == 20


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("sensor-0001", "a"), ("sensor-0001", "b")], r"sensor-0001 \(2 rows\)"),
        ([("sensor-0001", "a"), (None, "b")], r"None \(1 rows\)"),
    ],
)
def test_device_tables_that_would_break_the_join_are_refused(
    spark: SparkSession, event_schema: EventSchema, rows: list[tuple[str | None, str]], message: str
) -> None:
    table = spark.createDataFrame(rows, "device_id string, site string")

    with pytest.raises(ValueError, match=message):
        check_devices(table, event_schema)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("id string, site string", "has no device_id column"),
        ("device_id string, status string", "clash with event columns: status"),
        ("device_id string, hour string", "clash with event columns: hour"),
    ],
)
def test_device_tables_with_unusable_columns_are_refused(
    spark: SparkSession, event_schema: EventSchema, columns: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_devices(spark.createDataFrame([], columns), event_schema)


# --- curate --------------------------------------------------------------------------------------------------------


def test_curate_refuses_a_schema_without_a_timestamp_event_time(
    spark: SparkSession, devices: DataFrame, schema_document: dict[str, Any]
) -> None:
    fields = [
        {**spec, "type": "string"} if spec["name"] == "event_time" else spec for spec in schema_document["fields"]
    ]
    schema = EventSchema.from_dict({**schema_document, "fields": fields})

    with pytest.raises(ValueError, match="must declare event_time as a timestamp"):
        curate(frame(spark, [reading()]), devices, schema)


def test_curate_detects_rows_multiplied_on_the_way(
    spark: SparkSession, event_schema: EventSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without its check, a device listed twice doubles that device's readings in the join: the counts catch it.
    monkeypatch.setattr(transforms, "check_devices", lambda devices, schema: None)
    doubled = spark.createDataFrame([("sensor-0001", "a"), ("sensor-0001", "b")], "device_id string, site string")

    with pytest.raises(CountMismatchError, match="'read': 1, 'written': 1, 'quarantined': 0, 'duplicates_removed': 1"):
        curate(frame(spark, [reading()]), doubled, event_schema)


# --- merge_curated ---------------------------------------------------------------------------------------------------

MERGE_COLUMNS = "device_id string, event_ts string, temperature_c double, hour string"


def test_merge_keeps_the_curated_copy_of_a_reading_and_adds_the_new_readings(spark: SparkSession) -> None:
    existing = spark.createDataFrame(
        [
            ("A", "t1", 21.0, "08"),
            # A second copy left by an earlier at-least-once run: the merge removes it.
            ("A", "t1", 21.0, "08"),
            ("B", "t1", 30.0, "08"),
        ],
        MERGE_COLUMNS,
    )
    curated = spark.createDataFrame(
        [
            # A later copy of a curated reading, even one that sorts first, does not replace it.
            ("A", "t1", 20.0, "08"),
            ("C", "t1", 25.0, "08"),
            ("C", "t2", 26.0, "09"),
        ],
        MERGE_COLUMNS,
    )

    merge = merge_curated(curated, existing)
    try:
        rows = sorted(tuple(row) for row in merge.merged.collect())
    finally:
        merge.unpersist()

    assert rows == [("A", "t1", 21.0, "08"), ("B", "t1", 30.0, "08"), ("C", "t1", 25.0, "08"), ("C", "t2", 26.0, "09")]
    assert merge.merged.columns == curated.columns
    assert (merge.fresh, merge.already_curated, merge.healed, merge.changed) == (2, 1, 1, True)


def test_merging_readings_all_curated_already_changes_nothing(spark: SparkSession) -> None:
    existing = spark.createDataFrame([("A", "t1", 21.0, "08"), ("B", "t1", 30.0, "08")], MERGE_COLUMNS)

    merge = merge_curated(existing, existing)
    try:
        rows = sorted(tuple(row) for row in merge.merged.collect())
    finally:
        merge.unpersist()

    assert rows == sorted(tuple(row) for row in existing.collect())
    assert (merge.fresh, merge.already_curated, merge.healed, merge.changed) == (0, 2, 0, False)


def test_run_counts_balance_once_the_merge_has_found_readings_already_curated(spark: SparkSession) -> None:
    counts = CurationCounts(read=10, written=6, quarantined=3, duplicates_removed=1)
    merged = spark.createDataFrame([], MERGE_COLUMNS)

    after = counts.after_merge(MergeResult(merged, fresh=2, already_curated=4, healed=0))

    assert after == CurationCounts(read=10, written=2, quarantined=3, duplicates_removed=1, already_curated=4)
    assert after.balanced
    with pytest.raises(CountMismatchError, match="2 fresh and 3 already curated rows of 6 curated"):
        counts.after_merge(MergeResult(merged, fresh=2, already_curated=3, healed=0))
