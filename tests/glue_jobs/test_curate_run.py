"""The job end to end on local Spark (``job.run`` through ``LocalJobIO``): a run, a rerun, and late arrivals."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import Row, SparkSession

from glue_jobs.curate_events import job
from glue_jobs.curate_events.local import GLUE_READER_MESSAGE, LocalJobIO
from glue_jobs.curate_events.schema import EventSchema
from glue_jobs.curate_events.transforms import CORRUPT_RECORD, GLUE_ERROR, PARTITION_COLUMNS, CurationCounts
from tests.glue_jobs import fake_awsglue
from tests.glue_jobs.support import DEVICES_PATH, FIXTURES, SCHEMA_PATH

pytestmark = pytest.mark.xdist_group("spark")

RUN_DATE = dt.date(2026, 11, 27)
FIREHOSE_HOUR = Path("year=2026") / "month=11" / "day=26" / "hour=08"


def _late(**fields: object) -> bytes:
    reading = {"temperature_c": 20.0, "humidity_pct": 40.0, "battery_v": 3.6, "status": "ok", **fields}
    return json.dumps(reading).encode() + b"\n"


def _deliver(raw: Path, name: str, lines: list[bytes]) -> None:
    """Write ``lines`` as Firehose does: one GZIP object under an hour prefix."""
    prefix = raw / FIREHOSE_HOUR
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / f"ingest-1-2026-11-26-08-{name}.gz").write_bytes(gzip.compress(b"".join(lines)))


def _snapshot(root: Path) -> dict[str, str]:
    """Each Parquet file of the curated zone by path, with a digest of its bytes."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*.parquet"))
    }


@dataclass(frozen=True)
class Scenario:
    """What the three runs of the scenario left behind."""

    curated: Path
    glue_calls: list[tuple[str, Any]]
    after_crash: dict[str, str]
    rerun: CurationCounts
    after_rerun: dict[str, str]
    late: CurationCounts
    after_late: dict[str, str]
    rows: list[Row]
    quarantined: list[dict[str, object]]


def _arguments(tmp: Path, raw: Path) -> job.JobArguments:
    return job.JobArguments(
        raw_path=str(raw),
        curated_path=str(tmp / "curated"),
        quarantine_path=str(tmp / "quarantine"),
        devices_path=str(DEVICES_PATH),
        # The document itself, as the CDK stack passes it.
        event_schema=SCHEMA_PATH.read_text(encoding="utf-8"),
    )


def _argv(arguments: job.JobArguments) -> list[str]:
    """The command line Glue gives the script for ``arguments``."""
    pairs = [("JOB_NAME", "curate-events"), *((name, getattr(arguments, name)) for name in job.JOB_ARGUMENTS[1:])]
    return ["job.py", *(item for name, value in pairs for item in (f"--{name}", value))]


def _append_an_old_duplicate(spark: SparkSession, hour: Path) -> None:
    """Copy the rows of ``hour`` once more into it, as the job's earlier appending runs could."""
    rows = spark.read.parquet(str(hour))
    spark.createDataFrame(rows.collect(), rows.schema).write.mode("append").parquet(str(hour))


