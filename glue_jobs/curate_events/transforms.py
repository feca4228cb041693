"""Curation of raw sensor events: one DataFrame transformation per step, and ``curate``, which composes them.

The steps, in the order ``curate`` runs them:

1. ``ensure_fields``: every declared field becomes a column (null where a batch has no such key at all).
2. ``validate``: rows breaking a rule of the schema, and lines that were not JSON, go to quarantine with a
   ``quarantine_reason``.
3. ``enrich_with_devices``: left join with the device reference table; readings of unknown devices go to
   quarantine too (reason ``unknown_device``), so every curated row carries its site and model and an unregistered
   device stays visible and replayable instead of polluting the curated zone with nulls.
4. ``drop_fields``: the raw zone's extra fields (``firmware``, ``debug_payload``, ...) are dropped.
5. ``map_events``: declared fields typed, and ``event_ts``, ``event_date``, ``temperature_f`` and the partition
   columns ``year``/``month``/``day``/``hour`` derived from the event time in UTC.
6. ``deduplicate``: one row per ``device_id`` and ``event_ts``.

Lines the reader could not parse reach ``curate`` as Glue's error records (``reader_errors``) and are quarantined as
``malformed_record`` by ``quarantine_reader_errors``. After ``curate``, ``merge_curated`` merges the run's curated rows
into the hours of the curated zone they fall in, so that a rerun or a late duplicate adds no row.

Glue's DropNullFields is deliberately not applied: it drops the columns that are null in every row of a batch, so an
hour without, say, humidity readings would get Parquet files of a different schema from the rest of the table; the
curated zone's columns are the declared and derived ones, always. In the quarantine it would change nothing, as
Spark's JSON writer leaves null values out anyway.

Nothing here reads or writes storage or creates a SparkSession. ``check_devices``, ``curate`` and ``merge_curated``
run Spark actions (to check the reference table and to count rows); every other function only builds a plan.

On Glue this file is imported as the top-level module ``transforms`` (shipped with ``--extra-py-files``), in tests
as ``glue_jobs.curate_events.transforms``; it imports its sibling ``schema`` for type checking only.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final, NamedTuple

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as sf
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DateType,
    DoubleType,
    MapType,
    NullType,
    NumericType,
    StringType,
    StructType,
    TimestampNTZType,
    TimestampType,
)

if TYPE_CHECKING:
    from glue_jobs.curate_events.schema import EventSchema, FieldSpec

DEVICE_ID: Final = "device_id"
EVENT_TIME: Final = "event_time"
TEMPERATURE_C: Final = "temperature_c"

# The columns curation derives, listed here once with their Spark types: map_events computes them, curate orders the
# curated columns by them, the writer partitions by the last four, the merge keys on event_ts, and the tests read them.
EVENT_TS: Final = "event_ts"
EVENT_DATE: Final = "event_date"
TEMPERATURE_F: Final = "temperature_f"
PARTITION_COLUMNS: Final = ("year", "month", "day", "hour")
DERIVED_COLUMNS: Final[Mapping[str, DataType]] = {
    EVENT_TS: TimestampType(),
    EVENT_DATE: DateType(),
    # Only when the schema declares temperature_c as a double.
    TEMPERATURE_F: DoubleType(),
    # Zero-padded text cut from event_time, so the hour directories sort and read the same in every engine.
    **{name: StringType() for name in PARTITION_COLUMNS},
}
# A reading is identified by its device and the instant it was taken, across batches and runs.
KEY_COLUMNS: Final = (DEVICE_ID, EVENT_TS)

# Spark's default name (spark.sql.columnNameOfCorruptRecord) for the text of a line its JSON reader could not parse;
# the quarantine keeps the text of a malformed record under the same name.
CORRUPT_RECORD: Final = "_corrupt_record"
QUARANTINE_REASON: Final = "quarantine_reason"
DUPLICATES_REMOVED: Final = "_duplicates_removed"
# Glue's error records (DynamicFrame.errorsAsDynamicFrame) hold everything in one struct column of this name; in the
# quarantine, what the reader said about a record goes under READER_ERROR.
GLUE_ERROR: Final = "error"
READER_ERROR: Final = "reader_error"

# Quarantine reasons: whole-record codes, and per-field codes written as "<code>:<field>", joined by REASON_SEPARATOR
# when a row breaks several rules (in schema order, so the text is stable).
MALFORMED_RECORD: Final = "malformed_record"
UNKNOWN_DEVICE: Final = "unknown_device"
MISSING: Final = "missing"
INVALID_TYPE: Final = "invalid_type"
INVALID_TIMESTAMP: Final = "invalid_timestamp"
PATTERN_MISMATCH: Final = "pattern_mismatch"
NOT_ALLOWED: Final = "not_allowed"
NOT_FINITE: Final = "not_finite"
OUT_OF_RANGE: Final = "out_of_range"
REASON_SEPARATOR: Final = ";"

# The event time contract: ISO-8601 in UTC with a Z suffix, as the transformation Lambda writes it. Matching the
# text first makes the parsed instant, and the partition columns cut from the text, independent of the session
# time zone; the cast then rejects impossible dates such as 30 February.
_ISO_8601_UTC: Final = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$"

_DEVICE: Final = "_device"
_REFERENCE_DEVICE_ID: Final = "_reference_device_id"
_RANK: Final = "_rank"
_ORIGIN: Final = "_origin"
_FROM_RUN: Final = "_from_run"


class ValidationResult(NamedTuple):
    """Rows that pass every rule, and rows that do not (with ``quarantine_reason``)."""

    valid: DataFrame
    quarantined: DataFrame


class EnrichmentResult(NamedTuple):
    """Rows of known devices with the reference columns, and rows of unknown devices (with ``quarantine_reason``)."""

    enriched: DataFrame
    unknown: DataFrame


class CountMismatchError(RuntimeError):
    """Rows were lost or multiplied: what was read is not what was written, quarantined and deduplicated."""


@dataclass(frozen=True, slots=True)
class CurationCounts:
    """Row counts of one curation run; ``read`` counts the reader's error records too."""

    read: int
    written: int
    quarantined: int
    duplicates_removed: int
    already_curated: int = 0

    @property
    def balanced(self) -> bool:
        """Whether read = written + quarantined + duplicates_removed + already_curated."""
        return self.read == self.written + self.quarantined + self.duplicates_removed + self.already_curated

    def after_merge(self, merge: MergeResult) -> CurationCounts:
        """These counts once ``merge`` has found some of the written rows in the curated zone already.

        Raises CountMismatchError unless the merge accounts for every row the run curated: each is either fresh or
        already curated.
        """
        if merge.fresh + merge.already_curated != self.written:
            raise CountMismatchError(
                f"the merge accounts for {merge.fresh} fresh and {merge.already_curated} already curated rows "
                f"of {self.written} curated"
            )
        return replace(self, written=merge.fresh, already_curated=merge.already_curated)

    def as_dict(self) -> dict[str, int]:
        """The counts by name, for a log line."""
        return {
            "read": self.read,
            "written": self.written,
            "quarantined": self.quarantined,
            "duplicates_removed": self.duplicates_removed,
            "already_curated": self.already_curated,
        }


