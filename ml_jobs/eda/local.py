"""``make eda`` with no AWS account: readings from the producer's generator, curated by the Glue job's own code on
local Spark, then the analysis.

    python -m ml_jobs.eda.local [--devices 12] [--days 3] [--interval 60] [--seed 7] [--out reports/eda]

The raw zone's JSON lines go to ``<work>/raw/``; ``curate`` (the Glue job's transforms) and the job's own writer
make ``<work>/curated/`` (Parquet, partitioned year/month/day/hour) exactly as in the lake; the analysis reads that
folder as the SageMaker job reads the curated zone.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ml_jobs.eda import cli
from ml_jobs.eda.features import LAKE_LABEL
from tools.producer import encode_reading, generate_readings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ROOT: Final = Path(__file__).resolve().parents[2]
SCHEMA_PATH: Final = ROOT / "lambdas" / "firehose_transform" / "sensor_event_schema.json"
DEVICES_PATH: Final = ROOT / "glue_jobs" / "curate_events" / "devices.csv"
# A fixed end keeps the sample (and so the report) the same from run to run.
SAMPLE_END: Final = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def write_raw(
    folder: Path, *, devices: int, days: float, interval: float, seed: int, end: datetime = SAMPLE_END
) -> int:
    """The producer's readings as the raw zone holds them (JSON lines); returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    count = int(days * 86_400 / interval) * devices
    rng = random.Random(seed)  # noqa: S311 - simulated readings, not secrets
    readings = generate_readings(count, devices, rng, end=end, interval_seconds=interval)
    with (folder / "events.jsonl").open("wb") as sink:
        for reading in readings:
            sink.write(encode_reading(reading, "json") + b"\n")
    return count


def local_spark() -> SparkSession:
    """A small local SparkSession in UTC, quiet."""
    from glue_jobs.local_spark import local_session  # with pyspark: only the local run needs it

    return local_session("eda-local", driver_memory="1g")


def curate_raw(spark: SparkSession, raw: Path, curated: Path) -> dict[str, int]:
    """Curate the raw folder with the Glue job's transforms and writer; returns the curation counts."""
    from glue_jobs.curate_events import job
    from glue_jobs.curate_events.schema import load_schema
    from glue_jobs.curate_events.transforms import curate

    schema = load_schema(SCHEMA_PATH)
    devices = job.read_devices(spark, str(DEVICES_PATH))
    events = spark.read.json(str(raw))
    result = curate(events, devices, schema)
    if curated.exists():
        shutil.rmtree(curated)
    job.write_curated(result.curated, str(curated))
    counts = result.counts.as_dict()
    result.unpersist()
    return counts


def build_parser() -> argparse.ArgumentParser:
    """Flags of the local run."""
    parser = argparse.ArgumentParser(prog="python -m ml_jobs.eda.local", description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=12, help="simulated devices, at most 20 (%(default)s)")
    parser.add_argument("--days", type=float, default=3.0, help="days of readings (%(default)s)")
    parser.add_argument(
        "--interval", type=float, default=60.0, help="seconds between a device's readings (%(default)s)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the generator and the model (%(default)s)")
    parser.add_argument("--work", type=Path, default=Path("build/eda"), help="raw and curated folders (%(default)s)")
    parser.add_argument("--out", type=Path, default=cli.DEFAULT_OUT, help="report folder (%(default)s)")
    parser.add_argument("--trees", type=int, default=150, help="trees in the random forest (%(default)s)")
    return parser


def main(argv: Sequence[str] | None = None, *, spark: SparkSession | None = None) -> int:
    """Generate, curate, analyse; print where the report is."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # The device table lists sensor-0001..0020; readings of other devices would be quarantined as unknown.
    if not 1 <= args.devices <= 20:
        parser.error(f"--devices: {args.devices} is outside 1..20 (the devices listed in {DEVICES_PATH.name})")
    if args.days <= 0 or args.interval <= 0:
        parser.error(f"--days {args.days} and --interval {args.interval} must be positive")
    clock = cli.Clock(sys.stderr)
    clock(f"generating {args.days:g} days of readings from {args.devices} devices, one a {args.interval:g} s")
    raw, curated = args.work / "raw", args.work / "curated"
    written = write_raw(raw, devices=args.devices, days=args.days, interval=args.interval, seed=args.seed)
    clock(f"{written} readings in {raw}; curating them with the Glue job's transforms on local Spark")
    session = spark or local_spark()
    started = time.monotonic()
    counts = curate_raw(session, raw, curated)
    clock(f"curated in {time.monotonic() - started:.1f} s: {counts}")
    if spark is None:
        session.stop()
    status = cli.main(
        [
            "--input",
            str(curated),
            "--target",
            LAKE_LABEL,
            "--out",
            str(args.out),
            "--seed",
            str(args.seed),
            "--trees",
            str(args.trees),
        ]
    )
    if status == 0:
        print(f"report: {(args.out / cli.REPORT).resolve()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
