"""The producer: generated readings, Kinesis batching limits, retries of failed records, outputs-file parsing.

The stream is moto's (no AWS account, no network); the retry path uses a scripted client, because moto never
throttles.
"""

from __future__ import annotations

import base64
import io
import json
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.firehose_transform import transform
from tests.tools.conftest import REGION
from tools import producer

END = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PROG = "python -m tools.producer"


pytestmark = pytest.mark.usefixtures("fake_aws")


@pytest.fixture
def stream() -> Iterator[str]:
    """A two-shard stream in moto."""
    with mock_aws():
        boto3.client("kinesis", region_name=REGION).create_stream(StreamName="ingest", ShardCount=2)
        yield "ingest"


def _read_back(stream_name: str) -> list[dict[str, Any]]:
    """Every record on every shard of the stream."""
    client = boto3.client("kinesis", region_name=REGION)
    records: list[dict[str, Any]] = []
    for shard in client.list_shards(StreamName=stream_name)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while True:
            page = client.get_records(ShardIterator=iterator, Limit=10_000)
            records += page["Records"]
            if not page["Records"]:
                break
            iterator = page["NextShardIterator"]
    return records


def _entries(count: int, fmt: producer.Format = "json", bad_fraction: float = 0.0, seed: int = 1) -> list[Any]:
    return list(producer.build_entries(count, 7, fmt, bad_fraction, random.Random(seed), end=END))


# --- End to end against moto ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_records_arrive_on_the_stream(stream: str, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    # Given a stream
    argv = ["--stream-name", stream, "--records", "120", "--devices", "7", "--format", fmt, "--seed", "1"]

    # When the producer runs
    status = producer.main([*argv, "--region", REGION], now=lambda: END)

    # Then it succeeds and says so on stdout
    assert status == 0
    assert capsys.readouterr().out == f"wrote 120 records (0 malformed on purpose) to {stream}\n"
    # And exactly the generated records are on the stream, each keyed by its device
    arrived = _read_back(stream)
    expected = _entries(120, fmt)
    assert sorted((r["PartitionKey"], r["Data"]) for r in arrived) == sorted(
        (e["PartitionKey"], e["Data"]) for e in expected
    )
    # And one device's readings keep their order (one partition key, one shard)
    by_device = [r["Data"] for r in arrived if r["PartitionKey"] == "sensor-0003"]
    assert by_device == [e["Data"] for e in expected if e["PartitionKey"] == "sensor-0003"]


def test_a_missing_stream_gives_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    # Given no stream of that name
    with mock_aws():
        # When the producer runs
        status = producer.main(["--stream-name", "nope", "--records", "3", "--region", REGION])

    # Then it exits 1 with one line naming the stream and the service's reason
    assert status == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"{PROG}: error: writing to stream nope failed: ")
    assert "ResourceNotFoundException" in error


# --- Generated data ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_generated_readings_pass_the_transformation_and_malformed_ones_fail_it(fmt: producer.Format) -> None:
    # Given 400 generated records in one format, 10% of them deliberately malformed
    entries = _entries(400, fmt, bad_fraction=0.1, seed=3)
    records = [
        {"recordId": str(n), "data": base64.b64encode(entry["Data"]).decode("ascii")} for n, entry in enumerate(entries)
    ]

    # When the transformation Lambda's logic reads them
    batch = transform.transform_records(records, partition_by_device=True)

    # Then exactly the malformed 40 fail, so --bad-fraction is what ends up under the error prefix
    assert batch.counts == {"Ok": 360, "Dropped": 0, "ProcessingFailed": 40}


def test_generation_is_reproducible_for_a_seed() -> None:
    # Given the same seed twice, when generating; then the records are identical, and another seed differs
    assert _entries(50, seed=9) == _entries(50, seed=9)
    assert _entries(50, seed=9) != _entries(50, seed=10)


def test_devices_take_turns_and_each_device_reports_forward_in_time() -> None:
    # Given 7 devices and 70 readings
    readings = list(producer.generate_readings(70, 7, random.Random(5), end=END))

    # Then each device sent 10, in time order, all before the end
    per_device: dict[str, list[datetime]] = {}
    for reading in readings:
        per_device.setdefault(reading.device_id, []).append(reading.event_time)
    assert sorted(per_device) == [f"sensor-{n:04d}" for n in range(1, 8)]
    assert all(len(times) == 10 and times == sorted(times) and times[-1] <= END for times in per_device.values())


