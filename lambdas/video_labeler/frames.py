"""Pure logic of the video labeler: the window a run reads, the records it writes, the frames it notifies about.

A run's window comes from the time EventBridge scheduled it, never from stored state: a retried or repeated run
reads the same window and overwrites the same objects, so nothing is labeled twice or skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# GetImages refuses a range longer than 300 seconds.
MAX_RANGE = timedelta(seconds=300)
# What GetImages puts in place of a frame it has none for (no media: not an error) or cannot decode (an error).
NO_MEDIA, MEDIA_ERROR = "NO_MEDIA", "MEDIA_ERROR"


@dataclass(frozen=True)
class Window:
    """The half-open range [start, end) of stream time one run labels."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Frame:
    """One image GetImages returned: its timestamp and either JPEG/PNG bytes or GetImages' error."""

    timestamp: datetime
    content: bytes | None
    error: str | None = None


def parse_time(text: str) -> datetime:
    """An EventBridge `time` (ISO-8601, `Z` suffix) as an aware UTC datetime."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone; EventBridge sends UTC with a 'Z'")
    return parsed.astimezone(UTC)


def window_for(scheduled: datetime, *, minutes: int, lag_seconds: int) -> Window:
    """The window of the run scheduled at `scheduled`: `minutes` long, ending `lag_seconds` before the schedule's tick.

    The tick is `scheduled` rounded down to a multiple of `minutes` since midnight, so an invocation a few seconds
    late, or a retry an hour later, reads exactly the window its schedule meant.
    """
    midnight = scheduled.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = int((scheduled - midnight).total_seconds())
    tick = midnight + timedelta(seconds=elapsed - elapsed % (minutes * 60))
    end = tick - timedelta(seconds=lag_seconds)
    return Window(start=end - timedelta(minutes=minutes), end=end)


def ranges(window: Window, longest: timedelta = MAX_RANGE) -> Iterator[Window]:
    """The window cut into consecutive ranges of at most `longest` (GetImages takes 300 s at most)."""
    start = window.start
    while start < window.end:
        end = min(start + longest, window.end)
        yield Window(start, end)
        start = end


def object_key(prefix: str, kind: str, stream: str, window: Window) -> str:
    """Where a run writes its `labels` or `errors`: one object per window, Hive-style date folder for the catalog."""
    start, end = window.start, window.end
    return f"{prefix}{kind}/stream={stream}/dt={start:%Y-%m-%d}/{start:%H%M%S}-{end:%H%M%S}.json"


def iso(moment: datetime) -> str:
    """A timestamp as ISO-8601 UTC with milliseconds and a `Z`, as the records carry it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def label_record(
    stream: str, frame: Frame, response: dict[str, Any], *, clock: str, watch: Iterable[str], watch_confidence: float
) -> dict[str, Any]:
    """One line of the labels object: the frame's time, its labels with confidences, the model version, hits."""
    labels = [
        {
            "name": label["Name"],
            "confidence": round(float(label["Confidence"]), 3),
            "parents": [parent["Name"] for parent in label.get("Parents", [])],
        }
        for label in response.get("Labels", [])
    ]
    return {
        "stream": stream,
        "timestamp": iso(frame.timestamp),
        "clock": clock,
        "labels": labels,
        "label_model_version": response.get("LabelModelVersion"),
        "watched": watched(labels, watch, watch_confidence),
    }


def watched(labels: list[dict[str, Any]], watch: Iterable[str], confidence: float) -> list[str]:
    """The watch list's names a frame shows with at least `confidence` (case-insensitive, in the list's order)."""
    seen = {label["name"].lower(): label["confidence"] for label in labels}
    return [name for name in watch if seen.get(name.lower(), -1.0) >= confidence]


def error_record(stream: str, frame: Frame, *, clock: str, reason: str) -> dict[str, Any]:
    """One line of the errors object: the frame that could not be labeled and why (its image is still in the stream)."""
    return {"stream": stream, "timestamp": iso(frame.timestamp), "clock": clock, "reason": reason}


def json_lines(records: Iterable[dict[str, Any]]) -> bytes:
    """Records as JSON lines (what Athena and the crawler read)."""
    return "".join(json.dumps(record, sort_keys=True) + "\n" for record in records).encode("utf-8")


def alert_detail(record: dict[str, Any], *, bucket: str, key: str) -> dict[str, Any]:
    """What the notifier receives for a frame that shows a watched label: enough to find the frame and its labels."""
    watched_names = {name.lower() for name in record["watched"]}
    return {
        "stream": record["stream"],
        "timestamp": record["timestamp"],
        "watched": record["watched"],
        "labels": [label for label in record["labels"] if label["name"].lower() in watched_names],
        "object": f"s3://{bucket}/{key}",
    }


def alert_message(detail: dict[str, Any]) -> tuple[str, str]:
    """The subject (SNS: at most 100 characters) and body of one notification."""
    seen = ", ".join(f"{label['name']} ({label['confidence']:.0f}%)" for label in detail["labels"])
    subject = f"Video {detail['stream']}: {', '.join(detail['watched'])}"[:100]
    body = (
        f"Stream {detail['stream']} shows {seen} at {detail['timestamp']}.\n"
        f"Every label of the frame: {detail['object']} (the line with this timestamp)."
    )
    return subject, body
