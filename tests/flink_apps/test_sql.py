"""Generated Flink SQL: the EFO source, the Firehose sink and append-only windowed metrics."""

from __future__ import annotations

import re

from stream_analytics.settings import SinkSettings, SourceSettings
from stream_analytics.sql import device_metrics_sql, firehose_sink_ddl, kinesis_source_ddl, site_metrics_sql

SOURCE = SourceSettings(
    stream_name="ingest",
    stream_arn="arn:aws:kinesis:eu-west-1:111111111111:stream/ingest",
    region="eu-west-1",
    efo_consumer_name="analytics",
    initial_position="TRIM_HORIZON",
)


def _options(ddl: str) -> dict[str, str]:
    return dict(re.findall(r"'([^']+)' = '([^']*)'", ddl))


def test_given_the_source_settings_when_rendered_then_an_efo_consumer_found_by_name() -> None:
    ddl = kinesis_source_ddl(SOURCE)

    assert ddl.startswith("CREATE TABLE ingest_stream (\n  data BYTES\n)")
    assert _options(ddl) == {
        "connector": "kinesis",
        "stream.arn": "arn:aws:kinesis:eu-west-1:111111111111:stream/ingest",
        "aws.region": "eu-west-1",
        "source.init.position": "TRIM_HORIZON",
        "source.reader.type": "EFO",
        "source.efo.consumer.name": "analytics",
        "source.efo.lifecycle": "SELF_MANAGED",
        "format": "raw",
    }


def test_given_a_quote_in_a_value_when_rendered_then_it_is_escaped() -> None:
    ddl = firehose_sink_ddl(SinkSettings(delivery_stream_name="it's", region="eu-west-1"))

    assert "'delivery-stream' = 'it''s'" in ddl
    assert "'connector' = 'firehose'" in ddl
    assert "record STRING" in ddl


def test_given_a_window_when_metrics_are_rendered_then_they_use_tumble_tvfs_grouped_by_window() -> None:
    for query in (device_metrics_sql(60), site_metrics_sql(60)):
        assert "FROM TABLE(TUMBLE(TABLE readings, DESCRIPTOR(rowtime), INTERVAL '60' SECOND))" in query
        # Grouping by the window bounds is what makes the result append-only.
        assert re.search(r"GROUP BY window_start, window_end, ", query)
    assert "MAX(temperature_c) AS max_temperature_c" in device_metrics_sql(5)
    assert "COUNT(DISTINCT device_id) AS devices" in site_metrics_sql(5)
