"""The fast path and the general path answer every record alike: a property test over records near the lake's form.

The other differential tests mostly generate records the fast path declines (spaced JSON, random text), so these
readings are built to sit on its edge: canonical ones, which it must take, and near misses (an integer for a double,
a trailing zero, ``.000``, 29 February, a capital status, a repeated key, an escape, a non-ASCII character), which it
may take or leave. Whatever it takes must come out exactly as the general path writes it, metadata and size included.
And the fast path's expressions, written with possessive repeats and atomic groups for speed, match exactly what
their plain backtracking spelling matches.
"""

from __future__ import annotations

import base64
import json
import re
import string
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.firehose_transform import transform
from tests.lambdas import reference_transform

DEVICE_ALPHABET = string.ascii_letters + string.digits + "_.:-"
COLUMNS = ("device_id", "event_time", "temperature_c", "humidity_pct", "battery_v", "status")
DOUBLES = ("temperature_c", "humidity_pct", "battery_v")

# --- Canonical readings: what the producer sends, which the fast path must take ------------------------------------

devices = st.text(DEVICE_ALPHABET, min_size=1, max_size=64)
# Days 1-28 exist in every month of every year: 29 February is deliberately left to the general path.
moments = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 28)).filter(lambda m: m.day <= 28)


def canonical_time(moment: datetime) -> str:
    """ISO-8601 UTC with Z, milliseconds only when there are some: the lake's form."""
    text = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment:%H:%M:%S}"
    millis = moment.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


# Decimals of at most 10 significant digits, in plain notation: repr() writes them back as they are.
doubles = st.builds(lambda units, places: repr(units / 10**places), st.integers(-(10**9), 10**9), st.integers(0, 4))
statuses = st.sampled_from(["ok", "warning", "error"])
extra_values = st.one_of(
    st.text(string.printable.replace('"', "").replace("\\", "").strip(), max_size=8).map(json.dumps),
    st.sampled_from(["true", "false", "null", "0", "-7", "12.5"]),
)


@st.composite
def canonical_cells(draw: st.DrawFn) -> dict[str, str | None]:
    """One reading's values as text, as the lake writes them; None is an absent double."""
    cells: dict[str, str | None] = {
        "device_id": draw(devices),
        "event_time": canonical_time(draw(moments)),
        **{name: draw(st.none() | doubles) for name in DOUBLES},
        "status": draw(statuses),
    }
    return cells


def as_json(cells: dict[str, str | None], extra: tuple[str, str] | None) -> str:
    """The compact JSON line of a reading, with its extra field (name and JSON text) if any."""
    members = [
        f'"{name}":{"null" if value is None else value if name in DOUBLES else json.dumps(value)}'
        for name, value in cells.items()
    ]
    if extra is not None:
        members.append(f"{json.dumps(extra[0])}:{extra[1]}")
    return "{" + ",".join(members) + "}"


def as_csv(cells: dict[str, str | None]) -> str:
    return ",".join("" if cells[name] is None else str(cells[name]) for name in COLUMNS)


# --- Near misses ----------------------------------------------------------------------------------------------------

NEAR_MISSES: dict[str, st.SearchStrategy[str]] = {
    "device_id": st.sampled_from(["x" * 65, "a b", "caf\u00e9", "a,b", 'a"b', " padded", "a\\u0041"]),
    "event_time": st.sampled_from(
        [
            "2024-02-29T10:00:00Z",
            "2025-02-29T10:00:00Z",
            "2026-11-26T08:15:00.000Z",
            "2026-11-26T08:15:00.5Z",
            "2026-11-26T08:15:00+01:00",
            "2026-11-26 08:15:00Z",
            "2026-11-26T24:00:00Z",
            "0000-01-01T00:00:00Z",
            "1764144900",
        ]
    ),
    "temperature_c": st.sampled_from(
        ["18", "18.750", "1e-05", "0.00001", "1e+16", "-0.0", "0.1234567890123456", "007.5"]
    ),
    "status": st.sampled_from(["OK", " ok", "Warning", "unknown", ""]),
}


@st.composite
def near_miss_cells(draw: st.DrawFn) -> dict[str, str | None]:
    """A canonical reading with one value the fast path may well decline."""
    cells = draw(canonical_cells())
    field = draw(st.sampled_from(sorted(NEAR_MISSES)))
    cells[field] = draw(NEAR_MISSES[field])
    return cells


plain_extras = st.none() | st.tuples(st.sampled_from(["firmware", "location"]), extra_values)
# Also a schema key again, a non-ASCII name and one with an escape: all near misses.
extras = st.none() | st.tuples(
    st.sampled_from(["firmware", "location", "device_id", "status", "caf\u00e9", "a\\b"]), extra_values
)


def record(text: str, number: int = 0) -> dict[str, Any]:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return {"recordId": f"record-{number}", "approximateArrivalTimestamp": 0, "data": data}


def assert_paths_agree(entry_record: dict[str, Any], partition_by_device: bool) -> None:
    """The record's entry and counted size from the batch loop (fast path if it applies) equal the general path's."""
    entries, reasons, _, counted = transform._entries([entry_record], partition_by_device)
    expected, expected_extra, reason = transform._general_path(
        entry_record["recordId"], entry_record["data"], partition_by_device
    )
    assert json.dumps(entries) == json.dumps([expected])
    assert counted == expected_extra + len(expected["data"])
    assert reasons == ({} if reason is None else {0: reason})


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- Properties -----------------------------------------------------------------------------------------------------


