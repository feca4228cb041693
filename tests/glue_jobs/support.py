"""Paths and small builders shared by the Glue job tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from pyspark.sql import DataFrame, SparkSession

ROOT: Final = Path(__file__).resolve().parents[2]
FIXTURES: Final = Path(__file__).resolve().parent / "fixtures"
SCHEMA_PATH: Final = ROOT / "lambdas" / "firehose_transform" / "sensor_event_schema.json"
DEVICES_PATH: Final = ROOT / "glue_jobs" / "curate_events" / "devices.csv"

# The declared fields as the raw zone types them, for frames built in tests rather than read from JSON.
RAW_COLUMNS: Final = (
    "device_id string",
    "event_time string",
    "temperature_c double",
    "humidity_pct double",
    "battery_v double",
    "status string",
)


def reading(**overrides: Any) -> dict[str, Any]:
    """A valid raw reading of a known device; keyword arguments replace or add fields."""
    values: dict[str, Any] = {
        "device_id": "sensor-0001",
        "event_time": "2026-11-26T08:15:00Z",
        "temperature_c": 21.5,
        "humidity_pct": 45.0,
        "battery_v": 3.7,
        "status": "ok",
    }
    values.update(overrides)
    return values


def frame(spark: SparkSession, rows: Iterable[dict[str, Any]], columns: Sequence[str] = RAW_COLUMNS) -> DataFrame:
    """A DataFrame of ``rows`` with the given column definitions ("name type"); absent keys become nulls."""
    names = [definition.split(" ", 1)[0] for definition in columns]
    return spark.createDataFrame([tuple(row.get(name) for name in names) for row in rows], ", ".join(columns))
