"""Pure functions of the current-state job: DMS change rows in, one current row per primary key out.

DMS's S3 target writes every replicated table as Parquet under ``cdc/<schema>/<table>/``: the full load as
``LOAD*.parquet`` files, then the ongoing changes as files named by the time DMS wrote them. Every row carries ``Op``
(``I`` insert, ``U`` update, ``D`` delete; full-load rows ``I``, as the target's ``IncludeOpForFullLoad`` asks) and the
commit timestamp column (``dms_commit_ts``: the source's commit time for a change, the load time for a full-load row).

The rules (docs/cdc.md):

* The latest change of a key wins, by commit timestamp. Ties, in order: a change beats a full-load row (a change
  committed while the table was being loaded is newer than the loaded snapshot); a later change file beats an earlier
  one (DMS names them by write time, so their paths sort in write order); a later row of the same file beats an
  earlier one (DMS writes changes in commit order). The order is total, so a rerun over the same files picks the same
  winners: the job is idempotent.
* A key whose winning change is a delete has no current row.
* A row the rules cannot place goes to the quarantine with its reason, never silently dropped: an ``Op`` that is not
  I, U or D, no commit timestamp, a null primary-key column, or a table lacking one of the columns the rules need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as sf

OP: Final = "Op"
COMMIT_TS: Final = "dms_commit_ts"
OPS: Final = ("I", "U", "D")
# Lineage columns the reader adds (job.read_changes): the file a row came from and its position in that file.
SOURCE_FILE: Final = "_cdc_file"
ROW_INDEX: Final = "_cdc_row"
QUARANTINE_REASON: Final = "quarantine_reason"
# DMS names the full-load files of a table LOAD00000001.parquet, LOAD00000002.parquet, ...
FULL_LOAD_PREFIX: Final = "LOAD"
_IS_CHANGE: Final = "_cdc_is_change"
_RANK: Final = "_cdc_rank"


@dataclass(frozen=True)
class CurrentState:
    """One table's current rows (no DMS columns but the last commit time) and its quarantined rows with reasons."""

    current: DataFrame
    quarantined: DataFrame


def _reason(key: Sequence[str]) -> Column:
    """Why a row cannot be placed (null when it can): the first rule it breaks."""
    op = sf.col(OP)
    unknown_op = sf.concat(sf.lit("Op is "), sf.coalesce(op, sf.lit("null")), sf.lit(", not I, U or D"))
    reason = sf.when(op.isNull() | ~op.isin(*OPS), unknown_op)
    reason = reason.when(sf.col(COMMIT_TS).isNull(), sf.lit(f"{COMMIT_TS} is null"))
    for column in key:
        reason = reason.when(sf.col(column).isNull(), sf.lit(f"primary key column {column} is null"))
    return reason


def missing_columns(changes: DataFrame, key: Sequence[str]) -> list[str]:
    """The columns the rules need (Op, the commit timestamp, the key) that the table's files lack."""
    return [column for column in (OP, COMMIT_TS, *key) if column not in changes.columns]


def current_state(changes: DataFrame, key: Sequence[str]) -> CurrentState:
    """The current row of every key of one table, and the rows the rules cannot place (see the module's rules)."""
    missing = missing_columns(changes, key)
    if missing:
        reason = f"the table has no column {', '.join(missing)} (needed: {OP}, {COMMIT_TS} and the primary key)"
        quarantined = changes.withColumn(QUARANTINE_REASON, sf.lit(reason))
        return CurrentState(changes.limit(0).drop(SOURCE_FILE, ROW_INDEX), quarantined)
    checked = changes.withColumn(QUARANTINE_REASON, _reason(key))
    valid = checked.filter(sf.col(QUARANTINE_REASON).isNull()).drop(QUARANTINE_REASON)
    quarantined = checked.filter(sf.col(QUARANTINE_REASON).isNotNull())
    file_name = sf.element_at(sf.split(sf.col(SOURCE_FILE), "/"), -1)
    latest_first = Window.partitionBy(*(sf.col(column) for column in key)).orderBy(
        sf.col(COMMIT_TS).desc(), sf.col(_IS_CHANGE).desc(), sf.col(SOURCE_FILE).desc(), sf.col(ROW_INDEX).desc()
    )
    winners = (
        valid.withColumn(_IS_CHANGE, ~file_name.startswith(FULL_LOAD_PREFIX))
        .withColumn(_RANK, sf.row_number().over(latest_first))
        .filter((sf.col(_RANK) == 1) & (sf.col(OP) != "D"))
    )
    current = winners.drop(OP, SOURCE_FILE, ROW_INDEX, _IS_CHANGE, _RANK)
    return CurrentState(current, quarantined)


def table_name(schema: str, table: str) -> str:
    """The catalog name of one table's current state: ``cdc_<schema>_<table>`` in lower case."""
    return f"cdc_{schema}_{table}".lower()
