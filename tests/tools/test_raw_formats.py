"""`make raw-formats`: the readings it lands are what the transform returns, in the layout Firehose writes."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from tools.raw_formats import HOUR, deliver_json, row_order, transformed_readings


def test_readings_are_normalised_by_the_transform_with_their_extra_field() -> None:
    # Given the producer's readings, when the transform's parser normalises them
    readings = transformed_readings(50, 5, seed=1)
    # Then each has the schema's fields first, the time in the transform's UTC form, and the extra field kept
    assert len(readings) == 50
    assert list(readings[0])[:6] == ["device_id", "event_time", "temperature_c", "humidity_pct", "battery_v", "status"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", r["event_time"]) for r in readings)
    assert {r["firmware"] for r in readings} == {"2.4.1"}
    assert len({r["device_id"] for r in readings}) == 5


def test_json_lands_as_one_gzip_object_under_the_hour_prefix(tmp_path: Path) -> None:
    readings = transformed_readings(20, 2, seed=2)
    target = deliver_json(readings, tmp_path)
    assert target.parent == tmp_path / HOUR
    assert target.name.endswith(".gz")
    lines = gzip.decompress(target.read_bytes()).splitlines()
    assert [json.loads(line) for line in lines] == readings


def test_curated_rows_with_nulls_sort_the_same_whatever_order_they_come_in() -> None:
    # Given curated rows where an optional field is null in some (Python cannot compare None with a float)
    rows = [("d1", None, "ok"), ("d1", 21.5, "ok"), ("d0", 3.0, None), ("d1", 20.0, "ok")]
    # When they are ordered from two different arrival orders
    ordered = sorted(rows, key=row_order)
    # Then the order is the same, so two runs' rows compare equal exactly when they hold the same rows
    shuffled = [rows[2], rows[0], rows[3], rows[1]]
    assert sorted(shuffled, key=row_order) == ordered
    assert ordered[0] == ("d0", 3.0, None)
    assert ordered[1] == ("d1", None, "ok")
