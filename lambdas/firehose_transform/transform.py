"""Normalise sensor readings for the raw zone: the pure logic behind the Firehose transformation Lambda.

Firehose (Kinesis-stream source) invokes the Lambda with a batch of base64 records. The response must name every
input ``recordId`` exactly once, in the input order, each with a ``result`` and base64 ``data``:

* ``Ok``: every line parsed. ``data`` holds one compact JSON object per reading, newline-terminated: the schema's
  fields first, normalised and in schema order (an absent optional field is written as ``null``), then any extra JSON
  fields exactly as they came (the raw zone keeps everything; the Glue job decides what to drop).
* ``Dropped``: nothing to deliver (blank lines, a CSV header). ``data`` is the original data.
* ``ProcessingFailed``: anything unparseable (bad base64, invalid UTF-8, bad JSON, wrong CSV column count, a missing
  required field, a wrong type, a bad timestamp), or a value strict JSON cannot hold (an extra field of ``1e999``,
  which Python reads as infinity; a lone surrogate escape, which UTF-8 cannot encode). ``data`` is the original
  data, unchanged, so Firehose writes it to the bucket's error prefix, where ``make replay`` can re-send it once it
  is valid: no reading is ever dropped silently, and no value fails the whole invocation.

Input formats. A record holds a JSON object, or a CSV line whose columns follow the schema's ``csv_columns``, or
several such lines separated by newlines (a pretty-printed JSON object spread over several lines also works).
A CSV line equal to the header is skipped.

Records with several lines are all or nothing: if any line is bad, the whole record is ``ProcessingFailed``. Firehose
has one result per record, so a partial success would either lose the bad lines or, by sending the record to the
error prefix as well, deliver its good lines twice. With device partitioning, every line of a record must also fall
in the same partition (device and UTC hour), because Firehose files a whole record under one prefix.

Normalisation. Strings are trimmed; a field with an ``allowed`` list is matched case-insensitively and written in
the schema's spelling; a ``pattern`` must match the whole value. Doubles accept JSON numbers and numeric strings
(plain decimal or exponent notation; no NaN or infinity). Timestamps accept ISO-8601 with ``Z`` or a numeric
offset, or epoch seconds or milliseconds (a magnitude of 1e11 or more means milliseconds), and are written as
ISO-8601 UTC with ``Z``, to the second, or to the millisecond when there is a fraction (truncated, never rounded
into the next second, for ISO input). A timestamp without an offset is rejected rather than guessed. An empty
string or ``null`` is an absent value: fine for optional fields, an error for required ones. Range checks
(``min``/``max``) are deliberately not applied here: the Glue job quarantines out-of-range readings, which keeps
them visible instead of hiding them in the error prefix.

Response size. A synchronous Lambda response is capped at 6 MB (AWS: "ensure that the response that your function
returns doesn't exceed 6 MB"), and normalising grows data: a CSV reading roughly doubles as JSON and base64 adds a
third. The batch is measured exactly as the runtime serialises it (``json.dumps`` defaults). If it would exceed the
limit, the ``Ok`` records that grew the most are turned back into ``ProcessingFailed`` with their original data,
one by one, until it fits; each is logged with the reason ``response size limit``, and the remedy is a smaller
Firehose processor buffer (``BufferSizeInMBs``). Returning the original data always fits: the request was itself
under the same limit, and a response entry is smaller than its request entry, which also carries
``approximateArrivalTimestamp`` and ``kinesisRecordMetadata``. Re-ingesting the overflow (AWS's blueprint approach)
would need boto3 and write permissions on the stream; this function stays standard-library only.

Speed. Most records are already in the lake's form (what ``tools/producer.py`` sends): for those, a regular
expression built from the schema proves that the general path would write the same text, and the record skips
JSON decoding and encoding (see "The fast path" below). ``bench/bench_transform.py`` measures both paths against a
base64 pass-through; the tests hold the responses to those of the transform before the fast path existed
(``tests/lambdas/reference_transform.py``), byte for byte.
"""

from __future__ import annotations

import csv
import json
import math
import re
from binascii import a2b_base64, b2a_base64
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, Final, NamedTuple

OK: Final = "Ok"
DROPPED: Final = "Dropped"
PROCESSING_FAILED: Final = "ProcessingFailed"

# The schema ships inside the Lambda asset (this folder), next to this module.
SCHEMA_PATH: Final = Path(__file__).with_name("sensor_event_schema.json")

# Lambda's synchronous response limit, "6 MB" in the quotas; 6 MiB is what the service enforces, give or take
# 100 bytes in our favour.
LAMBDA_RESPONSE_LIMIT_BYTES: Final = 6 * 1024 * 1024

