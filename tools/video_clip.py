"""A short synthetic H.264 clip in Matroska (MKV), the container PutMedia takes: `python -m tools.video_clip OUT.mkv`.

The scene is the same on every run (no clock, no randomness): a red square crosses the frame left to right, a blue
disc bounces vertically, and each frame carries its number and its time in the clip, so a person can tell from any
extracted frame where in the clip it was taken. A keyframe starts every cluster, as Kinesis Video Streams needs each
fragment to start with one.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 320, 240
BACKGROUND = (236, 236, 228)
RED, BLUE, INK = (200, 30, 30), (30, 60, 200), (20, 20, 20)


@dataclass(frozen=True)
class ClipSpec:
    """What to draw: length, frame rate, and how often a keyframe (so a fragment) starts."""

    seconds: int = 10
    fps: int = 15
    keyframe_seconds: int = 2

    @property
    def frames(self) -> int:
        """Frames in the clip."""
        return self.seconds * self.fps


def draw_frame(index: int, spec: ClipSpec) -> Image.Image:
    """Frame `index` of the scene: positions depend only on the index, so every run draws the same clip."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    progress = index / max(spec.frames - 1, 1)
    square_x = int(-60 + progress * (WIDTH + 60))  # enters from the left, leaves on the right
    draw.rectangle((square_x, 40, square_x + 60, 100), fill=RED)
    period = spec.fps * 2
    phase = index % period / period
    disc_y = int(120 + (HEIGHT - 170) * (1 - abs(2 * phase - 1)))
    draw.ellipse((200, disc_y, 240, disc_y + 40), fill=BLUE)
    draw.text((8, HEIGHT - 20), f"frame {index:04d}  t={index / spec.fps:6.2f}s", fill=INK)
    return image


def write_clip(path: Path, spec: ClipSpec = ClipSpec()) -> Path:
    """Encode the scene as H.264 (baseline-friendly yuv420p) in MKV at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # bitexact: no random segment UID or muxing date, so the same scene gives the same bytes.
    with av.open(str(path), mode="w", format="matroska", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libx264", rate=spec.fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.time_base = Fraction(1, spec.fps)
        stream.codec_context.gop_size = spec.fps * spec.keyframe_seconds
        # Fixed keyframe spacing and no threads: the same bytes on every run.
        stream.codec_context.options = {"preset": "veryfast", "tune": "zerolatency", "sc_threshold": "0"}
        stream.thread_count = 1
        for index in range(spec.frames):
            frame = av.VideoFrame.from_image(draw_frame(index, spec))  # type: ignore[no-untyped-call]
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def main(argv: list[str] | None = None) -> int:
    """Write the clip; print its path, size and frame count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path("build/video/clip.mkv"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 600 or not 1 <= args.fps <= 60:
        print(
            f"error: --seconds {args.seconds} --fps {args.fps}: use 1 to 600 seconds and 1 to 60 fps", file=sys.stderr
        )
        return 2
    spec = ClipSpec(seconds=args.seconds, fps=args.fps)
    path = write_clip(args.out, spec)
    print(f"{path}: {path.stat().st_size} bytes, {spec.frames} frames, {spec.seconds} s, H.264 in MKV")
    return 0


if __name__ == "__main__":
    sys.exit(main())