@SETTINGS
@given(cells=canonical_cells(), extra=plain_extras, as_csv_line=st.booleans(), partition_by_device=st.booleans())
def test_canonical_readings_take_the_fast_path_and_come_out_as_the_general_path_writes_them(
    cells: dict[str, str | None], extra: tuple[str, str] | None, as_csv_line: bool, partition_by_device: bool
) -> None:
    # Given a reading in the lake's form, as a CSV line or a compact JSON line (perhaps with a plain extra field)
    text = as_csv(cells) if as_csv_line else as_json(cells, extra)

    # Then the fast path takes it
    raw = text.encode("ascii")
    assert (transform._FAST_CSV_MATCH(raw) if as_csv_line else transform._FAST_JSON_MATCH(raw)) is not None, text

    # And its entry is the general path's, byte for byte
    assert_paths_agree(record(text), partition_by_device)


@SETTINGS
@given(cells=near_miss_cells(), extra=extras, as_csv_line=st.booleans(), partition_by_device=st.booleans())
def test_near_misses_get_the_general_paths_answer_whichever_path_takes_them(
    cells: dict[str, str | None], extra: tuple[str, str] | None, as_csv_line: bool, partition_by_device: bool
) -> None:
    # Given a reading one value away from the lake's form
    text = as_csv(cells) if as_csv_line else as_json(cells, extra)

    # When transformed, then the answer is the general path's
    assert_paths_agree(record(text), partition_by_device)


B64_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"


def other_spelling(data: str) -> str:
    """The same bytes in base64 that strict decoding accepts but no encoder writes: odd padding bits or extra '='."""
    if data.endswith("="):
        body = data.rstrip("=")
        spare = 4 if data.endswith("==") else 2  # bits of the last character that the decoder ignores
        last = B64_ALPHABET.index(body[-1]) | ((1 << spare) - 1)
        return body[:-1] + B64_ALPHABET[last] + data[len(body) :]
    return data + "="


@SETTINGS
@given(cells=canonical_cells(), extra=plain_extras, partition_by_device=st.booleans())
def test_a_json_line_in_an_unusual_base64_spelling_comes_back_in_the_usual_one(
    cells: dict[str, str | None], extra: tuple[str, str] | None, partition_by_device: bool
) -> None:
    # Given a canonical JSON line whose base64 has non-zero padding bits, or an extra '=' (strict decoding takes both)
    line = record(as_json(cells, extra))
    line["data"] = other_spelling(line["data"])
    assert base64.b64encode(base64.b64decode(line["data"], validate=True)).decode() != line["data"]

    # When transformed, then the fast path's entry is the general path's: the bytes encoded afresh, not the text kept
    assert_paths_agree(line, partition_by_device)


@SETTINGS
@given(
    lines=st.lists(st.tuples(canonical_cells() | near_miss_cells(), extras, st.booleans()), min_size=1, max_size=6),
    partition_by_device=st.booleans(),
)
def test_batches_near_the_lakes_form_get_the_reference_answer(
    lines: list[tuple[dict[str, str | None], tuple[str, str] | None, bool]], partition_by_device: bool
) -> None:
    # Given a batch of canonical readings and near misses, CSV and JSON
    records = [
        record(as_csv(cells) if csv_line else as_json(cells, extra), number)
        for number, (cells, extra, csv_line) in enumerate(lines)
    ]

    # When transformed, then the response is the reference's (the transform before the fast path existed)
    expected = reference_transform.transform_records(records, partition_by_device=partition_by_device)
    actual = transform.transform_records(records, partition_by_device=partition_by_device)
    assert json.dumps(actual.records) == json.dumps(expected.records)
    assert (actual.counts, actual.response_bytes) == (expected.counts, expected.response_bytes)


# --- The expressions' spelling ---------------------------------------------------------------------------------------


def plain_spelling(pattern: re.Pattern[bytes]) -> re.Pattern[bytes]:
    """The same expression with every atomic group and possessive repeat written the ordinary, backtracking way."""
    text = re.sub(rb"([*+}])\+", rb"\1", pattern.pattern.replace(b"(?>", b"(?:"))
    return re.compile(text)


# Characters that make or break the expressions' decisions: digits, signs, separators, quotes, the time's letters.
EDIT_CHARACTERS = st.sampled_from([*"0123456789", "", ".", "-", "+", ",", ":", '"', "}", "T", "Z", "e", " ", "00"])


@st.composite
def edited_lines(draw: st.DrawFn) -> bytes:
    """A canonical or nearly canonical line, JSON or CSV, with up to three characters inserted, replaced or removed."""
    cells = draw(canonical_cells() | near_miss_cells())
    text = as_csv(cells) if draw(st.booleans()) else as_json(cells, draw(plain_extras))
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, len(text)))
        end = start + draw(st.integers(0, 1))
        text = text[:start] + draw(EDIT_CHARACTERS) + text[end:]
    return text.encode("utf-8")


@settings(max_examples=1000, deadline=None)
@given(line=edited_lines())
def test_the_fast_paths_expressions_match_what_their_plain_spelling_matches(line: bytes) -> None:
    # Given the fast path's expressions and their plain spelling (the possessive and atomic marks taken out)
    for pattern in (transform._FAST_JSON, transform._FAST_CSV):
        plain = plain_spelling(pattern)
        assert plain.pattern != pattern.pattern  # the marks are there to take out

        # When both read a line near the lake's form, then they agree on whether it matches and on what they capture
        fast_match, plain_match = pattern.fullmatch(line), plain.fullmatch(line)
        assert (fast_match is None) == (plain_match is None), line
        if fast_match is not None and plain_match is not None:
            assert fast_match.groupdict() == plain_match.groupdict()
