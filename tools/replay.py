"""Re-send rejected readings that are now valid to the ingest stream: Firehose's error records or the job's quarantine.

    make replay ENV=sandbox SOURCE=errors [SINCE=2026-11-20]        # dry run: counts, and why the rest is invalid
    make replay ENV=sandbox SOURCE=quarantine APPLY=1               # re-send, then move what was re-sent

``errors``: the raw zone's error prefix, where Firehose writes each record the transformation Lambda marked
``ProcessingFailed`` (``errors/processing-failed/year=/month=/day=/``): one JSON document per line with the original
record base64-encoded in ``rawData`` and ``errorCode``/``errorMessage`` (format-conversion errors spell them
``ErrorCode``/``ErrorMessage``). ``quarantine``: the curated job's rejected rows (``quarantine/quarantine_date=/``,
JSON lines as they were read plus ``quarantine_reason``; ``_corrupt_record`` holds a line that was not JSON).

A record is "now valid" when the transformation Lambda's own rules accept it (the same pure code), every reading
is within the schema's ranges, and, for the quarantine, its device is in the job's device table (the curated job
would reject it again otherwise). The dry run prints what would be re-sent and what is still invalid, grouped by
reason. ``--apply`` re-sends object by object with the producer's batching and retries; an object whose valid
records were all written is moved: the re-sent lines to ``replayed/<its key>``, and the lines still invalid stay
under the original key. Nothing that was not re-sent is ever deleted; an object with a record Kinesis did not take
is left exactly as it was (a later run re-sends it). Buckets and the stream come from the deployed stack outputs.
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import io
import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from infra.config import ENV_NAME  # the one environment-name rule
from lambdas.firehose_transform import transform
from tools.producer import DEFAULT_MAX_ATTEMPTS, Entry, Progress, PutRecordsClient, PutResult, put_all
from tools.stack_outputs import OutputsError, StackOutputs, outputs_path

SOURCES = ("errors", "quarantine")
REPLAYED_PREFIX = "replayed/"
QUARANTINE_COLUMNS = ("quarantine_reason", "quarantine_date")
CORRUPT_RECORD = "_corrupt_record"
_KEY_DATE = re.compile(r"year=(\d{4})/month=(\d{2})/day=(\d{2})/|quarantine_date=(\d{4})-(\d{2})-(\d{2})/")
_RANGES = {
    spec["name"]: (spec.get("min", float("-inf")), spec.get("max", float("inf")))
    for spec in transform.SCHEMA["fields"]
    if spec["type"] == "double"
}


class S3Client(Protocol):
    """The S3 calls replay makes; boto3's client satisfies it."""

    def get_paginator(self, name: str) -> Any: ...
    def get_object(self, **kwargs: Any) -> Any: ...
    def put_object(self, **kwargs: Any) -> Any: ...
    def copy_object(self, **kwargs: Any) -> Any: ...
    def delete_object(self, **kwargs: Any) -> Any: ...


@dataclass(slots=True)
class Line:
    """One line of a stored object: its text, and what to send (or why it cannot be sent)."""

    text: str
    entry: Entry | None
    reason: str | None


@dataclass(slots=True)
class Plan:
    """What replay found: per object, its lines; and the counts the dry run prints."""

    objects: dict[str, tuple[list[Line], bool]] = field(default_factory=dict)  # key: (lines, gzipped)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def valid(self) -> int:
        """Records that would be re-sent."""
        return sum(1 for lines, _ in self.objects.values() for line in lines if line.entry is not None)