def test_readings_stay_within_the_schema_ranges() -> None:
    # Given a long run from a few devices; then every reading is plausible for the schema's min/max
    fields = {field["name"]: field for field in transform.SCHEMA["fields"]}
    for reading in producer.generate_readings(3000, 3, random.Random(2), end=END):
        for name in ("temperature_c", "humidity_pct", "battery_v"):
            value = getattr(reading, name)
            assert value is None or fields[name]["min"] <= value <= fields[name]["max"], (name, value)
        assert reading.status in fields["status"]["allowed"]


def test_the_malformed_fraction_is_rounded_to_a_whole_number_of_records() -> None:
    # Given 1000 records at 2.5% malformed, and 10 at 4%
    for count, fraction, expected in ((1000, 0.025, 25), (10, 0.04, 0)):
        entries = _entries(count, bad_fraction=fraction, seed=4)
        records = [{"recordId": str(n), "data": base64.b64encode(e["Data"]).decode()} for n, e in enumerate(entries)]

        # Then exactly round(count * fraction) of them fail the transformation
        assert len(entries) == count
        assert transform.transform_records(records, partition_by_device=False).counts["ProcessingFailed"] == expected


# --- Batching ---------------------------------------------------------------------------------------------------


def _entry(size: int, key: str = "sensor-0001") -> Any:
    return {"Data": b"x" * (size - len(key)), "PartitionKey": key}


def test_batches_hold_at_most_500_records() -> None:
    # Given 1201 small records; when batched; then 500, 500, 201, in order
    entries = [_entry(50, f"k{n}") for n in range(1201)]
    batches = list(producer.batch_entries(entries))
    assert [len(batch) for batch in batches] == [500, 500, 201]
    assert [entry for batch in batches for entry in batch] == entries


def test_batches_hold_at_most_5_mib_including_partition_keys() -> None:
    # Given records of exactly 1 MiB each, partition key included
    entries = [_entry(producer.MAX_RECORD_BYTES) for _ in range(12)]

    # When batched
    batches = list(producer.batch_entries(entries))

    # Then each call carries at most 5 MiB (5 such records) and nothing is lost
    assert [len(batch) for batch in batches] == [5, 5, 2]
    assert all(sum(producer.entry_size(e) for e in batch) <= producer.MAX_BYTES_PER_CALL for batch in batches)


