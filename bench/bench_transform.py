"""Throughput of the Firehose transformation handler against a base64 pass-through, on realistic batches.

    python -m bench.bench_transform [--records 25000] [--repeat 7] [--seed 7]

The data is about 3 MB of readings, the largest buffer Firehose gives a processor: CSV and JSON from the producer's
generator, 1% malformed, in the event shape Firehose sends for a Kinesis-stream source. A Lambda request is capped at
6 MB like the response, and with ~110-byte readings the per-record envelope (record id, Kinesis metadata) outweighs
the data, so the records are split into as many invocations as that cap needs, as Firehose would have to.

Two batches: the benchmark batch (50 devices over a few minutes, as the producer sends them) and a batch of unique
records (one reading per device, each at its own moment over ten years), on which no cache of values can help.
The targets: the transform at most 4x the pass-through on the first, at most 7x on the second.

Every handler runs on the same invocations in the same process, taking turns, and each figure is the best of
``--repeat`` rounds of this process's CPU time (``time.process_time``), so that other work on a shared machine
counts as little as possible. The ratio is the price of parsing and validating over merely decoding and re-encoding;
the JSON round trip shows how much of it any JSON-writing transform pays anyway. Prints figures only: timing is not
something to assert on.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import random
import time
from binascii import a2b_base64, b2a_base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lambdas.firehose_transform import handler as transform_handler
from lambdas.firehose_transform import transform
from tools.producer import encode_reading, generate_readings, malformed_reading

Handler = Callable[[dict[str, Any], object], dict[str, Any]]
STREAM_ARN = "arn:aws:kinesis:eu-west-1:111111111111:stream/ml-data-lake-sandbox-ingest"
DELIVERY_STREAM_ARN = "arn:aws:firehose:eu-west-1:111111111111:deliverystream/ml-data-lake-sandbox-raw"


def build_records(records: int, seed: int, *, unique: bool = False) -> list[dict[str, Any]]:
    """Firehose input records for ``records`` readings, half CSV and half JSON, 1% malformed.

    The usual batch comes from 50 devices over a few minutes. A ``unique`` batch has one reading per device, each at
    its own moment spread over about ten years: no two records share a device, an hour or (nearly) a day, so no
    cache of values can help.
    """
    rng = random.Random(seed)
    end = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    arrival_ms = int(end.timestamp() * 1000)
    event_records = []
    devices, interval = (records, 2 * 10 * 365.25 * 86400) if unique else (50, 5.0)
    readings = generate_readings(records, devices, rng, end=end, interval_seconds=interval)
    for index, reading in enumerate(readings):
        if rng.random() < 0.01:
            data = malformed_reading(reading, rng)
        else:
            data = encode_reading(reading, "csv" if index % 2 else "json")
        sequence = f"4965{index:052d}"
        event_records.append(
            {
                "recordId": f"{sequence}000000000000",
                "approximateArrivalTimestamp": arrival_ms,
                "data": base64.b64encode(data).decode("ascii"),
                "kinesisRecordMetadata": {
                    "shardId": f"shardId-{index % 4:012d}",
                    "partitionKey": reading.device_id,
                    "approximateArrivalTimestamp": arrival_ms,
                    "sequenceNumber": sequence,
                    "subsequenceNumber": 0,
                },
            }
        )
    return event_records


def split_into_invocations(records: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Group records, in order, into events whose JSON request stays within ``limit`` bytes."""
    events: list[dict[str, Any]] = []
    envelope = len(json.dumps(_event([])))
    current: list[dict[str, Any]] = []
    size = envelope
    for record in records:
        record_size = len(json.dumps(record)) + len(", ")
        if current and size + record_size > limit:
            events.append(_event(current))
            current, size = [], envelope
        current.append(record)
        size += record_size
    if current:
        events.append(_event(current))
    return events


def _event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "invocationId": "00540a87-5050-496a-84e4-e7d92bbaf5e2",
        "deliveryStreamArn": DELIVERY_STREAM_ARN,
        "sourceKinesisStreamArn": STREAM_ARN,
        "region": "eu-west-1",
        "records": records,
    }


