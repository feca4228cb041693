"""Distributions fitted to columns: normal for continuous, Poisson or binomial for counts, Bernoulli for yes/no."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from statsmodels.stats.diagnostic import lilliefors

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Goodness-of-fit tests look at a sample: their p-values go to zero on large data for any real-world deviation.
GOF_SAMPLE: Final = 5000
# Largest binomial n tried, as a multiple of the largest value seen.
BINOMIAL_N_SPAN: Final = 4


@dataclass(frozen=True)
class NormalFit:
    """A normal distribution fitted by maximum likelihood, with a goodness-of-fit test."""

    mean: float
    std: float
    skew: float
    ks_statistic: float  # Lilliefors: Kolmogorov-Smirnov with the parameters estimated from the data
    p_value: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        """As plain data."""
        return {"distribution": "normal", **{k: _round(v) for k, v in self.__dict__.items()}}


@dataclass(frozen=True)
class DiscreteFit:
    """A Poisson or binomial fit of whole-number data, with the evidence for the choice."""

    distribution: str  # "poisson", "binomial" or "none"
    mean: float
    variance: float
    dispersion: float  # variance / mean: 1 for Poisson, below 1 for binomial
    poisson_lambda: float
    binomial_n: int
    binomial_p: float
    aic_poisson: float
    aic_binomial: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """As plain data."""
        return {k: _round(v) if isinstance(v, float) else v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class BernoulliFit:
    """The share of the positive label, with a 95% Wilson interval."""

    positive: str
    p: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        """As plain data."""
        return {
            "distribution": "bernoulli",
            **{k: _round(v) if isinstance(v, float) else v for k, v in self.__dict__.items()},
        }


def _round(value: float | int) -> float | int:
    return round(value, 6) if isinstance(value, float) and math.isfinite(value) else value


def _sample(values: FloatArray, size: int, seed: int = 0) -> FloatArray:
    if len(values) <= size:
        return values
    return np.random.default_rng(seed).choice(values, size=size, replace=False)


def fit_normal(values: pd.Series) -> NormalFit:
    """Maximum-likelihood normal fit and the Lilliefors test on up to 5000 values."""
    present = values.dropna().to_numpy(dtype=float)
    mean, std = stats.norm.fit(present)
    sample = _sample(present, GOF_SAMPLE)
    if len(sample) >= 5 and np.ptp(sample) > 0:
        statistic, p_value = lilliefors(sample, dist="norm", pvalmethod="table")
    else:
        statistic, p_value = float("nan"), float("nan")
    skew = float(stats.skew(present)) if len(present) > 2 and std > 0 else 0.0
    return NormalFit(float(mean), float(std), skew, float(statistic), float(p_value), len(present))


def fit_discrete(values: pd.Series) -> DiscreteFit:
    """Poisson (one parameter) or binomial (n by profile likelihood, p = mean / n): the lower AIC wins.

    The dispersion index says which to expect: a count whose variance exceeds its mean fits neither well (the report
    says so), one whose variance is below its mean is binomial-like.
    """
    present = values.dropna().to_numpy(dtype=float)
    mean, variance = float(present.mean()), float(present.var())
    dispersion = variance / mean if mean > 0 else float("nan")
    if len(present) == 0 or present.min() < 0 or mean == 0:
        return DiscreteFit(
            "none",
            mean,
            variance,
            dispersion,
            float("nan"),
            0,
            float("nan"),
            float("nan"),
            float("nan"),
            "negative values or all zero: not a count, no count model fitted",
        )
    levels, counts = np.unique(present.astype(np.int64), return_counts=True)
    log_poisson = float(np.sum(counts * stats.poisson.logpmf(levels, mean)))
    n_best, log_binomial = _binomial_profile(levels, counts, mean)
    aic_poisson, aic_binomial = 2 * 1 - 2 * log_poisson, 2 * 2 - 2 * log_binomial
    chosen = "binomial" if aic_binomial < aic_poisson else "poisson"
    reason = (
        f"variance/mean = {dispersion:.2f} ({'under' if dispersion < 1 else 'over'}-dispersed); "
        f"AIC Poisson {aic_poisson:.1f} vs binomial {aic_binomial:.1f}: {chosen}"
    )
    if dispersion > 1.5:
        reason += "; both fit poorly (variance well above the mean: a negative binomial would suit better)"
    return DiscreteFit(
        chosen, mean, variance, dispersion, mean, n_best, mean / n_best, aic_poisson, aic_binomial, reason
    )


def _binomial_profile(levels: IntArray, counts: IntArray, mean: float) -> tuple[int, float]:
    """The n (from the largest value up to 4 times it) whose binomial with p = mean/n is most likely."""
    top = int(levels.max())
    candidates = np.arange(max(top, 1), max(top, 1) * BINOMIAL_N_SPAN + 1)
    best_n, best = int(candidates[0]), -math.inf
    for n in candidates:
        p = mean / n
        if not 0 < p <= 1:
            continue
        log = float(np.sum(counts * stats.binom.logpmf(levels, n, p)))
        if log > best:
            best_n, best = int(n), log
    return best_n, best


def fit_bernoulli(values: pd.Series) -> BernoulliFit:
    """Share of the positive label (the second of the two sorted labels, or true/yes/1) with a Wilson interval."""
    present = values.dropna()
    labels = sorted(
        present.astype(str).unique(), key=lambda label: label.lower() in {"1", "true", "yes", "y", "t", "on"}
    )
    positive = labels[-1] if labels else ""
    n = len(present)
    hits = int((present.astype(str) == positive).sum())
    p = hits / n if n else float("nan")
    z = 1.959964
    centre = (p + z * z / (2 * n)) / (1 + z * z / n) if n else float("nan")
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n) if n else float("nan")
    return BernoulliFit(positive, p, centre - half, centre + half, n)
