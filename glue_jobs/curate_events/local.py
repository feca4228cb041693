"""The curation job's logic on local Spark: ``job.run`` through ``LocalJobIO``, the local twin of ``GlueJobIO``.

    python -m glue_jobs.curate_events.local --raw_path tests/glue_jobs/fixtures \\
        --curated_path outputs/curate-local/curated --quarantine_path outputs/curate-local/quarantine

reads every JSON-lines file under ``--raw_path`` (``.gz`` too), or every Parquet file with ``--raw_format parquet``,
writes the curated zone and the quarantine as the job does on Glue, and prints the run's counts. ``--devices_path``
and ``--event_schema`` default to the files the job ships with. Run it twice: the second run finds every reading
curated already and adds nothing.

Glue's DynamicFrame reader does not fail on a malformed JSON record: it leaves it out of the frame and reports it as
an error record (``errorsAsDynamicFrame``). ``LocalJobIO`` reads with Spark's JSON reader, which keeps such a line in
``_corrupt_record``, and turns each one into an error record of Glue's layout, so ``run`` meets malformed input
locally in the shape it has on Glue. Where Spark knows more than Glue reports, the record says so: the line's text
(``input``, empty in the AWS documentation's example of a parse error) and the file (``source``). Not mirrored:
Glue's streaming parser may read past a truncated line into the next one and report the two as one error; Spark reads
line by line. There are no bookmarks locally: every run reads everything under ``--raw_path``.

This module is not shipped to Glue.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from glue_jobs import local_spark
from glue_jobs.curate_events import job, transforms
from glue_jobs.curate_events.schema import EventSchema

PACKAGE: Final = Path(__file__).resolve().parent
SCHEMA_FILE: Final = PACKAGE.parents[1] / "lambdas" / "firehose_transform" / "sensor_event_schema.json"
DEVICES_FILE: Final = PACKAGE / "devices.csv"

# What Glue's JSON reader puts in `msg` for a record it cannot parse (AWS Glue developer guide, DynamicFrame class,
# "Example: Use errorsAsDynamicFrame to view error records").
GLUE_READER_MESSAGE: Final = "error in jackson reader"
LOCAL_DETAIL: Final = "malformed JSON line (read locally by Spark's JSON reader, which does not say where it failed)"
_SOURCE: Final = "_source"


class LocalJobIO:
    """``JobIO`` on local Spark: a recursive JSON-lines reader that reports malformed lines as Glue does."""

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark
        self.commits = 0

    @property
    def spark(self) -> SparkSession:
        """The local session."""
        return self._spark

    def read_raw_events(self, path: str, schema: EventSchema, raw_format: str = "json") -> job.RawEvents:
        """Every record under ``path``; the lines that are not JSON as Glue's error records."""
        if raw_format == "parquet":
            # Firehose's converted objects: typed columns, nothing malformed (failed conversions are in errors/).
            parquet = self._spark.read.option("recursiveFileLookup", "true").parquet(path)
            return job.RawEvents(transforms.timestamps_as_text(parquet, schema), None)
        # PERMISSIVE keeps a line Spark cannot parse as its text in _corrupt_record; the column exists only when at
        # least one line is malformed.
        lines = (
            self._spark.read.option("recursiveFileLookup", "true")
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", transforms.CORRUPT_RECORD)
            .json(path)
        )
        if transforms.CORRUPT_RECORD not in lines.columns:
            return job.RawEvents(lines, None)
        # Cached before filtering on the corrupt-record column, which Spark refuses to query straight from the files;
        # the file name is taken while the rows still come from them.
        tagged = lines.withColumn(_SOURCE, sf.input_file_name()).cache()
        malformed = sf.col(transforms.CORRUPT_RECORD).isNotNull()
        events = tagged.filter(~malformed).drop(transforms.CORRUPT_RECORD, _SOURCE)
        return job.RawEvents(events, glue_error_records(tagged.filter(malformed)))

    def commit(self) -> None:
        """Count the commit; there is no bookmark to advance locally."""
        self.commits += 1


def glue_error_records(malformed: DataFrame) -> DataFrame:
    """Malformed lines read by Spark (``_corrupt_record`` set) as Glue's reader reports them: one ``error`` struct."""
    parsed = [name for name in malformed.columns if name not in {transforms.CORRUPT_RECORD, _SOURCE}]
    text = sf.col(transforms.CORRUPT_RECORD)
    return malformed.select(
        sf.struct(
            sf.struct(sf.lit("").alias("site"), sf.lit("").alias("info")).alias("callsite"),
            sf.lit(GLUE_READER_MESSAGE).alias("msg"),
            sf.lit(LOCAL_DETAIL).alias("stackTrace"),
            text.alias("input"),
            sf.octet_length(text).cast("bigint").alias("bytesread"),
            sf.col(_SOURCE).alias("source"),
            # What the parser made of the line before it failed; Spark leaves the fields null.
            sf.struct(*(sf.col(f"`{name}`") for name in parsed)).alias("dynamicRecord"),
        ).alias(transforms.GLUE_ERROR)
    )


def local_session(master: str = "local[2]") -> SparkSession:
    """A small local session in UTC, as the job runs on Glue."""
    return local_spark.local_session("curate-events-local", master=master, shuffle_partitions=4)


def _arguments(argv: Sequence[str] | None) -> job.JobArguments:
    parser = argparse.ArgumentParser(description="Run the curation job's logic on local Spark.")
    parser.add_argument("--raw_path", required=True, help="a folder of JSON-lines files (.gz too), read recursively")
    parser.add_argument("--curated_path", required=True, help="the curated zone: partitioned Snappy Parquet")
    parser.add_argument("--quarantine_path", required=True, help="the quarantine: GZIP JSON lines by run date")
    parser.add_argument("--devices_path", default=str(DEVICES_FILE), help="the device table (%(default)s)")
    parser.add_argument("--event_schema", default=str(SCHEMA_FILE), help="the event schema (%(default)s)")
    parser.add_argument(
        "--raw_format", choices=job.RAW_FORMATS, default="json", help="what --raw_path holds (%(default)s)"
    )
    return job.JobArguments(**vars(parser.parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> None:
    """Run the job's logic once on local Spark and print the counts."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    arguments = _arguments(argv)
    spark = local_session()
    try:
        counts = job.run(LocalJobIO(spark), arguments, dt.datetime.now(dt.UTC).date())
    finally:
        spark.stop()
    print(json.dumps(counts.as_dict()))


if __name__ == "__main__":
    main()
