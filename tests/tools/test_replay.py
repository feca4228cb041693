"""Replay: re-send what is now valid from the error prefix or the quarantine, and never lose what was not re-sent.

The buckets, the stream and the delivery stream are moto's (no AWS account, no network).
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.tools.conftest import REGION
from tools import replay

pytestmark = pytest.mark.usefixtures("fake_aws")
RAW, CURATED, STREAM, DELIVERY, JOB = "raw-zone", "curated-zone", "ingest", "raw-delivery", "curate"
GOOD = b'{"device_id":"sensor-0001","event_time":"2026-11-26T08:15:00Z","temperature_c":21.5,"status":"ok"}'
FIXED = b"sensor-0002,2026-11-26T08:15:00Z,21.5,40,3.7,ok"
STILL_BAD = b'{"device_id":"sensor-0003","event_time":"yesterday","status":"ok"}'
ERROR_KEY = "errors/processing-failed/year=2026/month=11/day=26/raw-delivery-1-2026-11-26-08-15-00-abc.gz"


def _error_document(data: bytes) -> str:
    """One line of Firehose's processing-failed output."""
    return json.dumps(
        {
            "attemptsMade": 1,
            "arrivalTimestamp": 1795680961000,
            "errorCode": "Lambda.ProcessingFailedStatus",
            "errorMessage": "ProcessingFailed status set for record",
            "attemptEndingTimestamp": 1795680962000,
            "rawData": base64.b64encode(data).decode("ascii"),
            "lambdaArn": "arn:aws:lambda:eu-west-1:111111111111:function:transform",
        }
    )


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two zones, the stream, a delivery stream with an error prefix, the curate job and an outputs file."""
    with mock_aws():
        clients = {name: boto3.client(name, region_name=REGION) for name in ("s3", "kinesis", "firehose", "glue")}
        for bucket in (RAW, CURATED):
            clients["s3"].create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        clients["kinesis"].create_stream(StreamName=STREAM, ShardCount=1)
        clients["firehose"].create_delivery_stream(
            DeliveryStreamName=DELIVERY,
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::111111111111:role/firehose",
                "BucketARN": f"arn:aws:s3:::{RAW}",
                "Prefix": "events/",
                "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/",
            },
        )
        clients["s3"].put_object(Bucket=CURATED, Key="ref/devices.csv", Body=b"device_id,site\nsensor-0001,a\n")
        clients["glue"].create_job(
            Name=JOB,
            Role="arn:aws:iam::111111111111:role/glue",
            Command={"Name": "glueetl", "ScriptLocation": "s3://x/job.py"},
            DefaultArguments={"--devices_path": f"s3://{CURATED}/ref/devices.csv"},
        )
        outputs = tmp_path / "outputs.json"
        outputs.write_text(
            json.dumps(
                {
                    "Ingestion": {"IngestStreamName": STREAM, "DeliveryStreamName": DELIVERY},
                    "Processing": {"QuarantinePath": f"s3://{CURATED}/quarantine/", "CurateJobName": JOB},
                }
            )
        )
        yield {"clients": clients, "outputs": str(outputs)}


def _keys(lake: dict[str, Any], bucket: str) -> dict[str, bytes]:
    s3 = lake["clients"]["s3"]
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


def _stream_data(lake: dict[str, Any]) -> list[bytes]:
    kinesis = lake["clients"]["kinesis"]
    shard = kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return [record["Data"] for record in kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]]


def _run(lake: dict[str, Any], *args: str) -> int:
    return replay.main(["--stack-outputs", lake["outputs"], *args], clients=lake["clients"])


def _put_errors(lake: dict[str, Any]) -> None:
    lines = "\n".join(_error_document(data) for data in (GOOD, FIXED, STILL_BAD)) + "\n"
    lake["clients"]["s3"].put_object(Bucket=RAW, Key=ERROR_KEY, Body=gzip.compress(lines.encode()))


def test_the_dry_run_counts_and_explains_without_sending_or_moving(
    lake: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an error object with two records that are valid now and one that is not
    _put_errors(lake)
    before = _keys(lake, RAW)

    # When replay runs without --apply
    status = _run(lake, "--source", "errors")

    # Then it says what would be re-sent and why the rest is invalid, and sends and moves nothing
    out = capsys.readouterr().out
    assert status == 0
    assert "would re-send: 2" in out
    assert "still invalid: 1" in out
    assert "event_time: not an ISO-8601 timestamp" in out
    assert _stream_data(lake) == []
    assert _keys(lake, RAW) == before


def test_apply_resends_the_valid_records_and_keeps_the_invalid_one_in_place(lake: dict[str, Any]) -> None:
    # Given the same error object
    _put_errors(lake)

    # When replay runs with --apply
    status = _run(lake, "--source", "errors", "--apply")

    # Then the two valid records are on the stream, as they were first sent
    assert status == 0
    assert sorted(_stream_data(lake)) == sorted([GOOD, FIXED])
    # And the re-sent lines moved under replayed/, while the invalid one stays under its original key
    objects = _keys(lake, RAW)
    kept = gzip.decompress(objects[ERROR_KEY]).decode().splitlines()
    moved = gzip.decompress(objects[replay.REPLAYED_PREFIX + ERROR_KEY]).decode().splitlines()
    assert [base64.b64decode(json.loads(line)["rawData"]) for line in kept] == [STILL_BAD]
    assert sorted(base64.b64decode(json.loads(line)["rawData"]) for line in moved) == sorted([GOOD, FIXED])
    # And a second run finds nothing more to send
    assert _run(lake, "--source", "errors", "--apply") == 0
    assert len(_stream_data(lake)) == 2


def test_quarantine_rows_of_known_devices_are_resent_without_the_quarantine_columns(
    lake: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given quarantine rows: one of a registered device, one of an unknown device, and a line that was not JSON
    rows = [
        {"device_id": "sensor-0001", "event_time": "2026-11-26T08:15:00Z", "status": "ok", "quarantine_reason": "x"},
        {"device_id": "sensor-0009", "event_time": "2026-11-26T08:15:00Z", "status": "ok", "quarantine_reason": "x"},
        {"_corrupt_record": "{not json", "quarantine_reason": "malformed_record"},
    ]
    key = "quarantine/quarantine_date=2026-11-26/part-00000.json.gz"
    body = gzip.compress("".join(json.dumps(row) + "\n" for row in rows).encode())
    lake["clients"]["s3"].put_object(Bucket=CURATED, Key=key, Body=body)

    # When replayed with --apply
    status = _run(lake, "--source", "quarantine", "--apply")

    # Then only the known device's row is re-sent, without quarantine_reason
    assert status == 0
    (sent,) = _stream_data(lake)
    assert json.loads(sent) == {"device_id": "sensor-0001", "event_time": "2026-11-26T08:15:00Z", "status": "ok"}
    # And the two others stay in the quarantine, with their reasons printed
    captured = capsys.readouterr()
    assert "unknown_device" in captured.out
    assert "invalid JSON" in captured.out
    assert "replay: 1/1 records sent (100%), 0 not written" in captured.err
    kept = gzip.decompress(_keys(lake, CURATED)[key]).decode().splitlines()
    assert [json.loads(line) for line in kept] == rows[1:]


class _RefusingStream:
    """A Kinesis client that takes no record: every one fails with a non-retryable error."""

    def put_records(self, *, Records: list[Any], StreamName: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        failed = {"ErrorCode": "AccessDeniedException", "ErrorMessage": "denied"}
        return {"FailedRecordCount": len(Records), "Records": [failed for _ in Records]}


def test_an_object_whose_records_were_not_all_written_is_left_untouched(
    lake: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the error object, and a stream that refuses every record
    _put_errors(lake)
    before = _keys(lake, RAW)
    clients = lake["clients"] | {"kinesis": _RefusingStream()}

    # When replay applies
    status = replay.main(["--stack-outputs", lake["outputs"], "--source", "errors", "--apply"], clients=clients)

    # Then it fails with one line saying how many were not written, and the object is exactly as it was
    assert status == 1
    assert "2 records were not written ({'AccessDeniedException': 2})" in capsys.readouterr().err
    assert _keys(lake, RAW) == before


def test_since_skips_objects_filed_before_the_date(lake: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    # Given an error object filed on 2026-11-26; when replay looks only from 2026-11-27 on; then it finds nothing
    _put_errors(lake)
    assert _run(lake, "--source", "errors", "--since", "2026-11-27") == 0
    assert "0 objects, 0 records" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "logs"], "argument --source: 'logs' is not a source; use one of errors, quarantine"),
        (
            ["--source", "errors", "--since", "2026-13-01"],
            "argument --since: '2026-13-01' is not a date; use YYYY-MM-DD",
        ),
        (["--source", "errors", "--env", "Prod"], "argument --env: 'Prod' is not an environment name"),
    ],
)
def test_bad_arguments_get_one_line_naming_the_argument_value_and_what_is_allowed(
    lake: dict[str, Any], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    # Given a bad argument; when replay starts; then it exits 2 with one line naming it
    with pytest.raises(SystemExit) as exited:
        _run(lake, *args)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
