"""Flink SQL the job runs: the source and sink DDL, and the continuous metrics (the notes' SELECT STREAM ... GROUP BY).

Metrics use window table-valued functions (TUMBLE), whose results are final once the watermark passes the window
end: the output is append-only, which a Firehose sink needs (a plain streaming GROUP BY would emit updates).
"""

from __future__ import annotations

from stream_analytics.settings import SinkSettings, SourceSettings

READINGS_VIEW = "readings"
# Window bounds leave SQL as ISO-8601 UTC text (the session time zone is UTC): the Python side never decodes a
# TIMESTAMP, and every output record spells times the same way.
_ISO = "'yyyy-MM-dd''T''HH:mm:ss.SSS''Z'''"


def _bounds() -> str:
    return f"DATE_FORMAT(window_start, {_ISO}) AS window_start, DATE_FORMAT(window_end, {_ISO}) AS window_end"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _options(options: dict[str, str]) -> str:
    return ",\n  ".join(f"{_literal(key)} = {_literal(value)}" for key, value in options.items())


def kinesis_source_ddl(source: SourceSettings, table: str = "ingest_stream") -> str:
    """The ingest stream through the enhanced fan-out consumer the stack creates (found by name, not registered)."""
    options = {
        "connector": "kinesis",
        "stream.arn": source.stream_arn,
        "aws.region": source.region,
        "source.init.position": source.initial_position,
        "source.reader.type": "EFO",
        "source.efo.consumer.name": source.efo_consumer_name,
        "source.efo.lifecycle": "SELF_MANAGED",
        # Bytes, not text: a record that is not UTF-8 must reach the error output as such, not be "repaired".
        "format": "raw",
    }
    return f"CREATE TABLE {table} (\n  data BYTES\n) WITH (\n  {_options(options)}\n)"


def firehose_sink_ddl(sink: SinkSettings, table: str = "analytics_output") -> str:
    """One Firehose delivery stream for every output kind; each record is one JSON object ending in a newline."""
    options = {
        "connector": "firehose",
        "delivery-stream": sink.delivery_stream_name,
        "aws.region": sink.region,
        "format": "raw",
    }
    return f"CREATE TABLE {table} (\n  record STRING\n) WITH (\n  {_options(options)}\n)"


def device_metrics_sql(window_seconds: int, view: str = READINGS_VIEW) -> str:
    """Per device and tumbling window: count, mean and maximum temperature, mean humidity, lowest battery."""
    # The view name is the job's own and the window a validated integer: nothing here comes from a record.
    return f"""SELECT
  {_bounds()}, device_id, site,
  COUNT(*) AS readings,
  AVG(temperature_c) AS avg_temperature_c,
  MAX(temperature_c) AS max_temperature_c,
  AVG(humidity_pct) AS avg_humidity_pct,
  MIN(battery_v) AS min_battery_v
FROM TABLE(TUMBLE(TABLE {view}, DESCRIPTOR(rowtime), INTERVAL '{int(window_seconds)}' SECOND))
GROUP BY window_start, window_end, device_id, site"""  # noqa: S608


def site_metrics_sql(window_seconds: int, view: str = READINGS_VIEW) -> str:
    """Per site and tumbling window: readings, distinct devices, unknown-device readings, mean and maximum."""
    # As above: no value from a record reaches this text.
    return f"""SELECT
  {_bounds()}, site,
  COUNT(*) AS readings,
  COUNT(DISTINCT device_id) AS devices,
  SUM(CASE WHEN known_device THEN 0 ELSE 1 END) AS unknown_device_readings,
  AVG(temperature_c) AS avg_temperature_c,
  MAX(temperature_c) AS max_temperature_c
FROM TABLE(TUMBLE(TABLE {view}, DESCRIPTOR(rowtime), INTERVAL '{int(window_seconds)}' SECOND))
GROUP BY window_start, window_end, site"""  # noqa: S608
