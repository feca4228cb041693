"""Random cut forests per device: AWS's RCF through ``krcf`` when its library loads, a Python RCF otherwise.

``krcf`` 0.4.0 ships only ``manylinux_2_28`` wheels: its library needs GLIBC_2.28 (``statx``), and the Managed
Service for Apache Flink runtime's glibc is not documented (an older runtime was Amazon Linux 2, glibc 2.26). So the
job does not rely on it: ``make_forest`` tries ``krcf`` and falls back to ``PythonForest``, the same algorithm
(reservoir sampling with time decay, random cuts proportional to box sides, AWS's anomaly-score visitor) in Python,
with the same score scale (about 1 for usual points, up to ``log2(sample_size + 1)`` for isolated ones). Both keep
the same interface, ``Forest``; ``DETECTOR`` says which one this process uses, and every anomaly record carries it.

``DeviceDetector`` adds what the job needs around a forest: shingling, warm-up, the rule that a reading is scored
before the forest learns it (a score uses only the past), and rebuilding from a bounded recent history after a
restart (the job keeps that history in Flink keyed state, which checkpoints it; the forest itself is not
serialised on every record).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from stream_analytics.settings import ForestSettings
from stream_analytics.shingle import Shingler


class Forest(Protocol):
    """What the job asks of a random cut forest."""

    def score(self, point: Sequence[float]) -> float:
        """Anomaly score of ``point`` against what the forest holds (it does not learn the point)."""
        ...

    def update(self, point: Sequence[float]) -> None:
        """Offer ``point`` to every tree's sample."""
        ...


# --- Python random cut forest -----------------------------------------------------------------------------------


class _Node:
    __slots__ = ("cut_dim", "cut_value", "left", "lower", "mass", "parent", "point", "right", "upper")

    def __init__(self, lower: list[float], upper: list[float], mass: int) -> None:
        self.lower = lower
        self.upper = upper
        self.mass = mass
        self.parent: _Node | None = None
        self.left: _Node | None = None
        self.right: _Node | None = None
        self.cut_dim = -1
        self.cut_value = 0.0
        self.point: tuple[float, ...] | None = None


def _leaf(point: tuple[float, ...]) -> _Node:
    node = _Node(list(point), list(point), 1)
    node.point = point
    return node


def _separation(lower: list[float], upper: list[float], point: Sequence[float]) -> float:
    """Probability that a random cut of the box grown to hold ``point`` separates ``point`` from the box."""
    outside = 0.0
    span = 0.0
    for low, high, value in zip(lower, upper, point, strict=True):
        gap = low - value if value < low else (value - high if value > high else 0.0)
        outside += gap
        span += high - low + gap
    return outside / span if span > 0 else 0.0