def check(data: bytes, devices: frozenset[str] | None) -> tuple[Entry | None, str | None]:
    """A stored record's bytes to the Kinesis entry that re-sends it, or the reason it is still invalid."""
    try:
        readings = transform.parse_payload(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        return None, f"data is not valid UTF-8 (byte {error.start})"
    except transform.RecordError as error:
        return None, str(error)
    if not readings:
        return None, "nothing to deliver (blank, or a CSV header)"
    for reading in readings:
        for name, (low, high) in _RANGES.items():
            value = reading.get(name)
            if value is not None and not low <= value <= high:
                return None, f"{name}: out of range {low:g}..{high:g}"
        if devices is not None and reading[transform.DEVICE_FIELD] not in devices:
            return None, "unknown_device: not in the job's device table"
    return {"Data": data, "PartitionKey": readings[0][transform.DEVICE_FIELD]}, None


def parse_line(source: str, text: str, devices: frozenset[str] | None) -> Line:
    """One stored line to what it would re-send: an error document's rawData, or a quarantine row."""
    try:
        document = json.loads(text)
    except ValueError:
        return Line(text, None, "stored line is not JSON")
    if not isinstance(document, dict):
        return Line(text, None, "stored line is not a JSON object")
    if source == "errors":
        try:
            data = base64.b64decode(document["rawData"], validate=True)
        except (KeyError, TypeError, ValueError):
            return Line(text, None, "error record has no base64 rawData")
    elif isinstance(document.get(CORRUPT_RECORD), str):
        data = document[CORRUPT_RECORD].encode("utf-8")
    else:
        row = {key: value for key, value in document.items() if key not in QUARANTINE_COLUMNS}
        data = json.dumps(row, separators=(",", ":")).encode("utf-8")
    entry, reason = check(data, devices)
    return Line(text, entry, reason)


def key_date(key: str) -> date | None:
    """The date a stored object is filed under (Firehose's year=/month=/day=, or quarantine_date=)."""
    match = _KEY_DATE.search(key)
    if match is None:
        return None
    parts = [int(part) for part in match.groups() if part is not None]
    return date(parts[0], parts[1], parts[2])


def plan(
    s3: S3Client, bucket: str, prefix: str, source: str, since: date | None, devices: frozenset[str] | None
) -> Plan:
    """Read every object under ``prefix`` (from ``since`` on) and decide, line by line, what would be re-sent."""
    result = Plan()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key: str = item["Key"]
            name = key.rsplit("/", 1)[-1]
            # Spark's markers and hidden folders (the Glue reader's own error records) hold no readings.
            if not name or name.startswith(("_", ".")) or "/_" in key[len(prefix) :]:
                continue
            filed = key_date(key)
            if since is not None and filed is not None and filed < since:
                continue
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            gzipped = body[:2] == b"\x1f\x8b"
            text = gzip.decompress(body).decode("utf-8", "replace") if gzipped else body.decode("utf-8", "replace")
            lines = [parse_line(source, line, devices) for line in text.splitlines() if line.strip()]
            result.objects[key] = (lines, gzipped)
            result.reasons.update(line.reason for line in lines if line.reason is not None)
    return result


def _body(lines: list[Line], gzipped: bool) -> bytes:
    data = "".join(f"{line.text}\n" for line in lines).encode("utf-8")
    return gzip.compress(data, mtime=0) if gzipped else data


class _Overall(Progress):
    """One progress line over every object's ``put_all`` call, each of which counts from zero."""

    def __init__(self, total: int) -> None:
        super().__init__(total, stream=sys.stderr, label="replay")
        self.written = self.not_written = 0

    def update(self, written: int, not_written: int) -> None:
        """Report the counts so far, across objects."""
        super().update(self.written + written, self.not_written + not_written)

    def finish(self, written: int, not_written: int) -> None:
        """One object is done: add its counts (the line at the very end is ``done``'s)."""
        self.written, self.not_written = self.written + written, self.not_written + not_written

    def done(self) -> None:
        """Report the final counts."""
        super().finish(self.written, self.not_written)


def apply(
    found: Plan, s3: S3Client, bucket: str, kinesis: PutRecordsClient, stream: str, *, max_attempts: int
) -> tuple[PutResult, int]:
    """Re-send every valid record, object by object, and move what was fully re-sent; the result and objects moved."""
    overall = _Overall(found.valid)
    total, moved = PutResult(), 0
    for key, (lines, gzipped) in found.objects.items():
        entries = [line.entry for line in lines if line.entry is not None]
        if not entries:
            continue
        result = put_all(kinesis, stream, entries, max_attempts=max_attempts, progress=overall)
        total.add(result)
        if result.not_written:
            continue  # left as it was: a later run re-sends it
        s3.put_object(Bucket=bucket, Key=REPLAYED_PREFIX + key, Body=_body([x for x in lines if x.entry], gzipped))
        remaining = [line for line in lines if line.entry is None]
        if remaining:
            s3.put_object(Bucket=bucket, Key=key, Body=_body(remaining, gzipped))
        else:
            s3.delete_object(Bucket=bucket, Key=key)
        moved += 1
    overall.done()
    return total, moved


# --- Command line -------------------------------------------------------------------------------------------------


def _env_name(text: str) -> str:
    if ENV_NAME.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an environment name (a lower-case letter, then letters, digits or '-', 11 at most)"
        )
    return text


