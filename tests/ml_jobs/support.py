"""Small data sets for the analysis tests, made with the producer's generator."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pandas as pd

from tools.producer import generate_readings

END = datetime(2026, 11, 23, tzinfo=UTC)


def readings(devices: int = 3, hours: float = 6.0, interval: float = 120.0, seed: int = 1) -> pd.DataFrame:
    """Readings as the curated zone types them (event_ts a UTC timestamp), sorted by time."""
    count = int(hours * 3600 / interval) * devices
    rows = [
        {
            "device_id": r.device_id,
            "event_ts": r.event_time,
            "temperature_c": r.temperature_c,
            "humidity_pct": r.humidity_pct,
            "battery_v": r.battery_v,
            "status": r.status,
            "site": "plant-north" if r.device_id.endswith(("1", "3")) else "lab-1",
        }
        for r in generate_readings(count, devices, random.Random(seed), end=END, interval_seconds=interval)
    ]
    frame = pd.DataFrame(rows)
    frame["event_ts"] = pd.to_datetime(frame["event_ts"], utc=True).astype("datetime64[ns, UTC]")
    return frame.sort_values("event_ts", kind="stable").reset_index(drop=True)
