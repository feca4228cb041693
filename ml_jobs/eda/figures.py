"""PNG figures of the report (matplotlib, Agg backend: no display, no JavaScript)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from ml_jobs.eda.distributions import BernoulliFit, DiscreteFit, NormalFit
from ml_jobs.eda.model import ModelResult
from ml_jobs.eda.timeseries import Decomposition

DPI: Final = 80
HIST_SAMPLE: Final = 200_000


def slug(name: str) -> str:
    """A file-name-safe form of a column name (spaces and punctuation become '-')."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "column"


def _save(figure: Figure, folder: Path, name: str) -> str:
    figure.tight_layout()
    figure.savefig(folder / name, dpi=DPI)
    plt.close(figure)
    return name


def normal_fit(values: pd.Series, fit: NormalFit, folder: Path, name: str) -> str:
    """Histogram with the fitted normal PDF, and a Q-Q plot against that normal."""
    present = values.dropna().to_numpy(dtype=float)
    if len(present) > HIST_SAMPLE:
        present = np.random.default_rng(0).choice(present, HIST_SAMPLE, replace=False)
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.hist(present, bins=50, density=True, color="#9ecae1", edgecolor="white", label="data")
    grid = np.linspace(present.min(), present.max(), 200)
    left.plot(
        grid,
        stats.norm.pdf(grid, fit.mean, fit.std),
        color="#d62728",
        label=f"normal PDF mean={fit.mean:.3g} sd={fit.std:.3g}",
    )
    left.set_title(f"{name}: histogram and fitted normal", fontsize=9)
    left.legend(fontsize=7)
    (osm, osr), (slope, intercept, _) = stats.probplot(present[:5000], dist="norm")
    right.scatter(osm, osr, s=4, color="#3182bd")
    right.plot(osm, slope * np.asarray(osm) + intercept, color="#d62728")
    right.set_title(f"Q-Q vs normal; Lilliefors D={fit.ks_statistic:.3f}, p={fit.p_value:.3g}", fontsize=9)
    right.set_xlabel("theoretical quantiles")
    right.set_ylabel("ordered values")
    return _save(figure, folder, f"dist-{slug(name)}.png")


def discrete_fit(values: pd.Series, fit: DiscreteFit, folder: Path, name: str) -> str:
    """Empirical PMF with the chosen Poisson or binomial PMF."""
    present = values.dropna().to_numpy(dtype=float).astype(np.int64)
    levels, counts = np.unique(present, return_counts=True)
    figure, axis = plt.subplots(figsize=(6, 3.2))
    axis.bar(levels, counts / counts.sum(), color="#9ecae1", label="empirical PMF")
    if fit.distribution == "poisson":
        axis.plot(
            levels,
            stats.poisson.pmf(levels, fit.poisson_lambda),
            "o-",
            color="#d62728",
            label=f"Poisson λ={fit.poisson_lambda:.3g}",
        )
    elif fit.distribution == "binomial":
        axis.plot(
            levels,
            stats.binom.pmf(levels, fit.binomial_n, fit.binomial_p),
            "o-",
            color="#d62728",
            label=f"binomial n={fit.binomial_n} p={fit.binomial_p:.3g}",
        )
    axis.set_title(f"{name}: PMF", fontsize=9)
    axis.legend(fontsize=7)
    return _save(figure, folder, f"pmf-{slug(name)}.png")


def bernoulli(fit: BernoulliFit, counts: dict[str, int], folder: Path, name: str) -> str:
    """Bar chart of the two labels with the Bernoulli p."""
    figure, axis = plt.subplots(figsize=(4.5, 3))
    labels = list(counts)
    total = max(sum(counts.values()), 1)
    axis.bar(
        labels, [counts[label] / total for label in labels], color=["#9ecae1", "#3182bd", "#bdbdbd"][: len(labels)]
    )
    axis.set_title(f"{name}: Bernoulli p({fit.positive})={fit.p:.3f}", fontsize=9)
    axis.set_ylabel("share")
    return _save(figure, folder, f"bernoulli-{slug(name)}.png")


def correlation_heatmap(matrix: pd.DataFrame, folder: Path) -> str:
    """Pearson correlations as a heat map, annotated when small enough to read."""
    size = max(4.0, 0.55 * len(matrix) + 2)
    figure, axis = plt.subplots(figsize=(size, size * 0.85))
    image = axis.imshow(matrix.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    axis.set_xticks(range(len(matrix)), [str(c) for c in matrix.columns], rotation=60, ha="right", fontsize=7)
    axis.set_yticks(range(len(matrix)), [str(c) for c in matrix.index], fontsize=7)
    if len(matrix) <= 15:
        for (row, column), value in np.ndenumerate(matrix.to_numpy()):
            axis.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=6)
    figure.colorbar(image, ax=axis, shrink=0.8)
    axis.set_title("Pearson correlation", fontsize=9)
    return _save(figure, folder, "correlation.png")


def stl(decomposition: Decomposition, folder: Path) -> str:
    """Hourly mean, trend, daily seasonal component and residual, stacked."""
    figure, axes = plt.subplots(4, 1, figsize=(9, 6), sharex=True)
    parts = (
        ("hourly mean", decomposition.hourly),
        ("trend", decomposition.trend),
        ("daily seasonality", decomposition.seasonal),
        ("residual", decomposition.residual),
    )
    for axis, (label, series) in zip(axes, parts, strict=True):
        axis.plot(series.index, series.to_numpy(), linewidth=1)
        axis.set_ylabel(label, fontsize=8)
    axes[0].set_title(
        f"{decomposition.metric}: STL, period 24 h (trend strength {decomposition.trend_strength:.2f}, "
        f"seasonal strength {decomposition.seasonal_strength:.2f})",
        fontsize=9,
    )
    figure.autofmt_xdate()
    return _save(figure, folder, f"stl-{slug(decomposition.metric)}.png")


def roc_curves(result: ModelResult, folder: Path) -> str:
    """ROC curves of the three models on the test rows."""
    figure, axis = plt.subplots(figsize=(4.8, 4))
    for name, (fpr, tpr) in result.roc.items():
        axis.plot(fpr, tpr, label=f"{name} (AUC {result.metrics[name]['roc_auc']:.3f})")
    axis.plot([0, 1], [0, 1], ":", color="grey")
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.legend(fontsize=7)
    axis.set_title("ROC on the test period", fontsize=9)
    return _save(figure, folder, "roc.png")


def importances(result: ModelResult, folder: Path, top: int = 15) -> str:
    """The forest's impurity importances and permutation importances on the test rows, side by side."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    impurity = result.importances[:top][::-1]
    left.barh([n for n, _ in impurity], [w for _, w in impurity], color="#3182bd")
    left.set_title("impurity importance (encoded features)", fontsize=9)
    permutation = result.permutation[:top][::-1]
    right.barh(
        [n for n, _, _ in permutation],
        [m for _, m, _ in permutation],
        xerr=[s for _, _, s in permutation],
        color="#31a354",
    )
    right.set_title("permutation importance on test rows", fontsize=9)
    for axis in (left, right):
        axis.tick_params(axis="y", labelsize=7)
    return _save(figure, folder, "importances.png")
