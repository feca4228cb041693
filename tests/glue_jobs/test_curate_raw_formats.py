"""The job reads either raw format Firehose delivers (``--raw_format``): the same readings curate to the same rows."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from glue_jobs.curate_events import job
from glue_jobs.curate_events.local import LocalJobIO
from glue_jobs.curate_events.schema import EventSchema
from glue_jobs.curate_events.transforms import CurationCounts, timestamps_as_text
from infra.schema import event_schema as event_schema_document
from infra.schema import table_ddl
from tests.glue_jobs.support import DEVICES_PATH, SCHEMA_PATH, reading

pytestmark = pytest.mark.xdist_group("spark")

RUN_DATE = dt.date(2026, 11, 27)
HOUR = Path("year=2026") / "month=11" / "day=26" / "hour=08"
READINGS = [
    reading(device_id="sensor-0001", event_time="2026-11-26T08:15:00Z", firmware="2.4.1"),
    reading(device_id="sensor-0002", event_time="2026-11-26T08:15:05.250Z"),
    reading(device_id="sensor-0003", event_time="2026-11-26T09:59:59Z", temperature_c=None, humidity_pct=None),
    # The same reading twice (a Firehose retry), a value out of range, a status not allowed, an unknown device.
    reading(device_id="sensor-0004", event_time="2026-11-26T10:00:00.001Z"),
    reading(device_id="sensor-0004", event_time="2026-11-26T10:00:00.001Z"),
    reading(device_id="sensor-0001", event_time="2026-11-26T11:00:00Z", temperature_c=151.0),
    reading(device_id="sensor-0002", event_time="2026-11-26T11:30:00Z", status="broken"),
    reading(device_id="sensor-9999", event_time="2026-11-26T12:00:00Z"),
]


def _deliver_json(raw: Path) -> None:
    """The readings as the JSON setting delivers them: one GZIP JSON-lines object under the hour's prefix."""
    (raw / HOUR).mkdir(parents=True)
    lines = b"".join(json.dumps(item).encode() + b"\n" for item in READINGS)
    (raw / HOUR / "ingest-1-2026-11-26-08-00-00-0001.gz").write_bytes(gzip.compress(lines))


def _deliver_parquet(spark: SparkSession, raw: Path, staging: Path) -> None:
    """The readings as Firehose's conversion delivers them: the table's columns and types, extra fields left out."""
    lines = staging / "lines.jsonl"
    staging.mkdir(parents=True)
    lines.write_text("".join(json.dumps(item) + "\n" for item in READINGS), encoding="utf-8")
    # Firehose's conversion writes each column with the type the raw_events table declares for it.
    spark.read.schema(table_ddl(event_schema_document())).json(str(lines)).coalesce(1).write.parquet(
        str(staging / "out")
    )
    (raw / HOUR).mkdir(parents=True)
    (part,) = (staging / "out").glob("part-*.parquet")
    shutil.move(part, raw / HOUR / "ingest-1-2026-11-26-08-00-00-0001.parquet")


@dataclass(frozen=True)
class Run:
    """One run of the job over one format: its counts, curated rows and quarantine reasons."""

    counts: CurationCounts
    curated: list[tuple[Any, ...]]
    reasons: list[str]


def _run(spark: SparkSession, tmp: Path, raw_format: str) -> Run:
    arguments = job.JobArguments(
        raw_path=str(tmp / "raw"),
        curated_path=str(tmp / "curated"),
        quarantine_path=str(tmp / "quarantine"),
        devices_path=str(DEVICES_PATH),
        event_schema=SCHEMA_PATH.read_text(encoding="utf-8"),
        raw_format=raw_format,
    )
    counts = job.run(LocalJobIO(spark), arguments, RUN_DATE)
    curated = spark.read.parquet(arguments.curated_path)
    rows = sorted(tuple(row) for row in curated.select(*sorted(curated.columns)).collect())
    reasons = sorted(
        json.loads(line)["quarantine_reason"]
        for path in (tmp / "quarantine").rglob("*.json.gz")
        for line in gzip.decompress(path.read_bytes()).splitlines()
    )
    return Run(counts, rows, reasons)


@pytest.fixture(scope="module")
def runs(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """The job run once over the readings delivered as JSON and once over the same readings as Parquet."""
    json_run, parquet_run = tmp_path_factory.mktemp("raw-json"), tmp_path_factory.mktemp("raw-parquet")
    _deliver_json(json_run / "raw")
    _deliver_parquet(spark, parquet_run / "raw", parquet_run / "staging")
    return {"json": _run(spark, json_run, "json"), "parquet": _run(spark, parquet_run, "parquet")}


def test_both_formats_curate_the_same_readings_to_the_same_rows(runs: dict[str, Run]) -> None:
    assert runs["parquet"].curated == runs["json"].curated
    assert len(runs["json"].curated) == 4


def test_both_formats_count_and_quarantine_alike(runs: dict[str, Run]) -> None:
    expected = CurationCounts(read=8, written=4, quarantined=3, duplicates_removed=1, already_curated=0)
    assert runs["json"].counts == runs["parquet"].counts == expected
    assert runs["parquet"].reasons == runs["json"].reasons
    assert len(runs["json"].reasons) == 3


def test_parquet_timestamps_read_back_as_the_transform_s_text(spark: SparkSession, event_schema: EventSchema) -> None:
    # Given event times as Firehose's conversion stores them: timestamps, one with milliseconds, one missing
    frame = spark.createDataFrame(
        [
            ("a", dt.datetime(2026, 11, 26, 8, 15, 0, tzinfo=dt.UTC)),
            ("b", dt.datetime(2026, 11, 26, 8, 15, 5, 250_000, tzinfo=dt.UTC)),
            ("c", None),
        ],
        "device_id string, event_time timestamp",
    )
    # When they are read as the job reads Parquet
    texts = [row["event_time"] for row in timestamps_as_text(frame, event_schema).orderBy("device_id").collect()]
    # Then they are the text the transform writes: milliseconds only when there are some
    assert texts == ["2026-11-26T08:15:00Z", "2026-11-26T08:15:05.250Z", None]


def test_timestamps_already_text_are_left_as_they_are(spark: SparkSession, event_schema: EventSchema) -> None:
    frame = spark.createDataFrame([("a", "not a time")], "device_id string, event_time string")
    assert timestamps_as_text(frame, event_schema).collect()[0]["event_time"] == "not a time"


def test_an_unknown_raw_format_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"^--raw_format = 'orc': use 'json' .* or 'parquet'"):
        job.JobArguments(
            raw_path="r", curated_path="c", quarantine_path="q", devices_path="d", event_schema="{}", raw_format="orc"
        )
