"""AWS Glue job: curate the raw zone's sensor events into the curated zone, quarantining what fails validation.

Glue runs this file alone as the job script. ``transforms.py`` and ``schema.py`` reach it through
``--extra-py-files`` and are imported as top-level modules; tests import the same modules from the package
``glue_jobs.curate_events``. Ship the two in one zip (a CDK asset of this directory is zipped, and a zip on the
Python path keeps the names of the files inside it): a single-file asset lands in S3 under its hash, and Glue would
then offer it as a module named after that hash, not ``transforms``.

``run`` is the job: it reads the run's raw events through a ``JobIO`` adapter, curates them, merges the curated rows
into the curated zone, appends the quarantine and commits. Only the adapter knows the runtime: ``GlueJobIO`` (the
DynamicFrame reader with its error records, ``resolveChoice``, bookmarks and ``Job.commit``) imports ``awsglue``,
which exists only on Glue; ``local.LocalJobIO`` runs the same ``run`` on local Spark. Everything else here is plain
Spark, the same on Glue and locally.

Effectively once: a rerun over the same input, or a late copy of a reading, adds no row to the curated zone. The
curated rows of a run are merged with the curated zone's rows of the hours they fall in (one row per ``device_id``
and ``event_ts``, the copy already curated winning), and only those hours are rewritten, by Spark's dynamic
partition overwrite. A run that only finds readings already curated writes nothing there. The job must not run
twice at once (the Glue job allows one concurrent run, and the workflow starts one run at a time): two runs merging
into the same hour would each overwrite the other's rows.

Job arguments (all required; Glue adds ``--JOB_NAME``):

``--raw_path``
    Where Firehose delivers, e.g. ``s3://raw-bucket/events/``: objects under ``year=/month=/day=/hour=``
    prefixes (or ``device_id=`` first), read recursively. With ``--job-bookmark-option job-bookmark-enable`` each
    run reads only the objects that arrived since the last committed run.
``--raw_format``
    What those objects are (the setting ``firehose.record_format``): ``json``, GZIP JSON lines as the transform
    returns them, or ``parquet``, Firehose's conversion of them with the declared ``raw_events`` table's columns.
    Parquet carries ``event_time`` as a timestamp; the job turns it back into the transform's ISO-8601 text, so the
    same readings curate to the same rows in either format.
``--curated_path``
    Snappy Parquet, partitioned ``year=/month=/day=/hour=`` (UTC event time); the hours a run touches are merged.
``--quarantine_path``
    GZIP JSON lines of the rejected rows as they were read, plus ``quarantine_reason`` (and ``reader_error`` for
    records the JSON reader could not parse), partitioned by the UTC date of the run (``quarantine_date=``).
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql.types import StructType

try:
    from glue_jobs.curate_events import schema as event_schema
    from glue_jobs.curate_events import transforms
except ModuleNotFoundError as error:
    # On Glue the package does not exist: the two modules sit on sys.path on their own (--extra-py-files).
    if error.name not in {"glue_jobs", "glue_jobs.curate_events"}:
        raise
    import schema as event_schema  # type: ignore[import-not-found,no-redef]
    import transforms  # type: ignore[import-not-found,no-redef]

JOB_ARGUMENTS: Final = (
    "JOB_NAME",
    "raw_path",
    "curated_path",
    "quarantine_path",
    "devices_path",
    "event_schema",
    "raw_format",
)
RAW_FORMATS: Final = ("json", "parquet")
QUARANTINE_DATE: Final = "quarantine_date"

LOG = logging.getLogger("curate_events")


@dataclass(frozen=True, slots=True)
class JobArguments:
    """Where the job reads and writes: the job arguments but ``JOB_NAME``."""

    raw_path: str
    curated_path: str
    quarantine_path: str
    devices_path: str
    event_schema: str
    raw_format: str = "json"

    def __post_init__(self) -> None:
        if self.raw_format not in RAW_FORMATS:
            raise ValueError(
                f"--raw_format = {self.raw_format!r}: use 'json' (GZIP JSON lines) or 'parquet' "
                "(Firehose record format conversion), as the setting firehose.record_format says"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> JobArguments:
        """The arguments from resolved job options (extra keys, such as ``JOB_NAME``, are ignored)."""
        return cls(**{name: values[name] for name in JOB_ARGUMENTS if name != "JOB_NAME"})


class RawEvents(NamedTuple):
    """One run's raw events, and the records the reader could not parse as Glue reports them."""

    events: DataFrame
    # DynamicFrame.errorsAsDynamicFrame().toDF(): one struct column `error` per record (see
    # transforms.quarantine_reader_errors); None when every record parsed.
    reader_errors: DataFrame | None


