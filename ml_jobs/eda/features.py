"""Features for a model: time features, rolling per-device statistics with no look-ahead, the lake's label.

Every rolling statistic of a reading at time t uses only that device's readings at or before t (pandas time-based
windows are closed on the right and open on the left), so a feature never sees data after its label time. The
label looks forward: "the device reports error within the next hour", i.e. in (t, t + 1 h].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from ml_jobs.eda.errors import InputError
from ml_jobs.eda.kinds import ColumnKind, Kind

DEVICE: Final = "device_id"
STATUS: Final = "status"
ERROR: Final = "error"
WARNING: Final = "warning"
LAKE_LABEL: Final = "error_within_1h"
LAKE_HORIZON: Final = pd.Timedelta(hours=1)
LAKE_METRICS: Final = ("temperature_c", "humidity_pct", "battery_v")
# Reference columns kept as categories; the rest of the curated table's extras (partitions, the event time as text,
# the Fahrenheit copy of the temperature) say nothing new.
LAKE_CATEGORIES: Final = ("site", "model")
MAX_CLASSES: Final = 20
MAX_ONE_HOT: Final = 20
MINUTES_SINCE_CAP: Final = 24 * 60.0


def is_lake_table(frame: pd.DataFrame, time: str | None) -> bool:
    """Whether the table has the lake's readings: a device id, a status with ok/warning/error, and a time column."""
    return time is not None and DEVICE in frame.columns and STATUS in frame.columns


def status_counts(frame: pd.DataFrame, time: str) -> dict[str, pd.Series]:
    """Warnings and errors per device and clock hour: the lake's counts, for a Poisson or binomial fit."""
    hour = frame[time].dt.floor("h")
    status = frame[STATUS].astype(str).str.lower()
    return {
        f"{label}s per device-hour": (status == label).groupby([frame[DEVICE], hour], observed=True).sum()
        for label in (WARNING, ERROR)
    }


def time_features(times: pd.Series) -> pd.DataFrame:
    """Hour of day on a circle (23:00 is next to 00:00) and day of week."""
    hour = times.dt.hour + times.dt.minute / 60.0
    return pd.DataFrame(
        {
            "hour_sin": np.sin(2 * np.pi * hour / 24.0),
            "hour_cos": np.cos(2 * np.pi * hour / 24.0),
            "day_of_week": times.dt.dayofweek.astype(float),
        },
        index=times.index,
    )


def _device_rolling(rows: pd.DataFrame, time: str, metrics: list[str]) -> pd.DataFrame:
    """Rolling statistics of one device's readings (sorted by time), each over a window ending at the reading."""
    indexed = rows.set_index(time)
    out: dict[str, pd.Series] = {}
    for metric in metrics:
        values = indexed[metric].astype(float)
        mean_15m = values.rolling("15min").mean()
        mean_1h = values.rolling("60min").mean()
        out[f"{metric}_mean_15m"] = mean_15m
        out[f"{metric}_std_1h"] = values.rolling("60min").std()
        out[f"{metric}_rise_1h"] = mean_15m - mean_1h
        out[f"{metric}_vs_6h"] = values.ffill() - values.rolling("6h").mean()
        out[f"{metric}_missing_1h"] = values.isna().astype(float).rolling("60min").sum()
    status = indexed[STATUS].astype(str).str.lower()
    out["warnings_1h"] = (status == WARNING).astype(float).rolling("60min").sum()
    out["errors_1h"] = (status == ERROR).astype(float).rolling("60min").sum()
    out["readings_1h"] = pd.Series(1.0, index=indexed.index).rolling("60min").sum()
    stamps = pd.Series(indexed.index, index=indexed.index)
    last_error = stamps.where(status == ERROR).ffill()
    since = (stamps - last_error).dt.total_seconds() / 60.0
    out["minutes_since_error"] = since.fillna(MINUTES_SINCE_CAP).clip(upper=MINUTES_SINCE_CAP)
    frame = pd.DataFrame(out)
    frame.index = rows.index
    return frame