@pytest.fixture(scope="module")
def scenario(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """A run that crashes before its commit, its rerun over the same objects, then a run of late arrivals."""
    tmp = tmp_path_factory.mktemp("curate-run")
    first = tmp / "raw-first"
    # The fixture (21 readings) and a file with two malformed lines (4 lines), as two objects of one hour.
    _deliver(first, "00-00-0001", (FIXTURES / "raw_events.jsonl").read_bytes().splitlines(keepends=True))
    _deliver(first, "00-00-0002", (FIXTURES / "malformed_events.jsonl").read_bytes().splitlines(keepends=True))
    curated = tmp / "curated"

    # The first run goes through main and the Glue adapter, over a stand-in for awsglue whose commit fails.
    with fake_awsglue.installed(choices=["temperature_c", "firmware"], fail_commit=True) as calls:
        with pytest.raises(RuntimeError, match=r"before Job\.commit"):
            job.main(_argv(_arguments(tmp, first)))
        glue_calls = list(calls)
    after_crash = _snapshot(curated)

    rerun = job.run(LocalJobIO(spark), _arguments(tmp, first), RUN_DATE)
    after_rerun = _snapshot(curated)

    _append_an_old_duplicate(spark, curated / "year=2026" / "month=11" / "day=26" / "hour=09")
    late = tmp / "raw-late"
    _deliver(
        late,
        "45-00-0003",
        [
            # Firehose retried: a byte-identical copy of a reading the first run curated.
            (FIXTURES / "raw_events.jsonl").read_bytes().splitlines(keepends=True)[0],
            # Another copy of a curated reading, with a different value: the curated one stays.
            _late(device_id="sensor-0002", event_time="2026-11-26T08:15:05.250Z", temperature_c=30.0),
            _late(device_id="sensor-0005", event_time="2026-11-26T08:30:00Z"),
            _late(device_id="sensor-0007", event_time="2026-11-26T09:10:00Z"),
            _late(device_id="sensor-0006", event_time="2026-11-28T12:00:00Z"),
        ],
    )
    late_counts = job.run(LocalJobIO(spark), _arguments(tmp, late), RUN_DATE)

    quarantine = tmp / "quarantine"
    # Partition values as the catalog declares them, zero-padded text, rather than the numbers Spark would infer.
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    try:
        rows = spark.read.parquet(str(curated)).collect()
    finally:
        spark.conf.unset("spark.sql.sources.partitionColumnTypeInference.enabled")
    return Scenario(
        curated=curated,
        glue_calls=glue_calls,
        after_crash=after_crash,
        rerun=rerun,
        after_rerun=after_rerun,
        late=late_counts,
        after_late=_snapshot(curated),
        rows=rows,
        quarantined=[
            json.loads(line)
            for path in quarantine.rglob("*.json.gz")
            for line in gzip.decompress(path.read_bytes()).splitlines()
        ],
    )


def test_main_reads_through_glue_s_reader_resolves_choices_and_commits_last(scenario: Scenario) -> None:
    assert [name for name, _ in scenario.glue_calls] == ["init", "from_options", "resolveChoice", "commit"]
    assert scenario.glue_calls[0][1] == "curate-events"
    assert scenario.glue_calls[1][1] == {
        "connection_type": "s3",
        "connection_options": {
            "paths": [str(scenario.curated.parent / "raw-first")],
            "recurse": True,
            "groupFiles": "inPartition",
        },
        "format": "json",
        "transformation_ctx": "raw_events",
    }
    # Only declared fields are resolved, to text; the validation types them itself.
    assert scenario.glue_calls[2][1] == ([("temperature_c", "cast:string")], "raw_events_resolved")
    # The commit came after both zones were written: the crashed run left them behind.
    assert len(scenario.after_crash) == 5


def test_a_rerun_over_the_same_objects_adds_nothing_and_rewrites_nothing(scenario: Scenario) -> None:
    # The first run wrote both zones and died before its commit, so the rerun reads the same 25 lines again.
    assert scenario.rerun == CurationCounts(read=25, written=0, quarantined=13, duplicates_removed=3, already_curated=9)
    assert scenario.rerun.balanced
    assert len(scenario.after_crash) == 5
    assert scenario.after_rerun == scenario.after_crash


def test_late_copies_of_curated_readings_add_nothing_and_new_readings_join_their_hour(scenario: Scenario) -> None:
    assert scenario.late == CurationCounts(read=5, written=3, quarantined=0, duplicates_removed=0, already_curated=2)
    keys = [(row["device_id"], row["event_time"]) for row in scenario.rows]
    assert len(keys) == len(set(keys)) == 9 + 3
    by_key = {(row["device_id"], row["event_time"]): row for row in scenario.rows}
    # The copy curated first stays, whatever the late copy says.
    assert by_key[("sensor-0002", "2026-11-26T08:15:05.250Z")]["temperature_c"] == 22.0
    assert (
        by_key[("sensor-0006", "2026-11-28T12:00:00Z")]["day"],
        by_key[("sensor-0006", "2026-11-28T12:00:00Z")]["hour"],
    ) == ("28", "12")


def test_the_merge_rewrites_only_the_hours_a_run_touches_and_heals_them(scenario: Scenario) -> None:
    def files(snapshot: dict[str, str], hour: str) -> dict[str, str]:
        return {path: digest for path, digest in snapshot.items() if path.startswith(f"year=2026/month=11/{hour}/")}

    for hour in ("day=26/hour=10", "day=26/hour=23", "day=27/hour=00"):
        assert files(scenario.after_late, hour) == files(scenario.after_rerun, hour) != {}
    for hour in ("day=26/hour=08", "day=26/hour=09"):
        assert files(scenario.after_late, hour).keys().isdisjoint(files(scenario.after_rerun, hour))
        assert len(files(scenario.after_late, hour)) == 1
    assert len(files(scenario.after_late, "day=28/hour=12")) == 1
    # Hour 09 held an extra copy of its reading, as the appending job could leave; the merge left one of each.
    hour_09 = sorted(
        (row["device_id"], row["event_time"]) for row in scenario.rows if (row["day"], row["hour"]) == ("26", "09")
    )
    assert hour_09 == [("sensor-0003", "2026-11-26T09:59:59Z"), ("sensor-0007", "2026-11-26T09:10:00Z")]


def test_malformed_lines_reach_the_quarantine_with_their_reason_and_what_the_reader_said(scenario: Scenario) -> None:
    malformed = [record for record in scenario.quarantined if record["quarantine_reason"] == "malformed_record"]

    # Two malformed lines, quarantined by the crashed run and again by its rerun: the quarantine is appended to.
    assert sorted(str(record[CORRUPT_RECORD]) for record in malformed) == sorted(
        ['{"device_id":"sensor-0002","event_ti', "this line is not JSON"] * 2
    )
    assert all(record["reader_error"]["message"] == GLUE_READER_MESSAGE for record in malformed)  # type: ignore[index]
    assert all(str(record["reader_error"]["source"]).endswith(".gz") for record in malformed)  # type: ignore[index]
    assert len(scenario.quarantined) == 2 * 13


def test_the_local_reader_reports_malformed_lines_in_glue_s_error_layout(
    spark: SparkSession, event_schema: EventSchema
) -> None:
    raw = LocalJobIO(spark).read_raw_events(str(FIXTURES / "malformed_events.jsonl"), event_schema)

    assert raw.reader_errors is not None
    assert raw.reader_errors.columns == [GLUE_ERROR]
    layout = raw.reader_errors.schema[GLUE_ERROR].dataType
    assert [(item.name, item.dataType.simpleString()) for item in layout.fields][:6] == [  # type: ignore[attr-defined]
        ("callsite", "struct<site:string,info:string>"),
        ("msg", "string"),
        ("stackTrace", "string"),
        ("input", "string"),
        ("bytesread", "bigint"),
        ("source", "string"),
    ]
    assert layout.fields[6].name == "dynamicRecord"  # type: ignore[attr-defined]
    assert raw.events.count() == 2
    assert CORRUPT_RECORD not in raw.events.columns
    assert set(PARTITION_COLUMNS).isdisjoint(raw.events.columns)
