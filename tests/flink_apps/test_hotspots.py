"""HOTSPOTS: a dense square in a noisy plane is found; uniform noise gives nothing above the density threshold."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stream_analytics.hotspots import HotspotWindow, above, find_hotspots, hotspots_result

THRESHOLD = 5.0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
@example(seed=51321)  # noise that forms a second, weaker hotspot
def test_given_a_dense_square_in_a_noisy_plane_when_scanned_then_it_is_the_hotspot(seed: int) -> None:
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0.0, 10.0, size=(400, 2))
    square = rng.uniform(4.0, 5.0, size=(100, 2))

    found = above(find_hotspots(np.vstack([noise, square]), scan_radius=0.3, min_points=10), THRESHOLD)

    # Then the densest hotspot is the square. Uniform noise can, by chance, crowd ten points into one scan radius
    # and pass the threshold (the example's seed does): such a spot is less dense and holds only a handful of points.
    spot, *others = found
    assert all(other.density < spot.density and other.points < 20 for other in others)
    assert 3.4 <= spot.min_values[0] <= 4.2
    assert 4.8 <= spot.max_values[0] <= 5.6
    assert 3.4 <= spot.min_values[1] <= 4.2
    assert 4.8 <= spot.max_values[1] <= 5.6
    assert spot.points >= 100


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dimensions=st.integers(2, 3))
def test_given_uniform_noise_when_scanned_then_no_hotspot_reaches_the_threshold(seed: int, dimensions: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.uniform(0.0, 10.0, size=(1000, dimensions))

    assert above(find_hotspots(points, scan_radius=0.5 if dimensions == 2 else 1.0, min_points=10), THRESHOLD) == []


def test_given_hotspots_when_rendered_then_the_kda_result_shape() -> None:
    points = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [9.0, 9.0]])

    result = json.loads(hotspots_result(find_hotspots(points, 0.2, 3)))

    assert list(result) == ["hotspots"]
    (spot,) = result["hotspots"]
    assert set(spot) == {"density", "minValues", "maxValues"}
    assert spot["minValues"] == [0.0, 0.0]
    assert spot["maxValues"] == [0.1, 0.1]


def test_given_fewer_points_than_the_minimum_when_scanned_then_nothing() -> None:
    assert find_hotspots(np.zeros((3, 2)), 1.0, 4) == []


def test_given_a_full_window_when_points_keep_coming_then_only_the_last_window_size_count() -> None:
    window = HotspotWindow(window_size=100, dimensions=2, scan_radius=0.5, min_points=20)
    for _ in range(100):
        window.add([1.0, 1.0])
    assert window.hotspots()[0].points == 100

    for index in range(100):
        window.add([float(index), 50.0])

    assert window.points().shape == (100, 2)
    assert window.hotspots() == []


@pytest.mark.parametrize("min_points", [2, 5])
def test_given_border_points_when_clustered_then_they_join_the_hotspot_of_their_core(min_points: int) -> None:
    line = np.array([[float(x) * 0.1, 0.0] for x in range(10)])

    (spot,) = find_hotspots(line, 0.15, min_points if min_points == 2 else 3)

    assert spot.points == 10