@dataclass(frozen=True)
class CurationResult:
    """The curated rows, the quarantined rows and the counts of one run; call ``unpersist`` once both are written."""

    curated: DataFrame
    quarantined: DataFrame
    counts: CurationCounts
    _persisted: tuple[DataFrame, ...] = field(default=(), repr=False, compare=False)

    def unpersist(self) -> None:
        """Release the cached outputs."""
        for frame in self._persisted:
            frame.unpersist()


@dataclass(frozen=True)
class MergeResult:
    """The affected hours of the curated zone as they must be after the run, and what the merge kept and dropped.

    ``fresh``: rows of this run the zone did not hold; ``already_curated``: rows of this run whose reading the zone
    already held (a rerun, a late duplicate); ``healed``: extra copies of a reading the zone held in those hours,
    left there by an earlier at-least-once run and removed now. Call ``unpersist`` once ``merged`` is written.
    """

    merged: DataFrame
    fresh: int
    already_curated: int
    healed: int
    _persisted: tuple[DataFrame, ...] = field(default=(), repr=False, compare=False)

    @property
    def changed(self) -> bool:
        """Whether the hours differ from what the zone holds, so that writing them changes anything."""
        return bool(self.fresh or self.healed)

    def unpersist(self) -> None:
        """Release the cached rows."""
        for frame in self._persisted:
            frame.unpersist()


