"""The whole analysis of one table: kinds, pandas moves, distributions, time series, model; report and metrics."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import pandas as pd

from ml_jobs.eda import figures, model, profile, report
from ml_jobs.eda.distributions import fit_bernoulli, fit_discrete, fit_normal
from ml_jobs.eda.errors import InputError
from ml_jobs.eda.features import (
    DEVICE,
    LAKE_LABEL,
    STATUS,
    ModelFrame,
    is_lake_table,
    lake_model_frame,
    status_counts,
    table_model_frame,
)
from ml_jobs.eda.kinds import ColumnKind, Kind, classify
from ml_jobs.eda.timeseries import decompose

Progress = Callable[[str], None]
MAX_DISTRIBUTION_COLUMNS: Final = 12
MAX_TIME_SERIES: Final = 6


@dataclass
class Options:
    """What the user asked for."""

    source: str
    target: str | None = None
    time: str | None = None
    overrides: Mapping[str, tuple[Kind, tuple[str, ...]]] = field(default_factory=dict)
    seed: int = 0
    trees: int = 150
    partitions: tuple[str, ...] = ()  # Hive partition columns of the input folder


@dataclass
class Outcome:
    """What the run produced."""

    metrics: dict[str, Any]
    sections: list[tuple[str, str, str]]


def _kinds_section(kinds: Mapping[str, ColumnKind]) -> str:
    rows = [k.as_dict() | {"order": " < ".join(k.order)} for k in kinds.values()]
    return report.section(
        "kinds",
        "Kinds of data",
        report.paragraph(
            "Each column's kind, from its dtype, its number of distinct values, whether its numbers are whole, and "
            "whether its labels come from an ordered scale. Override with --kind COL=KIND."
        ),
        report.table(
            rows, ["name", "kind", "role", "dtype", "distinct", "missing", "integer_valued", "evidence", "order"]
        ),
    )


def _pandas_section(frame: pd.DataFrame, kinds: Mapping[str, ColumnKind], out: dict[str, Any]) -> str:
    chosen = profile.column_slice(frame, kinds)
    columns = ", ".join(repr(c) for c in chosen.columns)
    counts = profile.category_counts(frame, kinds)
    numeric = profile.numeric_columns(frame, kinds)
    outliers = {name: profile.iqr_outliers(frame[name]) for name in numeric}
    imputations = [
        profile.choose_imputation(name, frame[name], kinds[name], int(outliers.get(name, {}).get("outliers", 0)))
        for name in profile.feature_columns(kinds)
    ]
    out.update(value_counts=counts, outliers=outliers, missing=[i.as_dict() for i in imputations])
    out["imputation"] = {i.column: i.strategy for i in imputations}
    parts = [
        f"<h3>A slice: <code>df.loc[:, [{report.esc(columns)}]].head(10)</code></h3>",
        report.frame_table(chosen),
        "<h3>Value counts of the categories: <code>df[col].value_counts(dropna=False)</code></h3>",
    ]
    for name, values in counts.items():
        parts.append(f"<h4>{report.esc(name)}</h4>")
        parts.append(report.table([{"value": k, "rows": v} for k, v in values.items()], ["value", "rows"]))
    parts += [
        "<h3>Missing values per column (<code>df.isna().sum()</code>) and the imputation chosen</h3>",
        report.table([i.as_dict() for i in imputations], ["column", "missing", "share", "strategy", "reason"]),
        "<h3>Outliers (IQR): outside [Q1 - 1.5 IQR, Q3 + 1.5 IQR]</h3>",
        report.table(
            [{"column": n, **v} for n, v in outliers.items()], ["column", "q1", "q3", "low", "high", "outliers"]
        ),
    ]
    return report.section("pandas", "The data with pandas", *parts)


def _fit(name: str, kind: ColumnKind, values: pd.Series, folder: Path) -> tuple[dict[str, Any], list[str]] | None:
    """The fit of one column and its figure: normal, Poisson/binomial or Bernoulli, by kind."""
    if values.notna().sum() < 3:
        return None
    if kind.kind is Kind.CONTINUOUS and pd.api.types.is_numeric_dtype(values):
        normal = fit_normal(values)
        return normal.as_dict(), [report.figure(figures.normal_fit(values, normal, folder, name), f"{name} fit")]
    if kind.kind is Kind.DISCRETE and pd.api.types.is_numeric_dtype(values):
        discrete = fit_discrete(values)
        figure = report.figure(figures.discrete_fit(values, discrete, folder, name), f"{name} PMF")
        return discrete.as_dict(), [report.paragraph(f"{name}: {discrete.reason}"), figure]
    if kind.kind is Kind.LOGICAL and kind.distinct == 2:
        bernoulli = fit_bernoulli(values)
        counts = {str(k): int(v) for k, v in values.value_counts().items()}
        return bernoulli.as_dict(), [report.figure(figures.bernoulli(bernoulli, counts, folder, name), name)]
    return None


def _distributions_section(
    frame: pd.DataFrame,
    kinds: Mapping[str, ColumnKind],
    folder: Path,
    out: dict[str, Any],
    derived: Mapping[str, pd.Series],
) -> str:
    parts: list[str] = []
    fits: dict[str, Any] = {}
    for name in profile.feature_columns(kinds):
        if len(fits) >= MAX_DISTRIBUTION_COLUMNS:
            break
        fitted = _fit(name, kinds[name], frame[name], folder)
        if fitted is not None:
            fits[name], figures_of_column = fitted
            parts += figures_of_column
    # Counts derived from the table (the lake's warnings and errors per device-hour): whole numbers to fit a PMF to.
    for name, values in derived.items():
        kind = ColumnKind(name, Kind.DISCRETE, str(values.dtype), int(values.nunique()), 0, True, "derived count")
        fitted = _fit(name, kind, values, folder)
        if fitted is not None:
            fits[name], figures_of_column = fitted
            parts += figures_of_column
    matrix = profile.correlation(frame, profile.numeric_columns(frame, kinds))
    out["distributions"] = fits
    out["correlation"] = {str(k): {str(c): v for c, v in row.items()} for k, row in matrix.to_dict().items()}
    rows = [{"column": n, **f} for n, f in fits.items()]
    columns = [
        "column",
        "distribution",
        "mean",
        "std",
        "p_value",
        "dispersion",
        "poisson_lambda",
        "binomial_n",
        "binomial_p",
        "p",
        "low",
        "high",
    ]
    head = [
        report.paragraph(
            "Continuous columns: histogram with the fitted normal PDF and a Q-Q plot with the "
            "Lilliefors statistic (p small: not normal). Whole-number columns: the PMF with "
            "Poisson or binomial, whichever has the lower AIC. Two-valued columns: Bernoulli."
        ),
        report.table(rows, columns),
    ]
    if len(matrix) >= 2:
        parts.append(report.figure(figures.correlation_heatmap(matrix, folder), "correlation heat map"))
    return report.section("distributions", "Distributions", *head, *parts)


def _time_section(
    frame: pd.DataFrame, kinds: Mapping[str, ColumnKind], time: str, folder: Path, out: dict[str, Any]
) -> str:
    metrics = [n for n in profile.numeric_columns(frame, kinds) if kinds[n].kind is Kind.CONTINUOUS]
    parts, summaries = [], []
    for metric in metrics[:MAX_TIME_SERIES]:
        result = decompose(frame, time, metric)
        if isinstance(result, str):
            parts.append(report.paragraph(result, "note"))
            continue
        summaries.append(result.as_dict())
        parts.append(report.figure(figures.stl(result, folder), f"{metric} STL"))
    out["timeseries"] = {"time_column": time, "decompositions": summaries}
    intro = report.paragraph(
        f"Each metric averaged per hour over all rows (time column {time!r}), decomposed by STL "
        "(robust, period 24 h) into trend, daily seasonality and residual. Strength 0..1: "
        "1 - Var(residual) / Var(component + residual)."
    )
    columns = ["metric", "hours", "trend_strength", "seasonal_strength", "peak_hour", "filled_hours"]
    return report.section(
        "time", "Time series: trend and daily seasonality", intro, report.table(summaries, columns), *parts
    )


def _model_name(target: str) -> str:
    if target == LAKE_LABEL:
        return "device-error-within-1h"
    return (re.sub(r"[^a-z0-9]+", "-", target.lower()).strip("-") or "target") + "-classifier"


def _model_section(data: ModelFrame, result: model.ModelResult, card: Mapping[str, Any], folder: Path) -> str:
    gain = result.improvement()
    forest = result.metrics["random_forest"]
    verdict = (
        f"The random forest reaches F1 {forest['f1']:.3f} and ROC AUC {forest['roc_auc']:.3f} on the test period: "
        f"F1 {gain['f1_gain']:+.3f} over the best baseline ({gain['f1_best_baseline']}) and ROC AUC "
        f"{gain['roc_auc_gain']:+.3f} over {gain['roc_auc_best_baseline']}."
    )
    if result.positive is not None:
        verdict += (
            f" Positive class {result.positive!r}: {result.base_rate:.1%} of test rows "
            f"({result.train_rate:.1%} of training rows); average precision {forest['average_precision']:.3f} "
            f"against {result.base_rate:.3f} for guessing."
        )
    rows = [{"model": name, **scores} for name, scores in result.metrics.items()]
    split = result.split.as_dict()
    parts = [
        report.paragraph(
            f"Label: {data.label_definition}. Rows whose label cannot be known yet: {data.dropped_unknown} (left out)."
        ),
        report.paragraph(
            f"Split: {split['method']}. Training {split['train_rows']} rows "
            f"({split['train_start']} to {split['train_end']}), test {split['test_rows']} rows "
            f"({split['test_start']} to {split['test_end']}); {split['embargoed_rows']} training rows "
            "whose label window reaches into the test period were left out."
        ),
        f'<p class="verdict">{report.esc(verdict)}</p>',
        report.table(rows, ["model", "precision", "recall", "f1", "roc_auc", "average_precision"]),
        report.paragraph(
            "Inputs: numbers imputed (strategy per column above) and, for the logistic regression only, "
            "standardised; categories one-hot encoded (at most 20 per column); ordered labels "
            "ordinal-encoded. The forest needs no scaling."
        ),
    ]
    if result.roc:
        parts.append(report.figure(figures.roc_curves(result, folder), "ROC curves"))
    parts.append(report.figure(figures.importances(result, folder), "feature importances"))
    top = [{"feature": n, "importance": w} for n, w in result.importances[:15]]
    parts.append(report.table(top, ["feature", "importance"]))
    parts.append(
        report.paragraph(
            f"Model file: {card['artifact']} (skops, no pickle), version "
            f"{card['model_version']}; its card is model_card.json."
        )
    )
    return report.section("model", "Features and a model", *parts)


def run(frame: pd.DataFrame, options: Options, out: Path, progress: Progress) -> Outcome:
    """Analyse ``frame`` into ``out`` (figures); the metrics document and the report sections."""
    metrics: dict[str, Any] = {"input": options.source, "rows": len(frame), "columns": len(frame.columns)}
    kinds = classify(frame, options.overrides, options.partitions)
    if options.time is not None:
        kinds[options.time] = replace(kinds[options.time], role="time")
    frame = profile.as_numbers(frame, kinds)
    metrics["kinds"] = [k.as_dict() for k in kinds.values()]
    sections = [("kinds", "Kinds of data", _kinds_section(kinds))]
    progress("the data with pandas")
    sections.append(("pandas", "The data with pandas", _pandas_section(frame, kinds, metrics)))
    progress("distributions")
    derived = status_counts(frame, options.time) if is_lake_table(frame, options.time) and options.time else {}
    distributions = _distributions_section(frame, kinds, out, metrics, derived)
    sections.append(("distributions", "Distributions", distributions))
    if options.time is not None:
        progress("time series")
        sections.append(("time", "Time series", _time_section(frame, kinds, options.time, out, metrics)))
    else:
        metrics["timeseries"] = None
    metrics["model"], metrics["registry"] = None, None
    data = _model_frame(frame, kinds, options)
    if data is None:
        note = "No target: the model section is skipped (give --target COL / TARGET=COL)."
        sections.append(("model", "Model", report.section("model", "Model", report.paragraph(note, "note"))))
        return Outcome(metrics, sections)
    progress(f"features and models ({len(data.features)} rows, {len(data.features.columns)} inputs)")
    feature_kinds = classify(data.features)
    result = model.train_and_evaluate(
        data, feature_kinds, metrics["imputation"], seed=options.seed, trees=options.trees
    )
    card = model.save_model(result, data, out, model_name=_model_name(data.target))
    metrics["model"] = {key: card[key] for key in ("label", "split", "metrics", "improvement", "features")}
    metrics["model"]["importances"] = result.importances[:30]
    metrics["model"]["permutation_importances"] = result.permutation
    metrics["registry"] = {
        "model_name": card["model_name"],
        "model_version": card["model_version"],
        "training_start": card["training_window"]["start"] or "",
        "training_end": card["training_window"]["end"] or "",
        "metrics": result.metrics["random_forest"],
        "features": result.features,
        "artifact": card["artifact"],
    }
    sections.append(("model", "Features and a model", _model_section(data, result, card, out)))
    return Outcome(metrics, sections)


def _model_frame(frame: pd.DataFrame, kinds: Mapping[str, ColumnKind], options: Options) -> ModelFrame | None:
    if options.target is None:
        return None
    if options.target == LAKE_LABEL and options.target not in frame.columns:
        if options.time is None or not is_lake_table(frame, options.time):
            raise InputError(
                f"--target: {LAKE_LABEL} is derived from the lake's readings; the input needs columns "
                f"{DEVICE!r}, {STATUS!r} and a time column (columns: {', '.join(map(repr, frame.columns))})"
            )
        return lake_model_frame(frame, options.time)
    return table_model_frame(frame, kinds, options.target, options.time)
