"""AWS Glue job: turn the DMS change rows of every replicated table into its current state in the curated zone.

Glue runs this file alone as the job script; ``transforms.py`` reaches it through ``--extra-py-files`` (as for
``curate_events``). ``run`` is the job; only the ``JobIO`` adapter knows the runtime: ``GlueJobIO`` (GlueContext,
``Job.commit``) imports ``awsglue``, which exists only on Glue, and ``local.LocalJobIO`` runs the same ``run`` on
local Spark.

Each run rebuilds every table's current state from all of its change files (``cdc/<schema>/<table>/``), and replaces
that table's current rows and quarantine: a rerun over the same files writes the same output. It reads more as the
history grows; the raw zone's lifecycle must not expire ``cdc/`` before a table is reloaded (docs/cdc.md).

Job arguments (all required; Glue adds ``--JOB_NAME``):

``--changes_path``    where DMS writes, e.g. ``s3://raw-bucket/cdc/`` (one folder per schema, then per table)
``--current_path``    the current state, Snappy Parquet, one folder per ``<schema>/<table>``
``--quarantine_path`` rows the rules cannot place, GZIP JSON lines with ``quarantine_reason``, per ``<schema>/<table>``
``--table_keys``      JSON list of ``{"schema": ..., "table": ..., "key": [...]}`` (DMS's ``%`` wildcard allowed)
``--database``        the catalog database in which each table is registered as ``cdc_<schema>_<table>``
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

try:
    from glue_jobs.cdc_current_state import transforms
except ModuleNotFoundError as error:
    # On Glue the package does not exist: the module sits on sys.path on its own (--extra-py-files).
    if error.name not in {"glue_jobs", "glue_jobs.cdc_current_state"}:
        raise
    import transforms  # type: ignore[import-not-found,no-redef]

JOB_ARGUMENTS: Final = ("JOB_NAME", "changes_path", "current_path", "quarantine_path", "table_keys", "database")
LOG = logging.getLogger("cdc_current_state")


@dataclass(frozen=True, slots=True)
class TableKey:
    """Which tables (DMS `%` wildcards) have which primary key."""

    schema: str
    table: str
    key: tuple[str, ...]

    def matches(self, schema: str, table: str) -> bool:
        """True when this rule selects `schema`.`table` (PostgreSQL folds unquoted names to lower case)."""
        return _like(self.schema, schema) and _like(self.table, table)


def _like(pattern: str, name: str) -> bool:
    regex = "".join(".*" if part == "%" else re.escape(part) for part in re.split(r"(%)", pattern))
    return re.fullmatch(regex, name, flags=re.IGNORECASE) is not None


def parse_table_keys(text: str) -> tuple[TableKey, ...]:
    """The ``--table_keys`` argument; a malformed one stops the run with one line saying what is expected."""
    expected = 'a JSON list such as [{"schema": "public", "table": "%", "key": ["id"]}]'
    try:
        document = json.loads(text)
        keys = tuple(TableKey(str(r["schema"]), str(r["table"]), tuple(str(c) for c in r["key"])) for r in document)
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"--table_keys = {text!r}: expected {expected} ({error})") from None
    if not keys or any(not rule.key for rule in keys):
        raise ValueError(f"--table_keys = {text!r}: expected {expected}, each with at least one key column")
    return keys


@dataclass(frozen=True, slots=True)
class JobArguments:
    """Where the job reads and writes: the job arguments but ``JOB_NAME``."""

    changes_path: str
    current_path: str
    quarantine_path: str
    table_keys: tuple[TableKey, ...]
    database: str

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> JobArguments:
        """The arguments from resolved job options (extra keys, such as ``JOB_NAME``, are ignored)."""
        return cls(
            changes_path=values["changes_path"],
            current_path=values["current_path"],
            quarantine_path=values["quarantine_path"],
            table_keys=parse_table_keys(values["table_keys"]),
            database=values["database"],
        )


@dataclass(frozen=True, slots=True)
class TableCounts:
    """What one table's run found: change rows read, current rows written, rows quarantined."""

    schema: str
    table: str
    changes: int
    current: int
    quarantined: int

    def as_dict(self) -> dict[str, object]:
        """The counts as a JSON-ready mapping."""
        return {
            "schema": self.schema,
            "table": self.table,
            "changes": self.changes,
            "current": self.current,
            "quarantined": self.quarantined,
        }


class JobIO(Protocol):
    """What ``run`` needs from the runtime: a SparkSession (with a catalog) and the commit of the run."""

    @property
    def spark(self) -> SparkSession:
        """The session every read and write goes through."""
        ...

    def commit(self) -> None:
        """Record that the run finished."""
        ...