def test_batch_size_counts_partition_key_bytes_in_utf8() -> None:
    # Given six records that fit one call if their keys are counted in characters (10 each), but not in bytes (20)
    key = "\u00e9" * 10
    entries = [{"Data": b"x" * (producer.MAX_BYTES_PER_CALL // 6 - 13), "PartitionKey": key} for _ in range(6)]
    assert 6 * (producer.MAX_BYTES_PER_CALL // 6 - 13 + len(key)) <= producer.MAX_BYTES_PER_CALL

    # When batched, then the sixth goes to a second call
    assert [len(batch) for batch in producer.batch_entries(entries)] == [5, 1]


def test_a_record_over_1_mib_is_refused_before_any_call() -> None:
    # Given a record one byte over the limit with its key; when batched; then it is refused, naming the record
    entries = [_entry(10), _entry(producer.MAX_RECORD_BYTES + 1)]
    with pytest.raises(ValueError, match="record 1 is 1048577 bytes with its partition key; Kinesis takes 1048576"):
        list(producer.batch_entries(entries))


@pytest.mark.parametrize("key", ["", "k" * 257])
def test_partition_keys_must_be_1_to_256_characters(key: str) -> None:
    # Given an empty or over-long partition key; when batched; then it is refused
    with pytest.raises(ValueError, match="partition key"):
        list(producer.batch_entries([{"Data": b"x", "PartitionKey": key}]))


# --- Retries ----------------------------------------------------------------------------------------------------


class ScriptedClient:
    """A put_records that fails the records at the given request positions, call by call."""

    def __init__(self, failures_per_call: Sequence[dict[int, str]]) -> None:
        self.failures_per_call = list(failures_per_call)
        self.calls: list[list[Any]] = []

    def put_records(self, *, Records: Sequence[Any], StreamName: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        """Answer like Kinesis: one result per record, in request order."""
        failures = self.failures_per_call[len(self.calls)] if len(self.calls) < len(self.failures_per_call) else {}
        self.calls.append(list(Records))
        results = [
            {"ErrorCode": failures[i], "ErrorMessage": "scripted"}
            if i in failures
            else {"SequenceNumber": f"{len(self.calls)}-{i}", "ShardId": "shardId-000000000000"}
            for i in range(len(Records))
        ]
        return {"FailedRecordCount": len(failures), "Records": results}


class UpperBound(random.Random):
    """Jitter that always picks the top of its range, so the backoff schedule is visible."""

    def uniform(self, a: float, b: float) -> float:
        """The upper bound."""
        return b


def test_only_the_failed_records_are_sent_again_after_a_backoff() -> None:
    # Given a client that throttles records 1 and 3 of the first call, then accepts everything
    entries = _entries(5)
    client = ScriptedClient([{1: "ProvisionedThroughputExceededException", 3: "InternalFailure"}])
    sleeps: list[float] = []

    # When the batch is put
    result = producer.put_batch(client, "ingest", entries, max_attempts=4, sleep=sleeps.append, rng=UpperBound())

    # Then the second call carries exactly those two records, after one backoff, and everything is written
    assert client.calls == [entries, [entries[1], entries[3]]]
    assert sleeps == [0.1]
    assert (result.written, result.not_written) == (5, 0)


def test_records_with_a_code_that_is_not_transient_are_not_retried() -> None:
    # Given a client that rejects one record with an error that another try would not fix
    entries = _entries(3)
    client = ScriptedClient([{0: "AccessDeniedException"}])
    sleeps: list[float] = []

    # When the batch is put, then there is no second call, and the record is counted as not written
    result = producer.put_batch(client, "ingest", entries, max_attempts=4, sleep=sleeps.append, rng=UpperBound())
    assert len(client.calls) == 1
    assert sleeps == []
    assert (result.written, result.not_written, result.error_codes) == (2, 1, Counter({"AccessDeniedException": 1}))


def test_backoff_grows_exponentially_up_to_its_cap_and_is_jittered() -> None:
    # Given attempts 1 to 10; then the upper bound doubles from 0.1 s and stops at the cap
    assert [producer.backoff_delay(n, UpperBound()) for n in range(1, 10)] == [
        0.1,
        0.2,
        0.4,
        0.8,
        1.6,
        3.2,
        6.4,
        10.0,
        10.0,
    ]
    # And with real jitter, each delay lies anywhere in [0, bound]
    rng = random.Random(0)
    delays = [producer.backoff_delay(4, rng) for _ in range(200)]
    assert all(0.0 <= delay <= 0.8 for delay in delays)
    assert min(delays) < 0.1
    assert max(delays) > 0.7


def test_exhausting_the_attempts_reports_the_records_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a stream that throttles the first record of every call
    client = ScriptedClient([{0: "ProvisionedThroughputExceededException"}] * 10)
    sleeps: list[float] = []

    # When the producer runs with 3 attempts
    argv = ["--stream-name", "ingest", "--records", "4", "--max-attempts", "3", "--seed", "1"]
    status = producer.main(argv, client=client, sleep=sleeps.append, now=lambda: END)

    # Then it tried 3 times, backing off between tries, and exits 1 with one line saying how many were not written
    assert [len(call) for call in client.calls] == [4, 1, 1]
    assert len(sleeps) == 2
    assert status == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"{PROG}: error: 1 of 4 records were not written to ingest after up to 3 attempts "
        "(ProvisionedThroughputExceededException x1)"
    )


def test_put_all_splits_into_calls_and_adds_up_the_results() -> None:
    # Given 1100 records and a client that fails one record of the second call for good
    entries = _entries(1100)
    client = ScriptedClient([{}, {7: "AccessDeniedException"}])

    # When everything is put
    result = producer.put_all(client, "ingest", entries, sleep=lambda _: None, rng=random.Random(0))

    # Then three calls were made within the limits and the totals add up
    assert [len(call) for call in client.calls] == [500, 500, 100]
    assert (result.written, result.not_written) == (1099, 1)


# --- Progress ---------------------------------------------------------------------------------------------------


def test_progress_prints_at_most_every_interval_and_always_at_the_end() -> None:
    # Given a progress reporter on a fake clock
    now = [0.0]
    out = io.StringIO()
    progress = producer.Progress(1000, stream=out, interval=2.0, clock=lambda: now[0])

    # When batches complete at 1 s, 2.5 s and 3 s, and the run ends at 4 s
    for at, written in ((1.0, 500), (2.5, 700), (3.0, 900)):
        now[0] = at
        progress.update(written, 0)
    now[0] = 4.0
    progress.finish(999, 1)

    # Then one line came after 2 s had passed, and one at the end
    assert out.getvalue().splitlines() == [
        "producer: 700/1000 records sent (70%), 0 not written, 280 records/s",
        "producer: 1000/1000 records sent (100%), 1 not written, 250 records/s",
    ]


# --- Where the stream name comes from ---------------------------------------------------------------------------


def _write_outputs(path: Path, content: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "outputs",
    [
        {"MlDataLake-sandbox-Ingestion": {"IngestStreamName": "sandbox-ingest", "IngestStreamArn": "arn:..."}},
        {"MlDataLake-sandbox-Ingestion": {"IngestIngestStreamName5F3A9C1B": "sandbox-ingest"}, "Other": {}},
    ],
)
def test_the_stream_name_is_read_from_the_cdk_outputs_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], outputs: dict[str, Any]
) -> None:
    # Given an outputs file with one output whose key ends with IngestStreamName (construct hash or not)
    path = _write_outputs(tmp_path / "outputs.json", outputs)

    # When the producer runs against it
    status = producer.main(["--stack-outputs", str(path), "--records", "2"], client=ScriptedClient([]), now=lambda: END)

    # Then it writes to that stream
    assert status == 0
    assert capsys.readouterr().out == "wrote 2 records (0 malformed on purpose) to sandbox-ingest\n"


def test_env_picks_outputs_env_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given outputs/dev.json in the working directory, as `cdk deploy --outputs-file outputs/dev.json` writes it
    _write_outputs(tmp_path / "outputs" / "dev.json", {"MlDataLake-dev-Ingestion": {"IngestStreamName": "dev-ingest"}})
    monkeypatch.chdir(tmp_path)

    # When the producer runs with --env dev
    status = producer.main(["--env", "dev", "--records", "3"], client=ScriptedClient([]), now=lambda: END)

    # Then it writes to that stream
    assert status == 0
    assert capsys.readouterr().out == "wrote 3 records (0 malformed on purpose) to dev-ingest\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"MlDataLake-sandbox-Lake": {"BucketName": "b"}}, "has no output ending with IngestStreamName"),
        ({}, "has no output ending with IngestStreamName (stacks: none)"),
        (
            {"A": {"IngestStreamName": "one"}, "B": {"IngestStreamName": "two"}},
            "has several outputs ending with IngestStreamName (A.IngestStreamName, B.IngestStreamName)",
        ),
        ({"A": {"IngestStreamName": ""}}, "the output ending with IngestStreamName is empty"),
        (["IngestStreamName"], "is not a CDK outputs file"),
        ("{not json", "is not valid JSON (line 1: Expecting property name enclosed in double quotes)"),
        (None, "not found"),
    ],
)
def test_an_unusable_outputs_file_is_a_one_line_error_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object, message: str
) -> None:
    # Given an outputs file that is missing, or does not name exactly one stream
    path = tmp_path / "outputs" / "sandbox.json"
    if content is not None:
        _write_outputs(path, content)
    client = ScriptedClient([])

    # When the producer starts
    with pytest.raises(SystemExit) as exited:
        producer.main(["--stack-outputs", str(path)], client=client)

    # Then it exits 2 before writing anything, with one line naming the flag, the file, the problem and the way out
    assert exited.value.code == 2
    assert client.calls == []
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith(f"{PROG}: error: --stack-outputs: {path}")
    assert message in error
    assert error.endswith("; or pass --stream-name")


