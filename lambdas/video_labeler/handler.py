"""Video labeler Lambda: a thin handler over ``frames``, run by an EventBridge schedule.

Each run labels the window its schedule names (frames.window_for): KVS `GetImages` samples frames from the stream,
Rekognition `DetectLabels` labels each, one JSON line per frame lands in the curated zone, and a frame that shows a
watched label becomes an event on EventBridge for the notifier. A frame that cannot be labeled is written, with its
reason, to the errors object of the window. A run that fails as a whole (throttled, refused) raises: EventBridge
retries it, then its event waits in the dead-letter queue; a rerun overwrites the same objects.

Environment: STREAM_NAME, STREAM_ARN, BUCKET, PREFIX, SCHEDULE_MINUTES, LAG_SECONDS, SAMPLING_INTERVAL_MS, CLOCK,
IMAGE_FORMAT, WIDTH_PIXELS, MIN_CONFIDENCE, MAX_LABELS, MAX_FRAMES, WATCH_LABELS (JSON list), WATCH_MIN_CONFIDENCE,
EVENT_SOURCE.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

if TYPE_CHECKING or __package__:
    from . import frames
else:
    import frames

LOGGER = logging.getLogger("video_labeler")
if "AWS_LAMBDA_LOG_LEVEL" not in os.environ:
    LOGGER.setLevel(logging.INFO)
# Rekognition's answers about one image (not about the caller): the frame goes to the errors object with the reason.
FRAME_ERRORS = frozenset({"InvalidImageFormatException", "ImageTooLargeException", "InvalidParameterException"})
# EventBridge PutEvents takes at most 10 entries per call.
EVENT_BATCH = 10
DETAIL_TYPE = "Video labels matched"
# How the labeler gets an AWS client: boto3.client in Lambda, local stand-ins in `make video-local`.
ClientFactory = Callable[..., Any]


@dataclass(frozen=True)
class Config:
    """The labeler's settings, read once per invocation from its environment."""

    stream_name: str
    stream_arn: str
    bucket: str
    prefix: str
    schedule_minutes: int
    lag_seconds: int
    sampling_interval_ms: int
    lookback_ms: int
    clock: str
    image_format: str
    width_pixels: int
    min_confidence: float
    max_labels: int
    max_frames: int
    watch_labels: tuple[str, ...]
    watch_min_confidence: float
    event_source: str

    @classmethod
    def from_environment(cls, env: dict[str, str]) -> Config:
        """Every variable is required; a missing or malformed one fails the run with its name."""
        try:
            return cls(
                stream_name=env["STREAM_NAME"],
                stream_arn=env["STREAM_ARN"],
                bucket=env["BUCKET"],
                prefix=env["PREFIX"],
                schedule_minutes=int(env["SCHEDULE_MINUTES"]),
                lag_seconds=int(env["LAG_SECONDS"]),
                sampling_interval_ms=int(env["SAMPLING_INTERVAL_MS"]),
                lookback_ms=int(env["LOOKBACK_MS"]),
                clock=env["CLOCK"],
                image_format=env["IMAGE_FORMAT"],
                width_pixels=int(env["WIDTH_PIXELS"]),
                min_confidence=float(env["MIN_CONFIDENCE"]),
                max_labels=int(env["MAX_LABELS"]),
                max_frames=int(env["MAX_FRAMES"]),
                watch_labels=tuple(json.loads(env["WATCH_LABELS"])),
                watch_min_confidence=float(env["WATCH_MIN_CONFIDENCE"]),
                event_source=env["EVENT_SOURCE"],
            )
        except KeyError as missing:
            raise ValueError(f"environment variable {missing.args[0]} is not set") from None


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Label the window of the scheduled run (EventBridge's `time`)."""
    return run(event["time"], Config.from_environment(dict(os.environ)), boto3.client)


def run(scheduled: str, config: Config, client: ClientFactory) -> dict[str, Any]:
    """Label the window of the run scheduled at `scheduled`; exit after two cheap calls when no video arrived."""
    window = frames.window_for(
        frames.parse_time(scheduled), minutes=config.schedule_minutes, lag_seconds=config.lag_seconds
    )
    sampled = [frame for frame in fetch_frames(config, window, client) if frame.error != frames.NO_MEDIA]
    summary: dict[str, Any] = {"window": [frames.iso(window.start), frames.iso(window.end)], "frames": len(sampled)}
    if not sampled:
        LOGGER.info("no video %s", json.dumps(summary))
        return summary
    labeled, failed = label_frames(config, sampled, client)
    labels_key = frames.object_key(config.prefix, "labels", config.stream_name, window)
    errors_key = frames.object_key(config.prefix, "errors", config.stream_name, window)
    s3 = client("s3")
    if labeled:
        s3.put_object(Bucket=config.bucket, Key=labels_key, Body=frames.json_lines(labeled))
    if failed:
        s3.put_object(Bucket=config.bucket, Key=errors_key, Body=frames.json_lines(failed))
    hits = [r for r in labeled if r["watched"]]
    publish(config, [frames.alert_detail(r, bucket=config.bucket, key=labels_key) for r in hits], client)
    summary.update(labeled=len(labeled), errors=len(failed), alerts=len(hits))
    LOGGER.info("labeled %s", json.dumps(summary))
    return summary


def fetch_frames(config: Config, window: frames.Window, client: ClientFactory) -> Iterator[frames.Frame]:
    """Every image GetImages returns for the window (every page), in time order.

    GetImages leaves out a fragment that began before its StartTimestamp (its images come back NO_MEDIA), so each
    call starts `lookback_ms` earlier, a whole number of sampling intervals, and only the range's own images are kept.
    """
    endpoint = client("kinesisvideo").get_data_endpoint(StreamARN=config.stream_arn, APIName="GET_IMAGES")
    media = client("kinesis-video-archived-media", endpoint_url=endpoint["DataEndpoint"])
    lookback = timedelta(milliseconds=config.lookback_ms)
    for part in frames.ranges(window, frames.MAX_RANGE - lookback):
        request: dict[str, Any] = {
            "StreamARN": config.stream_arn,
            "ImageSelectorType": config.clock,
            "StartTimestamp": part.start - lookback,
            # GetImages includes its end; the window is half-open, so stop one millisecond short.
            "EndTimestamp": part.end - timedelta(milliseconds=1),
            "SamplingInterval": config.sampling_interval_ms,
            "Format": config.image_format,
            "WidthPixels": config.width_pixels,
            "MaxResults": 100,
        }
        while True:
            page = media.get_images(**request)
            for image in page.get("Images", []):
                if not part.start <= image["TimeStamp"] < part.end:
                    continue
                content = image.get("ImageContent")
                yield frames.Frame(
                    timestamp=image["TimeStamp"],
                    content=base64.b64decode(content) if content else None,
                    error=image.get("Error"),
                )
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]