def _quoted(name: str) -> str:
    # Extra fields come from producers' JSON keys and may hold dots or backticks; quoting keeps them one column.
    return "`" + name.replace("`", "``") + "`"


def _col(name: str) -> Column:
    return sf.col(_quoted(name))


def _try_cast(name: str, source: DataType, target: DataType) -> Column:
    """Column ``name`` as ``target``: null where the value does not convert or its JSON type is wrong for the field."""
    # Text converts to any declared type; numbers convert to doubles. Everything else is the wrong JSON type for a
    # declared field (a boolean would otherwise become 1.0, an object a string), so it yields null and the
    # validation reports `invalid_type`.
    convertible = isinstance(source, NullType | StringType) or (
        isinstance(target, DoubleType) and isinstance(source, NumericType)
    )
    if not convertible:
        return sf.lit(None).cast(target)
    # try_cast rather than cast: null instead of an error for values that do not convert, even with ANSI mode on.
    return sf.expr(f"try_cast({_quoted(name)} AS {target.simpleString()})")


def _utc_instant(name: str, source: DataType) -> Column:
    """Column ``name`` parsed as an ISO-8601 UTC instant with Z; null if it is anything else."""
    text = _try_cast(name, source, StringType())
    return sf.when(text.rlike(_ISO_8601_UTC), sf.expr(f"try_cast({_quoted(name)} AS TIMESTAMP)"))


def _field_failures(spec: FieldSpec, source: DataType) -> list[Column]:
    """One column per rule of ``spec``: the reason text where the row breaks the rule, else null."""
    raw = _col(spec.name)
    typed = _try_cast(spec.name, source, spec.spark_type)

    def failing(code: str, condition: Column) -> Column:
        return sf.when(condition, sf.lit(f"{code}:{spec.name}"))

    # Each rule after the type check tests the typed value, which is null when the value is absent or of the wrong
    # type; a null condition adds no reason, so a row gets `missing` or `invalid_type`, not a cascade of failures.
    failures = [failing(INVALID_TYPE, raw.isNotNull() & typed.isNull())]
    if spec.required:
        failures.insert(0, failing(MISSING, raw.isNull()))
    if spec.type == "timestamp":
        failures.append(failing(INVALID_TIMESTAMP, typed.isNotNull() & _utc_instant(spec.name, source).isNull()))
    if spec.pattern is not None:
        failures.append(failing(PATTERN_MISMATCH, ~typed.rlike(spec.pattern)))
    if spec.allowed:
        failures.append(failing(NOT_ALLOWED, ~typed.isin(*spec.allowed)))
    if spec.type == "double":
        infinite = sf.abs(typed) == sf.lit(float("inf"))
        failures.append(failing(NOT_FINITE, sf.isnan(typed) | infinite))
        out_of_range = sf.lit(False)
        if spec.minimum is not None:
            out_of_range = out_of_range | (typed < sf.lit(spec.minimum))
        if spec.maximum is not None:
            out_of_range = out_of_range | (typed > sf.lit(spec.maximum))
        # NaN compares greater than every number in Spark; it is reported as not_finite only.
        failures.append(failing(OUT_OF_RANGE, ~sf.isnan(typed) & ~infinite & out_of_range))
    return failures