def _source(text: str) -> str:
    if text not in SOURCES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a source; use one of {', '.join(SOURCES)}")
    return text


def _since(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def build_parser() -> argparse.ArgumentParser:
    """The replay command line."""
    parser = argparse.ArgumentParser(prog="python -m tools.replay", description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=_env_name, default="sandbox", help="environment (%(default)s)")
    parser.add_argument("--source", type=_source, required=True, help="errors or quarantine")
    parser.add_argument("--since", type=_since, help="only objects filed on or after this date (YYYY-MM-DD)")
    parser.add_argument("--apply", action="store_true", help="re-send and move; without it, a dry run")
    parser.add_argument("--stack-outputs", type=Path, metavar="FILE", help="outputs file (default outputs/<env>.json)")
    parser.add_argument("--max-attempts", type=int, default=DEFAULT_MAX_ATTEMPTS, help="PutRecords attempts per record")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    return parser


def _s3_url(url: str) -> tuple[str, str]:
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return bucket, prefix


def locate(outputs: StackOutputs, source: str, clients: dict[str, Any]) -> tuple[str, str, frozenset[str] | None]:
    """The bucket and prefix to read, and the device table (quarantine only), from the stack outputs."""
    if source == "errors":
        delivery = outputs.get("DeliveryStreamName")
        description = clients["firehose"].describe_delivery_stream(DeliveryStreamName=delivery)
        destination = description["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
        prefix = destination.get("ErrorOutputPrefix", "errors/").split("!{", 1)[0]
        return destination["BucketARN"].rsplit(":", 1)[-1], prefix, None
    bucket, prefix = _s3_url(outputs.get("QuarantinePath"))
    job = clients["glue"].get_job(JobName=outputs.get("CurateJobName"))["Job"]
    devices_bucket, devices_key = _s3_url(job.get("DefaultArguments", {}).get("--devices_path", ""))
    table = clients["s3"].get_object(Bucket=devices_bucket, Key=devices_key)["Body"].read().decode("utf-8")
    return bucket, prefix, frozenset(row["device_id"] for row in csv.DictReader(io.StringIO(table)))


def _report(found: Plan, where: str) -> None:
    invalid = sum(found.reasons.values())
    print(f"{where}: {len(found.objects)} objects, {found.valid + invalid} records")
    print(f"  would re-send: {found.valid}")
    print(f"  still invalid: {invalid}")
    for reason, count in found.reasons.most_common(15):
        print(f"    {count:>7}  {reason}")


def main(argv: Sequence[str] | None = None, *, clients: dict[str, Any] | None = None) -> int:
    """Run replay; returns the process exit status."""
    import boto3  # type: ignore[import-untyped, unused-ignore]
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.max_attempts < 1:
        parser.error(f"--max-attempts: {args.max_attempts} is too small; use 1 or more")
    if clients is None:
        clients = {name: boto3.client(name, region_name=args.region) for name in ("s3", "kinesis", "firehose", "glue")}
    path = args.stack_outputs or outputs_path(args.env)
    try:
        outputs = StackOutputs.load(path, env=args.env)
        stream = outputs.get("IngestStreamName")
        bucket, prefix, devices = locate(outputs, args.source, clients)
        found = plan(clients["s3"], bucket, prefix, args.source, args.since, devices)
        since = f" since {args.since}" if args.since else ""
        _report(found, f"{args.source} in s3://{bucket}/{prefix}{since}")
        if not args.apply:
            print(f"dry run: nothing sent; add APPLY=1 (--apply) to re-send {found.valid} records to {stream}")
            return 0
        result, moved = apply(found, clients["s3"], bucket, clients["kinesis"], stream, max_attempts=args.max_attempts)
    except OutputsError as error:
        parser.error(f"--env: {error}")
    except (BotoCoreError, ClientError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 1
    print(f"re-sent {result.written} records to {stream}; moved {moved} objects under {REPLAYED_PREFIX}")
    if result.not_written:
        print(
            f"{parser.prog}: error: {result.not_written} records were not written ({dict(result.error_codes)}); "
            "their objects are untouched: run replay again",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
