"""`make video-smoke ENV=...`: send the synthetic clip to the deployed stream, check its fragments, label it, read S3.

Steps: PutMedia (tools.video_producer) -> ListFragments finds the clip's fragments -> the labeler is invoked for each
window that holds the clip (the same event its schedule sends, so it reads the same window) -> its labels objects are
in the curated zone. The unit must be on (`video.enabled`) and deployed (`make deploy` wrote outputs/<env>.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]

from infra.config.video import VideoSettings
from infra.synthesis import load_settings
from lambdas.video_labeler import frames
from tools.deploy import keeps_data
from tools.stack_outputs import OutputsError, StackOutputs, outputs_path
from tools.video_clip import ClipSpec, write_clip
from tools.video_producer import PutMediaError, send_clip

CLIP = Path("build/video/clip.mkv")
FRAGMENT_WAIT_SECONDS = 60


class VideoSmokeError(RuntimeError):
    """A check failed; the message says which and what was seen."""


def windows_holding(start: datetime, end: datetime, video: VideoSettings) -> list[frames.Window]:
    """Each labeler window that holds part of [start, end], with the time its schedule would run it."""
    found: dict[frames.Window, None] = {}
    moment = start
    while moment <= end:
        scheduled = moment + timedelta(seconds=video.lag_seconds, minutes=video.schedule_minutes)
        found[frames.window_for(scheduled, minutes=video.schedule_minutes, lag_seconds=video.lag_seconds)] = None
        moment += timedelta(seconds=1)
    return list(found)


def scheduled_time(window: frames.Window, video: VideoSettings) -> str:
    """The `time` of the scheduled event whose run reads `window`."""
    return frames.iso(window.end + timedelta(seconds=video.lag_seconds))


def count_fragments(session: Any, stream: str, start: datetime, end: datetime) -> int:
    """Fragments the stream received between start and end (ListFragments on the LIST_FRAGMENTS endpoint)."""
    endpoint = session.client("kinesisvideo").get_data_endpoint(StreamName=stream, APIName="LIST_FRAGMENTS")
    media = session.client("kinesis-video-archived-media", endpoint_url=endpoint["DataEndpoint"])
    selector = {
        "FragmentSelectorType": "SERVER_TIMESTAMP",
        "TimestampRange": {"StartTimestamp": start, "EndTimestamp": end},
    }
    pages = media.get_paginator("list_fragments").paginate(StreamName=stream, FragmentSelector=selector)
    return sum(len(page.get("Fragments", [])) for page in pages)


def invoke_labeler(session: Any, function: str, scheduled: str) -> dict[str, Any]:
    """Run the labeler as its schedule would for the tick `scheduled`; its summary, or its error as a failure."""
    response = session.client("lambda").invoke(FunctionName=function, Payload=json.dumps({"time": scheduled}).encode())
    payload = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        raise VideoSmokeError(f"the labeler failed for {scheduled}: {payload.get('errorMessage', payload)}")
    return dict(payload)


def run(env: str, session: Any, outputs: StackOutputs, video: VideoSettings, say: Callable[[str], None]) -> None:
    """Every step; raise VideoSmokeError at the first failed check."""
    stream, function = outputs.get("VideoStreamName"), outputs.get("VideoLabelerName")
    bucket, prefix = outputs.get("VideoBucketName"), outputs.get("VideoPrefix")
    spec = ClipSpec()
    write_clip(CLIP, spec)
    start = datetime.now(UTC)
    try:
        acks = send_clip(stream, CLIP, region=session.region_name)
    except PutMediaError as error:
        raise VideoSmokeError(f"PutMedia: {error}") from None
    end = datetime.now(UTC) + timedelta(seconds=spec.seconds)
    say(f"ok   sent {CLIP} to {stream}: {sum(a.event_type == 'PERSISTED' for a in acks)} fragment(s) persisted")
    deadline = time.monotonic() + FRAGMENT_WAIT_SECONDS
    while (found := count_fragments(session, stream, start - timedelta(seconds=5), end)) == 0:
        if time.monotonic() > deadline:
            raise VideoSmokeError(f"ListFragments found no fragment of {stream} since {frames.iso(start)}")
        time.sleep(5)
    say(f"ok   ListFragments: {found} fragment(s) since {frames.iso(start)}")
    labeled = 0
    for window in windows_holding(start, end, video):
        summary = invoke_labeler(session, function, scheduled_time(window, video))
        labeled += int(summary.get("labeled", 0))
        key = frames.object_key(prefix, "labels", stream, window)
        if summary.get("labeled"):
            session.client("s3").head_object(Bucket=bucket, Key=key)
            say(f"ok   labeler {summary}: s3://{bucket}/{key}")
    if not labeled:
        raise VideoSmokeError(f"the labeler labeled no frame of the clip (windows around {frames.iso(start)})")


def main(argv: Sequence[str] | None = None) -> int:
    """0 when every check passed, 1 when one failed, 2 when it could not start (unit off, not deployed)."""
    parser = argparse.ArgumentParser(prog="python -m tools.video_smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="sandbox")
    parser.add_argument("--confirm", default="")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.env)
        if not settings.video.enabled:
            raise VideoSmokeError(f"video.enabled is false in {args.env!r}: turn it on in cdk.json and `make deploy`")
        if keeps_data(settings) and args.confirm != settings.name:
            raise VideoSmokeError(
                f"the video smoke test writes labels into {args.env!r}, which keeps its data: "
                f"confirm with `make video-smoke ENV={args.env} CONFIRM={args.env}`"
            )
        outputs = StackOutputs.load(outputs_path(args.env), env=args.env)
        if outputs.find("VideoStreamName") is None:
            raise VideoSmokeError(f"the video unit of {args.env!r} is not deployed: run `make deploy ENV={args.env}`")
    except (VideoSmokeError, OutputsError) as error:
        print(f"video-smoke: error: {error}", file=sys.stderr)
        return 2
    try:
        region = outputs.get("VideoStreamArn").split(":")[3]
        run(args.env, boto3.Session(region_name=region), outputs, settings.video, print)
    except VideoSmokeError as error:
        print(f"video-smoke: failed: {error}", file=sys.stderr)
        return 1
    print("video smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
