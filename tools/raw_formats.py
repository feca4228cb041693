"""`make raw-formats`: the same readings delivered as GZIP JSON and as Parquet, curated by the job's logic locally.

    python -m tools.raw_formats [--records 2000] [--devices 10] [--out build/raw-formats]

Generates readings as the producer does, normalises them with the transform Lambda's own parser, and lands them in a
raw zone folder per `firehose.record_format`: GZIP JSON lines as Firehose writes them, and Parquet as Firehose's
record format conversion writes them (the declared `raw_events` columns and types, extra fields left out). Then it
runs the curation job (`job.run` through `LocalJobIO`, `--raw_format` each) over both on local Spark, and prints
the size of each raw zone, the counts of each run and whether the curated rows are the same. Exit status 1 if not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import random
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pyspark.sql import SparkSession

from glue_jobs.curate_events import job
from glue_jobs.curate_events.local import DEVICES_FILE, SCHEMA_FILE, LocalJobIO, local_session
from infra.schema import event_schema, table_ddl
from lambdas.firehose_transform.transform import parse_payload
from tools.producer import encode_reading, generate_readings

END: Final = dt.datetime(2026, 11, 26, 8, 59, tzinfo=dt.UTC)
HOUR: Final = Path("events") / "year=2026" / "month=11" / "day=26" / "hour=08"
OBJECT: Final = "ml-data-lake-local-raw-delivery-1-2026-11-26-08-59-00-0001"


def transformed_readings(records: int, devices: int, seed: int) -> list[dict[str, Any]]:
    """Producer readings after the transform Lambda: schema fields normalised, extra fields kept."""
    rng = random.Random(seed)
    lines = (encode_reading(reading, "json").decode() for reading in generate_readings(records, devices, rng, end=END))
    return [normalised for line in lines for normalised in parse_payload(line)]


def deliver_json(readings: list[dict[str, Any]], zone: Path) -> Path:
    """One GZIP JSON-lines object under the hour's prefix, as `record_format: json` delivers."""
    (zone / HOUR).mkdir(parents=True, exist_ok=True)
    target = zone / HOUR / f"{OBJECT}.gz"
    target.write_bytes(gzip.compress(b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in readings)))
    return target


def deliver_parquet(spark: SparkSession, readings: list[dict[str, Any]], zone: Path, staging: Path) -> Path:
    """One Snappy Parquet object with the declared table's columns, as `record_format: parquet` delivers."""
    staging.mkdir(parents=True, exist_ok=True)
    lines = staging / "transformed.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in readings), encoding="utf-8")
    # Firehose's OpenX deserializer reads each column with the table's type; keys the table lacks are left out.
    frame = spark.read.schema(table_ddl(event_schema())).json(str(lines))
    frame.coalesce(1).write.mode("overwrite").option("compression", "snappy").parquet(str(staging / "parquet"))
    (zone / HOUR).mkdir(parents=True, exist_ok=True)
    (part,) = (staging / "parquet").glob("part-*.parquet")
    target = zone / HOUR / f"{OBJECT}.parquet"
    shutil.move(part, target)
    return target


def curate(spark: SparkSession, root: Path, raw_format: str) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """The job's run over one raw zone: its counts and its curated rows, sorted."""
    arguments = job.JobArguments(
        raw_path=str(root / "raw" / "events"),
        curated_path=str(root / "curated" / "events"),
        quarantine_path=str(root / "curated" / "quarantine"),
        devices_path=str(DEVICES_FILE),
        event_schema=str(SCHEMA_FILE),
        raw_format=raw_format,
    )
    counts = job.run(LocalJobIO(spark), arguments, END.date())
    curated = spark.read.parquet(arguments.curated_path)
    rows = sorted((tuple(row) for row in curated.select(*sorted(curated.columns)).collect()), key=row_order)
    return counts.as_dict(), rows


def row_order(row: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    """A total order of curated rows, nulls included (a reading may lack an optional field), to compare two runs."""
    return tuple((value is not None, repr(value)) for value in row)


def main(argv: Sequence[str] | None = None) -> int:
    """Deliver, curate and compare; print what a person checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=2000, help="readings to generate (%(default)s)")
    parser.add_argument("--devices", type=int, default=10, help="devices taking turns (%(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (%(default)s)")
    parser.add_argument("--out", type=Path, default=Path("build/raw-formats"), help="work folder (%(default)s)")
    options = parser.parse_args(argv)
    shutil.rmtree(options.out, ignore_errors=True)
    readings = transformed_readings(options.records, options.devices, options.seed)
    spark = local_session()
    try:
        objects = {
            "json": deliver_json(readings, options.out / "json" / "raw"),
            "parquet": deliver_parquet(spark, readings, options.out / "parquet" / "raw", options.out / "staging"),
        }
        runs = {raw_format: curate(spark, options.out / raw_format, raw_format) for raw_format in objects}
    finally:
        spark.stop()
    for raw_format, path in objects.items():
        counts, rows = runs[raw_format]
        print(f"{raw_format:8} raw object {path.stat().st_size:>9,} bytes  curated {len(rows):>6,} rows  {counts}")
    same = runs["json"][1] == runs["parquet"][1]
    print(f"curated rows identical in both formats: {'yes' if same else 'NO'} (folders under {options.out})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
