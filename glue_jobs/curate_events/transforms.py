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

``drop_null_fields`` (Glue's DropNullFields) is here as well; its docstring says why ``curate`` does not apply it.

Nothing here reads or writes storage or creates a SparkSession. ``check_devices`` and ``curate`` run Spark actions
(to check the reference table and to count rows); every other function only builds a plan.

On Glue this file is imported as the top-level module ``transforms`` (shipped with ``--extra-py-files``), in tests
as ``glue_jobs.curate_events.transforms``; it imports its sibling ``schema`` for type checking only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NamedTuple

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as sf
from pyspark.sql.types import DataType, DateType, DoubleType, NullType, NumericType, StringType

if TYPE_CHECKING:
    from glue_jobs.curate_events.schema import EventSchema, FieldSpec

DEVICE_ID: Final = "device_id"
EVENT_TIME: Final = "event_time"
TEMPERATURE_C: Final = "temperature_c"

# Columns the curated zone adds.
EVENT_TS: Final = "event_ts"
EVENT_DATE: Final = "event_date"
TEMPERATURE_F: Final = "temperature_f"
PARTITION_COLUMNS: Final = ("year", "month", "day", "hour")
_DERIVED: Final = frozenset({EVENT_TS, EVENT_DATE, TEMPERATURE_F, *PARTITION_COLUMNS})

# Spark's default name (spark.sql.columnNameOfCorruptRecord) for the text of a line its JSON reader could not parse.
CORRUPT_RECORD: Final = "_corrupt_record"
QUARANTINE_REASON: Final = "quarantine_reason"
DUPLICATES_REMOVED: Final = "_duplicates_removed"

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
    """Row counts of one curation run."""

    read: int
    written: int
    quarantined: int
    duplicates_removed: int

    @property
    def balanced(self) -> bool:
        """Whether read = written + quarantined + duplicates_removed."""
        return self.read == self.written + self.quarantined + self.duplicates_removed

    def as_dict(self) -> dict[str, int]:
        """The counts by name, for a log line."""
        return {
            "read": self.read,
            "written": self.written,
            "quarantined": self.quarantined,
            "duplicates_removed": self.duplicates_removed,
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


def drop_null_fields(df: DataFrame, keep: Iterable[str] = ()) -> DataFrame:
    """Drop every column that is null in every row, as Glue's DropNullFields does; columns in ``keep`` stay.

    Glue's transform drops the fields whose type is NullType, which a DynamicFrame infers for a field that is
    missing or null in every record of the frame. A DataFrame has fixed types, so the equivalent test looks at the
    data: one aggregation counts the non-null values of each column (void-typed columns need no count). Like
    Glue's, an empty frame loses all its columns. Unlike Glue's, it looks at top-level columns only; Glue also
    descends into structs.

    ``curate`` does not apply it. The curated zone's columns are the declared and derived ones, and dropping one
    because a single batch had no value for it (no humidity readings that hour) would give that batch's Parquet
    files a different schema from the rest of the table. In the quarantine output it would change nothing: Spark's
    JSON writer already leaves out null values. It costs a pass over the data wherever it is used.
    """
    protected = set(keep)
    candidates = [name for name in df.columns if name not in protected]
    null_columns = [name for name in candidates if isinstance(df.schema[name].dataType, NullType)]
    counted = [name for name in candidates if name not in null_columns]
    if counted:
        row = df.agg(*(sf.count(_col(name)).alias(f"c{index}") for index, name in enumerate(counted))).first()
        if row is not None:
            null_columns.extend(name for index, name in enumerate(counted) if row[index] == 0)
    return df.drop(*null_columns) if null_columns else df


def validate(df: DataFrame, schema: EventSchema) -> ValidationResult:
    """Split rows into those meeting every rule of the schema and those breaking one, with ``quarantine_reason``.

    Rules per field: ``missing`` (required and null), ``invalid_type`` (a value of the wrong JSON type, or text that
    does not convert), ``invalid_timestamp`` (not ISO-8601 UTC with Z, or no such date), ``pattern_mismatch``,
    ``not_allowed``, ``not_finite`` (NaN or infinity) and ``out_of_range`` (outside min/max). A line Spark could not
    parse as JSON (``_corrupt_record`` set) is ``malformed_record`` alone: its other columns are null by definition.
    Expects every declared field as a column (``ensure_fields``).
    """
    missing = [name for name in schema.field_names if name not in df.columns]
    if missing:
        raise ValueError(f"declared fields missing from the frame (apply ensure_fields first): {', '.join(missing)}")
    failures = [column for spec in schema.fields for column in _field_failures(spec, df.schema[spec.name].dataType)]
    reasons = sf.concat_ws(REASON_SEPARATOR, *failures)
    reason = sf.when(reasons != "", reasons)
    if CORRUPT_RECORD in df.columns:
        reason = sf.when(sf.col(CORRUPT_RECORD).isNotNull(), sf.lit(MALFORMED_RECORD)).otherwise(reason)
    annotated = df.withColumn(QUARANTINE_REASON, reason)
    # The reason is either null or not: the two filters split the rows with nothing lost to three-valued logic.
    return ValidationResult(
        valid=annotated.filter(sf.col(QUARANTINE_REASON).isNull()).drop(QUARANTINE_REASON),
        quarantined=annotated.filter(sf.col(QUARANTINE_REASON).isNotNull()),
    )


def check_devices(devices: DataFrame, schema: EventSchema) -> None:
    """Raise ValueError unless device ids are unique and present and no reference column clashes with the events'."""
    if DEVICE_ID not in devices.columns:
        raise ValueError(f"the device table has no {DEVICE_ID} column: {', '.join(devices.columns)}")
    clashes = sorted((set(devices.columns) - {DEVICE_ID}) & (set(schema.field_names) | _DERIVED))
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
    """Type the declared fields and add ``event_ts``, ``event_date``, ``temperature_f`` and the UTC partition columns.

    Expects validated rows: ``event_time`` is ISO-8601 UTC with Z, so the partition values are cut from its text
    (zero-padded, and the same whatever the session time zone). ``event_time`` itself stays the text as received.
    """
    typed = df.withColumns(
        {spec.name: _try_cast(spec.name, df.schema[spec.name].dataType, spec.spark_type) for spec in schema.fields}
    )
    text = sf.col(EVENT_TIME)
    derived = {
        EVENT_TS: sf.expr(f"try_cast({_quoted(EVENT_TIME)} AS TIMESTAMP)"),
        EVENT_DATE: sf.substring(text, 1, 10).cast(DateType()),
        "year": sf.substring(text, 1, 4),
        "month": sf.substring(text, 6, 2),
        "day": sf.substring(text, 9, 2),
        "hour": sf.substring(text, 12, 2),
    }
    if TEMPERATURE_C in schema.field_names and schema.field(TEMPERATURE_C).type == "double":
        derived[TEMPERATURE_F] = sf.col(TEMPERATURE_C) * 9.0 / 5.0 + 32.0
    return typed.withColumns(derived)


def deduplicate(df: DataFrame, keys: Sequence[str]) -> DataFrame:
    """Keep one row per key, adding ``_duplicates_removed``: how many other rows with that key were dropped.

    The row kept is the first in the order of all the other columns, so the choice depends neither on the input
    order nor on the partitioning; rows that are equal in every column are interchangeable anyway. Null keys form
    one group, as in GROUP BY.
    """
    others = [name for name in df.columns if name not in keys]
    by_key = Window.partitionBy(*(_col(name) for name in keys))
    ordered = by_key.orderBy(*(_col(name).asc_nulls_last() for name in others))
    # Both windows share the partitioning, so Spark sorts the rows once for the two of them.
    return (
        df.withColumn(_RANK, sf.row_number().over(ordered))
        .withColumn(DUPLICATES_REMOVED, sf.count(sf.lit(1)).over(by_key) - 1)
        .filter(sf.col(_RANK) == 1)
        .drop(_RANK)
    )


def _check_event_schema(schema: EventSchema) -> None:
    kinds = {spec.name: spec.type for spec in schema.fields}
    for name, kind in ((DEVICE_ID, "string"), (EVENT_TIME, "timestamp")):
        if kinds.get(name) != kind:
            raise ValueError(f"the schema must declare {name} as a {kind}; curation keys and partitions on it")
    clashes = sorted(_DERIVED & set(kinds))
    if clashes:
        raise ValueError(f"declared fields clash with the columns curation derives: {', '.join(clashes)}")


def _count(events: DataFrame, deduplicated: DataFrame, quarantined: DataFrame) -> CurationCounts:
    """Count the input and both outputs in a single Spark job, which also fills the outputs' caches."""
    # The input is counted on its own branch rather than derived from the outputs, so rows lost or multiplied on
    # the way (a filter dropping nulls, a join fanning out) show up as a mismatch.
    tally = (
        events.select(sf.lit("read").alias("output"), sf.lit(0).alias("removed"))
        .unionByName(
            deduplicated.select(sf.lit("written").alias("output"), sf.col(DUPLICATES_REMOVED).alias("removed"))
        )
        .unionByName(quarantined.select(sf.lit("quarantined").alias("output"), sf.lit(0).alias("removed")))
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
    storage_level: StorageLevel | None = StorageLevel.MEMORY_AND_DISK,
) -> CurationResult:
    """Curate a batch of raw events; raise CountMismatchError unless read = written + quarantined + duplicates.

    Runs two Spark jobs: one checks the device table, one counts the input and both outputs. The outputs are
    persisted at ``storage_level``, so writing them afterwards reuses the work of the counting job; ``None`` skips
    that, for a caller that needs only the counts. The input is read twice in the counting job (once counted, once
    curated), so persist ``events`` beforehand if reading it is expensive.
    """
    _check_event_schema(schema)
    check_devices(devices, schema)
    attributes = [name for name in devices.columns if name != DEVICE_ID]

    events = ensure_fields(events, schema)
    validation = validate(events, schema)
    enrichment = enrich_with_devices(validation.valid, devices)
    mapped = map_events(drop_fields(enrichment.enriched, [*schema.field_names, *attributes]), schema)
    deduplicated = deduplicate(mapped, [DEVICE_ID, EVENT_TS])
    quarantined = validation.quarantined.unionByName(enrichment.unknown)
    persisted = (deduplicated.persist(storage_level), quarantined.persist(storage_level)) if storage_level else ()

    counts = _count(events, deduplicated, quarantined)
    if not counts.balanced:
        for frame in persisted:
            frame.unpersist()
        raise CountMismatchError(f"rows not accounted for: {counts.as_dict()}")

    derived = [EVENT_TS, EVENT_DATE, *([TEMPERATURE_F] if TEMPERATURE_F in mapped.columns else [])]
    columns = [*schema.field_names, *derived, *attributes, *PARTITION_COLUMNS]
    curated = deduplicated.select(*(_col(name) for name in columns))
    return CurationResult(curated, quarantined, counts, persisted)
