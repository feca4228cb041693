"""The video labeler and notifier: every AWS call answered by botocore's Stubber, no account."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from lambdas.video_labeler import frames, handler, notifier

REGION = "eu-west-1"
STREAM = "ml-data-lake-test-video"
STREAM_ARN = f"arn:aws:kinesisvideo:{REGION}:111111111111:stream/{STREAM}/1700000000000"
BUCKET = "ml-data-lake-test-curated"
SOURCE = "ml-data-lake-test.video"
ENDPOINT = "https://b-1234.kinesisvideo.eu-west-1.amazonaws.com"
TOPIC = f"arn:aws:sns:{REGION}:111111111111:alerts"
# Scheduled at 10:07:23 with a 5-minute schedule and 60 s of lag: the tick is 10:05, the window 09:59 to 10:04.
SCHEDULED = "2026-11-26T10:07:23Z"
START = datetime(2026, 11, 26, 9, 59, tzinfo=UTC)
END = datetime(2026, 11, 26, 10, 4, tzinfo=UTC)
# Each GetImages call starts 10 s early, so a 300 s window is two calls: 290 s and 10 s.
SPLIT = START + timedelta(seconds=290)
LABELS_KEY = f"video/labels/stream={STREAM}/dt=2026-11-26/095900-100400.json"
ERRORS_KEY = f"video/errors/stream={STREAM}/dt=2026-11-26/095900-100400.json"
JPEG = b"\xff\xd8\xff\xe0 frame bytes"
ENVIRONMENT = {
    "STREAM_NAME": STREAM,
    "STREAM_ARN": STREAM_ARN,
    "BUCKET": BUCKET,
    "PREFIX": "video/",
    "SCHEDULE_MINUTES": "5",
    "LAG_SECONDS": "60",
    "SAMPLING_INTERVAL_MS": "10000",
    "LOOKBACK_MS": "10000",
    "CLOCK": "SERVER_TIMESTAMP",
    "IMAGE_FORMAT": "JPEG",
    "WIDTH_PIXELS": "1280",
    "MIN_CONFIDENCE": "70.0",
    "MAX_LABELS": "20",
    "MAX_FRAMES": "30",
    "WATCH_LABELS": '["Person"]',
    "WATCH_MIN_CONFIDENCE": "90.0",
    "EVENT_SOURCE": SOURCE,
}


@dataclass
class Stubs:
    """One stubbed client per service the functions call, handed out by a patched boto3.client."""

    kinesisvideo: Stubber
    media: Stubber
    rekognition: Stubber
    s3: Stubber
    events: Stubber
    sns: Stubber

    def all(self) -> list[Stubber]:
        return [self.kinesisvideo, self.media, self.rekognition, self.s3, self.events, self.sns]


class Capture:
    """Matches any value among a Stubber's expected parameters, and keeps each value it was compared with."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __eq__(self, other: object) -> bool:
        self.values.append(other)
        return True

    __hash__ = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def clients() -> dict[str, Any]:
    """The clients, made once (each costs tens of milliseconds); every test wraps them in fresh Stubbers."""
    # A session of its own with fake keys: boto3's default session would keep them for later tests.
    fake = "testing"
    session = boto3.session.Session(aws_access_key_id=fake, aws_secret_access_key=fake, region_name=REGION)
    return {
        service: session.client(service)  # type: ignore[call-overload]
        for service in ("kinesisvideo", "kinesis-video-archived-media", "rekognition", "s3", "events", "sns")
    }


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch, clients: dict[str, Any]) -> Iterator[Stubs]:
    for name, value in {**ENVIRONMENT, "TOPIC_ARN": TOPIC}.items():
        monkeypatch.setenv(name, value)
    endpoints: list[str | None] = []

    def client(service: str, endpoint_url: str | None = None, **_: Any) -> Any:
        if service == "kinesis-video-archived-media":
            endpoints.append(endpoint_url)
        return clients[service]

    monkeypatch.setattr(handler.boto3, "client", client)
    monkeypatch.setattr(notifier.boto3, "client", client)
    stubbers = Stubs(*(Stubber(c) for c in clients.values()))
    for stubber in stubbers.all():
        stubber.activate()
    yield stubbers
    for stubber in stubbers.all():
        stubber.assert_no_pending_responses()
        stubber.deactivate()
    assert set(endpoints) <= {ENDPOINT}


def _images_request(start: datetime, end: datetime, page: str | None = None) -> dict[str, Any]:
    request = {
        "StreamARN": STREAM_ARN,
        "ImageSelectorType": "SERVER_TIMESTAMP",
        # One sampling interval early: GetImages leaves out a fragment that began before its start
        "StartTimestamp": start - timedelta(seconds=10),
        "EndTimestamp": end - timedelta(milliseconds=1),
        "SamplingInterval": 10000,
        "Format": "JPEG",
        "WidthPixels": 1280,
        "MaxResults": 100,
    }
    return {**request, "NextToken": page} if page else request


