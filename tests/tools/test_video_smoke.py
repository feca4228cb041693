"""`make video-smoke`: its refusals when the unit is off or not deployed, and the windows it asks the labeler for."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from infra.config.video import VideoSettings
from tools import video_smoke
from tools.stack_outputs import StackOutputs
from tools.video_producer import Ack


def test_the_unit_off_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    # sandbox leaves the video unit off (cdk.json)
    assert video_smoke.main(["--env", "sandbox"]) == 2
    assert capsys.readouterr().err.strip() == (
        "video-smoke: error: video.enabled is false in 'sandbox': turn it on in cdk.json and `make deploy`"
    )


def test_prod_needs_a_confirmation_and_then_its_deployment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert video_smoke.main(["--env", "prod"]) == 2
    assert "confirm with `make video-smoke ENV=prod CONFIRM=prod`" in capsys.readouterr().err
    # Confirmed, but deployed without the video unit
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "prod.json").write_text(json.dumps({"MlDataLake-prod-Core": {"AlertTopicArn": "x"}}))
    assert video_smoke.main(["--env", "prod", "--confirm", "prod"]) == 2
    assert capsys.readouterr().err.strip() == (
        "video-smoke: error: the video unit of 'prod' is not deployed: run `make deploy ENV=prod`"
    )


def test_the_windows_asked_for_cover_the_clip_and_read_back_as_the_schedule_would() -> None:
    video = VideoSettings(schedule_minutes=5, lag_seconds=60)
    # A clip sent at 10:03:55 for 10 s straddles the windows ending 10:04 and 10:09
    start = datetime(2026, 11, 26, 10, 3, 55, tzinfo=UTC)
    windows = video_smoke.windows_holding(start, start + timedelta(seconds=10), video)
    assert [(w.start.strftime("%H:%M"), w.end.strftime("%H:%M")) for w in windows] == [
        ("09:59", "10:04"),
        ("10:04", "10:09"),
    ]
    # The event sent for each is the schedule's tick, which reads the same window in the labeler
    for window in windows:
        scheduled = video_smoke.frames.parse_time(video_smoke.scheduled_time(window, video))
        assert video_smoke.frames.window_for(scheduled, minutes=5, lag_seconds=60) == window


def test_a_run_sends_the_clip_counts_fragments_runs_each_window_and_finds_its_labels(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_aws: None
) -> None:
    # Given a deployed unit whose every AWS call is answered by a Stubber
    video = VideoSettings(schedule_minutes=5, lag_seconds=60)
    now = datetime(2026, 11, 26, 10, 0, 30, tzinfo=UTC)  # a 10 s clip: one window, 09:59 to 10:04
    monkeypatch.setattr(video_smoke, "datetime", _FrozenClock(now))
    monkeypatch.setattr(video_smoke, "CLIP", tmp_path / "clip.mkv")
    monkeypatch.setattr(video_smoke, "write_clip", lambda path, spec: path)
    sent: list[str] = []
    monkeypatch.setattr(
        video_smoke,
        "send_clip",
        lambda stream, clip, region: sent.append(stream) or [Ack("PERSISTED", 0, "1", None, None)],
    )
    # A session of its own: boto3's default session would keep these fake credentials for later tests.
    aws = boto3.session.Session()
    clients = {name: aws.client(name) for name in ("kinesisvideo", "kinesis-video-archived-media", "lambda", "s3")}
    stubs = {name: Stubber(client) for name, client in clients.items()}
    stubs["kinesisvideo"].add_response(
        "get_data_endpoint", {"DataEndpoint": "https://kvs"}, {"StreamName": "s", "APIName": "LIST_FRAGMENTS"}
    )
    stubs["kinesis-video-archived-media"].add_response(
        "list_fragments", {"Fragments": [{"FragmentNumber": "1"}, {"FragmentNumber": "2"}]}, None
    )
    summary = json.dumps({"frames": 2, "labeled": 2, "errors": 0, "alerts": 0}).encode()
    stubs["lambda"].add_response(
        "invoke",
        {"StatusCode": 200, "Payload": StreamingBody(_bytes(summary), len(summary))},
        {"FunctionName": "labeler", "Payload": json.dumps({"time": "2026-11-26T10:05:00.000Z"}).encode()},
    )
    key = "video/labels/stream=s/dt=2026-11-26/095900-100400.json"
    stubs["s3"].add_response("head_object", {}, {"Bucket": "curated", "Key": key})
    for stub in stubs.values():
        stub.activate()
    session = type("Session", (), {"region_name": "eu-west-1", "client": lambda self, name, **_: clients[name]})()
    outputs = StackOutputs(
        {
            "MlDataLake-test-Video": {
                "VideoStreamName": "s",
                "VideoLabelerName": "labeler",
                "VideoBucketName": "curated",
                "VideoPrefix": "video/",
            }
        },
        source="test",
    )
    said: list[str] = []
    # When the smoke test runs
    video_smoke.run("test", session, outputs, video, said.append)
    # Then it sent the clip, saw two fragments, ran the one window and found its labels object
    assert sent == ["s"]
    assert "ListFragments: 2 fragment(s)" in said[1]
    assert key in said[2]
    for stub in stubs.values():
        stub.assert_no_pending_responses()


class _FrozenClock:
    """`datetime` with a fixed now()."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self, tz: object = None) -> datetime:
        return self._now


def _bytes(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
