"""The Firehose transformation handler over recorded events: a thin handler over a pure function.

The events in tests/events/ have the exact shape Firehose sends for a Kinesis-stream source; these tests hold the
handler to the Firehose contract (every recordId once, in order; base64 data; original data on failure) and to the
Lambda packaging (the asset folder imported as top-level modules, standard library only).
"""

from __future__ import annotations

import base64
import gc
import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambdas.firehose_transform import handler

ASSET = Path(handler.__file__).resolve().parent
EVENT_FILES = ("firehose_csv.json", "firehose_json.json", "firehose_mixed_bad.json")
LoadEvent = Callable[[str], dict[str, Any]]


def _lines(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON objects in an Ok entry's data, checking the newline framing on the way."""
    text = base64.b64decode(entry["data"], validate=True).decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text[:-1].split("\n")]


@pytest.fixture
def time_partitioning(monkeypatch: pytest.MonkeyPatch) -> None:
    """PARTITIONING unset: the default, time-based layout."""
    monkeypatch.delenv("PARTITIONING", raising=False)


@pytest.fixture
def device_partitioning(monkeypatch: pytest.MonkeyPatch) -> None:
    """PARTITIONING=device: Ok records carry partition keys."""
    monkeypatch.setenv("PARTITIONING", "device")


@pytest.mark.parametrize("mode", ["time", "device"])
@pytest.mark.parametrize("name", EVENT_FILES)
def test_every_record_id_comes_back_once_in_order(
    firehose_event: LoadEvent, monkeypatch: pytest.MonkeyPatch, name: str, mode: str
) -> None:
    # Given a recorded batch
    event = firehose_event(name)
    monkeypatch.setenv("PARTITIONING", mode)

    # When the handler transforms it
    response = handler.handler(event, None)

    # Then the response has exactly the input recordIds, in order, each with a known result and base64 data
    assert list(response) == ["records"]
    assert [entry["recordId"] for entry in response["records"]] == [record["recordId"] for record in event["records"]]
    for entry in response["records"]:
        assert entry["result"] in {"Ok", "Dropped", "ProcessingFailed"}
        assert set(entry) <= {"recordId", "result", "data", "metadata"}
        if entry["result"] == "Ok":
            base64.b64decode(entry["data"], validate=True)


@pytest.mark.usefixtures("time_partitioning")
def test_csv_readings_become_json_lines_and_the_header_is_dropped(firehose_event: LoadEvent) -> None:
    # Given CSV records: a header, then readings with an offset, an epoch, an empty cell, upper case and a CRLF
    event = firehose_event("firehose_csv.json")

    # When transformed
    response = handler.handler(event, None)

    # Then the header is dropped and every reading is one normalised JSON line
    entries = response["records"]
    assert [entry["result"] for entry in entries] == ["Dropped", "Ok", "Ok", "Ok", "Ok"]
    assert [_lines(entry) for entry in entries[1:]] == [
        [_reading("sensor-0001", "2026-11-26T08:15:00Z", 21.4, 45.2, 3.71, "ok")],
        [_reading("sensor-0002", "2026-11-26T08:15:02.250Z", 19.8, None, 3.65, "warning")],
        [_reading("sensor-0003", "2026-11-26T08:15:10Z", 22.1, 51.0, 3.9, "ok")],
        [_reading("sensor-0001", "2026-11-26T08:15:05Z", 21.5, 45.0, 3.71, "ok")],
    ]


@pytest.mark.usefixtures("time_partitioning")
def test_json_readings_are_normalised_and_keep_their_extra_fields(firehose_event: LoadEvent) -> None:
    # Given JSON records: extra fields, an offset, numeric strings, epoch milliseconds, NDJSON, a pretty-printed object
    event = firehose_event("firehose_json.json")

    # When transformed
    response = handler.handler(event, None)

    # Then each is Ok, normalised, extra fields kept as they came, and a two-line record gives two lines
    entries = response["records"]
    assert [entry["result"] for entry in entries] == ["Ok"] * 6
    assert [_lines(entry) for entry in entries] == [
        [_reading("sensor-0004", "2026-11-26T08:15:00Z", 20.5, 48.0, 3.8, "ok") | {"firmware": "2.4.1"}],
        [_reading("sensor-0005", "2026-11-26T08:15:30Z", 18.25, 55.0, None, "ok")],
        [_reading("sensor-0006", "2026-11-26T08:15:20.500Z", 23.0, 40.5, 3.55, "warning")],
        [
            _reading("sensor-0004", "2026-11-26T08:16:00Z", 20.6, 48.1, 3.8, "ok"),
            _reading("sensor-0004", "2026-11-26T08:17:00Z", 20.7, 48.3, 3.8, "ok"),
        ],
        [
            _reading("sensor-0007", "2026-11-26T08:15:45.125Z", 19.0, None, None, "ok")
            | {"location": {"site": "plant-a", "floor": 2}}
        ],
        [_reading("sensor-0008", "2026-11-26T08:15:50Z", None, 61.2, 3.2, "error")],
    ]
    # And the schema's fields come first, in schema order, before the extras
    assert list(_lines(entries[0])[0]) == [*_FIELD_ORDER, "firmware"]


