"""Thresholds on anomaly scores: the fixed cut the job applies, and a calibration from a history of scores.

A forest's score scale depends on its shingle size and on the data, so a threshold is calibrated on the user's own
history (``make detect`` prints the suggestion) rather than copied from elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from collections.abc import Set as AbstractSet


def is_anomaly(score: float, threshold: float, *, warm: bool) -> bool:
    """Whether a score marks an anomaly: only once the forest is warm, and at or above the threshold."""
    return warm and math.isfinite(score) and score >= threshold


def calibrate(scores: Iterable[float], *, quantile: float = 0.995, floor: float = 1.0) -> float:
    """The ``quantile`` of the given (warm, mostly normal) scores, or ``floor`` if that is higher."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile {quantile} is outside (0, 1)")
    ordered = sorted(score for score in scores if math.isfinite(score))
    if not ordered:
        return floor
    # Nearest-rank quantile: the smallest score with at least `quantile` of the scores at or below it.
    rank = max(0, math.ceil(quantile * len(ordered)) - 1)
    return max(floor, ordered[rank])


def precision_recall(flagged: AbstractSet[object], truth: AbstractSet[object]) -> tuple[float, float]:
    """Precision and recall of the flagged items against the true ones (1.0 where the denominator is empty)."""
    hits = len(flagged & truth)
    precision = hits / len(flagged) if flagged else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall
