"""A RandomForestClassifier against honest baselines on a time-ordered split, and its safe, documented artifact."""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    make_scorer,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from ml_jobs.eda.errors import InputError
from ml_jobs.eda.features import MAX_ONE_HOT, ModelFrame
from ml_jobs.eda.kinds import ColumnKind, Kind

TEST_FRACTION: Final = 0.2
# Per tree, the forest sees at most this many training rows (bootstrap sample): past it, more rows cost time
# linearly and buy little accuracy.
MAX_ROWS_PER_TREE: Final = 100_000
PERMUTATION_ROWS: Final = 5_000
MODEL_FILE: Final = "model.skops"
CARD_FILE: Final = "model_card.json"
LIBRARIES: Final = ("scikit-learn", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "pyarrow", "skops")
POSITIVE_LABELS: Final = ("1", "true", "yes", "y", "t", "on", "error")


@dataclass(frozen=True)
class Split:
    """Rows for training and testing, and how they were chosen."""

    train: npt.NDArray[np.bool_]  # boolean masks over the model frame's rows
    test: npt.NDArray[np.bool_]
    method: str
    train_start: str | None = None
    train_end: str | None = None
    test_start: str | None = None
    test_end: str | None = None
    embargoed: int = 0

    def as_dict(self) -> dict[str, Any]:
        """As plain data."""
        return {
            "method": self.method,
            "train_rows": int(self.train.sum()),
            "test_rows": int(self.test.sum()),
            "train_start": self.train_start,
            "train_end": self.train_end,
            "test_start": self.test_start,
            "test_end": self.test_end,
            "embargoed_rows": self.embargoed,
        }


def time_split(times: pd.Series, horizon: pd.Timedelta | None, fraction: float = TEST_FRACTION) -> Split:
    """The last ``fraction`` of the time range tests; training rows whose label window reaches the test are dropped.

    Without the embargo, a training row an hour before the cut would be labelled with what happens in the test
    period, and the test would flatter the model.
    """
    stamps = pd.to_datetime(times).reset_index(drop=True)
    cut = stamps.quantile(1.0 - fraction)
    test = (stamps > cut).to_numpy()
    before = ~test
    train = before & (stamps + (horizon or pd.Timedelta(0)) <= cut).to_numpy()

    def iso(value: object) -> str:
        return str(pd.Timestamp(value).isoformat(timespec="seconds"))

    return Split(
        train=train,
        test=test,
        method=f"time-ordered: rows after {iso(cut)} test, the rest train",
        train_start=iso(stamps[train].min()),
        train_end=iso(stamps[train].max()),
        test_start=iso(stamps[test].min()),
        test_end=iso(stamps[test].max()),
        embargoed=int((before & ~train).sum()),
    )


