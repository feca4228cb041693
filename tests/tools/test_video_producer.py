"""The PutMedia client against a local HTTP server that speaks PutMedia's acknowledgement protocol (no AWS)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from botocore.credentials import ReadOnlyCredentials

from tools.video_producer import Ack, PutMediaError, chunks, put_media

CREDENTIALS = ReadOnlyCredentials("AKIDEXAMPLE", "secret", None)
CLIP = bytes(range(256)) * 700  # ~175 KB: three chunks of 64 KiB
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class PutMediaServer(BaseHTTPRequestHandler):
    """Reads a chunked body, then answers as Kinesis Video Streams does: 200 and one JSON ack per line."""

    protocol_version = "HTTP/1.1"
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self._read_chunked() if self.headers.get("Transfer-Encoding") == "chunked" else b""
        type(self).received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        stream = self.headers.get("x-amzn-stream-name", "")
        if stream == "missing":
            self._answer(404, [json.dumps({"message": "Stream not found"})])
            return
        acks = [{"EventType": "BUFFERING", "FragmentTimecode": 0, "FragmentNumber": "911"}]
        if stream == "refused":
            acks.append({"EventType": "ERROR", "FragmentTimecode": 0, "ErrorId": 4006, "ErrorCode": "INVALID_MKV_DATA"})
        else:
            acks += [
                {"EventType": "IDLE"},
                {"EventType": "RECEIVED", "FragmentTimecode": 0, "FragmentNumber": "911"},
                {"EventType": "PERSISTED", "FragmentTimecode": 0, "FragmentNumber": "911"},
            ]
        self._answer(200, [json.dumps(a) for a in acks])

    def _read_chunked(self) -> bytes:
        body = b""
        while size := int(self.rfile.readline().strip(), 16):
            body += self.rfile.read(size)
            self.rfile.readline()
        self.rfile.readline()
        return body

    def _answer(self, status: int, lines: list[str]) -> None:
        self.send_response(status)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for line in lines:
            data = (line + "\n").encode()
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def endpoint() -> Iterator[str]:
    PutMediaServer.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), PutMediaServer)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _send(endpoint: str, stream: str) -> list[Ack]:
    return put_media(
        endpoint, stream_name=stream, clip=CLIP, credentials=CREDENTIALS, region="eu-west-1", start=START, timeout=5
    )


def test_the_clip_is_sent_chunked_and_signed_with_the_putmedia_headers(endpoint: str) -> None:
    # When the clip is sent
    acks = _send(endpoint, "ml-data-lake-test-video")
    # Then the server got the whole clip on /putMedia, with the stream, timecode type and producer start
    [request] = PutMediaServer.received
    assert request["path"] == "/putMedia"
    assert request["body"] == CLIP
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-amzn-stream-name"] == "ml-data-lake-test-video"
    assert headers["x-amzn-fragment-timecode-type"] == "RELATIVE"
    assert headers["x-amzn-producer-start-timestamp"] == f"{START.timestamp():.3f}"
    assert "content-length" not in headers
    # signed with SigV4 for kinesisvideo, the PutMedia headers among the signed ones
    authorization = headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/kinesisvideo/aws4_request" in authorization
    assert "x-amzn-producer-start-timestamp" in authorization
    assert "x-amzn-stream-name" in authorization
    # And every acknowledgement is returned, keep-alives included
    assert [a.event_type for a in acks] == ["BUFFERING", "IDLE", "RECEIVED", "PERSISTED"]
    assert acks[-1].fragment_number == "911"


def test_an_error_acknowledgement_fails_loudly_with_its_error_id(endpoint: str) -> None:
    with pytest.raises(PutMediaError, match=r"refused fragment at timecode 0: error 4006 INVALID_MKV_DATA"):
        _send(endpoint, "refused")


def test_a_refused_request_fails_with_the_status_and_the_message(endpoint: str) -> None:
    with pytest.raises(PutMediaError, match=r"HTTP 404: .*Stream not found"):
        _send(endpoint, "missing")


def test_chunked_encoding_frames_every_part_and_ends_with_the_last_chunk() -> None:
    encoded = b"".join(chunks(b"abcdefghij", size=4))
    assert encoded == b"4\r\nabcd\r\n4\r\nefgh\r\n2\r\nij\r\n0\r\n\r\n"


def test_a_line_that_is_not_an_acknowledgement_is_quoted() -> None:
    with pytest.raises(PutMediaError, match="unexpected line"):
        Ack.parse("<html>")
