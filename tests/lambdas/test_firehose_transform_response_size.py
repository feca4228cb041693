"""The 6 MB Lambda response limit: exact size accounting, and what happens to records that do not fit."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from lambdas.firehose_transform import handler, transform

LoadEvent = Callable[[str], dict[str, Any]]


def _record(record_id: str, payload: str) -> dict[str, Any]:
    return {
        "recordId": record_id,
        "approximateArrivalTimestamp": 1795680961000,
        "data": base64.b64encode(payload.encode("utf-8")).decode("ascii"),
        "kinesisRecordMetadata": {
            "shardId": "shardId-000000000000",
            "partitionKey": "sensor-0001",
            "approximateArrivalTimestamp": 1795680961000,
            "sequenceNumber": "49657143185396072254103853761012359814025768315240579074",
            "subsequenceNumber": 0,
        },
    }


def _csv_lines(device: str, count: int) -> str:
    """``count`` CSV readings of one device within one hour: they grow about 2.4 times as JSON."""
    return "".join(f"{device},2026-11-26T08:{i % 60:02d}:{i // 60 % 60:02d}Z,21.5,40.2,3.71,ok\n" for i in range(count))


def _json_line(device: str) -> str:
    """An already normalised reading: it barely changes size."""
    return (
        f'{{"device_id":"{device}","event_time":"2026-11-26T08:15:00Z","temperature_c":21.5,'
        '"humidity_pct":40.2,"battery_v":3.71,"status":"ok"}\n'
    )


@pytest.mark.parametrize("partition_by_device", [False, True])
@pytest.mark.parametrize("name", ["firehose_csv.json", "firehose_json.json", "firehose_mixed_bad.json"])
def test_the_response_size_is_known_exactly_before_returning(
    firehose_event: LoadEvent, name: str, partition_by_device: bool
) -> None:
    # Given a recorded batch
    event = firehose_event(name)

    # When transformed
    batch = transform.transform_records(event["records"], partition_by_device=partition_by_device)

    # Then the size the transform accounted for is the size of the response as the Lambda runtime serialises it
    assert batch.response_bytes == len(json.dumps({"records": batch.records}))


def test_size_accounting_covers_ids_and_data_that_need_escaping() -> None:
    # Given record ids and (invalid) data with characters JSON must escape
    records = [
        {"recordId": 'id "quoted" \\ back', "data": "not base64 \u00e9\n\t\x7f"},
        {"recordId": "id-\u2028-\U0001f600", "data": base64.b64encode(b"\n").decode()},
        {"recordId": "plain", "data": base64.b64encode(_json_line("sensor-0001").encode()).decode()},
    ]

    # When transformed, then the accounted size still matches the serialised response
    batch = transform.transform_records(records, partition_by_device=True)
    assert batch.response_bytes == len(json.dumps({"records": batch.records}))


def test_when_the_batch_does_not_fit_the_records_that_grew_most_fail_first() -> None:
    # Given CSV records (which grow as JSON) and JSON records (which do not), and a limit one byte short of the
    # transformed batch
    records = [
        _record("json-1", _json_line("sensor-0001")),
        _record("csv-small", _csv_lines("sensor-0002", 5)),
        _record("csv-large", _csv_lines("sensor-0003", 40)),
        _record("json-2", _json_line("sensor-0004")),
    ]
    full = transform.transform_records(records, partition_by_device=False)
    assert full.counts["Ok"] == 4

    # When transformed under that limit
    batch = transform.transform_records(records, partition_by_device=False, max_response_bytes=full.response_bytes - 1)

    # Then only the record whose output grew the most is turned into ProcessingFailed, with its original data
    assert [entry["result"] for entry in batch.records] == ["Ok", "Ok", "ProcessingFailed", "Ok"]
    assert batch.records[2]["data"] == records[2]["data"]
    assert batch.records[:2] == full.records[:2]
    # And the failure says why, and the response now fits and is accounted exactly
    (failure,) = batch.failures
    assert failure.record_id == "csv-large"
    assert failure.reason.startswith("response size limit")
    assert len(json.dumps({"records": batch.records})) == batch.response_bytes <= full.response_bytes - 1


def test_records_are_failed_only_while_that_still_saves_space() -> None:
    # Given records that shrink when normalised (padded JSON), next to one that grows
    padded = json.dumps(json.loads(_json_line("sensor-0001")), indent=8) + "\n"
    records = [_record("shrinks", padded), _record("grows", _csv_lines("sensor-0002", 10))]
    full = transform.transform_records(records, partition_by_device=False)

    # When even failing every record would not get under the limit
    batch = transform.transform_records(records, partition_by_device=False, max_response_bytes=10)

    # Then the growing record is failed, but the shrinking one stays Ok: failing it would make the response bigger
    assert [entry["result"] for entry in batch.records] == ["Ok", "ProcessingFailed"]
    assert batch.records[0] == full.records[0]


def test_a_full_size_batch_stays_under_the_lambda_response_limit(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an invocation near Lambda's 6 MB request limit, made of big multi-line CSV records that nearly double as
    # JSON (long device ids keep the line count, and so the test's run time, down), and a few small JSON records
    records = [_record(f"csv-{n}", _csv_lines(f"sensor-{n:04d}-{'x' * 52}", 6_800)) for n in range(6)]
    records += [_record(f"json-{n}", _json_line(f"sensor-{n:04d}")) for n in range(20)]
    event = {
        "invocationId": "2f7e0c55-9a55-4b36-8e3f-6a0d2f4b9c11",
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:111111111111:deliverystream/ml-data-lake-sandbox-raw",
        "sourceKinesisStreamArn": "arn:aws:kinesis:eu-west-1:111111111111:stream/ml-data-lake-sandbox-ingest",
        "region": "eu-west-1",
        "records": records,
    }
    assert 5_000_000 < len(json.dumps(event)) <= transform.LAMBDA_RESPONSE_LIMIT_BYTES
    monkeypatch.delenv("PARTITIONING", raising=False)
    caplog.set_level(logging.WARNING, logger="firehose_transform")

    # When the handler transforms it
    response = handler.handler(event, None)

    # Then the serialised response is within the limit, every record is accounted for, and the small records that
    # fit are still delivered
    assert len(json.dumps(response)) <= transform.LAMBDA_RESPONSE_LIMIT_BYTES
    results = {entry["recordId"]: entry["result"] for entry in response["records"]}
    assert list(results) == [record["recordId"] for record in records]
    assert all(results[f"json-{n}"] == "Ok" for n in range(20))
    failed = [record_id for record_id, result in results.items() if result == "ProcessingFailed"]
    assert failed
    assert all(record_id.startswith("csv-") for record_id in failed)
    # And each of those is logged with the size reason, pointing at the buffer size
    logged = {json.loads(r.getMessage())["recordId"]: json.loads(r.getMessage())["reason"] for r in caplog.records}
    assert set(logged) == set(failed)
    assert all(reason.startswith("response size limit") and "BufferSizeInMBs" in reason for reason in logged.values())