def shuffled_split(labels: pd.Series, seed: int, fraction: float = TEST_FRACTION) -> Split:
    """A seeded, stratified random split, for tables without a time column."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(labels))
    counts = labels.value_counts()
    stratify = labels.to_numpy() if counts.min() >= 2 else None
    _, test_positions = train_test_split(positions, test_size=fraction, random_state=seed, stratify=stratify)
    test = np.zeros(len(labels), dtype=bool)
    test[test_positions] = True
    return Split(train=~test, test=test, method="no time column: a stratified random split (seeded)")


def preprocessor(
    features: pd.DataFrame, kinds: Mapping[str, ColumnKind], strategies: Mapping[str, str], *, scale: bool
) -> ColumnTransformer:
    """Imputation per column, one-hot for categories, ordinal codes for ordered labels, scaling if ``scale``.

    Columns that are treated alike share one transformer: a transformer per column costs milliseconds on every
    call, which adds up in permutation importances.
    """
    numeric: dict[str, list[str]] = {}
    categories: dict[str, list[str]] = {}
    ordinal: list[str] = []
    for name in features.columns:
        kind = kinds[name]
        if kind.kind in (Kind.DISCRETE, Kind.CONTINUOUS) and pd.api.types.is_numeric_dtype(features[name]):
            numeric.setdefault(strategies.get(name, "median"), []).append(name)
        elif kind.kind is Kind.ORDINAL and kind.order:
            ordinal.append(name)
        else:
            categories.setdefault(strategies.get(name, "most_frequent"), []).append(name)
    scaler: list[tuple[str, Any]] = [("scale", StandardScaler())] if scale else []
    steps: list[tuple[str, Any, list[str]]] = [
        (f"numbers_{strategy}", Pipeline([("impute", SimpleImputer(strategy=strategy)), *scaler]), columns)
        for strategy, columns in numeric.items()
    ]
    if ordinal:
        encoder = OrdinalEncoder(
            categories=[list(kinds[name].order) for name in ordinal],
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
        )
        imputed = [("impute", SimpleImputer(strategy="most_frequent")), ("encode", encoder)]
        steps.append(("ordered", Pipeline([*imputed, ("fill", SimpleImputer(strategy="median")), *scaler]), ordinal))
    for strategy, columns in categories.items():
        imputer = SimpleImputer(strategy=strategy, fill_value="missing" if strategy == "constant" else None)
        one_hot = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_ONE_HOT, sparse_output=False)
        steps.append((f"categories_{strategy}", Pipeline([("impute", imputer), ("encode", one_hot)]), columns))
    return ColumnTransformer(steps, verbose_feature_names_out=False)


def _as_text(features: pd.DataFrame, kinds: Mapping[str, ColumnKind]) -> pd.DataFrame:
    """Category columns as text (an encoder wants one type per column); missing stays missing."""
    text = {
        name: features[name].astype(str).where(features[name].notna(), np.nan).astype(object)
        for name in features.columns
        if kinds[name].kind in (Kind.LOGICAL, Kind.ORDINAL) or not pd.api.types.is_numeric_dtype(features[name])
    }
    return features.assign(**text) if text else features


@dataclass
class ModelResult:
    """The three models' test metrics, the forest and what it learned, and the split."""

    split: Split
    classes: list[str]
    positive: str | None
    metrics: dict[str, dict[str, float]]
    forest: Pipeline
    importances: list[tuple[str, float]]
    permutation: list[tuple[str, float, float]]
    roc: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    base_rate: float = float("nan")
    train_rate: float = float("nan")
    features: list[str] = field(default_factory=list)

    def improvement(self) -> dict[str, Any]:
        """How much better the forest is than the best baseline, on F1 and ROC AUC."""
        forest = self.metrics["random_forest"]
        baselines = {k: v for k, v in self.metrics.items() if k != "random_forest"}
        best_f1 = max(baselines, key=lambda k: baselines[k]["f1"])
        best_auc = max(baselines, key=lambda k: baselines[k]["roc_auc"])
        return {
            "f1_best_baseline": best_f1,
            "f1_gain": round(forest["f1"] - baselines[best_f1]["f1"], 4),
            "roc_auc_best_baseline": best_auc,
            "roc_auc_gain": round(forest["roc_auc"] - baselines[best_auc]["roc_auc"], 4),
        }


def _scores(
    model: Pipeline, x: pd.DataFrame, y: pd.Series, classes: list[str], positive: str | None
) -> dict[str, float]:
    predicted = model.predict(x).astype(str)
    proba = model.predict_proba(x)
    order = [str(c) for c in model.classes_]
    if positive is not None:
        column = proba[:, order.index(positive)]
        truth = (y == positive).to_numpy()
        both = len(np.unique(truth)) == 2
        return {
            "precision": float(precision_score(y, predicted, pos_label=positive, zero_division=0)),
            "recall": float(recall_score(y, predicted, pos_label=positive, zero_division=0)),
            "f1": float(f1_score(y, predicted, pos_label=positive, zero_division=0)),
            "roc_auc": float(roc_auc_score(truth, column)) if both else float("nan"),
            "average_precision": float(average_precision_score(truth, column)) if both else float("nan"),
        }
    present = [c for c in classes if c in order]
    proba_present = proba[:, [order.index(c) for c in present]]
    proba_present = proba_present / np.clip(proba_present.sum(axis=1, keepdims=True), 1e-12, None)
    try:
        auc = float(roc_auc_score(y, proba_present, multi_class="ovr", labels=present))
    except ValueError:
        auc = float("nan")
    return {
        "precision": float(precision_score(y, predicted, average="macro", zero_division=0)),
        "recall": float(recall_score(y, predicted, average="macro", zero_division=0)),
        "f1": float(f1_score(y, predicted, average="macro", zero_division=0)),
        "roc_auc": auc,
        "average_precision": float("nan"),
    }


