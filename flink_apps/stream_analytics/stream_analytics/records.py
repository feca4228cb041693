"""Output records: one JSON object per record, ``kind`` in {device_metrics, site_metrics, anomaly, hotspot, error}
and ``event_time`` in ISO-8601 UTC (the window end for metrics). The analytics Firehose partitions S3 keys by ``kind``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from stream_analytics.hotspots import Hotspot
from stream_analytics.parsing import ParseError, iso_time
from stream_analytics.reference import EnrichedReading

KINDS: Final = ("device_metrics", "site_metrics", "anomaly", "hotspot", "error")
HOTSPOT_COLUMNS: Final = ("rack_col", "rack_row", "temperature_c")


def to_json(record: Mapping[str, Any]) -> str:
    """Compact JSON text of one output record."""
    return json.dumps(record, separators=(",", ":"), allow_nan=False)


def anomaly_record(
    enriched: EnrichedReading, score: float, threshold: float, *, detector: str, shingle_size: int
) -> dict[str, Any]:
    """A reading whose score reached the threshold."""
    reading = enriched.reading
    return {
        "kind": "anomaly",
        "event_time": iso_time(reading.event_time_ms),
        "device_id": reading.device_id,
        "site": enriched.site,
        "known_device": enriched.known_device,
        "anomaly_score": round(score, 6),
        "threshold": threshold,
        "temperature_c": reading.temperature_c,
        "humidity_pct": reading.humidity_pct,
        "battery_v": reading.battery_v,
        "status": reading.status,
        "detector": detector,
        "shingle_size": shingle_size,
    }


def hotspot_record(
    site: str, event_time_ms: int, hotspots: Sequence[Hotspot], *, window_size: int, density_threshold: float
) -> dict[str, Any]:
    """KDA's HOTSPOTS_RESULT for one site at one reading, with the hotspots at or above the density threshold."""
    return {
        "kind": "hotspot",
        "event_time": iso_time(event_time_ms),
        "site": site,
        "columns": list(HOTSPOT_COLUMNS),
        "window_size": window_size,
        "density_threshold": density_threshold,
        "hotspots": [spot.as_dict() for spot in hotspots],
    }


def error_record(error: ParseError, detected_ms: int) -> dict[str, Any]:
    """A record that could not be parsed, with the reason; ``event_time`` is when the job met it."""
    return {"kind": "error", "event_time": iso_time(detected_ms), "reason": error.reason, "record": error.record}


def metrics_record(kind: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A metrics row (window bounds already ISO-8601 text) as an output record; ``event_time`` is the window end."""
    record: dict[str, Any] = {"kind": kind, "event_time": row["window_end"], "window_start": row["window_start"]}
    for key, value in row.items():
        if key not in ("window_start", "window_end"):
            record[key] = round(value, 4) if isinstance(value, float) else value
    return record
