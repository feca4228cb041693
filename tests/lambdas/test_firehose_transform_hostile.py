"""Hostile values never fail an invocation, and the fast path answers exactly as the transform always did.

Two kinds of property: whatever value sits in whatever field (non-finite numbers, huge integers, deep nesting, lone
surrogates), every record gets its own result and what is ``Ok`` is strict UTF-8 JSON that Athena can read; and the
transform gives byte-identical responses to ``reference_transform`` (the implementation before the fast path) on
every batch that version could answer.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.bench_transform import build_records
from lambdas.firehose_transform import handler, transform
from tests.lambdas import reference_transform
from tests.lambdas.test_firehose_transform_properties import batches

LoadEvent = Callable[[str], dict[str, Any]]
GOOD = {
    "device_id": "sensor-0001",
    "event_time": "2026-11-26T08:15:00Z",
    "temperature_c": 21.5,
    "humidity_pct": 40.0,
    "battery_v": 3.7,
    "status": "ok",
}

# --- Generated hostile input -------------------------------------------------------------------------------------

# JSON text of values Python's decoder accepts or nearly accepts, but strict JSON writers and Athena do not.
hostile_leaves = st.one_of(
    st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "-Infinity", "1E400", "-0.0", "4.9e-324", "1e308"]),
    st.integers(min_value=4000, max_value=4400).map(lambda digits: "9" * digits),  # around the int-string limit
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(['"\\ud800"', '"\\udfff tail"', '"\\ud83d\\ude00"', '"\\u0000"', '"\\u2028"', '"caf\u00e9"']),
    st.text(max_size=8).map(lambda text: json.dumps(text, ensure_ascii=False)),
    st.sampled_from(["true", "false", "null", "[]", "{}"]),
)


@st.composite
def hostile_values(draw: st.DrawFn) -> str:
    """A JSON value's text: a hostile leaf, wrapped in arrays and objects, now and then nested very deeply."""
    text = draw(hostile_leaves)
    for _ in range(draw(st.integers(0, 3))):
        key = json.dumps(draw(st.text(max_size=3)))
        text = f"[{text}]" if draw(st.booleans()) else f"{{{key}:{text}}}"
    if draw(st.integers(0, 9)) == 9:
        depth = draw(st.sampled_from([50, 900, 3000, 20_000]))
        text = "[" * depth + text + "]" * depth
    return text


@st.composite
def hostile_lines(draw: st.DrawFn) -> str:
    """A valid reading with a hostile value in one of its fields, or in an extra one (whose name may be hostile too)."""
    members = {json.dumps(name): json.dumps(value) for name, value in GOOD.items()}
    key = draw(st.sampled_from([*members, '"firmware"', '"\\ud800"', '"x"']))
    members[key] = draw(hostile_values())
    return "{" + ",".join(f"{name}:{value}" for name, value in members.items()) + "}"


