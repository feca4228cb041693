"""Reading the table to analyse: a CSV or Parquet file, a folder of them (the curated zone's layout), or Athena."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pandas as pd

from ml_jobs.eda.errors import InputError
from ml_jobs.eda.kinds import looks_like_time

CSV_SUFFIXES: Final = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES: Final = (".parquet", ".parq", ".pq")
# A folder copied from a Spark or Firehose output holds part files without a suffix as well as markers.
_HIDDEN: Final = ("_", ".")
_GLUE_NAME: Final = re.compile(r"[A-Za-z0-9_]{1,255}")


def _kind_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES) or (name.startswith("part-") and ".parquet" in name):
        return "parquet"
    return None


def read_table(path: Path) -> pd.DataFrame:
    """The table at ``path``: one CSV or Parquet file, or a folder (searched recursively) of one of the two."""
    if not path.exists():
        raise InputError(f"--input: {str(path)!r} does not exist; give a CSV or Parquet file or a folder of them")
    if path.is_file():
        kind = _kind_of(path)
        if kind is None:
            raise InputError(
                f"--input: {str(path)!r} is neither CSV ({', '.join(CSV_SUFFIXES)}) nor Parquet "
                f"({', '.join(PARQUET_SUFFIXES)})"
            )
        frame = _read_csv(path) if kind == "csv" else pd.read_parquet(path)
    else:
        files = [
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(_HIDDEN) for part in p.relative_to(path).parts)
        ]
        kinds = {_kind_of(p) for p in files} - {None}
        if not kinds:
            raise InputError(f"--input: folder {str(path)!r} holds no CSV or Parquet files")
        if len(kinds) > 1:
            raise InputError(f"--input: folder {str(path)!r} mixes CSV and Parquet files; give one kind")
        if kinds == {"parquet"}:
            # pyarrow's dataset reader: hive partitions (year=/month=/...) become columns, markers are skipped.
            frame = pd.read_parquet(path)
            frame.attrs["partitions"] = sorted(
                {part.split("=", 1)[0] for p in files for part in p.relative_to(path).parts[:-1] if "=" in part}
            )
        else:
            frame = pd.concat([_read_csv(p) for p in sorted(files) if _kind_of(p) == "csv"], ignore_index=True)
    if frame.empty or not len(frame.columns):
        raise InputError(f"--input: {str(path)!r} holds no rows")
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t" if path.name.lower().endswith(".tsv") else ",", low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"--input: {str(path)!r} is not a readable CSV file: {first}") from None


def read_athena(table: str, workgroup: str, *, max_rows: int) -> pd.DataFrame:
    """Up to ``max_rows`` rows of ``DB.TABLE`` through Athena (awswrangler), newest first when it has event_ts."""
    import awswrangler as wr

    database, separator, name = table.partition(".")
    if not separator or not _GLUE_NAME.fullmatch(database) or not _GLUE_NAME.fullmatch(name):
        raise InputError(f"--athena-table: {table!r} is not DB.TABLE (letters, digits and '_' each)")
    columns = {str(c).lower() for c in wr.catalog.get_table_types(database=database, table=name) or {}}
    order = ' ORDER BY "event_ts" DESC' if "event_ts" in columns else ""
    # The names are checked above against Glue's naming rule, and max_rows is an int: nothing else enters the text.
    sql = f'SELECT * FROM "{database}"."{name}"{order} LIMIT {int(max_rows)}'  # noqa: S608
    return wr.athena.read_sql_query(sql, database=database, workgroup=workgroup, ctas_approach=False)


def choose_time(frame: pd.DataFrame, wanted: str | None) -> str | None:
    """The time column: ``--time`` if given, else the first datetime column, else the first ISO-8601 text column."""
    if wanted is not None:
        if wanted not in frame.columns:
            raise InputError(
                f"--time: no column {wanted!r} in the input (columns: {', '.join(map(repr, frame.columns))})"
            )
        return wanted
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            return str(name)
    for name in frame.columns:
        if frame[name].dtype == object and looks_like_time(frame[name]):
            return str(name)
    return None


def parse_time(frame: pd.DataFrame, time: str) -> pd.DataFrame:
    """The frame with its time column as UTC timestamps (ns) and rows sorted by it; unparseable times are an error."""
    raw = frame[time]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_localize("UTC") if raw.dt.tz is None else raw.dt.tz_convert("UTC")
    else:
        parsed = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna() & raw.notna()
    if bad.any():
        example = raw[bad].iloc[0]
        raise InputError(
            f"--time: column {time!r} has {int(bad.sum())} values that are not ISO-8601 times, e.g. "
            f"{str(example)!r}; pick another column with --time"
        )
    parsed = parsed.astype("datetime64[ns, UTC]")
    return frame.assign(**{time: parsed}).dropna(subset=[time]).sort_values(time, kind="stable").reset_index(drop=True)