def passthrough_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The floor: decode and re-encode every record, all Ok."""
    return {
        "records": [
            {
                "recordId": record["recordId"],
                "result": "Ok",
                "data": b2a_base64(a2b_base64(record["data"], strict_mode=True), newline=False).decode("ascii"),
            }
            for record in event["records"]
        ]
    }


def json_round_trip_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Parse and re-serialise every record as JSON with no validation: the part of the cost no transform avoids."""
    columns = transform.CSV_COLUMNS
    out = []
    for record in event["records"]:
        text = a2b_base64(record["data"], strict_mode=True).decode("utf-8", "replace")
        try:
            document = json.loads(text) if text.startswith("{") else dict(zip(columns, text.split(","), strict=False))
        except ValueError:
            document = {}
        data = (json.dumps(document, separators=(",", ":")) + "\n").encode("utf-8")
        out.append({"recordId": record["recordId"], "result": "Ok", "data": b2a_base64(data, newline=False).decode()})
    return {"records": out}


def best_of(handlers: dict[str, Handler], events: list[dict[str, Any]], repeat: int) -> dict[str, float]:
    """Least CPU time of each handler over ``repeat`` rounds of handling every event once, in seconds.

    The handlers take turns within each round, so a burst of load from elsewhere on the machine hits all of them
    rather than skewing the ratio.
    """
    timings: dict[str, list[float]] = {name: [] for name in handlers}
    for _ in range(repeat):
        for name, handler in handlers.items():
            # A fresh container starts with empty timestamp caches; so does every timed run.
            transform._iso_to_utc.cache_clear()
            transform._epoch_to_utc.cache_clear()
            transform._is_real_date.cache_clear()
            started = time.process_time()
            for event in events:
                handler(event, None)
            timings[name].append(time.process_time() - started)
    return {name: min(values) for name, values in timings.items()}


def _with_partitioning(mode: str) -> Handler:
    def run(event: dict[str, Any], context: object) -> dict[str, Any]:
        os.environ["PARTITIONING"] = mode
        return transform_handler.handler(event, context)

    return run


def main() -> None:
    """Build the invocations, time every handler on them, print records/s and the ratio to the pass-through."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_transform", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=25_000, help="readings in the buffer (%(default)s)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per handler; the best counts (%(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated readings (%(default)s)")
    args = parser.parse_args()

    # Failed records are logged as in Lambda: the line costs time, but nobody needs to read it here.
    with open(os.devnull, "w", encoding="utf-8") as sink:
        logger = logging.getLogger("firehose_transform")
        logger.addHandler(logging.StreamHandler(sink))
        logger.propagate = False
        handlers = {
            "base64 pass-through": passthrough_handler,
            "JSON round trip, no checks": json_round_trip_handler,
            "transform, PARTITIONING=time": _with_partitioning("time"),
            "transform, PARTITIONING=device": _with_partitioning("device"),
        }
        for title, unique in (("the benchmark batch", False), ("unique records", True)):
            records = build_records(args.records, args.seed, unique=unique)
            _report(title, records, handlers, args.repeat)


def _report(title: str, records: list[dict[str, Any]], handlers: dict[str, Handler], repeat: int) -> None:
    """Time every handler on ``records`` and print records/s and the ratio to the pass-through."""
    events = split_into_invocations(records, transform.LAMBDA_RESPONSE_LIMIT_BYTES)
    data_bytes = sum(len(base64.b64decode(record["data"])) for record in records)
    largest_request = max(len(json.dumps(event)) for event in events)
    print(
        f"{title}: {len(records)} readings, {data_bytes / 1e6:.2f} MB of data, in {len(events)} invocations "
        f"(largest request {largest_request / 1e6:.2f} MB)"
    )
    best = best_of(handlers, events, repeat)
    floor = best["base64 pass-through"]
    for name, seconds in best.items():
        rate = len(records) / seconds
        line = f"  {name:<32} {rate:>9,.0f} records/s  {seconds * 1000:>6.0f} ms  {seconds / floor:>5.1f}x pass-through"
        if name.startswith("transform"):
            responses = [handlers[name](event, None) for event in events]
            results = [entry["result"] for response in responses for entry in response["records"]]
            largest = max(len(json.dumps(response)) for response in responses)
            line += (
                f"  largest response {largest / 1e6:.2f} MB; "
                f"Ok {results.count('Ok')}, ProcessingFailed {results.count('ProcessingFailed')}"
            )
        print(line)


if __name__ == "__main__":
    main()
