"""The job's settings: the application's property groups, parsed and validated into one frozen object.

Managed Service for Apache Flink hands the application its property groups (all values strings); locally they come
from ``application_properties.json`` in the same shape. A bad value stops the job before it builds anything, with
one line naming the group, the key, the value and what is allowed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

T = TypeVar("T")

SOURCE: Final = "app.source"
SINK: Final = "app.sink"
REFERENCE: Final = "app.reference"
TIME: Final = "app.time"
FOREST: Final = "app.forest"
HOTSPOTS: Final = "app.hotspots"
RUN_OPTIONS: Final = "kinesis.analytics.flink.run.options"
INITIAL_POSITIONS: Final = ("LATEST", "TRIM_HORIZON")

PropertyGroups = Mapping[str, Mapping[str, str]]


class SettingsError(ValueError):
    """A property is missing or has a value the job cannot use; the message is one line."""


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """Where readings come from: the ingest stream through an enhanced fan-out consumer, or local files."""

    stream_name: str
    stream_arn: str
    region: str
    efo_consumer_name: str
    initial_position: str
    # Local runs only: a directory of JSON/CSV lines watched for new files instead of the stream.
    local_path: str | None = None
    # Local runs only: keep watching the directory (true), or read what is there and finish (false, for tests).
    local_monitor: bool = True


@dataclass(frozen=True, slots=True)
class SinkSettings:
    """Where every output record goes: one Firehose delivery stream, or a local directory."""

    delivery_stream_name: str
    region: str
    local_path: str | None = None


@dataclass(frozen=True, slots=True)
class TimeSettings:
    """Event time: how late a reading may be, and the metrics window."""

    watermark_lateness_seconds: int = 10
    metrics_window_seconds: int = 60


@dataclass(frozen=True, slots=True)
class ForestSettings:
    """Random cut forest per device, with KDA's RANDOM_CUT_FOREST defaults where KDA had one."""

    trees: int = 100
    sample_size: int = 256
    shingle_size: int = 4
    time_decay: float = 100_000.0
    warmup: int = 256
    threshold: float = 3.0
    # How many recent points per device are kept in Flink state to rebuild the forest after a restart.
    history_size: int = 1024


@dataclass(frozen=True, slots=True)
class HotspotSettings:
    """HOTSPOTS over (rack column, rack row, temperature), one count window per site."""

    window_size: int = 500
    scan_radius: float = 1.5
    min_points: int = 20
    density_threshold: float = 5.0
    # KDA evaluated HOTSPOTS on every record; every N records bounds the cost (1 gives KDA's behaviour).
    evaluate_every: int = 10
    # Reported hotspots are those whose coolest reading is at least this hot (a filter on KDA's result).
    min_temperature: float = 35.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the job reads from its property groups."""

    source: SourceSettings
    sink: SinkSettings
    reference_path: str
    time: TimeSettings
    forest: ForestSettings
    hotspots: HotspotSettings


def _fail(group: str, key: str, value: object, allowed: str) -> SettingsError:
    return SettingsError(f"{group}.{key}: {value!r} is not allowed; {allowed}")


def _text(groups: PropertyGroups, group: str, key: str, default: str | None = None) -> str:
    value = groups.get(group, {}).get(key)
    if value is None or not str(value).strip():
        if default is not None:
            return default
        raise SettingsError(f"{group}.{key}: missing; set it in the {group} property group")
    return str(value).strip()


def _number(
    groups: PropertyGroups, group: str, key: str, default: T, parse: Callable[[str], T], low: float, high: float
) -> T:
    raw = groups.get(group, {}).get(key)
    if raw is None or not str(raw).strip():
        return default
    kind = "a whole number" if parse is int else "a number"
    allowed = f"use {kind} from {low:g} to {high:g}"
    try:
        value = parse(str(raw).strip())
    except ValueError:
        raise _fail(group, key, raw, allowed) from None
    if not low <= float(value) <= high:  # type: ignore[arg-type]
        raise _fail(group, key, raw, allowed)
    return value


def parse_settings(groups: PropertyGroups, *, local: bool = False) -> Settings:
    """Validate the property groups; ``local`` lets the source and sink be paths instead of AWS resources."""
    local_source = groups.get(SOURCE, {}).get("local.path")
    local_sink = groups.get(SINK, {}).get("local.path")
    if local and not (local_source and local_sink):
        raise SettingsError(f"{SOURCE}.local.path and {SINK}.local.path: both are needed for a local run")
    remote = not local
    placeholder = None if remote else ""
    position = _text(groups, SOURCE, "initial.position", "LATEST").upper()
    if position not in INITIAL_POSITIONS:
        raise _fail(SOURCE, "initial.position", position, f"use one of {', '.join(INITIAL_POSITIONS)}")
    source = SourceSettings(
        stream_name=_text(groups, SOURCE, "stream.name", placeholder),
        stream_arn=_text(groups, SOURCE, "stream.arn", placeholder),
        region=_text(groups, SOURCE, "aws.region", placeholder),
        efo_consumer_name=_text(groups, SOURCE, "efo.consumer.name", placeholder),
        initial_position=position,
        local_path=local_source if local else None,
        local_monitor=_text(groups, SOURCE, "local.monitor", "true").lower() != "false",
    )
    if remote and not source.stream_arn.startswith("arn:"):
        raise _fail(SOURCE, "stream.arn", source.stream_arn, "use the stream's ARN (arn:aws:kinesis:...)")
    sink = SinkSettings(
        delivery_stream_name=_text(groups, SINK, "delivery.stream.name", placeholder),
        region=_text(groups, SINK, "aws.region", placeholder),
        local_path=local_sink if local else None,
    )
    return Settings(
        source=source,
        sink=sink,
        reference_path=_text(groups, REFERENCE, "path"),
        time=parse_time(groups),
        forest=parse_forest(groups),
        hotspots=parse_hotspots(groups),
    )


def parse_time(groups: PropertyGroups) -> TimeSettings:
    """The ``app.time`` group."""
    defaults = TimeSettings()
    return TimeSettings(
        watermark_lateness_seconds=_number(
            groups, TIME, "watermark.lateness.seconds", defaults.watermark_lateness_seconds, int, 0, 3600
        ),
        metrics_window_seconds=_number(
            groups, TIME, "metrics.window.seconds", defaults.metrics_window_seconds, int, 1, 86_400
        ),
    )


def parse_forest(groups: PropertyGroups) -> ForestSettings:
    """The ``app.forest`` group; ranges are KDA's RANDOM_CUT_FOREST ranges."""
    d = ForestSettings()
    sample_size = _number(groups, FOREST, "sample.size", d.sample_size, int, 10, 1000)
    forest = ForestSettings(
        trees=_number(groups, FOREST, "trees", d.trees, int, 1, 1000),
        sample_size=sample_size,
        shingle_size=_number(groups, FOREST, "shingle.size", d.shingle_size, int, 1, 30),
        time_decay=_number(groups, FOREST, "time.decay", d.time_decay, float, 1, 1e12),
        warmup=_number(groups, FOREST, "warmup", min(d.warmup, sample_size), int, 1, 100_000),
        threshold=_number(groups, FOREST, "threshold", d.threshold, float, 0, 1e6),
        history_size=_number(groups, FOREST, "history.size", max(d.history_size, sample_size), int, 1, 100_000),
    )
    if forest.history_size < forest.sample_size:
        raise _fail(
            FOREST, "history.size", str(forest.history_size), f"use at least sample.size ({forest.sample_size})"
        )
    return forest


