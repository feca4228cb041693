"""Send example sensor readings to the deployed ingestion stream.

    python -m tools.producer --env sandbox --records 5000 --devices 20 --format csv --bad-fraction 0.02

The stream name comes from ``--stream-name``, or from the outputs file that ``cdk deploy --outputs-file
outputs/<env>.json`` writes: the one output, in any stack, whose key ends with ``IngestStreamName`` (read by
``tools.stack_outputs``, like the other tools). Readings follow
``lambdas/firehose_transform/sensor_event_schema.json``: each simulated device reports every few seconds, and the
device id is the partition key, so one device's readings stay ordered on one shard. ``--bad-fraction`` mixes in
deliberately malformed records, which the transformation Lambda sends to the bucket's error prefix.

Writes use PutRecords within Kinesis limits (500 records and 5 MiB per call, 1 MiB per record including its
partition key). A call can succeed while some of its records fail (``FailedRecordCount``): only those are sent
again, after an exponential backoff with full jitter, when their ``ErrorCode`` is retryable. Records still failing
after ``--max-attempts`` make the command exit 1 with one line saying how many were not written. Whole-call
errors (throttling of the call itself, network) are retried by botocore's standard retry mode.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO, TypedDict, cast

from infra.config import ENV_NAME  # the one environment-name rule
from tools.stack_outputs import OutputsError, StackOutputs, outputs_path

# Kinesis PutRecords limits.
MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024  # data plus partition keys
MAX_RECORD_BYTES = 1024 * 1024  # data plus partition key
MAX_PARTITION_KEY_CHARS = 256

# Per-record ErrorCode values worth another try: both are transient on the service side.
RETRYABLE_ERROR_CODES = frozenset({"ProvisionedThroughputExceededException", "InternalFailure"})

DEFAULT_ENV = "sandbox"
DEFAULT_MAX_ATTEMPTS = 8
# The ingestion stack's output naming the stream (its key may carry CDK's construct-path hash after this).
STREAM_NAME_OUTPUT = "IngestStreamName"

Format = Literal["csv", "json"]


class Entry(TypedDict):
    """One record of a PutRecords call, in boto3's spelling."""

    Data: bytes
    PartitionKey: str


class PutRecordsClient(Protocol):
    """The one Kinesis call the producer makes; boto3's client satisfies it, and so do test doubles."""

    # The argument names are boto3's, which the protocol has to match.
    def put_records(
        self,
        *,
        Records: Sequence[Entry],  # noqa: N803
        StreamName: str,  # noqa: N803
    ) -> Mapping[str, Any]: ...


# --- Readings ---------------------------------------------------------------------------------------------------


# How the simulated fleet behaves. A device now and then starts to degrade: over 45 to 90 minutes its temperature
# drifts up, its humidity readings get noisy, its battery sags and warnings become frequent; then it is in fault
# for 5 to 20 minutes, reporting `error` (often without a temperature), and is repaired. So "this device reports
# error within the next hour" can be learned from what its recent readings did. Around that: a daily cycle (warmest
# mid-afternoon UTC), sensor dropouts (missing values), rare spikes (outliers), and a few errors out of the blue that
# nothing announces. Durations are in seconds of simulated time, so the behaviour does not depend on the interval.
MEAN_SECONDS_BETWEEN_FAULTS = 10 * 3600.0
DEGRADATION_SECONDS = (45 * 60.0, 90 * 60.0)
FAULT_SECONDS = (5 * 60.0, 20 * 60.0)
DAILY_TEMPERATURE_AMPLITUDE = 3.0  # degrees C either side of the device's usual value
DAILY_HUMIDITY_AMPLITUDE = 6.0  # percent, opposite in phase
WARMEST_HOUR_UTC = 15.0
SPONTANEOUS_ERROR_PER_READING = 0.0005
MISSING_PER_VALUE = 0.01
SPIKE_PER_READING = 0.003
BATTERY_DRAIN_PER_DAY = 0.12  # volts
BATTERY_REPLACED_BELOW = 3.35