class GlueJobIO:
    """``JobIO`` on AWS Glue: GlueContext's session (the Data Catalog as Spark's catalog), ``Job.commit``."""

    def __init__(self, argv: Sequence[str]) -> None:
        # awsglue exists only on Glue; importing it here keeps the rest of the module loadable, and tested, anywhere.
        from awsglue.context import GlueContext
        from awsglue.job import Job
        from awsglue.utils import getResolvedOptions
        from pyspark.context import SparkContext

        options = getResolvedOptions(list(argv), list(JOB_ARGUMENTS))
        self.arguments = JobArguments.from_mapping(options)
        glue_context: Any = GlueContext(SparkContext.getOrCreate())
        self._spark: SparkSession = glue_context.spark_session
        self._spark.conf.set("spark.sql.session.timeZone", "UTC")
        self._job: Any = Job(glue_context)
        self._job.init(options["JOB_NAME"], options)

    @property
    def spark(self) -> SparkSession:
        """Glue's session."""
        return self._spark

    def commit(self) -> None:
        """End the run (the job keeps no bookmark: each run reads every change file)."""
        self._job.commit()


def _file_system(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm: Any = spark.sparkContext._jvm  # PySpark reaches Hadoop only through the gateway
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def list_tables(spark: SparkSession, changes_path: str) -> list[tuple[str, str]]:
    """The ``(schema, table)`` folders under ``changes_path``, sorted; none when DMS has not written yet."""
    file_system, root = _file_system(spark, changes_path)
    if not file_system.exists(root):
        return []
    tables = [
        (schema.getPath().getName(), table.getPath().getName())
        for schema in file_system.listStatus(root)
        if schema.isDirectory()
        for table in file_system.listStatus(schema.getPath())
        if table.isDirectory()
    ]
    return sorted(tables)


def read_changes(spark: SparkSession, path: str) -> DataFrame:
    """Every Parquet file of one table (date folders included), with each row's file and position in it."""
    frame = spark.read.option("recursiveFileLookup", "true").parquet(path)
    return frame.select(
        "*",
        sf.col("_metadata.file_path").alias(transforms.SOURCE_FILE),
        sf.col("_metadata.row_index").alias(transforms.ROW_INDEX),
    )


def table_path(root: str, schema: str, table: str) -> str:
    """``root/<schema>/<table>``."""
    return "/".join((root.rstrip("/"), schema, table))


def _write(
    spark: SparkSession, state: transforms.CurrentState, arguments: JobArguments, names: tuple[str, str]
) -> None:
    """Replace the table's current rows and quarantine, and register the current rows in the catalog."""
    current_path = table_path(arguments.current_path, *names)
    state.current.write.mode("overwrite").option("compression", "snappy").parquet(current_path)
    state.quarantined.coalesce(1).write.mode("overwrite").option("compression", "gzip").json(
        table_path(arguments.quarantine_path, *names)
    )
    name = f"`{arguments.database}`.`{transforms.table_name(*names)}`"
    spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING parquet LOCATION '{current_path}'")
    spark.sql(f"REFRESH TABLE {name}")


def run_table(spark: SparkSession, arguments: JobArguments, schema: str, table: str) -> TableCounts:
    """Rebuild one table's current state and quarantine; return its counts."""
    changes = read_changes(spark, table_path(arguments.changes_path, schema, table)).cache()
    try:
        rule = next((rule for rule in arguments.table_keys if rule.matches(schema, table)), None)
        if rule is None:
            reason = f"no rule of --table_keys selects {schema}.{table}, so its primary key is unknown"
            quarantined = changes.withColumn(transforms.QUARANTINE_REASON, sf.lit(reason))
            state = transforms.CurrentState(changes.limit(0), quarantined)
        else:
            state = transforms.current_state(changes, rule.key)
        _write(spark, state, arguments, (schema, table))
        counts = TableCounts(schema, table, changes.count(), state.current.count(), state.quarantined.count())
    finally:
        changes.unpersist()
    LOG.info("table counts %s", json.dumps(counts.as_dict()))
    return counts


def run(io: JobIO, arguments: JobArguments) -> list[TableCounts]:
    """Rebuild the current state of every table DMS has written, then commit; return the counts per table."""
    tables = list_tables(io.spark, arguments.changes_path)
    counts = [run_table(io.spark, arguments, schema, table) for schema, table in tables]
    io.commit()
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    """Run the job on Glue."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    io = GlueJobIO(sys.argv if argv is None else argv)
    run(io, io.arguments)


if __name__ == "__main__":
    main()