def timestamps_as_text(df: DataFrame, schema: EventSchema) -> DataFrame:
    """Declared timestamps read from Parquet as the transform's ISO-8601 UTC text (milliseconds only if non-zero).

    Firehose's Parquet conversion stores ``event_time`` as a timestamp; the job validates and partitions by the
    text the JSON objects carry, so it gets that text back. Expects a UTC session, as the job runs.
    """
    converted: dict[str, Column] = {}
    for spec in schema.fields:
        if spec.type != "timestamp" or spec.name not in df.columns:
            continue
        if not isinstance(df.schema[spec.name].dataType, TimestampType | TimestampNTZType):
            continue
        moment = _col(spec.name)
        whole = sf.date_format(moment, "yyyy-MM-dd'T'HH:mm:ss'Z'")
        converted[spec.name] = sf.when(sf.date_format(moment, "SSS") == "000", whole).otherwise(
            sf.date_format(moment, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
        )
    return df.withColumns(converted) if converted else df


def ensure_fields(df: DataFrame, schema: EventSchema) -> DataFrame:
    """Add each declared field the batch has no column for as a null column of its declared type."""
    # JSON readers infer columns from the keys they meet: a batch in which no reading has, say, a humidity key has
    # no humidity column at all.
    missing = {spec.name: sf.lit(None).cast(spec.spark_type) for spec in schema.fields if spec.name not in df.columns}
    return df.withColumns(missing) if missing else df


def drop_fields(df: DataFrame, keep: Iterable[str]) -> DataFrame:
    """Drop every column not named in ``keep`` (the raw zone's extra fields); the order of the rest is unchanged."""
    wanted = set(keep)
    unwanted = [name for name in df.columns if name not in wanted]
    return df.drop(*unwanted) if unwanted else df


def validate(df: DataFrame, schema: EventSchema) -> ValidationResult:
    """Split rows into those meeting every rule of the schema and those breaking one, with ``quarantine_reason``.

    Rules per field: ``missing`` (required and null), ``invalid_type`` (a value of the wrong JSON type, or text that
    does not convert), ``invalid_timestamp`` (not ISO-8601 UTC with Z, or no such date), ``pattern_mismatch``,
    ``not_allowed``, ``not_finite`` (NaN or infinity) and ``out_of_range`` (outside min/max). Expects every declared
    field as a column (``ensure_fields``). Records that are not JSON never get here: the reader reports them
    (``quarantine_reader_errors``).
    """
    missing = [name for name in schema.field_names if name not in df.columns]
    if missing:
        raise ValueError(f"declared fields missing from the frame (apply ensure_fields first): {', '.join(missing)}")
    failures = [column for spec in schema.fields for column in _field_failures(spec, df.schema[spec.name].dataType)]
    reasons = sf.concat_ws(REASON_SEPARATOR, *failures)
    annotated = df.withColumn(QUARANTINE_REASON, sf.when(reasons != "", reasons))
    # The reason is either null or not: the two filters split the rows with nothing lost to three-valued logic.
    return ValidationResult(
        valid=annotated.filter(sf.col(QUARANTINE_REASON).isNull()).drop(QUARANTINE_REASON),
        quarantined=annotated.filter(sf.col(QUARANTINE_REASON).isNotNull()),
    )


def check_devices(devices: DataFrame, schema: EventSchema) -> None:
    """Raise ValueError unless device ids are unique and present and no reference column clashes with the events'."""
    if DEVICE_ID not in devices.columns:
        raise ValueError(f"the device table has no {DEVICE_ID} column: {', '.join(devices.columns)}")
    clashes = sorted((set(devices.columns) - {DEVICE_ID}) & (set(schema.field_names) | set(DERIVED_COLUMNS)))
    if clashes:
        raise ValueError(f"device table columns clash with event columns: {', '.join(clashes)}")
    # A device listed twice would double its readings in the join, and the counts would no longer balance. The
    # table is broadcast to every task anyway, so bringing its ids to the driver costs nothing the join does not.
    ids = Counter(row[0] for row in devices.select(DEVICE_ID).collect())
    offending = sorted((str(device), rows) for device, rows in ids.items() if device is None or rows > 1)
    if offending:
        listed = ", ".join(f"{device} ({rows} rows)" for device, rows in offending[:10])
        raise ValueError(f"device ids must be unique and non-null in the device table: {listed}")


def enrich_with_devices(df: DataFrame, devices: DataFrame) -> EnrichmentResult:
    """Left-join the device table on ``device_id``; known devices gain its columns, unknown ones are split off."""
    attributes = [name for name in devices.columns if name != DEVICE_ID]
    # The reference columns travel as one struct under a reserved name, so an extra raw field that happens to be
    # called `site` cannot collide with the reference `site` before the split; in the enriched rows the reference
    # value wins. The table is small: broadcasting it avoids shuffling the events.
    reference = devices.select(
        sf.col(DEVICE_ID).cast(StringType()).alias(_REFERENCE_DEVICE_ID),
        sf.struct(*(_col(name) for name in attributes)).alias(_DEVICE),
    )
    joined = df.join(
        sf.broadcast(reference), df[_quoted(DEVICE_ID)].cast(StringType()) == reference[_REFERENCE_DEVICE_ID], "left"
    ).drop(_REFERENCE_DEVICE_ID)
    known = sf.col(_DEVICE).isNotNull()
    enriched = joined.filter(known).select(
        *(_col(name) for name in df.columns if name not in attributes),
        *(sf.col(_DEVICE)[name].alias(name) for name in attributes),
    )
    unknown = joined.filter(~known).drop(_DEVICE).withColumn(QUARANTINE_REASON, sf.lit(UNKNOWN_DEVICE))
    return EnrichmentResult(enriched=enriched, unknown=unknown)


def map_events(df: DataFrame, schema: EventSchema) -> DataFrame:
    """Type the declared fields and add the ``DERIVED_COLUMNS``, the partition columns cut from the UTC event time.

    Expects validated rows: ``event_time`` is ISO-8601 UTC with Z, so the partition values are cut from its text
    (zero-padded, and the same whatever the session time zone). ``event_time`` itself stays the text as received.
    """
    typed = df.withColumns(
        {spec.name: _try_cast(spec.name, df.schema[spec.name].dataType, spec.spark_type) for spec in schema.fields}
    )
    text = sf.col(EVENT_TIME)
    expressions = {
        EVENT_TS: sf.expr(f"try_cast({_quoted(EVENT_TIME)} AS TIMESTAMP)"),
        EVENT_DATE: sf.substring(text, 1, 10),
        TEMPERATURE_F: sf.col(TEMPERATURE_C) * 9.0 / 5.0 + 32.0,
        "year": sf.substring(text, 1, 4),
        "month": sf.substring(text, 6, 2),
        "day": sf.substring(text, 9, 2),
        "hour": sf.substring(text, 12, 2),
    }
    return typed.withColumns(
        {name: expressions[name].cast(kind) for name, kind in DERIVED_COLUMNS.items() if name in _derivable(schema)}
    )


def _derivable(schema: EventSchema) -> tuple[str, ...]:
    """The derived columns this schema allows: temperature_f needs temperature_c declared as a double."""
    celsius = TEMPERATURE_C in schema.field_names and schema.field(TEMPERATURE_C).type == "double"
    return tuple(name for name in DERIVED_COLUMNS if celsius or name != TEMPERATURE_F)


def curated_columns(schema: EventSchema, reference_columns: Sequence[str]) -> list[str]:
    """The curated zone's columns in order: declared, derived, the device table's, and last the partition columns."""
    derived = [name for name in _derivable(schema) if name not in PARTITION_COLUMNS]
    return [*schema.field_names, *derived, *reference_columns, *PARTITION_COLUMNS]


def deduplicate(df: DataFrame, keys: Sequence[str], *, order_first: Sequence[str] = ()) -> DataFrame:
    """Keep one row per key, adding ``_duplicates_removed``: how many other rows with that key were dropped.

    The row kept is the first in the order of the ``order_first`` columns, then of all the other columns, so the
    choice depends neither on the input order nor on the partitioning; rows that are equal in every column are
    interchangeable anyway. Null keys form one group, as in GROUP BY.
    """
    others = [name for name in df.columns if name not in keys and name not in order_first]
    by_key = Window.partitionBy(*(_col(name) for name in keys))
    ordered = by_key.orderBy(*(_col(name).asc_nulls_last() for name in [*order_first, *others]))
    # Both windows share the partitioning, so Spark sorts the rows once for the two of them.
    return (
        df.withColumn(_RANK, sf.row_number().over(ordered))
        .withColumn(DUPLICATES_REMOVED, sf.count(sf.lit(1)).over(by_key) - 1)
        .filter(sf.col(_RANK) == 1)
        .drop(_RANK)
    )


def quarantine_reader_errors(errors: DataFrame) -> DataFrame:
    """Glue's error records of the JSON reader as quarantine rows with the reason ``malformed_record``.

    ``errors`` is ``DynamicFrame.errorsAsDynamicFrame().toDF()``: one struct column ``error`` with ``msg`` ("error in
    jackson reader"), ``stackTrace`` (the parser's exception, with line and column), ``input`` (the record's text,
    empty when the reader did not keep it), ``bytesread``, ``source`` and ``dynamicRecord`` (the fields parsed before
    the error). Each becomes ``_corrupt_record`` (the text, if any) and ``reader_error`` (the rest, the stack trace
    cut to its first line, the partial record as JSON text), so nothing the reader reported is lost.
    """
    if GLUE_ERROR not in errors.columns or not isinstance(errors.schema[GLUE_ERROR].dataType, StructType):
        raise ValueError(f"reader errors need Glue's struct column {GLUE_ERROR!r}; got {', '.join(errors.columns)}")
    error_type = errors.schema[GLUE_ERROR].dataType
    assert isinstance(error_type, StructType)  # checked above; narrows the type for mypy
    present = {item.name: item.dataType for item in error_type.fields}

    def part(name: str, kind: str = "string") -> Column:
        return sf.col(f"{GLUE_ERROR}.{name}").cast(kind) if name in present else sf.lit(None).cast(kind)

    partial = present.get("dynamicRecord")
    record = (
        sf.to_json(sf.col(f"{GLUE_ERROR}.dynamicRecord"))
        if isinstance(partial, StructType | MapType | ArrayType)
        else part("dynamicRecord")
    )
    text, source = part("input"), part("source")
    return errors.select(
        sf.when(text != "", text).alias(CORRUPT_RECORD),
        sf.struct(
            part("msg").alias("message"),
            sf.substring_index(part("stackTrace"), "\n", 1).alias("detail"),
            sf.when(source != "", source).alias("source"),
            part("bytesread", "bigint").alias("bytes_read"),
            record.alias("partial_record"),
        ).alias(READER_ERROR),
        sf.lit(MALFORMED_RECORD).alias(QUARANTINE_REASON),
    )


def _check_event_schema(schema: EventSchema) -> None:
    kinds = {spec.name: spec.type for spec in schema.fields}
    for name, kind in ((DEVICE_ID, "string"), (EVENT_TIME, "timestamp")):
        if kinds.get(name) != kind:
            raise ValueError(f"the schema must declare {name} as a {kind}; curation keys and partitions on it")
    clashes = sorted(set(DERIVED_COLUMNS) & set(kinds))
    if clashes:
        raise ValueError(f"declared fields clash with the columns curation derives: {', '.join(clashes)}")


def _count(inputs: Sequence[DataFrame], deduplicated: DataFrame, quarantined: DataFrame) -> CurationCounts:
    """Count the inputs and both outputs in a single Spark job, which also fills the outputs' caches."""
    # The input is counted on its own branch rather than derived from the outputs, so rows lost or multiplied on
    # the way (a filter dropping nulls, a join fanning out) show up as a mismatch.
    branches = [frame.select(sf.lit("read").alias("output"), sf.lit(0).alias("removed")) for frame in inputs]
    branches.append(deduplicated.select(sf.lit("written").alias("output"), sf.col(DUPLICATES_REMOVED).alias("removed")))
    branches.append(quarantined.select(sf.lit("quarantined").alias("output"), sf.lit(0).alias("removed")))
    tally = (
        functools.reduce(DataFrame.unionByName, branches)
        .groupBy("output")
        .agg(sf.count(sf.lit(1)).alias("rows"), sf.sum("removed").alias("removed"))
        .collect()
    )
    rows = {row["output"]: int(row["rows"]) for row in tally}
    removed = {row["output"]: int(row["removed"]) for row in tally}
    return CurationCounts(
        read=rows.get("read", 0),
        written=rows.get("written", 0),
        quarantined=rows.get("quarantined", 0),
        duplicates_removed=removed.get("written", 0),
    )


def curate(
    events: DataFrame,
    devices: DataFrame,
    schema: EventSchema,
    *,
    reader_errors: DataFrame | None = None,
    storage_level: StorageLevel | None = StorageLevel.MEMORY_AND_DISK,
) -> CurationResult:
    """Curate a batch of raw events; raise CountMismatchError unless read = written + quarantined + duplicates.

    ``reader_errors`` are Glue's error records of the reader (see ``quarantine_reader_errors``): they count as read
    and are quarantined. Runs two Spark jobs: one checks the device table, one counts the input and both outputs.
    The outputs are persisted at ``storage_level``, so writing them afterwards reuses the work of the counting job;
    ``None`` skips that, for a caller that needs only the counts. The input is read twice in the counting job (once
    counted, once curated), so persist ``events`` beforehand if reading it is expensive.
    """
    _check_event_schema(schema)
    check_devices(devices, schema)
    attributes = [name for name in devices.columns if name != DEVICE_ID]

    events = ensure_fields(events, schema)
    validation = validate(events, schema)
    enrichment = enrich_with_devices(validation.valid, devices)
    mapped = map_events(drop_fields(enrichment.enriched, [*schema.field_names, *attributes]), schema)
    deduplicated = deduplicate(mapped, KEY_COLUMNS)
    quarantined = validation.quarantined.unionByName(enrichment.unknown)
    inputs = [events]
    if reader_errors is not None:
        inputs.append(reader_errors)
        quarantined = quarantined.unionByName(quarantine_reader_errors(reader_errors), allowMissingColumns=True)
    persisted = (deduplicated.persist(storage_level), quarantined.persist(storage_level)) if storage_level else ()

    counts = _count(inputs, deduplicated, quarantined)
    if not counts.balanced:
        for frame in persisted:
            frame.unpersist()
        raise CountMismatchError(f"rows not accounted for: {counts.as_dict()}")

    curated = deduplicated.select(*(_col(name) for name in curated_columns(schema, attributes)))
    return CurationResult(curated, quarantined, counts, persisted)


def merge_curated(
    curated: DataFrame,
    existing: DataFrame,
    *,
    storage_level: StorageLevel = StorageLevel.MEMORY_AND_DISK,
) -> MergeResult:
    """Merge a run's curated rows into ``existing``, the curated zone's rows of the hours they fall in.

    One row per reading (``KEY_COLUMNS``) in the result: the copy the zone already holds wins over this run's, so a
    curated reading never changes once written and a rerun rewrites nothing; among copies of one origin the first in
    column order wins, as in ``deduplicate``. ``existing`` must have the columns of ``curated``. Runs one Spark job,
    which counts the outcome and fills the cache of ``merged`` for the write.
    """
    columns = curated.columns
    tagged = existing.select(sf.lit(0).alias(_ORIGIN), *(_col(name) for name in columns)).unionByName(
        curated.select(sf.lit(1).alias(_ORIGIN), *(_col(name) for name in columns))
    )
    # How many copies of each reading came from this run, before all but one copy of it is dropped.
    from_run = tagged.withColumn(_FROM_RUN, sf.sum(_ORIGIN).over(Window.partitionBy(*map(_col, KEY_COLUMNS))))
    kept = deduplicate(from_run, KEY_COLUMNS, order_first=(_ORIGIN,)).persist(storage_level)
    totals = kept.agg(
        sf.count(sf.when(sf.col(_ORIGIN) == 1, 1)).alias("fresh"),
        sf.count(sf.when(sf.col(_ORIGIN) == 0, 1)).alias("kept"),
        sf.sum(_FROM_RUN).alias("from_run"),
        sf.sum(sf.col(DUPLICATES_REMOVED) + 1 - sf.col(_FROM_RUN)).alias("existing"),
    ).first()
    assert totals is not None  # a global aggregation has exactly one row
    fresh, from_run_rows = int(totals["fresh"]), int(totals["from_run"] or 0)
    healed = int(totals["existing"] or 0) - int(totals["kept"])
    return MergeResult(
        merged=kept.select(*(_col(name) for name in columns)),
        fresh=fresh,
        already_curated=from_run_rows - fresh,
        healed=healed,
        _persisted=(kept,),
    )
