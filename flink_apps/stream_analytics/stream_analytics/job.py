"""The Flink job graph: source → parse and enrich (errors aside) → event time → metrics, anomalies, hotspots → sink.

Everything here is wiring; the logic lives in the pure modules. Per-device forests and per-site hotspot windows live
in the Python workers' memory for speed, and their inputs in Flink keyed state (a bounded ring of recent points per
key, checkpointed with the job): after a restart or a rescale, the first reading of a key rebuilds its forest or
window from that history. So the state survives restarts without serialising a forest on every record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

from pyflink.common import Duration, Row, Types, WatermarkStrategy
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import (
    DataStream,
    KeyedProcessFunction,
    MapFunction,
    OutputTag,
    ProcessFunction,
    RuntimeContext,
    StreamExecutionEnvironment,
)
from pyflink.datastream.connectors.file_system import FileSource, StreamFormat
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor
from pyflink.table import Schema, StreamTableEnvironment
from stream_analytics import records, sql
from stream_analytics.forest import DETECTOR, DeviceDetector, ring_positions
from stream_analytics.hotspots import HotspotWindow, above
from stream_analytics.parsing import ParseError, Reading, parse_record
from stream_analytics.reference import Device, EnrichedReading, enrich, read_inventory
from stream_analytics.settings import ForestSettings, HotspotSettings, Settings
from stream_analytics.thresholds import is_anomaly

READING_FIELDS = [
    "device_id",
    "site",
    "known_device",
    "event_time_ms",
    "temperature_c",
    "humidity_pct",
    "battery_v",
    "status",
    "rack_row",
    "rack_col",
]
READING_TYPE = Types.ROW_NAMED(
    READING_FIELDS,
    [
        Types.STRING(),
        Types.STRING(),
        Types.BOOLEAN(),
        Types.LONG(),
        Types.DOUBLE(),
        Types.DOUBLE(),
        Types.DOUBLE(),
        Types.STRING(),
        Types.DOUBLE(),
        Types.DOUBLE(),
    ],
)
ERRORS = OutputTag("errors", Types.STRING())


def to_row(enriched: EnrichedReading) -> Row:
    """An enriched reading as a Flink row of ``READING_TYPE``."""
    r = enriched.reading
    return Row(
        r.device_id,
        enriched.site,
        enriched.known_device,
        r.event_time_ms,
        r.temperature_c,
        r.humidity_pct,
        r.battery_v,
        r.status,
        enriched.rack_row,
        enriched.rack_col,
    )


def from_row(row: Row) -> EnrichedReading:
    """The enriched reading a row of ``READING_TYPE`` carries."""
    reading = Reading(row[0], row[3], row[4], row[5], row[6], row[7])
    return EnrichedReading(reading, row[1], None, row[8], row[9], known_device=row[2])


class ParseAndEnrich(ProcessFunction):  # type: ignore[misc]
    """Parse each record; valid readings are joined with the inventory, the others go to the error output."""

    def __init__(self, reference_path: str) -> None:
        self.reference_path = reference_path
        self.devices: dict[str, Device] = {}

    def open(self, runtime_context: RuntimeContext) -> None:
        self.devices = read_inventory(self.reference_path)

    def process_element(self, value: Any, ctx: ProcessFunction.Context) -> Iterator[Any]:
        parsed = parse_record(value)
        if isinstance(parsed, ParseError):
            yield ERRORS, records.to_json(records.error_record(parsed, int(time.time() * 1000)))
        else:
            yield to_row(enrich(parsed, self.devices))


class _EventTime(TimestampAssigner):  # type: ignore[misc]
    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        return int(value[3])


class ScoreDevice(KeyedProcessFunction):  # type: ignore[misc]
    """RANDOM_CUT_FOREST per device: each reading scored from its past in event time; those at the threshold out.

    Readings wait in keyed state until the watermark passes their event time, then a timer scores them in event-time
    order: a shingle is a run of consecutive readings even when the stream delivers them out of order (within the
    watermark's lateness). A reading later than that is scored on arrival rather than dropped.
    """

    def __init__(self, forest: ForestSettings) -> None:
        self.forest = forest
        self.detectors: dict[str, DeviceDetector] = {}

    def open(self, runtime_context: RuntimeContext) -> None:
        self.history = runtime_context.get_map_state(MapStateDescriptor("history", Types.INT(), Types.STRING()))
        self.seen = runtime_context.get_state(ValueStateDescriptor("seen", Types.LONG()))
        self.pending = runtime_context.get_map_state(MapStateDescriptor("pending", Types.LONG(), Types.STRING()))

    def _detector(self, device_id: str) -> DeviceDetector:
        detector = self.detectors.get(device_id)
        if detector is None:
            detector = DeviceDetector(self.forest, 3, seed=_seed(device_id))
            seen = self.seen.value() or 0
            if seen:
                # A restart (or rescale): the forest is rebuilt from the readings kept in checkpointed state.
                positions = ring_positions(seen, self.forest.history_size)
                detector.restore([json.loads(self.history.get(position)) for position in positions], seen)
            self.detectors[device_id] = detector
        return detector

    def process_element(self, value: Row, ctx: KeyedProcessFunction.Context) -> Iterator[str]:
        event_ms = int(value[3])
        if event_ms <= ctx.timer_service().current_watermark():
            yield from self._score(value)
            return
        waiting = self.pending.get(event_ms)
        rows = json.loads(waiting) if waiting else []
        rows.append(list(value))
        self.pending.put(event_ms, json.dumps(rows))
        ctx.timer_service().register_event_time_timer(event_ms)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[str]:
        waiting = self.pending.get(timestamp)
        if waiting is None:
            return
        self.pending.remove(timestamp)
        for fields in json.loads(waiting):
            yield from self._score(Row(*fields))

    def _score(self, value: Row) -> Iterator[str]:
        enriched = from_row(value)
        values = enriched.reading.values()
        scored = self._detector(enriched.reading.device_id).process(values)
        seen = self.seen.value() or 0
        self.history.put(seen % self.forest.history_size, json.dumps(values))
        self.seen.update(seen + 1)
        if is_anomaly(scored.score, self.forest.threshold, warm=scored.warm):
            yield records.to_json(
                records.anomaly_record(
                    enriched,
                    scored.score,
                    self.forest.threshold,
                    detector=DETECTOR,
                    shingle_size=self.forest.shingle_size,
                )
            )


class SiteHotspots(KeyedProcessFunction):  # type: ignore[misc]
    """HOTSPOTS per site over (rack column, rack row, temperature) of the last ``window_size`` readings."""

    def __init__(self, hotspots: HotspotSettings) -> None:
        self.settings = hotspots
        self.windows: dict[str, HotspotWindow] = {}
        self.last_signature: dict[str, tuple[Any, ...]] = {}

    def open(self, runtime_context: RuntimeContext) -> None:
        self.ring = runtime_context.get_map_state(MapStateDescriptor("window", Types.INT(), Types.STRING()))
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))

    def _window(self, site: str) -> HotspotWindow:
        window = self.windows.get(site)
        if window is None:
            s = self.settings
            window = HotspotWindow(s.window_size, 3, s.scan_radius, s.min_points)
            count = self.count.value() or 0
            for position in ring_positions(count, s.window_size):
                window.add(json.loads(self.ring.get(position)))
            self.windows[site] = window
        return window

    def process_element(self, value: Row, ctx: KeyedProcessFunction.Context) -> Iterator[str]:
        site = value[1]
        point = [value[9], value[8], value[4]]
        window = self._window(site)
        window.add(point)
        count = self.count.value() or 0
        self.ring.put(count % self.settings.window_size, json.dumps(point))
        self.count.update(count + 1)
        if window.count < self.settings.min_points or window.count % self.settings.evaluate_every:
            return
        # The application's filter on KDA's result: dense enough, and hot (the notes' overheated servers).
        hot = self.settings.min_temperature
        found = [
            spot for spot in above(window.hotspots(), self.settings.density_threshold) if spot.min_values[2] >= hot
        ]
        # A hotspot that persists would otherwise be repeated at every evaluation: emit when the set changes
        # (count, or bounds moved by at least the scan radius).
        grid = self.settings.scan_radius
        signature = tuple(tuple(round(v / grid) for v in (*spot.min_values, *spot.max_values)) for spot in found)
        if found and signature != self.last_signature.get(site):
            self.last_signature[site] = signature
            yield records.to_json(
                records.hotspot_record(
                    site,
                    int(value[3]),
                    found,
                    window_size=self.settings.window_size,
                    density_threshold=self.settings.density_threshold,
                )
            )
        elif not found:
            self.last_signature.pop(site, None)


def _seed(device_id: str) -> int:
    # A stable seed per device (Python's hash() is salted per process), so that runs are reproducible.
    return sum((index + 1) * ord(char) for index, char in enumerate(device_id)) % (2**31)


class _MetricsJson(MapFunction):  # type: ignore[misc]
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def map(self, value: Row) -> str:
        return records.to_json(records.metrics_record(self.kind, value.as_dict()))


class LocalFiles(MapFunction):  # type: ignore[misc]
    """Local sink: appends each record to ``<dir>/<kind>.jsonl`` and flushes, so a reader sees it at once."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.handles: dict[str, Any] = {}

    def map(self, value: str) -> str:
        kind = json.loads(value)["kind"]
        handle = self.handles.get(kind)
        if handle is None:
            handle = open(f"{self.directory}/{kind}.jsonl", "a", encoding="utf-8")  # noqa: SIM115
            self.handles[kind] = handle
        handle.write(value + "\n")
        handle.flush()
        return value

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def _source(env: StreamExecutionEnvironment, t_env: StreamTableEnvironment, settings: Settings) -> DataStream:
    if settings.source.local_path is not None:
        builder = FileSource.for_record_stream_format(StreamFormat.text_line_format(), settings.source.local_path)
        if settings.source.local_monitor:
            builder = builder.monitor_continuously(Duration.of_millis(200))
        source = builder.build()
        return env.from_source(source, WatermarkStrategy.no_watermarks(), "ingest_stream (local files)")
    t_env.execute_sql(sql.kinesis_source_ddl(settings.source))
    rows = t_env.to_data_stream(t_env.from_path("ingest_stream"))
    return rows.map(lambda row: bytes(row[0]), output_type=Types.PRIMITIVE_ARRAY(Types.BYTE()))


def _metrics(t_env: StreamTableEnvironment, readings: DataStream, settings: Settings) -> Iterable[DataStream]:
    # Event time from the reading's own column, with the same bounded lateness as the DataStream side.
    lateness = int(settings.time.watermark_lateness_seconds)
    table = t_env.from_data_stream(
        readings,
        Schema.new_builder()
        .column_by_expression("rowtime", "TO_TIMESTAMP_LTZ(event_time_ms, 3)")
        .watermark("rowtime", f"rowtime - INTERVAL '{lateness}' SECOND")
        .build(),
    )
    window_seconds = settings.time.metrics_window_seconds
    t_env.create_temporary_view(sql.READINGS_VIEW, table)
    for kind, query in (
        ("device_metrics", sql.device_metrics_sql(window_seconds)),
        ("site_metrics", sql.site_metrics_sql(window_seconds)),
    ):
        yield t_env.to_data_stream(t_env.sql_query(query)).map(_MetricsJson(kind), output_type=Types.STRING())


def build(env: StreamExecutionEnvironment, t_env: StreamTableEnvironment, settings: Settings) -> None:
    """Declare the whole job on ``env``; the caller executes it."""
    lateness = Duration.of_seconds(settings.time.watermark_lateness_seconds)
    parsed = _source(env, t_env, settings).process(ParseAndEnrich(settings.reference_path), output_type=READING_TYPE)
    readings = parsed.assign_timestamps_and_watermarks(
        WatermarkStrategy.for_bounded_out_of_orderness(lateness).with_timestamp_assigner(_EventTime())
    )
    anomalies = readings.key_by(lambda row: row[0], key_type=Types.STRING()).process(
        ScoreDevice(settings.forest), output_type=Types.STRING()
    )
    placed = readings.filter(lambda row: row[8] is not None and row[9] is not None and row[4] is not None)
    hotspots = placed.key_by(lambda row: row[1], key_type=Types.STRING()).process(
        SiteHotspots(settings.hotspots), output_type=Types.STRING()
    )
    outputs = anomalies.union(hotspots, parsed.get_side_output(ERRORS), *_metrics(t_env, readings, settings))
    _sink(t_env, outputs, settings)


def _sink(t_env: StreamTableEnvironment, outputs: DataStream, settings: Settings) -> None:
    if settings.sink.local_path is not None:
        from pyflink.datastream.connectors import Sink

        written = outputs.map(LocalFiles(settings.sink.local_path), output_type=Types.STRING())
        written.sink_to(Sink("org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink"))
        return
    t_env.execute_sql(sql.firehose_sink_ddl(settings.sink))
    # One JSON object per line in S3: Firehose concatenates records as they are.
    lines = outputs.map(lambda text: text + "\n", output_type=Types.STRING())
    statements = t_env.create_statement_set()
    statements.add_insert("analytics_output", t_env.from_data_stream(lines))
    statements.attach_as_datastream()
