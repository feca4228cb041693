"""The Glue script: loads without the Glue runtime and as Glue ships it; its readers and writers on local files."""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from pyspark.sql import Row, SparkSession

from glue_jobs.curate_events import job
from glue_jobs.curate_events.transforms import PARTITION_COLUMNS, CurationResult
from tests.glue_jobs.support import DEVICES_PATH, ROOT, SCHEMA_PATH

pytestmark = pytest.mark.xdist_group("spark")

PACKAGE = ROOT / "glue_jobs" / "curate_events"


def test_the_script_imports_without_the_glue_runtime_and_needs_it_only_to_run() -> None:
    if importlib.util.find_spec("awsglue") is not None:
        pytest.skip("awsglue is installed here, so its absence cannot be tested")

    assert job.JOB_ARGUMENTS == (
        "JOB_NAME",
        "raw_path",
        "curated_path",
        "quarantine_path",
        "devices_path",
        "event_schema",
        "raw_format",
    )
    with pytest.raises(ModuleNotFoundError, match="awsglue"):
        job.main(["job.py"])


def test_the_script_finds_its_modules_on_the_path_as_glue_provides_them(tmp_path: Path) -> None:
    # On Glue the script runs alone and --extra-py-files puts the modules on sys.path; a zip of them (what CDK
    # makes of a directory asset) behaves like the files themselves and keeps their names.
    modules = tmp_path / "curate_events_modules.zip"
    with zipfile.ZipFile(modules, "w") as archive:
        for name in ("transforms.py", "schema.py"):
            archive.write(PACKAGE / name, arcname=name)
    script_dir = tmp_path / "script"
    script_dir.mkdir()
    shutil.copy(PACKAGE / "job.py", script_dir / "job.py")
    probe = (
        "import runpy; names = runpy.run_path('job.py', run_name='glue_script'); "
        "print(names['transforms'].__file__, names['event_schema'].__file__)"
    )

    completed = subprocess.run(  # noqa: S603 - the interpreter running these tests, with a fixed script
        [sys.executable, "-c", probe],
        cwd=script_dir,
        env={**os.environ, "PYTHONPATH": str(modules)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == [str(modules / "transforms.py"), str(modules / "schema.py")]


def test_the_schema_argument_is_the_document_or_a_file_to_read(spark: SparkSession) -> None:
    document = SCHEMA_PATH.read_text(encoding="utf-8")

    assert job.read_schema_source(spark, document) is document
    assert json.loads(job.read_schema_source(spark, str(SCHEMA_PATH))) == json.loads(document)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "device_id,location,model,installed_on,rack_row,rack_col\nsensor-0001,a,b,2025-01-01,0,0\n",
            "does not conform to the schema",
        ),
        (
            "device_id,site,model,installed_on,rack_row,rack_col\nsensor-0001,a,b,last spring,0,0\n",
            "Malformed records are detected",
        ),
        (
            "device_id,site,model,installed_on,rack_row,rack_col\nsensor-0001,a,b,2025-01-01,left,0\n",
            "Malformed records",
        ),
    ],
)
def test_a_device_table_that_does_not_match_its_header_or_types_fails(
    spark: SparkSession, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "devices.csv"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(Exception, match=message):
        job.read_devices(spark, str(path)).collect()


def test_the_shipped_device_table_parses_under_the_strict_reader(spark: SparkSession) -> None:
    rows = job.read_devices(spark, str(DEVICES_PATH)).collect()

    assert [row["device_id"] for row in rows] == [f"sensor-{number:04d}" for number in range(1, 21)]
    assert all(row["site"] and row["model"] and isinstance(row["installed_on"], dt.date) for row in rows)


def test_writing_curated_rows_replaces_their_hours_only_as_snappy_parquet_one_file_per_hour(
    spark: SparkSession, fixture_curation: CurationResult, tmp_path: Path
) -> None:
    target = tmp_path / "curated"
    job.write_curated(fixture_curation.curated, str(target))
    before = _files(target)
    late_hour = fixture_curation.curated.filter("hour = '23'")

    job.write_curated(late_hour, str(target))

    after = _files(target)
    assert all(path.name.endswith(".snappy.parquet") for path in after)
    assert Counter(path.parent.as_posix() for path in after) == {
        "year=2026/month=11/day=26/hour=08": 1,
        "year=2026/month=11/day=26/hour=09": 1,
        "year=2026/month=11/day=26/hour=10": 1,
        "year=2026/month=11/day=26/hour=23": 1,
        "year=2026/month=11/day=27/hour=00": 1,
    }
    # The hour written again got a new file; every other hour kept the file it had.
    assert {path for path in after if "hour=23" not in str(path)} == {
        path for path in before if "hour=23" not in str(path)
    }
    assert [path for path in after if "hour=23" in str(path)] != [path for path in before if "hour=23" in str(path)]
    written = spark.read.parquet(str(target)).drop(*PARTITION_COLUMNS)
    expected = fixture_curation.curated.drop(*PARTITION_COLUMNS).collect()
    assert sorted(map(repr, written.collect())) == sorted(map(repr, expected))


def _files(root: Path) -> set[Path]:
    return {path.relative_to(root) for path in root.rglob("*.parquet")}


def test_quarantined_rows_are_written_as_gzip_json_lines_by_run_date(
    fixture_curation: CurationResult, quarantined_rows: list[Row], tmp_path: Path
) -> None:
    target = tmp_path / "quarantine"

    job.write_quarantine(fixture_curation.quarantined, str(target), dt.date(2026, 11, 27))

    files = list(target.rglob("*.json.gz"))
    assert [path.parent.name for path in files] == ["quarantine_date=2026-11-27"]
    records = [json.loads(line) for line in gzip.decompress(files[0].read_bytes()).splitlines()]
    assert sorted(record["quarantine_reason"] for record in records) == sorted(
        row["quarantine_reason"] for row in quarantined_rows
    )
    # The rows are kept as they were read, extra fields included, so that they can be inspected and replayed.
    unknown = next(record for record in records if record["quarantine_reason"] == "unknown_device")
    assert (unknown["device_id"], unknown["firmware"], unknown["case"]) == ("sensor-0099", "0.9.0", "unknown_device")
