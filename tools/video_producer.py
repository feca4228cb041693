"""A small PutMedia client: sends an MKV clip to a Kinesis video stream and reads the acknowledgements it streams back.

boto3 has no PutMedia (it is a long-lived streaming HTTP call), so this signs a POST to the stream's `PUT_MEDIA` data
endpoint with botocore's SigV4 signer and sends the clip with chunked transfer encoding. The service answers 200 at
once, then one JSON acknowledgement per line for each fragment (BUFFERING, RECEIVED, PERSISTED, or ERROR with an
error id) and IDLE keep-alives, until the body ends. An ERROR acknowledgement, or a fragment never PERSISTED, fails.

    python -m tools.video_producer --stream NAME [--clip build/video/clip.mkv] [--region eu-west-1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3  # type: ignore[import-untyped, unused-ignore]
from botocore.auth import SigV4Auth  # type: ignore[import-untyped, unused-ignore]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped, unused-ignore]
from botocore.credentials import ReadOnlyCredentials  # type: ignore[import-untyped, unused-ignore]

SERVICE = "kinesisvideo"
CHUNK = 64 * 1024
TIMEOUT_SECONDS = 60


class PutMediaError(RuntimeError):
    """The service refused the request or a fragment; the message is one line for the user."""


@dataclass(frozen=True)
class Ack:
    """One acknowledgement of the PutMedia session."""

    event_type: str
    fragment_timecode: int | None
    fragment_number: str | None
    error_id: int | None
    error_code: str | None

    @classmethod
    def parse(cls, line: str) -> Ack:
        """One line of the response body; a line that is not an acknowledgement fails with it quoted."""
        try:
            document: dict[str, Any] = json.loads(line)
            return cls(
                event_type=str(document["EventType"]),
                fragment_timecode=document.get("FragmentTimecode"),
                fragment_number=document.get("FragmentNumber"),
                error_id=document.get("ErrorId"),
                error_code=document.get("ErrorCode"),
            )
        except (json.JSONDecodeError, KeyError, TypeError):
            raise PutMediaError(f"unexpected line in the PutMedia response: {line[:200]!r}") from None


def signed_headers(
    endpoint: str, *, stream_name: str, start: datetime, credentials: ReadOnlyCredentials, region: str, body: bytes
) -> dict[str, str]:
    """The PutMedia headers, signed (SigV4, service `kinesisvideo`) over the whole clip's hash."""
    headers = {
        "x-amzn-stream-name": stream_name,
        # Cluster timecodes in the clip count from its start; the start is this producer timestamp (seconds).
        "x-amzn-fragment-timecode-type": "RELATIVE",
        "x-amzn-producer-start-timestamp": f"{start.timestamp():.3f}",
        "Content-Type": "application/octet-stream",
    }
    request = AWSRequest(method="POST", url=f"{endpoint.rstrip('/')}/putMedia", data=body, headers=headers)
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return {key: str(value) for key, value in request.headers.items()}


def chunks(body: bytes, size: int = CHUNK) -> Iterator[bytes]:
    """The body in HTTP/1.1 chunked encoding, last chunk included."""
    for start in range(0, len(body), size):
        part = body[start : start + size]
        yield f"{len(part):X}\r\n".encode() + part + b"\r\n"
    yield b"0\r\n\r\n"


def put_media(
    endpoint: str,
    *,
    stream_name: str,
    clip: bytes,
    credentials: ReadOnlyCredentials,
    region: str,
    start: datetime | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> list[Ack]:
    """Send `clip` and return every acknowledgement; raise PutMediaError on a refusal or an ERROR acknowledgement."""
    moment = start or datetime.now(UTC)
    headers = signed_headers(
        endpoint, stream_name=stream_name, start=moment, credentials=credentials, region=region, body=clip
    )
    url = urlsplit(endpoint)
    connection_type = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(url.netloc, timeout=timeout)
    try:
        connection.putrequest("POST", "/putMedia", skip_accept_encoding=True)
        for key, value in {**headers, "Transfer-Encoding": "chunked"}.items():
            connection.putheader(key, value)
        connection.endheaders()
        for chunk in chunks(clip):
            connection.send(chunk)
        return read_acks(connection.getresponse())
    finally:
        connection.close()


def read_acks(response: http.client.HTTPResponse) -> list[Ack]:
    """The acknowledgements of a response, failing on a non-200 status, an ERROR, or nothing persisted."""
    if response.status != 200:
        body = response.read().decode("utf-8", "replace").strip().replace("\n", " ")
        raise PutMediaError(f"PutMedia answered HTTP {response.status}: {body[:300]}")
    acks = [Ack.parse(line) for line in _lines(response)]
    errors = [ack for ack in acks if ack.event_type == "ERROR"]
    if errors:
        first = errors[0]
        raise PutMediaError(
            f"PutMedia refused fragment at timecode {first.fragment_timecode}: error {first.error_id} "
            f"{first.error_code or ''}".strip()
        )
    if not any(ack.event_type == "PERSISTED" for ack in acks):
        raise PutMediaError(f"no fragment was persisted ({len(acks)} acknowledgement(s), none PERSISTED)")
    return acks


def _lines(response: http.client.HTTPResponse) -> Iterator[str]:
    while line := response.readline():
        text = line.decode("utf-8").strip()
        if text:
            yield text


def main(argv: list[str] | None = None) -> int:
    """Find the stream's PUT_MEDIA endpoint, send the clip, print each persisted fragment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", required=True, help="the video stream's name")
    parser.add_argument("--clip", type=Path, default=Path("build/video/clip.mkv"))
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    try:
        acks = send_clip(args.stream, args.clip, region=args.region)
    except (PutMediaError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    persisted = [ack for ack in acks if ack.event_type == "PERSISTED"]
    print(f"{args.clip} -> {args.stream}: {len(persisted)} fragment(s) persisted")
    return 0


def send_clip(stream: str, clip: Path, *, region: str | None = None) -> list[Ack]:
    """Send a clip file to a deployed stream with the default credentials."""
    session = boto3.Session(region_name=region)
    credentials = session.get_credentials()
    if credentials is None or session.region_name is None:
        raise PutMediaError("no AWS credentials or region: configure a profile or set AWS_REGION")
    endpoint = session.client("kinesisvideo").get_data_endpoint(StreamName=stream, APIName="PUT_MEDIA")
    return put_media(
        endpoint["DataEndpoint"],
        stream_name=stream,
        clip=clip.read_bytes(),
        credentials=credentials.get_frozen_credentials(),
        region=session.region_name,
    )


if __name__ == "__main__":
    sys.exit(main())