def test_without_a_stream_name_or_outputs_file_the_error_names_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no outputs/sandbox.json in the working directory
    monkeypatch.chdir(tmp_path)

    # When the producer runs with neither --stream-name nor --stack-outputs, then --env is the flag to blame
    with pytest.raises(SystemExit):
        producer.main([], client=ScriptedClient([]))
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"{PROG}: error: --env: outputs/sandbox.json not found")


# --- Command line -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--records", "0"], "argument --records: 0 is too small; use 1 or more"),
        (["--records", "many"], "argument --records: 'many' is not a whole number"),
        (["--devices", "-3"], "argument --devices: -3 is too small; use 1 or more"),
        (["--bad-fraction", "1.5"], "argument --bad-fraction: 1.5 is outside 0..1 (0: none malformed, 1: all)"),
        (["--bad-fraction", "lots"], "argument --bad-fraction: 'lots' is not a number"),
        (["--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (
            ["--env", "Prod!"],
            "argument --env: 'Prod!' is not an environment name (a lower-case letter, then letters, digits or '-', 11 at most)",
        ),
        (
            ["--stream-name", "a", "--stack-outputs", "b"],
            "argument --stack-outputs: not allowed with argument --stream-name",
        ),
    ],
)
def test_bad_command_line_input_names_the_flag_the_value_and_what_is_allowed(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    # Given a bad flag value; when the producer starts; then it exits 2 before any AWS call with that message
    with pytest.raises(SystemExit) as exited:
        producer.main(argv, client=ScriptedClient([]))
    assert exited.value.code == 2
    # (startswith: how argparse lists the choices of --format differs between Python versions)
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"{PROG}: error: {message}")