@st.composite
def hostile_batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Up to four records of one or two lines each, every line a reading with a hostile value somewhere."""
    records = []
    for number in range(draw(st.integers(1, 4))):
        text = "\n".join(draw(st.lists(hostile_lines(), min_size=1, max_size=2)))
        data = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
        records.append({"recordId": f"record-{number}", "approximateArrivalTimestamp": 0, "data": data})
    return records


# --- Oracles -----------------------------------------------------------------------------------------------------


def _reject(constant: str) -> None:
    raise AssertionError(f"{constant} is not strict JSON")


def _finite(text: str) -> float:
    value = float(text)
    assert math.isfinite(value), text
    return value


def _assert_strict_json_lines(data: str) -> None:
    """Ok data is UTF-8 (no lone surrogate), newline-terminated JSON objects with no NaN or infinity anywhere."""
    text = base64.b64decode(data, validate=True).decode("utf-8", errors="strict")
    assert text.endswith("\n")
    for line in text[:-1].split("\n"):
        assert isinstance(json.loads(line, parse_constant=_reject, parse_float=_finite), dict)


def _assert_identical(records: list[dict[str, Any]], partition_by_device: bool, limit: int) -> None:
    """The transform's answer is the reference's, wherever the reference answers at all."""
    try:
        expected = reference_transform.transform_records(
            records, partition_by_device=partition_by_device, max_response_bytes=limit
        )
    except ValueError:  # the reference's encoder raised on infinity: the invocation would have failed
        return
    actual = transform.transform_records(records, partition_by_device=partition_by_device, max_response_bytes=limit)
    assert json.dumps(actual.records) == json.dumps(expected.records)
    assert (actual.counts, actual.response_bytes) == (expected.counts, expected.response_bytes)
    assert [f.record_id for f in actual.failures] == [f.record_id for f in expected.failures]


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# --- Properties --------------------------------------------------------------------------------------------------


@SETTINGS
@given(records=hostile_batches(), partition_by_device=st.booleans())
def test_a_hostile_value_in_any_field_yields_a_result_per_record(
    records: list[dict[str, Any]], partition_by_device: bool
) -> None:
    # Given readings with non-finite numbers, huge integers, deep nesting or lone surrogates in any field

    # When transformed, then nothing raises: every record gets its own result, in order
    batch = transform.transform_records(records, partition_by_device=partition_by_device)
    assert [entry["recordId"] for entry in batch.records] == [record["recordId"] for record in records]
    failed = {failure.record_id: failure.reason for failure in batch.failures}
    for record, entry in zip(records, batch.records, strict=True):
        if entry["result"] == "Ok":
            # And what is Ok is strict JSON in valid UTF-8
            _assert_strict_json_lines(entry["data"])
        else:
            # And anything else is ProcessingFailed with its original data and a one-line reason
            assert entry == {"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]}
            assert failed[record["recordId"]]
            assert "\n" not in failed[record["recordId"]]


@SETTINGS
@given(records=hostile_batches(), partition_by_device=st.booleans())
def test_hostile_batches_get_the_reference_answer_wherever_it_had_one(
    records: list[dict[str, Any]], partition_by_device: bool
) -> None:
    # Given hostile batches; when transformed; then the response is the reference's unless the reference raised
    _assert_identical(records, partition_by_device, transform.LAMBDA_RESPONSE_LIMIT_BYTES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    records=batches(),
    partition_by_device=st.booleans(),
    limit=st.sampled_from([transform.LAMBDA_RESPONSE_LIMIT_BYTES, 4000, 300]),
)
def test_any_batch_gets_the_reference_answer(
    records: list[dict[str, Any]], partition_by_device: bool, limit: int
) -> None:
    # Given the generated batches of the contract's property test (valid, odd and broken records, tight limits)
    # When transformed, then the response is byte for byte the reference's
    _assert_identical(records, partition_by_device, limit)


# --- Recorded and generated batches ------------------------------------------------------------------------------


@pytest.mark.parametrize("partition_by_device", [False, True])
@pytest.mark.parametrize("name", ["firehose_csv.json", "firehose_json.json", "firehose_mixed_bad.json"])
def test_recorded_events_get_the_reference_answer(
    firehose_event: LoadEvent, name: str, partition_by_device: bool
) -> None:
    # Given a recorded event; when transformed; then the response is the reference's
    _assert_identical(firehose_event(name)["records"], partition_by_device, transform.LAMBDA_RESPONSE_LIMIT_BYTES)


@pytest.mark.parametrize("unique", [False, True])
@pytest.mark.parametrize("partition_by_device", [False, True])
def test_the_benchmark_batches_get_the_reference_answer(unique: bool, partition_by_device: bool) -> None:
    # Given the producer's readings as the benchmark builds them (CSV and JSON, 1% malformed), usual or all unique
    records = build_records(3000, seed=11, unique=unique)

    # When transformed (whole, and under a limit that forces records back to their original data), then the
    # responses are the reference's
    _assert_identical(records, partition_by_device, transform.LAMBDA_RESPONSE_LIMIT_BYTES)
    _assert_identical(records, partition_by_device, 300_000)


HOSTILE_EXPECTED = [
    ("Ok", None),
    ("ProcessingFailed", "x: holds a number too large for a double (JSON has no infinity)"),
    ("ProcessingFailed", "calibration: holds a number too large for a double (JSON has no infinity)"),
    ("ProcessingFailed", "NaN is not valid JSON"),
    ("ProcessingFailed", "-Infinity is not valid JSON"),
    ("Ok", None),  # 4,000 digits: a valid JSON integer, kept as it came
    ("ProcessingFailed", "invalid JSON (number too long)"),
    ("Ok", None),  # 900 nested arrays
    ("ProcessingFailed", "invalid JSON (nested too deeply)"),
    ("ProcessingFailed", "note: holds an unpaired surrogate escape, which UTF-8 cannot encode"),
    ("ProcessingFailed", "a field: holds an unpaired surrogate escape, which UTF-8 cannot encode"),
    ("ProcessingFailed", "temperature_c: not a finite number"),
    ("Ok", None),  # 1e308, -0.0, an escaped NUL and a line separator: all strict JSON
    ("ProcessingFailed", "reading 2: x: holds a number too large for a double (JSON has no infinity)"),
]


@pytest.mark.parametrize("mode", ["time", "device"])
def test_a_recorded_batch_of_hostile_values_gets_one_result_per_record(
    firehose_event: LoadEvent, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    # Given a recorded batch with 1e999 and NaN in extra fields, huge integers, deep nesting and lone surrogates
    event = firehose_event("firehose_hostile_values.json")
    monkeypatch.setenv("PARTITIONING", mode)
    caplog.set_level("WARNING", logger="firehose_transform")

    # When the handler transforms it, then the invocation succeeds with the expected result for each record
    response = handler.handler(event, None)
    assert [entry["result"] for entry in response["records"]] == [result for result, _ in HOSTILE_EXPECTED]
    # And each failure is logged with a reason naming the field
    logged = [json.loads(record.getMessage())["reason"] for record in caplog.records]
    assert logged == [reason for _, reason in HOSTILE_EXPECTED if reason]
    # And every Ok record is strict JSON
    for entry in response["records"]:
        if entry["result"] == "Ok":
            _assert_strict_json_lines(entry["data"])
