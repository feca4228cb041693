"""`make video-local`: the labeler's own code on the generated clip, with no AWS account.

The labeler Lambda's `run` is called as the schedule would call it, with local stand-ins for what it asks of AWS:
GetImages is answered from the clip decoded with PyAV (the frame at or before each sampling instant, or NO_MEDIA past
the clip's end), DetectLabels by a colour counter that names the scene's shapes (not a model: Rekognition cannot run
locally, and moto's DetectLabels answers "Mobile Phone" for every image), S3 and EventBridge by files. It writes the
labels and errors objects, the events the notifier would get, each sampled frame and an HTML contact sheet.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from infra.config.video import VideoSettings
from lambdas.video_labeler import frames, handler
from tools.video_clip import ClipSpec, write_clip

# The clip's first frame is at this producer time; the local run's schedule ticks one minute later.
CLIP_START = datetime(2026, 1, 1, tzinfo=UTC)
STREAM = "video-local"
# A shape counts when it covers at least this share of the frame.
MIN_COVERAGE = 0.002


@dataclass
class LocalClip:
    """The clip's decoded frames with their producer timestamps: what GetImages reads from the stream."""

    frames: list[tuple[datetime, Image.Image]]

    @classmethod
    def decode(cls, path: Path) -> LocalClip:
        """Every frame of the clip, timestamped from CLIP_START by its presentation time."""
        decoded: list[tuple[datetime, Image.Image]] = []
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            time_base = stream.time_base or 1
            for frame in container.decode(stream):
                seconds = float(frame.pts * time_base) if frame.pts is not None else 0.0
                decoded.append((CLIP_START + timedelta(seconds=seconds), frame.to_image()))  # type: ignore[no-untyped-call]
        return cls(decoded)

    def at(self, moment: datetime) -> Image.Image | None:
        """The frame shown at `moment` (the last one at or before it), None outside the clip."""
        shown = [image for stamp, image in self.frames if stamp <= moment]
        last = self.frames[-1][0] if self.frames else CLIP_START
        return shown[-1] if shown and moment <= last else None


@dataclass
class LocalAws:
    """Stand-ins for the five clients the labeler asks for; every call is recorded for the report."""

    clip: LocalClip
    out: Path
    image_format: str
    published: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, service: str, **_: Any) -> LocalAws:
        return self

    def get_data_endpoint(self, **_: Any) -> dict[str, str]:
        return {"DataEndpoint": "local"}

    def get_images(self, **request: Any) -> dict[str, Any]:
        """GetImages' answer: one image per sampling instant of [start, end], NO_MEDIA where the clip has none."""
        images: list[dict[str, Any]] = []
        moment, step = request["StartTimestamp"], timedelta(milliseconds=request["SamplingInterval"])
        while moment <= request["EndTimestamp"]:
            image = self.clip.at(moment)
            if image is None:
                images.append({"TimeStamp": moment, "Error": frames.NO_MEDIA})
            else:
                images.append({"TimeStamp": moment, "ImageContent": _encode(image, self.image_format)})
            moment += step
        return {"Images": images}

    def detect_labels(self, *, Image: dict[str, bytes], MinConfidence: float, **_: Any) -> dict[str, Any]:  # noqa: N803
        """DetectLabels' shape, from colour coverage: 'Red Square', 'Blue Disc' (a stand-in, not a model)."""
        labels = [label for label in colour_labels(Image["Bytes"]) if label["Confidence"] >= MinConfidence]
        return {"Labels": labels, "LabelModelVersion": "local-colour-1"}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> dict[str, Any]:  # noqa: N803
        target = self.out / Key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Body)
        return {}

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.published.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(len(self.published))} for _ in Entries]}