def _image(second: int, content: bytes | None = JPEG, error: str | None = None) -> dict[str, Any]:
    image: dict[str, Any] = {"TimeStamp": START + timedelta(seconds=second)}
    if content is not None:
        image["ImageContent"] = base64.b64encode(content).decode()
    if error is not None:
        image["Error"] = error
    return image


def _expect_frames(stubs: Stubs, images: list[dict[str, Any]]) -> None:
    stubs.kinesisvideo.add_response(
        "get_data_endpoint", {"DataEndpoint": ENDPOINT}, {"StreamARN": STREAM_ARN, "APIName": "GET_IMAGES"}
    )
    stubs.media.add_response("get_images", {"Images": images}, _images_request(START, SPLIT))
    stubs.media.add_response("get_images", {"Images": []}, _images_request(SPLIT, END))


def _labels(*pairs: tuple[str, float]) -> dict[str, Any]:
    return {
        "Labels": [{"Name": name, "Confidence": confidence, "Parents": []} for name, confidence in pairs],
        "LabelModelVersion": "3.0",
    }


def _expect_labels(stubs: Stubs, response: dict[str, Any]) -> None:
    stubs.rekognition.add_response(
        "detect_labels", response, {"Image": {"Bytes": JPEG}, "MaxLabels": 20, "MinConfidence": 70.0}
    )


def _put(stubs: Stubs, key: str) -> list[bytes]:
    """Expect one put_object of `key`; the returned list receives its body."""
    body = Capture()
    stubs.s3.add_response("put_object", {}, {"Bucket": BUCKET, "Key": key, "Body": body})
    return body.values


# --- The window ----------------------------------------------------------------------------------------------------


def test_the_window_comes_from_the_scheduled_time_so_a_late_run_reads_the_same_one() -> None:
    on_time = frames.window_for(frames.parse_time("2026-11-26T10:05:00Z"), minutes=5, lag_seconds=60)
    late = frames.window_for(frames.parse_time(SCHEDULED), minutes=5, lag_seconds=60)
    assert on_time == late == frames.Window(START, END)
    # Consecutive ticks tile time: the next run starts where this one ended
    following = frames.window_for(frames.parse_time("2026-11-26T10:10:00Z"), minutes=5, lag_seconds=60)
    assert following.start == END


def test_a_window_longer_than_getimages_takes_is_cut_into_300_second_ranges() -> None:
    window = frames.Window(START, START + timedelta(minutes=12))
    parts = list(frames.ranges(window))
    assert [(p.end - p.start).total_seconds() for p in parts] == [300, 300, 120]
    assert parts[0].start == START
    assert parts[-1].end == window.end


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        frames.parse_time("2026-11-26T10:05:00")


# --- A run -------------------------------------------------------------------------------------------------------


def test_no_video_ends_the_run_after_two_calls_and_writes_nothing(stubs: Stubs) -> None:
    _expect_frames(stubs, [_image(0, content=None, error="NO_MEDIA"), _image(10, content=None, error="NO_MEDIA")])
    summary = handler.handler({"time": SCHEDULED}, None)
    assert summary == {"window": ["2026-11-26T09:59:00.000Z", "2026-11-26T10:04:00.000Z"], "frames": 0}


def test_each_frame_is_labeled_written_and_a_watched_one_is_published(stubs: Stubs) -> None:
    # Given three frames: a person, a car, and one GetImages could not decode
    _expect_frames(stubs, [_image(0), _image(10), _image(20, content=None, error="MEDIA_ERROR")])
    _expect_labels(stubs, _labels(("Person", 97.5), ("Clothing", 80.0)))
    _expect_labels(stubs, _labels(("Car", 99.0)))
    labels = _put(stubs, LABELS_KEY)
    stubs.s3.add_response("put_object", {}, {"Bucket": BUCKET, "Key": ERRORS_KEY, "Body": ANY})
    entries = Capture()
    stubs.events.add_response(
        "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}, {"Entries": entries}
    )
    # When the run handles its window
    summary = handler.handler({"time": SCHEDULED}, None)
    # Then two frames are labeled, one is an error with its reason, one alert is published
    assert summary["frames"] == 3
    assert (summary["labeled"], summary["errors"], summary["alerts"]) == (2, 1, 1)
    lines = [json.loads(line) for line in labels[0].decode().splitlines()]
    assert [line["timestamp"] for line in lines] == ["2026-11-26T09:59:00.000Z", "2026-11-26T09:59:10.000Z"]
    assert lines[0]["labels"][0] == {"name": "Person", "confidence": 97.5, "parents": []}
    assert lines[0]["label_model_version"] == "3.0"
    assert [line["watched"] for line in lines] == [["Person"], []]
    [[event]] = entries.values
    assert (event["Source"], event["DetailType"]) == (SOURCE, "Video labels matched")
    detail = json.loads(event["Detail"])
    assert detail["object"] == f"s3://{BUCKET}/{LABELS_KEY}"
    assert [label["name"] for label in detail["labels"]] == ["Person"]