# The fields that dynamic partitioning reads; checked against the schema at import.
DEVICE_FIELD: Final = "device_id"
TIME_FIELD: Final = "event_time"

# Epoch values at or above this magnitude are milliseconds: 1e11 seconds is the year 5138, 1e11 ms is 1973.
_EPOCH_MILLIS_THRESHOLD: Final = 1e11
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# ASCII-only on purpose: float() and int() also accept other scripts' digits, underscores, "nan" and "infinity".
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
# Already normalised (what the producer sends): returned as is once the date is known to exist. ".000" is left to the
# slow path, which writes whole seconds without a fraction.
_CANONICAL_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.(?!000)\d{3})?Z", re.ASCII)
_ISO_8601 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?",
    re.ASCII,
)


class RecordError(ValueError):
    """A record cannot be normalised; the message says why without quoting the payload."""


class Failure(NamedTuple):
    """Why one record was not delivered as ``Ok``: for the log, never for the response."""

    record_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The Firehose response entries for one invocation, plus what the handler needs to log."""

    records: list[dict[str, Any]]
    failures: list[Failure]
    counts: dict[str, int]
    response_bytes: int


class _Field(NamedTuple):
    name: str
    required: bool
    convert: Callable[[Any], Any]


# --- Schema -----------------------------------------------------------------------------------------------------


def _json_type(value: object) -> str:
    """Name a decoded JSON value's type, with its article, the way a producer would recognise it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _string_converter(name: str, spec: Mapping[str, Any]) -> Callable[[Any], str | None]:
    pattern = re.compile(spec["pattern"]) if "pattern" in spec else None
    allowed = {value.lower(): value for value in spec.get("allowed", ())}
    allowed_text = ", ".join(sorted(allowed.values()))

    def convert(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise RecordError(f"{name}: expected a string, got {_json_type(value)}")
        text = value.strip()
        if not text:
            return None
        if allowed:
            canonical = allowed.get(text.lower())
            if canonical is None:
                raise RecordError(f"{name}: not one of {allowed_text}")
            text = canonical
        if pattern is not None and pattern.fullmatch(text) is None:
            raise RecordError(f"{name}: does not match {pattern.pattern}")
        return text

    return convert


def _double_converter(name: str) -> Callable[[Any], float | None]:
    isfinite = math.isfinite

    def convert(value: Any) -> float | None:
        kind = type(value)
        if kind is str:  # CSV cells, and JSON producers that quote their numbers
            text = value.strip()
            if not text:
                return None
            if _NUMBER.fullmatch(text) is None:
                raise RecordError(f"{name}: not a number")
            number = float(text)
        elif kind is float:
            number = value
        elif kind is int:  # exactly int: bool is a subclass of int but not a number here
            try:
                number = float(value)
            except OverflowError:
                raise RecordError(f"{name}: number out of range") from None
        elif value is None:
            return None
        else:
            raise RecordError(f"{name}: expected a number, got {_json_type(value)}")
        if not isfinite(number):  # "1e999" and JSON's 1e999 both become infinity
            raise RecordError(f"{name}: not a finite number")
        return number

    return convert


def _format_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with Z; milliseconds only when there are some."""
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    millis = moment.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


@lru_cache(maxsize=1024)
def _is_real_date(text: str) -> bool:
    """Whether YYYY-MM-DD names a day that exists; cached because a batch spans few days."""
    try:
        datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=8192)
def _iso_to_utc(text: str) -> str:
    """Parse ISO-8601 with an offset to the normalised form; cached because a batch repeats its seconds."""
    match = _ISO_8601.fullmatch(text)
    if match is None:
        raise RecordError("not an ISO-8601 timestamp with Z or an offset, nor epoch seconds or milliseconds")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_hours, off_minutes = match.groups()
    if not zulu and not sign:
        raise RecordError("timestamp has no UTC offset; add Z or +HH:MM rather than let the lake guess")
    if zulu:
        zone = UTC
    else:
        if int(off_minutes) >= 60:
            raise RecordError("UTC offset minutes out of range")
        offset = timedelta(hours=int(off_hours), minutes=int(off_minutes))
        zone = timezone(-offset if sign == "-" else offset)  # rejects offsets of 24 h or more
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    moment = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros, tzinfo=zone
    ).astimezone(UTC)
    return _format_utc(moment)


@lru_cache(maxsize=8192)
def _epoch_to_utc(value: float) -> str:
    """Epoch seconds or milliseconds to the normalised form, rounded to the millisecond."""
    millis = value if abs(value) >= _EPOCH_MILLIS_THRESHOLD else value * 1000
    return _format_utc(_EPOCH + timedelta(milliseconds=round(millis)))


def _timestamp_converter(name: str) -> Callable[[Any], str | None]:
    def convert(value: Any) -> str | None:
        kind = type(value)
        try:
            if kind is str:
                text: str = value.strip()
                if not text:
                    return None
                if _CANONICAL_UTC.fullmatch(text) and _is_real_date(text[:10]):
                    return text
                if _INTEGER.fullmatch(text):
                    return _epoch_to_utc(int(text))
                if _NUMBER.fullmatch(text):
                    return _epoch_to_utc(float(text))
                return _iso_to_utc(text)
            if kind is int or kind is float:  # exactly: bool is a subclass of int but no timestamp
                return _epoch_to_utc(value)
        except RecordError as error:
            raise RecordError(f"{name}: {error}") from None
        except (ValueError, OverflowError):
            # datetime() rejects impossible dates (month 13, 25:00, 30 February) and anything outside years 1-9999.
            raise RecordError(f"{name}: not a valid date and time") from None
        if value is None:
            return None
        raise RecordError(f"{name}: expected a timestamp, got {_json_type(value)}")

    return convert


def _compile_schema(schema: Mapping[str, Any]) -> tuple[tuple[_Field, ...], tuple[str, ...]]:
    """Turn the declared schema into one converter per field; a schema this module cannot honour fails the import."""
    fields: list[_Field] = []
    for spec in schema["fields"]:
        name, kind = spec["name"], spec["type"]
        convert: Callable[[Any], Any]
        if kind == "string":
            convert = _string_converter(name, spec)
        elif kind == "double":
            convert = _double_converter(name)
        elif kind == "timestamp":
            convert = _timestamp_converter(name)
        else:
            raise ValueError(
                f"{SCHEMA_PATH.name}: field {name!r} has type {kind!r}; supported: string, double, timestamp"
            )
        fields.append(_Field(name, bool(spec.get("required", False)), convert))
    names = [f.name for f in fields]
    columns = tuple(schema["csv_columns"])
    if sorted(columns) != sorted(names):
        raise ValueError(f"{SCHEMA_PATH.name}: csv_columns {list(columns)} must name each field once: {names}")
    kinds = {spec["name"]: spec["type"] for spec in schema["fields"]}
    if kinds.get(DEVICE_FIELD) != "string" or kinds.get(TIME_FIELD) != "timestamp":
        raise ValueError(f"{SCHEMA_PATH.name}: partitioning needs a string {DEVICE_FIELD} and a timestamp {TIME_FIELD}")
    return tuple(fields), columns


SCHEMA: Final[Mapping[str, Any]] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
FIELDS, CSV_COLUMNS = _compile_schema(SCHEMA)
_HEADER: Final = [column.lower() for column in CSV_COLUMNS]
_FIELD_NAMES: Final = frozenset(spec.name for spec in FIELDS)


# --- Parsing one record -----------------------------------------------------------------------------------------


def _reject_constant(name: str) -> float:
    # NaN and Infinity are not JSON; Python accepts them by default and would then write invalid JSON.
    raise RecordError(f"{name} is not valid JSON")


# Built once: json.loads/json.dumps with keyword arguments construct a new decoder/encoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# Decoded JSON cannot hold a reference cycle, so the encoder can skip looking for one.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)
_encode = _ENCODER.encode


def _normalise(reading: Mapping[str, Any]) -> dict[str, Any]:
    """Schema fields first, normalised, then the extra fields untouched."""
    out: dict[str, Any] = {}
    get = reading.get
    for name, required, convert in FIELDS:
        value = convert(get(name))
        if value is None and required:
            raise RecordError(f"{name}: required field is missing")
        out[name] = value
    if not _FIELD_NAMES.issuperset(reading):
        for key, value in reading.items():
            if key not in out:
                out[key] = value
    return out


def _parse_json_object(text: str) -> dict[str, Any]:
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise RecordError(f"invalid JSON ({error.msg} at column {error.colno})") from None
    except RecordError:
        raise
    except RecursionError:
        raise RecordError("invalid JSON (nested too deeply)") from None
    except ValueError:  # e.g. an integer longer than Python's int-string conversion limit
        raise RecordError("invalid JSON (number too long)") from None
    if not isinstance(value, dict):
        raise RecordError(f"expected a JSON object, got {_json_type(value)}")
    return value


def _csv_cells(line: str) -> list[str]:
    # Sensor CSV rarely quotes; split fast and fall back to the csv module only when a quote appears.
    if '"' not in line:
        return [cell.strip() for cell in line.split(",")]
    return [cell.strip() for cell in next(csv.reader([line], skipinitialspace=True, strict=True))]


def _parse_line(line: str) -> dict[str, Any] | None:
    """One non-blank line to a normalised reading, or None for a CSV header."""
    if line[0] in "{[":
        return _normalise(_parse_json_object(line))
    try:
        cells = _csv_cells(line)
    except csv.Error:
        raise RecordError("invalid CSV quoting") from None
    if len(cells) != len(CSV_COLUMNS):
        raise RecordError(f"expected {len(CSV_COLUMNS)} CSV columns, got {len(cells)}")
    if cells[0].lower() == _HEADER[0] and [cell.lower() for cell in cells] == _HEADER:
        return None
    return _normalise(dict(zip(CSV_COLUMNS, cells, strict=True)))


def parse_payload(text: str) -> list[dict[str, Any]]:
    """Decoded record text to its normalised readings; empty when there is nothing to deliver."""
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark from some Windows producers
    stripped = text.strip()
    if not stripped:
        return []
    if "\n" not in stripped:
        reading = _parse_line(stripped)
        return [] if reading is None else [reading]
    if stripped[0] == "{":
        # Maybe one JSON object pretty-printed over several lines. Newline-delimited JSON fails to parse as a whole
        # ("Extra data"), and so does broken JSON: both are read line by line, which also gives the precise reason.
        try:
            document = _DECODER.decode(stripped)
        except (ValueError, RecursionError):
            document = None
        if isinstance(document, dict):
            return [_normalise(document)]
    readings: list[dict[str, Any]] = []
    for number, raw_line in enumerate(text.split("\n"), start=1):  # numbered as the producer wrote them
        line = raw_line.strip()
        if not line:
            continue
        try:
            reading = _parse_line(line)
        except RecordError as error:
            raise RecordError(f"line {number}: {error}") from None
        if reading is not None:
            readings.append(reading)
    return readings


def partition_keys(reading: Mapping[str, Any]) -> dict[str, str]:
    """Dynamic-partitioning keys of a normalised reading: device and UTC hour of ``event_time``."""
    moment: str = reading[TIME_FIELD]  # always YYYY-MM-DDTHH:MM:SS[.mmm]Z once normalised
    return {
        "device_id": reading[DEVICE_FIELD],
        "year": moment[0:4],
        "month": moment[5:7],
        "day": moment[8:10],
        "hour": moment[11:13],
    }


def _decode(data: object) -> str:
    if not isinstance(data, str):
        raise RecordError("data is not a base64 string")
    try:
        raw = a2b_base64(data, strict_mode=True)  # what b64decode(validate=True) does, minus a Python frame
    except ValueError:  # binascii.Error, or a str with non-ASCII characters
        raise RecordError("data is not valid base64") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(f"data is not valid UTF-8 (byte {error.start})") from None


# --- Response entries and their size ---------------------------------------------------------------------------

# Sizes as the Lambda runtime serialises the response: json.dumps with its default separators and ASCII escapes.
_ENVELOPE_BYTES: Final = len(json.dumps({"records": []}))
_SEPARATOR_BYTES: Final = len(", ")
_ENTRY_BYTES: Final = len(json.dumps({"recordId": "", "result": "", "data": ""})) - len('""""""')
# '"metadata": {"partitionKeys": {...}}' with its separator; the device id is the only part whose length varies.
_METADATA_BYTES: Final = (
    len(json.dumps({"metadata": {"partitionKeys": partition_keys({DEVICE_FIELD: "", TIME_FIELD: "0000-00-00T00"})}}))
    - len("{}")
    - len('""')
    + _SEPARATOR_BYTES
)
# Printable ASCII but '"' and '\': json.dumps writes such a string as it is, between two quotes.
_PLAIN_JSON_STRING: Final = re.compile(r"[ !#-\[\]-~]*").fullmatch
_PLAIN_BYTES: Final = bytes(code for code in range(ord(" "), ord("~") + 1) if chr(code) not in '"\\')


def _json_string_bytes(text: str) -> int:
    """Length of ``json.dumps(text)``; base64 and record ids never need escaping, so that case skips the encoder."""
    if _PLAIN_JSON_STRING(text):
        return len(text) + 2
    return len(json.dumps(text))


# --- The general path: any record ------------------------------------------------------------------------------


def _field_label(key: object) -> str:
    """A field's name for a failure reason, unless the name itself is unprintable or long."""
    return key if isinstance(key, str) and len(key) <= 64 and _PLAIN_JSON_STRING(key) else "a field"


def _unencodable(readings: list[dict[str, Any]]) -> str:
    """Why readings cannot be written as strict UTF-8 JSON, naming the first field at fault."""
    for number, reading in enumerate(readings, start=1):
        for key, value in reading.items():
            try:
                _encode({key: value}).encode("utf-8")
            except UnicodeEncodeError:
                why = "holds an unpaired surrogate escape, which UTF-8 cannot encode"
            except RecursionError:
                why = "is nested too deeply to write back"
            except ValueError:  # Python reads 1e999 as infinity, which strict JSON (and Athena) cannot hold
                why = "holds a number too large for a double (JSON has no infinity)"
            else:
                continue
            where = f"reading {number}: " if len(readings) > 1 else ""
            return f"{where}{_field_label(key)}: {why}"
    return "cannot be written as strict JSON"


def _encode_readings(readings: list[dict[str, Any]]) -> str:
    """Normalised readings as base64 of newline-terminated strict JSON, or RecordError naming the field at fault."""
    try:
        payload = "\n".join(map(_encode, readings)) + "\n"
        return b2a_base64(payload.encode("utf-8"), newline=False).decode("ascii")
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        raise RecordError(_unencodable(readings)) from None


def _general_path(record_id: str, data: object, partition_by_device: bool) -> tuple[dict[str, Any], int, str | None]:
    """Any record to its response entry, its extra size (see ``_response_bytes``), and why it failed (None if not)."""
    original = data if isinstance(data, str) else ""
    try:
        readings = parse_payload(_decode(data))
        # From here the original data is known to be valid base64: no escaping, its length is its size.
        entry: dict[str, Any]
        if not readings:
            return {"recordId": record_id, "result": DROPPED, "data": original}, 0, None
        entry = {"recordId": record_id, "result": OK, "data": ""}
        extra = 0
        if partition_by_device:
            keys = partition_keys(readings[0])
            if any(partition_keys(reading) != keys for reading in readings[1:]):
                raise RecordError("lines belong to different partitions (device or hour)")
            entry["metadata"] = {"partitionKeys": keys}
            extra = _METADATA_BYTES + _json_string_bytes(keys["device_id"])
        entry["data"] = _encode_readings(readings)
        return entry, extra, None
    except RecordError as error:
        entry = {"recordId": record_id, "result": PROCESSING_FAILED, "data": original}
        return entry, _json_string_bytes(original) - len(original) - 2, str(error)


# --- The fast path: records already in the lake's form ---------------------------------------------------------
#
# Most records are what the producer sends: one compact line, JSON or CSV, whose every value is already written the
# way the general path would write it. For those, one regular expression built from the schema proves it, and the
# output follows from the text alone: a JSON line is delivered as it came (plus the newline), a CSV line is put into
# a JSON template. Anything the expressions do not recognise takes the general path, which answers these records
# identically (the tests hold the two to the same responses); so the fast path never decides that a record fails.

# Written for Python's regular expression engine, which runs these once per record and spends most of its time on
# keeping the places it could come back to. So an optional part is spelled "(?:X|)" rather than "(?:X)?": both match
# the same text, trying X first, but "?" on a group compiles to a general repeat, which saves and restores the state
# at every step (a third off the CSV expression's time). Where coming back could never lead to a match, the
# expressions say so: a repeat is possessive ("*+", "{m,n}+") when the character after it cannot be one it takes,
# and a group is atomic ("(?>...)") when its alternatives all have the same length. Neither changes what matches
# (tests/lambdas/test_firehose_transform_fast_path.py compares them with the plain spelling); groups capture only
# what the loop reads, for the same reason, and digits are "[0-9]", a range the engine tests inline, rather than
# "\d", a category it looks up.

# A JSON string that the decoder and the encoder (ensure_ascii=False) both leave as it is: printable ASCII, no escape.
# ASCII only, so that whatever the fast path takes is valid UTF-8 and one byte is one character.
_RAW_STRING: Final = r'"[ !#-\[\]-~]*+"'
# Printable ASCII without '"' and '\' (and, in CSV, without ','), no space at either end: strip() keeps it, and
# json.dumps writes it unchanged between two quotes.
_PLAIN_VALUE: Final = r"[!#-\[\]-~](?:[ !#-\[\]-~]*[!#-\[\]-~]|)"
_CSV_PLAIN_VALUE: Final = r"[!#-+\--\[\]-~](?:[ !#-+\--\[\]-~]*[!#-+\--\[\]-~]|)"
# A double exactly as repr() writes it: plain notation (zero, or 1e-4 <= |x| < 1e16), no superfluous zero, at most
# 15 significant digits. A double holds any 15-digit decimal apart from its neighbours, so repr(float(text)) == text.
# Always followed by ',', '}' or the end, never a digit: so "all the digits, the last one not zero" is spelled
# "[0-9]*+(?<=[1-9])", which does not try every shorter run of digits before failing, as "[0-9]*[1-9]" does.
_CANONICAL_DOUBLE: Final = (
    r"-?(?![0-9.]{17})(?:0\.(?:0|(?!0000)[0-9]*+(?<=[1-9]))|[1-9][0-9]*+\.(?:0|[0-9]*+(?<=[1-9])))"
)
# An integer as repr() writes it back: no "-0", no leading zero, no fraction or exponent.
_CANONICAL_INTEGER: Final = r"(?:0|-?[1-9][0-9]{0,30}+)(?![0-9.eE])"
# _CANONICAL_UTC on a day that exists in every year; 29 February (and year 0, which datetime refuses) take the
# general path, which asks datetime.
_CANONICAL_TIME: Final = (
    r"(?!0000)[0-9]{4}+-(?>(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"T(?>[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.(?!000)[0-9]{3}|)Z"
)
_JSON_SCALAR: Final = rf"(?:{_RAW_STRING}|true|false|null|{_CANONICAL_INTEGER}|{_CANONICAL_DOUBLE})"


def _embeddable(pattern: str) -> str | None:
    """A schema pattern of the form ``^[class]{m,n}$`` whose class takes only plain, comma-free, non-space ASCII.

    Such a pattern matches exactly what the fast path's expression would match with the pattern put in place of the
    plain value (on ASCII text, the only text the fast path takes); any other pattern is checked on the captured value.
    """
    form = re.fullmatch(r"\^(\[[^\]]+\])(\{\d+(?:,\d+)?\})\$", pattern)
    if form is None or not all(
        re.fullmatch(_CSV_PLAIN_VALUE, char) and char != " "
        for char in map(chr, range(128))
        if re.fullmatch(form[1], char)
    ):
        return None
    return f"{form[1]}{form[2]}+"  # possessive: the character after it (a quote, a comma, the end) is not in the class


def _checked_apart(spec: Mapping[str, Any]) -> bool:
    """Whether a field's schema pattern is checked on the captured value, not within the fast path's expressions."""
    return "pattern" in spec and ("allowed" in spec or _embeddable(spec["pattern"]) is None)


def _value_pattern(spec: Mapping[str, Any], *, csv_cell: bool, capture: bool) -> str:
    """The text of one field's value as the general path would write it, captured under the field's name if asked."""
    name, kind, required = spec["name"], spec["type"], bool(spec.get("required", False))
    if kind == "double":
        text = _CANONICAL_DOUBLE
    elif kind == "timestamp":
        text = _CANONICAL_TIME
    elif "allowed" in spec:
        # The schema's own spellings, which are what the general path writes; an unusual one is left to it.
        text = "|".join(re.escape(v) for v in spec["allowed"] if re.fullmatch(_CSV_PLAIN_VALUE, v)) or "(?!)"
    else:
        text = _embeddable(spec.get("pattern", "")) or (_CSV_PLAIN_VALUE if csv_cell else _PLAIN_VALUE)
    group = f"?P<{name}>" if capture else "?:"
    if csv_cell:
        # An empty cell is an absent value: taken here for optional doubles only, which the template writes as null.
        empty = "|" if kind == "double" and not required else ""
        return f"({group}(?:{text}){empty})"
    value = f"({group}(?:{text}))" if kind == "double" else f'"({group}(?:{text}))"'
    return value if required else f"(?:{value}|null)"


def _fast_patterns(schema: Mapping[str, Any]) -> tuple[re.Pattern[bytes], re.Pattern[bytes], bytes]:
    """The JSON and CSV lines the fast path takes, and the JSON template a CSV line's cells fill, from the schema.

    The CSV expression captures every cell, the JSON one only what partitioning reads and what is checked apart.
    """
    specs = {spec["name"]: spec for spec in schema["fields"]}
    if any(_PLAIN_JSON_STRING(name) is None or not name.isidentifier() for name in specs):
        raise ValueError(f"{SCHEMA_PATH.name}: field names must be identifiers")
    captured = {DEVICE_FIELD, TIME_FIELD} | {name for name, spec in specs.items() if _checked_apart(spec)}
    members = ",".join(
        f'"{name}":{_value_pattern(spec, csv_cell=False, capture=name in captured)}' for name, spec in specs.items()
    )
    # At most one extra field, and not a schema field again: the decoder would merge a repeated key, and the text
    # would not come back as it came.
    extra = rf',(?!"(?:{"|".join(specs)})"){_RAW_STRING}:{_JSON_SCALAR}'
    json_line = re.compile(rf"\{{{members}(?:{extra}|)\}}".encode())
    # A line starting with "{" or "[" is JSON to the general path, whatever follows.
    cells = ",".join(_value_pattern(specs[column], csv_cell=True, capture=True) for column in CSV_COLUMNS)
    csv_line = re.compile(rf"(?![{{\[]){cells}".encode())
    template = ",".join(
        f'"{name}":%s' if spec["type"] == "double" else f'"{name}":"%s"' for name, spec in specs.items()
    )
    return json_line, csv_line, f"{{{template}}}\n".encode()


_FAST_JSON, _FAST_CSV, _CSV_TEMPLATE = _fast_patterns(SCHEMA)
_FAST_JSON_MATCH: Final = _FAST_JSON.fullmatch
_FAST_CSV_MATCH: Final = _FAST_CSV.fullmatch
_SCHEMA_ORDER: Final = tuple(field.name for field in FIELDS)
# The CSV cells in schema order: match.groups() as they are when the columns already follow it (faster), else by name.
_CSV_FIELD_ORDER: Final = None if _SCHEMA_ORDER == CSV_COLUMNS else _SCHEMA_ORDER
# Where partitioning finds its two fields among those cells.
_CSV_DEVICE_CELL: Final = _SCHEMA_ORDER.index(DEVICE_FIELD)
_CSV_TIME_CELL: Final = _SCHEMA_ORDER.index(TIME_FIELD)
# Patterns the expressions could not embed are checked on the captured value. On ASCII text, which is all the fast
# path takes, the pattern compiled for bytes matches what the str one does.
_PATTERN_CHECKS: Final = tuple(
    (spec["name"], re.compile(spec["pattern"].encode()).fullmatch) for spec in SCHEMA["fields"] if _checked_apart(spec)
)


def _patterns_hold(match: re.Match[bytes]) -> bool:
    """Whether the captured values match the schema patterns the expressions could not embed."""
    for name, check in _PATTERN_CHECKS:
        value = match[name]
        if value is not None and check(value) is None:
            return False
    return True


# Month, day and hour as shared strings: a batch of many partitions then keeps far fewer objects alive.
_TWO_DIGITS: Final = {f"{number:02d}".encode(): f"{number:02d}" for number in range(100)}


def _fast_partition_keys(device: bytes, moment: bytes) -> dict[str, str]:
    """``partition_keys`` from a device id and an ``event_time`` captured by the fast path (ASCII, so UTF-8 too)."""
    return {
        "device_id": device.decode(),
        "year": moment[0:4].decode(),
        "month": _TWO_DIGITS[moment[5:7]],
        "day": _TWO_DIGITS[moment[8:10]],
        "hour": _TWO_DIGITS[moment[11:13]],
    }


# --- The batch ---------------------------------------------------------------------------------------------------


def transform_records(
    records: Iterable[Mapping[str, Any]],
    *,
    partition_by_device: bool,
    max_response_bytes: int = LAMBDA_RESPONSE_LIMIT_BYTES,
) -> BatchResult:
    """Transform a Firehose batch: one response entry per input record, in order, within the response limit."""
    records = records if isinstance(records, list) else list(records)
    entries, reasons, counts, loop_bytes = _entries(records, partition_by_device)
    size = _response_bytes(entries, counts, loop_bytes)
    if size > max_response_bytes:
        size = _fit(entries, records, reasons, size, max_response_bytes)
        counts = Counter(dict.fromkeys((OK, DROPPED, PROCESSING_FAILED), 0))
        counts.update(map(_RESULT, entries))
    failures = [Failure(entries[index]["recordId"], reasons[index]) for index in sorted(reasons)]
    return BatchResult(entries, failures, dict(counts), size)


def _entries(
    records: list[Mapping[str, Any]], partition_by_device: bool
) -> tuple[list[dict[str, Any]], dict[int, str], Counter[str], int]:
    """Each record's entry, why those that failed did (by position), the count of each result, and the loop's bytes.

    The hot loop: the fast path is written out here rather than called, which saves a good share of its cost.
    """
    entries: list[dict[str, Any]] = []
    append, reasons = entries.append, {}
    counts = Counter({OK: 0, DROPPED: 0, PROCESSING_FAILED: 0})  # of the general path's results; fast ones are Ok
    partitions: dict[tuple[bytes, bytes], dict[str, Any]] = {}
    # Data, metadata and escapes: the sizes _response_bytes does not count in bulk. Counted here, while each entry's
    # data is at hand, rather than in a second walk over every entry.
    loop_bytes = 0
    # Locals, not globals, in the loop: every lookup counts when a record takes about a microsecond.
    json_match, csv_match, checks = _FAST_JSON_MATCH, _FAST_CSV_MATCH, _PATTERN_CHECKS
    template, order, ok, metadata_bytes = _CSV_TEMPLATE, _CSV_FIELD_ORDER, OK, _METADATA_BYTES + 2
    device = moment = b""
    for record in records:
        data: Any = record.get("data")
        try:
            raw = a2b_base64(data, strict_mode=True)
        except (TypeError, ValueError):  # not text, not base64: the general path says which
            raw = b""
        is_json = raw[:1] == b"{"
        match = json_match(raw) if is_json else csv_match(raw)
        if match is None or type(data) is not str or (checks and not _patterns_hold(match)):
            entry, extra, reason = _general_path(record["recordId"], data, partition_by_device)
            loop_bytes += extra + len(entry["data"])
            counts[entry["result"]] += 1
            if reason is not None:
                reasons[len(entries)] = reason
            append(entry)
            continue
        if is_json:
            text = b2a_base64(raw + b"\n", newline=False).decode()  # delivered as it came, plus a newline
            if partition_by_device:
                device, moment = match.group(DEVICE_FIELD, TIME_FIELD)
        else:
            cells = match.groups() if order is None else match.group(*order)
            payload = template % cells
            if b"" in cells:
                # Only optional doubles can be empty, and in the template only they are unquoted: ':,' and ':}'
                # appear nowhere else, as no cell holds a comma or a quote.
                payload = payload.replace(b":,", b":null,").replace(b":}", b":null}")
            text = b2a_base64(payload, newline=False).decode()
            if partition_by_device:
                device, moment = cells[_CSV_DEVICE_CELL], cells[_CSV_TIME_CELL]
        if not partition_by_device:
            append({"recordId": record["recordId"], "result": ok, "data": text})
            loop_bytes += len(text)
            continue
        # A batch spans few devices and hours: each partition's metadata is made once and shared by its entries.
        where = (device, moment[:13])
        metadata = partitions.get(where)
        if metadata is None:
            metadata = partitions[where] = {"partitionKeys": _fast_partition_keys(device, moment)}
        append({"recordId": record["recordId"], "result": ok, "data": text, "metadata": metadata})
        loop_bytes += len(text) + metadata_bytes + len(device)  # a plain ASCII device id: no escape
    counts[OK] += len(entries) - counts.total()
    return entries, reasons, counts, loop_bytes


_RESULT: Final = itemgetter("result")
_RECORD_ID: Final = itemgetter("recordId")


def _response_bytes(entries: list[dict[str, Any]], counts: Mapping[str, int], loop_bytes: int) -> int:
    """The size of the serialised response, counted in bulk: every entry's keys, record id, result and quotes.

    Record ids are measured as json.dumps writes them, escapes and all; results are counted as written unescaped.
    ``loop_bytes`` adds what the loop counted: the data (base64, or the original data) unescaped, plus the metadata
    and any escapes.
    """
    separators = _SEPARATOR_BYTES * max(len(entries) - 1, 0)
    ids = "".join(map(_RECORD_ID, entries))
    # The usual: nothing to escape. Firehose's record ids are digits, which isalnum() confirms at a third of the
    # cost of deleting every plain character and finding none left.
    if ids.isascii() and ((plain := ids.encode("ascii")).isalnum() or not plain.translate(None, _PLAIN_BYTES)):
        ids_bytes = len(ids) + 2 * len(entries)
    else:
        ids_bytes = sum(map(_json_string_bytes, map(_RECORD_ID, entries)))
    results_bytes = sum(count * (len(result) + 2) for result, count in counts.items())
    fixed_bytes = _ENVELOPE_BYTES + separators + (_ENTRY_BYTES + 2) * len(entries)  # 2: the data's quotes
    return fixed_bytes + ids_bytes + results_bytes + loop_bytes


def _saving(entry: Mapping[str, Any], original: str) -> int:
    """Bytes saved by returning an Ok record's original (base64, so unescaped) data as ProcessingFailed instead."""
    metadata = entry.get("metadata")
    keys_bytes = 0 if metadata is None else _METADATA_BYTES + _json_string_bytes(metadata["partitionKeys"]["device_id"])
    return len(OK) + len(entry["data"]) + keys_bytes - len(PROCESSING_FAILED) - len(original)


def _fit(
    entries: list[dict[str, Any]], records: list[Mapping[str, Any]], reasons: dict[int, str], total: int, limit: int
) -> int:
    """Demote the Ok records that grew most until the response fits; return its size in bytes."""
    savings = [
        (_saving(entry, records[index]["data"]), index) for index, entry in enumerate(entries) if entry["result"] == OK
    ]
    savings.sort(key=lambda pair: pair[0], reverse=True)
    for saving, index in savings:
        if total <= limit or saving <= 0:
            break  # fits, or (sorted) nothing further down the list would save anything
        entries[index] = {
            "recordId": entries[index]["recordId"],
            "result": PROCESSING_FAILED,
            "data": records[index]["data"],
        }
        reasons[index] = (
            f"response size limit: the transformed batch would exceed {limit} bytes, so the original data is "
            "returned; lower the Firehose processor's BufferSizeInMBs"
        )
        total -= saving
    return total