def _positive(classes: list[str], labels: pd.Series) -> str | None:
    if len(classes) != 2:
        return None
    named = [c for c in classes if c.strip().lower() in POSITIVE_LABELS]
    if named:
        return named[0]
    counts = labels.value_counts()
    return str(counts.idxmin())  # the rarer class is the one worth finding


def train_and_evaluate(
    data: ModelFrame, kinds: Mapping[str, ColumnKind], strategies: Mapping[str, str], *, seed: int = 0, trees: int = 150
) -> ModelResult:
    """Majority class, logistic regression and a random forest, trained on the past, scored on the later rows."""
    features = _as_text(data.features.reset_index(drop=True), kinds)
    labels = data.label.astype(str).reset_index(drop=True)
    split = time_split(data.times, data.horizon) if data.times is not None else shuffled_split(labels, seed)
    x_train, y_train = features[split.train], labels[split.train]
    x_test, y_test = features[split.test], labels[split.test]
    if y_train.nunique() < 2 or len(y_test) == 0:
        raise InputError(
            f"--target: {data.target!r} needs at least 2 classes in the training rows and some test rows; found "
            f"{y_train.nunique()} class(es) in {len(y_train)} training rows and {len(y_test)} test rows"
        )
    classes = sorted(labels.unique().tolist())
    positive = _positive(classes, labels)
    per_tree = None if len(x_train) <= MAX_ROWS_PER_TREE else MAX_ROWS_PER_TREE / len(x_train)
    models = {
        "majority_class": Pipeline(
            [
                ("prepare", preprocessor(features, kinds, strategies, scale=False)),
                ("model", DummyClassifier(strategy="most_frequent")),
            ]
        ),
        "logistic_regression": Pipeline(
            [
                ("prepare", preprocessor(features, kinds, strategies, scale=True)),
                ("model", LogisticRegression(max_iter=2000, class_weight="balanced")),
            ]
        ),
        "random_forest": Pipeline(
            [
                ("prepare", preprocessor(features, kinds, strategies, scale=False)),
                (
                    "model",
                    RandomForestClassifier(
                        n_estimators=trees,
                        min_samples_leaf=3,
                        class_weight="balanced_subsample",
                        max_samples=per_tree,
                        n_jobs=2,
                        random_state=seed,
                    ),
                ),
            ]
        ),
    }
    metrics: dict[str, dict[str, float]] = {}
    roc: dict[str, tuple[list[float], list[float]]] = {}
    for name, model in models.items():
        model.fit(x_train, y_train)
        if name == "random_forest":
            # Two threads pay off while the trees grow; to predict, joblib's dispatch on every call costs twenty times
            # what a few dozen trees cost on one thread (the permutation importances predict about a hundred times).
            # The predictions are the same; the saved model predicts on one thread too.
            model.set_params(model__n_jobs=1)
        metrics[name] = _scores(model, x_test, y_test, classes, positive)
        if positive is not None and y_test.nunique() == 2:
            column = model.predict_proba(x_test)[:, [str(c) for c in model.classes_].index(positive)]
            fpr, tpr, _ = roc_curve((y_test == positive).to_numpy(), column)
            roc[name] = (fpr.tolist(), tpr.tolist())
    forest = models["random_forest"]
    return ModelResult(
        split=split,
        classes=classes,
        positive=positive,
        metrics=metrics,
        forest=forest,
        importances=_impurity_importances(forest),
        permutation=_permutation_importances(forest, x_test, y_test, positive, seed),
        roc=roc,
        base_rate=float((y_test == positive).mean()) if positive is not None else float("nan"),
        train_rate=float((y_train == positive).mean()) if positive is not None else float("nan"),
        features=list(features.columns),
    )


