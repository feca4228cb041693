"""The local SparkSession of the jobs' local runs, the local analysis and the benchmarks: UTC as on Glue, quiet.

Not part of any job's code on Glue (each job ships only its own folder's modules); the tests build their own session,
tuned for frames of a few rows (tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession


def local_session(
    app_name: str,
    *,
    master: str = "local[2]",
    shuffle_partitions: int = 2,
    driver_memory: str | None = None,
    warehouse: Path | None = None,
) -> SparkSession:
    """A small local session in UTC, without the web UI or progress bars, logging errors only.

    `warehouse`: where Spark's own catalog keeps its tables (it stands in for the Data Catalog); None is Spark's
    default, a folder in the working directory.
    """
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if driver_memory is not None:
        builder = builder.config("spark.driver.memory", driver_memory)
    if warehouse is not None:
        builder = builder.config("spark.sql.warehouse.dir", str(warehouse))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
