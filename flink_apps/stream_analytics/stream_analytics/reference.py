"""The device inventory (the reference table of the notes' Kinesis Data Analytics): loaded once, joined per reading.

The file is ``glue_jobs/curate_events/devices.csv``, the same one the Glue job joins: ``device_id``, ``site``,
``model``, ``installed_on``, ``rack_row``, ``rack_col``. On the service it is read from S3 (``app.reference.path``);
locally from a file. A reading of a device the inventory does not list is still scored, with
``known_device=false`` and no position (so it takes no part in hotspots).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Final

from stream_analytics.parsing import Reading

REQUIRED_COLUMNS: Final = ("device_id", "site")
UNKNOWN_SITE: Final = "unknown"


class ReferenceError(ValueError):
    """The inventory cannot be used; the message names the row or column."""


@dataclass(frozen=True, slots=True)
class Device:
    """One inventory row."""

    device_id: str
    site: str
    model: str | None
    rack_row: float | None
    rack_col: float | None


@dataclass(frozen=True, slots=True)
class EnrichedReading:
    """A reading with its inventory attributes."""

    reading: Reading
    site: str
    model: str | None
    rack_row: float | None
    rack_col: float | None
    known_device: bool

    @property
    def position(self) -> tuple[float, float] | None:
        """(column, row) in the site's rack grid, when the inventory gives one."""
        if self.rack_col is None or self.rack_row is None:
            return None
        return (self.rack_col, self.rack_row)


def _coordinate(row_number: int, name: str, value: str | None) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise ReferenceError(f"inventory row {row_number}: {name} {value!r} is not a number") from None


def parse_inventory(text: str) -> dict[str, Device]:
    """The inventory CSV (with a header row) by device id; duplicate or missing ids are refused."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in REQUIRED_COLUMNS if name not in (reader.fieldnames or [])]
    if missing:
        raise ReferenceError(f"inventory: missing columns {', '.join(missing)}; found {reader.fieldnames}")
    devices: dict[str, Device] = {}
    for row_number, row in enumerate(reader, start=2):
        device_id = (row.get("device_id") or "").strip()
        if not device_id:
            raise ReferenceError(f"inventory row {row_number}: device_id is empty")
        if device_id in devices:
            raise ReferenceError(f"inventory row {row_number}: device_id {device_id!r} is listed twice")
        devices[device_id] = Device(
            device_id=device_id,
            site=(row.get("site") or UNKNOWN_SITE).strip() or UNKNOWN_SITE,
            model=(row.get("model") or "").strip() or None,
            rack_row=_coordinate(row_number, "rack_row", row.get("rack_row")),
            rack_col=_coordinate(row_number, "rack_col", row.get("rack_col")),
        )
    return devices


def read_inventory(path: str) -> dict[str, Device]:
    """The inventory from a local path or ``s3://bucket/key`` (boto3, shipped in the artifact's dep/)."""
    if path.startswith("s3://"):
        import boto3  # type: ignore[import-untyped, unused-ignore]

        bucket, _, key = path[len("s3://") :].partition("/")
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return parse_inventory(body.decode("utf-8"))
    with open(path, encoding="utf-8") as handle:
        return parse_inventory(handle.read())


def enrich(reading: Reading, devices: dict[str, Device]) -> EnrichedReading:
    """The reading with its device's site, model and rack position; an unknown device is kept and flagged."""
    device = devices.get(reading.device_id)
    if device is None:
        return EnrichedReading(reading, UNKNOWN_SITE, None, None, None, known_device=False)
    return EnrichedReading(reading, device.site, device.model, device.rack_row, device.rack_col, known_device=True)
