"""`make video-smoke`: its refusals when the unit is off or not deployed, and the windows it asks the labeler for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra.config.video import VideoSettings
from tools import video_smoke


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