class _Tree:
    """One random cut tree over a time-decayed sample of the points offered to it."""

    def __init__(self, capacity: int, decay: float, rng: random.Random) -> None:
        self.capacity = capacity
        self.decay = decay
        self.rng = rng
        self.root: _Node | None = None
        self.mass = 0
        # Max-heap (negated) of (priority, sequence, point): the sample keeps the smallest priorities.
        self.heap: list[tuple[float, int, tuple[float, ...]]] = []
        self.leaves: dict[tuple[float, ...], _Node] = {}

    def offer(self, point: tuple[float, ...], sequence: int) -> None:
        # Priority log(-log u) - lambda*t: uniform reservoir sampling when lambda is 0, newer points favoured else.
        priority = math.log(-math.log(self.rng.random() or 1e-300)) - self.decay * sequence
        if len(self.heap) < self.capacity:
            heapq.heappush(self.heap, (-priority, sequence, point))
            self._insert(point)
        elif priority < -self.heap[0][0]:
            _, _, evicted = heapq.heapreplace(self.heap, (-priority, sequence, point))
            self._delete(evicted)
            self._insert(point)

    def _insert(self, point: tuple[float, ...]) -> None:
        self.mass += 1
        existing = self.leaves.get(point)
        if existing is not None:
            node: _Node | None = existing
            while node is not None:
                node.mass += 1
                node = node.parent
            return
        leaf = _leaf(point)
        self.leaves[point] = leaf
        if self.root is None:
            self.root = leaf
            return
        node = self.root
        while True:
            lower = [min(a, b) for a, b in zip(node.lower, point, strict=True)]
            upper = [max(a, b) for a, b in zip(node.upper, point, strict=True)]
            spans = [high - low for low, high in zip(lower, upper, strict=True)]
            draw = self.rng.random() * sum(spans)
            dim = 0
            while dim < len(spans) - 1 and draw >= spans[dim]:
                draw -= spans[dim]
                dim += 1
            cut = lower[dim] + draw
            if cut < node.lower[dim] or cut >= node.upper[dim]:
                # The cut separates the point from everything below this node: a new parent goes here.
                self._split(node, leaf, dim, cut, lower, upper)
                return
            node.lower, node.upper, node.mass = lower, upper, node.mass + 1
            if node.left is None or node.right is None:
                raise RuntimeError("a leaf cannot hold a cut")
            node = node.left if point[node.cut_dim] <= node.cut_value else node.right

    def _split(self, node: _Node, leaf: _Node, dim: int, cut: float, lower: list[float], upper: list[float]) -> None:
        parent = _Node(lower, upper, node.mass + 1)
        parent.cut_dim, parent.cut_value = dim, cut
        above = node.parent
        if leaf.lower[dim] <= cut:
            parent.left, parent.right = leaf, node
        else:
            parent.left, parent.right = node, leaf
        parent.parent = above
        node.parent = leaf.parent = parent
        if above is None:
            self.root = parent
        elif above.left is node:
            above.left = parent
        else:
            above.right = parent

    def _delete(self, point: tuple[float, ...]) -> None:
        leaf = self.leaves[point]
        self.mass -= 1
        if leaf.mass > 1:
            node: _Node | None = leaf
            while node is not None:
                node.mass -= 1
                node = node.parent
            return
        del self.leaves[point]
        parent = leaf.parent
        if parent is None:
            self.root = None
            return
        sibling = parent.right if parent.left is leaf else parent.left
        if sibling is None:
            raise RuntimeError("an internal node without two children")
        grand = parent.parent
        sibling.parent = grand
        if grand is None:
            self.root = sibling
            return
        if grand.left is parent:
            grand.left = sibling
        else:
            grand.right = sibling
        node = grand
        while node is not None:
            if node.left is None or node.right is None:
                raise RuntimeError("an internal node without two children")
            node.mass -= 1
            node.lower = [min(a, b) for a, b in zip(node.left.lower, node.right.lower, strict=True)]
            node.upper = [max(a, b) for a, b in zip(node.left.upper, node.right.upper, strict=True)]
            node = node.parent

    def score(self, point: Sequence[float]) -> float:
        """AWS RCF's anomaly-score visitor for one tree, normalised by log2(1 + tree mass)."""
        if self.root is None:
            return 0.0
        path = [self.root]
        node = self.root
        while node.left is not None and node.right is not None:
            node = node.left if point[node.cut_dim] <= node.cut_value else node.right
            path.append(node)
        depth = len(path) - 1
        if node.point is not None and tuple(point) == node.point:
            damp = 1.0 - node.mass / (2.0 * self.mass)
            score = damp / (depth + math.log2(1.0 + node.mass))
        else:
            score = 1.0 / (depth + 1)
        for level in range(depth - 1, -1, -1):
            above = path[level]
            chance = _separation(above.lower, above.upper, point)
            if chance > 0:
                score = (1.0 - chance) * score + chance / (level + 1)
        return score * math.log2(1.0 + self.mass)


class PythonForest:
    """A random cut forest in Python: the fallback when ``krcf`` cannot load."""

    def __init__(self, trees: int, sample_size: int, time_decay: float, seed: int = 0) -> None:
        # Random cuts need reproducible pseudo-random numbers, not secrets.
        rng = random.Random(seed)  # noqa: S311
        decay = 1.0 / time_decay
        self._trees = [_Tree(sample_size, decay, random.Random(rng.getrandbits(64))) for _ in range(trees)]  # noqa: S311
        self._sequence = 0

    def score(self, point: Sequence[float]) -> float:
        """Mean over the trees of each tree's score."""
        if self._trees[0].root is None:
            return 0.0
        return sum(tree.score(point) for tree in self._trees) / len(self._trees)

    def update(self, point: Sequence[float]) -> None:
        """Offer the point to every tree's sample."""
        self._sequence += 1
        frozen = tuple(float(value) for value in point)
        for tree in self._trees:
            tree.offer(frozen, self._sequence)


