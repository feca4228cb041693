"""AWS Glue job: curate the raw zone's sensor events into the curated zone, quarantining what fails validation.

Glue runs this file alone as the job script. ``transforms.py`` and ``schema.py`` reach it through
``--extra-py-files`` and are imported as top-level modules; tests import the same modules from the package
``glue_jobs.curate_events``. Ship the two in one zip (a CDK asset of this directory is zipped, and a zip on the
Python path keeps the names of the files inside it): a single-file asset lands in S3 under its hash, and Glue would
then offer it as a module named after that hash, not ``transforms``. Only ``main`` needs the Glue runtime
(``awsglue`` exists only there), so it imports ``awsglue`` itself and the rest of this module loads, and is tested,
anywhere.

Job arguments (all required; Glue adds ``--JOB_NAME``):

``--raw_path``
    Where Firehose delivers, e.g. ``s3://raw-bucket/events/``: GZIP JSON lines under ``year=/month=/day=/hour=``
    prefixes (or ``device_id=`` first), read recursively. With ``--job-bookmark-option job-bookmark-enable`` each
    run reads only the objects that arrived since the last committed run.
``--curated_path``
    Snappy Parquet, partitioned ``year=/month=/day=/hour=`` (UTC event time), appended to.
``--quarantine_path``
    GZIP JSON lines of the rejected rows as they were read, plus ``quarantine_reason``, partitioned by the UTC
    date of the run (``quarantine_date=``).
``--devices_path``
    The device reference table: a CSV file with a header (``devices.csv``).
``--event_schema``
    The event schema: the JSON document itself, or the path of a file holding it (``s3://...``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from typing import Final

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

try:
    from glue_jobs.curate_events import schema as event_schema
    from glue_jobs.curate_events import transforms
except ModuleNotFoundError as error:
    # On Glue the package does not exist: the two modules sit on sys.path on their own (--extra-py-files).
    if error.name not in {"glue_jobs", "glue_jobs.curate_events"}:
        raise
    import schema as event_schema  # type: ignore[import-not-found,no-redef]
    import transforms  # type: ignore[import-not-found,no-redef]

JOB_ARGUMENTS: Final = ("JOB_NAME", "raw_path", "curated_path", "quarantine_path", "devices_path", "event_schema")
QUARANTINE_DATE: Final = "quarantine_date"

LOG = logging.getLogger("curate_events")


def read_schema_source(spark: SparkSession, value: str) -> str:
    """The schema JSON text: ``value`` itself if it is a JSON object, else the content of the file it names."""
    if value.lstrip().startswith("{"):
        return value
    # Spark reads the file, so an s3:// path works on Glue without boto3, and a local path in tests.
    lines = spark.read.text(value, wholetext=True).collect()
    return "".join(row["value"] for row in lines)


def read_devices(spark: SparkSession, path: str) -> DataFrame:
    """The device reference table from a CSV file with a header row."""
    # enforceSchema=False checks the header against the expected columns, so a reordered or renamed column fails
    # the run instead of silently shifting sites into models; FAILFAST does the same for a malformed row.
    return spark.read.csv(
        path, header=True, schema=event_schema.DEVICE_TABLE_STRUCT, enforceSchema=False, mode="FAILFAST"
    )


def write_curated(curated: DataFrame, path: str) -> None:
    """Append the curated rows as Snappy Parquet, partitioned by year, month, day and hour."""
    # Append, not overwrite: with job bookmarks each run carries only new raw objects, and a late reading for an
    # hour already curated would make even a dynamic partition overwrite replace that hour with the late rows
    # alone. Repartitioning by the partition columns writes one file per hour and run instead of one per task.
    (
        curated.repartition(*(sf.col(name) for name in transforms.PARTITION_COLUMNS))
        .write.mode("append")
        .partitionBy(*transforms.PARTITION_COLUMNS)
        .option("compression", "snappy")
        .parquet(path)
    )


def write_quarantine(quarantined: DataFrame, path: str, run_date: dt.date) -> None:
    """Append the quarantined rows as GZIP JSON lines, partitioned by the date of the run."""
    # By run date rather than event date: a row quarantined for a bad event_time has no event date, and the
    # question one asks of a quarantine is what last night's run rejected. Rejections are few, so one file a run.
    (
        quarantined.withColumn(QUARANTINE_DATE, sf.lit(run_date.isoformat()))
        .coalesce(1)
        .write.mode("append")
        .partitionBy(QUARANTINE_DATE)
        .option("compression", "gzip")
        .json(path)
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the job on Glue: read new raw events, curate them, write both zones and commit the bookmark."""
    from awsglue.context import GlueContext
    from awsglue.gluetypes import ChoiceType
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = getResolvedOptions(list(sys.argv if argv is None else argv), list(JOB_ARGUMENTS))
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    # The transforms do not depend on it; UTC keeps whatever Spark renders in the lake's time zone.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    run_date = dt.datetime.now(dt.UTC).date()

    schema = event_schema.load_schema(read_schema_source(spark, args["event_schema"]))
    devices = read_devices(spark, args["devices_path"]).cache()

    # transformation_ctx names this read in the bookmark state; the bookmark advances only at job.commit().
    # GZIP is recognised by Firehose's .gz object suffix; groupFiles batches its many small objects into tasks.
    raw = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [args["raw_path"]], "recurse": True, "groupFiles": "inPartition"},
        format="json",
        transformation_ctx="raw_events",
    )
    choice_fields = [field.name for field in raw.schema().fields if isinstance(field.dataType, ChoiceType)]
    specs = schema.resolve_choice_specs(choice_fields)
    if specs:
        raw = raw.resolveChoice(specs=specs, transformation_ctx="raw_events_resolved")
    # Persisted: curate's counting job reads the input on three branches (its count and the two outputs), which
    # should not each list and read S3 again.
    events = raw.toDF().persist(StorageLevel.MEMORY_AND_DISK)

    result = transforms.curate(events, devices, schema)
    counts = result.counts
    LOG.info("curation counts %s", json.dumps({"run_date": run_date.isoformat(), **counts.as_dict()}))
    if counts.written:
        write_curated(result.curated, args["curated_path"])
    if counts.quarantined:
        write_quarantine(result.quarantined, args["quarantine_path"], run_date)

    # Records the Glue reader itself could not parse never reach the DataFrame: keep them rather than lose them.
    # Their layout is Glue's error record, not a reading, so they go under a prefix starting with "_", which Spark,
    # Hive and Athena treat as hidden when they read the quarantine table.
    reader_errors = raw.errorsCount()
    if reader_errors:
        errors_path = f"{args['quarantine_path'].rstrip('/')}/_reader_errors/{QUARANTINE_DATE}={run_date}/"
        LOG.warning("the JSON reader rejected %d records; writing them to %s", reader_errors, errors_path)
        glue_context.write_dynamic_frame.from_options(
            frame=raw.errorsAsDynamicFrame(),
            connection_type="s3",
            connection_options={"path": errors_path},
            format="json",
        )

    result.unpersist()
    events.unpersist()
    devices.unpersist()
    job.commit()


if __name__ == "__main__":
    main()
