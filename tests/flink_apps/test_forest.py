"""Random cut forests: both implementations, shingling, past-only scores, warm-up and rebuilding after a restart."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stream_analytics.forest import DETECTOR, DeviceDetector, PythonForest, make_forest, ring_positions
from stream_analytics.settings import ForestSettings
from stream_analytics.shingle import Shingler

SMALL = ForestSettings(trees=20, sample_size=64, shingle_size=2, warmup=32, history_size=128)
DETECTORS = ["krcf", "python-rcf"]


def _series(count: int, seed: int = 1) -> list[list[float | None]]:
    rng = random.Random(seed)
    return [[20.0 + rng.gauss(0.0, 0.3), 50.0 + rng.gauss(0.0, 0.5), 3.9] for _ in range(count)]


@pytest.mark.parametrize("detector", DETECTORS)
def test_given_a_steady_series_when_a_spike_arrives_then_it_scores_far_above_usual_readings(detector: str) -> None:
    device = DeviceDetector(SMALL, 3, detector=detector)
    usual = [device.process(values).score for values in _series(200)]

    spike = device.process([45.0, 50.0, 3.9])

    assert spike.warm
    assert spike.score > 2.0 * max(usual[100:])


@pytest.mark.parametrize("detector", DETECTORS)
def test_given_a_series_when_scored_then_each_score_depends_only_on_the_past(detector: str) -> None:
    series = _series(80)
    first = DeviceDetector(SMALL, 3, seed=5, detector=detector)
    second = DeviceDetector(SMALL, 3, seed=5, detector=detector)

    scores_a = [first.process(values).score for values in series]
    scores_b = [second.process(values).score for values in [*series[:60], [99.0, 0.0, 9.0], *series[61:]]]

    # Everything before the changed reading is unchanged: no score looked ahead.
    assert scores_a[:60] == scores_b[:60]


@pytest.mark.parametrize("detector", DETECTORS)
def test_given_fewer_shingles_than_the_warmup_when_scored_then_not_warm(detector: str) -> None:
    device = DeviceDetector(SMALL, 3, detector=detector)

    results = [device.process(values) for values in _series(SMALL.warmup + SMALL.shingle_size)]

    assert not any(result.warm for result in results[: SMALL.warmup + SMALL.shingle_size - 1])
    assert results[-1].warm


@pytest.mark.parametrize("detector", DETECTORS)
def test_given_a_restart_when_rebuilt_from_the_history_then_scoring_resumes_warm_and_alike(detector: str) -> None:
    series = _series(300)
    original = DeviceDetector(SMALL, 3, seed=3, detector=detector)
    for values in series[:250]:
        original.process(values)
    # What the job keeps in keyed state: the last history_size readings in a ring, and the count.
    ring: dict[int, list[float | None]] = {}
    for index, values in enumerate(series[:250]):
        ring[index % SMALL.history_size] = values
    rebuilt = DeviceDetector(SMALL, 3, seed=3, detector=detector)
    rebuilt.restore([ring[position] for position in ring_positions(250, SMALL.history_size)], seen=250)

    assert rebuilt.learned == original.learned

    before = [original.process(values) for values in [*series[250:], [45.0, 50.0, 3.9]]]
    after = [rebuilt.process(values) for values in [*series[250:], [45.0, 50.0, 3.9]]]

    assert all(result.warm for result in after)
    assert after[-1].score > 2.0 * max(result.score for result in after[:-1])
    assert after[-1].score == pytest.approx(before[-1].score, rel=0.35)


def test_given_missing_values_when_scored_then_the_last_value_stands_in() -> None:
    device = DeviceDetector(SMALL, 3, detector="python-rcf")
    for values in _series(50):
        device.process(values)

    result = device.process([None, None, None])

    assert result.warm
    assert result.score < 3.0


def test_given_both_implementations_when_scoring_the_same_data_then_their_scales_agree() -> None:
    krcf_forest = make_forest(SMALL, 3, detector="krcf")
    python_forest = make_forest(SMALL, 3, detector="python-rcf")
    rng = random.Random(2)
    for _ in range(300):
        point = [rng.gauss(0, 1), rng.gauss(0, 1), rng.gauss(0, 1)]
        krcf_forest.update(point)
        python_forest.update(point)

    usual = [0.1, -0.2, 0.0]
    outlier = [8.0, 8.0, 8.0]

    assert krcf_forest.score(usual) == pytest.approx(python_forest.score(usual), abs=0.6)
    assert krcf_forest.score(outlier) == pytest.approx(python_forest.score(outlier), rel=0.3)


def test_given_this_machine_when_the_detector_is_chosen_then_krcf_loads() -> None:
    assert DETECTOR == "krcf"
    with pytest.raises(ValueError, match="not one of"):
        make_forest(SMALL, 3, detector="isolation-forest")


def test_given_an_empty_python_forest_when_scored_then_zero() -> None:
    assert PythonForest(5, 16, 1000.0).score([1.0, 2.0]) == 0.0


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=6),
    points=st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=1, max_size=20),
)
def test_given_any_points_when_shingled_then_the_shingle_is_the_last_points_in_order(
    size: int, points: list[tuple[float, float]]
) -> None:
    shingler = Shingler(size, 2)
    for point in points:
        peeked = shingler.peek(point)
        shingler.add(point)
        assert shingler.full == (len(list(filter(None, [True] * min(len(points), size)))) == size and shingler.full)
        if shingler.full:
            assert peeked == shingler.shingle()

    assert shingler.full == (len(points) >= size)
    if shingler.full:
        assert shingler.shingle() == [value for point in points[-size:] for value in point]


def test_given_a_point_of_the_wrong_width_when_shingled_then_refused() -> None:
    with pytest.raises(ValueError, match="expected 2 values, got 3"):
        Shingler(2, 2).add([1.0, 2.0, 3.0])


@given(count=st.integers(0, 500), size=st.integers(1, 64))
def test_given_a_ring_when_replayed_then_the_positions_are_the_last_writes_oldest_first(count: int, size: int) -> None:
    ring: dict[int, int] = {}
    for index in range(count):
        ring[index % size] = index

    assert [ring[position] for position in ring_positions(count, size)] == list(range(max(0, count - size), count))