class KrcfForest:
    """AWS's Random Cut Forest (Rust) through the ``krcf`` binding."""

    def __init__(self, dimensions: int, trees: int, sample_size: int, time_decay: float, seed: int = 0) -> None:
        import krcf

        options: Any = {
            "dimensions": dimensions,
            "shingle_size": 1,  # shingling happens outside, so both forests see the same points
            "num_trees": trees,
            "sample_size": sample_size,
            "output_after": 1,
            "random_seed": seed,
            "lambda": 1.0 / time_decay,
            "parallel_execution_enabled": False,
        }
        self._forest = krcf.RandomCutForest(options)

    def score(self, point: Sequence[float]) -> float:
        """krcf's anomaly score."""
        return float(self._forest.score(list(point)))

    def update(self, point: Sequence[float]) -> None:
        """krcf's update."""
        self._forest.update(list(point))


def _krcf_loads() -> bool:
    try:
        import krcf  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


DETECTOR = "krcf" if _krcf_loads() else "python-rcf"


def make_forest(settings: ForestSettings, dimensions: int, *, seed: int = 0, detector: str = DETECTOR) -> Forest:
    """A forest of the configured size: ``krcf`` where it loads, else the Python implementation."""
    if detector == "krcf":
        return KrcfForest(dimensions, settings.trees, settings.sample_size, settings.time_decay, seed)
    if detector == "python-rcf":
        return PythonForest(settings.trees, settings.sample_size, settings.time_decay, seed)
    raise ValueError(f"detector {detector!r} is not one of krcf, python-rcf")


def ring_positions(count: int, size: int) -> list[int]:
    """Positions, oldest first, of the last entries of a ring of ``size`` slots after ``count`` writes."""
    return [index % size for index in range(max(0, count - size), count)]


# --- per device -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scored:
    """A reading's score; ``warm`` is false while the forest has seen fewer than ``warmup`` shingles."""

    score: float
    warm: bool


class DeviceDetector:
    """One device's forest with shingling, warm-up and imputation of missing values (last value seen)."""

    def __init__(self, settings: ForestSettings, dimensions: int, *, seed: int = 0, detector: str = DETECTOR) -> None:
        self.settings = settings
        self.dimensions = dimensions
        self._forest = make_forest(settings, dimensions * settings.shingle_size, seed=seed, detector=detector)
        self._shingler = Shingler(settings.shingle_size, dimensions)
        self._last: list[float] = [0.0] * dimensions
        self.learned = 0  # shingles the forest has been offered

    def _complete(self, values: Sequence[float | None]) -> list[float]:
        point = [self._last[i] if value is None else float(value) for i, value in enumerate(values)]
        self._last = point
        return point

    def process(self, values: Sequence[float | None]) -> Scored:
        """Score the reading from the past only, then learn it."""
        point = self._complete(values)
        self._shingler.add(point)
        if not self._shingler.full:
            return Scored(0.0, warm=False)
        shingle = self._shingler.shingle()
        warm = self.learned >= self.settings.warmup
        score = self._forest.score(shingle) if self.learned else 0.0
        self._forest.update(shingle)
        self.learned += 1
        return Scored(score, warm)

    def restore(self, history: Sequence[Sequence[float | None]], seen: int) -> None:
        """Rebuild after a restart from the last readings (oldest first) of the ``seen`` this device ever sent."""
        self.rebuild(history, learned=max(0, seen - (self.settings.shingle_size - 1)))

    def rebuild(self, history: Iterable[Sequence[float | None]], learned: int) -> None:
        """Learn a recent history (oldest first) without scoring it; ``learned`` restores the warm-up count."""
        for values in history:
            point = self._complete(values)
            self._shingler.add(point)
            if self._shingler.full:
                self._forest.update(self._shingler.shingle())
        self.learned = learned
