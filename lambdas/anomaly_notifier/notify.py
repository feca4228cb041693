"""Pure logic of the anomaly notifier: parse the analytics job's anomaly records, word alerts, build status items.

An anomaly record (CONTRACTS.md, issue 11) is one JSON object per line with `kind` = `anomaly`, `device_id`, `site`,
`anomaly_score`, `threshold`, the readings, `event_time` (ISO-8601 UTC) and `known_device`.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"
# Fields of an anomaly record that are not readings.
RECORD_FIELDS = frozenset({"kind", "device_id", "site", "anomaly_score", "threshold", "event_time", "known_device"})
# SNS accepts a subject of at most 100 printable ASCII characters, without line breaks.
SUBJECT_LIMIT = 100


@dataclass(frozen=True)
class Anomaly:
    """One anomaly record, checked."""

    device_id: str
    site: str | None
    anomaly_score: float
    threshold: float
    event_time: str
    known_device: bool
    readings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    """A line that is not a usable anomaly record, with its line number and the reason."""

    line: int
    reason: str


def decode_object(body: bytes) -> list[str]:
    """The non-empty lines of an object Firehose wrote (GZIP-compressed or not)."""
    data = gzip.decompress(body) if body[:2] == GZIP_MAGIC else body
    return [line for line in data.decode("utf-8").splitlines() if line.strip()]


def parse_anomalies(lines: Iterable[str]) -> tuple[list[Anomaly], list[Rejected]]:
    """Every line as an Anomaly, or as Rejected with the reason; nothing is dropped silently."""
    anomalies: list[Anomaly] = []
    rejected: list[Rejected] = []
    for number, line in enumerate(lines, start=1):
        try:
            anomalies.append(parse_anomaly(json.loads(line)))
        except json.JSONDecodeError as error:
            rejected.append(Rejected(number, f"not JSON ({error.msg} at column {error.colno})"))
        except ValueError as error:
            rejected.append(Rejected(number, str(error)))
    return anomalies, rejected


def parse_anomaly(record: object) -> Anomaly:
    """Check one decoded record; a ValueError names the field and what was expected."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    if record.get("kind") != "anomaly":
        raise ValueError(f"kind is {record.get('kind')!r}, expected 'anomaly'")
    device_id = _text(record, "device_id")
    site = record.get("site")
    if site is not None and not isinstance(site, str):
        raise ValueError(f"site must be a string or null, got {site!r}")
    known = record.get("known_device", True)
    if not isinstance(known, bool):
        raise ValueError(f"known_device must be true or false, got {known!r}")
    return Anomaly(
        device_id=device_id,
        site=site,
        anomaly_score=_number(record, "anomaly_score"),
        threshold=_number(record, "threshold"),
        event_time=_text(record, "event_time"),
        known_device=known,
        readings=dict(_readings(record)),
    )


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _number(record: dict[str, Any], name: str) -> float:
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _readings(record: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """The numeric readings: a `readings` object if the record has one, else every other numeric field."""
    nested = record.get("readings")
    source = nested if isinstance(nested, dict) else {k: v for k, v in record.items() if k not in RECORD_FIELDS}
    for name, value in source.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            yield str(name), float(value)


def alerts(anomalies: Iterable[Anomaly], alert_threshold: float) -> list[Anomaly]:
    """The anomalies operators are told about: scored at or above the alert threshold."""
    return [anomaly for anomaly in anomalies if anomaly.anomaly_score >= alert_threshold]


def alert_message(anomaly: Anomaly) -> tuple[str, str]:
    """The subject and body of one alert."""
    where = f" at {anomaly.site}" if anomaly.site else ""
    unknown = " (unknown device)" if not anomaly.known_device else ""
    subject = _subject(f"Anomaly on {anomaly.device_id}{where}: score {anomaly.anomaly_score:.2f}")
    readings = ", ".join(f"{name}={value:g}" for name, value in sorted(anomaly.readings.items())) or "none"
    body = (
        f"Device {anomaly.device_id}{unknown}{where} scored {anomaly.anomaly_score:.3f} "
        f"(anomaly threshold {anomaly.threshold:g}) at {anomaly.event_time}.\n"
        f"Readings: {readings}.\n"
    )
    return subject, body


def _subject(text: str) -> str:
    """What SNS accepts as a subject: printable ASCII (anything else becomes '?'), 100 characters at most."""
    printable = "".join(c if " " <= c <= "~" else "?" for c in text)
    return printable[:SUBJECT_LIMIT]


def status_item(anomaly: Anomaly, *, alerted: bool, updated_at: str) -> dict[str, Any]:
    """The device-status table item for a device's latest anomaly (numbers as Decimal, as DynamoDB wants)."""
    item: dict[str, Any] = {
        "device_id": anomaly.device_id,
        "status": "alerted" if alerted else "anomalous",
        "last_event_time": anomaly.event_time,
        "anomaly_score": _decimal(anomaly.anomaly_score),
        "threshold": _decimal(anomaly.threshold),
        "known_device": anomaly.known_device,
        "readings": {name: _decimal(value) for name, value in anomaly.readings.items()},
        "updated_at": updated_at,
    }
    if anomaly.site is not None:
        item["site"] = anomaly.site
    return item


def latest_per_device(anomalies: Iterable[Anomaly]) -> list[Anomaly]:
    """The latest anomaly of each device (by event time, then score), in device order: one write per device."""
    latest: dict[str, Anomaly] = {}
    for anomaly in anomalies:
        current = latest.get(anomaly.device_id)
        if current is None or (anomaly.event_time, anomaly.anomaly_score) > (current.event_time, current.anomaly_score):
            latest[anomaly.device_id] = anomaly
    return [latest[device] for device in sorted(latest)]


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))