@dataclass(slots=True)
class _Device:
    device_id: str
    usual_temperature: float
    usual_humidity: float
    temperature: float
    humidity: float
    battery: float
    phase: Literal["normal", "degrading", "fault"] = "normal"
    phase_started: float = 0.0
    phase_seconds: float = 0.0
    severity: float = 0.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One sensor reading, in the schema's terms."""

    device_id: str
    event_time: datetime
    temperature_c: float | None
    humidity_pct: float | None
    battery_v: float | None
    status: str


def _advance_phase(device: _Device, elapsed: float, step: float, rng: random.Random) -> float:
    """Move the device through normal -> degrading -> fault -> normal; returns how far degradation has gone, 0..1."""
    if device.phase == "normal" and rng.random() < step / MEAN_SECONDS_BETWEEN_FAULTS:
        device.phase, device.phase_started = "degrading", elapsed
        device.phase_seconds, device.severity = rng.uniform(*DEGRADATION_SECONDS), rng.uniform(0.6, 1.0)
    elif device.phase != "normal" and elapsed - device.phase_started >= device.phase_seconds:
        if device.phase == "degrading":
            device.phase, device.phase_started, device.phase_seconds = "fault", elapsed, rng.uniform(*FAULT_SECONDS)
        else:
            device.phase = "normal"
    if device.phase == "degrading":
        return device.severity * min(1.0, (elapsed - device.phase_started) / device.phase_seconds)
    return device.severity if device.phase == "fault" else 0.0


def _status(device: _Device, degradation: float, temperature: float, rng: random.Random) -> str:
    if device.phase == "fault" and rng.random() < 0.7:
        return "error"
    if rng.random() < SPONTANEOUS_ERROR_PER_READING:
        return "error"
    if device.battery < 3.4 or not 0.0 <= temperature <= 40.0 or rng.random() < 0.5 * degradation:
        return "warning"
    return "ok"


def _reading(device: _Device, moment: datetime, degradation: float, rng: random.Random) -> Reading:
    """What the device reports: its state seen through daily cycles, degradation, dropouts and spikes."""
    hour = moment.hour + moment.minute / 60.0
    daily = math.cos(2.0 * math.pi * (hour - WARMEST_HOUR_UTC) / 24.0)
    temperature = device.temperature + DAILY_TEMPERATURE_AMPLITUDE * daily + 8.0 * degradation
    humidity = device.humidity - DAILY_HUMIDITY_AMPLITUDE * daily + rng.gauss(0.0, 4.0 * degradation)
    battery = device.battery - 0.15 * degradation
    if rng.random() < SPIKE_PER_READING:
        temperature += rng.choice((-1.0, 1.0)) * rng.uniform(12.0, 25.0)
    status = _status(device, degradation, temperature, rng)

    def dropout(value: float, digits: int) -> float | None:
        return None if rng.random() < MISSING_PER_VALUE else round(value, digits)

    return Reading(
        device_id=device.device_id,
        event_time=moment,
        # A device in error often cannot read its temperature sensor at all.
        temperature_c=None if status == "error" and rng.random() < 0.5 else dropout(temperature, 2),
        humidity_pct=dropout(min(100.0, max(0.0, humidity)), 1),
        battery_v=dropout(max(2.8, battery), 3),
        status=status,
    )