class JobIO(Protocol):
    """What ``run`` needs from the runtime: a SparkSession, the run's raw events, and the commit of the run."""

    @property
    def spark(self) -> SparkSession:
        """The session every read and write goes through."""
        ...

    def read_raw_events(self, path: str, schema: event_schema.EventSchema, raw_format: str = "json") -> RawEvents:
        """The raw events this run must curate (with bookmarks, only those not committed yet)."""
        ...

    def commit(self) -> None:
        """Record that the events read so far are curated, so that the next run does not read them again."""
        ...


class GlueJobIO:
    """``JobIO`` on AWS Glue: the DynamicFrame JSON reader with bookmarks, ``resolveChoice``, ``Job.commit``."""

    def __init__(self, argv: Sequence[str]) -> None:
        # awsglue exists only on Glue; importing it here keeps the rest of the module loadable, and tested, anywhere.
        from awsglue.context import GlueContext
        from awsglue.job import Job
        from awsglue.utils import getResolvedOptions
        from pyspark.context import SparkContext

        options = getResolvedOptions(list(argv), list(JOB_ARGUMENTS))
        self.arguments = JobArguments.from_mapping(options)
        self._glue_context: Any = GlueContext(SparkContext.getOrCreate())
        self._spark: SparkSession = self._glue_context.spark_session
        # The transforms do not depend on it; UTC keeps whatever Spark renders in the lake's time zone.
        self._spark.conf.set("spark.sql.session.timeZone", "UTC")
        self._job: Any = Job(self._glue_context)
        self._job.init(options["JOB_NAME"], options)

    @property
    def spark(self) -> SparkSession:
        """Glue's session."""
        return self._spark

    def read_raw_events(self, path: str, schema: event_schema.EventSchema, raw_format: str = "json") -> RawEvents:
        """The objects under ``path`` the bookmark has not seen, each declared field of varying JSON type as text."""
        from awsglue.gluetypes import ChoiceType

        if raw_format == "parquet":
            return self._read_parquet(path, schema)

        # transformation_ctx names this read in the bookmark state; the bookmark advances only at commit().
        # GZIP is recognised by Firehose's .gz object suffix; groupFiles batches its many small objects into tasks.
        raw = self._glue_context.create_dynamic_frame.from_options(
            connection_type="s3",
            connection_options={"paths": [path], "recurse": True, "groupFiles": "inPartition"},
            format="json",
            transformation_ctx="raw_events",
        )
        choice_fields = [item.name for item in raw.schema().fields if isinstance(item.dataType, ChoiceType)]
        specs = schema.resolve_choice_specs(choice_fields)
        resolved = raw.resolveChoice(specs=specs, transformation_ctx="raw_events_resolved") if specs else raw
        # Persisted and counted first: the reader's error records exist once the frame has been computed, and the
        # counting job of curate then reuses the rows instead of listing and reading S3 again.
        events: DataFrame = resolved.toDF().persist(StorageLevel.MEMORY_AND_DISK)
        events.count()
        # Asked for only when there are errors: with none there is nothing to quarantine, and the layout of an empty
        # error frame is not documented.
        errors: DataFrame | None = raw.errorsAsDynamicFrame().toDF() if raw.errorsCount() else None
        return RawEvents(events, errors)

    def _read_parquet(self, path: str, schema: event_schema.EventSchema) -> RawEvents:
        """Parquet objects the bookmark has not seen; Firehose converted them, so no record is malformed."""
        # Same transformation_ctx as the JSON read: switching the format keeps the bookmark's place. groupFiles is
        # for row formats only; Firehose's Parquet objects are one 64-128 MB buffer each.
        raw = self._glue_context.create_dynamic_frame.from_options(
            connection_type="s3",
            connection_options={"paths": [path], "recurse": True},
            format="parquet",
            transformation_ctx="raw_events",
        )
        events: DataFrame = transforms.timestamps_as_text(raw.toDF(), schema).persist(StorageLevel.MEMORY_AND_DISK)
        events.count()
        return RawEvents(events, None)

    def commit(self) -> None:
        """Advance the bookmark past the objects this run read."""
        self._job.commit()


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


