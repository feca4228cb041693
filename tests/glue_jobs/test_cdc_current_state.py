"""The current-state job: DMS change rows (full load, inserts, updates, deletes) become one row per primary key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from glue_jobs.cdc_current_state import job, local, transforms

LINEAGE = f"{transforms.SOURCE_FILE} string, {transforms.ROW_INDEX} long"
T = dt.datetime(2026, 11, 26, 10, 0, 0)


def _arguments(root: Path) -> job.JobArguments:
    return job.JobArguments(
        changes_path=str(root / "raw" / "cdc"),
        current_path=str(root / "current"),
        quarantine_path=str(root / "quarantine"),
        table_keys=job.parse_table_keys(local.SAMPLE_KEYS),
        database=local.DATABASE,
    )


@pytest.fixture(scope="module")
def sample_run(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[job.TableCounts]]:
    """The sample DMS files of `make cdc-local`, run through the job once."""
    root = tmp_path_factory.mktemp("cdc")
    local.write_sample_changes(root / "raw" / "cdc")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {local.DATABASE}")
    return root, job.run(local.LocalJobIO(spark), _arguments(root))


def _current(spark: SparkSession, root: Path) -> list[tuple[object, ...]]:
    frame = spark.read.parquet(str(root / "current" / "public" / "orders"))
    return sorted(tuple(row) for row in frame.select("id", "amount", "status", transforms.COMMIT_TS).collect())


def test_the_latest_change_of_each_key_wins_and_deletes_remove_the_row(
    spark: SparkSession, sample_run: tuple[Path, list[job.TableCounts]]
) -> None:
    # Given the sample: a full load of 5 orders, then changes (one out of order, one duplicate, two malformed)
    root, counts = sample_run
    # Then each key's latest change is its current row: order 2 (deleted) is gone, the late-arriving older update of
    # order 3 lost to the newer one, order 5's re-insert in the same commit as its delete won by its place in the file
    current = _current(spark, root)
    assert [(row[0], row[1], row[2]) for row in current] == [
        (key, *value) for key, value in sorted(local.EXPECTED_CURRENT.items())
    ]
    # And the DMS columns are gone but the commit time of the winning change
    assert {transforms.OP, transforms.SOURCE_FILE} & set(
        spark.read.parquet(str(root / "current/public/orders")).columns
    ) == set()
    assert [c.as_dict() for c in counts] == [
        {"schema": "public", "table": "orders", "changes": 15, "current": 5, "quarantined": 2}
    ]
    # And the catalog knows the table
    assert spark.table(f"{local.DATABASE}.cdc_public_orders").count() == 5


def test_rows_the_rules_cannot_place_are_quarantined_with_their_reason(
    spark: SparkSession, sample_run: tuple[Path, list[job.TableCounts]]
) -> None:
    root, _ = sample_run
    quarantined = spark.read.json(str(root / "quarantine" / "public" / "orders"))
    reasons = sorted((row["id"] or 0, row[transforms.QUARANTINE_REASON]) for row in quarantined.collect())
    assert reasons == [(0, "primary key column id is null"), (4, "Op is X, not I, U or D")]


def test_a_rerun_over_the_same_files_writes_the_same_output(
    spark: SparkSession, sample_run: tuple[Path, list[job.TableCounts]]
) -> None:
    # Given the output of a first run
    root, first_counts = sample_run
    before = _current(spark, root)
    # When the job runs again over the same change files
    io = local.LocalJobIO(spark)
    again = job.run(io, _arguments(root))
    # Then the current state and the counts are the same, and the run committed
    assert _current(spark, root) == before
    assert again == first_counts
    assert io.commits == 1


def test_at_the_same_commit_time_a_change_beats_the_full_load_row(spark: SparkSession) -> None:
    # Given a full-load row and an update of the same key with the same commit time (the change's file name sorts
    # before LOAD..., so only the rule, not the name, can pick it)
    changes = spark.createDataFrame(
        [
            ("I", T, 1, "loaded", "s3://raw/cdc/public/t/LOAD00000001.parquet", 0),
            ("U", T, 1, "changed", "s3://raw/cdc/public/t/20261126-100000000.parquet", 0),
            ("U", None, 2, "no time", "s3://raw/cdc/public/t/20261126-100000000.parquet", 1),
        ],
        f"Op string, dms_commit_ts timestamp, id int, v string, {LINEAGE}",
    )
    # When the rules run
    state = transforms.current_state(changes, ["id"])
    # Then the change wins, and the row with no commit time is quarantined
    assert [tuple(row) for row in state.current.collect()] == [(T, 1, "changed")]
    assert [row[transforms.QUARANTINE_REASON] for row in state.quarantined.collect()] == ["dms_commit_ts is null"]


def test_a_table_without_the_columns_the_rules_need_is_quarantined_whole(spark: SparkSession) -> None:
    changes = spark.createDataFrame([(1, "a", "f.parquet", 0)], f"id int, v string, {LINEAGE}")
    state = transforms.current_state(changes, ["id"])
    assert state.current.columns == ["id", "v"]
    assert [row[transforms.QUARANTINE_REASON] for row in state.quarantined.collect()] == [
        "the table has no column Op, dms_commit_ts (needed: Op, dms_commit_ts and the primary key)"
    ]


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("not json", "expected a JSON list"),
        ('[{"schema": "public", "table": "%"}]', "expected a JSON list"),
        ('[{"schema": "public", "table": "%", "key": []}]', "each with at least one key column"),
    ],
)
def test_a_malformed_table_keys_argument_is_one_line(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint) as raised:
        job.parse_table_keys(text)
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith("--table_keys = ")


def test_dms_wildcards_select_tables_case_insensitively() -> None:
    rule = job.TableKey("public", "order%", ("id",))
    assert rule.matches("public", "orders")
    assert rule.matches("PUBLIC", "order_lines")
    assert not rule.matches("sales", "orders")
    assert not rule.matches("public", "customers")