def colour_labels(content: bytes) -> list[dict[str, Any]]:
    """Labels for the clip's shapes by the share of strongly red or blue pixels; confidence grows with coverage."""
    pixels = np.asarray(Image.open(io.BytesIO(content)).convert("RGB"), dtype=np.int16)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    shares = {
        "Red Square": float(((red > 150) & (green < 90) & (blue < 90)).mean()),
        "Blue Disc": float(((blue > 150) & (red < 90) & (green < 120)).mean()),
    }
    return [
        {"Name": name, "Confidence": min(99.0, 60.0 + 800.0 * share), "Parents": [{"Name": "Shape"}]}
        for name, share in shares.items()
        if share >= MIN_COVERAGE
    ]


def _encode(image: Image.Image, image_format: str) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return base64.b64encode(buffer.getvalue()).decode()


def local_config(settings: VideoSettings) -> handler.Config:
    """The labeler's configuration for a one-minute window over the clip, sampled as `settings` say."""
    return handler.Config(
        stream_name=STREAM,
        stream_arn="local",
        bucket="local",
        prefix="video/",
        schedule_minutes=1,
        lag_seconds=0,
        sampling_interval_ms=settings.sampling_interval_ms,
        lookback_ms=settings.lookback_ms,
        clock="PRODUCER_TIMESTAMP",
        image_format=settings.image_format,
        width_pixels=settings.width_pixels,
        min_confidence=settings.min_confidence,
        max_labels=settings.max_labels,
        max_frames=settings.frames_per_minute,
        watch_labels=settings.watch_labels,
        watch_min_confidence=settings.watch_min_confidence,
        event_source="video-local",
    )


def run_local(out: Path, settings: VideoSettings, spec: ClipSpec | None = None) -> dict[str, Any]:
    """Generate the clip, run the labeler over it, write the results and the contact sheet into `out`."""
    clip_path = write_clip(out / "clip.mkv", spec or ClipSpec())
    aws = LocalAws(clip=LocalClip.decode(clip_path), out=out, image_format=settings.image_format)
    scheduled = frames.iso(CLIP_START + timedelta(minutes=1))
    summary = handler.run(scheduled, local_config(settings), aws)
    (out / "events.json").write_text(json.dumps([json.loads(e["Detail"]) for e in aws.published], indent=2) + "\n")
    write_contact_sheet(out, aws)
    return summary


def write_contact_sheet(out: Path, aws: LocalAws) -> Path:
    """index.html: each labeled frame as an image with its time and labels, watched ones marked."""
    records = [json.loads(line) for path in sorted(out.glob("video/labels/**/*.json")) for line in path.open()]
    cells = []
    for record in records:
        moment = frames.parse_time(record["timestamp"])
        image = aws.clip.at(moment)
        if image is None:
            continue
        name = f"frames/{moment:%H%M%S%f}.jpg"
        (out / "frames").mkdir(exist_ok=True)
        image.save(out / name, format="JPEG")
        labels = ", ".join(f"{label['name']} {label['confidence']:.0f}%" for label in record["labels"]) or "no labels"
        mark = " watched" if record["watched"] else ""
        cells.append(
            f'<figure class="{mark.strip()}"><img src="{name}" width="320"><figcaption>'
            f"{html.escape(record['timestamp'])}<br>{html.escape(labels)}</figcaption></figure>"
        )
    page = (
        "<!doctype html><meta charset='utf-8'><title>video-local</title><style>body{font-family:sans-serif}"
        "figure{display:inline-block;margin:6px}.watched img{outline:4px solid #c00}</style>"
        f"<h1>video-local: {len(records)} labeled frame(s)</h1><p>Labels from the local colour stand-in, not "
        "Rekognition. Frames outlined in red hit the watch list.</p>" + "".join(cells)
    )
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Run locally and print where the results are."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/video-local"))
    parser.add_argument("--frames-per-minute", type=int, default=60)
    args = parser.parse_args(argv)
    settings = VideoSettings(
        frames_per_minute=args.frames_per_minute,
        schedule_minutes=1,
        min_confidence=50.0,
        watch_labels=("Red Square",),
        watch_min_confidence=80.0,
    )
    summary = run_local(args.out, settings)
    print(json.dumps(summary))
    print(f"labels: {args.out}/video/labels/  events: {args.out}/events.json  contact sheet: {args.out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