def hour_path(root: str, hour: Sequence[str]) -> str:
    """The directory of one hour of the curated zone: ``root/year=YYYY/month=MM/day=DD/hour=HH``."""
    parts = (f"{name}={value}" for name, value in zip(transforms.PARTITION_COLUMNS, hour, strict=True))
    return "/".join([root.rstrip("/"), *parts])


def _exists(spark: SparkSession, path: str) -> bool:
    # Hadoop's file system API answers for s3:// on Glue and for local paths alike, without listing the whole zone.
    jvm: Any = spark.sparkContext._jvm  # PySpark reaches Hadoop only through the gateway
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    file_system = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(file_system.exists(hadoop_path))


def read_curated_hours(spark: SparkSession, root: str, curated: DataFrame) -> DataFrame:
    """The curated zone's rows in the hours ``curated`` falls in, with the columns of ``curated``."""
    hours = [tuple(row) for row in curated.select(*transforms.PARTITION_COLUMNS).distinct().collect()]
    paths = [path for path in (hour_path(root, hour) for hour in hours) if _exists(spark, path)]
    schema: StructType = curated.schema
    if not paths:
        return spark.createDataFrame([], schema)
    # The run's schema, not inference: partition values stay zero-padded text, and a column added to the schema or
    # the device table since an hour was written reads as null there.
    return spark.read.schema(schema).option("basePath", root).parquet(*paths)


def write_curated(merged: DataFrame, path: str) -> None:
    """Replace the hours ``merged`` holds with its rows, as Snappy Parquet partitioned by year, month, day and hour."""
    # Dynamic partition overwrite replaces only the hours present in `merged`; every other hour stays as it is.
    # Spark writes them under a staging directory first and swaps each hour in when the job commits, so the rows
    # read from those hours to build `merged` are all read before any of them is replaced. Repartitioning by the
    # partition columns writes one file per hour instead of one per task.
    (
        merged.repartition(*(sf.col(name) for name in transforms.PARTITION_COLUMNS))
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
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


def _merge_into_curated(spark: SparkSession, curated: DataFrame, path: str) -> transforms.MergeResult:
    """Merge the run's curated rows into their hours of the zone, and write those hours if that changes them."""
    merge = transforms.merge_curated(curated, read_curated_hours(spark, path, curated))
    try:
        outcome = {"fresh": merge.fresh, "already_curated": merge.already_curated, "healed": merge.healed}
        LOG.info("merge into the curated hours %s", json.dumps(outcome))
        if merge.changed:
            write_curated(merge.merged, path)
    finally:
        merge.unpersist()
    return merge


def run(io: JobIO, arguments: JobArguments, run_date: dt.date) -> transforms.CurationCounts:
    """Curate the run's raw events into the curated zone and the quarantine, then commit; return the counts."""
    spark = io.spark
    schema = event_schema.load_schema(read_schema_source(spark, arguments.event_schema))
    devices = read_devices(spark, arguments.devices_path).cache()
    raw = io.read_raw_events(arguments.raw_path, schema, arguments.raw_format)

    result = transforms.curate(raw.events, devices, schema, reader_errors=raw.reader_errors)
    counts = result.counts
    try:
        if counts.written:
            counts = counts.after_merge(_merge_into_curated(spark, result.curated, arguments.curated_path))
        if counts.quarantined:
            write_quarantine(result.quarantined, arguments.quarantine_path, run_date)
    finally:
        result.unpersist()
        raw.events.unpersist()
        devices.unpersist()
    LOG.info("curation counts %s", json.dumps({"run_date": run_date.isoformat(), **counts.as_dict()}))
    # Last: if the run fails before this point, the next run reads the same objects again, and the merge makes
    # that harmless for the curated zone.
    io.commit()
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    """Run the job on Glue: read new raw events, curate them, write both zones and commit the bookmark."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    io = GlueJobIO(sys.argv if argv is None else argv)
    run(io, io.arguments, dt.datetime.now(dt.UTC).date())


if __name__ == "__main__":
    main()