def generate_readings(
    count: int, devices: int, rng: random.Random, *, end: datetime, interval_seconds: float = 5.0
) -> Iterator[Reading]:
    """Readings from ``devices`` devices taking turns, one every ``interval_seconds`` each, ending at ``end``.

    Deterministic for a seeded ``rng``. Devices degrade before they fail, follow a daily cycle, and now and then
    miss a value or report a spike (see the constants above).
    """
    fleet = []
    for number in range(1, devices + 1):
        temperature, humidity = rng.uniform(15.0, 28.0), rng.uniform(30.0, 70.0)
        fleet.append(
            _Device(f"sensor-{number:04d}", temperature, humidity, temperature, humidity, rng.uniform(3.5, 4.2))
        )
    rounds = math.ceil(count / devices)
    start = end - timedelta(seconds=rounds * interval_seconds)
    for index in range(count):
        device = fleet[index % devices]
        elapsed = (index // devices) * interval_seconds
        # Random walks pulled back towards each device's usual values: consecutive readings stay plausible however
        # long the run. The battery drains until it is replaced.
        device.temperature += 0.05 * (device.usual_temperature - device.temperature) + rng.gauss(0.0, 0.3)
        device.humidity += 0.05 * (device.usual_humidity - device.humidity) + rng.gauss(0.0, 0.8)
        device.humidity = min(100.0, max(0.0, device.humidity))
        device.battery -= rng.uniform(0.0, 2.0) * BATTERY_DRAIN_PER_DAY * interval_seconds / 86_400.0
        if device.battery < BATTERY_REPLACED_BELOW:
            device.battery = rng.uniform(3.9, 4.2)
        degradation = _advance_phase(device, elapsed, interval_seconds, rng)
        offset = elapsed + rng.uniform(0.0, interval_seconds / 2)
        yield _reading(device, start + timedelta(seconds=offset), degradation, rng)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_reading(reading: Reading, fmt: Format) -> bytes:
    """A reading as one CSV line (schema column order) or one compact JSON object."""
    if fmt == "csv":
        cells = [
            reading.device_id,
            _iso(reading.event_time),
            *(
                "" if value is None else repr(value)
                for value in (reading.temperature_c, reading.humidity_pct, reading.battery_v)
            ),
            reading.status,
        ]
        return ",".join(cells).encode("utf-8")
    document = {
        "device_id": reading.device_id,
        "event_time": _iso(reading.event_time),
        "temperature_c": reading.temperature_c,
        "humidity_pct": reading.humidity_pct,
        "battery_v": reading.battery_v,
        "status": reading.status,
        # Not in the schema: the raw zone keeps it, the curated zone drops it.
        "firmware": "2.4.1",
    }
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


# Each kind breaks one rule the transformation Lambda checks, so the error prefix shows a variety of failures.
MALFORMED_KINDS = (
    "truncated JSON",
    "wrong CSV column count",
    "unparseable timestamp",
    "unknown status",
    "non-numeric reading",
    "invalid UTF-8",
    "missing device id",
)


def malformed_reading(reading: Reading, rng: random.Random) -> bytes:
    """A deliberately broken record derived from a good reading."""
    kind = rng.choice(MALFORMED_KINDS)
    good_json = encode_reading(reading, "json")
    if kind == "truncated JSON":
        return good_json[: len(good_json) // 2]
    if kind == "wrong CSV column count":
        return encode_reading(reading, "csv").rsplit(b",", 1)[0]
    if kind == "invalid UTF-8":
        return b"\xff\xfe" + encode_reading(reading, "csv")
    document = json.loads(good_json)
    if kind == "unparseable timestamp":
        document["event_time"] = "yesterday at noon"
    elif kind == "unknown status":
        document["status"] = "on-fire"
    elif kind == "non-numeric reading":
        document["temperature_c"] = "warm"
    else:
        del document["device_id"]
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def build_entries(
    count: int, devices: int, fmt: Format, bad_fraction: float, rng: random.Random, *, end: datetime
) -> Iterator[Entry]:
    """PutRecords entries for ``count`` readings, ``round(count * bad_fraction)`` of them malformed; made lazily."""
    bad = set(rng.sample(range(count), round(count * bad_fraction)))
    for index, reading in enumerate(generate_readings(count, devices, rng, end=end)):
        data = malformed_reading(reading, rng) if index in bad else encode_reading(reading, fmt)
        yield {"Data": data, "PartitionKey": reading.device_id}


# --- Batching and retries ---------------------------------------------------------------------------------------


def entry_size(entry: Entry) -> int:
    """Bytes an entry counts against the Kinesis limits: data plus UTF-8 partition key."""
    return len(entry["Data"]) + len(entry["PartitionKey"].encode("utf-8"))


def batch_entries(
    entries: Iterable[Entry],
    *,
    max_records: int = MAX_RECORDS_PER_CALL,
    max_bytes: int = MAX_BYTES_PER_CALL,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[list[Entry]]:
    """Group entries, in order, into PutRecords calls that respect the record-count and byte limits."""
    batch: list[Entry] = []
    batch_bytes = 0
    for position, entry in enumerate(entries):
        size = entry_size(entry)
        if size > max_record_bytes:
            raise ValueError(
                f"record {position} is {size} bytes with its partition key; Kinesis takes {max_record_bytes}"
            )
        if not 1 <= len(entry["PartitionKey"]) <= MAX_PARTITION_KEY_CHARS:
            raise ValueError(f"record {position} has a partition key of {len(entry['PartitionKey'])} characters")
        if batch and (len(batch) == max_records or batch_bytes + size > max_bytes):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(entry)
        batch_bytes += size
    if batch:
        yield batch


def backoff_delay(attempt: int, rng: random.Random, *, base: float = 0.1, cap: float = 10.0) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt - 1))] seconds."""
    return rng.uniform(0.0, min(cap, base * 2 ** (attempt - 1)))


@dataclass(slots=True)
class PutResult:
    """What happened to the records handed to ``put_batch``/``put_all``."""

    written: int = 0
    not_written: int = 0
    error_codes: Counter[str] = field(default_factory=Counter)

    def add(self, other: PutResult) -> None:
        """Fold another result into this one."""
        self.written += other.written
        self.not_written += other.not_written
        self.error_codes.update(other.error_codes)


def put_batch(
    client: PutRecordsClient,
    stream_name: str,
    batch: Sequence[Entry],
    *,
    max_attempts: int,
    sleep: Callable[[float], None],
    rng: random.Random,
) -> PutResult:
    """One PutRecords call plus retries of just its failed records; never raises for per-record failures."""
    result = PutResult()
    pending = list(batch)
    for attempt in range(1, max_attempts + 1):
        response = client.put_records(StreamName=stream_name, Records=pending)
        retry: list[Entry] = []
        # The response lists one result per request record, in request order.
        for entry, outcome in zip(pending, response["Records"], strict=True):
            code = outcome.get("ErrorCode")
            if code is None:
                result.written += 1
            elif code in RETRYABLE_ERROR_CODES and attempt < max_attempts:
                retry.append(entry)
            else:
                result.not_written += 1
                result.error_codes[code] += 1
        if not retry:
            break
        sleep(backoff_delay(attempt, rng))
        pending = retry
    return result


def put_all(
    client: PutRecordsClient,
    stream_name: str,
    entries: Iterable[Entry],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    progress: Progress | None = None,
) -> PutResult:
    """Write every entry, batch by batch; the result counts what was and was not written."""
    rng = rng or random.Random()
    total = PutResult()
    for batch in batch_entries(entries):
        total.add(put_batch(client, stream_name, batch, max_attempts=max_attempts, sleep=sleep, rng=rng))
        if progress is not None:
            progress.update(total.written, total.not_written)
    if progress is not None:
        progress.finish(total.written, total.not_written)
    return total


class Progress:
    """A line on stderr at most every ``interval`` seconds, and one at the end, for long runs."""

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        label: str = "producer",
    ) -> None:
        self._total, self._stream, self._interval, self._clock, self._label = total, stream, interval, clock, label
        self._started = self._last = clock()

    def _line(self, written: int, not_written: int) -> str:
        elapsed = max(self._clock() - self._started, 1e-9)
        done = written + not_written
        return (
            f"{self._label}: {done}/{self._total} records sent ({100 * done // max(self._total, 1)}%), "
            f"{not_written} not written, {written / elapsed:,.0f} records/s"
        )

    def update(self, written: int, not_written: int) -> None:
        """Report if ``interval`` seconds passed since the last line."""
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            print(self._line(written, not_written), file=self._stream, flush=True)

    def finish(self, written: int, not_written: int) -> None:
        """Report the final count."""
        print(self._line(written, not_written), file=self._stream, flush=True)


# --- Command line -----------------------------------------------------------------------------------------------


def _whole_number(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small; use {minimum} or more")
        return value

    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..1 (0: none malformed, 1: all)")
    return value


def _env_name(text: str) -> str:
    if ENV_NAME.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an environment name (a lower-case letter, then letters, digits or '-', 11 at most)"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    """The producer's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.producer", description="Send example sensor readings to the ingestion stream."
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--stream-name", help="Kinesis stream to write to")
    target.add_argument(
        "--stack-outputs", type=Path, metavar="FILE", help="outputs file of `cdk deploy --outputs-file` to read it from"
    )
    parser.add_argument(
        "--env",
        type=_env_name,
        default=DEFAULT_ENV,
        help="environment whose outputs/<env>.json to read when neither of the above is given (%(default)s)",
    )
    parser.add_argument("--records", type=_whole_number(1), default=1000, help="readings to send (%(default)s)")
    parser.add_argument("--devices", type=_whole_number(1), default=10, help="simulated devices (%(default)s)")
    parser.add_argument("--format", choices=("csv", "json"), default="json", help="record format (%(default)s)")
    parser.add_argument(
        "--bad-fraction", type=_fraction, default=0.0, help="fraction of malformed records, 0..1 (%(default)s)"
    )
    parser.add_argument("--seed", type=int, help="random seed, for a reproducible run")
    parser.add_argument(
        "--max-attempts",
        type=_whole_number(1),
        default=DEFAULT_MAX_ATTEMPTS,
        help="PutRecords attempts per record before giving up (%(default)s)",
    )
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    return parser


