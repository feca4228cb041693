"""Benchmark of the Glue job's curation: rows per second on generated batches, and how the per-row cost scales.

    python -m bench.bench_etl                      # 100,000 and 1,000,000 rows, best of 3 runs each
    python -m bench.bench_etl --sizes 50000 500000 --repeat 1 --master "local[4]"

Spark generates the events itself (``spark.range`` and column expressions, so Python builds no rows), caches and
counts them before the clock starts. The batches look like the raw zone's: known and unknown devices, exact
duplicates, out-of-range readings, bad timestamps and extra fields. Two figures per size:

``curate``
    ``curate`` and the evaluation of both of its outputs (to Spark's ``noop`` sink): the transformations alone, no
    storage.
``merge run``
    what the job does after reading: ``curate``, then the merge into a curated zone on local disk that already holds
    the first half of the batch (so half the rows are already curated and every hour they fall in is read, merged
    and rewritten as Snappy Parquet), the quarantine to ``noop``. The zone is restored before each run, off the clock.

Each size runs ``--repeat`` times after a warm-up run and the fastest run counts, being the one least disturbed by
other work on the machine. The last lines compare the per-row cost at the largest size with the smallest (near 1.0:
linear; below 1: a fixed cost being amortised; above 1: worse than linear) and split the time into a fixed and a
per-row part. Nothing is asserted: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as sf

from glue_jobs.curate_events import job
from glue_jobs.curate_events.schema import DEVICE_TABLE_STRUCT, EventSchema, load_schema
from glue_jobs.curate_events.transforms import CurationCounts, curate, merge_curated
from glue_jobs.local_spark import local_session

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "lambdas" / "firehose_transform" / "sensor_event_schema.json"
DEVICES_PATH = ROOT / "glue_jobs" / "curate_events" / "devices.csv"

# devices.csv knows sensor-0001 to sensor-0020; generating 21 devices makes one reading in 21 an unknown device's.
GENERATED_DEVICES = 21
START_EPOCH_SECONDS = 1_795_000_000  # 2026-11-18, UTC
WARM_UP_ROWS = 20_000
TABLE_ROW = "{:>10} | {:>8} {:>10} {:>7} | {:>8} {:>10} {:>7} | {:>9} {:>11} {:>10} {:>9}"


@dataclass(frozen=True)
class Measurement:
    """The fastest of the runs at one size."""

    rows: int
    seconds: float
    counts: CurationCounts

    @property
    def rows_per_second(self) -> float:
        """Input rows curated per second."""
        return self.rows / self.seconds

    @property
    def microseconds_per_row(self) -> float:
        """Wall-clock cost of one input row."""
        return self.seconds / self.rows * 1e6


def generate_events(spark: SparkSession, rows: int) -> DataFrame:
    """``rows`` raw readings as the raw zone holds them, with the defects curation deals with, made by Spark.

    Reading ``i`` is the same whatever ``rows`` is, so a smaller batch is the start of a larger one.
    """
    identifier = sf.col("id")
    # Every hundredth row repeats the one before it, as a Firehose retry would; the rest derive from their own id.
    n = sf.when(identifier % 100 == 99, identifier - 1).otherwise(identifier)

    def every(period: int, value: Column, otherwise: Column) -> Column:
        return sf.when(n % period == 0, value).otherwise(otherwise)

    # Five seconds apart per device, so that only the repeated rows share a device and an instant.
    seconds = sf.lit(START_EPOCH_SECONDS) + sf.floor(n / GENERATED_DEVICES) * 5
    return spark.range(rows).select(
        sf.format_string("sensor-%04d", n % GENERATED_DEVICES + 1).alias("device_id"),
        every(
            997, sf.lit("not a time"), sf.date_format(sf.timestamp_seconds(seconds), "yyyy-MM-dd'T'HH:mm:ss'Z'")
        ).alias("event_time"),
        every(499, sf.lit(999.0), 15.0 + (n % 200) / 10.0).alias("temperature_c"),
        (30.0 + (n % 500) / 10.0).alias("humidity_pct"),
        every(13, sf.lit(None).cast("double"), 3.3 + (n % 90) / 100.0).alias("battery_v"),
        sf.element_at(sf.array(*map(sf.lit, ["ok", "ok", "ok", "warning", "error"])), (n % 5 + 1).cast("int")).alias(
            "status"
        ),
        sf.lit("2.4.1").alias("firmware"),
        every(50, sf.struct((n % 90 - 100).alias("rssi")), sf.lit(None)).alias("debug_payload"),
    )


def measure(events: DataFrame, devices: DataFrame, schema: EventSchema, rows: int, repeat: int) -> Measurement:
    """Time ``curate`` plus the evaluation of its outputs ``repeat`` times and keep the fastest run."""
    best: Measurement | None = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = curate(events, devices, schema)
        result.curated.write.format("noop").mode("overwrite").save()
        result.quarantined.write.format("noop").mode("overwrite").save()
        elapsed = time.perf_counter() - start
        result.unpersist()
        if best is None or elapsed < best.seconds:
            best = Measurement(rows, elapsed, result.counts)
    assert best is not None  # repeat >= 1
    return best


def measure_merge(
    spark: SparkSession, sizes: tuple[int, int], devices: DataFrame, schema: EventSchema, repeat: int, work: Path
) -> Measurement:
    """Time a run of ``sizes[0]`` rows merged into a zone holding the first ``sizes[1]`` of them; keep the fastest."""
    rows, curated_before = sizes
    pristine, zone = work / "pristine", work / "zone"
    first = curate(generate_events(spark, curated_before), devices, schema)
    job.write_curated(first.curated, str(pristine))
    first.unpersist()
    events = generate_events(spark, rows).persist(StorageLevel.MEMORY_AND_DISK)
    events.count()
    best: Measurement | None = None
    for _ in range(repeat):
        shutil.rmtree(zone, ignore_errors=True)
        shutil.copytree(pristine, zone)
        start = time.perf_counter()
        result = curate(events, devices, schema)
        merge = merge_curated(result.curated, job.read_curated_hours(spark, str(zone), result.curated))
        job.write_curated(merge.merged, str(zone))
        result.quarantined.write.format("noop").mode("overwrite").save()
        elapsed = time.perf_counter() - start
        counts = result.counts.after_merge(merge)
        merge.unpersist()
        result.unpersist()
        if best is None or elapsed < best.seconds:
            best = Measurement(rows, elapsed, counts)
    events.unpersist()
    assert best is not None  # repeat >= 1
    return best


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the Glue job's curation on generated batches.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="rows per batch")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the fastest counts (%(default)s)")
    parser.add_argument("--master", default="local[2]", help="Spark master (%(default)s)")
    parser.add_argument("--shuffle-partitions", type=int, default=8, help="spark.sql.shuffle.partitions")
    parser.add_argument("--driver-memory", default="2g", help="spark.driver.memory (%(default)s)")
    arguments = parser.parse_args(argv)
    if arguments.repeat < 1 or min(arguments.sizes) < 1:
        parser.error("--repeat and every size must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print one line per size, then the scaling ratio."""
    arguments = _arguments(argv)
    spark = local_session(
        "bench-etl",
        master=arguments.master,
        shuffle_partitions=arguments.shuffle_partitions,
        driver_memory=arguments.driver_memory,
    )
    schema = load_schema(SCHEMA_PATH)
    devices = spark.read.csv(str(DEVICES_PATH), header=True, schema=DEVICE_TABLE_STRUCT).cache()
    print(
        f"Spark {spark.version}, master {arguments.master}, {os.cpu_count()} CPUs, "
        f"shuffle partitions {arguments.shuffle_partitions}, best of {arguments.repeat}"
    )

    warm_up = generate_events(spark, WARM_UP_ROWS).persist(StorageLevel.MEMORY_ONLY)
    measure(warm_up, devices, schema, WARM_UP_ROWS, 1)
    warm_up.unpersist()

    print(TABLE_ROW.format("", "curate", "", "", "merge run", "", "", "", "", "", ""))
    print(
        TABLE_ROW.format(
            "rows",
            "seconds",
            "rows/s",
            "us/row",
            "seconds",
            "rows/s",
            "us/row",
            "written",
            "quarantined",
            "duplicates",
            "already",
        )
    )
    plain: list[Measurement] = []
    merged: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="bench-etl-") as work:
        measure_merge(spark, (WARM_UP_ROWS, WARM_UP_ROWS // 2), devices, schema, 1, Path(work) / "warm-up")
        for rows in sorted(arguments.sizes):
            events = generate_events(spark, rows).persist(StorageLevel.MEMORY_AND_DISK)
            events.count()
            plain.append(measure(events, devices, schema, rows, arguments.repeat))
            events.unpersist()
            merged.append(
                measure_merge(spark, (rows, rows // 2), devices, schema, arguments.repeat, Path(work) / str(rows))
            )
            _print_row(plain[-1], merged[-1])
    for label, measurements in (("curate", plain), ("merge run", merged)):
        _print_scaling(label, measurements)
    spark.stop()


def _print_row(plain: Measurement, merged: Measurement) -> None:
    counts = merged.counts
    print(
        TABLE_ROW.format(
            f"{plain.rows:,}",
            f"{plain.seconds:.2f}",
            f"{plain.rows_per_second:,.0f}",
            f"{plain.microseconds_per_row:.1f}",
            f"{merged.seconds:.2f}",
            f"{merged.rows_per_second:,.0f}",
            f"{merged.microseconds_per_row:.1f}",
            f"{counts.written:,}",
            f"{counts.quarantined:,}",
            f"{counts.duplicates_removed:,}",
            f"{counts.already_curated:,}",
        )
    )


def _print_scaling(label: str, measurements: Sequence[Measurement]) -> None:
    if len(measurements) < 2:
        return
    smallest, largest = measurements[0], measurements[-1]
    ratio = largest.microseconds_per_row / smallest.microseconds_per_row
    print(f"{label}: per-row cost at {largest.rows:,} rows / at {smallest.rows:,} rows: {ratio:.2f}")
    # A line through the two points splits the time into a fixed part (planning, job scheduling) and a part
    # proportional to the rows; a ratio well below 1 with a steady marginal cost means the fixed part dominates.
    marginal = (largest.seconds - smallest.seconds) / (largest.rows - smallest.rows)
    fixed = smallest.seconds - marginal * smallest.rows
    print(f"{label}: as a line: {fixed:.2f} s fixed + {marginal * 1e6:.1f} us per row")


if __name__ == "__main__":
    main()