# What each record of firehose_mixed_bad.json holds, and why it fails when it does.
MIXED_EXPECTED = [
    ("Ok", None),
    ("ProcessingFailed", "data is not valid base64"),
    ("ProcessingFailed", "data is not valid UTF-8"),
    ("ProcessingFailed", "invalid JSON"),
    ("ProcessingFailed", "expected 6 CSV columns, got 5"),
    ("ProcessingFailed", "device_id: required field is missing"),
    ("ProcessingFailed", "temperature_c: expected a number, got a boolean"),
    ("ProcessingFailed", "event_time: not an ISO-8601 timestamp"),
    ("ProcessingFailed", "status: not one of error, ok, warning"),
    ("Dropped", None),
    ("ProcessingFailed", "line 2: status: not one of"),
    ("Ok", None),
    ("ProcessingFailed", "event_time: timestamp has no UTC offset"),
]


@pytest.mark.usefixtures("time_partitioning")
def test_bad_records_fail_with_their_original_data(firehose_event: LoadEvent) -> None:
    # Given a batch mixing good records with every kind of bad one
    event = firehose_event("firehose_mixed_bad.json")

    # When transformed
    response = handler.handler(event, None)

    # Then each gets the expected result, and failed or dropped records carry their input data byte for byte
    assert [entry["result"] for entry in response["records"]] == [result for result, _ in MIXED_EXPECTED]
    for record, entry in zip(event["records"], response["records"], strict=True):
        if entry["result"] != "Ok":
            assert entry["data"] == record["data"]
    # And the readings that were fine are delivered, range checks left to the Glue job (1e3 °C passes here)
    assert _lines(response["records"][0]) == [_reading("sensor-0001", "2026-11-26T08:15:00Z", 21.4, 45.2, 3.71, "ok")]
    assert _lines(response["records"][11])[0]["temperature_c"] == 1000.0


