"""Thresholds: the cut the job applies and the calibration ``make detect`` suggests."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stream_analytics.thresholds import calibrate, is_anomaly, precision_recall


def test_given_a_cold_forest_when_the_score_is_high_then_no_anomaly() -> None:
    assert not is_anomaly(9.0, 3.0, warm=False)
    assert is_anomaly(3.0, 3.0, warm=True)
    assert not is_anomaly(2.99, 3.0, warm=True)
    assert not is_anomaly(math.nan, 3.0, warm=True)


@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=500), st.floats(0.5, 0.999))
def test_given_scores_when_calibrated_then_at_most_the_tail_reaches_the_threshold(
    scores: list[float], quantile: float
) -> None:
    threshold = calibrate(scores, quantile=quantile, floor=0.0)

    above = sum(score > threshold for score in scores)
    assert above <= math.floor((1 - quantile) * len(scores)) + 1
    assert threshold in scores


def test_given_no_scores_when_calibrated_then_the_floor() -> None:
    assert calibrate([], floor=2.5) == 2.5
    with pytest.raises(ValueError, match="outside"):
        calibrate([1.0], quantile=1.0)


def test_given_flags_and_truth_when_compared_then_precision_and_recall() -> None:
    assert precision_recall({1, 2, 3, 4}, {2, 4, 6}) == (0.5, 2 / 3)
    assert precision_recall(set(), {1}) == (1.0, 0.0)