def _impurity_importances(forest: Pipeline) -> list[tuple[str, float]]:
    names = forest.named_steps["prepare"].get_feature_names_out()
    weights = forest.named_steps["model"].feature_importances_
    ranked = sorted(zip(names, weights, strict=True), key=lambda item: -item[1])
    return [(str(name), float(weight)) for name, weight in ranked]


def _permutation_importances(
    forest: Pipeline, x_test: pd.DataFrame, y_test: pd.Series, positive: str | None, seed: int
) -> list[tuple[str, float, float]]:
    """Drop in test score when one input column is shuffled: importance measured on unseen data, per raw column."""
    sample = x_test.sample(n=min(len(x_test), PERMUTATION_ROWS), random_state=seed)
    truth = y_test.loc[sample.index]
    # Average precision ranks by probability, so it notices a lost input even where the thresholded predictions of
    # a forest with redundant inputs would not change.
    scoring: Any = "f1_macro"
    if positive is not None:
        scoring = make_scorer(average_precision_score, response_method="predict_proba", pos_label=positive)
    result = permutation_importance(forest, sample, truth, n_repeats=3, random_state=seed, n_jobs=1, scoring=scoring)
    ranked = sorted(
        zip(sample.columns, result.importances_mean, result.importances_std, strict=True), key=lambda item: -item[1]
    )
    return [(str(name), float(mean), float(std)) for name, mean, std in ranked]


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries the model and the report depend on."""
    versions = {"python": platform.python_version()}
    for library in LIBRARIES:
        try:
            versions[library] = metadata.version(library)
        except metadata.PackageNotFoundError:
            versions[library] = "not installed"
    return versions


def save_model(result: ModelResult, data: ModelFrame, out: Path, *, model_name: str) -> dict[str, Any]:
    """Write the forest as skops (no pickle) and its model card; returns the card."""
    import skops.io as sio  # here, not at the top: a second of import that whatever imports this module need not pay

    path = out / MODEL_FILE
    sio.dump(result.forest, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    end = result.split.train_end
    stamp = pd.Timestamp(end).tz_convert("UTC").strftime("%Y%m%dT%H%M%SZ") if end else "untimed"
    content = {
        "model_name": model_name,
        "artifact": MODEL_FILE,
        "format": "skops (load with skops.io.load and trusted=skops.io.get_untrusted_types(file=...) after review)",
        "estimator": "scikit-learn Pipeline: ColumnTransformer + RandomForestClassifier",
        "label": {
            "target": data.target,
            "definition": data.label_definition,
            "classes": result.classes,
            "positive": result.positive,
        },
        "features": result.features,
        "training_window": {"start": result.split.train_start, "end": result.split.train_end},
        "test_window": {"start": result.split.test_start, "end": result.split.test_end},
        "split": result.split.as_dict(),
        "metrics": result.metrics,
        "improvement": result.improvement(),
        "libraries": library_versions(),
    }
    # Same data, code and libraries, same version: the skops file itself differs from run to run (it names its
    # arrays after object ids), so the version hashes what the card says, and the card carries the file's digest.
    text = json.dumps(content, sort_keys=True, default=_json_default)
    version = f"{stamp}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    card = {"model_name": model_name, "model_version": version, "sha256": digest, **content}
    (out / CARD_FILE).write_text(json.dumps(card, indent=2, default=_json_default), encoding="utf-8")
    return card


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
