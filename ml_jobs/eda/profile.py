"""The notes' pandas moves as report sections: a slice, value counts, missing values, outliers, correlation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from ml_jobs.eda.kinds import ColumnKind, Kind

SLICE_ROWS: Final = 10
SLICE_COLUMNS: Final = 8
TOP_CATEGORIES: Final = 10
# Above this share of missing values a category column gets its own "missing" label rather than the mode.
MISSING_AS_CATEGORY: Final = 0.05


def feature_columns(kinds: Mapping[str, ColumnKind]) -> list[str]:
    """Columns analysed as data (not the time index, not identifiers)."""
    return [name for name, kind in kinds.items() if kind.role == "feature"]


def numeric_columns(frame: pd.DataFrame, kinds: Mapping[str, ColumnKind]) -> list[str]:
    """Numerical columns (discrete or continuous) that hold numbers."""
    return [
        name
        for name in feature_columns(kinds)
        if kinds[name].kind in (Kind.DISCRETE, Kind.CONTINUOUS) and pd.api.types.is_numeric_dtype(frame[name])
    ]


def as_numbers(frame: pd.DataFrame, kinds: Mapping[str, ColumnKind]) -> pd.DataFrame:
    """The frame with numbers stored as text converted, so numerical columns hold numbers."""
    converted = {
        name: pd.to_numeric(frame[name], errors="coerce")
        for name, kind in kinds.items()
        if kind.kind in (Kind.DISCRETE, Kind.CONTINUOUS) and kind.role == "feature"
        if not pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])
    }
    return frame.assign(**converted) if converted else frame


def column_slice(frame: pd.DataFrame, kinds: Mapping[str, ColumnKind]) -> pd.DataFrame:
    """``frame.loc[:, chosen].head(10)``: the first columns of each kind, so every kind is in view."""
    chosen: list[str] = []
    for kind in (Kind.CONTINUOUS, Kind.DISCRETE, Kind.LOGICAL, Kind.ORDINAL):
        chosen += [name for name, found in kinds.items() if found.kind is kind and found.role == "feature"][:2]
    times = [name for name, found in kinds.items() if found.role == "time"][:1]
    columns = [*times, *chosen][:SLICE_COLUMNS] or list(frame.columns[:SLICE_COLUMNS])
    return frame.loc[:, columns].head(SLICE_ROWS)


def category_counts(frame: pd.DataFrame, kinds: Mapping[str, ColumnKind]) -> dict[str, dict[str, int]]:
    """``value_counts()`` of every logical and ordinal column (top 10, the rest summed as "(other)")."""
    counts: dict[str, dict[str, int]] = {}
    for name, found in kinds.items():
        if found.kind not in (Kind.LOGICAL, Kind.ORDINAL) or found.role != "feature":
            continue
        series = frame[name].value_counts(dropna=False)
        if found.kind is Kind.ORDINAL and found.order:
            lowered = {str(key).strip().lower(): key for key in series.index}
            ranked = [lowered[label] for label in found.order if label in lowered]
            series = series.reindex([*ranked, *(key for key in series.index if key not in ranked)])
        top = {
            ("(missing)" if pd.isna(key) else str(key)): int(value)
            for key, value in series.head(TOP_CATEGORIES).items()
        }
        rest = int(series.iloc[TOP_CATEGORIES:].sum())
        if rest:
            top["(other)"] = rest
        counts[name] = top
    return counts


@dataclass(frozen=True)
class Imputation:
    """How the missing values of one column are filled before modelling, and why."""

    column: str
    missing: int
    share: float
    strategy: str  # scikit-learn SimpleImputer strategy: mean, median, most_frequent, constant
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """As plain data."""
        return {
            "column": self.column,
            "missing": self.missing,
            "share": round(self.share, 6),
            "strategy": self.strategy,
            "reason": self.reason,
        }


def choose_imputation(name: str, values: pd.Series, found: ColumnKind, outliers: int) -> Imputation:
    """Mean for symmetric continuous data, median where outliers or whole numbers, mode or a label for categories."""
    missing = int(values.isna().sum())
    share = missing / max(len(values), 1)
    if found.kind is Kind.CONTINUOUS and outliers == 0:
        return Imputation(name, missing, share, "mean", "continuous without IQR outliers: the mean is unbiased")
    if found.kind is Kind.CONTINUOUS:
        return Imputation(
            name, missing, share, "median", f"continuous with {outliers} IQR outliers: the median is robust"
        )
    if found.kind is Kind.DISCRETE:
        return Imputation(name, missing, share, "median", "whole numbers: the median stays a plausible count")
    if share > MISSING_AS_CATEGORY:
        return Imputation(
            name, missing, share, "constant", f"{share:.0%} missing: 'missing' becomes a category of its own"
        )
    return Imputation(name, missing, share, "most_frequent", "few missing: the most frequent label")


def iqr_outliers(values: pd.Series) -> dict[str, float]:
    """Tukey's fences: values below Q1 - 1.5 IQR or above Q3 + 1.5 IQR, counted."""
    present = values.dropna().to_numpy(dtype=float)
    if not len(present):
        return {"q1": float("nan"), "q3": float("nan"), "low": float("nan"), "high": float("nan"), "outliers": 0}
    q1, q3 = np.percentile(present, [25, 75])
    iqr = q3 - q1
    low, high = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    count = int(np.count_nonzero((present < low) | (present > high)))
    return {"q1": float(q1), "q3": float(q3), "low": float(low), "high": float(high), "outliers": count}


def correlation(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Pearson correlation of the numerical columns that vary (a constant column has none)."""
    varying = [name for name in columns if frame[name].nunique(dropna=True) > 1]
    return frame[varying].astype(float).corr(method="pearson")
