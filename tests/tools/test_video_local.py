"""The synthetic clip and `make video-local`: the labeler's own code over frames decoded locally (no AWS)."""

from __future__ import annotations

import json
from pathlib import Path

import av

from infra.config.video import VideoSettings
from tools.video_clip import ClipSpec, write_clip
from tools.video_local import run_local

SPEC = ClipSpec(seconds=4, fps=5, keyframe_seconds=2)


def test_the_clip_is_h264_in_mkv_with_a_keyframe_every_fragment_and_the_same_bytes_each_time(tmp_path: Path) -> None:
    first, second = write_clip(tmp_path / "a.mkv", SPEC), write_clip(tmp_path / "b.mkv", SPEC)
    assert first.read_bytes() == second.read_bytes()
    with av.open(str(first)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        # AVCC codec private data (what KVS needs for playback) starts with version 1
        assert stream.codec_context.extradata[0] == 1
        keyframes = [i for i, p in enumerate(p for p in container.demux(stream) if p.size) if p.is_keyframe]
    assert keyframes == [0, 10]


def test_video_local_labels_each_sampled_frame_and_publishes_the_watched_ones(tmp_path: Path) -> None:
    # Given one frame a second and a watch list of the red square
    settings = VideoSettings(
        frames_per_minute=60, schedule_minutes=1, min_confidence=50.0, watch_labels=("Red Square",)
    )
    # When the labeler runs over the 4-second clip
    summary = run_local(tmp_path, settings, SPEC)
    # Then the four frames of the clip are labeled, the seconds past its end are not frames at all
    assert (summary["frames"], summary["labeled"], summary["errors"]) == (4, 4, 0)
    [labels] = list(tmp_path.glob("video/labels/stream=video-local/dt=2026-01-01/*.json"))
    records = [json.loads(line) for line in labels.read_text().splitlines()]
    assert [r["timestamp"][-10:] for r in records] == ["00:00.000Z", "00:01.000Z", "00:02.000Z", "00:03.000Z"]
    # the square enters from the left: not in the first frame, in the middle ones
    names = [[label["name"] for label in r["labels"]] for r in records]
    assert "Red Square" not in names[0]
    assert "Red Square" in names[2]
    # And each watched frame is one event for the notifier, and one outlined figure of the contact sheet
    events = json.loads((tmp_path / "events.json").read_text())
    assert [e["timestamp"] for e in events] == [r["timestamp"] for r in records if r["watched"]]
    assert summary["alerts"] == len(events) > 0
    page = (tmp_path / "index.html").read_text()
    assert page.count("<figure") == 4
    assert page.count('class="watched"') == len(events)
