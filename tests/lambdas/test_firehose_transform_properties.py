"""Whatever Firehose hands over, the response honours the contract: a property test over generated batches.

The oracle here is the schema file itself, read independently of the transform's own compiled version.
"""

from __future__ import annotations

import base64
import json
import math
import re
import string
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.firehose_transform import transform

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "lambdas" / "firehose_transform" / "sensor_event_schema.json").read_text()
)
FIELDS = SCHEMA["fields"]
COLUMNS = SCHEMA["csv_columns"]
UTC_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z")

# --- Generated input ----------------------------------------------------------------------------------------------


def mostly(usual: st.SearchStrategy[Any], unusual: st.SearchStrategy[Any], odds: int = 4) -> st.SearchStrategy[Any]:
    """Draw from ``unusual`` about once in ``odds + 1``, so that valid readings, and the Ok path, are exercised too.

    The unusual branch sits on the largest integer because Hypothesis favours, and shrinks towards, small ones.
    """
    return st.integers(0, odds).flatmap(lambda n: unusual if n == odds else usual)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=4,
)
device_ids = mostly(
    st.text(string.ascii_letters + string.digits + "_.:-", min_size=1, max_size=64),
    st.sampled_from(["x" * 65, "bad id", "a/b", "", " "]) | st.text(max_size=10),
    odds=12,
)
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda m: f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
)
event_times = mostly(
    st.one_of(
        st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
        st.tuples(st.datetimes(), offsets).map(lambda pair: pair[0].isoformat(sep=" ") + pair[1]),
        st.integers(min_value=0, max_value=4 * 10**12),
        st.floats(min_value=0, max_value=4e9),
    ),
    st.one_of(
        st.sampled_from(["2026-11-26T08:15:00", "2026-02-30T08:15:00Z", "yesterday", "", "1e999"]),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(allow_nan=False),
        st.text(max_size=25),
    ),
    odds=12,
)
numbers = mostly(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.none(),
    ),
    st.one_of(st.sampled_from(["1e999", "nan", "warm", "", "\u0663", "1_0"]), st.integers(), st.text(max_size=5)),
    odds=12,
)
statuses = mostly(st.sampled_from(["ok", "OK", " warning ", "Error"]), st.sampled_from(["on-fire", "", "o k"]), odds=12)
extra_keys = st.sampled_from(["firmware", "location", "\u00e9tage"]) | st.text(max_size=5)
plausible = {
    "device_id": device_ids,
    "event_time": event_times,
    "status": statuses,
    **dict.fromkeys(("temperature_c", "humidity_pct", "battery_v"), numbers),
}


@st.composite
def json_lines(draw: st.DrawFn) -> str:
    """A JSON object with the schema fields (mostly plausible values, now and then missing or random) and extras."""
    document: dict[str, Any] = {}
    for name, values in plausible.items():
        # Small integers are Hypothesis's favourites: they mean "present" and "plausible" here.
        if draw(st.integers(0, 9)) < 9:
            document[name] = draw(values) if draw(st.integers(0, 19)) < 19 else draw(json_values)
    document.update(draw(st.dictionaries(extra_keys, json_values, max_size=2)))
    # allow_nan: an infinite event_time is written as the non-JSON literal Infinity, which must be rejected
    return json.dumps(document, ensure_ascii=draw(st.booleans()), allow_nan=True)


@st.composite
def csv_lines(draw: st.DrawFn) -> str:
    """A CSV line, usually with the right column count, sometimes not."""
    cells = [
        str(draw(device_ids)),
        str(draw(event_times)),
        *(("" if value is None else str(value)) for value in (draw(numbers) for _ in range(3))),
        draw(statuses),
    ]
    if draw(st.integers(0, 9)) == 9:
        cells = cells[: draw(st.integers(0, 5))] + draw(st.lists(st.text(string.printable, max_size=5), max_size=3))
    return ",".join(cells)