def test_an_image_rekognition_refuses_goes_to_the_errors_object_with_the_reason(stubs: Stubs) -> None:
    _expect_frames(stubs, [_image(0)])
    stubs.rekognition.add_client_error(
        "detect_labels", service_error_code="InvalidImageFormatException", service_message="bad image"
    )
    errors = _put(stubs, ERRORS_KEY)
    summary = handler.handler({"time": SCHEDULED}, None)
    assert (summary["labeled"], summary["errors"], summary["alerts"]) == (0, 1, 0)
    [line] = [json.loads(line) for line in errors[0].decode().splitlines()]
    assert line["reason"] == "DetectLabels refused the image: InvalidImageFormatException: bad image"
    assert line["timestamp"] == "2026-11-26T09:59:00.000Z"


def test_frames_over_the_runs_budget_are_written_as_errors_not_dropped(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_FRAMES", "1")
    _expect_frames(stubs, [_image(0), _image(10)])
    _expect_labels(stubs, _labels(("Tree", 88.0)))
    _put(stubs, LABELS_KEY)
    errors = _put(stubs, ERRORS_KEY)
    handler.handler({"time": SCHEDULED}, None)
    assert "over the run's budget of 1 frames" in errors[0].decode()


def test_a_throttled_run_fails_as_a_whole_and_writes_nothing(stubs: Stubs) -> None:
    _expect_frames(stubs, [_image(0)])
    stubs.rekognition.add_client_error("detect_labels", service_error_code="ThrottlingException")
    with pytest.raises(Exception, match="ThrottlingException"):
        handler.handler({"time": SCHEDULED}, None)


def test_every_page_of_getimages_is_read(stubs: Stubs) -> None:
    stubs.kinesisvideo.add_response(
        "get_data_endpoint", {"DataEndpoint": ENDPOINT}, {"StreamARN": STREAM_ARN, "APIName": "GET_IMAGES"}
    )
    stubs.media.add_response("get_images", {"Images": [_image(0)], "NextToken": "abc"}, _images_request(START, SPLIT))
    stubs.media.add_response("get_images", {"Images": [_image(10)]}, _images_request(START, SPLIT, page="abc"))
    stubs.media.add_response("get_images", {"Images": []}, _images_request(SPLIT, END))
    _expect_labels(stubs, _labels(("Tree", 88.0)))
    _expect_labels(stubs, _labels(("Tree", 87.0)))
    _put(stubs, LABELS_KEY)
    assert handler.handler({"time": SCHEDULED}, None)["labeled"] == 2


def test_images_of_the_lookback_belong_to_the_previous_window_and_are_not_labeled_twice(stubs: Stubs) -> None:
    # Given GetImages answering from 10 s before each range: the previous window's last frame, then this window's
    stubs.kinesisvideo.add_response(
        "get_data_endpoint", {"DataEndpoint": ENDPOINT}, {"StreamARN": STREAM_ARN, "APIName": "GET_IMAGES"}
    )
    stubs.media.add_response("get_images", {"Images": [_image(-10), _image(0)]}, _images_request(START, SPLIT))
    stubs.media.add_response("get_images", {"Images": [_image(280), _image(290)]}, _images_request(SPLIT, END))
    _expect_labels(stubs, _labels(("Tree", 88.0)))
    _expect_labels(stubs, _labels(("Tree", 87.0)))
    labels = _put(stubs, LABELS_KEY)
    # When the run handles its window
    assert handler.handler({"time": SCHEDULED}, None)["labeled"] == 2
    # Then only the window's own instants are labeled, each once
    stamps = [json.loads(line)["timestamp"] for line in labels[0].decode().splitlines()]
    assert stamps == ["2026-11-26T09:59:00.000Z", "2026-11-26T10:03:50.000Z"]


def test_a_refused_event_fails_the_run_so_it_is_retried(stubs: Stubs) -> None:
    _expect_frames(stubs, [_image(0)])
    _expect_labels(stubs, _labels(("Person", 99.0)))
    _put(stubs, LABELS_KEY)
    stubs.events.add_response(
        "put_events", {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]}
    )
    with pytest.raises(RuntimeError, match="EventBridge refused 1 event"):
        handler.handler({"time": SCHEDULED}, None)


def test_a_missing_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAM_ARN", raising=False)
    with pytest.raises(ValueError, match="STREAM_ARN is not set"):
        handler.Config.from_environment({k: v for k, v in ENVIRONMENT.items() if k != "STREAM_ARN"})


# --- The notifier ------------------------------------------------------------------------------------------------


def test_the_notifier_publishes_one_alert_naming_the_label_and_the_object(stubs: Stubs) -> None:
    detail = {
        "stream": STREAM,
        "timestamp": "2026-11-26T09:59:00.000Z",
        "watched": ["Person"],
        "labels": [{"name": "Person", "confidence": 97.5, "parents": []}],
        "object": f"s3://{BUCKET}/{LABELS_KEY}",
    }
    subject, message = frames.alert_message(detail)
    stubs.sns.add_response("publish", {"MessageId": "m-1"}, {"TopicArn": TOPIC, "Subject": subject, "Message": message})
    assert notifier.handler({"detail": detail}, None) == {"message_id": "m-1"}
    assert subject == f"Video {STREAM}: Person"
    assert "Person (98%)" in message
    assert LABELS_KEY in message
