"""`make cdc-local`: DMS-shaped change files for a sample table, the current-state job on local Spark, a summary.

    python -m glue_jobs.cdc_current_state.local --out build/cdc-local

writes ``raw/cdc/public/orders/`` as DMS's S3 target would (a full-load file, then two change files with inserts,
updates, deletes, a change that arrives out of order, a duplicate change and two malformed rows), runs ``job.run``
through ``LocalJobIO`` into ``current/`` and ``quarantine/``, registers ``lake.cdc_public_orders`` in a local
catalog, and writes ``summary.txt`` and ``index.html``. Run it twice: the second run writes the same rows.

This module is not shipped to Glue.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from glue_jobs.cdc_current_state import job, transforms
from glue_jobs.local_spark import local_session

DATABASE: Final = "lake"
SAMPLE_KEYS: Final = '[{"schema": "public", "table": "%", "key": ["id"]}]'
_SCHEMA: Final = pa.schema(
    [
        (transforms.OP, pa.string()),
        (transforms.COMMIT_TS, pa.timestamp("ms")),
        ("id", pa.int64()),
        ("customer", pa.string()),
        ("amount", pa.float64()),
        ("status", pa.string()),
    ]
)
_T0 = dt.datetime(2026, 11, 26, 10, 0, 0)


def _at(seconds: int) -> dt.datetime:
    return _T0 + dt.timedelta(seconds=seconds)


# (file, rows): what DMS writes for public.orders. Row tuples follow _SCHEMA.
SAMPLE_FILES: Final[tuple[tuple[str, tuple[tuple[Any, ...], ...]], ...]] = (
    (
        "LOAD00000001.parquet",  # the full load: five orders, Op = I, the load time as commit time
        tuple(("I", _at(0), n, f"customer-{n}", 10.0 * n, "new") for n in range(1, 6)),
    ),
    (
        "20261126-100100000.parquet",  # changes in commit order
        (
            ("U", _at(60), 1, "customer-1", 15.0, "paid"),
            ("I", _at(61), 6, "customer-6", 60.0, "new"),
            ("D", _at(62), 2, None, None, None),
            ("U", _at(90), 3, "customer-3", 33.0, "shipped"),
            ("D", _at(95), 5, None, None, None),
            ("I", _at(95), 5, "customer-5", 55.0, "re-ordered"),  # same commit as the delete, later row: it wins
        ),
    ),
    (
        "20261126-100200000.parquet",
        (
            ("U", _at(80), 3, "customer-3", 31.0, "paid"),  # committed before the 90 s update: loses to it
            ("U", _at(60), 1, "customer-1", 15.0, "paid"),  # a duplicate of an earlier change
            ("X", _at(100), 4, "customer-4", 44.0, "?"),  # malformed: Op is not I, U or D
            ("U", _at(101), None, "nobody", 0.0, "?"),  # malformed: no primary key
        ),
    ),
)
# What the rules make of the sample: id -> (amount, status); id 2 is deleted.
EXPECTED_CURRENT: Final = {
    1: (15.0, "paid"),
    3: (33.0, "shipped"),
    4: (40.0, "new"),
    5: (55.0, "re-ordered"),
    6: (60.0, "new"),
}


def write_sample_changes(changes_root: Path, schema: str = "public", table: str = "orders") -> Path:
    """Write the sample's DMS files under ``changes_root/<schema>/<table>/``; return that folder."""
    folder = changes_root / schema / table
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in SAMPLE_FILES:
        columns = list(zip(*rows, strict=True))
        pq.write_table(
            pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(columns, _SCHEMA, strict=True)], schema=_SCHEMA),
            folder / name,
        )
    return folder


class LocalJobIO:
    """``JobIO`` on local Spark: Spark's own catalog stands in for the Data Catalog."""

    def __init__(self, spark: SparkSession) -> None:
        self._spark = spark
        self.commits = 0

    @property
    def spark(self) -> SparkSession:
        """The local session."""
        return self._spark

    def commit(self) -> None:
        """Count the commit; there is nothing to commit locally."""
        self.commits += 1


def summary(spark: SparkSession, counts: Sequence[job.TableCounts], arguments: job.JobArguments) -> tuple[str, str]:
    """A text and an HTML summary: the counts, the current rows and the quarantined rows with their reasons."""
    text, sections = [], []
    for table in counts:
        current = spark.read.parquet(job.table_path(arguments.current_path, table.schema, table.table)).orderBy("id")
        quarantined = spark.read.json(job.table_path(arguments.quarantine_path, table.schema, table.table))
        text.append(json.dumps(table.as_dict()))
        text += [f"  current {row.asDict()}" for row in current.collect()]
        reasons = quarantined.select("id", transforms.OP, transforms.QUARANTINE_REASON).collect()
        text += [f"  quarantined {row.asDict()}" for row in reasons]
        sections.append(_html_table(f"{table.schema}.{table.table}: current state", current.collect()))
        sections.append(_html_table("quarantined", reasons))
    page = "<html><head><meta charset='utf-8'><title>cdc-local</title></head><body>" + "".join(sections)
    return "\n".join(text) + "\n", page + "</body></html>\n"


def _html_table(title: str, rows: Sequence[Any]) -> str:
    if not rows:
        return f"<h2>{html.escape(title)}</h2><p>none</p>"
    header = "".join(f"<th>{html.escape(name)}</th>" for name in rows[0].asDict())
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in row.asDict().values()) + "</tr>"
        for row in rows
    )
    return f"<h2>{html.escape(title)}</h2><table border='1'><tr>{header}</tr>{body}</table>"


def main(argv: Sequence[str] | None = None) -> None:
    """Generate the sample, run the job's logic on local Spark, write the summary and print where it is."""
    parser = argparse.ArgumentParser(description="Run the current-state job's logic on local Spark.")
    parser.add_argument("--out", default="build/cdc-local", help="output folder (%(default)s)")
    out = Path(parser.parse_args(argv).out).resolve()
    write_sample_changes(out / "raw" / "cdc")
    arguments = job.JobArguments(
        changes_path=str(out / "raw" / "cdc"),
        current_path=str(out / "current"),
        quarantine_path=str(out / "quarantine"),
        table_keys=job.parse_table_keys(SAMPLE_KEYS),
        database=DATABASE,
    )
    spark = local_session("cdc-current-state-local", warehouse=out / "warehouse")
    try:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        counts = job.run(LocalJobIO(spark), arguments)
        text, page = summary(spark, counts, arguments)
    finally:
        spark.stop()
    (out / "summary.txt").write_text(text, encoding="utf-8")
    (out / "index.html").write_text(page, encoding="utf-8")
    print(text, end="")
    print(f"current state: {out / 'current'}; summary: {out / 'summary.txt'}, {out / 'index.html'}")


if __name__ == "__main__":
    main()