def parse_hotspots(groups: PropertyGroups) -> HotspotSettings:
    """The ``app.hotspots`` group; ranges are those of KDA's HOTSPOTS function."""
    d = HotspotSettings()
    window = _number(groups, HOTSPOTS, "window.size", d.window_size, int, 100, 1000)
    return HotspotSettings(
        window_size=window,
        scan_radius=_positive(groups, "scan.radius", d.scan_radius),
        min_points=_number(groups, HOTSPOTS, "min.points", min(d.min_points, window), int, 2, window),
        density_threshold=_number(groups, HOTSPOTS, "density.threshold", d.density_threshold, float, 0, 1e12),
        evaluate_every=_number(groups, HOTSPOTS, "evaluate.every", d.evaluate_every, int, 1, window),
        min_temperature=_number(groups, HOTSPOTS, "min.temperature", d.min_temperature, float, -60, 150),
    )


def _positive(groups: PropertyGroups, key: str, default: float) -> float:
    value = _number(groups, HOTSPOTS, key, default, float, 0, 1e12)
    if value <= 0:
        raise _fail(HOTSPOTS, key, groups[HOTSPOTS][key], "use a number greater than 0 (like DBSCAN's epsilon)")
    return value


def groups_from_document(document: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Property groups from the AWS-sample list of ``{"PropertyGroupId": ..., "PropertyMap": {...}}``."""
    groups: dict[str, dict[str, str]] = {}
    for position, entry in enumerate(document):
        name = entry.get("PropertyGroupId") if isinstance(entry, Mapping) else None
        values = entry.get("PropertyMap") if isinstance(entry, Mapping) else None
        if not isinstance(name, str) or not isinstance(values, Mapping):
            raise SettingsError(f"property group {position}: needs PropertyGroupId (text) and PropertyMap (object)")
        groups[name] = {str(key): str(value) for key, value in values.items()}
    return groups


def load_groups(path: str | Path) -> dict[str, dict[str, str]]:
    """Property groups from a JSON file in the service's format (``application_properties.json``)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SettingsError(f"{path}: cannot read the property groups: {error}") from None
    if not isinstance(document, list):
        raise SettingsError(f"{path}: expected a list of property groups")
    return groups_from_document(document)