lines = mostly(
    csv_lines() | json_lines(),
    st.one_of(
        st.just(",".join(COLUMNS)),
        st.just(""),
        st.text(max_size=40),
        json_values.map(json.dumps),
        # A huge value: the record is large, and must still come back whole, one way or the other
        json_lines().map(lambda line: line[:-1] + ', "blob": "' + "z" * 20_000 + '"}'),
    ),
)
payloads = mostly(
    st.lists(lines, min_size=1, max_size=2).flatmap(
        lambda parts: st.sampled_from(["\n", "\r\n"]).map(lambda sep: sep.join(parts).encode("utf-8"))
    ),
    st.one_of(
        st.binary(max_size=64),
        st.binary(max_size=16).map(lambda tail: b"\xff" + tail),  # never valid UTF-8
    ),
)
record_data = mostly(
    payloads.map(lambda raw: base64.b64encode(raw).decode("ascii")),
    st.text(max_size=20),  # usually not base64: Firehose never sends that, but the response must still be valid
)


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A Firehose batch of up to 5 records with unique ids (small batches keep the 200 examples quick)."""
    ids = draw(st.lists(st.text(min_size=1, max_size=12), max_size=5, unique=True))
    return [{"recordId": record_id, "approximateArrivalTimestamp": 0, "data": draw(record_data)} for record_id in ids]


# --- The oracle ---------------------------------------------------------------------------------------------------


def _assert_conforms(reading: object) -> None:
    """A delivered reading has every schema field, in order, first, each of the declared type and rules."""
    assert isinstance(reading, dict)
    assert list(reading)[: len(FIELDS)] == [field["name"] for field in FIELDS]
    for field in FIELDS:
        value = reading[field["name"]]
        if value is None:
            assert not field["required"], field["name"]
        elif field["type"] == "double":
            assert type(value) is float
            assert math.isfinite(value)
        elif field["type"] == "timestamp":
            assert UTC_TIMESTAMP.fullmatch(value), value
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            assert isinstance(value, str)
            if "pattern" in field:
                assert re.fullmatch(field["pattern"], value), value
            if "allowed" in field:
                assert value in field["allowed"]


def _delivered(data: str) -> list[Any]:
    raw = base64.b64decode(data, validate=True)
    assert base64.b64encode(raw).decode("ascii") == data  # canonical base64, nothing trailing
    text = raw.decode("utf-8")
    assert text.endswith("\n")
    lines = text[:-1].split("\n")
    assert all(lines)  # one object per line, no blank lines
    return [json.loads(line) for line in lines]


def _original_only_size(records: list[dict[str, Any]]) -> int:
    """The size of the response if every record came back failed with its original data."""
    fallback = [{"recordId": r["recordId"], "result": "ProcessingFailed", "data": r["data"]} for r in records]
    return len(json.dumps({"records": fallback}))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    records=batches(),
    partition_by_device=st.booleans(),
    limit=st.sampled_from([transform.LAMBDA_RESPONSE_LIMIT_BYTES, 4000, 300]),
)
def test_any_batch_gets_a_valid_firehose_response(
    records: list[dict[str, Any]], partition_by_device: bool, limit: int
) -> None:
    # Given any batch: arbitrary bytes, invalid UTF-8, blank lines, huge values, wrong column counts, random JSON

    # When transformed
    batch = transform.transform_records(records, partition_by_device=partition_by_device, max_response_bytes=limit)

    # Then every recordId comes back once, in order, with a known result
    assert [entry["recordId"] for entry in batch.records] == [record["recordId"] for record in records]
    counts = {"Ok": 0, "Dropped": 0, "ProcessingFailed": 0}
    for record, entry in zip(records, batch.records, strict=True):
        counts[entry["result"]] += 1
        if entry["result"] == "Ok":
            # And Ok data is base64 of newline-terminated JSON objects that conform to the schema
            readings = _delivered(entry["data"])
            assert readings
            for reading in readings:
                _assert_conforms(reading)
            # And partition keys, present only when partitioning by device, match every reading
            if partition_by_device:
                keys = entry["metadata"]["partitionKeys"]
                for reading in readings:
                    moment = reading["event_time"]
                    assert keys == {
                        "device_id": reading["device_id"],
                        "year": moment[:4],
                        "month": moment[5:7],
                        "day": moment[8:10],
                        "hour": moment[11:13],
                    }
            else:
                assert "metadata" not in entry
        else:
            # And anything else comes back exactly as it came, never silently lost
            assert entry["data"] == record["data"]
            assert "metadata" not in entry
            try:
                base64.b64decode(record["data"], validate=True)
            except ValueError:  # binascii.Error, or non-ASCII text
                assert entry["result"] == "ProcessingFailed"
    assert batch.counts == counts
    # And every failure is explained once, by record
    assert [failure.record_id for failure in batch.failures] == [
        entry["recordId"] for entry in batch.records if entry["result"] == "ProcessingFailed"
    ]
    # And the response size is accounted exactly, and within the limit whenever returning the originals would be
    assert batch.response_bytes == len(json.dumps({"records": batch.records}))
    assert batch.response_bytes <= max(limit, _original_only_size(records))