def _kinesis_client(region: str | None) -> PutRecordsClient:
    # Imported here so that the pure pieces above (the benchmark uses the generator) need no AWS SDK. Like the
    # other tools, no boto3 stubs are required: the protocol above is the type that matters here.
    import boto3  # type: ignore[import-untyped, unused-ignore]
    from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

    return cast(
        PutRecordsClient, boto3.client("kinesis", region_name=region, config=Config(retries={"mode": "standard"}))
    )


def main(
    argv: Sequence[str] | None = None,
    *,
    client: PutRecordsClient | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Run the producer; returns the process exit status."""
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

    parser = build_parser()
    args = parser.parse_args(argv)
    prog = parser.prog
    stream_name: str | None = args.stream_name
    if stream_name is None:
        path = args.stack_outputs or outputs_path(args.env)
        flag = "--stack-outputs" if args.stack_outputs else "--env"
        try:
            stream_name = StackOutputs.load(path, env=args.env).get(STREAM_NAME_OUTPUT)
        except OutputsError as error:
            parser.error(f"{flag}: {error}; or pass --stream-name")

    rng = random.Random(args.seed)
    entries = build_entries(args.records, args.devices, args.format, args.bad_fraction, rng, end=now())
    malformed = round(args.records * args.bad_fraction)
    try:
        result = put_all(
            client or _kinesis_client(args.region),
            stream_name,
            entries,
            max_attempts=args.max_attempts,
            sleep=sleep,
            rng=rng,
            progress=Progress(args.records, stream=sys.stderr),
        )
    except (BotoCoreError, ClientError) as error:
        print(f"{prog}: error: writing to stream {stream_name} failed: {error}", file=sys.stderr)
        return 1
    if result.not_written:
        codes = ", ".join(f"{code} x{count}" for code, count in result.error_codes.most_common())
        print(
            f"{prog}: error: {result.not_written} of {args.records} records were not written to {stream_name} "
            f"after up to {args.max_attempts} attempts ({codes})",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {result.written} records ({malformed} malformed on purpose) to {stream_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
