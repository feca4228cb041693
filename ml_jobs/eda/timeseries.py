"""Trend and daily seasonality of each metric: STL on the hourly aggregate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import STL

DAILY_PERIOD: Final = 24  # hours
MIN_HOURS: Final = 2 * DAILY_PERIOD  # STL needs two full periods


@dataclass(frozen=True)
class Decomposition:
    """STL of one metric's hourly mean: the components and how strong trend and seasonality are (0..1)."""

    metric: str
    hourly: pd.Series
    trend: pd.Series
    seasonal: pd.Series
    residual: pd.Series
    trend_strength: float
    seasonal_strength: float
    peak_hour: int  # hour of day (in the data's time zone) where the daily cycle is highest
    filled_hours: int  # empty hours filled by interpolation before decomposing

    def as_dict(self) -> dict[str, Any]:
        """The summary figures as plain data."""
        return {
            "metric": self.metric,
            "hours": len(self.hourly),
            "trend_strength": round(self.trend_strength, 4),
            "seasonal_strength": round(self.seasonal_strength, 4),
            "peak_hour": self.peak_hour,
            "filled_hours": self.filled_hours,
        }


def hourly_mean(frame: pd.DataFrame, time: str, metric: str) -> pd.Series:
    """The metric averaged per hour over all rows (devices), indexed by hour."""
    series = frame[[time, metric]].dropna().set_index(time)[metric].astype(float)
    return series.resample("1h").mean()


def _strength(component: pd.Series, residual: pd.Series) -> float:
    """Wang, Smith and Hyndman's strength: 1 - Var(R) / Var(component + R), clipped to 0..1."""
    total = float(np.var(component + residual))
    return 0.0 if total == 0 else max(0.0, 1.0 - float(np.var(residual)) / total)


def decompose(frame: pd.DataFrame, time: str, metric: str) -> Decomposition | str:
    """STL (robust, daily period) of the hourly mean; a sentence saying why not when there is too little data."""
    hourly = hourly_mean(frame, time, metric)
    if hourly.notna().sum() < MIN_HOURS:
        return f"{metric}: {int(hourly.notna().sum())} hours with data; STL needs {MIN_HOURS} (two days)"
    filled = int(hourly.isna().sum())
    hourly = hourly.interpolate(method="time").bfill().ffill()
    result = STL(hourly.to_numpy(), period=DAILY_PERIOD, robust=True).fit()
    trend = pd.Series(result.trend, index=hourly.index)
    seasonal = pd.Series(result.seasonal, index=hourly.index)
    residual = pd.Series(result.resid, index=hourly.index)
    by_hour = seasonal.groupby(seasonal.index.hour).mean()
    return Decomposition(
        metric=metric,
        hourly=hourly,
        trend=trend,
        seasonal=seasonal,
        residual=residual,
        trend_strength=_strength(trend, residual),
        seasonal_strength=_strength(seasonal, residual),
        peak_hour=int(by_hour.idxmax()),
        filled_hours=filled,
    )
