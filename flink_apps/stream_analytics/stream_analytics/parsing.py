"""Readings from the ingest stream's records: JSON objects or CSV lines, checked against the lake's event schema.

The rules mirror ``lambdas/firehose_transform/sensor_event_schema.json`` (a test keeps the two equal); the job ships
without the Lambda's folder, so they are written here once. A record that breaks a rule becomes a ``ParseError``
with the reason, which the job sends to the error output: nothing is dropped and nothing fails the job.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

CSV_COLUMNS: Final = ("device_id", "event_time", "temperature_c", "humidity_pct", "battery_v", "status")
NUMERIC_RANGES: Final = {"temperature_c": (-60.0, 150.0), "humidity_pct": (0.0, 100.0), "battery_v": (0.0, 10.0)}
STATUSES: Final = ("ok", "warning", "error")
DEVICE_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_ISO_UTC: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True, slots=True)
class Reading:
    """One valid reading; ``event_time_ms`` is milliseconds since the epoch (UTC)."""

    device_id: str
    event_time_ms: int
    temperature_c: float | None
    humidity_pct: float | None
    battery_v: float | None
    status: str

    def values(self) -> tuple[float | None, float | None, float | None]:
        """The numeric readings in schema order."""
        return (self.temperature_c, self.humidity_pct, self.battery_v)


@dataclass(frozen=True, slots=True)
class ParseError:
    """A record the job cannot use, its text (or a safe rendering of its bytes) and why."""

    record: str
    reason: str


def iso_time(epoch_ms: int) -> str:
    """Milliseconds since the epoch as ISO-8601 UTC with a Z suffix (the lake's event-time form)."""
    moment = datetime.fromtimestamp(epoch_ms / 1000.0, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_event_time(value: object) -> int:
    """An ISO-8601 instant with Z or an offset, or epoch seconds/milliseconds, as epoch milliseconds."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        # Epoch seconds and milliseconds are told apart by magnitude, as the transformation Lambda does.
        return int(value if abs(value) >= 1e11 else value * 1000)
    if not isinstance(value, str) or not _ISO_UTC.match(value):
        raise ValueError("not ISO-8601 with Z or an offset")
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, tail = text.split(".", 1)
        digits, zone = tail[:-6], tail[-6:]
        text = f"{head}.{digits[:6]:0<6}{zone}"
    return round(datetime.fromisoformat(text).timestamp() * 1000)


def _number(name: str, value: object) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"invalid_type:{name}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"invalid_type:{name}") from None
    if not math.isfinite(number):
        raise ValueError(f"not_finite:{name}")
    low, high = NUMERIC_RANGES[name]
    if not low <= number <= high:
        raise ValueError(f"out_of_range:{name}")
    return number


def _fields(text: str) -> dict[str, object]:
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise ValueError(f"malformed_record:invalid JSON ({error.msg})") from None
        if not isinstance(document, dict):
            raise ValueError("malformed_record:not a JSON object")
        return document
    cells = stripped.split(",")
    if len(cells) != len(CSV_COLUMNS):
        raise ValueError(f"malformed_record:{len(cells)} CSV columns, expected {len(CSV_COLUMNS)}")
    return dict(zip(CSV_COLUMNS, cells, strict=True))


def parse_record(data: bytes | bytearray | str) -> Reading | ParseError:
    """A reading, or the reason the record is not one (the stream's records arrive as bytes, local lines as text)."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            return ParseError(bytes(data).decode("utf-8", errors="replace"), "malformed_record:invalid UTF-8")
    else:
        text = data
    try:
        fields = _fields(text)
        device_id = fields.get("device_id")
        if device_id is None or device_id == "":
            raise ValueError("missing:device_id")
        if not isinstance(device_id, str) or not DEVICE_ID_PATTERN.match(device_id):
            raise ValueError("pattern_mismatch:device_id")
        if fields.get("event_time") in (None, ""):
            raise ValueError("missing:event_time")
        try:
            event_time_ms = parse_event_time(fields["event_time"])
        except ValueError:
            raise ValueError("invalid_timestamp:event_time") from None
        status = fields.get("status")
        if status in (None, ""):
            raise ValueError("missing:status")
        if status not in STATUSES:
            raise ValueError("not_allowed:status")
        return Reading(
            device_id=device_id,
            event_time_ms=event_time_ms,
            temperature_c=_number("temperature_c", fields.get("temperature_c")),
            humidity_pct=_number("humidity_pct", fields.get("humidity_pct")),
            battery_v=_number("battery_v", fields.get("battery_v")),
            status=str(status),
        )
    except ValueError as error:
        return ParseError(text, str(error))