@pytest.mark.usefixtures("time_partitioning")
def test_each_failure_is_logged_on_one_line_with_its_reason_and_without_the_payload(
    firehose_event: LoadEvent, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the mixed batch, whose bad records include recognisable payload text
    event = firehose_event("firehose_mixed_bad.json")
    caplog.set_level(logging.INFO, logger="firehose_transform")

    # When transformed
    handler.handler(event, None)

    # Then every failed record has exactly one warning, a one-line JSON object naming the record and the reason
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert all("\n" not in message for message in warnings)
    logged = [json.loads(message) for message in warnings]
    failed = [
        (record["recordId"], reason)
        for record, (result, reason) in zip(event["records"], MIXED_EXPECTED, strict=True)
        if result == "ProcessingFailed"
    ]
    assert [entry["recordId"] for entry in logged] == [record_id for record_id, _ in failed]
    for entry, (_, reason) in zip(logged, failed, strict=True):
        assert reason is not None
        assert entry["reason"].startswith(reason)
        assert entry["invocationId"] == event["invocationId"]
    # And no payload content reaches the log
    assert not any(text in message for message in warnings for text in ("yesterday", "on-fire", "melting"))
    # And one summary line counts the outcomes
    summaries = [json.loads(r.getMessage()) for r in caplog.records if r.levelno == logging.INFO]
    assert summaries == [
        {
            "message": "batch transformed",
            "invocationId": event["invocationId"],
            "records": 13,
            "ok": 2,
            "dropped": 1,
            "failed": 10,
            "responseBytes": len(json.dumps(handler.handler(event, None))),
        }
    ]


@pytest.mark.usefixtures("time_partitioning")
@pytest.mark.parametrize("name", EVENT_FILES)
def test_time_partitioning_returns_no_partition_keys(firehose_event: LoadEvent, name: str) -> None:
    # Given the default partitioning (Firehose files objects by arrival time)
    event = firehose_event(name)

    # When transformed
    response = handler.handler(event, None)

    # Then no entry carries metadata
    assert all("metadata" not in entry for entry in response["records"])


@pytest.mark.usefixtures("device_partitioning")
@pytest.mark.parametrize("name", EVENT_FILES)
def test_device_partitioning_keys_every_ok_record_from_its_data(firehose_event: LoadEvent, name: str) -> None:
    # Given PARTITIONING=device
    event = firehose_event(name)

    # When transformed
    response = handler.handler(event, None)

    # Then every Ok entry, and only those, carries the device and UTC hour of its readings
    for entry in response["records"]:
        if entry["result"] != "Ok":
            assert "metadata" not in entry
            continue
        for reading in _lines(entry):
            moment = reading["event_time"]
            assert entry["metadata"] == {
                "partitionKeys": {
                    "device_id": reading["device_id"],
                    "year": moment[0:4],
                    "month": moment[5:7],
                    "day": moment[8:10],
                    "hour": moment[11:13],
                }
            }


@pytest.mark.usefixtures("device_partitioning")
def test_partition_keys_follow_the_utc_time_not_the_local_one(firehose_event: LoadEvent) -> None:
    # Given a reading taken at 03:15:30 at UTC-5, i.e. 08:15:30 UTC
    event = firehose_event("firehose_json.json")

    # When transformed
    response = handler.handler(event, None)

    # Then it is filed under hour 08
    assert response["records"][1]["metadata"]["partitionKeys"] == {
        "device_id": "sensor-0005",
        "year": "2026",
        "month": "11",
        "day": "26",
        "hour": "08",
    }


@pytest.mark.parametrize("value", ["DEVICE", " device "])
def test_partitioning_value_is_read_leniently(
    firehose_event: LoadEvent, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # Given a PARTITIONING value differing only in case or spaces
    monkeypatch.setenv("PARTITIONING", value)

    # When a batch is transformed
    response = handler.handler(firehose_event("firehose_csv.json"), None)

    # Then device partitioning is on
    assert "metadata" in response["records"][1]


def test_unknown_partitioning_value_fails_the_invocation(
    firehose_event: LoadEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a typo in PARTITIONING
    monkeypatch.setenv("PARTITIONING", "hourly")

    # When a batch arrives, then the invocation fails loudly (Firehose retries, then uses the error prefix) with a
    # message naming the variable, the value and what is allowed
    with pytest.raises(ValueError, match=r"PARTITIONING='hourly' is not allowed; use one of time, device"):
        handler.handler(firehose_event("firehose_csv.json"), None)


def test_the_asset_runs_as_the_lambda_runtime_imports_it(
    firehose_event: LoadEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the asset folder as the only code on sys.path, as in /var/task, and no site-packages (-S), so only the
    # standard library is importable besides the asset (-B: and no __pycache__ left in the asset folder)
    event = firehose_event("firehose_mixed_bad.json")
    script = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import handler\n"
        "response = handler.handler(json.load(sys.stdin), None)\n"
        "ours = sorted(name for name in sys.modules if name.split('.')[0] in {'handler', 'transform', 'lambdas'})\n"
        "print(json.dumps({'response': response, 'modules': ours}))\n"
    )

    # When the handler module is imported top-level by a separate interpreter and invoked
    completed = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-I", "-S", "-B", "-c", script, str(ASSET)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        check=False,
        env={"PARTITIONING": "device"},
        timeout=60,
    )

    # Then it runs, imports the pure logic as the top-level module "transform", not through the package
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["modules"] == ["handler", "transform"]
    # And answers exactly as the package import does
    monkeypatch.setenv("PARTITIONING", "device")
    assert result["response"] == handler.handler(event, None)


_FIELD_ORDER = ("device_id", "event_time", "temperature_c", "humidity_pct", "battery_v", "status")


def _reading(
    device_id: str,
    event_time: str,
    temperature_c: float | None,
    humidity_pct: float | None,
    battery_v: float | None,
    status: str,
) -> dict[str, Any]:
    return dict(zip(_FIELD_ORDER, (device_id, event_time, temperature_c, humidity_pct, battery_v, status), strict=True))


@pytest.mark.parametrize("collecting", [True, False])
def test_the_handler_leaves_the_garbage_collector_as_it_found_it(
    firehose_event: LoadEvent, monkeypatch: pytest.MonkeyPatch, collecting: bool
) -> None:
    # Given the cyclic garbage collector on or off (the handler pauses it while it builds the entries)
    monkeypatch.delenv("PARTITIONING", raising=False)
    (gc.enable if collecting else gc.disable)()
    try:
        # When a batch is transformed, then the collector is in the same state afterwards
        handler.handler(firehose_event("firehose_csv.json"), None)
        assert gc.isenabled() is collecting
    finally:
        gc.enable()
