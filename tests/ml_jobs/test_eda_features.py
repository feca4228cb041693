"""Features use nothing after their label time; the label is exactly "error within the next hour"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_jobs.eda.features import error_within, lake_features, lake_model_frame, time_features
from tests.ml_jobs.support import readings

FRAME = readings(devices=3, hours=8.0, interval=120.0, seed=4)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(FRAME) - 1))
def test_no_feature_uses_data_after_its_label_time(position: int) -> None:
    # Given a reading at time t, and the whole fleet's data cut at t (nothing later exists)
    t = FRAME.loc[position, "event_ts"]
    full = lake_features(FRAME, "event_ts")
    past_only = lake_features(FRAME[FRAME["event_ts"] <= t], "event_ts")

    # When its features are computed with and without the future, then they are identical
    pd.testing.assert_series_equal(full.loc[position], past_only.loc[position], check_names=False)


def test_future_readings_change_no_past_feature_even_when_they_are_extreme() -> None:
    # Given the data, and the same data with every reading after the midpoint replaced by wild values
    cut = FRAME["event_ts"].iloc[len(FRAME) // 2]
    wild = FRAME.copy()
    later = wild["event_ts"] > cut
    wild.loc[later, ["temperature_c", "humidity_pct", "battery_v"]] = 99.0
    wild.loc[later, "status"] = "error"

    # When features are computed on both; then every row up to the cut has the same features
    before = FRAME["event_ts"] <= cut
    pd.testing.assert_frame_equal(lake_features(FRAME, "event_ts")[before], lake_features(wild, "event_ts")[before])


def _frame(minutes: list[int], statuses: list[str], device: str = "d1") -> pd.DataFrame:
    start = pd.Timestamp("2026-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "device_id": device,
            "event_ts": [start + pd.Timedelta(minutes=m) for m in minutes],
            "status": statuses,
            "temperature_c": 20.0,
        }
    )


def test_the_label_is_an_error_in_the_next_hour_not_now_and_unknown_near_the_end() -> None:
    # Given readings at 0, 45, 50, 100, 130, 200 minutes with an error at 100
    frame = _frame([0, 45, 50, 100, 130, 200], ["ok", "ok", "ok", "error", "ok", "ok"])

    # When labelled
    label = error_within(frame, "event_ts").tolist()

    # Then 0 is 100 min before the error (no), 45 and 50 are within the hour (yes); the error itself looks for a
    # later error (none, and the device was seen an hour later: known no), so does 130; 200 cannot be known yet
    assert label[:5] == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert np.isnan(label[5])


def test_another_devices_error_does_not_label_this_device() -> None:
    frame = pd.concat([_frame([0, 90], ["ok", "ok"], "d1"), _frame([10], ["error"], "d2")], ignore_index=True)
    assert error_within(frame, "event_ts").iloc[0] == 0.0


def test_rolling_statistics_are_per_device() -> None:
    # Given two devices at the same moments, one hot and one cold
    frame = pd.concat(
        [
            _frame([0, 5, 10], ["ok"] * 3, "hot").assign(temperature_c=40.0),
            _frame([0, 5, 10], ["ok"] * 3, "cold").assign(temperature_c=0.0),
        ],
        ignore_index=True,
    )
    # Then each device's 15-minute mean is its own temperature
    features = lake_features(frame, "event_ts")
    assert features.loc[frame["device_id"] == "hot", "temperature_c_mean_15m"].eq(40.0).all()
    assert features.loc[frame["device_id"] == "cold", "temperature_c_mean_15m"].eq(0.0).all()


def test_time_features_put_midnight_next_to_23h() -> None:
    times = pd.Series(pd.to_datetime(["2026-01-01T23:00Z", "2026-01-02T00:00Z", "2026-01-02T12:00Z"]))
    features = time_features(times)
    near = np.hypot(*(features.iloc[0, :2] - features.iloc[1, :2]))
    far = np.hypot(*(features.iloc[0, :2] - features.iloc[2, :2]))
    assert near < 0.3 < far


def test_the_lake_model_frame_drops_only_rows_whose_label_is_unknown() -> None:
    data = lake_model_frame(FRAME, "event_ts")
    assert len(data.features) + data.dropped_unknown == len(FRAME)
    assert 0 < data.dropped_unknown <= 3 * 31  # about the last hour of each device, at one reading per 2 minutes
    assert set(data.label.unique()) <= {0, 1}
    assert data.times is not None
    assert (data.times <= FRAME["event_ts"].max() - pd.Timedelta(hours=1)).mean() > 0.95


@pytest.mark.parametrize("feature", ["temperature_c_vs_6h", "humidity_pct_std_1h", "battery_v_vs_6h"])
def test_degradation_before_faults_shows_in_the_generated_readings(feature: str) -> None:
    # Given two days of readings; then the hour before an error differs from the rest (the label is learnable)
    frame = readings(devices=6, hours=48.0, interval=120.0, seed=2)
    label = error_within(frame, "event_ts")
    deviation = lake_features(frame, "event_ts")[feature].abs()
    assert deviation[label == 1].mean() > deviation[label == 0].mean()