def lake_features(frame: pd.DataFrame, time: str) -> pd.DataFrame:
    """The lake's model inputs per reading: current values, time features, rolling per-device statistics."""
    metrics = [m for m in LAKE_METRICS if m in frame.columns]
    ordered = frame.sort_values([DEVICE, time], kind="stable")
    rolling = pd.concat(
        [_device_rolling(rows, time, metrics) for _, rows in ordered.groupby(DEVICE, sort=False, observed=True)]
    )
    current = ordered[[*metrics, STATUS, *(c for c in LAKE_CATEGORIES if c in frame.columns)]].copy()
    current[STATUS] = current[STATUS].astype(str).str.lower()
    # Back in the input's row order, so the features line up with the rows they describe.
    return pd.concat([current, time_features(ordered[time]), rolling.loc[ordered.index]], axis=1).loc[frame.index]


def error_within(frame: pd.DataFrame, time: str, horizon: pd.Timedelta = LAKE_HORIZON) -> pd.Series:
    """1.0 if the device reports error in (t, t + horizon], 0.0 if not, NaN if its readings end before t + horizon."""
    label = pd.Series(np.nan, index=frame.index)
    for _, rows in frame.sort_values([DEVICE, time]).groupby(DEVICE, sort=False, observed=True):
        stamps = rows[time].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        errors = stamps[(rows[STATUS].astype(str).str.lower() == ERROR).to_numpy()]
        after = np.searchsorted(errors, stamps, side="right")
        soon = np.zeros(len(stamps), dtype=bool)
        if len(errors):
            ahead = after < len(errors)
            soon[ahead] = errors[after[ahead]] - stamps[ahead] <= horizon.value
        # Without an error in sight, "no error within the hour" is known only when the device was seen an hour later.
        known = soon | (stamps + horizon.value <= stamps.max())
        label.loc[rows.index] = np.where(known, soon.astype(float), np.nan)
    return label


@dataclass(frozen=True)
class ModelFrame:
    """What the model learns from: inputs, label, the time of each row, and a sentence defining the label."""

    features: pd.DataFrame
    label: pd.Series
    times: pd.Series | None
    label_definition: str
    target: str
    dropped_unknown: int
    horizon: pd.Timedelta | None


def lake_model_frame(frame: pd.DataFrame, time: str) -> ModelFrame:
    """Features and the label "error within the next hour" for the lake's readings; unknowable labels dropped."""
    features = lake_features(frame, time)
    label = error_within(frame, time).loc[features.index]
    known = label.notna()
    definition = "the device reports status 'error' within the next hour (in (t, t + 1 h])"
    return ModelFrame(
        features=features[known],
        label=label[known].astype(int),
        times=frame.loc[features.index[known], time],
        label_definition=definition,
        target=LAKE_LABEL,
        dropped_unknown=int((~known).sum()),
        horizon=LAKE_HORIZON,
    )


def table_model_frame(
    frame: pd.DataFrame, kinds: Mapping[str, ColumnKind], target: str, time: str | None
) -> ModelFrame:
    """Features for any table: every analysed column but the target, plus time features; rows without a target out."""
    if target not in frame.columns:
        raise InputError(
            f"--target: no column {target!r} in the input (columns: {', '.join(map(repr, frame.columns))})"
        )
    y = frame[target]
    classes = y.nunique(dropna=True)
    if classes > MAX_CLASSES:
        raise InputError(
            f"--target: column {target!r} has {classes} distinct values; the model classifies, so use a column "
            f"with 2 to {MAX_CLASSES} values (logical or ordinal)"
        )
    if classes < 2:
        raise InputError(f"--target: column {target!r} has {classes} distinct value(s); a classifier needs 2 or more")
    keep = y.notna()
    inputs = [n for n, k in kinds.items() if k.role == "feature" and n != target]
    features = frame.loc[keep, inputs].copy()
    for name in inputs:
        if kinds[name].kind is Kind.ORDINAL and not isinstance(features[name].dtype, pd.CategoricalDtype):
            features[name] = features[name].astype("string").str.strip().str.lower().astype(object)
    times = None
    if time is not None:
        times = frame.loc[keep, time]
        features = pd.concat([features, time_features(times)], axis=1)
    return ModelFrame(
        features=features,
        label=y[keep].astype(str),
        times=times,
        label_definition=f"the value of column {target!r}",
        target=target,
        dropped_unknown=int((~keep).sum()),
        horizon=None,
    )
