"""HOTSPOTS as Kinesis Data Analytics defined it: dense regions among the last ``window_size`` records.

KDA's function took a count-based sliding window (100 to 1,000 records), ``scanRadius`` (the typical distance
between a point of a hotspot and its nearest neighbour, like DBSCAN's epsilon) and
``minimumNumberOfPointsInAHotspot`` (2 to the window size), looked at numeric columns only and returned for each
record ``{"hotspots": [{"density": ..., "minValues": [...], "maxValues": [...]}]}``: every candidate, the
application filtering by density. AWS did not publish the exact algorithm; this one is DBSCAN over the window
(Euclidean distance, a core point has at least ``min_points`` points, itself included, within ``scan_radius``), and a
hotspot's ``density`` is its point density relative to the window's: (points in the hotspot / its box volume) /
(points in the window / the window's box volume), each box side at least ``2 * scan_radius`` so that a handful of
nearly equal points is not infinitely dense. Uniform noise gives densities near 1; a tight cluster holding a good
share of the window gives far more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Hotspot:
    """One dense region: its relative density and the bounds of its points in each column."""

    density: float
    min_values: tuple[float, ...]
    max_values: tuple[float, ...]
    points: int

    def as_dict(self) -> dict[str, object]:
        """KDA's representation of one hotspot."""
        return {"density": self.density, "minValues": list(self.min_values), "maxValues": list(self.max_values)}


def hotspots_result(hotspots: Iterable[Hotspot]) -> str:
    """KDA's ``HOTSPOTS_RESULT`` JSON text."""
    return json.dumps({"hotspots": [spot.as_dict() for spot in hotspots]}, separators=(",", ":"))


def _volume(points: Array, floor: float) -> float:
    sides = np.maximum(points.max(axis=0) - points.min(axis=0), floor)
    return float(np.prod(sides))


def find_hotspots(points: Array, scan_radius: float, min_points: int) -> list[Hotspot]:
    """DBSCAN clusters of ``points`` (rows) as hotspots, densest first."""
    count = len(points)
    if count < min_points or count == 0:
        return []
    differences = points[:, None, :] - points[None, :, :]
    neighbours = np.einsum("ijk,ijk->ij", differences, differences) <= scan_radius * scan_radius
    core = neighbours.sum(axis=1) >= min_points
    labels = np.full(count, -1)
    cluster = 0
    for seed in np.flatnonzero(core):
        if labels[seed] >= 0:
            continue
        labels[seed] = cluster
        frontier = np.array([seed])
        while frontier.size:
            # Points reachable from the frontier's core points join the cluster; core ones extend it further.
            reached = neighbours[frontier[core[frontier]]].any(axis=0) & (labels < 0)
            labels[reached] = cluster
            frontier = np.flatnonzero(reached)
        cluster += 1
    floor = 2.0 * scan_radius
    window_density = count / _volume(points, floor)
    found = []
    for label in range(cluster):
        members = points[labels == label]
        density = (len(members) / _volume(members, floor)) / window_density
        found.append(
            Hotspot(
                density=round(density, 6),
                min_values=tuple(float(v) for v in members.min(axis=0)),
                max_values=tuple(float(v) for v in members.max(axis=0)),
                points=len(members),
            )
        )
    return sorted(found, key=lambda spot: -spot.density)


class HotspotWindow:
    """The last ``window_size`` points of one stream (a site), with KDA's HOTSPOTS evaluated on demand."""

    def __init__(self, window_size: int, dimensions: int, scan_radius: float, min_points: int) -> None:
        self.window_size = window_size
        self.scan_radius = scan_radius
        self.min_points = min_points
        self._points = np.zeros((window_size, dimensions))
        self.count = 0  # points ever added

    def add(self, point: Sequence[float]) -> None:
        """Add one point; the oldest leaves once the window is full."""
        self._points[self.count % self.window_size] = point
        self.count += 1

    def points(self) -> Array:
        """The points in the window (in no particular order)."""
        return self._points[: min(self.count, self.window_size)]

    def hotspots(self) -> list[Hotspot]:
        """Every candidate hotspot in the window, densest first."""
        return find_hotspots(self.points(), self.scan_radius, self.min_points)


def above(hotspots: Iterable[Hotspot], density_threshold: float) -> list[Hotspot]:
    """The hotspots at or above the density threshold (the filter a KDA application applied to the result)."""
    return [spot for spot in hotspots if spot.density >= density_threshold]
