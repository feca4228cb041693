"""End to end, locally: generated readings, curated by the Glue job's transforms on Spark, analysed, reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from ml_jobs.eda import local

pytestmark = pytest.mark.xdist_group("spark")


def test_make_eda_locally_writes_the_report_metrics_and_model(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given four devices for 50 hours, one reading every 5 minutes (enough for two daily cycles)
    argv = [
        "--devices",
        "4",
        "--days",
        "2.1",
        "--interval",
        "300",
        "--seed",
        "3",
        "--trees",
        "15",
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(tmp_path / "report"),
    ]

    # When the local path runs on the shared SparkSession
    status = local.main(argv, spark=spark)

    # Then the curated zone was written as the Glue job writes it, and the report is where it says
    assert status == 0
    assert list((tmp_path / "work" / "curated").glob("year=2026/month=11/day=*/hour=*/*.parquet"))
    out = capsys.readouterr().out
    assert out.strip() == f"report: {(tmp_path / 'report' / 'index.html').resolve()}"
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert metrics["rows"] == 4 * int(2.1 * 86_400 / 300)
    kinds = {k["name"]: (k["kind"], k["role"]) for k in metrics["kinds"]}
    assert kinds["status"] == ("ordinal", "feature")
    assert kinds["hour"][1] == "partition"
    assert kinds["event_ts"][1] == "time"
    assert {d["metric"] for d in metrics["timeseries"]["decompositions"]} >= {"temperature_c", "humidity_pct"}
    assert metrics["registry"]["model_name"] == "device-error-within-1h"
    assert metrics["model"]["label"]["definition"].startswith("the device reports status 'error' within the next hour")
    pngs = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert {"correlation.png", "roc.png", "importances.png", "stl-temperature-c.png"} <= set(pngs)
    assert all((tmp_path / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in pngs)
    card = json.loads((tmp_path / "report" / "model_card.json").read_text())
    assert card["training_window"]["start"] < card["training_window"]["end"] < card["test_window"]["start"]