def label_frames(
    config: Config, sampled: list[frames.Frame], client: ClientFactory
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Labels of each frame, and each frame that could not be labeled with its reason; nothing is left out."""
    rekognition = client("rekognition")
    labeled: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for index, frame in enumerate(sampled):
        if index >= config.max_frames:
            reason = f"over the run's budget of {config.max_frames} frames (video.frames_per_minute)"
            failed.append(frames.error_record(config.stream_name, frame, clock=config.clock, reason=reason))
        elif frame.content is None:
            reason = f"GetImages returned no image: {frame.error or 'empty content'}"
            failed.append(frames.error_record(config.stream_name, frame, clock=config.clock, reason=reason))
        else:
            try:
                response = rekognition.detect_labels(
                    Image={"Bytes": frame.content}, MaxLabels=config.max_labels, MinConfidence=config.min_confidence
                )
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code not in FRAME_ERRORS:
                    raise
                reason = f"DetectLabels refused the image: {code}: {error.response['Error'].get('Message', '')}"
                failed.append(frames.error_record(config.stream_name, frame, clock=config.clock, reason=reason))
                continue
            labeled.append(
                frames.label_record(
                    config.stream_name,
                    frame,
                    response,
                    clock=config.clock,
                    watch=config.watch_labels,
                    watch_confidence=config.watch_min_confidence,
                )
            )
    return labeled, failed


def publish(config: Config, details: list[dict[str, Any]], client: ClientFactory) -> None:
    """One EventBridge event per frame that shows a watched label; a refused entry fails the run (it is retried)."""
    events = client("events")
    for start in range(0, len(details), EVENT_BATCH):
        entries = [
            {"Source": config.event_source, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail)}
            for detail in details[start : start + EVENT_BATCH]
        ]
        response = events.put_events(Entries=entries)
        if response.get("FailedEntryCount"):
            failed = next(e for e in response["Entries"] if e.get("ErrorCode"))
            raise RuntimeError(f"EventBridge refused {response['FailedEntryCount']} event(s): {failed['ErrorCode']}")
