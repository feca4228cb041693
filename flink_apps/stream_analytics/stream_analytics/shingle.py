"""Shingling: the last ``size`` readings of a device joined into one point, so that unusual sequences stand out."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence


class Shingler:
    """Keeps the last ``size`` points of ``dimensions`` values; ``shingle`` is their concatenation, oldest first."""

    def __init__(self, size: int, dimensions: int) -> None:
        if size < 1 or dimensions < 1:
            raise ValueError(f"shingle size and dimensions must be at least 1, got {size} and {dimensions}")
        self.size = size
        self.dimensions = dimensions
        self._points: deque[tuple[float, ...]] = deque(maxlen=size)

    def add(self, point: Sequence[float]) -> None:
        """Append one point (the oldest falls out once the shingle is full)."""
        if len(point) != self.dimensions:
            raise ValueError(f"expected {self.dimensions} values, got {len(point)}")
        self._points.append(tuple(float(value) for value in point))

    @property
    def full(self) -> bool:
        """Whether ``size`` points have been added."""
        return len(self._points) == self.size

    def shingle(self) -> list[float]:
        """The concatenated point; only meaningful when ``full``."""
        return [value for point in self._points for value in point]

    def peek(self, point: Sequence[float]) -> list[float] | None:
        """The shingle that adding ``point`` would make, without adding it; None while it would not be full."""
        if len(self._points) + 1 < self.size:
            return None
        recent = list(self._points)[len(self._points) - self.size + 1 :] if self.size > 1 else []
        return [value for past in recent for value in past] + [float(value) for value in point]
